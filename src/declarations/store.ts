import type { Queryable, SqlParam } from '../db/database.js';
import { UserError } from '../util/errors.js';
import { queryFeatures } from '../vector/store.js';
import type { DeclarationType, L93Geometry, Status, Theme } from './model.js';

/**
 * The declarations tables' SQL (declarations, declaration_actions); nothing else writes them.
 * Every value is a parameter; filters are built from validated values only.
 */

export interface Declaration {
  id: number;
  type: DeclarationType;
  /** GeoJSON in Lambert-93. */
  geometry: L93Geometry;
  title: string;
  description: string;
  layer: { dataset: string; version: string | null } | null;
  author: { userId: number | null; actor: string; displayName: string | null; organisation: { id: number; slug: string } | null };
  status: Status;
  assigned: { user: { id: number; displayName: string } | null; organisation: { id: number; slug: string } | null };
  works: { dtDictRef: string | null; plannedStart: string | null; plannedEnd: string | null; themes: Theme[] } | null;
  duplicateOf: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface Action {
  id: number;
  action: 'opened' | 'commented' | 'status-changed' | 'assigned' | 'merged-duplicate' | 'closed' | 'reopened';
  actor: string;
  actorUserId: number | null;
  actorName: string | null;
  at: string;
  text: string | null;
  fromStatus: Status | null;
  toStatus: Status | null;
  details: Record<string, unknown>;
}

export interface NewDeclaration {
  type: DeclarationType;
  geometry: L93Geometry;
  title: string;
  description: string;
  layer: { dataset: string; version: string | null } | null;
  authorUserId: number | null;
  authorActor: string;
  authorOrganisationId: number | null;
  works: { dtDictRef: string | null; plannedStart: string | null; plannedEnd: string | null; themes: readonly Theme[] } | null;
}

export interface ListFilter {
  /** Lambert-93. */
  bbox?: readonly [number, number, number, number];
  statuses?: readonly Status[];
  types?: readonly DeclarationType[];
  theme?: Theme;
  updatedSince?: Date;
  organisationSlug?: string;
  /** Declarations of this author (GET ?author=me). */
  authorUserId?: number;
  limit: number;
  offset: number;
}

interface Row {
  id: string;
  type: DeclarationType;
  geometry: string;
  title: string;
  description: string;
  dataset_id: string | null;
  version_name: string | null;
  author_user_id: string | null;
  author_actor: string;
  author_name: string | null;
  author_org_id: string | null;
  author_org_slug: string | null;
  status: Status;
  assigned_user_id: string | null;
  assigned_user_name: string | null;
  assigned_org_id: string | null;
  assigned_org_slug: string | null;
  dt_dict_ref: string | null;
  works_start: string | null;
  works_end: string | null;
  themes: Theme[];
  duplicate_of: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const SELECT = `
  SELECT d.id::text, d.type, ST_AsGeoJSON(d.geom, 3, 0) AS geometry, d.title, d.description, d.dataset_id, d.version_name,
         d.author_user_id::text, d.author_actor, au.display_name AS author_name, ao.id::text AS author_org_id, ao.slug AS author_org_slug,
         d.status, d.assigned_user_id::text, su.display_name AS assigned_user_name, so.id::text AS assigned_org_id, so.slug AS assigned_org_slug,
         d.dt_dict_ref, to_char(d.works_start, 'YYYY-MM-DD') AS works_start, to_char(d.works_end, 'YYYY-MM-DD') AS works_end, d.themes,
         d.duplicate_of::text, d.created_at, d.updated_at
    FROM declarations d
    LEFT JOIN users au ON au.id = d.author_user_id
    LEFT JOIN organisations ao ON ao.id = d.author_organisation_id
    LEFT JOIN users su ON su.id = d.assigned_user_id
    LEFT JOIN organisations so ON so.id = d.assigned_organisation_id`;

const num = (v: string | null): number | null => (v === null ? null : Number(v));

function toDeclaration(r: Row): Declaration {
  return {
    id: Number(r.id),
    type: r.type,
    geometry: JSON.parse(r.geometry) as L93Geometry,
    title: r.title,
    description: r.description,
    layer: r.dataset_id ? { dataset: r.dataset_id, version: r.version_name } : null,
    author: { userId: num(r.author_user_id), actor: r.author_actor, displayName: r.author_name, organisation: r.author_org_id ? { id: Number(r.author_org_id), slug: r.author_org_slug as string } : null },
    status: r.status,
    assigned: {
      user: r.assigned_user_id ? { id: Number(r.assigned_user_id), displayName: r.assigned_user_name ?? '' } : null,
      organisation: r.assigned_org_id ? { id: Number(r.assigned_org_id), slug: r.assigned_org_slug as string } : null,
    },
    works: r.type === 'works' ? { dtDictRef: r.dt_dict_ref, plannedStart: r.works_start, plannedEnd: r.works_end, themes: r.themes } : null,
    duplicateOf: num(r.duplicate_of),
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

export class DeclarationStore {
  constructor(readonly db: Queryable) {}

  /** Whether PostGIS finds the Lambert-93 geometry valid; the reason when it is not. */
  async validity(geometry: L93Geometry): Promise<{ valid: boolean; reason: string }> {
    try {
      const { rows } = await this.db.query<{ valid: boolean; reason: string; empty: boolean }>(
        `SELECT ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason, ST_IsEmpty(g) AS empty FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1::text), 2154) AS g) s`,
        [JSON.stringify(geometry)],
      );
      const r = rows[0];
      if (!r) return { valid: false, reason: 'unreadable geometry' };
      if (r.empty) return { valid: false, reason: 'empty geometry' };
      return { valid: r.valid, reason: r.reason };
    } catch (e) {
      return { valid: false, reason: (e as Error).message.slice(0, 200) };
    }
  }

  async layerExists(dataset: string, version: string | null): Promise<boolean> {
    const { rows } = version === null
      ? await this.db.query(`SELECT 1 FROM datasets WHERE id = $1`, [dataset])
      : await this.db.query(`SELECT 1 FROM versions WHERE dataset_id = $1 AND name = $2`, [dataset, version]);
    return rows.length > 0;
  }

  /** 409 when a works declaration already carries this DT/DICT number (one per number: a unique index). */
  async insert(tx: Queryable, d: NewDeclaration): Promise<number> {
    const ref = d.works?.dtDictRef ?? null;
    const existing = ref === null ? null : await this.idByDtDictRef(ref, tx);
    if (existing !== null) throw duplicateRef(ref as string, existing);
    try {
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO declarations (type, geom, title, description, dataset_id, version_name, author_user_id, author_actor, author_organisation_id, dt_dict_ref, works_start, works_end, themes)
         VALUES ($1, ST_SetSRID(ST_GeomFromGeoJSON($2::text), 2154), $3, $4, $5, $6, $7, $8, $9, $10, $11::date, $12::date, $13::text[])
         RETURNING id::text`,
        [
          d.type, JSON.stringify(d.geometry), d.title, d.description, d.layer?.dataset ?? null, d.layer?.version ?? null,
          d.authorUserId, d.authorActor, d.authorOrganisationId,
          ref, d.works?.plannedStart ?? null, d.works?.plannedEnd ?? null, [...(d.works?.themes ?? [])],
        ],
      );
      return Number(rows[0]?.id);
    } catch (e) {
      // Declared at the same moment by someone else.
      if ((e as { code?: string }).code === '23505' && ref !== null) throw duplicateRef(ref, null);
      throw e;
    }
  }

  /** The works declaration carrying this DT/DICT number, if any. */
  async idByDtDictRef(ref: string, tx: Queryable = this.db): Promise<number | null> {
    const { rows } = await tx.query<{ id: string }>(`SELECT id::text FROM declarations WHERE dt_dict_ref = $1`, [ref]);
    return rows[0] ? Number(rows[0].id) : null;
  }

  async get(id: number, tx: Queryable = this.db): Promise<Declaration | null> {
    const { rows } = await tx.query<Row>(`${SELECT} WHERE d.id = $1`, [id]);
    return rows[0] ? toDeclaration(rows[0]) : null;
  }

  /** The status of a declaration, its row locked until the transaction ends. */
  async lockStatus(tx: Queryable, id: number): Promise<{ status: Status; authorUserId: number | null }> {
    const { rows } = await tx.query<{ status: Status; author_user_id: string | null }>(`SELECT status, author_user_id::text FROM declarations WHERE id = $1 FOR UPDATE`, [id]);
    const r = rows[0];
    if (!r) throw notFound(id);
    return { status: r.status, authorUserId: num(r.author_user_id) };
  }

  async setStatus(tx: Queryable, id: number, status: Status, duplicateOf: number | null): Promise<void> {
    await tx.query(`UPDATE declarations SET status = $2, duplicate_of = $3, updated_at = now() WHERE id = $1`, [id, status, duplicateOf]);
  }

  async setAssignment(tx: Queryable, id: number, userId: number | null, organisationId: number | null): Promise<void> {
    await tx.query(`UPDATE declarations SET assigned_user_id = $2, assigned_organisation_id = $3, updated_at = now() WHERE id = $1`, [id, userId, organisationId]);
  }

  async touch(tx: Queryable, id: number): Promise<void> {
    await tx.query(`UPDATE declarations SET updated_at = now() WHERE id = $1`, [id]);
  }

  async addAction(
    tx: Queryable,
    a: { declarationId: number; action: Action['action']; actor: string; actorUserId: number | null; text?: string | null; fromStatus?: Status | null; toStatus?: Status | null; details?: Record<string, unknown> },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO declaration_actions (declaration_id, action, actor, actor_user_id, text, from_status, to_status, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
      [a.declarationId, a.action, a.actor, a.actorUserId, a.text ?? null, a.fromStatus ?? null, a.toStatus ?? null, JSON.stringify(a.details ?? {})],
    );
  }

  async actions(id: number): Promise<Action[]> {
    const { rows } = await this.db.query<{ id: string; action: Action['action']; actor: string; actor_user_id: string | null; actor_name: string | null; at: Date | string; text: string | null; from_status: Status | null; to_status: Status | null; details: Record<string, unknown> }>(
      `SELECT a.id::text, a.action, a.actor, a.actor_user_id::text, u.display_name AS actor_name, a.at, a.text, a.from_status, a.to_status, a.details
         FROM declaration_actions a LEFT JOIN users u ON u.id = a.actor_user_id
        WHERE a.declaration_id = $1 ORDER BY a.id`,
      [id],
    );
    return rows.map((r) => ({ id: Number(r.id), action: r.action, actor: r.actor, actorUserId: num(r.actor_user_id), actorName: r.actor_name, at: new Date(r.at).toISOString(), text: r.text, fromStatus: r.from_status, toStatus: r.to_status, details: r.details }));
  }

  /** Names of the catalogue's dalles the declaration's geometry touches (see `DALLES_TOUCHED`). */
  async dallesTouched(id: number): Promise<Array<{ name: string; dataset: string; version: string }>> {
    const { rows } = await this.db.query<{ name: string; dataset: string; version: string }>(
      `SELECT dl.name, v.dataset_id AS dataset, v.name AS version
         FROM declarations d ${DALLES_TOUCHED.join('d.geom')}
        WHERE d.id = $1 AND ${DALLES_TOUCHED.where}
        ORDER BY v.dataset_id, v.name, dl.name
        LIMIT 1000`,
      [id],
    );
    return rows;
  }

  /**
   * The vector PCRS objects within `VECTOR_TOLERANCE_M` of the declaration (a point or a line
   * touches the kerb it is drawn on, not only what it crosses): of the vector version it is about,
   * else of the current PCRS (newest version per area); none when it is about another layer.
   */
  async vectorObjectsTouched(id: number): Promise<VectorObject[]> {
    const { rows } = await this.db.query<{ area: string; dataset_id: string | null; version_id: string | null }>(
      `SELECT ST_AsGeoJSON(ST_Buffer(d.geom, $2), 3) AS area, d.dataset_id, v.id::text AS version_id
         FROM declarations d LEFT JOIN versions v ON v.dataset_id = d.dataset_id AND v.name = d.version_name
        WHERE d.id = $1`,
      [id, VECTOR_TOLERANCE_M],
    );
    const r = rows[0];
    if (!r || (r.dataset_id !== null && r.dataset_id !== 'vector')) return [];
    const features = await queryFeatures(this.db, {
      datasetId: 'vector',
      ...(r.version_id !== null ? { versionId: Number(r.version_id) } : {}),
      polygon: JSON.parse(r.area) as Record<string, unknown>,
      limit: MAX_VECTOR_OBJECTS,
    });
    const names = new Map<number, string>();
    for (const f of features) if (!names.has(f.versionId)) names.set(f.versionId, (await this.db.query<{ name: string }>(`SELECT name FROM versions WHERE id = $1`, [f.versionId])).rows[0]?.name ?? '');
    return features.map((f) => ({ id: f.id, class: f.class, gmlId: f.gmlId, version: names.get(f.versionId) ?? '' }));
  }

  async list(f: ListFilter): Promise<{ items: Declaration[]; total: number }> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    const p = (v: SqlParam) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (f.bbox) where.push(`d.geom && ST_MakeEnvelope(${p(f.bbox[0])}, ${p(f.bbox[1])}, ${p(f.bbox[2])}, ${p(f.bbox[3])}, 2154)`);
    if (f.statuses?.length) where.push(`d.status = ANY (${p([...f.statuses])}::text[])`);
    if (f.types?.length) where.push(`d.type = ANY (${p([...f.types])}::text[])`);
    if (f.theme) where.push(`${p(f.theme)}::text = ANY (d.themes)`);
    if (f.updatedSince) where.push(`d.updated_at >= ${p(f.updatedSince.toISOString())}::timestamptz`);
    if (f.organisationSlug) where.push(`ao.slug = ${p(f.organisationSlug)}`);
    if (f.authorUserId !== undefined) where.push(`d.author_user_id = ${p(f.authorUserId)}`);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const count = await this.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM declarations d LEFT JOIN organisations ao ON ao.id = d.author_organisation_id ${w}`, params);
    const { rows } = await this.db.query<Row>(`${SELECT} ${w} ORDER BY d.updated_at DESC, d.id DESC LIMIT ${p(f.limit)} OFFSET ${p(f.offset)}`, params);
    return { items: rows.map(toDeclaration), total: Number(count.rows[0]?.n ?? 0) };
  }

  async userExists(id: number): Promise<boolean> {
    return (await this.db.query(`SELECT 1 FROM users WHERE id = $1 AND disabled_at IS NULL`, [id])).rows.length > 0;
  }

  async organisationId(slug: string): Promise<number | null> {
    const { rows } = await this.db.query<{ id: string }>(`SELECT id::text FROM organisations WHERE slug = $1`, [slug]);
    return rows[0] ? Number(rows[0].id) : null;
  }

  /**
   * "To update" marks of the version's dataset whose works area the version now covers (its dalles
   * not withdrawn for an orthophoto, its imported areas for a vector PCRS), consumed by `by` (the
   * contribution or campaign that published it). Marking again is harmless. Returns how many.
   */
  async consumeMarksCoveredBy(version: { id: number; datasetId: string }, by: string): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `WITH coverage AS (
         SELECT ST_Union(footprint) AS g FROM dalles WHERE version_id = $1 AND state <> 'withdrawn'
         UNION ALL
         SELECT ST_Union(footprint) FROM vector_areas WHERE version_id = $1
       ), covered AS (SELECT ST_Union(g) AS g FROM coverage WHERE g IS NOT NULL)
       UPDATE declaration_update_marks m SET consumed_at = now(), consumed_by = $3
         FROM versions v, covered c
        WHERE v.id = m.version_id AND v.dataset_id = $2 AND m.consumed_at IS NULL
          AND c.g IS NOT NULL AND ST_CoveredBy(m.area, c.g)
        RETURNING m.id`,
      [version.id, version.datasetId, by],
    );
    return rows.length;
  }
}

/**
 * The catalogue's dalles (`dl`, of version `v`) that an area of the declaration `d` touches: not
 * withdrawn (nor their version), of the layer the declaration is about when it names one, else of
 * every dataset. The detail's "dalles touched" (area = the geometry) and the works' "to update"
 * marks (area = the works footprint, to-update.ts) are this one query.
 */
export const DALLES_TOUCHED = {
  join: (area: string) => `JOIN dalles dl ON ST_Intersects(dl.footprint, ${area}) JOIN versions v ON v.id = dl.version_id`,
  where: `dl.state <> 'withdrawn' AND v.status <> 'withdrawn'
          AND (d.dataset_id IS NULL OR v.dataset_id = d.dataset_id)
          AND (d.version_name IS NULL OR v.name = d.version_name)`,
} as const;

function duplicateRef(ref: string, existing: number | null): UserError {
  return new UserError('duplicate-dt-dict-ref', `A works declaration${existing === null ? '' : ` (n° ${existing})`} already carries the DT/DICT number ${ref}.`, { status: 409 });
}

/** Metres around a declaration within which a vector object counts as touched. */
export const VECTOR_TOLERANCE_M = 1;
const MAX_VECTOR_OBJECTS = 200;

export interface VectorObject {
  /** The feature's id in /ogc/collections/<class>/items/{id}. */
  id: number;
  class: string;
  gmlId: string | null;
  version: string;
}

export function notFound(id: number): UserError {
  return new UserError('not-found', `There is no declaration ${id}.`, { status: 404 });
}
