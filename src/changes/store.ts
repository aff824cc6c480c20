import type { Queryable } from '../db/database.js';

/**
 * What changed in the PCRS since a date: the dalles of the orthophoto versions published since
 * then (with their change score where a campaign computed one) and the areas of the vector
 * versions published since then. Reads the catalogue's, the vector store's and the campaigns'
 * tables; writes nothing.
 */

export interface ChangedDalle {
  kind: 'dalle';
  dataset: string;
  version: string;
  publishedAt: string;
  campaign: string | null;
  contribution: number | null;
  name: string;
  acquisitionDate: string | null;
  /** Lambert-93 and WGS84 [xmin, ymin, xmax, ymax]. */
  bbox: [number, number, number, number];
  bboxWgs84: [number, number, number, number];
  /** Share of the dalle that changed (campaigns), null when unknown. */
  changeScore: number | null;
}

export interface ChangedArea {
  kind: 'area';
  dataset: string;
  version: string;
  publishedAt: string;
  campaign: string | null;
  contribution: number | null;
  file: string;
  features: number;
  bbox: [number, number, number, number];
  bboxWgs84: [number, number, number, number];
}

export type Change = ChangedDalle | ChangedArea;

type Row = {
  kind: 'dalle' | 'area';
  dataset: string;
  version: string;
  published_at: Date;
  campaign: string | null;
  contribution: number | null;
  name: string;
  acquisition_date: string | null;
  features: number | null;
  change_score: number | null;
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
  lon0: number;
  lat0: number;
  lon1: number;
  lat1: number;
};

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

export class ChangeStore {
  constructor(private readonly db: Queryable) {}

  /** Changes published at or after `since` (and before `until`), oldest first, at most `limit` + 1 (to tell truncation). */
  async since(since: string, until: string | null, limit: number): Promise<Change[]> {
    const { rows } = await this.db.query<Row>(
      `WITH v AS (
         SELECT id, dataset_id, name, published_at, campaign, (provenance->>'contribution')::bigint AS contribution, acquisition_date
           FROM versions
          WHERE status = 'published' AND published_at >= $1::timestamptz AND ($2::timestamptz IS NULL OR published_at < $2::timestamptz)),
       items AS (
         SELECT 'dalle' AS kind, v.dataset_id AS dataset, v.name AS version, v.published_at, v.campaign, v.contribution, d.name,
                to_char(COALESCE(d.acquisition_date, v.acquisition_date), 'YYYY-MM-DD') AS acquisition_date, NULL::int AS features,
                (SELECT cd.change_score FROM campaign_dalles cd WHERE cd.dalle_id = d.id ORDER BY cd.updated_at DESC LIMIT 1) AS change_score,
                d.footprint AS g, d.id AS ord
           FROM v JOIN dalles d ON d.version_id = v.id
          WHERE d.state IN ('registered', 'published')
         UNION ALL
         SELECT 'area', v.dataset_id, v.name, v.published_at, v.campaign, v.contribution, i.file_name,
                to_char(v.acquisition_date, 'YYYY-MM-DD'), i.feature_count, NULL::real, a.footprint, a.id
           FROM v JOIN vector_areas a ON a.version_id = v.id JOIN vector_imports i ON i.id = a.import_id)
       SELECT kind, dataset, version, published_at, campaign, contribution, name, acquisition_date, features, change_score,
              ST_XMin(g) AS xmin, ST_YMin(g) AS ymin, ST_XMax(g) AS xmax, ST_YMax(g) AS ymax,
              ST_XMin(w) AS lon0, ST_YMin(w) AS lat0, ST_XMax(w) AS lon1, ST_YMax(w) AS lat1
         FROM items, LATERAL (SELECT ST_Transform(ST_Envelope(g), 4326) AS w) t
        ORDER BY published_at, dataset, kind, ord
        LIMIT $3`,
      [since, until, limit + 1],
    );
    return rows.map((r): Change => {
      const base = {
        dataset: r.dataset,
        version: r.version,
        publishedAt: r.published_at.toISOString(),
        campaign: r.campaign,
        contribution: r.contribution === null ? null : Number(r.contribution),
        bbox: [round(r.xmin, 2), round(r.ymin, 2), round(r.xmax, 2), round(r.ymax, 2)] as [number, number, number, number],
        bboxWgs84: [round(r.lon0, 7), round(r.lat0, 7), round(r.lon1, 7), round(r.lat1, 7)] as [number, number, number, number],
      };
      return r.kind === 'dalle'
        ? { kind: 'dalle', ...base, name: r.name, acquisitionDate: r.acquisition_date, changeScore: r.change_score }
        : { kind: 'area', ...base, file: r.name, features: r.features ?? 0 };
    });
  }
}

/** A version that covered a point: its dalle there (orthophoto) or its imported file (vector). */
export interface PointVersion {
  dataset: string;
  version: string;
  kind: 'full' | 'update';
  status: 'published' | 'withdrawn';
  acquisitionDate: string | null;
  publishedAt: string | null;
  campaign: string | null;
  contribution: number | null;
  /** The dalle (orthophoto) or the imported file (vector) that covers the point. */
  item: string;
  /** The version shown there now (the highest published one of its dataset). */
  current: boolean;
}

/** Every version (published or withdrawn) of the orthophoto and of the vector PCRS that covered a Lambert-93 point, newest first per dataset. */
export async function versionsAt(db: Queryable, x: number, y: number): Promise<PointVersion[]> {
  const { rows } = await db.query<{
    dataset: string;
    version: string;
    kind: 'full' | 'update';
    status: 'published' | 'withdrawn';
    acquisition_date: string | null;
    published_at: Date | null;
    campaign: string | null;
    contribution: number | null;
    item: string;
    priority: number;
  }>(
    `WITH p AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 2154) AS g),
     hits AS (
       SELECT v.id, v.dataset_id, v.name, v.kind, v.status, v.acquisition_date, v.published_at, v.campaign, v.provenance, v.priority, d.name AS item
         FROM p, dalles d JOIN versions v ON v.id = d.version_id
        WHERE ST_Covers(d.footprint, p.g) AND d.state IN ('registered', 'published') AND v.status IN ('published', 'withdrawn')
       UNION ALL
       SELECT v.id, v.dataset_id, v.name, v.kind, v.status, v.acquisition_date, v.published_at, v.campaign, v.provenance, v.priority, i.file_name
         FROM p, vector_areas a JOIN versions v ON v.id = a.version_id JOIN vector_imports i ON i.id = a.import_id
        WHERE ST_Covers(a.footprint, p.g) AND v.status IN ('published', 'withdrawn'))
     SELECT DISTINCT ON (dataset_id, id) dataset_id AS dataset, name AS version, kind, status, to_char(acquisition_date, 'YYYY-MM-DD') AS acquisition_date, published_at, campaign,
            (provenance->>'contribution')::bigint AS contribution, item, priority
       FROM hits ORDER BY dataset_id, id, item`,
    [x, y],
  );
  const sorted = rows.sort((a, b) => a.dataset.localeCompare(b.dataset) || b.priority - a.priority);
  const top = new Map<string, number>();
  for (const r of sorted) if (r.status === 'published' && !top.has(r.dataset)) top.set(r.dataset, r.priority);
  return sorted.map((r) => ({
    dataset: r.dataset,
    version: r.version,
    kind: r.kind,
    status: r.status,
    acquisitionDate: r.acquisition_date,
    publishedAt: r.published_at ? r.published_at.toISOString() : null,
    campaign: r.campaign,
    contribution: r.contribution === null ? null : Number(r.contribution),
    item: r.item,
    current: r.status === 'published' && top.get(r.dataset) === r.priority,
  }));
}
