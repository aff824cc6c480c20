import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ProgressReporter } from '../cli/progress.js';
import type { Bbox } from '../grid/bbox.js';
import { ingestDelivery } from '../raster/ingest/ingest.js';
import { ingestServices } from '../raster/ingest/services.js';
import type { AppContext } from '../context/app-context.js';
import { importIntoVersion, type FileImportResult } from '../vector/import.js';
import { DEMO_DELIVERY, generateDelivery } from './delivery.js';
import { CAHORS_CENTRE, getScene } from './synthetic-scene.js';
import { ensureDemoCommunes } from './communes.js';
import { writeDemoGml } from './vector.js';

export const DEMO_VERSION_PREFIX = 'demo';

/**
 * The demo area: Cahors for the Lot; for another territory, the same 2 km × 1 km at the centre of
 * its extent (snapped to the km), so the demo works wherever the configuration points.
 */
export function demoArea(ctx: Pick<AppContext, 'config'>): Bbox {
  const t = ctx.config.territory;
  if (t.code === DEMO_DELIVERY.dep) return DEMO_DELIVERY.bbox;
  const cx = Math.round((t.extent[0] + t.extent[2]) / 2000) * 1000;
  const cy = Math.round((t.extent[1] + t.extent[3]) / 2000) * 1000;
  return [cx - 1000, cy - 400, cx + 1000, cy + 600];
}

function areaCentre(b: Bbox): [number, number] {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

/**
 * Makes sure the demo orthophoto exists: generates the synthetic delivery under
 * `${dataDir}/demo/delivery` (skipping dalles already there) and ingests it through the normal
 * ingest path as version `demo-<year>`. Later starts find the version published and return at once.
 */
export async function ensureDemo(ctx: AppContext, options: { progress?: ProgressReporter; signal?: AbortSignal } = {}): Promise<{ message: string; created: boolean }> {
  const ortho = await ensureDemoOrtho(ctx, options);
  const vector = await ensureDemoVector(ctx);
  const communes = await ensureDemoCommunes(ctx, demoArea(ctx));
  return { message: `${ortho.message}\n${vector.message}\n${communes.message}`, created: ortho.created || vector.created || communes.created };
}

/** The synthetic town is drawn around this point (Cahors for the Lot). */
function sceneCentre(ctx: AppContext) {
  return ctx.config.territory.code === DEMO_DELIVERY.dep ? CAHORS_CENTRE : areaCentre(demoArea(ctx));
}

/**
 * The demo's vector PCRS (kerbs, building outlines, trees of the same synthetic town), written as
 * CNIG GML and imported through the normal import path (XSD + CNIG rules) as version `demo-<year>`.
 */
async function ensureDemoVector(ctx: AppContext): Promise<{ message: string; created: boolean }> {
  const year = ctx.config.demo.year;
  const versionName = `${DEMO_VERSION_PREFIX}-${year}`;
  const existing = (await ctx.catalog.listVersions('vector')).find((v) => v.name === versionName);
  if (existing && existing.status === 'published') return { message: `Demo vector PCRS ready (version ${versionName}).`, created: false };
  const file = path.join(ctx.config.dataDir, 'demo', 'pcrs-demo.gml');
  await mkdir(path.dirname(file), { recursive: true });
  await writeDemoGml(getScene({ seed: DEMO_DELIVERY.seed, centre: sceneCentre(ctx) }), demoArea(ctx), file);
  const { results } = await importIntoVersion(ctx, [file], { versionName, date: `${year}-06-15` });
  const r = results[0] as FileImportResult;
  if (r.status === 'rejected') throw new Error(`the demo GML ${file} was rejected: ${r.reason ?? ''} ${r.report?.findings.slice(0, 3).map((f) => f.message).join('; ') ?? ''}`);
  return { message: `Demo vector PCRS imported as version ${versionName}: ${r.features} objects (kerbs, buildings, trees).`, created: true };
}

async function ensureDemoOrtho(ctx: AppContext, options: { progress?: ProgressReporter; signal?: AbortSignal }): Promise<{ message: string; created: boolean }> {
  const year = ctx.config.demo.year;
  const versionName = `${DEMO_VERSION_PREFIX}-${year}`;
  const existing = (await ctx.catalog.listVersions('ortho')).find((v) => v.name === versionName);
  if (existing && existing.status === 'published' && existing.dalleCount > 0) {
    return { message: `Demo orthophoto ready (version ${versionName}, ${existing.dalleCount} dalles).`, created: false };
  }
  const outDir = path.join(ctx.config.dataDir, 'demo', 'delivery');
  await generateDelivery({
    outDir,
    dep: ctx.config.territory.code,
    year,
    bbox: demoArea(ctx),
    centre: sceneCentre(ctx),
    dalleSize: DEMO_DELIVERY.dalleSize,
    seed: DEMO_DELIVERY.seed,
    format: DEMO_DELIVERY.format,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (p) => options.progress?.update(p.done, p.total, p.skipped ? 'already generated' : 'generating synthetic dalles'),
  });
  const report = await ingestDelivery(ingestServices(ctx), {
    dir: outDir,
    datasetId: 'ortho',
    versionName,
    date: `${year}-06-15`,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (d, t, m) => options.progress?.update(d, t, m),
  });
  options.progress?.finish();
  const s = report.summary;
  return {
    message: `Demo orthophoto ingested as version ${versionName}: ${s.ok + s.warning + s.skipped} dalles${report.pyramid ? `, pyramid of ${report.pyramid.tiles} tiles` : ''}.`,
    created: true,
  };
}
