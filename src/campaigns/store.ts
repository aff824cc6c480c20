import type { Queryable } from '../db/database.js';
import type { DalleRef } from '../grid/dalle-grid.js';
import { dalleBbox, dalleXY } from '../grid/dalle-grid.js';
import { UserError } from '../util/errors.js';
import type { ClassChanges } from '../vector/diff.js';
import type { AreaSource, BudgetLine, Campaign, CampaignKind, CampaignProgress, CampaignStatus, DalleState } from './model.js';

/** The only SQL on the campaign tables (`migrations/202612041630_campaigns_core.sql`). */

interface CampaignRow {
  id: string;
  slug: string;
  title: string;
  kind: CampaignKind;
  status: CampaignStatus;
  dalle_size: 200 | 1000;
  area_source: AreaSource;
  area_details: Record<string, unknown>;
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
  area_km2: number;
  contractor_id: string | null;
  contractor_slug: string | null;
  contractor_name: string | null;
  planned_start: string | null;
  planned_end: string | null;
  budget: BudgetLine[];
  description: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
  ortho_version: string | null;
  vector_version: string | null;
  vector_coverage: number | null;
  expected: number;
  received: number;
  accepted: number;
  rejected: number;
  outside: number;
  deliveries: number;
}

const SELECT = `SELECT c.id, c.slug, c.title, c.kind, c.status, c.dalle_size, c.area_source, c.area_details,
    ST_XMin(c.area) AS xmin, ST_YMin(c.area) AS ymin, ST_XMax(c.area) AS xmax, ST_YMax(c.area) AS ymax, ST_Area(c.area) / 1e6 AS area_km2,
    o.id AS contractor_id, o.slug AS contractor_slug, o.name AS contractor_name,
    to_char(c.planned_start, 'YYYY-MM-DD') AS planned_start, to_char(c.planned_end, 'YYYY-MM-DD') AS planned_end,
    c.budget, c.description, c.created_by, c.created_at, c.updated_at, c.published_at, v.name AS ortho_version, vv.name AS vector_version,
    (SELECT ST_Area(ST_Intersection(c.area, ST_Union(a.footprint))) / NULLIF(ST_Area(c.area), 0) FROM vector_areas a WHERE a.version_id = c.vector_version_id) AS vector_coverage,
    (SELECT COUNT(*) FROM campaign_dalles d WHERE d.campaign_id = c.id AND d.expected)::int AS expected,
    (SELECT COUNT(*) FROM campaign_dalles d WHERE d.campaign_id = c.id AND d.expected AND d.state = 'received')::int AS received,
    (SELECT COUNT(*) FROM campaign_dalles d WHERE d.campaign_id = c.id AND d.expected AND d.state = 'accepted')::int AS accepted,
    (SELECT COUNT(*) FROM campaign_dalles d WHERE d.campaign_id = c.id AND d.expected AND d.state = 'rejected')::int AS rejected,
    (SELECT COUNT(*) FROM campaign_dalles d WHERE d.campaign_id = c.id AND NOT d.expected)::int AS outside,
    (SELECT COUNT(*) FROM campaign_deliveries x WHERE x.campaign_id = c.id)::int AS deliveries
  FROM campaigns c LEFT JOIN organisations o ON o.id = c.contractor_organisation_id LEFT JOIN versions v ON v.id = c.ortho_version_id LEFT JOIN versions vv ON vv.id = c.vector_version_id`;

function campaignOf(r: CampaignRow): Campaign {
  const progress: CampaignProgress = {
    expected: r.expected,
    received: r.received,
    accepted: r.accepted,
    rejected: r.rejected,
    missing: r.expected - r.received - r.accepted - r.rejected,
    outside: r.outside,
    deliveries: r.deliveries,
    receivedRatio: r.expected === 0 ? 0 : Math.round(((r.received + r.accepted) / r.expected) * 1000) / 1000,
    vectorCoverage: r.vector_coverage === null ? null : Math.round(r.vector_coverage * 1000) / 1000,
  };
  return {
    id: Number(r.id),
    slug: r.slug,
    title: r.title,
    kind: r.kind,
    status: r.status,
    dalleSize: r.dalle_size,
    areaSource: r.area_source,
    areaDetails: r.area_details,
    bbox: [r.xmin, r.ymin, r.xmax, r.ymax],
    areaKm2: Math.round(r.area_km2 * 1000) / 1000,
    contractor: r.contractor_id === null ? null : { id: Number(r.contractor_id), slug: r.contractor_slug as string, name: r.contractor_name as string },
    plannedStart: r.planned_start,
    plannedEnd: r.planned_end,
    budget: r.budget,
    description: r.description,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    publishedAt: r.published_at ? r.published_at.toISOString() : null,
    orthoVersion: r.ortho_version,
    vectorVersion: r.vector_version,
    progress,
  };
}

export interface CampaignDalle {
  label: string;
  col: number;
  row: number;
  expected: boolean;
  state: DalleState;
  reason: string | null;
  deliveryId: number | null;
  /** The acceptance check's seam score (0–255) and its edge, once checked. */
  seamScore: number | null;
  /** Share of the dalle that changed, computed at publication (null before, or for a new area). */
  changeScore: number | null;
  seamEdge: string | null;
  updatedAt: string;
  /** GeoJSON text of the footprint, in the CRS asked for. */
  geometry: string;
}

export interface CampaignEvent {
  id: number;
  at: string;
  actor: string;
  action: string;
  fromStatus: CampaignStatus | null;
  toStatus: CampaignStatus | null;
  note: string | null;
}

export interface CampaignDelivery {
  id: number;
  source: 'ingest' | 'gml-import' | 'contribution';
  label: string;
  acquiredOn: string | null;
  receivedBy: string;
  receivedAt: string;
  summary: Record<string, unknown>;
}

/** What a delivery did to one grid cell. */
export interface DeliveredCell {
  ref: DalleRef;
  state: Extract<DalleState, 'received' | 'rejected'>;
  reason: string | null;
  dalleId: number | null;
}

/** An area built by the database, as Lambert-93 GeoJSON text, with what it was built from. */
export interface BuiltArea {
  geojson: string;
  details: Record<string, unknown>;
}

export class CampaignStore {
  constructor(private readonly db: Queryable) {}

  with(tx: Queryable): CampaignStore {
    return new CampaignStore(tx);
  }

  /**
   * What the open "to update" marks ask a campaign of this kind to survey, merged: the marked dalles
   * of the orthophoto (ortho, mixed) and the works areas marked on the vector PCRS (vector, mixed);
   * marks of declarations still standing, of versions not withdrawn.
   */
  async areaOfOpenMarks(kind: CampaignKind): Promise<BuiltArea | null> {
    const datasets = kind === 'ortho' ? ['ortho'] : kind === 'vector' ? ['vector'] : ['ortho', 'vector'];
    const { rows } = await this.db.query<{ g: string | null; marks: number; declarations: number[] | null }>(
      `WITH open AS (
         SELECT m.id, m.declaration_id, CASE WHEN m.dalle_name IS NULL THEN m.area ELSE d.footprint END AS area
           FROM declaration_update_marks m
           JOIN versions v ON v.id = m.version_id AND v.status <> 'withdrawn' AND v.dataset_id = ANY($1::text[])
           JOIN declarations x ON x.id = m.declaration_id AND x.status NOT IN ('rejected', 'duplicate')
           LEFT JOIN dalles d ON d.version_id = m.version_id AND d.name = m.dalle_name
          WHERE m.consumed_at IS NULL AND (m.dalle_name IS NULL OR d.id IS NOT NULL)
       )
       SELECT ST_AsGeoJSON(ST_Multi(ST_Union(area)), 3) AS g, COUNT(*)::int AS marks, array_agg(DISTINCT declaration_id ORDER BY declaration_id) AS declarations FROM open`,
      [datasets],
    );
    const r = rows[0];
    if (!r?.g) return null;
    return { geojson: r.g, details: { marks: r.marks, declarations: (r.declarations ?? []).map(Number) } };
  }

  /** The outlines of these communes, merged; throws 400 naming the unknown ones and those without an outline. */
  async areaOfCommunes(insee: readonly string[]): Promise<BuiltArea> {
    const { rows } = await this.db.query<{ insee: string; name: string; has_geom: boolean }>(`SELECT insee, name, geom IS NOT NULL AS has_geom FROM communes WHERE insee = ANY($1::text[])`, [insee]);
    const found = new Map(rows.map((r) => [r.insee, r]));
    const unknown = insee.filter((c) => !found.has(c));
    if (unknown.length > 0) throw new UserError('unknown-commune', `Unknown commune(s): ${unknown.join(', ')}.`, { status: 400, hint: 'Give INSEE codes of the territory’s communes (pcrs communes list).' });
    const bare = rows.filter((r) => !r.has_geom).map((r) => `${r.name} (${r.insee})`);
    if (bare.length > 0) throw new UserError('commune-without-outline', `No outline is imported for ${bare.join(', ')}.`, { status: 400, hint: 'Import the outlines first: pcrs communes import.' });
    const g = await this.db.query<{ g: string }>(`SELECT ST_AsGeoJSON(ST_Multi(ST_Union(geom)), 3) AS g FROM communes WHERE insee = ANY($1::text[])`, [insee]);
    return { geojson: g.rows[0]?.g as string, details: { communes: rows.map((r) => ({ insee: r.insee, name: r.name })) } };
  }

  /**
   * The current orthophoto's dalles acquired before `before` (YYYY-MM-DD; the dalle's date, else its
   * version's): for each grid cell, the dalle of the highest-priority published version that has it.
   */
  async areaOfDallesOlderThan(before: string): Promise<BuiltArea | null> {
    const { rows } = await this.db.query<{ g: string | null; dalles: number }>(
      `WITH current AS (
         SELECT DISTINCT ON (d.size_m, d.grid_col, d.grid_row) d.footprint, COALESCE(d.acquisition_date, v.acquisition_date) AS acquired
           FROM dalles d JOIN versions v ON v.id = d.version_id
          WHERE v.dataset_id = 'ortho' AND v.status = 'published'
          ORDER BY d.size_m, d.grid_col, d.grid_row, v.priority DESC)
       SELECT ST_AsGeoJSON(ST_Multi(ST_Union(footprint)), 3) AS g, COUNT(*)::int AS dalles FROM current WHERE acquired < $1::date`,
      [before],
    );
    const r = rows[0];
    return r?.g ? { geojson: r.g, details: { before, dalles: r.dalles } } : null;
  }

  /**
   * Inserts a campaign whose area is Lambert-93 GeoJSON (made valid, kept as polygons). Throws 409
   * on a taken slug, 400 on an area without surface.
   */
  async insert(input: {
    slug: string;
    title: string;
    kind: CampaignKind;
    dalleSize: 200 | 1000;
    area: BuiltArea;
    areaSource: AreaSource;
    contractorId: number | null;
    plannedStart: string | null;
    plannedEnd: string | null;
    budget: readonly BudgetLine[];
    description: string | null;
    createdBy: string;
  }): Promise<number> {
    const area = await this.db.query<{ ok: boolean }>(`SELECT ST_Area(ST_CollectionExtract(ST_MakeValid(ST_GeomFromGeoJSON($1)), 3)) > 0 AS ok`, [input.area.geojson]);
    if (!area.rows[0]?.ok) throw new UserError('empty-area', 'The campaign’s area has no surface.', { status: 400 });
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO campaigns (slug, title, kind, dalle_size, area, area_source, area_details, contractor_organisation_id, planned_start, planned_end, budget, description, created_by)
       VALUES ($1, $2, $3, $4, ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON($5), 2154)), 3)), $6, $7::jsonb, $8, $9::date, $10::date, $11::jsonb, $12, $13)
       ON CONFLICT (slug) DO NOTHING RETURNING id`,
      [
        input.slug,
        input.title,
        input.kind,
        input.dalleSize,
        input.area.geojson,
        input.areaSource,
        JSON.stringify(input.area.details),
        input.contractorId,
        input.plannedStart,
        input.plannedEnd,
        JSON.stringify(input.budget),
        input.description,
        input.createdBy,
      ],
    );
    if (!rows[0]) throw new UserError('campaign-exists', `A campaign named '${input.slug}' already exists.`, { status: 409 });
    return Number(rows[0].id);
  }

  /** Lambert-93 extent of a campaign's area. */
  async areaBbox(id: number): Promise<[number, number, number, number]> {
    const { rows } = await this.db.query<{ xmin: number; ymin: number; xmax: number; ymax: number }>(
      `SELECT ST_XMin(area) AS xmin, ST_YMin(area) AS ymin, ST_XMax(area) AS xmax, ST_YMax(area) AS ymax FROM campaigns WHERE id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) throw new UserError('campaign-not-found', `No campaign ${id}.`, { status: 404 });
    return [r.xmin, r.ymin, r.xmax, r.ymax];
  }

  /** Records as expected those of `candidates` (the cells of the area's extent) whose interior meets the area's. */
  async expect(id: number, candidates: readonly DalleRef[]): Promise<number> {
    const { rowCount } = await this.db.query(
      `INSERT INTO campaign_dalles (campaign_id, grid_col, grid_row, label, footprint)
       SELECT c.id, t.col, t.row, t.label, ST_MakeEnvelope(t.xmin, t.ymin, t.xmax, t.ymax, 2154)
         FROM campaigns c, unnest($2::int[], $3::int[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::float8[]) AS t(col, row, label, xmin, ymin, xmax, ymax)
        WHERE c.id = $1 AND ST_Relate(ST_MakeEnvelope(t.xmin, t.ymin, t.xmax, t.ymax, 2154), c.area, 'T********')`,
      [id, ...cellArrays(candidates)],
    );
    return rowCount;
  }

  async get(slug: string): Promise<Campaign> {
    const { rows } = await this.db.query<CampaignRow>(`${SELECT} WHERE c.slug = $1`, [slug]);
    if (!rows[0]) throw new UserError('campaign-not-found', `No campaign '${slug}'.`, { status: 404, hint: 'pcrs campaigns list shows them.' });
    return campaignOf(rows[0]);
  }

  async list(): Promise<Campaign[]> {
    const { rows } = await this.db.query<CampaignRow>(`${SELECT} ORDER BY c.created_at DESC, c.id DESC`);
    return rows.map(campaignOf);
  }

  /** The campaign's dalles (expected, then delivered outside the area), north to south, west to east. */
  async dalles(id: number, srid: 4326 | 2154 = 4326): Promise<CampaignDalle[]> {
    const { rows } = await this.db.query<{ label: string; grid_col: number; grid_row: number; expected: boolean; state: DalleState; reason: string | null; delivery_id: string | null; seam_score: number | null; seam_edge: string | null; change_score: number | null; updated_at: Date; g: string }>(
      `SELECT label, grid_col, grid_row, expected, state, reason, delivery_id, seam_score, seam_edge, change_score, updated_at,
              ST_AsGeoJSON(CASE WHEN $2::int = 2154 THEN footprint ELSE ST_Transform(footprint, 4326) END, CASE WHEN $2::int = 2154 THEN 2 ELSE 7 END) AS g
         FROM campaign_dalles WHERE campaign_id = $1 ORDER BY expected DESC, grid_row DESC, grid_col`,
      [id, srid],
    );
    return rows.map((r) => ({
      label: r.label,
      col: r.grid_col,
      row: r.grid_row,
      expected: r.expected,
      state: r.state,
      reason: r.reason,
      deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
      seamScore: r.seam_score,
      seamEdge: r.seam_edge,
      changeScore: r.change_score,
      updatedAt: r.updated_at.toISOString(),
      geometry: r.g,
    }));
  }

  /** The expected dalles received and waiting for their acceptance check. */
  async receivedDalles(id: number): Promise<Array<{ col: number; row: number; label: string; dalleId: number | null }>> {
    const { rows } = await this.db.query<{ grid_col: number; grid_row: number; label: string; dalle_id: string | null }>(
      `SELECT grid_col, grid_row, label, dalle_id FROM campaign_dalles WHERE campaign_id = $1 AND expected AND state = 'received' ORDER BY grid_row DESC, grid_col`,
      [id],
    );
    return rows.map((r) => ({ col: r.grid_col, row: r.grid_row, label: r.label, dalleId: r.dalle_id === null ? null : Number(r.dalle_id) }));
  }

  /** The dalles delivered outside the area and not refused yet (the check takes them out of the version). */
  async outsideDalles(id: number): Promise<Array<{ col: number; row: number; label: string; dalleId: number | null }>> {
    const { rows } = await this.db.query<{ grid_col: number; grid_row: number; label: string; dalle_id: string | null }>(
      `SELECT grid_col, grid_row, label, dalle_id FROM campaign_dalles WHERE campaign_id = $1 AND NOT expected AND state = 'received' ORDER BY grid_row DESC, grid_col`,
      [id],
    );
    return rows.map((r) => ({ col: r.grid_col, row: r.grid_row, label: r.label, dalleId: r.dalle_id === null ? null : Number(r.dalle_id) }));
  }

  /** Records the outcome of acceptance checks (only for dalles still `received`: a dalle delivered again meanwhile keeps its new state). */
  async recordChecks(id: number, results: ReadonlyArray<{ col: number; row: number; accepted: boolean; reason: string | null; score: number | null; edge: string | null }>): Promise<void> {
    if (results.length === 0) return;
    await this.db.query(
      `UPDATE campaign_dalles d SET state = CASE WHEN t.accepted THEN 'accepted' ELSE 'rejected' END, reason = t.reason, seam_score = t.score, seam_edge = t.edge,
              checked_at = now(), updated_at = now()
         FROM unnest($2::int[], $3::int[], $4::boolean[], $5::text[], $6::real[], $7::text[]) AS t(col, row, accepted, reason, score, edge)
        WHERE d.campaign_id = $1 AND d.grid_col = t.col AND d.grid_row = t.row AND d.state = 'received'`,
      [id, results.map((r) => r.col), results.map((r) => r.row), results.map((r) => r.accepted), results.map((r) => r.reason), results.map((r) => r.score), results.map((r) => r.edge)],
    );
  }

  /** The accepted dalles (what a publication publishes). */
  async acceptedDalles(id: number): Promise<Array<{ col: number; row: number; label: string }>> {
    const { rows } = await this.db.query<{ grid_col: number; grid_row: number; label: string }>(
      `SELECT grid_col, grid_row, label FROM campaign_dalles WHERE campaign_id = $1 AND state = 'accepted' ORDER BY grid_row DESC, grid_col`,
      [id],
    );
    return rows.map((r) => ({ col: r.grid_col, row: r.grid_row, label: r.label }));
  }

  async recordChangeScores(id: number, scores: ReadonlyArray<{ col: number; row: number; score: number | null }>): Promise<void> {
    if (scores.length === 0) return;
    await this.db.query(
      `UPDATE campaign_dalles d SET change_score = t.score FROM unnest($2::int[], $3::int[], $4::real[]) AS t(col, row, score)
        WHERE d.campaign_id = $1 AND d.grid_col = t.col AND d.grid_row = t.row`,
      [id, scores.map((x) => x.col), scores.map((x) => x.row), scores.map((x) => x.score)],
    );
  }

  /** checked → published (false when it is not `checked` any more). */
  async markPublished(id: number): Promise<boolean> {
    const { rowCount } = await this.db.query(`UPDATE campaigns SET status = 'published', published_at = now(), updated_at = now() WHERE id = $1 AND status = 'checked'`, [id]);
    return rowCount === 1;
  }

  /** Lambert-93 corners of the accepted dalles with a change score inside a Lambert-93 bbox (the change map). */
  async scoredDallesIn(id: number, bbox: readonly [number, number, number, number]): Promise<Array<{ xmin: number; ymin: number; xmax: number; ymax: number; score: number }>> {
    const { rows } = await this.db.query<{ xmin: number; ymin: number; xmax: number; ymax: number; score: number }>(
      `SELECT ST_XMin(footprint) AS xmin, ST_YMin(footprint) AS ymin, ST_XMax(footprint) AS xmax, ST_YMax(footprint) AS ymax, change_score AS score
         FROM campaign_dalles WHERE campaign_id = $1 AND state = 'accepted' AND change_score IS NOT NULL
          AND footprint && ST_MakeEnvelope($2, $3, $4, $5, 2154)`,
      [id, ...bbox],
    );
    return rows;
  }

  /** Who to tell about a campaign: the active members of its contractor organisation. */
  async contractorRecipients(id: number): Promise<Array<{ email: string; name: string }>> {
    const { rows } = await this.db.query<{ email: string; display_name: string }>(
      `SELECT u.email, u.display_name FROM campaigns c JOIN memberships m ON m.organisation_id = c.contractor_organisation_id AND m.status = 'active'
         JOIN users u ON u.id = m.user_id AND u.disabled_at IS NULL WHERE c.id = $1 ORDER BY u.email`,
      [id],
    );
    return rows.map((r) => ({ email: r.email, name: r.display_name }));
  }

  /** `col:row` of the cells a campaign expects. */
  async expectedCells(id: number): Promise<Set<string>> {
    const { rows } = await this.db.query<{ k: string }>(`SELECT grid_col || ':' || grid_row AS k FROM campaign_dalles WHERE campaign_id = $1 AND expected`, [id]);
    return new Set(rows.map((r) => r.k));
  }

  /** Sets the status if it still is `from`; false when someone changed it meanwhile. */
  async setStatus(id: number, from: CampaignStatus, to: CampaignStatus): Promise<boolean> {
    const { rowCount } = await this.db.query(`UPDATE campaigns SET status = $3, updated_at = now() WHERE id = $1 AND status = $2`, [id, from, to]);
    return rowCount === 1;
  }

  async setOrthoVersion(id: number, versionId: number): Promise<void> {
    await this.db.query(`UPDATE campaigns SET ortho_version_id = $2, updated_at = now() WHERE id = $1`, [id, versionId]);
  }

  async setVectorChanges(id: number, changes: { summary: ClassChanges; byClass: Record<string, ClassChanges> }): Promise<void> {
    await this.db.query(`UPDATE campaigns SET vector_changes = $2::jsonb WHERE id = $1`, [id, JSON.stringify(changes)]);
  }

  async vectorChanges(id: number): Promise<{ summary: ClassChanges; byClass: Record<string, ClassChanges> } | null> {
    const { rows } = await this.db.query<{ vector_changes: { summary: ClassChanges; byClass: Record<string, ClassChanges> } | null }>(`SELECT vector_changes FROM campaigns WHERE id = $1`, [id]);
    return rows[0]?.vector_changes ?? null;
  }

  async setVectorVersion(id: number, versionId: number): Promise<void> {
    await this.db.query(`UPDATE campaigns SET vector_version_id = $2, updated_at = now() WHERE id = $1`, [id, versionId]);
  }

  /** Files of the campaign's vector version whose area does not meet the campaign's (delivered outside it). */
  async vectorImportsOutside(id: number): Promise<string[]> {
    const { rows } = await this.db.query<{ file_name: string }>(
      `SELECT DISTINCT i.file_name FROM campaigns c JOIN vector_areas a ON a.version_id = c.vector_version_id JOIN vector_imports i ON i.id = a.import_id
        WHERE c.id = $1 AND NOT ST_Intersects(a.footprint, c.area) ORDER BY 1`,
      [id],
    );
    return rows.map((r) => r.file_name);
  }

  /** Locks the campaign's row for the rest of the transaction and returns its status. */
  async lockStatus(id: number): Promise<CampaignStatus> {
    const { rows } = await this.db.query<{ status: CampaignStatus }>(`SELECT status FROM campaigns WHERE id = $1 FOR UPDATE`, [id]);
    if (!rows[0]) throw new UserError('campaign-not-found', `No campaign ${id}.`, { status: 404 });
    return rows[0].status;
  }

  async addEvent(id: number, e: { actor: string; action: string; from?: CampaignStatus; to?: CampaignStatus; note?: string | null }): Promise<void> {
    await this.db.query(`INSERT INTO campaign_events (campaign_id, actor, action, from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $6)`, [
      id,
      e.actor,
      e.action,
      e.from ?? null,
      e.to ?? null,
      e.note ?? null,
    ]);
  }

  async events(id: number): Promise<CampaignEvent[]> {
    const { rows } = await this.db.query<{ id: string; at: Date; actor: string; action: string; from_status: CampaignStatus | null; to_status: CampaignStatus | null; note: string | null }>(
      `SELECT id, at, actor, action, from_status, to_status, note FROM campaign_events WHERE campaign_id = $1 ORDER BY id`,
      [id],
    );
    return rows.map((r) => ({ id: Number(r.id), at: r.at.toISOString(), actor: r.actor, action: r.action, fromStatus: r.from_status, toStatus: r.to_status, note: r.note }));
  }

  async addDelivery(id: number, d: { source: CampaignDelivery['source']; label: string; acquiredOn: string | null; receivedBy: string; summary: Record<string, unknown> }): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO campaign_deliveries (campaign_id, source, label, acquired_on, received_by, summary) VALUES ($1, $2, $3, $4::date, $5, $6::jsonb) RETURNING id`,
      [id, d.source, d.label.slice(0, 500), d.acquiredOn, d.receivedBy, JSON.stringify(d.summary)],
    );
    return Number(rows[0]?.id);
  }

  async deliveries(id: number): Promise<CampaignDelivery[]> {
    const { rows } = await this.db.query<{ id: string; source: CampaignDelivery['source']; label: string; acquired_on: string | null; received_by: string; received_at: Date; summary: Record<string, unknown> }>(
      `SELECT id, source, label, to_char(acquired_on, 'YYYY-MM-DD') AS acquired_on, received_by, received_at, summary FROM campaign_deliveries WHERE campaign_id = $1 ORDER BY id`,
      [id],
    );
    return rows.map((r) => ({ id: Number(r.id), source: r.source, label: r.label, acquiredOn: r.acquired_on, receivedBy: r.received_by, receivedAt: r.received_at.toISOString(), summary: r.summary }));
  }

  /**
   * Records what a delivery did to its cells: an expected cell takes the new state (a dalle
   * received again replaces the earlier outcome), any other becomes a row `expected = false`
   * (delivered outside the area).
   */
  async deliver(id: number, deliveryId: number, cells: readonly DeliveredCell[]): Promise<void> {
    if (cells.length === 0) return;
    const [cols, rows, labels, xmins, ymins, xmaxs, ymaxs] = cellArrays(cells.map((c) => c.ref));
    await this.db.query(
      `INSERT INTO campaign_dalles AS d (campaign_id, grid_col, grid_row, label, footprint, expected, state, reason, delivery_id, dalle_id)
       SELECT $1, t.col, t.row, t.label, ST_MakeEnvelope(t.xmin, t.ymin, t.xmax, t.ymax, 2154), false, t.state, t.reason, $2, t.dalle_id
         FROM unnest($3::int[], $4::int[], $5::text[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::text[], $11::text[], $12::bigint[])
              AS t(col, row, label, xmin, ymin, xmax, ymax, state, reason, dalle_id)
       ON CONFLICT (campaign_id, grid_col, grid_row) DO UPDATE
          SET state = excluded.state, reason = excluded.reason, delivery_id = excluded.delivery_id, dalle_id = excluded.dalle_id, updated_at = now()`,
      [id, deliveryId, cols, rows, labels, xmins, ymins, xmaxs, ymaxs, cells.map((c) => c.state), cells.map((c) => c.reason), cells.map((c) => c.dalleId)],
    );
  }
}

/** Columns of grid cells for `unnest`: col, row, label, xmin, ymin, xmax, ymax. */
function cellArrays(refs: readonly DalleRef[]): [number[], number[], string[], number[], number[], number[], number[]] {
  const out: [number[], number[], string[], number[], number[], number[], number[]] = [[], [], [], [], [], [], []];
  for (const ref of refs) {
    const [xmin, ymin, xmax, ymax] = dalleBbox(ref);
    out[0].push(ref.col);
    out[1].push(ref.row);
    out[2].push(dalleXY(ref));
    out[3].push(xmin);
    out[4].push(ymin);
    out[5].push(xmax);
    out[6].push(ymax);
  }
  return out;
}
