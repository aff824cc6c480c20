import argon2 from 'argon2';
import { UserError } from '../util/errors.js';

/**
 * Passwords: argon2id (memory-hard), PHC strings in users.password_hash. At least 12 characters;
 * nothing else is imposed (length beats composition rules).
 */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 1024;

const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function checkPasswordRules(password: string): void {
  if (password.length < PASSWORD_MIN) throw new UserError('weak-password', `The password must have at least ${PASSWORD_MIN} characters.`, { status: 400 });
  if (password.length > PASSWORD_MAX) throw new UserError('weak-password', `The password must have at most ${PASSWORD_MAX} characters.`, { status: 400 });
}

export async function hashPassword(password: string): Promise<string> {
  checkPasswordRules(password);
  return argon2.hash(password, OPTIONS);
}

let dummy: Promise<string> | undefined;

/**
 * Whether the password matches the hash. Without a hash (unknown e-mail, OpenID-only user) a dummy
 * hash is verified anyway, so that the answer takes as long as for a real account.
 */
export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX) return false;
  if (!hash) {
    dummy ??= argon2.hash('not-the-password-of-anyone', OPTIONS);
    await argon2.verify(await dummy, password).catch(() => false);
    return false;
  }
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}
