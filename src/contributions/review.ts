import { createHash } from 'node:crypto';
import path from 'node:path';
import type { AppContext } from '../context/app-context.js';
import { runJob } from '../jobs/run-job.js';
import { UserError } from '../util/errors.js';
import { createScratchDir } from '../util/scratch.js';
import { execTool } from '../util/exec.js';
import { importIntoVersion } from '../vector/import.js';
import { queryFeatures, VECTOR_DATASET } from '../vector/store.js';
import { diffFeatures, objectKey, type VectorDiff } from '../vector/diff.js';
import type { VersionProvenance } from '../catalog/catalog.js';
import type { Contribution, ContributionFile, ContributionStore } from './store.js';

/** What the review needs of the contributions' service (which it serves: no import back). */
export interface ReviewHost {
  readonly store: ContributionStore;
  materialise(files: readonly ContributionFile[], dir: string): Promise<string[]>;
  provenanceOf(c: Contribution): VersionProvenance;
  descriptionOf(c: Contribution): string;
}

/**
 * What a moderator looks at before deciding (issue 12, "before/after"):
 * - vector: the contribution staged as its unpublished update version (`contribution-<id>`, the
 *   version its publication then switches on), compared with the objects of the current PCRS it would
 *   replace — matched by identifier (idObjet, idHabillage, else gml:id) within a class: added,
 *   removed, changed (attributes before/after, geometry moved) and unchanged;
 * - raster: a JPEG preview of each dalle with its Lambert-93 extent, to swipe over the current layer;
 * - a partial acceptance: the objects (or dalles) kept, the rest left as it is in the current PCRS.
 */

export const STAGE_JOB = 'contributions.stage';
/** Most objects listed per kind of change (counts stay exact). */
/** Around accepted objects, the area a partial acceptance replaces (5 cm: the PCRS's finest precision class). */
const PARTIAL_MARGIN_M = 0.05;

/** The same key in SQL (alias `f`). */
const KEY_SQL = `f.class || ':' || COALESCE(f.id_objet, f.attributes->>'idHabillage', f.gml_id, '')`;


export class ContributionReview {
  constructor(
    readonly ctx: AppContext,
    readonly service: ReviewHost,
  ) {}

  /**
   * Imports a valid vector contribution into its unpublished update version (once per set of files:
   * a persistent job keyed by their SHA-256; imports of files replaced since are dropped). Readers
   * never see it: unpublished versions are restricted to the operator.
   */
  async stageVector(c: Contribution): Promise<number> {
    if (c.kind !== 'vector') throw new UserError('not-vector', `Contribution ${c.id} is not a vector contribution.`, { status: 400 });
    const files = await this.service.store.files(c.id);
    if (files.length === 0 || files.some((f) => f.status === 'pending' || f.status === 'rejected')) {
      throw new UserError('not-valid', `Contribution ${c.id} is ${c.state}: its files must all pass their checks before it is compared.`, { status: 409 });
    }
    const fingerprint = createHash('sha256').update(files.map((f) => f.sha256 ?? f.location).sort().join(',')).digest('hex').slice(0, 32);
    const job = await this.ctx.jobs.findOrCreate(STAGE_JOB, `${STAGE_JOB}:${c.id}:${fingerprint}`, { contribution: c.id });
    const versionId = await runJob(this.ctx.jobs, job, () => this.stageNow(c, files));
    // A version discarded since (a rejected contribution) is not staged any more.
    await this.ctx.catalog.getVersionById(versionId);
    return versionId;
  }

  private async stageNow(c: Contribution, files: ContributionFile[]): Promise<number> {
    const scratch = await createScratchDir(path.join(this.ctx.config.dataDir, 'tmp', 'contributions'));
    try {
      const paths = await this.service.materialise(files, scratch.dir);
      const versionName = `contribution-${c.id}`;
      const made = await this.ctx.catalog.ensureVersion({ datasetId: VECTOR_DATASET, name: versionName, kind: 'update', acquisitionDate: c.surveyedOn });
      if (made.status === 'published') throw new UserError('already-published', `Contribution ${c.id} is already published.`, { status: 409 });
      await this.ctx.catalog.setVersionProvenance(made.id, this.service.provenanceOf(c), this.service.descriptionOf(c));
      const { version, results } = await importIntoVersion(this.ctx, paths, { versionName, kind: 'update', publish: false, ...(c.surveyedOn ? { date: c.surveyedOn } : {}) });
      const rejected = results.filter((r) => r.status === 'rejected');
      if (rejected.length) throw new Error(`${rejected.length} file(s) of contribution ${c.id} were refused by the import: ${rejected.map((r) => r.reason).join('; ')}`);
      // Files replaced since an earlier staging: their imports go (features and areas cascade).
      const kept = results.map((r) => r.importId).filter((id): id is number => id !== undefined);
      await this.ctx.db.query(`DELETE FROM vector_imports WHERE version_id = $1 AND NOT (id = ANY($2::bigint[]))`, [version.id, kept]);
      return version.id;
    } finally {
      await scratch.remove();
    }
  }

  /** The before/after of a vector contribution against the current PCRS. */
  async vectorDiff(c: Contribution): Promise<VectorDiff> {
    const staged = await this.stageVector(c);
    const common = { datasetId: VECTOR_DATASET, outSrid: 2154 as const, decimals: 3 };
    const [after, before, area] = await Promise.all([
      queryFeatures(this.ctx.db, { ...common, versionId: staged }),
      queryFeatures(this.ctx.db, { ...common, replacedBy: staged }),
      this.ctx.db.query<{ g: string | null }>(`SELECT ST_AsGeoJSON(ST_Union(footprint), 3) AS g FROM vector_areas WHERE version_id = $1`, [staged]),
    ]);
    return diffFeatures(`contribution-${c.id}`, after, before, JSON.parse(area.rows[0]?.g ?? 'null'));
  }

  /**
   * Keeps only these objects of the staged version (keys: added or changed objects to publish,
   * removed ones whose removal is accepted); what it then replaces is 5 cm around the kept objects
   * and around the current objects they replace or remove — the rest of the current PCRS stays.
   */
  async keepOnly(c: Contribution, versionId: number, keys: readonly string[]): Promise<{ kept: number }> {
    const current = await queryFeatures(this.ctx.db, { datasetId: VECTOR_DATASET, replacedBy: versionId, outSrid: 2154, decimals: 3 });
    const wanted = new Set(keys);
    const replaced = current.filter((f) => f.geometry && wanted.has(objectKey(f))).map((f) => f.geometry as string);
    return this.ctx.db.transaction(async (tx) => {
      await tx.query(`DELETE FROM vector_features f WHERE f.version_id = $1 AND f.geometry IS NOT NULL AND NOT (${KEY_SQL} = ANY($2::text[]))`, [versionId, [...wanted]]);
      const { rows } = await tx.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM vector_features WHERE version_id = $1 AND geometry IS NOT NULL`, [versionId]);
      const kept = rows[0]?.n ?? 0;
      if (kept === 0 && replaced.length === 0) throw new UserError('empty-selection', `None of the chosen objects is in contribution ${c.id}: choose at least one.`, { status: 400 });
      await tx.query(`DELETE FROM vector_areas WHERE version_id = $1`, [versionId]);
      await tx.query(
        `INSERT INTO vector_areas (version_id, import_id, source, footprint)
         SELECT $1, (SELECT MIN(id) FROM vector_imports WHERE version_id = $1), 'hull', ST_Multi(ST_Union(ST_Buffer(g, $3)))
         FROM (SELECT ST_Force2D(geometry) AS g FROM vector_features WHERE version_id = $1 AND geometry IS NOT NULL
               UNION ALL SELECT ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(x), 2154)) FROM unnest($2::text[]) AS x) parts
         HAVING COUNT(*) > 0`,
        [versionId, replaced, PARTIAL_MARGIN_M],
      );
      return { kept };
    });
  }

  /** A rejected contribution's staged version goes (unpublished: nobody ever read it). */
  async discardStaged(c: Contribution): Promise<void> {
    await this.ctx.db.query(`DELETE FROM versions WHERE dataset_id = $1 AND name = $2 AND status <> 'published'`, [VECTOR_DATASET, `contribution-${c.id}`]);
  }

  /**
   * A JPEG preview of a contribution's dalle (at most 2048 px a side, its extent in Lambert-93 from
   * the validation), made once and kept in the intermediate tier beside the file.
   */
  async rasterPreview(c: Contribution, f: ContributionFile): Promise<{ key: string; bbox: [number, number, number, number] }> {
    const report = f.report as { bbox2154?: [number, number, number, number] | null } | null;
    if (c.kind !== 'raster' || f.status === 'pending' || f.status === 'rejected' || !report?.bbox2154) {
      throw new UserError('no-preview', `The file ${f.name} has no preview: only a dalle that passed its checks has one.`, { status: 409 });
    }
    const tier = this.ctx.tiers.intermediate;
    const key = `${f.location}.preview.jpg`;
    if (!(await tier.head(key))) {
      const scratch = await createScratchDir(path.join(this.ctx.config.dataDir, 'tmp', 'contributions'));
      try {
        const [source] = await this.service.materialise([f], scratch.dir);
        const out = path.join(scratch.dir, 'preview.jpg');
        // Warped to Lambert-93 (a dalle may come in a CC zone), 2048 px at most, JPEG.
        const vrt = path.join(scratch.dir, 'l93.vrt');
        const warp = await execTool('gdalwarp', ['-q', '-of', 'VRT', '-t_srs', 'EPSG:2154', '-te', ...report.bbox2154.map(String), '-ts', '2048', '0', source as string, vrt], { timeoutMs: 120_000 });
        if (warp.code !== 0) throw new Error(`gdalwarp: ${warp.stderr.slice(0, 300)}`);
        const r = await execTool('gdal_translate', ['-q', '-of', 'JPEG', '-b', '1', '-b', '2', '-b', '3', '-co', 'QUALITY=85', vrt, out], { timeoutMs: 120_000 });
        if (r.code !== 0) throw new Error(`gdal_translate: ${r.stderr.slice(0, 300)}`);
        await tier.put(key, { file: out });
      } finally {
        await scratch.remove();
      }
    }
    return { key, bbox: report.bbox2154 };
  }
}
