import type { Queryable } from '../db/database.js';
import { randomToken, sha256Hex } from './sessions.js';

/**
 * One-time tokens of e-mail links (address verification, password reset): 32 random bytes in the
 * link, their SHA-256 in the table; each is used once, before its expiry.
 */
export type TokenPurpose = 'verify-email' | 'reset-password';

/** Issues a token; a sign-up's verification token carries the password hash chosen at that sign-up. */
export async function issueToken(db: Queryable, userId: number, purpose: TokenPurpose, ttlMinutes: number, passwordHash: string | null = null): Promise<string> {
  const token = randomToken(32);
  await db.query(
    `INSERT INTO one_time_tokens (token_hash, purpose, user_id, expires_at, password_hash) VALUES ($1, $2, $3, now() + make_interval(mins => $4::int), $5)`,
    [sha256Hex(token), purpose, userId, ttlMinutes, passwordHash],
  );
  return token;
}

/** Uses a token: its user (and the password it carries), or null when unknown, of another purpose, already used or expired. */
export async function consumeToken(db: Queryable, token: string, purpose: TokenPurpose): Promise<{ userId: number; passwordHash: string | null } | null> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
  const { rows } = await db.query<{ user_id: number; password_hash: string | null }>(
    `UPDATE one_time_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now() RETURNING user_id, password_hash`,
    [sha256Hex(token), purpose],
  );
  return rows[0] ? { userId: Number(rows[0].user_id), passwordHash: rows[0].password_hash } : null;
}

/** Makes a user's unused tokens of one purpose unusable (a new reset link replaces older ones). */
export async function revokeTokens(db: Queryable, userId: number, purpose: TokenPurpose): Promise<void> {
  await db.query(`UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`, [userId, purpose]);
}

/** Deletes tokens used or expired more than a day ago (they can no longer be used anyway). */
export async function purgeStaleTokens(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM one_time_tokens WHERE expires_at < now() - interval '1 day' OR used_at < now() - interval '1 day'`);
  return rowCount;
}
