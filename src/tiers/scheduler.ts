/**
 * The scheduled fixity scrub of the serve process, every `storage.verifySchedule.intervalHours`.
 * Several nodes may run `pcrs serve`; a lease (jobs/leases.ts) makes exactly one of them scrub per
 * period.
 */
import type { Config } from '../config/config.js';
import type { Logger } from '../context/logger.js';
import { acquireLease, releaseLease, renewLease } from '../jobs/leases.js';
import type { StorageServices } from '../storage/tier-services.js';
import { errorMessage } from '../util/errors.js';
import { runVerify } from './fixity.js';

type Schedule = NonNullable<Config['storage']['verifySchedule']>;

/** Starts the scheduler; the returned function stops it (an ongoing scrub checkpoints and is resumed later). */
export function startVerifyScheduler(services: StorageServices, schedule: Schedule, log: Logger, options: { tickMs?: number } = {}): () => Promise<void> {
  const controller = new AbortController();
  const everySeconds = schedule.intervalHours * 3600;
  const leaseSeconds = 600;
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = async () => {
    if (busy || controller.signal.aborted) return;
    busy = true;
    try {
      if (await acquireLease(services.db, 'storage-verify', everySeconds, leaseSeconds)) {
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
