import type { Database, Queryable } from '../db/database.js';
import { SCOPES, type Role, type Scope } from '../context/access.js';
import { UserError } from '../util/errors.js';
import { generateKey, hashSecret } from './keys.js';
import { perimeterOf, type Perimeter } from './perimeter.js';

/**
 * The access capability's SQL: API keys, permissions and visibility (its tables), and the reads of
 * users, memberships and sessions that identifying a caller needs (the accounts capability writes
 * those). Nothing else writes api_keys, permissions or the visibility columns.
 */

export interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  scopes: Scope[];
  organisationId: number | null;
  expiresAt: string | null;
  allowedCidrs: string[];
  allowedReferers: string[];
  createdAt: string;
  lastUsedAt: string | null;
  requestCount: number;
  revokedAt: string | null;
}

/** What identifying a key needs, loaded in one query. */
export interface KeyRecord {
  id: number;
  userId: number;
  name: string;
  secretHash: string;
  scopes: Scope[];
  organisationId: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
  allowedCidrs: string[];
  allowedReferers: string[];
}

export interface UserRecord {
  id: number;
  email: string;
  disabled: boolean;
  platformRoles: Role[];
  /** Active memberships only. */
  memberships: Array<{ organisationId: number; role: Role }>;
}

export interface SessionRecord {
  id: number;
  userId: number;
  csrfToken: string;
  expiresAt: number;
  lastSeenAt: number;
}

export interface PermissionRecord {
  id: number;
  organisationId: number | null;
  userId: number | null;
  datasetId: string;
  versionName: string | null;
  validUntil: number | null;
  perimeter: Perimeter | null;
}

export interface Permission {
  id: number;
  organisation: { id: number; slug: string } | null;
  user: { id: number; email: string } | null;
  dataset: string;
  version: string | null;
  perimeter: unknown;
  validUntil: string | null;
  charter: string | null;
  grantedBy: number | null;
  grantedAt: string;
  revokedAt: string | null;
}

export interface VisibilityRecord {
  datasets: Map<string, 'public' | 'restricted'>;
  /** `${dataset}/${version}` → status and own visibility. */
  versions: Map<string, { status: string; visibility: 'public' | 'restricted' | null }>;
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());
const ms = (v: Date | string | null): number | null => (v === null ? null : new Date(v).getTime());

interface KeyRow {
  id: number; name: string; prefix: string; scopes: string[]; organisation_id: number | null; expires_at: Date | null; allowed_cidrs: string[];
  allowed_referers: string[]; created_at: Date; last_used_at: Date | null; request_count: number; revoked_at: Date | null;
}
const KEY_COLUMNS = 'id, name, prefix, scopes, organisation_id, expires_at, allowed_cidrs, allowed_referers, created_at, last_used_at, request_count, revoked_at';
const keyOf = (r: KeyRow): ApiKey => ({
  id: Number(r.id),
  name: r.name,
  prefix: r.prefix,
  scopes: r.scopes as Scope[],
  organisationId: r.organisation_id === null ? null : Number(r.organisation_id),
  expiresAt: iso(r.expires_at),
  allowedCidrs: r.allowed_cidrs,
  allowedReferers: r.allowed_referers,
  createdAt: iso(r.created_at) as string,
  lastUsedAt: iso(r.last_used_at),
  requestCount: Number(r.request_count),
  revokedAt: iso(r.revoked_at),
});

export interface NewKeyInput {
  userId: number;
  name: string;
  scopes: readonly Scope[];
  organisationId?: number | null;
  expiresAt?: Date | null;
  allowedCidrs?: readonly string[];
  allowedReferers?: readonly string[];
}

export class AccessStore {
  constructor(readonly db: Database) {}

  // ---- keys --------------------------------------------------------------------------------

  async createKey(serverSecret: Buffer, input: NewKeyInput, tx: Queryable = this.db): Promise<{ key: string; record: ApiKey }> {
    for (const s of input.scopes) if (!(SCOPES as readonly string[]).includes(s)) throw new UserError('invalid-scope', `Unknown scope '${String(s).slice(0, 40)}': ${SCOPES.join(', ')}.`);
    const k = generateKey();
    const { rows } = await tx.query<KeyRow>(
      `INSERT INTO api_keys (prefix, secret_hash, user_id, organisation_id, name, scopes, expires_at, allowed_cidrs, allowed_referers)
       VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8::text[], $9::text[]) RETURNING ${KEY_COLUMNS}`,
      [k.prefix, hashSecret(serverSecret, k.secret), input.userId, input.organisationId ?? null, input.name, [...new Set(input.scopes)], input.expiresAt ?? null, [...(input.allowedCidrs ?? [])], [...(input.allowedReferers ?? [])]],
    );
    return { key: k.text, record: keyOf(rows[0] as KeyRow) };
  }

  async listKeys(userId: number): Promise<ApiKey[]> {
    const { rows } = await this.db.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY id`, [userId]);
    return rows.map(keyOf);
  }

  async getKey(id: number): Promise<(ApiKey & { userId: number }) | null> {
    const { rows } = await this.db.query<KeyRow & { user_id: number }>(`SELECT ${KEY_COLUMNS}, user_id FROM api_keys WHERE id = $1`, [id]);
    const r = rows[0];
    return r ? { ...keyOf(r), userId: Number(r.user_id) } : null;
  }

  /** Renames a key of this user; null when the user has no such key. */
  async renameKey(userId: number, id: number, name: string, tx: Queryable = this.db): Promise<ApiKey | null> {
    const { rows } = await tx.query<KeyRow>(`UPDATE api_keys SET name = $3 WHERE id = $1 AND user_id = $2 RETURNING ${KEY_COLUMNS}`, [id, userId, name]);
    return rows[0] ? keyOf(rows[0]) : null;
  }

  /** Revokes a key (of this user when `userId` is given); false when there is no such key. Revoking twice keeps the first time. */
  async revokeKey(id: number, userId: number | null, tx: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND ($2::bigint IS NULL OR user_id = $2::bigint)`,
      [id, userId],
    );
    return rowCount > 0;
  }

  async keyByPrefix(prefix: string): Promise<KeyRecord | null> {
    const { rows } = await this.db.query<{
      id: number; user_id: number; name: string; secret_hash: string; scopes: string[]; organisation_id: number | null;
      expires_at: Date | null; revoked_at: Date | null; allowed_cidrs: string[]; allowed_referers: string[];
    }>(
      `SELECT id, user_id, name, secret_hash, scopes, organisation_id, expires_at, revoked_at, allowed_cidrs, allowed_referers FROM api_keys WHERE prefix = $1`,
      [prefix],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      id: Number(r.id),
      userId: Number(r.user_id),
      name: r.name,
      secretHash: r.secret_hash,
      scopes: r.scopes as Scope[],
      organisationId: r.organisation_id === null ? null : Number(r.organisation_id),
      expiresAt: ms(r.expires_at),
      revokedAt: ms(r.revoked_at),
      allowedCidrs: r.allowed_cidrs,
      allowedReferers: r.allowed_referers,
    };
  }

  /** Adds counted requests and last-use times of keys, in one statement. */
  async addKeyUsage(usage: ReadonlyArray<{ id: number; count: number; last: Date }>): Promise<void> {
    if (usage.length === 0) return;
    await this.db.query(
      `UPDATE api_keys k SET request_count = k.request_count + u.n, last_used_at = GREATEST(coalesce(k.last_used_at, u.t), u.t)
         FROM (SELECT unnest($1::bigint[]) AS id, unnest($2::bigint[]) AS n, unnest($3::timestamptz[]) AS t) u
        WHERE k.id = u.id`,
      [usage.map((u) => u.id), usage.map((u) => u.count), usage.map((u) => u.last.toISOString())],
    );
  }

  // ---- users, sessions (read) --------------------------------------------------------------

  async user(id: number): Promise<UserRecord | null> {
    const { rows } = await this.db.query<{ id: number; email: string; disabled: boolean; platform_roles: string[]; memberships: Array<{ o: number; r: string }> | null }>(
      `SELECT u.id, u.email, u.disabled_at IS NOT NULL AS disabled, u.platform_roles,
              (SELECT json_agg(json_build_object('o', m.organisation_id, 'r', m.role)) FROM memberships m WHERE m.user_id = u.id AND m.status = 'active') AS memberships
         FROM users u WHERE u.id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      id: Number(r.id),
      email: r.email,
      disabled: r.disabled,
      platformRoles: r.platform_roles as Role[],
      memberships: (r.memberships ?? []).map((m) => ({ organisationId: Number(m.o), role: m.r as Role })),
    };
  }

  async userIdByEmail(email: string): Promise<number | null> {
    const { rows } = await this.db.query<{ id: number }>('SELECT id FROM users WHERE email = $1', [email.trim().toLowerCase()]);
    return rows[0] ? Number(rows[0].id) : null;
  }

  async organisationIdBySlug(slug: string): Promise<number | null> {
    const { rows } = await this.db.query<{ id: number }>('SELECT id FROM organisations WHERE slug = $1', [slug]);
    return rows[0] ? Number(rows[0].id) : null;
  }

  async sessionByHash(tokenHash: string): Promise<SessionRecord | null> {
    const { rows } = await this.db.query<{ id: number; user_id: number; csrf_token: string; expires_at: Date; last_seen_at: Date }>(
      'SELECT id, user_id, csrf_token, expires_at, last_seen_at FROM sessions WHERE token_hash = $1',
      [tokenHash],
    );
    const r = rows[0];
    return r ? { id: Number(r.id), userId: Number(r.user_id), csrfToken: r.csrf_token, expiresAt: new Date(r.expires_at).getTime(), lastSeenAt: new Date(r.last_seen_at).getTime() } : null;
  }

  /** Sliding expiry: the sessions seen since the last flush live `ttlHours` from now. */
  async touchSessions(ids: readonly number[], ttlHours: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(`UPDATE sessions SET last_seen_at = now(), expires_at = now() + make_interval(hours => $2::int) WHERE id = ANY($1::bigint[]) AND expires_at > now()`, [
      [...ids],
      Math.ceil(ttlHours),
    ]);
  }

  // ---- visibility --------------------------------------------------------------------------

  async visibility(): Promise<VisibilityRecord> {
    const d = await this.db.query<{ id: string; visibility: 'public' | 'restricted' }>('SELECT id, visibility FROM datasets');
    const v = await this.db.query<{ dataset_id: string; name: string; status: string; visibility: 'public' | 'restricted' | null }>('SELECT dataset_id, name, status, visibility FROM versions');
    return {
      datasets: new Map(d.rows.map((r) => [r.id, r.visibility])),
      versions: new Map(v.rows.map((r) => [`${r.dataset_id}/${r.name}`, { status: r.status, visibility: r.visibility }])),
    };
  }

  async setDatasetVisibility(datasetId: string, visibility: 'public' | 'restricted', tx: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await tx.query('UPDATE datasets SET visibility = $2 WHERE id = $1', [datasetId, visibility]);
    return rowCount > 0;
  }

  async setVersionVisibility(datasetId: string, version: string, visibility: 'public' | 'restricted' | null, tx: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await tx.query('UPDATE versions SET visibility = $3 WHERE dataset_id = $1 AND name = $2', [datasetId, version, visibility]);
    return rowCount > 0;
  }

  async datasets(): Promise<Array<{ id: string; kind: string; title: string; visibility: 'public' | 'restricted'; versions: Array<{ name: string; status: string; visibility: 'public' | 'restricted' | null }> }>> {
    const d = await this.db.query<{ id: string; kind: string; title: string; visibility: 'public' | 'restricted' }>('SELECT id, kind, title, visibility FROM datasets ORDER BY id');
    const v = await this.db.query<{ dataset_id: string; name: string; status: string; visibility: 'public' | 'restricted' | null }>('SELECT dataset_id, name, status, visibility FROM versions ORDER BY dataset_id, created_at, id');
    return d.rows.map((r) => ({ ...r, versions: v.rows.filter((x) => x.dataset_id === r.id).map((x) => ({ name: x.name, status: x.status, visibility: x.visibility })) }));
  }

  // ---- permissions -------------------------------------------------------------------------

  /** Every permission not revoked (expired ones too: they answer `permission-expired`), perimeters in memory. */
  async livePermissions(): Promise<PermissionRecord[]> {
    const { rows } = await this.db.query<{ id: number; organisation_id: number | null; user_id: number | null; dataset_id: string; version_name: string | null; valid_until: Date | null; perimeter: string | null }>(
      `SELECT id, organisation_id, user_id, dataset_id, version_name, valid_until, ST_AsGeoJSON(perimeter) AS perimeter FROM permissions WHERE revoked_at IS NULL`,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      organisationId: r.organisation_id === null ? null : Number(r.organisation_id),
      userId: r.user_id === null ? null : Number(r.user_id),
      datasetId: r.dataset_id,
      versionName: r.version_name,
      validUntil: ms(r.valid_until),
      perimeter: r.perimeter ? perimeterOf((JSON.parse(r.perimeter) as { coordinates: number[][][][] }).coordinates) : null,
    }));
  }

  /**
   * A perimeter as stored: MultiPolygon in Lambert-93, transformed from `srid`, checked valid
   * (invalid-perimeter, 400, otherwise).
   */
  async normalisePerimeter(geojson: string, srid: number): Promise<string> {
    let rows: Array<{ g: string | null; valid: boolean; empty: boolean }>;
    try {
      ({ rows } = await this.db.query<{ g: string | null; valid: boolean; empty: boolean }>(
        `SELECT ST_AsEWKT(g) AS g, ST_IsValid(g) AS valid, ST_IsEmpty(g) AS empty
           FROM (SELECT ST_Multi(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($1), $2::int), 2154)) AS g) s`,
        [geojson, srid],
      ));
    } catch (e) {
      throw new UserError('invalid-perimeter', `The perimeter cannot be read: ${(e as Error).message.slice(0, 200)}`, { status: 400 });
    }
    const r = rows[0];
    if (!r?.g || r.empty) throw new UserError('invalid-perimeter', 'The perimeter is empty.', { status: 400 });
    if (!r.valid) throw new UserError('invalid-perimeter', 'The perimeter is not a valid polygon (self-intersection, open ring…).', { status: 400 });
    return r.g;
  }

  /** Whether perimeter `inner` (EWKT) lies within the stored perimeter of permission `id` (null perimeter: everywhere). */
  async perimeterWithin(inner: string | null, permissionId: number): Promise<boolean> {
    const { rows } = await this.db.query<{ ok: boolean }>(
      `SELECT p.perimeter IS NULL OR ($1::text IS NOT NULL AND ST_Within(ST_GeomFromEWKT($1::text), ST_Buffer(p.perimeter, 0.01))) AS ok FROM permissions p WHERE p.id = $2`,
      [inner, permissionId],
    );
    return rows[0]?.ok === true;
  }

  async grantPermission(
    p: { organisationId: number | null; userId: number | null; datasetId: string; versionName: string | null; perimeterEwkt: string | null; validUntil: Date | null; charter: string | null; grantedBy: number | null },
    tx: Queryable = this.db,
  ): Promise<number> {
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO permissions (organisation_id, user_id, dataset_id, version_name, perimeter, valid_until, charter, charter_accepted_at, granted_by)
       VALUES ($1, $2, $3, $4, CASE WHEN $5::text IS NULL THEN NULL ELSE ST_GeomFromEWKT($5::text) END, $6, $7, CASE WHEN $7::text IS NULL THEN NULL ELSE now() END, $8)
       RETURNING id`,
      [p.organisationId, p.userId, p.datasetId, p.versionName, p.perimeterEwkt, p.validUntil, p.charter, p.grantedBy],
    );
    return Number((rows[0] as { id: number }).id);
  }

  async revokePermission(id: number, tx: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await tx.query('UPDATE permissions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
    return rowCount > 0;
  }

  async permissions(filter: { ids?: number[]; organisationIds?: number[]; userIds?: number[]; all?: boolean } = {}): Promise<Permission[]> {
    const { rows } = await this.db.query<{
      id: number; organisation_id: number | null; slug: string | null; user_id: number | null; email: string | null; dataset_id: string; version_name: string | null;
      perimeter: string | null; valid_until: Date | null; charter: string | null; granted_by: number | null; granted_at: Date; revoked_at: Date | null;
    }>(
      `SELECT p.id, p.organisation_id, o.slug, p.user_id, u.email, p.dataset_id, p.version_name, ST_AsGeoJSON(ST_Transform(p.perimeter, 4326), 7) AS perimeter,
              p.valid_until, p.charter, p.granted_by, p.granted_at, p.revoked_at
         FROM permissions p LEFT JOIN organisations o ON o.id = p.organisation_id LEFT JOIN users u ON u.id = p.user_id
        WHERE $1::boolean OR p.id = ANY($2::bigint[]) OR p.organisation_id = ANY($3::bigint[]) OR p.user_id = ANY($4::bigint[])
        ORDER BY p.id`,
      [filter.all === true, filter.ids ?? [], filter.organisationIds ?? [], filter.userIds ?? []],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      organisation: r.organisation_id === null ? null : { id: Number(r.organisation_id), slug: r.slug as string },
      user: r.user_id === null ? null : { id: Number(r.user_id), email: r.email as string },
      dataset: r.dataset_id,
      version: r.version_name,
      perimeter: r.perimeter ? (JSON.parse(r.perimeter) as unknown) : null,
      validUntil: iso(r.valid_until),
      charter: r.charter,
      grantedBy: r.granted_by === null ? null : Number(r.granted_by),
      grantedAt: iso(r.granted_at) as string,
      revokedAt: iso(r.revoked_at),
    }));
  }

  /** Active members of an organisation: user id → role. */
  async members(organisationId: number): Promise<Map<number, Role>> {
    const { rows } = await this.db.query<{ user_id: number; role: Role }>(`SELECT user_id, role FROM memberships WHERE organisation_id = $1 AND status = 'active'`, [organisationId]);
    return new Map(rows.map((r) => [Number(r.user_id), r.role]));
  }

  async datasetExists(id: string, version?: string | null): Promise<boolean> {
    const { rows } = version
      ? await this.db.query('SELECT 1 FROM versions WHERE dataset_id = $1 AND name = $2', [id, version])
      : await this.db.query('SELECT 1 FROM datasets WHERE id = $1', [id]);
    return rows.length > 0;
  }
}
