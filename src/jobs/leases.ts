import type { Queryable } from '../db/database.js';
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

