/**
 * Deliberately defective (or unusual but valid) dalles for the ingest tests. Each builder writes
 * one small file (a 200 m dalle where the case has pixels) named with the IGN pattern, so that a
 * validator gets past the name and meets the defect in the content. Builders are independent:
 * call the one a test needs, or `makeAllBadDalles` for a whole "bad delivery" folder (each kind on
 * its own 200 m cell, so the names do not collide).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../util/errors.js';
import { dalleName } from './delivery.js';
import { epsgOf, gdalInfo, runTool, transformPoints } from './gdal.js';
import type { Bbox } from './geometry.js';
import { encodeRaw, renderDalle, renderToRawFile, tempPathFor } from './render-dalle.js';
import { getScene } from './synthetic-scene.js';

export const BAD_DALLE_KINDS = [
  'zero-byte',
  'truncated',
  'not-a-raster',
  'wrong-crs',
  'cc-zone',
  'wrong-resolution',
  'misaligned',
  'grey',
  'rgb16',
  'rgba',
  'name-mismatch',
] as const;
export type BadDalleKind = (typeof BAD_DALLE_KINDS)[number];

export interface BadDalleOptions {
  dir: string;
  /** Scene seed (default 46). */
  seed?: number;
  /** Default '46'. */
  dep?: string;
  /** Default 2025. */
  year?: number;
  /**
   * Upper-left corner (EPSG:2154) of the 200 m dalle the file is about. Default: a Cahors cell of
   * its own per kind (x = 574 000 + 200 · index of the kind, y = 6 374 000).
   */
  xmin?: number;
  ymax?: number;
}

export interface BadDalle {
  kind: BadDalleKind;
  file: string;
  name: string;
  /** What the file is, in one sentence. */
  description: string;
  /**
   * What a correct ingest should conclude: refuse the file, accept it, accept it after
   * reprojection, or accept it with a warning (names are only a hint; georeferencing wins).
   */
  expected: 'reject' | 'accept' | 'reproject' | 'warn';
  /** Extent written in the file's georeferencing, in `crs`; null when the file has none. */
  bbox: Bbox | null;
  /** e.g. 'EPSG:2154'; null when the file has no readable georeferencing. */
  crs: string | null;
  /** The dalle the file name designates, in the CRS of the name (LA93 or CC45). */
  named: { crs: string; bbox: Bbox };
}

type Ctx = Required<Omit<BadDalleOptions, 'xmin' | 'ymax'>> & { xmin: number; ymax: number };

function context(kind: BadDalleKind, o: BadDalleOptions): Ctx {
  const index = BAD_DALLE_KINDS.indexOf(kind);
  const xmin = o.xmin ?? 574_000 + 200 * index;
  const ymax = o.ymax ?? 6_374_000;
  if (xmin % 200 !== 0 || ymax % 200 !== 0) throw new UserError('invalid-dalle-ref', `(${xmin}, ${ymax}) is not the upper-left corner of a 200 m dalle`);
  return { dir: o.dir, seed: o.seed ?? 46, dep: o.dep ?? '46', year: o.year ?? 2025, xmin, ymax };
}

function cell(c: Ctx): Bbox {
  return [c.xmin, c.ymax - 200, c.xmin + 200, c.ymax];
}

function la93Name(c: Ctx, xmin = c.xmin, ymax = c.ymax): string {
  return dalleName(c.dep, c.year, 200, xmin, ymax);
}

async function extentOf(file: string): Promise<{ bbox: Bbox; crs: string }> {
  const info = await gdalInfo(file);
  const gt = info.geoTransform!;
  const [w, h] = info.size;
  const epsg = epsgOf(info);
  return { bbox: [gt[0]!, gt[3]! + h * gt[5]!, gt[0]! + w * gt[1]!, gt[3]!], crs: epsg ? `EPSG:${epsg}` : 'unknown' };
}

async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = tempPathFor(file, '');
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Renders the scene over `bbox` into a raw RGB temp file and hands it to `use`; always cleans up. */
async function withRawRgb<T>(c: Ctx, bbox: Bbox, pixelSize: number, use: (raw: string, width: number, height: number) => Promise<T>): Promise<T> {
  const raw = tempPathFor(join(c.dir, 'render'), '.raw');
  try {
    const { width, height } = await renderToRawFile(getScene({ seed: c.seed }), bbox, raw, { pixelSize });
    return await use(raw, width, height);
  } finally {
    await rm(raw, { force: true });
  }
}

const GTIFF_JPEG = ['-of', 'GTiff', '-co', 'TILED=YES', '-co', 'COMPRESS=JPEG', '-co', 'PHOTOMETRIC=YCBCR', '-co', 'JPEG_QUALITY=90'];
const GTIFF_DEFLATE = ['-of', 'GTiff', '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=2', '-co', 'ZLEVEL=1', '-co', 'NUM_THREADS=ALL_CPUS'];

// --- Builders -----------------------------------------------------------------------------------------

export async function zeroByteDalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('zero-byte', o);
  await mkdir(c.dir, { recursive: true });
  const name = la93Name(c);
  const file = join(c.dir, name);
  await writeAtomic(file, Buffer.alloc(0));
  return { kind: 'zero-byte', file, name, description: 'empty file (0 bytes) with a valid dalle name', expected: 'reject', bbox: null, crs: null, named: { crs: 'EPSG:2154', bbox: cell(c) } };
}

export async function notARasterDalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('not-a-raster', o);
  await mkdir(c.dir, { recursive: true });
  const name = la93Name(c);
  const file = join(c.dir, name);
  await writeAtomic(file, 'This is not a GeoTIFF: a text file saved with a .tif name by mistake.\nDalle list, flight 2025-06-12, camera UltraCam Eagle 4.1\n');
  return { kind: 'not-a-raster', file, name, description: 'text file named .tif', expected: 'reject', bbox: null, crs: null, named: { crs: 'EPSG:2154', bbox: cell(c) } };
}

export async function truncatedDalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('truncated', o);
  await mkdir(c.dir, { recursive: true });
  const name = la93Name(c);
  const file = join(c.dir, name);
  const full = tempPathFor(file, '.full');
  try {
    await renderDalle({ scene: getScene({ seed: c.seed }), bbox: cell(c), outFile: full });
    const bytes = await readFile(full);
    await writeAtomic(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
  } finally {
    await rm(full, { force: true });
  }
  return {
    kind: 'truncated',
    file,
    name,
    description: 'valid JPEG GeoTIFF cut in half (interrupted transfer): the header may still open, the second half of the tiles is missing',
    expected: 'reject',
    bbox: cell(c),
    crs: 'EPSG:2154',
    named: { crs: 'EPSG:2154', bbox: cell(c) },
  };
}

export async function wrongCrsDalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('wrong-crs', o);
  await mkdir(c.dir, { recursive: true });
  const name = la93Name(c);
  const file = join(c.dir, name);
  const src = tempPathFor(file, '.src');
  const out = tempPathFor(file, '.out');
  try {
    await renderDalle({ scene: getScene({ seed: c.seed }), bbox: cell(c), outFile: src });
    // About 10 cm pixels (2000 px across), to keep the file and the warp small.
    await runTool('gdalwarp', ['-q', '-overwrite', '-t_srs', 'EPSG:4326', '-ts', '2000', '0', '-r', 'average', '-multi', '-wo', 'NUM_THREADS=ALL_CPUS', ...GTIFF_JPEG, src, out]);
    await rename(out, file);
  } finally {
    await rm(src, { force: true });
    await rm(out, { force: true });
  }
  const e = await extentOf(file);
  return {
    kind: 'wrong-crs',
    file,
    name,
    description: 'the dalle reprojected to WGS 84 geographic coordinates (EPSG:4326, about 10 cm): not a PCRS CRS',
    expected: 'reject',
    bbox: e.bbox,
    crs: e.crs,
    named: { crs: 'EPSG:2154', bbox: cell(c) },
  };
}

/**
 * A valid dalle of the CC45 grid (EPSG:3945, the Lot's conic conformal zone): the 200 m CC45 cell
 * containing the centre of the requested Lambert-93 cell, rendered from the same world scene over
 * a slightly larger Lambert-93 area and warped with gdalwarp (bilinear, 5 cm, target-aligned).
 */
export async function ccZoneDalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('cc-zone', o);
  await mkdir(c.dir, { recursive: true });
  const [centre] = await transformPoints([[c.xmin + 100, c.ymax - 100]], 'EPSG:2154', 'EPSG:3945');
  const ccX = Math.floor(centre![0] / 200) * 200;
  const ccY = Math.ceil(centre![1] / 200) * 200;
  const ccBbox: Bbox = [ccX, ccY - 200, ccX + 200, ccY];
  const corners = await transformPoints(
    [
      [ccBbox[0], ccBbox[1]],
      [ccBbox[2], ccBbox[1]],
      [ccBbox[0], ccBbox[3]],
      [ccBbox[2], ccBbox[3]],
    ],
    'EPSG:3945',
    'EPSG:2154',
  );
  const xs = corners.map((p) => p[0]);
  const ys = corners.map((p) => p[1]);
  const srcBbox: Bbox = [Math.floor(Math.min(...xs)) - 2, Math.floor(Math.min(...ys)) - 2, Math.ceil(Math.max(...xs)) + 2, Math.ceil(Math.max(...ys)) + 2];
  const name = dalleName(c.dep, c.year, 200, ccX, ccY, 'tif', 'CC45');
  const file = join(c.dir, name);
  const src = tempPathFor(file, '.src');
  const out = tempPathFor(file, '.out');
  try {
    await withRawRgb(c, srcBbox, 0.05, (raw, width, height) =>
      encodeRaw({ rawPath: raw, width, height, bands: 3, bbox: srcBbox, outFile: src, creationArgs: ['-of', 'GTiff', '-co', 'TILED=YES'] }),
    );
    await runTool('gdalwarp', [
      '-q',
      '-overwrite',
      '-s_srs',
      'EPSG:2154',
      '-t_srs',
      'EPSG:3945',
      '-te',
      ...ccBbox.map(String),
      '-tr',
      '0.05',
      '0.05',
      '-r',
      'bilinear',
      '-multi',
      '-wo',
      'NUM_THREADS=ALL_CPUS',
      ...GTIFF_JPEG,
      src,
      out,
    ]);
    await rename(out, file);
  } finally {
    await rm(src, { force: true });
    await rm(out, { force: true });
  }
  return {
    kind: 'cc-zone',
    file,
    name,
    description: 'valid 200 m dalle of the CC45 grid (EPSG:3945), 5 cm, JPEG/YCbCr: must be reprojected to Lambert-93',
    expected: 'reproject',
    bbox: ccBbox,
    crs: 'EPSG:3945',
    named: { crs: 'EPSG:3945', bbox: ccBbox },
  };
}

export async function wrongResolutionDalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('wrong-resolution', o);
  await mkdir(c.dir, { recursive: true });
  const name = la93Name(c);
  const file = join(c.dir, name);
  await renderDalle({ scene: getScene({ seed: c.seed }), bbox: cell(c), outFile: file, pixelSize: 0.1 });
  return {
    kind: 'wrong-resolution',
    file,
    name,
    description: '10 cm pixels (2000 × 2000 px over the 200 m dalle) instead of 5 cm',
    expected: 'reject',
    bbox: cell(c),
    crs: 'EPSG:2154',
    named: { crs: 'EPSG:2154', bbox: cell(c) },
  };
}

/** Shift of the misaligned dalle, metres east. */
export const MISALIGNMENT_METRES = 3.7;

export async function misalignedDalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('misaligned', o);
  await mkdir(c.dir, { recursive: true });
  const name = la93Name(c);
  const file = join(c.dir, name);
  const [x0, y0, x1, y1] = cell(c);
  const bbox: Bbox = [x0 + MISALIGNMENT_METRES, y0, x1 + MISALIGNMENT_METRES, y1];
  await renderDalle({ scene: getScene({ seed: c.seed }), bbox, outFile: file });
  return {
    kind: 'misaligned',
    file,
    name,
    description: `5 cm, 200 m wide, but shifted ${MISALIGNMENT_METRES} m east of the 200 m grid`,
    expected: 'reject',
    bbox,
    crs: 'EPSG:2154',
    named: { crs: 'EPSG:2154', bbox: cell(c) },
  };
}

export async function greyDalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('grey', o);
  await mkdir(c.dir, { recursive: true });
  const name = la93Name(c);
  const file = join(c.dir, name);
  await withRawRgb(c, cell(c), 0.05, async (raw, width, height) => {
    const grey = await sharp(await readFile(raw), { raw: { width, height, channels: 3 } }).greyscale().raw().toBuffer();
    await writeFile(raw, grey);
    await encodeRaw({ rawPath: raw, width, height, bands: 1, bbox: cell(c), outFile: file, creationArgs: ['-of', 'GTiff', '-co', 'TILED=YES', '-co', 'COMPRESS=JPEG', '-co', 'JPEG_QUALITY=90'] });
  });
  return { kind: 'grey', file, name, description: 'one grey band (panchromatic) instead of RGB', expected: 'reject', bbox: cell(c), crs: 'EPSG:2154', named: { crs: 'EPSG:2154', bbox: cell(c) } };
}

export async function rgb16Dalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('rgb16', o);
  await mkdir(c.dir, { recursive: true });
  const name = la93Name(c);
  const file = join(c.dir, name);
  await withRawRgb(c, cell(c), 0.05, (raw, width, height) =>
    encodeRaw({ rawPath: raw, width, height, bands: 3, bbox: cell(c), outFile: file, extraArgs: ['-ot', 'UInt16', '-scale', '0', '255', '0', '65535'], creationArgs: GTIFF_DEFLATE }),
  );
  return { kind: 'rgb16', file, name, description: 'RGB with 16-bit samples (UInt16, DEFLATE) instead of 8-bit', expected: 'reject', bbox: cell(c), crs: 'EPSG:2154', named: { crs: 'EPSG:2154', bbox: cell(c) } };
}

/** Side of the transparent triangle in the north-east corner of the RGBA dalle, as a fraction of the side. */
export const RGBA_TRANSPARENT_CORNER = 0.4;

export async function rgbaDalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('rgba', o);
  await mkdir(c.dir, { recursive: true });
  const name = la93Name(c);
  const file = join(c.dir, name);
  await withRawRgb(c, cell(c), 0.05, async (raw, width, height) => {
    // Alpha: opaque except a triangle in the north-east corner (outside the flight coverage).
    const k = RGBA_TRANSPARENT_CORNER;
    const mask = Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="#fff"/>` +
        `<path d="M${width * (1 - k)} 0L${width} 0L${width} ${height * k}Z" fill="#000" shape-rendering="crispEdges"/></svg>`,
    );
    const alpha = await sharp(mask).extractChannel(0).raw().toBuffer();
    const rgba = await sharp(await readFile(raw), { raw: { width, height, channels: 3 } })
      .joinChannel(alpha, { raw: { width, height, channels: 1 } })
      .raw()
      .toBuffer();
    await writeFile(raw, rgba);
    await encodeRaw({ rawPath: raw, width, height, bands: 4, bbox: cell(c), outFile: file, creationArgs: GTIFF_DEFLATE });
  });
  return {
    kind: 'rgba',
    file,
    name,
    description: `RGBA (alpha band, DEFLATE): opaque except a transparent triangle in the north-east corner (${RGBA_TRANSPARENT_CORNER * 100}% of each side), as on the edge of a coverage`,
    expected: 'accept',
    bbox: cell(c),
    crs: 'EPSG:2154',
    named: { crs: 'EPSG:2154', bbox: cell(c) },
  };
}

/** A valid dalle of the requested cell, named after the cell 200 m to the north. */
export async function nameMismatchDalle(o: BadDalleOptions): Promise<BadDalle> {
  const c = context('name-mismatch', o);
  await mkdir(c.dir, { recursive: true });
  const name = la93Name(c, c.xmin, c.ymax + 200);
  const file = join(c.dir, name);
  await renderDalle({ scene: getScene({ seed: c.seed }), bbox: cell(c), outFile: file });
  return {
    kind: 'name-mismatch',
    file,
    name,
    description: 'valid dalle whose name designates the dalle 200 m further north: georeferencing wins, the mismatch is reported',
    expected: 'warn',
    bbox: cell(c),
    crs: 'EPSG:2154',
    named: { crs: 'EPSG:2154', bbox: [c.xmin, c.ymax, c.xmin + 200, c.ymax + 200] },
  };
}

export const BAD_DALLE_BUILDERS: Record<BadDalleKind, (o: BadDalleOptions) => Promise<BadDalle>> = {
  'zero-byte': zeroByteDalle,
  truncated: truncatedDalle,
  'not-a-raster': notARasterDalle,
  'wrong-crs': wrongCrsDalle,
  'cc-zone': ccZoneDalle,
  'wrong-resolution': wrongResolutionDalle,
  misaligned: misalignedDalle,
  grey: greyDalle,
  rgb16: rgb16Dalle,
  rgba: rgbaDalle,
  'name-mismatch': nameMismatchDalle,
};

export function makeBadDalle(kind: BadDalleKind, o: BadDalleOptions): Promise<BadDalle> {
  return BAD_DALLE_BUILDERS[kind](o);
}

/**
 * Every kind into one folder (a "bad delivery"), each on its own 200 m cell; `xmin`/`ymax` of the
 * options are ignored. Two builders at a time.
 */
export async function makeAllBadDalles(o: Omit<BadDalleOptions, 'xmin' | 'ymax'>, kinds: readonly BadDalleKind[] = BAD_DALLE_KINDS): Promise<Record<BadDalleKind, BadDalle>> {
  const out: Partial<Record<BadDalleKind, BadDalle>> = {};
  const queue = [...kinds];
  const worker = async (): Promise<void> => {
    for (let k = queue.shift(); k !== undefined; k = queue.shift()) out[k] = await makeBadDalle(k, { dir: o.dir, seed: o.seed, dep: o.dep, year: o.year });
  };
  await Promise.all([worker(), worker()]);
  return out as Record<BadDalleKind, BadDalle>;
}
