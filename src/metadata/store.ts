import type { Bbox } from '../grid/bbox.js';
import type { Queryable } from '../db/database.js';

/**
 * What the metadata is made of, read from the catalogue: extents, dalles with their masters,
 * ingest jobs and vector imports. Read-only: the tables belong to the catalogue, jobs and vector
 * stores, which alone write them; this module only reads what it publishes.
 */

export interface VersionFacts {
  versionId: number;
  /** Lambert-93 extent of the data (dalles, or vector areas), null when empty. */
  bbox: Bbox | null;
  dalleCount: number;
  dalleSizes: number[];
  sourceCrs: string[];
  /** Earliest and latest dalle acquisition dates (YYYY-MM-DD). */
  firstAcquisition: string | null;
  lastAcquisition: string | null;
  masters: { count: number; bytes: number; formats: string[]; firstStored: Date | null; lastStored: Date | null };
  ingests: Array<{ finishedAt: Date; files: number; ok: number; warning: number; rejected: number }>;
  vectorImports: Array<{ fileName: string; features: number; importedAt: Date; sourceCrs: string[] }>;
}

export interface DalleEntry {
  id: number;
  name: string;
  sizeM: number;
  /** Lambert-93 bbox and footprint ring (a CC-zone delivery is a rotated quadrilateral). */
  bbox: Bbox;
  ring: Array<[number, number]>;
  sourceCrs: string;
  acquisitionDate: string | null;
  master: { sha256: string; bytes: number; location: string } | null;
}

const num = (v: unknown): number => Number(v);
const bboxOf = (r: { xmin: unknown; ymin: unknown; xmax: unknown; ymax: unknown }): Bbox | null =>
  r.xmin === null || r.xmin === undefined ? null : [num(r.xmin), num(r.ymin), num(r.xmax), num(r.ymax)];
const dateText = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));

export class MetadataStore {
  constructor(private readonly db: Queryable) {}

  /** Facts of each version (same order as the ids). */
  async versionFacts(datasetId: string, versions: ReadonlyArray<{ id: number; name: string }>): Promise<Map<number, VersionFacts>> {
    const ids = versions.map((v) => v.id);
    const out = new Map<number, VersionFacts>();
    if (ids.length === 0) return out;
    const dalles = await this.db.query<Record<string, unknown>>(
      `SELECT version_id, COUNT(*)::int AS n, array_agg(DISTINCT size_m) AS sizes, array_agg(DISTINCT source_crs) AS crs,
              MIN(acquisition_date)::text AS first_acq, MAX(acquisition_date)::text AS last_acq,
              ST_XMin(ST_Extent(footprint)) AS xmin, ST_YMin(ST_Extent(footprint)) AS ymin, ST_XMax(ST_Extent(footprint)) AS xmax, ST_YMax(ST_Extent(footprint)) AS ymax
       FROM dalles WHERE version_id = ANY($1::bigint[]) AND state <> 'withdrawn' GROUP BY version_id`,
      [ids],
    );
    // One stored master per dalle (the intermediate copy and the NAS copy are the same bytes).
    const masters = await this.db.query<Record<string, unknown>>(
      `SELECT version_id, COUNT(*)::int AS n, COALESCE(SUM(bytes), 0)::float8 AS bytes, array_agg(DISTINCT lower(substring(location from '\\.([A-Za-z0-9]+)$'))) AS exts,
              MIN(created_at) AS first_stored, MAX(created_at) AS last_stored
       FROM (SELECT DISTINCT ON (dalle_id) version_id, bytes, location, created_at FROM assets
             WHERE version_id = ANY($1::bigint[]) AND kind = 'master' AND state = 'stored' AND dalle_id IS NOT NULL ORDER BY dalle_id, id) m
       GROUP BY version_id`,
      [ids],
    );
    const areas = await this.db.query<Record<string, unknown>>(
      `SELECT version_id, ST_XMin(ST_Extent(footprint)) AS xmin, ST_YMin(ST_Extent(footprint)) AS ymin, ST_XMax(ST_Extent(footprint)) AS xmax, ST_YMax(ST_Extent(footprint)) AS ymax
       FROM vector_areas WHERE version_id = ANY($1::bigint[]) GROUP BY version_id`,
      [ids],
    );
    const imports = await this.db.query<Record<string, unknown>>(
      `SELECT version_id, file_name, feature_count, imported_at, source_crs FROM vector_imports WHERE version_id = ANY($1::bigint[]) ORDER BY imported_at, id`,
      [ids],
    );
    const jobs = await this.db.query<Record<string, unknown>>(
      `SELECT params->>'version' AS version, finished_at, result->'summary' AS summary FROM jobs
       WHERE kind = 'ingest' AND state = 'succeeded' AND params->>'dataset' = $1 AND params->>'version' = ANY($2::text[]) ORDER BY finished_at, id`,
      [datasetId, versions.map((v) => v.name)],
    );
    for (const v of versions) {
      out.set(v.id, {
        versionId: v.id,
        bbox: null,
        dalleCount: 0,
        dalleSizes: [],
        sourceCrs: [],
        firstAcquisition: null,
        lastAcquisition: null,
        masters: { count: 0, bytes: 0, formats: [], firstStored: null, lastStored: null },
        ingests: [],
        vectorImports: [],
      });
    }
    const facts = (id: unknown) => out.get(num(id)) as VersionFacts;
    for (const r of dalles.rows) {
      const f = facts(r.version_id);
      f.dalleCount = num(r.n);
      f.dalleSizes = ((r.sizes as number[]) ?? []).map(num).sort((a, b) => a - b);
      f.sourceCrs = ((r.crs as string[]) ?? []).sort();
      f.firstAcquisition = dateText(r.first_acq);
      f.lastAcquisition = dateText(r.last_acq);
      f.bbox = bboxOf(r as never);
    }
    for (const r of masters.rows) {
      const f = facts(r.version_id);
      f.masters = {
        count: num(r.n),
        bytes: num(r.bytes),
        formats: ((r.exts as Array<string | null>) ?? []).filter((e): e is string => !!e).sort(),
        firstStored: r.first_stored ? new Date(r.first_stored as string) : null,
        lastStored: r.last_stored ? new Date(r.last_stored as string) : null,
      };
    }
    for (const r of areas.rows) {
      const f = facts(r.version_id);
      f.bbox ??= bboxOf(r as never);
    }
    for (const r of imports.rows) {
      facts(r.version_id).vectorImports.push({ fileName: String(r.file_name), features: num(r.feature_count), importedAt: new Date(r.imported_at as string), sourceCrs: (r.source_crs as string[]) ?? [] });
    }
    const byName = new Map(versions.map((v) => [v.name, v.id]));
    for (const r of jobs.rows) {
      const id = byName.get(String(r.version));
      if (id === undefined || !r.finished_at) continue;
      const s = (r.summary ?? {}) as Record<string, unknown>;
      facts(id).ingests.push({ finishedAt: new Date(r.finished_at as string), files: num(s.files ?? 0), ok: num(s.ok ?? 0), warning: num(s.warning ?? 0), rejected: num(s.rejected ?? 0) });
    }
    return out;
  }

  /** A page of the dalles of a version with their stored master (grid order: north to south, west to east). */
  async dalles(versionId: number, options: { limit: number; offset: number; name?: string }): Promise<{ dalles: DalleEntry[]; total: number }> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT d.id, d.name, d.size_m, d.source_crs, d.acquisition_date::text AS acq, ST_AsGeoJSON(d.footprint, 3) AS ring,
              ST_XMin(d.footprint) AS xmin, ST_YMin(d.footprint) AS ymin, ST_XMax(d.footprint) AS xmax, ST_YMax(d.footprint) AS ymax,
              m.sha256, m.bytes, m.location, COUNT(*) OVER ()::int AS total
       FROM dalles d
       LEFT JOIN LATERAL (SELECT sha256, bytes, location FROM assets a WHERE a.dalle_id = d.id AND a.kind = 'master' AND a.state = 'stored' AND a.sha256 IS NOT NULL
                          ORDER BY (a.tier = 'intermediate') DESC, a.id LIMIT 1) m ON true
       WHERE d.version_id = $1 AND d.state <> 'withdrawn' AND ($4::text IS NULL OR d.name = $4)
       ORDER BY d.grid_row DESC, d.grid_col, d.size_m, d.id
       LIMIT $2 OFFSET $3`,
      [versionId, options.limit, options.offset, options.name ?? null],
    );
    let total = rows[0] ? num(rows[0].total) : 0;
    if (rows.length === 0 && options.offset > 0) {
      const c = await this.db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM dalles WHERE version_id = $1 AND state <> 'withdrawn'`, [versionId]);
      total = num(c.rows[0]?.n ?? 0);
    }
    return {
      total,
      dalles: rows.map((r) => ({
        id: num(r.id),
        name: String(r.name),
        sizeM: num(r.size_m),
        bbox: bboxOf(r as never) as Bbox,
        ring: ((JSON.parse(String(r.ring)) as { coordinates: Array<Array<[number, number]>> }).coordinates[0] ?? []).map(([x, y]) => [x, y] as [number, number]),
        sourceCrs: String(r.source_crs),
        acquisitionDate: dateText(r.acq),
        master: r.sha256 ? { sha256: String(r.sha256), bytes: num(r.bytes), location: String(r.location) } : null,
      })),
    };
  }
}
