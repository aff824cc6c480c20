import type { Queryable, SqlParam } from '../db/database.js';
import { UserError } from '../util/errors.js';

/**
 * The accounts tables' SQL (users, organisations, memberships): nothing else writes them. Sessions,
 * one-time tokens and sign-in failures have their own modules (sessions.ts, tokens.ts,
 * throttle.ts). Every function takes a Queryable so that a flow can run them in one transaction.
 */

export const PLATFORM_ROLES = ['platform-admin', 'moderator', 'technical'] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];
export const ORG_ROLES = ['org-admin', 'member', 'contractor'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];
export const MEMBERSHIP_STATUSES = ['requested', 'active', 'refused'] as const;
export type MembershipStatus = (typeof MEMBERSHIP_STATUSES)[number];
export const ORG_KINDS = ['aplc', 'departement', 'state-service', 'fire-service', 'epci', 'commune', 'company', 'technical-partner', 'other'] as const;
export type OrgKind = (typeof ORG_KINDS)[number];
export const LANGUAGES = ['fr', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

export interface User {
  id: number;
  email: string;
  displayName: string;
  passwordHash: string | null;
  emailVerified: boolean;
  platformRoles: PlatformRole[];
  oidcIssuer: string | null;
  oidcSubject: string | null;
  disabled: boolean;
  language: Language;
  createdAt: string;
  lastSigninAt: string | null;
}

export interface Organisation {
  id: number;
  slug: string;
  name: string;
  kind: OrgKind;
  siren: string | null;
  insee: string | null;
  emailDomains: string[];
  hasArea: boolean;
}

/** One membership of a user, with its organisation. */
export interface UserMembership {
  id: number;
  slug: string;
  name: string;
  kind: OrgKind;
  role: OrgRole;
  status: MembershipStatus;
}

/** One member (or applicant) of an organisation. */
export interface Member {
  userId: number;
  email: string;
  displayName: string;
  role: OrgRole;
  status: MembershipStatus;
  message: string | null;
  requestedAt: string;
  decidedAt: string | null;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

type UserRowDb = {
  id: number; email: string; display_name: string; password_hash: string | null; email_verified_at: Date | string | null;
  platform_roles: PlatformRole[]; oidc_issuer: string | null; oidc_subject: string | null; disabled_at: Date | string | null;
  language: Language; created_at: Date | string; last_signin_at: Date | string | null;
};
const USER_COLUMNS = 'id, email, display_name, password_hash, email_verified_at, platform_roles, oidc_issuer, oidc_subject, disabled_at, language, created_at, last_signin_at';

function toUser(r: UserRowDb): User {
  return {
    id: Number(r.id),
    email: r.email,
    displayName: r.display_name,
    passwordHash: r.password_hash,
    emailVerified: r.email_verified_at !== null,
    platformRoles: r.platform_roles ?? [],
    oidcIssuer: r.oidc_issuer,
    oidcSubject: r.oidc_subject,
    disabled: r.disabled_at !== null,
    language: r.language,
    createdAt: iso(r.created_at) as string,
    lastSigninAt: iso(r.last_signin_at),
  };
}

type OrgRowDb = { id: number; slug: string; name: string; kind: OrgKind; siren: string | null; insee: string | null; email_domains: string[]; has_area: boolean };
const ORG_COLUMNS = 'id, slug, name, kind, siren, insee, email_domains, area IS NOT NULL AS has_area';
function toOrg(r: OrgRowDb): Organisation {
  return { id: Number(r.id), slug: r.slug, name: r.name, kind: r.kind, siren: r.siren, insee: r.insee, emailDomains: r.email_domains ?? [], hasArea: r.has_area };
}

/** Database constraint failures as user errors (the schemas catch most input before). */
export function constraintError(e: unknown, what: string): never {
  const code = (e as { code?: string }).code;
  if (code === '23505') throw new UserError('already-exists', `${what} already exists.`, { status: 409 });
  if (code === '23514' || code === '22P02' || code === 'XX000' || code === '22023') throw new UserError('invalid-value', `Invalid value for ${what}: ${(e as Error).message}`, { status: 400 });
  throw e;
}

// ---------------------------------------------------------------- users

export async function findUserByEmail(db: Queryable, email: string): Promise<User | null> {
  const { rows } = await db.query<UserRowDb>(`SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, [normaliseEmail(email)]);
  return rows[0] ? toUser(rows[0]) : null;
}

export async function findUserById(db: Queryable, id: number): Promise<User | null> {
  const { rows } = await db.query<UserRowDb>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] ? toUser(rows[0]) : null;
}

export async function findUserByOidc(db: Queryable, issuer: string, subject: string): Promise<User | null> {
  const { rows } = await db.query<UserRowDb>(`SELECT ${USER_COLUMNS} FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2`, [issuer, subject]);
  return rows[0] ? toUser(rows[0]) : null;
}

export interface NewUser {
  email: string;
  displayName: string;
  passwordHash?: string | null;
  emailVerified?: boolean;
  platformRoles?: readonly PlatformRole[];
  language?: Language;
  oidc?: { issuer: string; subject: string };
}

export async function insertUser(db: Queryable, u: NewUser): Promise<User> {
  try {
    const { rows } = await db.query<UserRowDb>(
      `INSERT INTO users (email, display_name, password_hash, email_verified_at, platform_roles, language, oidc_issuer, oidc_subject)
       VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END, $5::text[], $6, $7, $8) RETURNING ${USER_COLUMNS}`,
      [normaliseEmail(u.email), u.displayName, u.passwordHash ?? null, u.emailVerified ?? false, [...(u.platformRoles ?? [])], u.language ?? 'fr', u.oidc?.issuer ?? null, u.oidc?.subject ?? null],
    );
    return toUser(rows[0] as UserRowDb);
  } catch (e) {
    return constraintError(e, 'user');
  }
}

export interface UserChanges {
  displayName?: string;
  language?: Language;
  passwordHash?: string;
  platformRoles?: readonly PlatformRole[];
  disabled?: boolean;
  emailVerified?: true;
  oidc?: { issuer: string; subject: string };
  signedIn?: true;
}

/** Updates the named fields only; returns the user after the change (null: no such user). */
export async function updateUser(db: Queryable, id: number, c: UserChanges): Promise<User | null> {
  const sets: string[] = [];
  const params: SqlParam[] = [id];
  const set = (column: string, value: SqlParam, cast = '') => {
    params.push(value);
    sets.push(`${column} = $${params.length}${cast}`);
  };
  if (c.displayName !== undefined) set('display_name', c.displayName);
  if (c.language !== undefined) set('language', c.language);
  if (c.passwordHash !== undefined) set('password_hash', c.passwordHash);
  if (c.platformRoles !== undefined) set('platform_roles', [...new Set(c.platformRoles)], '::text[]');
  if (c.disabled !== undefined) sets.push(c.disabled ? 'disabled_at = COALESCE(disabled_at, now())' : 'disabled_at = NULL');
  if (c.emailVerified) sets.push('email_verified_at = COALESCE(email_verified_at, now())');
  if (c.signedIn) sets.push('last_signin_at = now()');
  if (c.oidc) {
    set('oidc_issuer', c.oidc.issuer);
    set('oidc_subject', c.oidc.subject);
  }
  if (sets.length === 0) return findUserById(db, id);
  try {
    const { rows } = await db.query<UserRowDb>(`UPDATE users SET ${sets.join(', ')} WHERE id = $1 RETURNING ${USER_COLUMNS}`, params);
    return rows[0] ? toUser(rows[0]) : null;
  } catch (e) {
    return constraintError(e, 'user');
  }
}

export async function listUsers(db: Queryable): Promise<Array<User & { organisations: UserMembership[] }>> {
  const { rows } = await db.query<UserRowDb>(`SELECT ${USER_COLUMNS} FROM users ORDER BY id`);
  const memberships = await db.query<MembershipRowDb & { user_id: number }>(
    `SELECT m.user_id, o.id, o.slug, o.name, o.kind, m.role, m.status FROM memberships m JOIN organisations o ON o.id = m.organisation_id ORDER BY o.name`,
  );
  const byUser = new Map<number, UserMembership[]>();
  for (const m of memberships.rows) {
    const list = byUser.get(Number(m.user_id)) ?? [];
    list.push(toMembership(m));
    byUser.set(Number(m.user_id), list);
  }
  return rows.map((r) => {
    const u = toUser(r);
    return { ...u, organisations: byUser.get(u.id) ?? [] };
  });
}

export async function countPlatformAdmins(db: Queryable, options: { activeOnly?: boolean } = {}): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM users WHERE 'platform-admin' = ANY (platform_roles)${options.activeOnly ? ' AND disabled_at IS NULL' : ''}`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** E-mail addresses of the active platform admins (who decide when an organisation has no admin). */
export async function platformAdminEmails(db: Queryable): Promise<Array<{ email: string; language: Language }>> {
  const { rows } = await db.query<{ email: string; language: Language }>(
    `SELECT email, language FROM users WHERE 'platform-admin' = ANY (platform_roles) AND disabled_at IS NULL ORDER BY id`,
  );
  return rows;
}

// ---------------------------------------------------------------- organisations

export interface NewOrganisation {
  slug: string;
  name: string;
  kind: OrgKind;
  siren?: string | null;
  insee?: string | null;
  emailDomains?: readonly string[];
  /** GeoJSON Polygon/MultiPolygon text and its SRID (4326 or 2154). */
  area?: { geojson: string; srid: 4326 | 2154 } | null;
}

const AREA_SQL = (g: string, srid: string) =>
  `ST_Multi(CASE WHEN ${srid}::int = 2154 THEN ST_SetSRID(ST_GeomFromGeoJSON(${g}::text), 2154) ELSE ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(${g}::text), 4326), 2154) END)`;

async function checkArea(db: Queryable, area: { geojson: string; srid: number }): Promise<void> {
  let valid: boolean | undefined;
  try {
    const { rows } = await db.query<{ valid: boolean; kind: string }>(`SELECT ST_IsValid(g) AS valid, GeometryType(g) AS kind FROM (SELECT ${AREA_SQL('$1', '$2')} AS g) x`, [area.geojson, area.srid]);
    valid = rows[0]?.valid === true && rows[0]?.kind === 'MULTIPOLYGON';
  } catch {
    valid = false;
  }
  if (!valid) throw new UserError('invalid-area', 'The area is not a valid polygon (GeoJSON Polygon or MultiPolygon, WGS84 or EPSG:2154).', { status: 400 });
}

export async function insertOrganisation(db: Queryable, o: NewOrganisation): Promise<Organisation> {
  if (o.area) await checkArea(db, o.area);
  try {
    const { rows } = await db.query<OrgRowDb>(
      `INSERT INTO organisations (slug, name, kind, siren, insee, email_domains, area)
       VALUES ($1, $2, $3, $4, $5, $6::text[], CASE WHEN $7::text IS NULL THEN NULL ELSE ${AREA_SQL('$7', '$8')} END)
       RETURNING ${ORG_COLUMNS}`,
      [o.slug, o.name, o.kind, o.siren ?? null, o.insee ?? null, [...(o.emailDomains ?? [])].map((d) => d.toLowerCase()), o.area?.geojson ?? null, o.area?.srid ?? 4326],
    );
    return toOrg(rows[0] as OrgRowDb);
  } catch (e) {
    return constraintError(e, `organisation '${o.slug}'`);
  }
}

export type OrganisationChanges = Partial<Omit<NewOrganisation, 'slug'>>;

export async function updateOrganisation(db: Queryable, id: number, c: OrganisationChanges): Promise<Organisation | null> {
  const sets: string[] = [];
  const params: SqlParam[] = [id];
  const add = (v: SqlParam) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (c.name !== undefined) sets.push(`name = ${add(c.name)}`);
  if (c.kind !== undefined) sets.push(`kind = ${add(c.kind)}`);
  if (c.siren !== undefined) sets.push(`siren = ${add(c.siren)}`);
  if (c.insee !== undefined) sets.push(`insee = ${add(c.insee)}`);
  if (c.emailDomains !== undefined) sets.push(`email_domains = ${add(c.emailDomains.map((d) => d.toLowerCase()))}::text[]`);
  if (c.area === null) sets.push('area = NULL');
  else if (c.area !== undefined) {
    await checkArea(db, c.area);
    sets.push(`area = ${AREA_SQL(add(c.area.geojson), add(c.area.srid))}`);
  }
  if (sets.length === 0) return findOrganisationById(db, id);
  try {
    const { rows } = await db.query<OrgRowDb>(`UPDATE organisations SET ${sets.join(', ')} WHERE id = $1 RETURNING ${ORG_COLUMNS}`, params);
    return rows[0] ? toOrg(rows[0]) : null;
  } catch (e) {
    return constraintError(e, 'organisation');
  }
}

export async function findOrganisation(db: Queryable, slug: string): Promise<Organisation | null> {
  const { rows } = await db.query<OrgRowDb>(`SELECT ${ORG_COLUMNS} FROM organisations WHERE slug = $1`, [slug]);
  return rows[0] ? toOrg(rows[0]) : null;
}

export async function findOrganisationById(db: Queryable, id: number): Promise<Organisation | null> {
  const { rows } = await db.query<OrgRowDb>(`SELECT ${ORG_COLUMNS} FROM organisations WHERE id = $1`, [id]);
  return rows[0] ? toOrg(rows[0]) : null;
}

export async function listOrganisations(db: Queryable): Promise<Organisation[]> {
  const { rows } = await db.query<OrgRowDb>(`SELECT ${ORG_COLUMNS} FROM organisations ORDER BY name, id`);
  return rows.map(toOrg);
}

// ---------------------------------------------------------------- memberships

type MembershipRowDb = { id: number; slug: string; name: string; kind: OrgKind; role: OrgRole; status: MembershipStatus };
function toMembership(r: MembershipRowDb): UserMembership {
  return { id: Number(r.id), slug: r.slug, name: r.name, kind: r.kind, role: r.role, status: r.status };
}

export async function membershipsOf(db: Queryable, userId: number): Promise<UserMembership[]> {
  const { rows } = await db.query<MembershipRowDb>(
    `SELECT o.id, o.slug, o.name, o.kind, m.role, m.status FROM memberships m JOIN organisations o ON o.id = m.organisation_id
      WHERE m.user_id = $1 ORDER BY o.name`,
    [userId],
  );
  return rows.map(toMembership);
}

type MemberRowDb = { user_id: number; email: string; display_name: string; role: OrgRole; status: MembershipStatus; message: string | null; requested_at: Date | string; decided_at: Date | string | null };
function toMember(r: MemberRowDb): Member {
  return { userId: Number(r.user_id), email: r.email, displayName: r.display_name, role: r.role, status: r.status, message: r.message, requestedAt: iso(r.requested_at) as string, decidedAt: iso(r.decided_at) };
}
const MEMBER_SELECT = `SELECT m.user_id, u.email, u.display_name, m.role, m.status, m.message, m.requested_at, m.decided_at
  FROM memberships m JOIN users u ON u.id = m.user_id`;

export async function membersOf(db: Queryable, organisationId: number): Promise<Member[]> {
  const { rows } = await db.query<MemberRowDb>(`${MEMBER_SELECT} WHERE m.organisation_id = $1 ORDER BY m.status, u.email`, [organisationId]);
  return rows.map(toMember);
}

export async function findMember(db: Queryable, organisationId: number, userId: number): Promise<Member | null> {
  const { rows } = await db.query<MemberRowDb>(`${MEMBER_SELECT} WHERE m.organisation_id = $1 AND m.user_id = $2`, [organisationId, userId]);
  return rows[0] ? toMember(rows[0]) : null;
}

/** The active org-admins of an organisation (who receive its membership requests). */
export async function orgAdminEmails(db: Queryable, organisationId: number): Promise<Array<{ email: string; language: Language }>> {
  const { rows } = await db.query<{ email: string; language: Language }>(
    `SELECT u.email, u.language FROM memberships m JOIN users u ON u.id = m.user_id
      WHERE m.organisation_id = $1 AND m.role = 'org-admin' AND m.status = 'active' AND u.disabled_at IS NULL ORDER BY u.id`,
    [organisationId],
  );
  return rows;
}

/** A new request, or a refused one asked again. Returns false when a request or membership already exists. */
export async function requestMembership(db: Queryable, userId: number, organisationId: number, message: string | null): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO memberships (user_id, organisation_id, role, status, message) VALUES ($1, $2, 'member', 'requested', $3)
     ON CONFLICT (user_id, organisation_id) DO UPDATE SET status = 'requested', message = EXCLUDED.message, requested_at = now(), decided_at = NULL, decided_by = NULL
       WHERE memberships.status = 'refused'`,
    [userId, organisationId, message],
  );
  return rowCount > 0;
}

/** Decides a pending request; false when there is none (already decided, or never asked). */
export async function decideMembership(db: Queryable, userId: number, organisationId: number, d: { accept: boolean; role: OrgRole; by: number | null }): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE memberships SET status = $3, role = $4, decided_at = now(), decided_by = $5
      WHERE user_id = $1 AND organisation_id = $2 AND status = 'requested'`,
    [userId, organisationId, d.accept ? 'active' : 'refused', d.role, d.by],
  );
  return rowCount > 0;
}

/** Sets a membership directly (operator, CLI): active with this role, whatever it was. */
export async function putMembership(db: Queryable, userId: number, organisationId: number, role: OrgRole, by: number | null): Promise<void> {
  await db.query(
    `INSERT INTO memberships (user_id, organisation_id, role, status, decided_at, decided_by) VALUES ($1, $2, $3, 'active', now(), $4)
     ON CONFLICT (user_id, organisation_id) DO UPDATE SET role = EXCLUDED.role, status = 'active', decided_at = now(), decided_by = EXCLUDED.decided_by`,
    [userId, organisationId, role, by],
  );
}

export async function setMemberRole(db: Queryable, userId: number, organisationId: number, role: OrgRole): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE memberships SET role = $3 WHERE user_id = $1 AND organisation_id = $2 AND status = 'active'`, [userId, organisationId, role]);
  return rowCount > 0;
}

export async function removeMember(db: Queryable, userId: number, organisationId: number): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM memberships WHERE user_id = $1 AND organisation_id = $2`, [userId, organisationId]);
  return rowCount > 0;
}
