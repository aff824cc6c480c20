import { createReadStream } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { ProgressReporter } from '../cli/progress.js';
import type { AppContext } from '../context/app-context.js';
import { execTool } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { referenceOf } from './reference.js';
import { CommuneStore } from './store.js';

/**
 * Commune outlines from IGN's ADMIN EXPRESS (or any file GDAL reads with an INSEE code per
 * polygon): ogr2ogr keeps what intersects the territory's extent and writes GeoJSONSeq (always
 * WGS84, RFC 8142: 8 decimals ≈ 1 mm), read line by line; each outline is stored on its commune in
 * Lambert-93 by PostGIS, in one transaction (all or nothing).
 */

/** Attribute names that hold the INSEE code, in ADMIN EXPRESS and in the usual other sources. */
export const INSEE_FIELDS = ['INSEE_COM', 'insee_com', 'CODE_INSEE', 'code_insee', 'INSEE', 'insee', 'codgeo', 'CODGEO', 'code'] as const;

/** GeoJSONSeq may start records with RS (RFC 8142). */
const RECORD_SEPARATOR = '\u001e';

export interface OutlineImportReport {
  file: string;
  layer: string;
  /** Polygons read in the territory's extent. */
  read: number;
  updated: number;
  /** Codes of other départements (neighbours overlapping the extent): skipped. */
  otherDepartement: number;
  /** Codes of the territory that the reference does not know (merged or renamed communes). */
  unknown: string[];
  /** Polygons without an INSEE code in the attribute used. */
  withoutCode: number;
  /** Polygons with no area once made valid. */
  empty: string[];
  /** Communes of the territory still without an outline after the import. */
  stillMissing: Array<{ insee: string; name: string }>;
}

/** Loads (or refreshes) the territory's communes and EPCI from the maintained reference package. */
export async function loadReference(ctx: Pick<AppContext, 'db' | 'config'>): Promise<{ communes: number; epcis: number }> {
  const ref = await referenceOf(ctx.config.territory.code);
  if (ref.communes.length === 0) {
    throw new UserError('unknown-departement', `The reference lists no commune for the département '${ctx.config.territory.code}'.`, { hint: 'Check territory.code in the configuration.', exitCode: 2 });
  }
  await new CommuneStore(ctx.db).upsertReference(ref);
  return { communes: ref.communes.length, epcis: ref.epcis.length };
}

async function layersOf(file: string): Promise<string[]> {
  const res = await execTool('ogrinfo', ['-ro', '-q', file], { timeoutMs: 120_000 });
  if (res.code !== 0) {
    throw new UserError('unreadable-file', `GDAL cannot read ${path.basename(file)} as a vector file.`, { hint: 'Give an ADMIN EXPRESS GeoPackage or Shapefile (with its .prj), or any vector file GDAL reads.', exitCode: 2 });
  }
  // "1: commune (Multi Polygon)" or "1: commune"
  return res.stdout
    .split('\n')
    .map((l) => /^\s*\d+: (.+?)(?: \([^)]*\))?\s*$/.exec(l)?.[1])
    .filter((l): l is string => Boolean(l));
}

/** Whether the layer says its coordinate system (a Shapefile without its .prj does not). */
async function hasCrs(file: string, layer: string): Promise<boolean> {
  const res = await execTool('ogrinfo', ['-ro', '-so', file, layer], { timeoutMs: 120_000 });
  return res.code === 0 && !/Layer SRS WKT:\s*\n\(unknown\)/.test(res.stdout);
}

function chooseLayer(file: string, layers: readonly string[], wanted: string | undefined): string {
  if (wanted !== undefined) {
    if (!layers.includes(wanted)) throw new UserError('unknown-layer', `${path.basename(file)} has no layer '${wanted}' (it has: ${layers.join(', ')}).`, { exitCode: 2 });
    return wanted;
  }
  if (layers.length === 1) return layers[0] as string;
  const commune = layers.find((l) => l.toLowerCase() === 'commune');
  if (commune) return commune;
  throw new UserError('which-layer', `${path.basename(file)} has several layers (${layers.join(', ')}): say which with --layer.`, { exitCode: 2 });
}

export async function importOutlines(
  ctx: Pick<AppContext, 'db' | 'config'>,
  file: string,
  options: { layer?: string; inseeField?: string; progress?: ProgressReporter } = {},
): Promise<OutlineImportReport> {
  try {
    await access(file);
  } catch {
    throw new UserError('file-not-found', `There is no readable file ${path.basename(file)}.`, { exitCode: 2 });
  }
  const store = new CommuneStore(ctx.db);
  if ((await store.count()).communes === 0) await loadReference(ctx);
  const layer = chooseLayer(file, await layersOf(file), options.layer);
  if (!(await hasCrs(file, layer))) {
    throw new UserError('no-crs', `The layer '${layer}' of ${path.basename(file)} has no coordinate system.`, { hint: 'A Shapefile needs its .prj beside it; ADMIN EXPRESS ships one.', exitCode: 2 });
  }
  const territory = ctx.config.territory;
  const dir = await mkdtemp(path.join(tmpdir(), 'pcrs-communes-'));
  try {
    const seq = path.join(dir, 'communes.geojsons');
    const [xmin, ymin, xmax, ymax] = territory.extent;
    const res = await execTool(
      'ogr2ogr',
      ['-f', 'GeoJSONSeq', seq, file, layer, '-nlt', 'PROMOTE_TO_MULTI', '-spat', String(xmin), String(ymin), String(xmax), String(ymax), '-spat_srs', 'EPSG:2154', '-lco', 'COORDINATE_PRECISION=8'],
      { timeoutMs: 30 * 60_000 },
    );
    if (res.code !== 0) {
      throw new UserError('conversion-failed', `ogr2ogr could not read the layer '${layer}' of ${path.basename(file)}.`, { hint: res.stderr.trim().split('\n').slice(-2).join(' ').replaceAll(dir, '…').slice(0, 300), exitCode: 2 });
    }
    const report: OutlineImportReport = { file: path.basename(file), layer, read: 0, updated: 0, otherDepartement: 0, unknown: [], withoutCode: 0, empty: [], stillMissing: [] };
    let field = options.inseeField;
    await ctx.db.transaction(async (tx) => {
      const lines = createInterface({ input: createReadStream(seq, 'utf8'), crlfDelay: Infinity });
      for await (const line of lines) {
        if (!line.trim()) continue;
        const feature = JSON.parse(line.startsWith(RECORD_SEPARATOR) ? line.slice(1) : line) as { properties?: Record<string, unknown>; geometry?: unknown };
        report.read++;
        const props = feature.properties ?? {};
        if (field === undefined) {
          field = INSEE_FIELDS.find((f) => typeof props[f] === 'string' || typeof props[f] === 'number');
          if (field === undefined) {
            throw new UserError('no-insee-field', `The layer '${layer}' has none of the attributes ${INSEE_FIELDS.join(', ')}: say which holds the INSEE code with --insee-field.`, { hint: `Its attributes: ${Object.keys(props).join(', ').slice(0, 300)}`, exitCode: 2 });
          }
        }
        const raw = props[field];
        const insee = typeof raw === 'number' ? String(raw).padStart(5, '0') : typeof raw === 'string' ? raw.trim().toUpperCase() : '';
        if (!/^([0-9]{5}|2[AB][0-9]{3})$/.test(insee) || !feature.geometry) {
          report.withoutCode++;
          continue;
        }
        if (!insee.startsWith(territory.code)) {
          report.otherDepartement++;
          continue;
        }
        if (!(await store.exists(insee, tx))) {
          report.unknown.push(insee);
          continue;
        }
        if (await store.setOutline(tx, insee, JSON.stringify(feature.geometry), report.file, 4326)) report.updated++;
        else report.empty.push(insee);
        options.progress?.update(report.read, null, `${report.updated} outlines`);
      }
    });
    options.progress?.finish(`${report.updated} outlines stored`);
    report.stillMissing = await store.withoutOutline();
    return report;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
