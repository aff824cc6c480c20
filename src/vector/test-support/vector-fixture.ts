/** Helpers for the vector tests: fixtures, ogrinfo counts, a database with an imported version. */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Catalog } from '../../catalog/catalog.js';
import type { Database } from '../../db/database.js';
import { gdal } from '../../test-support/gdal.js';
import { importGmlFile, type FileImportResult } from '../import.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));
export const LYON_FILES = [
  '20200716.RIL_L260_C340_P0.gml',
  '20200716.RIL_L260_C341_P0.gml',
  '20200716.RIL_L262_C335_P0.gml',
  '20200716.RIL_L262_C336_P0.gml',
];
/** Lambert-93 box around the Lyon fixtures (the territory of these tests). */
export const LYON_BBOX: [number, number, number, number] = [790000, 6500000, 900000, 6600000];

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** Feature count per layer as GDAL reads it (`ogrinfo -so -al`), on a copy (GDAL writes a .gfs). */
export async function ogrCounts(file: string): Promise<Record<string, number>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-ogr-'));
  const copy = path.join(dir, path.basename(file));
  copyFileSync(file, copy);
  const out = await gdal('ogrinfo', ['-ro', '-so', '-al', copy]);
  const counts: Record<string, number> = {};
  let layer = '';
  for (const line of out.split('\n')) {
    const l = /^Layer name: (.+)$/.exec(line);
    if (l) layer = (l[1] as string).trim();
    const c = /^Feature Count: (\d+)/.exec(line);
    if (c && layer) counts[layer] = Number(c[1]);
  }
  return counts;
}

/** Creates a published version and imports the given files into it. */
export async function importVersion(db: Database, name: string, files: string[], options: { defaultSrsName?: string; territoryBbox?: [number, number, number, number] | null } = {}): Promise<{ versionId: number; results: FileImportResult[] }> {
  const catalog = new Catalog(db);
  await catalog.ensureStandardDatasets('46');
  const v = await catalog.ensureVersion({ datasetId: 'vector', name });
  const results: FileImportResult[] = [];
  for (const f of files) results.push(await importGmlFile(db, f, {
      versionId: v.id,
      ...(options.territoryBbox === null ? {} : { territoryBbox: options.territoryBbox ?? LYON_BBOX }),
      ...(options.defaultSrsName ? { defaultSrsName: options.defaultSrsName } : {}),
    }));
  await catalog.setVersionStatus(v.id, 'published');
  return { versionId: v.id, results };
}
