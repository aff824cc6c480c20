/**
 * Synthetic orthophoto deliveries: every dalle of a Lambert-93 bbox rendered from the synthetic
 * scene and written under the IGN file naming, idempotently (existing files are kept), with
 * progress. Used by the demo (`npm start`) and by the ingest tests.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import type { Bbox, Pt } from './geometry.js';
import { assertFormatSupported, defaultConcurrency, renderDalle, type DalleFormat } from './render-dalle.js';
import { CAHORS_CENTRE, getScene } from './synthetic-scene.js';
import { isProcessAlive } from '../util/process.js';

export type DalleSize = 200 | 1000;

// --- Naming -----------------------------------------------------------------------------------------
// Local, tiny version of the IGN dalle naming; `src/grid/dalle-grid.ts` owns the real one and will
// replace this (kept here so that the demo generator does not depend on work in progress).

/**
 * IGN file name of a dalle: `{DEP}-{YEAR}-{X}-{Y}-{CRS}-0M05-RVB.{ext}`, X/Y = upper-left corner in
 * km on 4 digits (1 km dalles) or in hm on 5 digits (200 m dalles).
 * `dalleName('46', 2025, 1000, 575000, 6374000)` → `46-2025-0575-6374-LA93-0M05-RVB.tif`.
 */
export function dalleName(dep: string, year: number, size: DalleSize, xmin: number, ymax: number, ext: DalleFormat = 'tif', crs = 'LA93'): string {
  const unit = size === 1000 ? 1000 : 100;
  const digits = size === 1000 ? 4 : 5;
  const x = xmin / unit;
  const y = ymax / unit;
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0) {
    throw new UserError('invalid-dalle-ref', `(${xmin}, ${ymax}) is not the upper-left corner of a ${size} m dalle`);
  }
  return `${dep}-${year}-${String(x).padStart(digits, '0')}-${String(y).padStart(digits, '0')}-${crs}-0M05-RVB.${ext}`;
}

/** The dalles covering a bbox (snapped outward to the grid), north to south then west to east. */
export function dallesCovering(bbox: Bbox, size: DalleSize, maxCount = 10_000): Bbox[] {
  const [xmin, ymin, xmax, ymax] = bbox;
  if (![xmin, ymin, xmax, ymax].every(Number.isFinite) || xmin >= xmax || ymin >= ymax) {
    throw new UserError('invalid-bbox', `bbox [${bbox.join(', ')}] must be [xmin, ymin, xmax, ymax] with xmin < xmax and ymin < ymax`);
  }
  const c0 = Math.floor(xmin / size);
  const c1 = Math.ceil(xmax / size);
  const r0 = Math.floor(ymin / size);
  const r1 = Math.ceil(ymax / size);
  const count = (c1 - c0) * (r1 - r0);
  if (count > maxCount) {
    throw new UserError('too-many-dalles', `bbox covers ${count} dalles of ${size} m, more than the limit of ${maxCount} for a synthetic delivery`);
  }
  const out: Bbox[] = [];
  for (let r = r1; r > r0; r--) {
    for (let c = c0; c < c1; c++) out.push([c * size, (r - 1) * size, (c + 1) * size, r * size]);
  }
  return out;
}

// --- Delivery -----------------------------------------------------------------------------------------

export interface DeliveryOptions {
  outDir: string;
  /** Département code in the names (default '46', the Lot). */
  dep?: string;
  year: number;
  /** Area in EPSG:2154 metres `[xmin, ymin, xmax, ymax]`; snapped outward to the dalle grid. */
  bbox: Bbox;
  dalleSize: DalleSize;
  seed: number;
  /** Default 'tif' (JPEG-in-GeoTIFF, YCbCr). 'jp2' needs GDAL's JP2OpenJPEG driver. */
  format?: DalleFormat;
  /** Internal overviews in GeoTIFF dalles (default false: faster; producers usually include them). */
  overviews?: boolean;
  /** Town centre of the scene (default: Cahors). */
  centre?: Pt;
  onProgress?: (p: DeliveryProgress) => void;
  /** Cores to use (default: all, at most 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface DeliveryProgress {
  done: number;
  total: number;
  /** The dalle just finished (written or skipped). */
  file: string;
  skipped: boolean;
}

export interface DeliveryDalle {
  file: string;
  name: string;
  bbox: Bbox;
  /** False when the file already existed and was kept. */
  generated: boolean;
}

const DEP_RE = /^(\d{2}|2[AB]|97\d)$/;

/**
 * Writes every dalle of the bbox into `outDir` and returns them (grid order). Files that exist
 * are kept, so a second call does nothing and returns quickly. Dalles are written through a
 * temporary hidden file and renamed; temporary files left by killed runs are removed.
 */
export async function generateDelivery(o: DeliveryOptions): Promise<DeliveryDalle[]> {
  const dep = o.dep ?? '46';
  if (!DEP_RE.test(dep)) throw new UserError('invalid-departement', `département code '${dep}' is not valid (e.g. 46, 2A, 974)`);
  if (!Number.isInteger(o.year) || o.year < 1900 || o.year > 9999) throw new UserError('invalid-year', `year ${o.year} is not a 4-digit year`);
  if (o.dalleSize !== 200 && o.dalleSize !== 1000) throw new UserError('invalid-dalle-size', `dalle size ${String(o.dalleSize)} is not 200 or 1000 (metres)`);
  const format = o.format ?? 'tif';
  const cells = dallesCovering(o.bbox, o.dalleSize);
  const dalles: DeliveryDalle[] = cells.map((bbox) => {
    const name = dalleName(dep, o.year, o.dalleSize, bbox[0], bbox[3], format);
    return { file: join(o.outDir, name), name, bbox, generated: false };
  });
  await mkdir(o.outDir, { recursive: true });
  await removeStaleTemporaries(o.outDir, new Set(dalles.map((d) => d.name)));

  const todo: DeliveryDalle[] = [];
  let done = 0;
  for (const d of dalles) {
    if (await exists(d.file)) {
      done++;
      o.onProgress?.({ done, total: dalles.length, file: d.file, skipped: true });
    } else todo.push(d);
  }
  if (todo.length === 0) return dalles;
  await assertFormatSupported(format);

  const scene = getScene({ seed: o.seed, centre: o.centre ?? CAHORS_CENTRE });
  const cores = Math.max(1, o.concurrency ?? defaultConcurrency());
  // 200 m dalles: one dalle per core (each encodes while another renders). 1 km dalles: one at
  // a time, its blocks spread over the cores.
  const inFlight = o.dalleSize === 200 ? cores : 1;
  const blockConcurrency = o.dalleSize === 200 ? 1 : cores;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      o.signal?.throwIfAborted();
      const d = todo[next++]!;
      await renderDalle({ scene, bbox: d.bbox, outFile: d.file, format, overviews: o.overviews ?? false, concurrency: blockConcurrency, signal: o.signal });
      d.generated = true;
      done++;
      o.onProgress?.({ done, total: dalles.length, file: d.file, skipped: false });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, todo.length) }, worker));
  return dalles;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}


/** Removes `.{name}.tmp-{pid}-…` files of the given dalles whose writing process is gone. */
async function removeStaleTemporaries(dir: string, names: Set<string>): Promise<void> {
  const re = /^\.(.+)\.tmp-(\d+)-[0-9a-f]+/;
  for (const entry of await readdir(dir)) {
    const m = re.exec(entry);
    if (!m || !names.has(m[1]!)) continue;
    if (!isProcessAlive(Number(m[2]))) await rm(join(dir, entry), { force: true });
  }
}

/**
 * The demo delivery: 2 km × 1 km of Cahors in 200 m dalles (50 dalles), centred on
 * (574 800, 6 373 900): the old town in the meander of the Lot, both banks, bridges, the
 * boulevard, suburbs. 200 m dalles are the fastest way to cover it (two dalles in flight keep both
 * cores busy) and the CNIG-recommended size.
 */
export const DEMO_DELIVERY = {
  dep: '46',
  year: 2025,
  bbox: [573_800, 6_373_400, 575_800, 6_374_400] as Bbox,
  dalleSize: 200 as DalleSize,
  seed: 46,
  format: 'tif' as DalleFormat,
} as const;

/** Generates (or completes) the demo delivery in `outDir`; quick when it already exists. */
export function generateDemoDelivery(outDir: string, options: Pick<DeliveryOptions, 'onProgress' | 'concurrency' | 'signal' | 'overviews'> = {}): Promise<DeliveryDalle[]> {
  return generateDelivery({ ...DEMO_DELIVERY, outDir, ...options });
}
