import type { Logger } from '../context/logger.js';
import type { Queryable } from '../db/database.js';
import { errorMessage } from '../util/errors.js';
import { PROCESS_OWNER } from './jobs.js';

/**
 * Leases (table \`leases\`) make exactly one node of several run a piece of periodic work per
 * period: the fixity scrub, the polling of open restores.
 */
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


export interface LeasedLoopOptions {
  /** Lease name (one row of `leases`). */
  name: string;
  /** Runs at most once per this many seconds, over all nodes. */
  everySeconds: number;
  /** How long a holder keeps the lease without renewing it (renewed every minute while running). */
  leaseSeconds: number;
  /** How often each node tries to take the lease. */
  tickMs?: number;
  log: Logger;
  /** The work; `signal` aborts when the loop stops. Returns whether it ran to the end (else it is retried at the next tick). */
  run(signal: AbortSignal): Promise<boolean>;
}

/**
 * Periodic work of a listening server that exactly one node does per period (the fixity scrub,
 * the polling of open restores): every tick, each node tries the lease; the one that gets it runs
 * the work, renewing the lease while it runs. Returns the stop, which waits for the running tick.
 */
export function startLeasedLoop(db: Queryable, options: LeasedLoopOptions): () => Promise<void> {
  const controller = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = async () => {
    if (busy || controller.signal.aborted) return;
    busy = true;
    try {
      if (await acquireLease(db, options.name, options.everySeconds, options.leaseSeconds)) {
        const renew = setInterval(() => void renewLease(db, options.name, options.leaseSeconds).catch(() => undefined), 60_000);
        renew.unref();
        let finished = false;
        try {
          finished = await options.run(controller.signal);
        } finally {
          clearInterval(renew);
          await releaseLease(db, options.name, finished);
        }
      }
    } catch (e) {
      if (!controller.signal.aborted) options.log.warn(`${options.name}: ${errorMessage(e)}`);
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
