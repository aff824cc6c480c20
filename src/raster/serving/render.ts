import { levelForResolution, TMS_2154_5CM } from '../../grid/tile-matrix-set.js';
import { MAX_LEVEL, MIN_LEVEL, ORIGIN_Y, TILE, cellSize } from '../pyramid/layout.js';

/**
 * Rendering of any output grid (a WebMercatorQuad tile, a WMS GetMap in any CRS) from the 2154_5cm
 * pyramid: the output pixel → Lambert-93 mapping is evaluated with proj4 on a coarse grid (every
 * GRID_STEP px) and interpolated bilinearly in between (sub-millimetre error at these scales:
 * the projections are smooth over a few metres), then each output pixel is sampled bilinearly from
 * the pyramid level nearest the output resolution. Coverage follows the nearest source pixel,
 * colour is averaged over covered neighbours only (no dark fringes at coverage edges).
 */
export const GRID_STEP = 16;
/** Safety bound on the tiles one rendering may read (a distorted request steps to coarser levels). */
export const MAX_RENDER_TILES = 400;

export interface RenderTile {
  col: number;
  row: number;
}

export interface RenderPlan {
  width: number;
  height: number;
  level: number;
  minCol: number;
  minRow: number;
  ncols: number;
  nrows: number;
  /** Level pixel coordinates (from the matrix origin) of the grid nodes: [gx, gy] pairs, NaN outside. */
  nodes: Float64Array;
  nodeX: number[];
  nodeY: number[];
  /** The tiles of the range, row by row (the renderer reads them; null ones are skipped). */
  tiles: RenderTile[];
}

function nodePositions(size: number, step: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < size; p += step) out.push(p);
  out.push(size);
  return out;
}

/**
 * Plans a rendering: `toL93(px, py)` maps an output position (pixel-edge coordinates, 0…width)
 * to Lambert-93, or null where it has no image. `rounding`: 'finer' never upsamples (PM tiles),
 * 'closest' reads the fewest tiles (WMS). `step`: grid spacing in output pixels (a coarser grid is
 * only right where the mapping is affine over a step: see `affineJob`, which checks it).
 */
export function planRender(width: number, height: number, toL93: (px: number, py: number) => readonly [number, number] | null, rounding: 'closest' | 'finer', step = GRID_STEP): RenderPlan | null {
  const nodeX = nodePositions(width, step);
  const nodeY = nodePositions(height, step);
  const l93 = new Float64Array(nodeX.length * nodeY.length * 2).fill(NaN);
  nodeY.forEach((py, j) =>
    nodeX.forEach((px, i) => {
      let p: readonly [number, number] | null = null;
      try {
        p = toL93(px, py);
      } catch {
        p = null;
      }
      if (p && Number.isFinite(p[0]) && Number.isFinite(p[1])) {
        l93[(j * nodeX.length + i) * 2] = p[0];
        l93[(j * nodeX.length + i) * 2 + 1] = p[1];
      }
    }),
  );
  // Resolution: mean ground distance between horizontally and vertically adjacent nodes.
  let dist = 0;
  let span = 0;
  const at = (i: number, j: number) => (j * nodeX.length + i) * 2;
  for (let j = 0; j < nodeY.length; j++) {
    for (let i = 0; i < nodeX.length; i++) {
      const a = at(i, j);
      if (Number.isNaN(l93[a] as number)) continue;
      if (i + 1 < nodeX.length && !Number.isNaN(l93[at(i + 1, j)] as number)) {
        dist += Math.hypot((l93[at(i + 1, j)] as number) - (l93[a] as number), (l93[at(i + 1, j) + 1] as number) - (l93[a + 1] as number));
        span += (nodeX[i + 1] as number) - (nodeX[i] as number);
      }
      if (j + 1 < nodeY.length && !Number.isNaN(l93[at(i, j + 1)] as number)) {
        dist += Math.hypot((l93[at(i, j + 1)] as number) - (l93[a] as number), (l93[at(i, j + 1) + 1] as number) - (l93[a + 1] as number));
        span += (nodeY[j + 1] as number) - (nodeY[j] as number);
      }
    }
  }
  if (span === 0 || !(dist > 0)) return null;
  let level = Math.min(MAX_LEVEL, Math.max(MIN_LEVEL, levelForResolution(TMS_2154_5CM, dist / span, rounding)));
  for (;;) {
    const cell = cellSize(level);
    const nodes = new Float64Array(l93.length);
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let k = 0; k < l93.length; k += 2) {
      const gx = (l93[k] as number) / cell;
      const gy = (ORIGIN_Y - (l93[k + 1] as number)) / cell;
      nodes[k] = gx;
      nodes[k + 1] = gy;
      if (Number.isNaN(gx)) continue;
      minX = Math.min(minX, gx);
      maxX = Math.max(maxX, gx);
      minY = Math.min(minY, gy);
      maxY = Math.max(maxY, gy);
    }
    const tm = TMS_2154_5CM.tileMatrices[level];
    if (!tm) return null;
    const minCol = Math.max(0, Math.floor((minX - 1) / TILE));
    const maxCol = Math.min(tm.matrixWidth - 1, Math.floor((maxX + 1) / TILE));
    const minRow = Math.max(0, Math.floor((minY - 1) / TILE));
    const maxRow = Math.min(tm.matrixHeight - 1, Math.floor((maxY + 1) / TILE));
    if (minCol > maxCol || minRow > maxRow) return null;
    const ncols = maxCol - minCol + 1;
    const nrows = maxRow - minRow + 1;
    if (ncols * nrows > MAX_RENDER_TILES && level > MIN_LEVEL) {
      level--;
      continue;
    }
    const tiles: RenderTile[] = [];
    for (let row = minRow; row <= maxRow; row++) for (let col = minCol; col <= maxCol; col++) tiles.push({ col, row });
    return { width, height, level, minCol, minRow, ncols, nrows, nodes, nodeX, nodeY, tiles };
  }
}

/**
 * Renders a plan: `tiles[i]` is the decoded RGBA (256² × 4, alpha = coverage) of `plan.tiles[i]`,
 * or null. Returns RGBA width × height and the number of covered output pixels. The inner loop
 * steps the source position linearly inside each grid cell and takes a fast path when the four
 * neighbours lie in one covered tile (the common case); edges of tiles and coverage go the slow way.
 */
export function renderPlan(plan: RenderPlan, tiles: ReadonlyArray<Buffer | null>): { rgba: Buffer; covered: number } {
  const { width, height, nodes, nodeX, nodeY, ncols, nrows } = plan;
  const out = Buffer.alloc(width * height * 4);
  const gw = nodeX.length;
  const ox = plan.minCol * TILE + 0.5;
  const oy = plan.minRow * TILE + 0.5;
  const maxX = ncols * TILE;
  const maxY = nrows * TILE;
  const rowGx = new Float64Array(gw);
  const rowGy = new Float64Array(gw);
  let covered = 0;
  for (let py = 0; py < height; py++) {
    const cy = py + 0.5;
    const j = Math.min(nodeY.length - 2, Math.floor(cy / ((nodeY[1] as number) - (nodeY[0] as number))));
    const y0n = nodeY[j] as number;
    const v = (cy - y0n) / ((nodeY[j + 1] as number) - y0n);
    for (let i = 0; i < gw; i++) {
      const a = (j * gw + i) * 2;
      const c = a + gw * 2;
      rowGx[i] = (nodes[a] as number) * (1 - v) + (nodes[c] as number) * v - ox;
      rowGy[i] = (nodes[a + 1] as number) * (1 - v) + (nodes[c + 1] as number) * v - oy;
    }
    let q = py * width * 4;
    for (let i = 0; i < gw - 1; i++) {
      const x0n = nodeX[i] as number;
      const x1n = nodeX[i + 1] as number;
      const span = x1n - x0n;
      const ax = rowGx[i] as number;
      const ay = rowGy[i] as number;
      const dx = ((rowGx[i + 1] as number) - ax) / span;
      const dy = ((rowGy[i + 1] as number) - ay) / span;
      if (Number.isNaN(ax) || Number.isNaN(dx) || Number.isNaN(ay) || Number.isNaN(dy)) {
        q += span * 4;
        continue;
      }
      let sx = ax + dx * 0.5;
      let sy = ay + dy * 0.5;
      for (let px = x0n; px < x1n; px++, sx += dx, sy += dy, q += 4) {
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        if (x0 >= 0 && y0 >= 0 && x0 + 1 < maxX && y0 + 1 < maxY && (x0 & 255) !== 255 && (y0 & 255) !== 255) {
          const t = tiles[(y0 >> 8) * ncols + (x0 >> 8)];
          if (!t) continue;
          const o = (((y0 & 255) << 8) | (x0 & 255)) * 4;
          const o2 = o + 1024;
          if ((t[o + 3] as number) >= 128 && (t[o + 7] as number) >= 128 && (t[o2 + 3] as number) >= 128 && (t[o2 + 7] as number) >= 128) {
            const fx = sx - x0;
            const fy = sy - y0;
            const w00 = (1 - fx) * (1 - fy);
            const w10 = fx * (1 - fy);
            const w01 = (1 - fx) * fy;
            const w11 = fx * fy;
            out[q] = ((t[o] as number) * w00 + (t[o + 4] as number) * w10 + (t[o2] as number) * w01 + (t[o2 + 4] as number) * w11 + 0.5) | 0;
            out[q + 1] = ((t[o + 1] as number) * w00 + (t[o + 5] as number) * w10 + (t[o2 + 1] as number) * w01 + (t[o2 + 5] as number) * w11 + 0.5) | 0;
            out[q + 2] = ((t[o + 2] as number) * w00 + (t[o + 6] as number) * w10 + (t[o2 + 2] as number) * w01 + (t[o2 + 6] as number) * w11 + 0.5) | 0;
            out[q + 3] = 255;
            covered++;
            continue;
          }
        }
        if (samplePixel(tiles, ncols, maxX, maxY, sx, sy, out, q)) covered++;
      }
    }
  }
  return { rgba: out, covered };
}

/** General bilinear sample across tile and coverage edges: coverage from the nearest pixel, colour from covered neighbours. */
function samplePixel(tiles: ReadonlyArray<Buffer | null>, ncols: number, maxX: number, maxY: number, sx: number, sy: number, out: Buffer, q: number): boolean {
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  const nx = fx < 0.5 ? x0 : x0 + 1;
  const ny = fy < 0.5 ? y0 : y0 + 1;
  if (nx < 0 || ny < 0 || nx >= maxX || ny >= maxY) return false;
  const nt = tiles[(ny >> 8) * ncols + (nx >> 8)];
  if (!nt || (nt[(((ny & 255) << 8) | (nx & 255)) * 4 + 3] as number) < 128) return false;
  let r = 0;
  let g = 0;
  let b = 0;
  let ws = 0;
  for (let k = 0; k < 4; k++) {
    const xk = x0 + (k & 1);
    const yk = y0 + (k >> 1);
    if (xk < 0 || yk < 0 || xk >= maxX || yk >= maxY) continue;
    const t = tiles[(yk >> 8) * ncols + (xk >> 8)];
    if (!t) continue;
    const o = (((yk & 255) << 8) | (xk & 255)) * 4;
    if ((t[o + 3] as number) < 128) continue;
    const w = (k & 1 ? fx : 1 - fx) * (k >> 1 ? fy : 1 - fy);
    r += w * (t[o] as number);
    g += w * (t[o + 1] as number);
    b += w * (t[o + 2] as number);
    ws += w;
  }
  if (ws <= 0) return false;
  out[q] = (r / ws + 0.5) | 0;
  out[q + 1] = (g / ws + 0.5) | 0;
  out[q + 2] = (b / ws + 0.5) | 0;
  out[q + 3] = 255;
  return true;
}

/**
 * Where one rendered tile is an affine image of its source level (WebMercatorQuad tiles: the
 * 3857 → 2154 map is affine to far under a pixel over 256 px): the resampling runs in libvips
 * (`affine`, bilinear) on a mosaic of the source tiles instead of per pixel in JS.
 *
 * libvips convention (checked by the tests with impulses): integer coordinates are pixel centres;
 * `X = M·(x + idx) + odx`; the output image spans the bounding box of M applied to the input
 * rectangle [0, w] × [0, h] (offsets not included), its top-left pixel being
 * (rint(min x), rint(min y)) in transformed coordinates and its size rint(extent).
 */
export interface AffineJob {
  /** Source window, in mosaic pixels of the plan's tile range (`minCol·256`, `minRow·256` = 0). */
  crop: { left: number; top: number; width: number; height: number };
  /** Forward matrix [a, b, c, d] (source → output pixel centres) and offsets for sharp's `affine`. */
  matrix: [number, number, number, number];
  idx: number;
  idy: number;
  odx: number;
  ody: number;
  /** Where the output tile lies in libvips' output image. */
  extract: { left: number; top: number; width: number; height: number };
  /** Inverse map for `resampleAffineRgb`: crop pixel centre s = A·p + c of output pixel centre p; A = [a00, a01, a10, a11]. */
  inverse: { a: [number, number, number, number]; c: [number, number] };
}

/** Largest tolerated deviation (source pixels) of any grid node from the affine fit. */
export const AFFINE_TOLERANCE = 0.05;

/**
 * The affine job of a plan, or null when the plan is not affine enough (or its nodes are not all
 * defined): the caller then renders with `renderPlan`.
 */
export function affineJob(plan: RenderPlan): AffineJob | null {
  const { nodes, nodeX, nodeY, width, height } = plan;
  const gw = nodeX.length;
  const gh = nodeY.length;
  for (let k = 0; k < nodes.length; k++) if (!Number.isFinite(nodes[k] as number)) return null;
  const at = (i: number, j: number): [number, number] => [nodes[(j * gw + i) * 2] as number, nodes[(j * gw + i) * 2 + 1] as number];
  // g = A·e + t, e in output pixel-edge coordinates, g in level pixel-edge coordinates.
  const [tx, ty] = at(0, 0);
  const [rx, ry] = at(gw - 1, 0);
  const [bx, by] = at(0, gh - 1);
  const a00 = (rx - tx) / width;
  const a10 = (ry - ty) / width;
  const a01 = (bx - tx) / height;
  const a11 = (by - ty) / height;
  for (let j = 0; j < gh; j++) {
    for (let i = 0; i < gw; i++) {
      const [gx, gy] = at(i, j);
      const ex = nodeX[i] as number;
      const ey = nodeY[j] as number;
      if (Math.abs(a00 * ex + a01 * ey + tx - gx) > AFFINE_TOLERANCE || Math.abs(a10 * ex + a11 * ey + ty - gy) > AFFINE_TOLERANCE) return null;
    }
  }
  const det = a00 * a11 - a01 * a10;
  if (!(Math.abs(det) > 1e-9)) return null;
  // Source pixel centre s (mosaic index) of output pixel centre p: s = A·p + c.
  const ox = plan.minCol * TILE;
  const oy = plan.minRow * TILE;
  const cx = a00 * 0.5 + a01 * 0.5 + tx - ox - 0.5;
  const cy = a10 * 0.5 + a11 * 0.5 + ty - oy - 0.5;
  // Source window: the tile's corners mapped back, 2 px of margin for the bilinear kernel.
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [px, py] of [
    [-0.5, -0.5],
    [width - 0.5, -0.5],
    [-0.5, height - 0.5],
    [width - 0.5, height - 0.5],
  ] as const) {
    xs.push(a00 * px + a01 * py + cx);
    ys.push(a10 * px + a11 * py + cy);
  }
  const left = Math.max(0, Math.floor(Math.min(...xs)) - 2);
  const top = Math.max(0, Math.floor(Math.min(...ys)) - 2);
  const right = Math.min(plan.ncols * TILE, Math.ceil(Math.max(...xs)) + 3);
  const bottom = Math.min(plan.nrows * TILE, Math.ceil(Math.max(...ys)) + 3);
  if (right - left < 2 || bottom - top < 2) return null;
  const crop = { left, top, width: right - left, height: bottom - top };
  // Forward matrix M = A⁻¹; p = M·(x + idx) with x the crop pixel and idx = crop origin − c.
  const m: [number, number, number, number] = [a11 / det, -a01 / det, -a10 / det, a00 / det];
  const idx = left - cx;
  const idy = top - cy;
  // Content at transformed T = p + odx; odx integer so that p lands on whole output pixels.
  const mix = m[0] * idx + m[1] * idy;
  const miy = m[2] * idx + m[3] * idy;
  const odx = Math.round(-mix);
  const ody = Math.round(-miy);
  // libvips' output area: bbox of M·[0, w] × [0, h] (no offsets).
  const cw = crop.width;
  const ch = crop.height;
  const txs = [0, m[0] * cw, m[1] * ch, m[0] * cw + m[1] * ch];
  const tys = [0, m[2] * cw, m[3] * ch, m[2] * cw + m[3] * ch];
  const areaLeft = Math.round(Math.min(...txs));
  const areaTop = Math.round(Math.min(...tys));
  const outW = Math.round(Math.max(...txs) - Math.min(...txs));
  const outH = Math.round(Math.max(...tys) - Math.min(...tys));
  const extract = { left: odx - areaLeft, top: ody - areaTop, width, height };
  if (extract.left < 0 || extract.top < 0 || extract.left + width > outW || extract.top + height > outH) return null;
  return { crop, matrix: m, idx, idy, odx, ody, extract, inverse: { a: [a00, a01, a10, a11], c: [cx - left, cy - top] } };
}

/**
 * Bilinear resampling of an affine job from its RGB crop mosaic (fully covered), in JS: one
 * multiply-add per channel and tap, the source position stepped linearly along each row. Measured
 * ~2× cheaper than libvips' general `affine` (which maps every pixel through a 2×2 matrix and an
 * interpolator call) on 256² tiles, and it needs no second pass to crop libvips' output area.
 */
export function resampleAffineRgb(job: AffineJob, mosaic: Buffer, width: number, height: number): Buffer {
  const out = Buffer.allocUnsafe(width * height * 3);
  const [a00, a01, a10, a11] = job.inverse.a;
  const [c0, c1] = job.inverse.c;
  const maxX = job.crop.width - 2;
  const maxY = job.crop.height - 2;
  const stride = job.crop.width * 3;
  // 16.16 fixed point positions, 8-bit weights (as libvips' bilinear): integer arithmetic only.
  const dxF = Math.round(a00 * 65536);
  const dyF = Math.round(a10 * 65536);
  let q = 0;
  for (let py = 0; py < height; py++) {
    const sx0 = a01 * py + c0;
    const sy0 = a11 * py + c1;
    const sx1 = sx0 + a00 * (width - 1);
    const sy1 = sy0 + a10 * (width - 1);
    if (Math.min(sx0, sx1) >= 0 && Math.max(sx0, sx1) < maxX && Math.min(sy0, sy1) >= 0 && Math.max(sy0, sy1) < maxY) {
      let sx = Math.round(sx0 * 65536);
      let sy = Math.round(sy0 * 65536);
      for (let px = 0; px < width; px++, sx += dxF, sy += dyF, q += 3) {
        const fx = (sx >> 8) & 255;
        const fy = (sy >> 8) & 255;
        const w11 = fx * fy;
        const w10 = (fx << 8) - w11;
        const w01 = (fy << 8) - w11;
        const w00 = 65536 - (fx << 8) - (fy << 8) + w11;
        const o = (sy >> 16) * stride + (sx >> 16) * 3;
        const o2 = o + stride;
        out[q] = ((mosaic[o] as number) * w00 + (mosaic[o + 3] as number) * w10 + (mosaic[o2] as number) * w01 + (mosaic[o2 + 3] as number) * w11 + 32768) >> 16;
        out[q + 1] = ((mosaic[o + 1] as number) * w00 + (mosaic[o + 4] as number) * w10 + (mosaic[o2 + 1] as number) * w01 + (mosaic[o2 + 4] as number) * w11 + 32768) >> 16;
        out[q + 2] = ((mosaic[o + 2] as number) * w00 + (mosaic[o + 5] as number) * w10 + (mosaic[o2 + 2] as number) * w01 + (mosaic[o2 + 5] as number) * w11 + 32768) >> 16;
      }
      continue;
    }
    // A row touching the crop's border (not met with the 2 px margins; kept for safety): clamped, in floats.
    let sx = sx0;
    let sy = sy0;
    for (let px = 0; px < width; px++, sx += a00, sy += a10, q += 3) {
      const x0 = Math.min(maxX, Math.max(0, Math.floor(sx)));
      const y0 = Math.min(maxY, Math.max(0, Math.floor(sy)));
      const fx = Math.min(1, Math.max(0, sx - x0));
      const fy = Math.min(1, Math.max(0, sy - y0));
      const o = y0 * stride + x0 * 3;
      const o2 = o + stride;
      for (let k = 0; k < 3; k++) {
        out[q + k] = ((mosaic[o + k] as number) * (1 - fx) * (1 - fy) + (mosaic[o + 3 + k] as number) * fx * (1 - fy) + (mosaic[o2 + k] as number) * (1 - fx) * fy + (mosaic[o2 + 3 + k] as number) * fx * fy + 0.5) | 0;
      }
    }
  }
  return out;
}

/**
 * The crop window of an affine job as one RGB mosaic, from the plan's decoded RGB tiles (all
 * present). `into`: a scratch buffer to fill when large enough (the caller must be done with the
 * mosaic before reusing it: `resampleAffineRgb` is synchronous).
 */
export function mosaicRgb(plan: RenderPlan, crop: AffineJob['crop'], tiles: ReadonlyArray<Buffer | null>, into?: Buffer): Buffer {
  const size = crop.width * crop.height * 3;
  const out = into && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size);
  for (let y = 0; y < crop.height; y++) {
    const my = crop.top + y;
    const trow = my >> 8;
    const ty = my & 255;
    let x = crop.left;
    const end = crop.left + crop.width;
    while (x < end) {
      const tcol = x >> 8;
      const segEnd = Math.min(end, (tcol + 1) * TILE);
      const t = tiles[trow * plan.ncols + tcol] as Buffer;
      t.copy(out, (y * crop.width + (x - crop.left)) * 3, (ty * TILE + (x & 255)) * 3, (ty * TILE + (segEnd - tcol * TILE)) * 3);
      x = segEnd;
    }
  }
  return out;
}
