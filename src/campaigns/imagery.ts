import path from 'node:path';
import type { Version } from '../catalog/catalog.js';
import type { AppContext } from '../context/app-context.js';
import type { Bbox } from '../grid/bbox.js';
import { PyramidReader } from '../raster/pyramid/pyramid-reader.js';
import { CURRENT_LAYER, ORTHO_DATASET, type RasterLayer } from '../raster/serving/layers.js';
import { planRender } from '../raster/serving/render.js';
import { RasterTileService } from '../raster/serving/tile-service.js';

/** Pixels per side of the low-resolution renders that score a dalle's change (≈ 3 m for 200 m, 16 m for 1 km). */
const CHANGE_PX = 64;
/** Mean |ΔR|, |ΔG|, |ΔB| above which a pixel counts as changed (JPEG and resampling noise stay far below). */
const CHANGED_PIXEL = 24;

/** Resolution of the seam strips (m/px): pyramid level 20, fine enough for a street's colour. */
const SEAM_RESOLUTION = 0.2;
/** Depth of the strips on each side of an edge (m). */
const SEAM_DEPTH = 2;
/** Edges are compared by pieces of this length (m); the median piece scores the edge (a road crossing it does not). */
const SEAM_PIECE = 10;

export interface SeamScore {
  /** Largest edge score (0–255), null when no edge has imagery across it. */
  score: number | null;
  /** The edge with that score. */
  edge: 'north' | 'south' | 'east' | 'west' | null;
}

/**
 * Reads the orthophoto's pyramid as RGBA over Lambert-93 areas — the current orthophoto (published
 * versions, newest first) or one version, published or not (a campaign's) — through the tile
 * service's own renderer.
 */
export class OrthoSampler {
  private readonly reader: PyramidReader;
  private readonly tiles: RasterTileService;

  constructor(ctx: Pick<AppContext, 'db' | 'tiers' | 'config'>) {
    this.reader = new PyramidReader(ctx.db, ctx.tiers.hot, { quality: ctx.config.pyramid.jpegQuality, catalogTtlMs: 0 });
    this.tiles = new RasterTileService(this.reader, { cacheDir: path.join(ctx.config.dataDir, 'cache'), pmCacheBytes: 0, quality: ctx.config.pyramid.jpegQuality });
  }

  /** RGBA (width × height × 4, alpha 0 where there is no image) of `bbox`; null when nothing is there. */
  async rgba(version: Version | null, bbox: Bbox, width: number, height: number): Promise<Buffer | null> {
    const layer: RasterLayer = { id: version ? `${CURRENT_LAYER}.${version.name}` : CURRENT_LAYER, title: '', abstract: '', datasetId: ORTHO_DATASET, version, bbox: null };
    const [xmin, ymin, xmax, ymax] = bbox;
    const plan = planRender(width, height, (px, py) => [xmin + (px * (xmax - xmin)) / width, ymax - (py * (ymax - ymin)) / height], 'closest');
    if (!plan) return null;
    return (await this.tiles.renderArea(layer, plan))?.rgba ?? null;
  }

  /**
   * How a dalle of `version` matches the current orthophoto at its edges. Where the current
   * orthophoto has imagery across an edge (a seam there once published), the strip of `SEAM_DEPTH`
   * inside the edge is compared with the current orthophoto over the same strip — the radiometric
   * shift between the surveys, what a viewer sees as a seam, without the scene's own contrast across
   * the edge (a street along it) — or, where the current orthophoto has nothing under the dalle,
   * with the strip across the edge. Strips are cut into pieces; a piece with both sides mostly
   * covered scores the mean of |ΔR|, |ΔG|, |ΔB| between their mean colours; the edge scores its
   * median piece, the dalle its worst edge.
   */
  async seam(version: Version, dalle: Bbox): Promise<SeamScore> {
    const [x0, y0, x1, y1] = dalle;
    const d = SEAM_DEPTH;
    const edges: Array<{ edge: NonNullable<SeamScore['edge']>; inside: Bbox; outside: Bbox; along: 'x' | 'y' }> = [
      { edge: 'north', inside: [x0, y1 - d, x1, y1], outside: [x0, y1, x1, y1 + d], along: 'x' },
      { edge: 'south', inside: [x0, y0, x1, y0 + d], outside: [x0, y0 - d, x1, y0], along: 'x' },
      { edge: 'west', inside: [x0, y0, x0 + d, y1], outside: [x0 - d, y0, x0, y1], along: 'y' },
      { edge: 'east', inside: [x1 - d, y0, x1, y1], outside: [x1, y0, x1 + d, y1], along: 'y' },
    ];
    let best: SeamScore = { score: null, edge: null };
    for (const e of edges) {
      const lengthPx = Math.round((e.along === 'x' ? x1 - x0 : y1 - y0) / SEAM_RESOLUTION);
      const depthPx = Math.round(d / SEAM_RESOLUTION);
      const [w, h] = e.along === 'x' ? [lengthPx, depthPx] : [depthPx, lengthPx];
      const across = await this.rgba(null, e.outside, w, h);
      if (!across || coverage(across) < 0.5) continue;
      const inside = await this.rgba(version, e.inside, w, h);
      if (!inside) continue;
      const before = await this.rgba(null, e.inside, w, h);
      const score = edgeScore(inside, before, across, w, h, e.along, Math.round(SEAM_PIECE / SEAM_RESOLUTION));
      if (score !== null && (best.score === null || score > best.score)) best = { score, edge: e.edge };
    }
    return best;
  }

  /**
   * How much of a dalle changed between `version` and the current orthophoto (before the version
   * is published: what it replaces), from renders of `CHANGE_PX`² pixels — the pyramid's low
   * levels, not the masters: the share of the pixels covered by both whose colour moved by more
   * than `CHANGED_PIXEL`. Null where the current orthophoto has nothing (a new area).
   */
  async changeScore(version: Version, dalle: Bbox): Promise<number | null> {
    const after = await this.rgba(version, dalle, CHANGE_PX, CHANGE_PX);
    const before = await this.rgba(null, dalle, CHANGE_PX, CHANGE_PX);
    if (!after || !before) return null;
    let both = 0;
    let changed = 0;
    for (let o = 0; o < after.length; o += 4) {
      if ((after[o + 3] as number) === 0 || (before[o + 3] as number) === 0) continue;
      both++;
      const d = Math.abs((after[o] as number) - (before[o] as number)) + Math.abs((after[o + 1] as number) - (before[o + 1] as number)) + Math.abs((after[o + 2] as number) - (before[o + 2] as number));
      if (d / 3 > CHANGED_PIXEL) changed++;
    }
    if (both < (CHANGE_PX * CHANGE_PX) / 4) return null;
    return Math.round((changed / both) * 10_000) / 10_000;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}

/** The median piece score of an edge (see `OrthoSampler.seam`), null when no piece has both sides. */
export function edgeScore(inside: Buffer, outsideFirst: Buffer | null, outsideElse: Buffer | null, w: number, h: number, along: 'x' | 'y', piecePx: number): number | null {
  const length = along === 'x' ? w : h;
  const depth = along === 'x' ? h : w;
  const scores: number[] = [];
  for (let start = 0; start < length; start += piecePx) {
    const end = Math.min(length, start + piecePx);
    const a = [0, 0, 0, 0];
    const b = [0, 0, 0, 0];
    for (let i = start; i < end; i++) {
      for (let j = 0; j < depth; j++) {
        const o = ((along === 'x' ? j * w + i : i * w + j) * 4) as number;
        if ((inside[o + 3] as number) > 0) add(a, inside, o);
        if (outsideFirst && (outsideFirst[o + 3] as number) > 0) add(b, outsideFirst, o);
        else if (outsideElse && (outsideElse[o + 3] as number) > 0) add(b, outsideElse, o);
      }
    }
    const need = ((end - start) * depth) / 2;
    if ((a[3] as number) < need || (b[3] as number) < need) continue;
    let diff = 0;
    for (let c = 0; c < 3; c++) diff += Math.abs((a[c] as number) / (a[3] as number) - (b[c] as number) / (b[3] as number));
    scores.push(diff / 3);
  }
  if (scores.length === 0) return null;
  scores.sort((p, q) => p - q);
  const mid = scores.length >> 1;
  const median = scores.length % 2 ? (scores[mid] as number) : ((scores[mid - 1] as number) + (scores[mid] as number)) / 2;
  return Math.round(median * 10) / 10;
}

/** Share of the pixels with an image (alpha > 0). */
function coverage(rgba: Buffer): number {
  let n = 0;
  for (let o = 3; o < rgba.length; o += 4) if ((rgba[o] as number) > 0) n++;
  return n / (rgba.length / 4);
}

function add(sum: number[], px: Buffer, o: number): void {
  sum[0] = (sum[0] as number) + (px[o] as number);
  sum[1] = (sum[1] as number) + (px[o + 1] as number);
  sum[2] = (sum[2] as number) + (px[o + 2] as number);
  sum[3] = (sum[3] as number) + 1;
}
