import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { transformPoint } from '../../grid/crs.js';
import { tileBbox, type TileMatrixSet } from '../../grid/tile-matrix-set.js';
import type { PyramidReader, StoredTile } from '../pyramid/pyramid-reader.js';
import { decodeTile } from '../pyramid/tiles.js';
import { Lru } from '../../util/lru.js';
import { Semaphore } from '../../util/pool.js';
import type { RasterLayer } from './layers.js';
import { affineJob, mosaicRgb, planRender, renderPlan, resampleAffineRgb, type RenderPlan } from './render.js';

export type TileFormat = 'jpeg' | 'png' | 'webp';
export const FORMAT_MIME: Record<TileFormat, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };
export const FORMAT_EXT: Record<TileFormat, string> = { jpeg: 'jpeg', png: 'png', webp: 'webp' };

/** `image/jpeg`, `jpeg`, `jpg`, `image/png; mode=8bit`, … → format, or null. */
export function parseFormat(text: string | undefined): TileFormat | null {
  if (!text) return null;
  const t = text.trim().toLowerCase().split(';')[0]?.trim() ?? '';
  if (t === 'image/jpeg' || t === 'jpeg' || t === 'jpg' || t === 'image/jpg') return 'jpeg';
  if (t === 'image/png' || t === 'png') return 'png';
  if (t === 'image/webp' || t === 'webp') return 'webp';
  return null;
}

export interface TileAnswer {
  body: Buffer;
  contentType: string;
  etag: string;
}

/**
 * Bounded on-disk cache of rendered tiles, content-addressed (the key hashes the contributing
 * pyramid tiles' ETags, so an entry can never be stale: new data = new key). Least recently
 * written/read entries are evicted beyond `maxBytes`.
 */
export class DiskTileCache {
  private readonly entries = new Map<string, number>();
  private total = 0;
  private readonly ready: Promise<void>;

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
  ) {
    this.ready = this.scan().catch(() => undefined);
  }

  private async scan(): Promise<void> {
    for (const sub of await readdir(this.dir).catch(() => [] as string[])) {
      for (const f of await readdir(path.join(this.dir, sub)).catch(() => [] as string[])) {
        const p = path.join(this.dir, sub, f);
        if (f.includes('.tmp')) {
          await unlink(p).catch(() => undefined);
          continue;
        }
        const s = await stat(p).catch(() => null);
        if (s && !this.entries.has(p)) {
          this.entries.set(p, s.size);
          this.total += s.size;
        }
      }
    }
  }

  private pathOf(key: string): string {
    return path.join(this.dir, key.slice(0, 2), key);
  }

  async get(key: string): Promise<Buffer | null> {
    const p = this.pathOf(key);
    try {
      const body = await readFile(p);
      const size = this.entries.get(p);
      if (size !== undefined) {
        this.entries.delete(p);
        this.entries.set(p, size);
      }
      return body;
    } catch {
      return null;
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    if (this.maxBytes <= 0) return;
    await this.ready;
    const p = this.pathOf(key);
    const tmp = `${p}.tmp${process.pid}${Math.random().toString(36).slice(2, 6)}`;
    try {
      // The directory exists but for the first entries of a prefix: mkdir only when the write says so.
      await writeFile(tmp, body).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
        await mkdir(path.dirname(p), { recursive: true });
        await writeFile(tmp, body);
      });
      await rename(tmp, p);
    } catch {
      await unlink(tmp).catch(() => undefined);
      return;
    }
    if (!this.entries.has(p)) this.total += body.length;
    this.entries.set(p, body.length);
    while (this.total > this.maxBytes) {
      const [oldest] = this.entries.keys();
      if (oldest === undefined) break;
      this.total -= this.entries.get(oldest) ?? 0;
      this.entries.delete(oldest);
      await unlink(oldest).catch(() => undefined);
    }
  }

  get bytes(): number {
    return this.total;
  }
}

/** RGBA of a stored tile, the mask joined as alpha inside libvips (no per-pixel JS). */
async function decodeRgba(jpeg: Buffer, mask: 'full' | Buffer): Promise<Buffer> {
  const img = sharp(jpeg).removeAlpha();
  const withAlpha = mask === 'full' ? img.ensureAlpha(1) : img.joinChannel(mask, { raw: { width: 256, height: 256, channels: 1 } });
  const { data, info } = await withAlpha.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== 256 || info.height !== 256 || info.channels !== 4) return (await decodeTile(jpeg, mask)).data;
  return data;
}

/** Largest mosaic (bytes) kept between renders as a scratch buffer. */
const MOSAIC_SCRATCH_MAX = 8 << 20;

const withSuffix = (etag: string, suffix: string) => `${etag.slice(0, -1)}-${suffix}"`;

/**
 * Tiles of the raster layers in both tile matrix sets:
 * - `2154_5cm`: the stored tile (JPEG: the bytes as stored; PNG/WebP: decoded with the mask as alpha);
 * - `WebMercatorQuad`: rendered from the 2154 level just finer than the tile, cached on disk.
 * ETags are computed from the pyramid files' cached indexes only, before any tile read; identical
 * concurrent requests share one read/render.
 */
export class RasterTileService {
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly decoded = new Lru<Buffer>(96);
  /** Decoded RGB of fully covered stored tiles (the affine PM path), by ETag. */
  private readonly decodedRgb = new Lru<Buffer>(192);
  private mosaicScratch = Buffer.allocUnsafe(0);
  private readonly pmPlans = new Lru<RenderPlan | null>(2048);
  private emptyPngPromise: Promise<Buffer> | null = null;
  readonly pmCache: DiskTileCache;
  /**
   * Renders (PM tiles, WMS maps) in progress at once: a few more than the cores, so decoding in the
   * threadpool overlaps resampling on the event loop, while the buffers of a burst of requests stay
   * bounded (the others wait their turn).
   */
  readonly renders = new Semaphore(availableParallelism() + 2);

  constructor(
    private readonly reader: PyramidReader,
    private readonly options: { cacheDir: string; pmCacheBytes: number; quality: number },
  ) {
    this.pmCache = new DiskTileCache(path.join(options.cacheDir, 'pm'), options.pmCacheBytes);
    // libvips' operation cache only helps repeated file operations; tiles are one-shot buffers, and
    // the cache (plus per-thread malloc arenas) is most of the process's RSS under load.
    sharp.cache(false);
  }

  private once<T>(key: string, f: () => Promise<T>): Promise<T> {
    let p = this.inflight.get(key) as Promise<T> | undefined;
    if (!p) {
      p = f().finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** A transparent 256² PNG, made once. */
  emptyPng(): Promise<Buffer> {
    this.emptyPngPromise ??= sharp({ create: { width: 256, height: 256, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    return this.emptyPngPromise;
  }

  /** ETag of a stored 2154 tile of the layer (index only), null when the layer has no data there. */
  nativeEtag(layer: RasterLayer, z: number, col: number, row: number): Promise<string | null> {
    if (layer.version) return this.reader.versionTileState(layer.version.id, z, col, row).then((s) => s?.etag ?? null);
    return this.reader.currentTileEtag(layer.datasetId, z, col, row);
  }

  nativeTile(layer: RasterLayer, z: number, col: number, row: number): Promise<StoredTile | null> {
    return this.once(`n:${layer.id}:${z}:${col}:${row}`, () =>
      layer.version ? this.reader.versionTile(layer.version.id, z, col, row) : this.reader.currentTile(layer.datasetId, z, col, row),
    );
  }

  /** Decoded RGBA of a stored tile (alpha = mask), LRU-cached by ETag. */
  private async nativeRgba(layer: RasterLayer, z: number, col: number, row: number, etag: string): Promise<Buffer | null> {
    const hit = this.decoded.get(etag);
    if (hit) return hit;
    return this.once(`d:${etag}`, async () => {
      const t = await this.nativeTile(layer, z, col, row);
      if (!t) return null;
      const data = await decodeRgba(t.jpeg, t.mask);
      this.decoded.set(etag, data);
      return data;
    });
  }

  /** Decoded RGB of a fully covered stored tile; null when absent or partly covered. */
  private async nativeRgbFull(layer: RasterLayer, z: number, col: number, row: number, etag: string): Promise<Buffer | null> {
    const hit = this.decodedRgb.get(etag);
    if (hit) return hit;
    return this.once(`r:${etag}`, async () => {
      const t = await this.nativeTile(layer, z, col, row);
      if (!t || t.mask !== 'full') return null;
      const { data, info } = await sharp(t.jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      if (info.width !== 256 || info.height !== 256 || info.channels !== 3) return null;
      this.decodedRgb.set(etag, data);
      return data;
    });
  }

  /**
   * RGB (plan.width × plan.height × 3) of a plan resampled as one affine map of the mosaic of its
   * source tiles, when the plan is affine and every source tile it needs is present and fully
   * covered; null otherwise (the caller falls back to `renderArea`, which checks coverage per pixel).
   * Decoding runs in the libuv threadpool, in parallel with the resampling of other requests.
   */
  async affineRgb(layer: RasterLayer, plan: RenderPlan, etags?: Array<string | null>): Promise<Buffer | null> {
    const job = affineJob(plan);
    if (!job) return null;
    const needed = (i: number) => {
      const t = plan.tiles[i] as { col: number; row: number };
      const c = (t.col - plan.minCol) * 256;
      const r = (t.row - plan.minRow) * 256;
      return c + 256 > job.crop.left && c < job.crop.left + job.crop.width && r + 256 > job.crop.top && r < job.crop.top + job.crop.height;
    };
    const tags = etags ?? (await this.planEtags(layer, plan));
    if (tags.some((e, i) => e === null && needed(i))) return null;
    const tiles = await Promise.all(plan.tiles.map((t, i) => (needed(i) ? this.nativeRgbFull(layer, plan.level, t.col, t.row, tags[i] as string) : Promise.resolve(null))));
    if (tiles.some((t, i) => t === null && needed(i))) return null;
    // One scratch mosaic for the usual sizes (PM tiles, maps up to ~1 Mpx), filled and resampled
    // synchronously, never across an await; larger maps get their own buffer (no RSS kept for them).
    const size = job.crop.width * job.crop.height * 3;
    const scratch = size <= MOSAIC_SCRATCH_MAX ? this.mosaicScratch : undefined;
    const mosaic = mosaicRgb(plan, job.crop, tiles, scratch);
    if (scratch && mosaic.buffer !== scratch.buffer) this.mosaicScratch = Buffer.allocUnsafe(Math.min(MOSAIC_SCRATCH_MAX, size * 2));
    return resampleAffineRgb(job, mosaic, plan.width, plan.height);
  }

  /** A PM tile by the affine path (see `affineRgb`), encoded; null when that path does not apply. */
  async renderAffine(layer: RasterLayer, plan: RenderPlan, etags: Array<string | null>, format: TileFormat): Promise<Buffer | null> {
    const rgb = await this.affineRgb(layer, plan, etags);
    if (!rgb) return null;
    return this.encodeImage(sharp(rgb, { raw: { width: plan.width, height: plan.height, channels: 3 } }), format);
  }

  async encode(rgba: Buffer, width: number, height: number, format: TileFormat, opaque: boolean): Promise<Buffer> {
    const img = sharp(rgba, { raw: { width, height, channels: 4 } });
    return this.encodeImage(opaque ? img.removeAlpha() : img, format);
  }

  /** The one encoding of rendered tiles: JPEG (alpha flattened on white), PNG, or WebP (alpha kept). */
  private encodeImage(img: Sharp, format: TileFormat): Promise<Buffer> {
    if (format === 'jpeg') return img.flatten({ background: '#ffffff' }).jpeg({ quality: this.options.quality, chromaSubsampling: '4:2:0', optimiseCoding: false }).toBuffer();
    if (format === 'png') return img.png({ compressionLevel: 4 }).toBuffer();
    return img.webp({ quality: this.options.quality, alphaQuality: 100 }).toBuffer();
  }

  /** The rendering plan of a WebMercatorQuad tile over the 2154 pyramid. */
  pmPlan(tms: TileMatrixSet, z: number, x: number, y: number): RenderPlan | null {
    const k = `${tms.id}/${z}/${x}/${y}`;
    const hit = this.pmPlans.get(k);
    if (hit !== undefined) return hit;
    const plan = this.pmPlanUncached(tms, z, x, y);
    this.pmPlans.set(k, plan);
    return plan;
  }

  private pmPlanUncached(tms: TileMatrixSet, z: number, x: number, y: number): RenderPlan | null {
    const [xmin, , , ymax] = tileBbox(tms, z, x, y);
    const tm = tms.tileMatrices[z];
    if (!tm) return null;
    const cell = tm.cellSize;
    const toL93 = (px: number, py: number) => transformPoint('EPSG:3857', 'EPSG:2154', [xmin + px * cell, ymax - py * cell]);
    // 3 × 3 nodes (9 projections instead of 289) where the tile is affine — all tiles at street
    // zooms; `affineJob` checks the centre and edge midpoints against the corners' affine fit.
    const coarse = planRender(256, 256, toL93, 'finer', 128);
    if (coarse && affineJob(coarse)) return coarse;
    return planRender(256, 256, toL93, 'finer');
  }

  private async planEtags(layer: RasterLayer, plan: RenderPlan): Promise<Array<string | null>> {
    return Promise.all(plan.tiles.map((t) => this.nativeEtag(layer, plan.level, t.col, t.row)));
  }

  /** Renders a plan for a layer; null when nothing is covered. */
  async renderArea(layer: RasterLayer, plan: RenderPlan, etags?: Array<string | null>): Promise<{ rgba: Buffer; covered: number } | null> {
    const tags = etags ?? (await this.planEtags(layer, plan));
    if (tags.every((e) => e === null)) return null;
    const tiles = await Promise.all(plan.tiles.map((t, i) => (tags[i] ? this.nativeRgba(layer, plan.level, t.col, t.row, tags[i] as string) : Promise.resolve(null))));
    const out = renderPlan(plan, tiles);
    return out.covered === 0 ? null : out;
  }

  private async pmKey(layer: RasterLayer, tms: TileMatrixSet, z: number, x: number, y: number, format: TileFormat): Promise<{ key: string; plan: RenderPlan; etags: Array<string | null> } | null> {
    const plan = this.pmPlan(tms, z, x, y);
    if (!plan) return null;
    const etags = await this.planEtags(layer, plan);
    if (etags.every((e) => e === null)) return null;
    const key = createHash('sha256').update(`${layer.id}|${z}/${x}/${y}|${format}|${plan.level}|${etags.join(',')}`).digest('hex').slice(0, 40);
    return { key: `${key}.${FORMAT_EXT[format]}`, plan, etags };
  }

  /** ETag of a tile without reading it; null when the tile is empty. */
  async tileEtag(layer: RasterLayer, tms: TileMatrixSet, z: number, col: number, row: number, format: TileFormat): Promise<string | null> {
    if (tms.id === '2154_5cm') {
      const etag = await this.nativeEtag(layer, z, col, row);
      return etag && format !== 'jpeg' ? withSuffix(etag, format) : etag;
    }
    const k = await this.pmKey(layer, tms, z, col, row, format);
    return k ? `"pm${k.key.slice(0, 32)}"` : null;
  }

  /** The tile, or null when the layer has no data there. */
  async tile(layer: RasterLayer, tms: TileMatrixSet, z: number, col: number, row: number, format: TileFormat): Promise<TileAnswer | null> {
    if (tms.id === '2154_5cm') {
      if (format === 'jpeg') {
        const t = await this.nativeTile(layer, z, col, row);
        if (!t) return null;
        const etag = (await this.nativeEtag(layer, z, col, row)) ?? t.etag;
        return { body: t.jpeg, contentType: FORMAT_MIME.jpeg, etag };
      }
      return this.once(`e:${layer.id}:${z}:${col}:${row}:${format}`, async () => {
        const etag = await this.nativeEtag(layer, z, col, row);
        if (!etag) return null;
        const t = await this.nativeTile(layer, z, col, row);
        if (!t) return null;
        const img = await decodeTile(t.jpeg, t.mask);
        return { body: await this.encode(img.data, 256, 256, format, t.mask === 'full'), contentType: FORMAT_MIME[format], etag: withSuffix(etag, format) };
      });
    }
    const k = await this.pmKey(layer, tms, z, col, row, format);
    if (!k) return null;
    const etag = `"pm${k.key.slice(0, 32)}"`;
    return this.once(`p:${k.key}`, async () => {
      const cached = await this.pmCache.get(k.key);
      if (cached) return { body: cached, contentType: FORMAT_MIME[format], etag };
      const body = await this.renders.run(async () => {
        const affine = await this.renderAffine(layer, k.plan, k.etags, format);
        if (affine) return affine;
        const r = await this.renderArea(layer, k.plan, k.etags);
        return r ? this.encode(r.rgba, 256, 256, format, r.covered === 256 * 256) : null;
      });
      if (!body) return null;
      // Written behind the response: a failed or slow cache write never delays or fails a tile.
      void this.pmCache.put(k.key, body);
      return { body, contentType: FORMAT_MIME[format], etag };
    });
  }
}
