import { createHash, randomBytes } from 'node:crypto';
import type { Caller, Role } from '../context/access.js';
import type { Queryable } from '../db/database.js';

/**
 * Server-side sessions (any node can serve any request): the cookie `pcrs_session` holds 32 random
 * bytes (base64url), the table only their SHA-256 (hex) and the session's CSRF token. The access
 * policy identifies session callers with `findSessionCaller`; this module is the only writer of
 * the `sessions` table.
 */

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

const COOKIE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

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

/**
 * The caller behind a session cookie value, or null when the value is malformed, unknown, expired,
 * or its user disabled. The expiry slides (`slideHours`, the configured session life) at most once
 * a minute per session, so that serving tiles does not write a row per request.
 * This is what the access policy calls for `Credentials.session`.
 */
export async function findSessionCaller(db: Queryable, cookieValue: string, options: { slideHours?: number } = {}): Promise<Caller | null> {
  if (!COOKIE_SHAPE.test(cookieValue)) return null;
  const { rows } = await db.query<{
    session_id: number; csrf_token: string; last_seen_at: Date | string; user_id: number; email: string; platform_roles: string[];
    orgs: Array<{ o: number; r: string }> | string;
  }>(
    `SELECT s.id AS session_id, s.csrf_token, s.last_seen_at, u.id AS user_id, u.email, u.platform_roles,
            COALESCE((SELECT json_agg(json_build_object('o', m.organisation_id, 'r', m.role) ORDER BY m.organisation_id)
                        FROM memberships m WHERE m.user_id = u.id AND m.status = 'active'), '[]'::json) AS orgs
       FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.token_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL`,
    [sha256Hex(cookieValue)],
  );
  const row = rows[0];
  if (!row) return null;
  if (options.slideHours !== undefined && Date.now() - new Date(row.last_seen_at).getTime() > 60_000) {
    await db.query(`UPDATE sessions SET last_seen_at = now(), expires_at = GREATEST(expires_at, now() + make_interval(secs => $2::float8)) WHERE id = $1`, [
      row.session_id,
      options.slideHours * 3600,
    ]);
  }
  const orgs = (typeof row.orgs === 'string' ? JSON.parse(row.orgs) : row.orgs) as Array<{ o: number; r: string }>;
  const userId = Number(row.user_id);
  return {
    kind: 'user',
    id: `user:${userId}`,
    label: row.email,
    roles: rolesOf(row.platform_roles ?? [], orgs.map((o) => o.r)),
    scopes: null,
    userId,
    organisationIds: [...new Set(orgs.map((o) => Number(o.o)))],
    session: { id: Number(row.session_id), csrfToken: row.csrf_token },
  };
}
