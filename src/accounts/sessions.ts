import { randomBytes } from 'node:crypto';
import type { Role } from '../context/access.js';
import type { Queryable } from '../db/database.js';
import { sha256Hex } from '../util/hash.js';

export { sha256Hex };

/**
 * Server-side sessions (any node can serve any request): the cookie `pcrs_session` holds 32 random
 * bytes (base64url), the table only their SHA-256 (hex) and the session's CSRF token. This module
 * creates and deletes sessions; the access policy (access/policy.ts) identifies their callers and
 * slides their expiry in batches.
 */

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export interface NewSession {
  id: number;
  /** The cookie value (shown once; only its hash is stored). */
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

export async function createSession(db: Queryable, userId: number, options: { ttlHours: number; ip?: string | undefined; userAgent?: string | undefined }): Promise<NewSession> {
  const token = randomToken(32);
  const csrfToken = randomToken(32);
  const { rows } = await db.query<{ id: number; expires_at: Date | string }>(
    `INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, ip, user_agent)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4::float8), $5, $6) RETURNING id, expires_at`,
    [sha256Hex(token), userId, csrfToken, options.ttlHours * 3600, options.ip ?? null, options.userAgent?.slice(0, 300) ?? null],
  );
  const row = rows[0] as { id: number; expires_at: Date | string };
  return { id: Number(row.id), token, csrfToken, expiresAt: new Date(row.expires_at) };
}

/** Deletes the session of this cookie value; returns its user (null: no such session). */
export async function deleteSession(db: Queryable, cookieValue: string): Promise<number | null> {
  const { rows } = await db.query<{ user_id: number }>(`DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id`, [sha256Hex(cookieValue)]);
  return rows[0] ? Number(rows[0].user_id) : null;
}

/** Deletes every session of a user ("log out everywhere", disabled account, new password). */
export async function deleteUserSessions(db: Queryable, userId: number): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM sessions WHERE user_id = $1`, [userId]);
  return rowCount;
}

export async function purgeExpiredSessions(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM sessions WHERE expires_at < now()`);
  return rowCount;
}

/** The roles of a user: its platform roles ∪ the roles of its active memberships. */
export function rolesOf(platformRoles: readonly string[], membershipRoles: readonly string[]): Set<Role> {
  return new Set<Role>([...platformRoles, ...membershipRoles] as Role[]);
}
