/**
 * Scheduled work of the serve process: the fixity scrub every `storage.verifySchedule.intervalHours`
 * and the polling of open archive restores. Several nodes may run `pcrs serve`; a DB-backed lease
 * (table `leases`) makes exactly one of them run each piece of work per period.
 */
import { pollOpenRestores } from '../archive/restore.js';
import type { Config } from '../config/config.js';
import type { Queryable } from '../db/database.js';
import { PROCESS_OWNER } from '../jobs/jobs.js';
import { errorMessage } from '../util/errors.js';
import { runVerify } from './fixity.js';
import type { StorageServices } from './services.js';

interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
}

/**
 * Takes the lease `name` when its last run is older than `everySeconds` and nobody holds it (or the
 * holder's lease ran out). Atomic: one UPDATE … WHERE; exactly one node gets `true`.
 */
export async function acquireLease(db: Queryable, name: string, everySeconds: number, leaseSeconds: number, owner = PROCESS_OWNER): Promise<boolean> {
  await db.query('INSERT INTO leases (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
  const { rowCount } = await db.query(
    `UPDATE leases SET owner = $2, lease_until = now() + make_interval(secs => $4)
     WHERE name = $1 AND (lease_until IS NULL OR lease_until < now() OR owner = $2)
       AND (last_run_at IS NULL OR last_run_at < now() - make_interval(secs => $3))`,
    [name, owner, everySeconds, leaseSeconds],
  );
  return rowCount > 0;
}

export async function renewLease(db: Queryable, name: string, leaseSeconds: number, owner = PROCESS_OWNER): Promise<void> {
  await db.query('UPDATE leases SET lease_until = now() + make_interval(secs => $3) WHERE name = $1 AND owner = $2', [name, owner, leaseSeconds]);
}

export async function releaseLease(db: Queryable, name: string, ran: boolean, owner = PROCESS_OWNER): Promise<void> {
  await db.query(`UPDATE leases SET lease_until = NULL, last_run_at = CASE WHEN $3 THEN now() ELSE last_run_at END WHERE name = $1 AND owner = $2`, [name, owner, ran]);
}

type Schedule = NonNullable<Config['storage']['verifySchedule']>;

/**
 * Starts the scheduler (restore polling always; scrubs when `schedule` is set); the returned function
 * stops it (an ongoing scrub checkpoints and is resumed later).
 */
export function startVerifyScheduler(services: StorageServices, schedule: Schedule | undefined, log: Logger, options: { tickMs?: number; restorePollSeconds?: number } = {}): () => Promise<void> {
  const controller = new AbortController();
  const everySeconds = (schedule?.intervalHours ?? 0) * 3600;
  const leaseSeconds = 600;
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = async () => {
    if (busy || controller.signal.aborted) return;
    busy = true;
    try {
      if (await acquireLease(services.db, 'restore-poll', options.restorePollSeconds ?? 300, 120)) {
        try {
          await pollOpenRestores(services);
        } finally {
          await releaseLease(services.db, 'restore-poll', true);
        }
      }
      if (schedule && (await acquireLease(services.db, 'storage-verify', everySeconds, leaseSeconds))) {
        const renew = setInterval(() => void renewLease(services.db, 'storage-verify', leaseSeconds).catch(() => undefined), 60_000);
        renew.unref();
        let finished = false;
        try {
          log.info('scheduled fixity scrub: starting');
          const r = await runVerify(
            services,
            { ...(schedule.tiers ? { tiers: schedule.tiers } : {}), samplePercent: schedule.sample, repair: schedule.repair, ...(schedule.bytesPerSecond ? { bytesPerSecond: schedule.bytesPerSecond } : {}) },
            { signal: controller.signal },
          );
          finished = true;
          const msg = `scheduled fixity scrub (job ${r.jobId}): ${r.checked} checked, ${r.ok} ok, ${r.missing} missing, ${r.corrupted} corrupted, ${r.unlisted} unlisted, ${r.repaired} repaired`;
          if (r.clean) log.info(msg);
          else log.warn(`${msg} — NOT CLEAN, see GET /api/storage/fixity`);
        } finally {
          clearInterval(renew);
          await releaseLease(services.db, 'storage-verify', finished);
        }
      }
    } catch (e) {
      if (!controller.signal.aborted) log.warn(`storage scheduler: ${errorMessage(e)}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => {
    running = tick();
  }, options.tickMs ?? 60_000);
  timer.unref();
  running = tick();
  return async () => {
    controller.abort();
    clearInterval(timer);
    await running.catch(() => undefined);
  };
}
