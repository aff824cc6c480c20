import type { Queryable } from '../db/database.js';

/**
 * Sign-in throttling (table signin_failures): failures are counted per account ('email:…', also
 * for unknown addresses, so that a lockout reveals nothing) and per IP ('ip:…'). Past the
 * threshold (per IP: five times the account's) the subject is locked for the configured minutes;
 * a count older than that window starts again. Each failure answers after a growing delay.
 */
export interface LockoutRule {
  failures: number;
  minutes: number;
}

export const subjectsOf = (email: string, ip: string | undefined) => ({ account: `email:${email}`, ip: ip ? `ip:${ip}` : undefined });

/** Seconds until the first of these subjects is unlocked (0: none is locked). */
export async function lockedFor(db: Queryable, subjects: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ s: number | null }>(
    `SELECT ceil(extract(epoch FROM max(locked_until) - now()))::int AS s FROM signin_failures WHERE subject = ANY ($1::text[]) AND locked_until > now()`,
    [subjects],
  );
  return Math.max(0, Number(rows[0]?.s ?? 0));
}

/** Counts a failure; returns the subject's failure count in the current window. */
export async function recordFailure(db: Queryable, subject: string, rule: LockoutRule): Promise<number> {
  const { rows } = await db.query<{ failures: number }>(
    `INSERT INTO signin_failures AS f (subject, failures, last_failure_at, locked_until)
       VALUES ($1, 1, now(), CASE WHEN 1 >= $2::int THEN now() + make_interval(secs => $3::float8 * 60) END)
     ON CONFLICT (subject) DO UPDATE SET
       failures = CASE WHEN f.last_failure_at < now() - make_interval(secs => $3::float8 * 60) THEN 1 ELSE f.failures + 1 END,
       last_failure_at = now(),
       locked_until = CASE WHEN (CASE WHEN f.last_failure_at < now() - make_interval(secs => $3::float8 * 60) THEN 1 ELSE f.failures + 1 END) >= $2::int
                           THEN now() + make_interval(secs => $3::float8 * 60) ELSE f.locked_until END
     RETURNING failures`,
    [subject, rule.failures, rule.minutes],
  );
  return Number(rows[0]?.failures ?? 1);
}

export async function clearFailures(db: Queryable, subject: string): Promise<void> {
  await db.query(`DELETE FROM signin_failures WHERE subject = $1`, [subject]);
}

/** The delay before answering a failed attempt: doubling from `baseMs`, capped. */
export function failureDelayMs(failures: number, baseMs: number, capMs = 4000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1));
}

/** Forgets failures older than a day that lock nothing any more. */
export async function purgeStaleFailures(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM signin_failures WHERE last_failure_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())`);
  return rowCount;
}
