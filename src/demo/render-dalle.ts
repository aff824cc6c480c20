/**
 * Renders synthetic orthophoto dalles from a `SyntheticScene` and writes them the way producers
 * deliver them (GeoTIFF: RGB 8-bit, 256² tiles, JPEG in YCbCr, quality 90, optional internal
 * overviews, EPSG:2154, exact geotransform; or JPEG 2000 when GDAL has JP2OpenJPEG).
 *
 * Pipeline, all in libvips/GDAL (no per-pixel JavaScript on the full raster):
 * 1. the dalle is cut into blocks of at most 4000² px; for each block the scene's primitives are
 *    turned into an SVG whose viewBox is the block in pixels, rasterised by sharp (librsvg), and
 *    composited ("overlay") with a grain texture: a 1024² periodic noise tile, rolled so that its
 *    origin sits on the world pixel lattice, repeated over the block. Everything is a function of
 *    world position, so blocks and dalles join seamlessly;
 * 2. blocks are written into one raw RGB file, described by a VRT;
 * 3. `gdal_translate` encodes it into the delivery format next to the final file under a
 *    temporary name (plus `gdaladdo` for overviews), which is renamed at the very end: a killed run
 *    never leaves a half-written file under the final name.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../util/errors.js';
import { gdalDrivers, runTool } from './gdal.js';
import type { Bbox } from './geometry.js';
import { hashUnit } from './random.js';
import { BACKGROUND, LAYER_ORDER, SHADOW_OPACITY, type Primitive, type Rgb, type SceneLayers, type SyntheticScene } from './synthetic-scene.js';

/** Delivered pixel size, metres. */
export const PIXEL_SIZE = 0.05;
/** Largest block rendered in one sharp pipeline (px per side). */
export const MAX_BLOCK_PX = 4000;

export type DalleFormat = 'tif' | 'jp2';

// --- SVG ------------------------------------------------------------------------------------------

function hex(c: Rgb): string {
  const h = (v: number): string => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, '0');
  return `#${h(c[0])}${h(c[1])}${h(c[2])}`;
}

function scaleRgb(c: Rgb, k: number): Rgb {
  return [c[0] * k, c[1] * k, c[2] * k];
}

/**
 * SVG of the scene primitives for the pixel window whose upper-left corner is world (x0, y0),
 * `width`×`height` px of `pixelSize` m. Coordinates are pixels with 2 decimals.
 */
export function sceneToSvg(layers: SceneLayers, x0: number, y0: number, pixelSize: number, width: number, height: number): string {
  const k = 1 / pixelSize;
  const X = (x: number): string => ((x - x0) * k).toFixed(2);
  const Y = (y: number): string => ((y0 - y) * k).toFixed(2);
  const gradients = new Map<string, string>();
  const defs: string[] = [];
  const gradient = (key: string, body: (id: string) => string): string => {
    let id = gradients.get(key);
    if (!id) {
      id = `g${gradients.size}`;
      gradients.set(key, id);
      defs.push(body(id));
    }
    return id;
  };
  const body: string[] = [];
  const path = (pts: readonly (readonly [number, number])[], close: boolean): string => {
    let d = '';
    for (let i = 0; i < pts.length; i++) d += `${i === 0 ? 'M' : 'L'}${X(pts[i]![0])} ${Y(pts[i]![1])}`;
    return close ? `${d}Z` : d;
  };
  const emit = (p: Primitive): void => {
    switch (p.t) {
      case 'poly':
        body.push(`<path d="${path(p.pts, true)}" fill="${hex(p.fill)}"${p.opacity !== undefined ? ` fill-opacity="${p.opacity.toFixed(2)}"` : ''}/>`);
        break;
      case 'line':
        body.push(
          `<path d="${path(p.pts, false)}" fill="none" stroke="${hex(p.colour)}" stroke-width="${(p.width * k).toFixed(2)}" stroke-linejoin="round" stroke-linecap="${p.butt ? 'butt' : 'round'}"${p.opacity !== undefined ? ` stroke-opacity="${p.opacity.toFixed(2)}"` : ''}/>`,
        );
        break;
      case 'segs': {
        let d = '';
        for (const [a, b] of p.segs) d += `M${X(a[0])} ${Y(a[1])}L${X(b[0])} ${Y(b[1])}`;
        body.push(`<path d="${d}" fill="none" stroke="${hex(p.colour)}" stroke-width="${(p.width * k).toFixed(2)}" stroke-opacity="${p.opacity.toFixed(2)}"/>`);
        break;
      }
      case 'circle': {
        let fill = hex(p.fill);
        if (p.shade !== undefined) {
          // Quantise so that similar crowns share a gradient.
          const q: Rgb = [Math.round(p.fill[0] / 3) * 3, Math.round(p.fill[1] / 3) * 3, Math.round(p.fill[2] / 3) * 3];
          const shade = p.shade;
          const id = gradient(
            `s${hex(q)}${shade.toFixed(2)}`,
            (gid) =>
              `<radialGradient id="${gid}" cx="0.5" cy="0.5" r="0.5" fx="0.62" fy="0.64"><stop offset="0" stop-color="${hex(scaleRgb(q, 1 + shade))}"/><stop offset="0.6" stop-color="${hex(q)}"/><stop offset="1" stop-color="${hex(scaleRgb(q, 1 - shade))}"/></radialGradient>`,
          );
          fill = `url(#${id})`;
        }
        body.push(`<circle cx="${X(p.c[0])}" cy="${Y(p.c[1])}" r="${(p.r * k).toFixed(2)}" fill="${fill}"/>`);
        break;
      }
      case 'blob': {
        const o = p.opacity.toFixed(2);
        const id = gradient(`b${hex(p.colour)}${o}`, (gid) => `<radialGradient id="${gid}"><stop offset="0" stop-color="${hex(p.colour)}" stop-opacity="${o}"/><stop offset="1" stop-color="${hex(p.colour)}" stop-opacity="0"/></radialGradient>`);
        body.push(`<circle cx="${X(p.c[0])}" cy="${Y(p.c[1])}" r="${(p.r * k).toFixed(2)}" fill="url(#${id})"/>`);
        break;
      }
    }
  };
  for (const layer of LAYER_ORDER) {
    const prims = layers[layer];
    if (prims.length === 0) continue;
    const op = SHADOW_OPACITY[layer];
    if (op === undefined) {
      for (const p of prims) emit(p);
      continue;
    }
    // Shadows: one path, every subpath with the same orientation (negative area in pixel
    // coordinates; arcs with sweep-flag 0), filled with the nonzero rule: the union of all shadows
    // at one opacity, without an offscreen group (which costs a full-size surface).
    let d = '';
    for (const p of prims) {
      if (p.t === 'poly') {
        let area = 0;
        for (let i = 0; i < p.pts.length; i++) {
          const a = p.pts[i]!;
          const b = p.pts[(i + 1) % p.pts.length]!;
          area += a[0] * b[1] - b[0] * a[1];
        }
        // World y is up and pixel y is down: a counter-clockwise world ring has negative pixel area.
        d += path(area > 0 ? p.pts : [...p.pts].reverse(), true);
      } else if (p.t === 'circle') {
        const cx = (p.c[0] - x0) * k;
        const cy = (y0 - p.c[1]) * k;
        const r = (p.r * k).toFixed(2);
        d += `M${(cx - p.r * k).toFixed(2)} ${cy.toFixed(2)}A${r} ${r} 0 1 0 ${(cx + p.r * k).toFixed(2)} ${cy.toFixed(2)}A${r} ${r} 0 1 0 ${(cx - p.r * k).toFixed(2)} ${cy.toFixed(2)}Z`;
      } else {
        throw new Error(`shadow layer ${layer} holds a '${p.t}' primitive; only 'poly' and 'circle' are supported`);
      }
    }
    body.push(`<path d="${d}" fill="#000" fill-opacity="${op}" fill-rule="nonzero"/>`);
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<defs>${defs.join('')}</defs><rect width="${width}" height="${height}" fill="${hex(BACKGROUND)}"/>${body.join('')}</svg>`
  );
}

// --- Grain texture ----------------------------------------------------------------------------------

/** Period of the grain texture, px (51.2 m at 5 cm). */
export const NOISE_PERIOD = 1024;
const noiseTiles = new Map<number, Buffer>();

/** Periodic value noise over the P×P tile with `cell`-px lattice cells. */
function periodicNoise(seed: number, salt: number, cell: number, out: Float32Array, amp: number): void {
  const P = NOISE_PERIOD;
  const n = P / cell;
  const lattice = new Float32Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) lattice[j * n + i] = hashUnit(seed, salt, i, j) * 2 - 1;
  const wx = new Float32Array(cell);
  for (let t = 0; t < cell; t++) {
    const f = t / cell;
    wx[t] = f * f * (3 - 2 * f);
  }
  for (let y = 0; y < P; y++) {
    const j0 = Math.floor(y / cell);
    const j1 = (j0 + 1) % n;
    const ty = wx[y - j0 * cell]!;
    for (let x = 0; x < P; x++) {
      const i0 = Math.floor(x / cell);
      const i1 = (i0 + 1) % n;
      const tx = wx[x - i0 * cell]!;
      const a = lattice[j0 * n + i0]!;
      const b = lattice[j0 * n + i1]!;
      const c = lattice[j1 * n + i0]!;
      const d = lattice[j1 * n + i1]!;
      const top = a + (b - a) * tx;
      const bot = c + (d - c) * tx;
      out[y * P + x] = out[y * P + x]! + (top + (bot - top) * ty) * amp;
    }
  }
}

/**
 * The grain texture of a seed: P×P RGB, mid-grey (128) plus multi-scale noise (3.2 m, 80 cm,
 * 20 cm and 10 cm lattices plus a little per-pixel, per-channel noise). Periodic, so a tile rolled
 * to the world lattice and repeated is continuous everywhere.
 */
export function noiseTile(seed: number): Buffer {
  let tile = noiseTiles.get(seed);
  if (tile) return tile;
  const P = NOISE_PERIOD;
  const lum = new Float32Array(P * P);
  periodicNoise(seed, 1, 64, lum, 9);
  periodicNoise(seed, 2, 16, lum, 8);
  periodicNoise(seed, 3, 4, lum, 9);
  periodicNoise(seed, 4, 2, lum, 6);
  tile = Buffer.alloc(P * P * 3);
  let s = (seed ^ 0x9e3779b9) >>> 0;
  const white = (): number => {
    // xorshift32: cheap per-pixel white noise in [-1, 1)
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2147483648 - 1;
  };
  for (let i = 0; i < P * P; i++) {
    const l = 128 + lum[i]! + white() * 5;
    tile[3 * i] = Math.max(0, Math.min(255, Math.round(l + white() * 2.5)));
    tile[3 * i + 1] = Math.max(0, Math.min(255, Math.round(l + white() * 2.5)));
    tile[3 * i + 2] = Math.max(0, Math.min(255, Math.round(l + white() * 2.5)));
  }
  noiseTiles.set(seed, tile);
  return tile;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/**
 * The grain tile rolled so that its pixel (0,0) is world pixel (col0, row0) of the lattice, cut to
 * at most w×h (sharp refuses an overlay larger than the base image).
 */
function rolledNoise(seed: number, col0: number, row0: number, w: number, h: number): { data: Buffer; width: number; height: number } {
  const P = NOISE_PERIOD;
  const src = noiseTile(seed);
  const ox = mod(col0, P);
  const oy = mod(row0, P);
  const width = Math.min(P, w);
  const height = Math.min(P, h);
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = (y + oy) % P;
    let x = 0;
    while (x < width) {
      const sx = (x + ox) % P;
      const n = Math.min(width - x, P - sx);
      src.copy(out, (y * width + x) * 3, (sy * P + sx) * 3, (sy * P + sx + n) * 3);
      x += n;
    }
  }
  return { data: out, width, height };
}

// --- Rendering ----------------------------------------------------------------------------------------

/** Pixel size of a bbox at `pixelSize`, checking that the box is on the pixel lattice. */
export function rasterSize(bbox: Bbox, pixelSize: number): { width: number; height: number; col0: number; row0: number } {
  const [xmin, ymin, xmax, ymax] = bbox;
  const fw = (xmax - xmin) / pixelSize;
  const fh = (ymax - ymin) / pixelSize;
  const c0 = xmin / pixelSize;
  const r0 = -ymax / pixelSize;
  const width = Math.round(fw);
  const height = Math.round(fh);
  const col0 = Math.round(c0);
  const row0 = Math.round(r0);
  const off = Math.max(Math.abs(fw - width), Math.abs(fh - height), Math.abs(c0 - col0), Math.abs(r0 - row0));
  if (!(width > 0 && height > 0) || off > 1e-6) {
    throw new UserError('invalid-dalle-bbox', `bbox [${bbox.join(', ')}] is not on the ${pixelSize} m pixel lattice`, {
      hint: 'corners must be multiples of the pixel size, e.g. a 200 m or 1 km dalle of the Lambert-93 grid',
    });
  }
  return { width, height, col0, row0 };
}

/**
 * Renders a window of the scene to raw interleaved RGB (width × height × 3 bytes). Meant for
 * blocks up to `MAX_BLOCK_PX` per side; larger areas go through `renderToRawFile`.
 */
export async function renderRgb(scene: SyntheticScene, bbox: Bbox, pixelSize = PIXEL_SIZE): Promise<{ data: Buffer; width: number; height: number }> {
  const { width, height, col0, row0 } = rasterSize(bbox, pixelSize);
  const pad = 2 * pixelSize;
  const layers = scene.query([bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad]);
  const svg = sceneToSvg(layers, bbox[0], bbox[3], pixelSize, width, height);
  const noise = rolledNoise(scene.seed, col0, row0, width, height);
  const { data, info } = await sharp(Buffer.from(svg), { limitInputPixels: false, unlimited: true })
    .composite([{ input: noise.data, raw: { width: noise.width, height: noise.height, channels: 3 }, tile: true, gravity: 'northwest', blend: 'overlay' }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(`rendered ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×3`);
  }
  return { data, width, height };
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      signal?.throwIfAborted();
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

export function defaultConcurrency(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * Renders the bbox into a raw interleaved RGB file (row-major, no header), block by block, with
 * `concurrency` blocks in flight (each sharp pipeline uses one core).
 */
export async function renderToRawFile(
  scene: SyntheticScene,
  bbox: Bbox,
  rawPath: string,
  options: { pixelSize?: number; concurrency?: number; signal?: AbortSignal } = {},
): Promise<{ width: number; height: number }> {
  const ps = options.pixelSize ?? PIXEL_SIZE;
  const { width, height } = rasterSize(bbox, ps);
  const concurrency = options.concurrency ?? defaultConcurrency();
  // Blocks of at most MAX_BLOCK_PX per side, and at least `concurrency` of them so that a single
  // 200 m dalle keeps every core busy (blocks join seamlessly, like dalles).
  const cols = Math.ceil(width / MAX_BLOCK_PX);
  const rows = Math.max(Math.ceil(height / MAX_BLOCK_PX), Math.ceil(concurrency / cols));
  const blockW = Math.ceil(width / cols);
  const blockH = Math.ceil(height / rows);
  const blocks: Array<{ x: number; y: number; w: number; h: number }> = [];
  for (let y = 0; y < height; y += blockH) {
    for (let x = 0; x < width; x += blockW) blocks.push({ x, y, w: Math.min(blockW, width - x), h: Math.min(blockH, height - y) });
  }
  const fh = await open(rawPath, 'w');
  try {
    await fh.truncate(width * height * 3);
    const rowBytes = width * 3;
    await pool(
      blocks,
      concurrency,
      async (b) => {
        // Block corners in world units, computed from integer pixel offsets (exact on the lattice).
        const bb: Bbox = [bbox[0] + b.x * ps, bbox[3] - (b.y + b.h) * ps, bbox[0] + (b.x + b.w) * ps, bbox[3] - b.y * ps];
        const { data } = await renderRgb(scene, bb, ps);
        if (b.w === width) {
          await fh.write(data, 0, data.length, b.y * rowBytes);
        } else {
          const bRow = b.w * 3;
          for (let r = 0; r < b.h; r++) await fh.write(data, r * bRow, bRow, (b.y + r) * rowBytes + b.x * 3);
        }
      },
      options.signal,
    );
  } finally {
    await fh.close();
  }
  return { width, height };
}

/** A VRT describing a raw pixel-interleaved file (so GDAL can read it without a copy). */
export function rawVrt(rawFile: string, width: number, height: number, bands: number, dataType: 'Byte' | 'UInt16' = 'Byte'): string {
  const bytes = dataType === 'Byte' ? 1 : 2;
  const interp = bands >= 3 ? ['Red', 'Green', 'Blue', 'Alpha'] : ['Gray'];
  const b = Array.from(
    { length: bands },
    (_, i) =>
      `<VRTRasterBand dataType="${dataType}" band="${i + 1}" subClass="VRTRawRasterBand"><ColorInterp>${interp[i] ?? 'Undefined'}</ColorInterp>` +
      `<SourceFilename relativeToVRT="1">${basename(rawFile)}</SourceFilename><ImageOffset>${i * bytes}</ImageOffset>` +
      `<PixelOffset>${bands * bytes}</PixelOffset><LineOffset>${width * bands * bytes}</LineOffset><ByteOrder>LSB</ByteOrder></VRTRasterBand>`,
  ).join('');
  return `<VRTDataset rasterXSize="${width}" rasterYSize="${height}">${b}</VRTDataset>`;
}

/** `gdal_translate` creation options of a producer-style delivery. */
export function deliveryCreationOptions(format: DalleFormat, jpegQuality = 90): string[] {
  if (format === 'jp2') {
    // CODEC=JP2: the JP2 container (with GeoJP2/GMLJP2 boxes); the driver would pick a bare J2K
    // codestream, without georeferencing, for the temporary file name, which does not end in .jp2.
    return ['-of', 'JP2OpenJPEG', '-co', 'CODEC=JP2', '-co', 'QUALITY=12', '-co', 'REVERSIBLE=NO', '-co', 'YCC=YES', '-co', 'BLOCKXSIZE=1024', '-co', 'BLOCKYSIZE=1024'];
  }
  return ['-of', 'GTiff', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=256', '-co', 'BLOCKYSIZE=256', '-co', 'COMPRESS=JPEG', '-co', 'PHOTOMETRIC=YCBCR', '-co', `JPEG_QUALITY=${jpegQuality}`, '-co', 'NUM_THREADS=ALL_CPUS'];
}

/** Throws `UserError('jp2-unsupported')` when the installed GDAL cannot write JPEG 2000. */
export async function assertFormatSupported(format: DalleFormat): Promise<void> {
  if (format !== 'jp2') return;
  const drivers = await gdalDrivers();
  if (!drivers.has('JP2OpenJPEG')) {
    throw new UserError('jp2-unsupported', 'this GDAL has no JPEG 2000 writer (JP2OpenJPEG driver), cannot write .jp2 dalles', {
      hint: 'write GeoTIFF dalles instead (format "tif"), or install a GDAL built with OpenJPEG (Debian: libgdal with libopenjp2)',
    });
  }
}

/** Temporary sibling of a final path: hidden, carries the pid so stale ones can be recognised. */
export function tempPathFor(finalPath: string, suffix: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}${suffix}`);
}

export interface EncodeOptions {
  /** Raw interleaved file and its layout. */
  rawPath: string;
  width: number;
  height: number;
  bands: number;
  dataType?: 'Byte' | 'UInt16';
  /** Georeferencing written into the file (upper-left / lower-right corners) and its CRS. */
  bbox: Bbox;
  srs?: string;
  outFile: string;
  /** gdal_translate output options (-of, -co …); default: producer GeoTIFF. */
  creationArgs?: string[];
  /** Extra gdal_translate arguments (e.g. -ot, -scale). */
  extraArgs?: string[];
  overviews?: boolean;
  signal?: AbortSignal;
}

/**
 * Encodes a raw raster with GDAL into `outFile`, atomically (temporary sibling, then rename).
 * Overviews (GeoTIFF only): JPEG/YCbCr, average, factors 2, 4, 8… down to one tile.
 */
export async function encodeRaw(o: EncodeOptions): Promise<void> {
  const vrtPath = `${o.rawPath}.vrt`;
  const tmp = tempPathFor(o.outFile, '');
  try {
    await writeFile(vrtPath, rawVrt(o.rawPath, o.width, o.height, o.bands, o.dataType));
    const [xmin, ymin, xmax, ymax] = o.bbox;
    await runTool(
      'gdal_translate',
      ['-q', '-a_srs', o.srs ?? 'EPSG:2154', '-a_ullr', String(xmin), String(ymax), String(xmax), String(ymin), ...(o.extraArgs ?? []), ...(o.creationArgs ?? deliveryCreationOptions('tif')), vrtPath, tmp],
      { signal: o.signal },
    );
    if (o.overviews) {
      const factors: string[] = [];
      for (let f = 2; Math.max(o.width, o.height) / f >= 256; f *= 2) factors.push(String(f));
      if (factors.length > 0) {
        await runTool(
          'gdaladdo',
          ['-q', '-r', 'average', '--config', 'COMPRESS_OVERVIEW', 'JPEG', '--config', 'PHOTOMETRIC_OVERVIEW', 'YCBCR', '--config', 'INTERLEAVE_OVERVIEW', 'PIXEL', '--config', 'JPEG_QUALITY_OVERVIEW', '90', '--config', 'GDAL_NUM_THREADS', 'ALL_CPUS', tmp, ...factors],
          { signal: o.signal },
        );
      }
    }
    await rename(tmp, o.outFile);
  } finally {
    await rm(vrtPath, { force: true });
    await rm(tmp, { force: true });
  }
}

export interface RenderDalleOptions {
  scene: SyntheticScene;
  /** Extent `[xmin, ymin, xmax, ymax]` in EPSG:2154 metres, on the pixel lattice. */
  bbox: Bbox;
  outFile: string;
  /** Default 0.05 m. */
  pixelSize?: number;
  /** Default 'tif'. */
  format?: DalleFormat;
  /** Internal overviews (GeoTIFF). Default false. */
  overviews?: boolean;
  /** Default 90. */
  jpegQuality?: number;
  /** Blocks rendered at once (default: number of cores, at most 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface RenderedDalle {
  file: string;
  bbox: Bbox;
  width: number;
  height: number;
  bytes: number;
  /** Wall-clock milliseconds. */
  ms: number;
}

/** Renders one dalle and writes it as a delivery file (atomically). */
export async function renderDalle(o: RenderDalleOptions): Promise<RenderedDalle> {
  const t0 = performance.now();
  const format = o.format ?? 'tif';
  await assertFormatSupported(format);
  const ps = o.pixelSize ?? PIXEL_SIZE;
  rasterSize(o.bbox, ps);
  const rawPath = tempPathFor(o.outFile, '.raw');
  try {
    const { width, height } = await renderToRawFile(o.scene, o.bbox, rawPath, { pixelSize: ps, concurrency: o.concurrency, signal: o.signal });
    await encodeRaw({
      rawPath,
      width,
      height,
      bands: 3,
      bbox: o.bbox,
      outFile: o.outFile,
      creationArgs: deliveryCreationOptions(format, o.jpegQuality),
      overviews: format === 'tif' && (o.overviews ?? false),
      signal: o.signal,
    });
    const { size } = await stat(o.outFile);
    return { file: o.outFile, bbox: o.bbox, width, height, bytes: size, ms: performance.now() - t0 };
  } finally {
    await rm(rawPath, { force: true });
  }
}
