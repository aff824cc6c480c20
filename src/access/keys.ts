import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * API key text: `pcrs_<prefix>_<secret>`. The prefix (12 characters of [A-Za-z0-9]) names the key
 * and is stored in clear; the secret (32 random bytes, base64url: 43 characters) is stored as an
 * HMAC-SHA-256 keyed with the server secret — a fast keyed hash is right for a high-entropy
 * secret (no dictionary to attack), and it is compared in constant time.
 */
export const KEY_PATTERN = /^pcrs_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface NewKey {
  /** The full key, shown once. */
  text: string;
  prefix: string;
  secret: string;
}

export function generateKey(): NewKey {
  let prefix = '';
  for (let i = 0; i < 12; i++) prefix += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  const secret = randomBytes(32).toString('base64url');
  return { text: `pcrs_${prefix}_${secret}`, prefix, secret };
}

/** The prefix and secret of a well-formed key, else null. */
export function parseKey(text: string): { prefix: string; secret: string } | null {
  const m = KEY_PATTERN.exec(text);
  return m ? { prefix: m[1] as string, secret: m[2] as string } : null;
}

export function hashSecret(serverSecret: Buffer, secret: string): string {
  return createHmac('sha256', serverSecret).update(secret).digest('hex');
}

/** Constant-time comparison of the secret's hash with the stored one. */
export function secretMatches(serverSecret: Buffer, secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(serverSecret, secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
