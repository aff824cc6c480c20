/**
 * Import of CNIG PCRS v2.0 GML files into the vector store: one pass per file that validates
 * (XSD by xmllint in parallel + CNIG rules, in a worker thread: gml-worker.ts) and loads the
 * rows at the same time (COPY), inside ONE database transaction per file. When the validation finds an error the transaction is rolled back: a
 * rejected or broken file leaves nothing behind. Geometries are transformed to EPSG:2154 in SQL,
 * the source CRS is kept per feature.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Catalog, Version } from '../catalog/catalog.js';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import type { Bbox } from '../grid/bbox.js';
import { sha256File } from '../util/hash.js';
import { UserError } from '../util/errors.js';
import type { ValidationReport } from './gml/report.js';
import { parseGmlForImportInWorker, type ImportParseResult } from './gml-worker.js';
import { FeatureWriter } from './store.js';

export interface ImportOptions {
  /** Version id (created by the caller with catalog.ensureVersion). */
  versionId: number;
  territoryBbox?: Bbox;
  territoryName?: string;
  /** srsName for geometries without any (e.g. the CNIG PCRS-INFO example). */
  defaultSrsName?: string;
  /** Run the XSD validation (default true). */
  xsd?: boolean;
  batchSize?: number;
}

export type FileImportStatus = 'imported' | 'rejected' | 'skipped';

export interface FileImportResult {
  file: string;
  status: FileImportStatus;
  importId?: number;
  features: number;
  byClass: Record<string, number>;
  report: ValidationReport | null;
  durationMs: number;
  /** Why a file was rejected or skipped. */
  reason?: string;
}

class RejectedFile extends Error {}

/** Imports one GML file into a version, in one transaction. Never leaves a partial import. */
export async function importGmlFile(db: Database, file: string, options: ImportOptions): Promise<FileImportResult> {
  const started = Date.now();
  const { sha256, bytes } = await sha256File(file);
  const already = await db.query<{ id: number; feature_count: number; by_class: Record<string, number> }>(
    'SELECT id, feature_count, by_class FROM vector_imports WHERE version_id = $1 AND sha256 = $2',
    [options.versionId, sha256],
  );
  const prev = already.rows[0];
  if (prev) {
    return {
      file,
      status: 'skipped',
      importId: Number(prev.id),
      features: prev.feature_count,
      byClass: prev.by_class,
      report: null,
      durationMs: Date.now() - started,
      reason: 'the same file (SHA-256) is already imported in this version',
    };
  }
  let report: ValidationReport | null = null;
  let importId = 0;
  let byClass: Record<string, number> = {};
  let count = 0;
  try {
    await db.transaction(async (tx) => {
      const ins = await tx.query<{ id: number }>(
        `INSERT INTO vector_imports (version_id, file_name, sha256, bytes, feature_count) VALUES ($1, $2, $3, $4, 0) RETURNING id`,
        [options.versionId, path.basename(file), sha256, bytes],
      );
      importId = Number(ins.rows[0]?.id);
      const writer = new FeatureWriter(tx, options.versionId, importId);
      let parsed: ImportParseResult;
      try {
        parsed = await parseGmlForImportInWorker(
          file,
          {
            versionId: options.versionId,
            importId,
            ...(options.territoryBbox ? { territoryBbox: [...options.territoryBbox] as [number, number, number, number] } : {}),
            ...(options.territoryName ? { territoryName: options.territoryName } : {}),
            ...(options.defaultSrsName ? { defaultSrsName: options.defaultSrsName } : {}),
            ...(options.xsd === false ? { xsd: false } : {}),
            ...(options.batchSize ? { insertBatch: options.batchSize } : {}),
          },
          (batch) => writer.write(batch),
        );
        report = parsed.report;
        byClass = parsed.byClass;
        count = parsed.count;
        if (!parsed.report.valid) throw new RejectedFile(`${parsed.report.summary.errors} validation error(s)`);
        await writer.flush();
      } catch (e) {
        // Nothing may still be running on the transaction when it rolls back.
        await writer.abandon();
        throw e;
      }
      const r = report as ValidationReport;
      await tx.query(`UPDATE vector_imports SET feature_count = $2, by_class = $3::jsonb, source_crs = $4::text[], report = $5::jsonb WHERE id = $1`, [
        importId,
        count,
        JSON.stringify(byClass),
        r.crs,
        JSON.stringify({ ...r, findings: r.findings.slice(0, 200) }),
      ]);
      // The area this file covers: its EmpriseEchangePCRS, else the hull of its features (computed
      // while reading when every geometry is in Lambert-93, else by PostGIS after the transformation).
      if (parsed.emprises > 0) {
        await tx.query(
          `INSERT INTO vector_areas (version_id, import_id, source, footprint)
           SELECT $1, $2, 'emprise', ST_Multi(ST_Union(ST_Force2D(geometry))) FROM vector_features
           WHERE import_id = $2 AND class = 'EmpriseEchangePCRS' AND geometry IS NOT NULL HAVING COUNT(*) > 0`,
          [options.versionId, importId],
        );
      } else if (parsed.hull) {
        await tx.query(`INSERT INTO vector_areas (version_id, import_id, source, footprint) VALUES ($1, $2, 'hull', ST_SetSRID(ST_GeomFromGeoJSON($3), 2154))`, [
          options.versionId,
          importId,
          JSON.stringify(parsed.hull),
        ]);
      } else {
        await tx.query(
          `INSERT INTO vector_areas (version_id, import_id, source, footprint)
           SELECT $1, $2, 'hull', ST_ConvexHull(ST_Collect(ST_Force2D(geometry))) FROM vector_features
           WHERE import_id = $2 AND geometry IS NOT NULL HAVING COUNT(*) > 0`,
          [options.versionId, importId],
        );
      }
    });
  } catch (e) {
    if (e instanceof RejectedFile) {
      return { file, status: 'rejected', features: 0, byClass, report, durationMs: Date.now() - started, reason: e.message };
    }
    if (e instanceof UserError) throw e;
    // A database error (e.g. a geometry PostGIS refuses): the transaction is rolled back.
    return {
      file,
      status: 'rejected',
      features: 0,
      byClass,
      report,
      durationMs: Date.now() - started,
      reason: `database refused the file: ${(e as Error).message}`,
    };
  }
  return { file, status: 'imported', importId, features: count, byClass, report, durationMs: Date.now() - started };
}

/** The GML files to import: the file itself, or every *.gml / *.xml below a directory (sorted). */
export async function listGmlFiles(target: string): Promise<string[]> {
  let st;
  try {
    st = await stat(target);
  } catch {
    throw new UserError('delivery-not-found', `${target} does not exist.`, { exitCode: 66 });
  }
  if (st.isFile()) return [target];
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.(gml|xml)$/i.test(e.name)) out.push(p);
    }
  };
  await walk(target);
  if (out.length === 0) throw new UserError('delivery-empty', `${target} holds no .gml file.`, { exitCode: 66 });
  return out;
}

/**
 * Imports GML files into a version of a vector dataset (created if needed), one transaction per
 * file, checked against the configured territory; publishes the version when at least one file
 * went in (unless `publish: false`). What `pcrs gml import` and the demo do.
 */
export async function importIntoVersion(
  ctx: { config: Config; db: Database; catalog: Catalog },
  files: string[],
  options: { datasetId?: string; versionName: string; kind?: 'full' | 'update'; date?: string; defaultSrsName?: string; publish?: boolean; onFile?: (r: FileImportResult) => void },
): Promise<{ version: Version; results: FileImportResult[] }> {
  const version = await ctx.catalog.ensureVersion({
    datasetId: options.datasetId ?? 'vector',
    name: options.versionName,
    kind: options.kind ?? 'full',
    ...(options.date ? { acquisitionDate: options.date } : {}),
  });
  const t = ctx.config.territory;
  const results: FileImportResult[] = [];
  for (const file of files) {
    const r = await importGmlFile(ctx.db, file, {
      versionId: version.id,
      territoryBbox: t.extent as Bbox,
      territoryName: `${t.name} (${t.code})`,
      ...(options.defaultSrsName ? { defaultSrsName: options.defaultSrsName } : {}),
    });
    results.push(r);
    options.onFile?.(r);
  }
  if (options.publish !== false && results.some((r) => r.status !== 'rejected')) await ctx.catalog.setVersionStatus(version.id, 'published');
  return { version, results };
}
