import type { Bbox } from '../grid/bbox.js';
import { UserError } from '../util/errors.js';
import type { Queryable } from '../db/database.js';
import { AssetStore } from './asset-store.js';

export type { Asset, AssetKind, AssetState, TierName } from './asset-store.js';

/** Catalogue access: datasets, versions, dalles and assets. Plain parameterised SQL, no ORM. */

export type DatasetKind = 'orthophoto' | 'vector' | 'raw-at' | 'business';
export type VersionStatus = 'ingesting' | 'published' | 'withdrawn';

export interface Dataset {
  id: string;
  kind: DatasetKind;
  title: string;
  description: string | null;
  licence: string | null;
  territory: string;
}

export interface Version {
  id: number;
  datasetId: string;
  name: string;
  kind: 'full' | 'update';
  campaign: string | null;
  acquisitionDate: string | null;
  status: VersionStatus;
  priority: number;
  description: string | null;
  createdAt: Date;
  publishedAt: Date | null;
  /** Where it comes from when a partner sent it (a contribution); null for the APLC's own acquisitions. */
  provenance: VersionProvenance | null;
}

/** A version made from a partner's contribution: what its served dalles and objects say of their origin. */
export interface VersionProvenance {
  contribution: number;
  organisation: string;
  producer: string | null;
  surveyedOn: string | null;
  title: string;
}

export interface Dalle {
  id: number;
  versionId: number;
  name: string;
  sizeM: 200 | 1000;
  gridCol: number;
  gridRow: number;
  bbox: Bbox;
  sourceCrs: string;
  acquisitionDate: string | null;
  state: string;
}


/** Well-known datasets every territory has; created on first use. */
export const STANDARD_DATASETS: ReadonlyArray<Omit<Dataset, 'territory'>> = [
  { id: 'ortho', kind: 'orthophoto', title: 'Orthophotographie PCRS 5 cm', description: 'Orthophotographie à 5 cm du Plan de Corps de Rue Simplifié.', licence: 'Licence Ouverte / Etalab 2.0' },
  { id: 'vector', kind: 'vector', title: 'PCRS vecteur (CNIG v2.0)', description: 'Levé vectoriel du corps de rue au standard CNIG PCRS v2.0.', licence: 'Licence Ouverte / Etalab 2.0' },
  { id: 'raw-at', kind: 'raw-at', title: 'Données brutes d’aérotriangulation', description: 'Images brutes et aérotriangulation, archivées (restauration sur demande).', licence: null },
];

interface VersionRow {
  id: number;
  dataset_id: string;
  name: string;
  kind: 'full' | 'update';
  campaign: string | null;
  acquisition_date: string | null;
  status: VersionStatus;
  priority: number;
  description: string | null;
  created_at: Date;
  published_at: Date | null;
  provenance: VersionProvenance | null;
}

const versionOf = (r: VersionRow): Version => ({
  id: r.id,
  datasetId: r.dataset_id,
  name: r.name,
  kind: r.kind,
  campaign: r.campaign,
  acquisitionDate: r.acquisition_date,
  status: r.status,
  priority: r.priority,
  description: r.description,
  createdAt: r.created_at,
  publishedAt: r.published_at,
  provenance: r.provenance ?? null,
});

interface DalleRow {
  id: number;
  version_id: number;
  name: string;
  size_m: 200 | 1000;
  grid_col: number;
  grid_row: number;
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
  source_crs: string;
  acquisition_date: string | null;
  state: string;
}

const DALLE_COLUMNS = `id, version_id, name, size_m, grid_col, grid_row, source_crs, acquisition_date, state,
  ST_XMin(footprint) AS xmin, ST_YMin(footprint) AS ymin, ST_XMax(footprint) AS xmax, ST_YMax(footprint) AS ymax`;

const dalleOf = (r: DalleRow): Dalle => ({
  id: r.id,
  versionId: r.version_id,
  name: r.name,
  sizeM: r.size_m,
  gridCol: r.grid_col,
  gridRow: r.grid_row,
  bbox: [r.xmin, r.ymin, r.xmax, r.ymax],
  sourceCrs: r.source_crs,
  acquisitionDate: r.acquisition_date,
  state: r.state,
});

/**
 * The published versions of a dataset as SQL (a subquery of `id, priority`, unordered), for queries
 * that need the rule inside SQL; `datasetParam` is the placeholder of the dataset id (e.g. `$1`).
 * The same rule as `Catalog.publishedVersions`, which also orders them (highest priority first).
 */
export function publishedVersionsSql(datasetParam: string): string {
  return `(SELECT id, priority FROM versions WHERE dataset_id = ${datasetParam} AND status = 'published')`;
}

export class Catalog {
  /** The store of the `assets` table (every stored object of every tier). */
  readonly assets: AssetStore;

  constructor(private readonly db: Queryable) {
    this.assets = new AssetStore(db);
  }

  /** The same catalogue bound to a transaction. */
  with(tx: Queryable): Catalog {
    return new Catalog(tx);
  }

  async ensureStandardDatasets(territory: string): Promise<void> {
    for (const d of STANDARD_DATASETS) {
      await this.db.query(
        // Raw aerotriangulation data and business data are restricted from the start (issue 10).
        `INSERT INTO datasets (id, kind, title, description, licence, territory, visibility)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $2::text IN ('raw-at', 'business') THEN 'restricted' ELSE 'public' END)
         ON CONFLICT (id) DO NOTHING`,
        [d.id, d.kind, d.title, d.description, d.licence, territory],
      );
    }
  }

  async listDatasets(): Promise<Dataset[]> {
    const { rows } = await this.db.query<Dataset>('SELECT id, kind, title, description, licence, territory FROM datasets ORDER BY id');
    return rows;
  }

  async getDataset(id: string): Promise<Dataset> {
    const { rows } = await this.db.query<Dataset>('SELECT id, kind, title, description, licence, territory FROM datasets WHERE id = $1', [id]);
    const row = rows[0];
    if (!row) throw new UserError('unknown-dataset', `Unknown dataset '${id}'.`, { status: 404, hint: 'List datasets with `pcrs versions` or GET /api/datasets.' });
    return row;
  }

  /** Creates the version if absent (same name ⇒ same version: re-running an ingest resumes it). */
  async ensureVersion(input: {
    datasetId: string;
    name: string;
    kind?: 'full' | 'update';
    acquisitionDate?: string | null;
    campaign?: string | null;
    description?: string | null;
  }): Promise<Version> {
    await this.getDataset(input.datasetId);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(input.name)) {
      throw new UserError('invalid-version-name', `Invalid version name '${input.name}': use letters, digits, '.', '_' or '-' (at most 63, starting with a letter or digit).`);
    }
    if (input.acquisitionDate && !/^\d{4}-\d{2}-\d{2}$/.test(input.acquisitionDate)) {
      throw new UserError('invalid-date', `Invalid date '${input.acquisitionDate}': expected YYYY-MM-DD.`);
    }
    // Priority: newer versions win. New versions go above every existing one (one sequence: two made
    // at the same moment never share a priority).
    await this.db.query(
      `INSERT INTO versions (dataset_id, name, kind, acquisition_date, campaign, description, priority)
       VALUES ($1, $2, $3, $4::date, $5, $6, nextval('versions_priority_seq'))
       ON CONFLICT (dataset_id, name) DO NOTHING`,
      [input.datasetId, input.name, input.kind ?? 'full', input.acquisitionDate ?? null, input.campaign ?? null, input.description ?? null],
    );
    return this.getVersion(input.datasetId, input.name);
  }

  async getVersion(datasetId: string, name: string): Promise<Version> {
    const { rows } = await this.db.query<VersionRow>('SELECT * FROM versions WHERE dataset_id = $1 AND name = $2', [datasetId, name]);
    const row = rows[0];
    if (!row) throw new UserError('unknown-version', `Dataset '${datasetId}' has no version '${name}'.`, { status: 404, hint: 'List versions with `pcrs versions`.' });
    return versionOf(row);
  }

  async getVersionById(id: number): Promise<Version> {
    const { rows } = await this.db.query<VersionRow>('SELECT * FROM versions WHERE id = $1', [id]);
    const row = rows[0];
    if (!row) throw new UserError('unknown-version', `No version with id ${id}.`, { status: 404 });
    return versionOf(row);
  }

  async listVersions(datasetId?: string): Promise<Array<Version & { dalleCount: number; coverageKm2: number }>> {
    const { rows } = await this.db.query<VersionRow & { dalle_count: number; coverage_m2: number | null }>(
      `SELECT v.*, COUNT(d.id)::int AS dalle_count, COALESCE(SUM(ST_Area(d.footprint)), 0) AS coverage_m2
       FROM versions v LEFT JOIN dalles d ON d.version_id = v.id
       WHERE $1::text IS NULL OR v.dataset_id = $1
       GROUP BY v.id ORDER BY v.dataset_id, v.priority DESC`,
      [datasetId ?? null],
    );
    return rows.map((r) => ({ ...versionOf(r), dalleCount: r.dalle_count, coverageKm2: Number(r.coverage_m2 ?? 0) / 1e6 }));
  }

  /**
   * The published versions of a dataset, highest priority first: the order in which they win where
   * they overlap (the current PCRS). The one statement of that rule; SQL uses `publishedVersionsSql`.
   */
  async publishedVersions(datasetId: string): Promise<Version[]> {
    const { rows } = await this.db.query<VersionRow>(`SELECT v.* FROM ${publishedVersionsSql('$1')} p JOIN versions v ON v.id = p.id ORDER BY p.priority DESC`, [datasetId]);
    return rows.map(versionOf);
  }

  /** Records where a version comes from (before it is published, so that it never serves without it). */
  async setVersionProvenance(versionId: number, provenance: VersionProvenance, description: string): Promise<void> {
    await this.db.query(`UPDATE versions SET provenance = $2, description = $3 WHERE id = $1`, [versionId, JSON.stringify(provenance), description]);
  }

  /**
   * Puts an unpublished version above every other of its dataset (newer versions win): a version
   * built ahead of its publication (a contribution staged for review) wins as of when it is published.
   */
  async raiseVersionToTop(versionId: number): Promise<void> {
    await this.db.query(
      `UPDATE versions v SET priority = nextval('versions_priority_seq') WHERE v.id = $1 AND v.status <> 'published'
         AND v.priority < (SELECT MAX(priority) FROM versions o WHERE o.dataset_id = v.dataset_id)`,
      [versionId],
    );
  }

  async setVersionStatus(versionId: number, status: VersionStatus): Promise<void> {
    await this.db.query(
      `UPDATE versions SET status = $2, published_at = CASE WHEN $2 = 'published' THEN COALESCE(published_at, now()) ELSE published_at END WHERE id = $1`,
      [versionId, status],
    );
  }

  /** Registers (or updates) a dalle of a version. Same grid cell in the same version ⇒ same row. */
  async upsertDalle(input: {
    versionId: number;
    name: string;
    sizeM: 200 | 1000;
    gridCol: number;
    gridRow: number;
    /** Lambert-93 bbox; the footprint unless `footprintRing` is given. */
    bbox: Bbox;
    footprintRing?: Array<[number, number]>;
    sourceCrs?: string;
    acquisitionDate?: string | null;
    state?: string;
    validation?: unknown;
  }): Promise<Dalle> {
    const [xmin, ymin, xmax, ymax] = input.bbox;
    // A dalle delivered in a CC zone is a rotated quadrilateral in Lambert-93: its exact ring.
    const ring = input.footprintRing ? JSON.stringify({ type: 'Polygon', coordinates: [input.footprintRing] }) : null;
    const { rows } = await this.db.query<DalleRow>(
      `INSERT INTO dalles (version_id, name, size_m, grid_col, grid_row, footprint, source_crs, acquisition_date, state, validation)
       VALUES ($1, $2, $3, $4, $5, COALESCE(ST_SetSRID(ST_GeomFromGeoJSON($14::text), 2154), ST_MakeEnvelope($6, $7, $8, $9, 2154)),
               $10, $11::date, $12, $13::jsonb)
       ON CONFLICT (version_id, source_crs, size_m, grid_col, grid_row) DO UPDATE SET
         name = EXCLUDED.name, footprint = EXCLUDED.footprint, source_crs = EXCLUDED.source_crs,
         acquisition_date = EXCLUDED.acquisition_date, state = EXCLUDED.state, validation = EXCLUDED.validation, updated_at = now()
       RETURNING ${DALLE_COLUMNS}`,
      [
        input.versionId,
        input.name,
        input.sizeM,
        input.gridCol,
        input.gridRow,
        xmin,
        ymin,
        xmax,
        ymax,
        input.sourceCrs ?? 'EPSG:2154',
        input.acquisitionDate ?? null,
        input.state ?? 'registered',
        input.validation === undefined ? null : JSON.stringify(input.validation),
        ring,
      ],
    );
    return dalleOf(rows[0] as DalleRow);
  }

  /** Takes a dalle out of its version (its masters stay): the pyramid and the services leave it out. */
  async withdrawDalle(dalleId: number): Promise<void> {
    await this.db.query(`UPDATE dalles SET state = 'withdrawn', updated_at = now() WHERE id = $1`, [dalleId]);
  }

  async findDalle(versionId: number, sourceCrs: string, sizeM: number, gridCol: number, gridRow: number): Promise<Dalle | null> {
    const { rows } = await this.db.query<DalleRow>(
      `SELECT ${DALLE_COLUMNS} FROM dalles WHERE version_id = $1 AND source_crs = $2 AND size_m = $3 AND grid_col = $4 AND grid_row = $5`,
      [versionId, sourceCrs, sizeM, gridCol, gridRow],
    );
    return rows[0] ? dalleOf(rows[0]) : null;
  }

  /** A dalle of a version by its name (IGN pattern), or null. */
  async getDalleByName(versionId: number, name: string): Promise<Dalle | null> {
    const { rows } = await this.db.query<DalleRow>(`SELECT ${DALLE_COLUMNS} FROM dalles WHERE version_id = $1 AND name = $2 ORDER BY id LIMIT 1`, [versionId, name]);
    return rows[0] ? dalleOf(rows[0]) : null;
  }

  /** Dalles of a version, optionally intersecting a Lambert-93 bbox (uses the spatial index). */
  async listDalles(options: { versionId?: number; bbox?: Bbox; limit?: number; offset?: number } = {}): Promise<Dalle[]> {
    const bbox = options.bbox ?? null;
    const { rows } = await this.db.query<DalleRow>(
      `SELECT ${DALLE_COLUMNS} FROM dalles
       WHERE ($1::bigint IS NULL OR version_id = $1)
         AND ($2::float8 IS NULL OR footprint && ST_MakeEnvelope($2, $3, $4, $5, 2154))
       ORDER BY version_id, grid_row DESC, grid_col, size_m
       LIMIT $6 OFFSET $7`,
      [options.versionId ?? null, bbox?.[0] ?? null, bbox?.[1] ?? null, bbox?.[2] ?? null, bbox?.[3] ?? null, options.limit ?? 100_000, options.offset ?? 0],
    );
    return rows.map(dalleOf);
  }

  /** Totals for the health page and the portal's home. */
  async summary(): Promise<{ datasets: number; versions: number; dalles: number; assets: number; storedBytes: number }> {
    const { rows } = await this.db.query<{ datasets: number; versions: number; dalles: number }>(
      `SELECT (SELECT COUNT(*)::int FROM datasets) AS datasets, (SELECT COUNT(*)::int FROM versions) AS versions,
              (SELECT COUNT(*)::int FROM dalles) AS dalles`,
    );
    const r = rows[0] as { datasets: number; versions: number; dalles: number };
    const stored = await this.assets.storedTotals();
    return { datasets: r.datasets, versions: r.versions, dalles: r.dalles, assets: stored.count, storedBytes: stored.bytes };
  }
}
