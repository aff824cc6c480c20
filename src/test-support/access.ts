import { createHash, randomBytes } from 'node:crypto';
import { AccessServices } from '../access/services.js';
import { OPERATOR, type Role, type Scope } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';

/**
 * Users, organisations and keys for tests, made the way the platform makes them: rows for the
 * accounts side (its capability lives on another branch), keys through the access services.
 */
export type PlatformRole = 'platform-admin' | 'moderator' | 'technical';

export async function ensureOrganisation(ctx: Pick<AppContext, 'db'>, slug: string, kind = 'company'): Promise<number> {
  const { rows } = await ctx.db.query<{ id: number }>(
    `INSERT INTO organisations (slug, name, kind) VALUES ($1, $2, $3) ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id`,
    [slug, slug.toUpperCase(), kind],
  );
  return Number(rows[0]?.id);
}

export async function createUser(
  ctx: Pick<AppContext, 'db'>,
  email: string,
  options: { platformRoles?: PlatformRole[]; memberships?: Array<{ org: string; role: Extract<Role, 'org-admin' | 'member' | 'contractor'> }> } = {},
): Promise<number> {
  const { rows } = await ctx.db.query<{ id: number }>(
    `INSERT INTO users (email, display_name, email_verified_at, platform_roles) VALUES ($1, $2, now(), $3::text[]) RETURNING id`,
    [email.toLowerCase(), email.split('@')[0] ?? email, options.platformRoles ?? []],
  );
  const id = Number(rows[0]?.id);
  for (const m of options.memberships ?? []) {
    const org = await ensureOrganisation(ctx, m.org);
    await ctx.db.query(`INSERT INTO memberships (user_id, organisation_id, role, status, decided_at) VALUES ($1, $2, $3, 'active', now())`, [id, org, m.role]);
  }
  return id;
}

/** A user with these roles and one API key with these scopes. */
export async function userWithKey(
  ctx: AppContext,
  email: string,
  options: Parameters<typeof createUser>[2] & { scopes?: Scope[]; expiresAt?: string; allowedCidrs?: string[]; allowedReferers?: string[] } = {},
): Promise<{ userId: number; key: string; keyId: number }> {
  const userId = await createUser(ctx, email, options);
  const made = await new AccessServices(ctx).createKey(OPERATOR, userId, {
    name: 'test',
    scopes: options.scopes ?? ['read'],
    ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}),
    ...(options.allowedCidrs ? { allowedCidrs: options.allowedCidrs } : {}),
    ...(options.allowedReferers ? { allowedReferers: options.allowedReferers } : {}),
  });
  return { userId, key: made.key, keyId: made.record.id };
}

/** A server-side session for a user, as the accounts capability makes them: the cookie value and its CSRF token. */
export async function sessionFor(ctx: Pick<AppContext, 'db'>, userId: number, hours = 24): Promise<{ cookie: string; csrfToken: string; id: number }> {
  const cookie = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const { rows } = await ctx.db.query<{ id: number }>(
    `INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, now() + make_interval(hours => $4::int)) RETURNING id`,
    [createHash('sha256').update(cookie).digest('hex'), userId, csrfToken, hours],
  );
  return { cookie, csrfToken, id: Number(rows[0]?.id) };
}
