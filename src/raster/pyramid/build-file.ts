import { mapPool } from '../../util/pool.js';
import { DETAIL_FILE_LEVEL, familyLevel, familyTopLevel, intersectRect, MAX_LEVEL, TILE, tilePixelRect, type PixelRect, type PyramidFileRef } from './layout.js';
import { readSourceWindow, type PyramidSource } from './raster-source.js';
import type { TiffSource, TiledTiff } from '../tiff/tiled-tiff-reader.js';
import { assembleQuad, decodeTile, encodeTile, extractTile, halve, hasCoverage, type JpegOptions, type RgbaImage, type TileMask } from './tiles.js';

/** Receives the tiles of one pyramid file, addressed inside the file (ifd 0 = finest level). */
export interface TileSink {
  addTile(ifd: number, col: number, row: number, jpeg: Buffer, mask: TileMask): Promise<void> | void;
}

export interface BuildStats {
  tiles: number;
  partialTiles: number;
  /** Detail files: blocks rendered from the sources, and blocks copied from the previous file. */
  blocksRendered?: number;
  blocksCopied?: number;
}

export interface BuildOptions extends JpegOptions {
  /** Blocks rendered in parallel. */
  concurrency: number;
  signal?: AbortSignal;
}

/**
 * Incremental rebuild: the previous generation of the file, and where the sources changed. Blocks
 * away from the changes are copied tile by tile (bytes and masks as stored), not re-rendered.
 */
export interface ReuseOptions {
  previous: TiledTiff & { source: TiffSource };
  /** Level-22 pixel rectangles of the dalles added or replaced. */
  dirty: readonly PixelRect[];
}

/** Level at which a detail file is rendered in blocks (one block = one tile of this level). */
const BLOCK_LEVEL = 18;
const BLOCK_PX = TILE * 2 ** (MAX_LEVEL - BLOCK_LEVEL);

function key(col: number, row: number): string {
  return `${col}/${row}`;
}

/** Copies a source window (RGBA rows) into the canvas; sources with alpha only where covered. */
function blit(canvas: RgbaImage, origin: PixelRect, window: PixelRect, pixels: Buffer, hasAlpha: boolean): void {
  const width = window.x1 - window.x0;
  const rowBytes = width * 4;
  for (let y = 0; y < window.y1 - window.y0; y++) {
    const dst = ((window.y0 - origin.y0 + y) * canvas.size + (window.x0 - origin.x0)) * 4;
    const src = y * rowBytes;
    if (!hasAlpha) {
      pixels.copy(canvas.data, dst, src, src + rowBytes);
      continue;
    }
    for (let x = 0; x < width; x++) {
      const a = pixels[src + x * 4 + 3] as number;
      if (a === 0) continue;
      pixels.copy(canvas.data, dst + x * 4, src + x * 4, src + x * 4 + 4);
    }
  }
}

class Emitter {
  tiles = 0;
  partialTiles = 0;
  constructor(
    private readonly file: PyramidFileRef,
    private readonly sink: TileSink,
    private readonly options: JpegOptions,
  ) {}

  /** Encodes every non-empty tile of `image`, whose top-left tile is (col0, row0) at level z. */
  async emit(image: RgbaImage, z: number, col0: number, row0: number): Promise<void> {
    const n = image.size / TILE;
    const shift = z - familyLevel(this.file.family);
    const ifd = familyTopLevel(this.file.family) - z;
    for (let ty = 0; ty < n; ty++) {
      for (let tx = 0; tx < n; tx++) {
        const { rgb, coverage } = extractTile(image, tx, ty);
        if (coverage === 'empty') continue;
        const jpeg = await encodeTile(rgb, this.options);
        const col = col0 + tx - this.file.col * 2 ** shift;
        const row = row0 + ty - this.file.row * 2 ** shift;
        await this.sink.addTile(ifd, col, row, jpeg, coverage);
        this.tiles++;
        if (coverage !== 'full') this.partialTiles++;
      }
    }
  }
}

/**
 * Reduces tiles of level `fromZ` (inside one file) level by level down to `toZ`, emitting each
 * level. Parents are built from their 2×2 children; absent children are transparent.
 */
async function cascade(tiles: Map<string, RgbaImage>, fromZ: number, toZ: number, emitter: Emitter): Promise<void> {
  let level = tiles;
  for (let z = fromZ - 1; z >= toZ; z--) {
    const parents = new Map<string, RgbaImage>();
    const parentKeys = new Set<string>();
    for (const k of level.keys()) {
      const [c, r] = k.split('/').map(Number) as [number, number];
      parentKeys.add(key(Math.floor(c / 2), Math.floor(r / 2)));
    }
    for (const pk of parentKeys) {
      const [pc, pr] = pk.split('/').map(Number) as [number, number];
      const children = [0, 1, 2, 3].map((i) => level.get(key(pc * 2 + (i % 2), pr * 2 + Math.floor(i / 2))) ?? null);
      const parent = await halve(assembleQuad(children));
      parents.set(pk, parent);
      await emitter.emit(parent, z, pc, pr);
    }
    level = parents;
  }
}

/**
 * Builds one detail file (levels 22 → 15 of one level-15 tile) from the sources intersecting it.
 * The file is rendered in blocks of one level-18 tile (4096² px at level 22): each block decodes
 * only the source windows it needs, is cut into level-22 tiles, then halved down to level 18;
 * levels 17–15 come from the level-18 tiles. Overlaps: higher priority wins.
 */
export async function buildDetailFile(file: PyramidFileRef, sources: readonly PyramidSource[], sink: TileSink, options: BuildOptions, reuse?: ReuseOptions): Promise<BuildStats> {
  const fileRect = tilePixelRect(DETAIL_FILE_LEVEL, file.col, file.row);
  const relevant = sources.filter((s) => intersectRect(s.rect, fileRect)).sort((a, b) => a.priority - b.priority);
  const emitter = new Emitter(file, sink, options);
  const perSide = 2 ** (BLOCK_LEVEL - DETAIL_FILE_LEVEL);
  const blocks: Array<{ col: number; row: number; rect: PixelRect }> = [];
  for (let by = 0; by < perSide; by++) {
    for (let bx = 0; bx < perSide; bx++) {
      const col = file.col * perSide + bx;
      const row = file.row * perSide + by;
      const rect = tilePixelRect(BLOCK_LEVEL, col, row);
      if (relevant.some((s) => intersectRect(s.rect, rect))) blocks.push({ col, row, rect });
    }
  }
  const blockTiles = new Map<string, RgbaImage>();
  let blocksRendered = 0;
  let blocksCopied = 0;
  await mapPool(blocks, options.concurrency, async (block) => {
    if (options.signal?.aborted) return;
    if (reuse && !reuse.dirty.some((r) => intersectRect(r, block.rect))) {
      const top = await copyBlock(file, block, reuse.previous, sink, emitter);
      if (top) blockTiles.set(key(block.col, block.row), top);
      blocksCopied++;
      return;
    }
    blocksRendered++;
    let image: RgbaImage = { data: Buffer.alloc(BLOCK_PX * BLOCK_PX * 4), size: BLOCK_PX };
    for (const source of relevant) {
      const window = intersectRect(source.rect, block.rect);
      if (!window) continue;
      blit(image, block.rect, window, await readSourceWindow(source, window), source.hasAlpha);
    }
    const tilesPerBlock = BLOCK_PX / TILE;
    await emitter.emit(image, MAX_LEVEL, block.col * tilesPerBlock, block.row * tilesPerBlock);
    for (let z = MAX_LEVEL - 1; z >= BLOCK_LEVEL; z--) {
      image = await halve(image);
      const n = image.size / TILE;
      await emitter.emit(image, z, block.col * n, block.row * n);
    }
    if (hasCoverage(image)) blockTiles.set(key(block.col, block.row), image);
  });
  const stats = () => ({ tiles: emitter.tiles, partialTiles: emitter.partialTiles, blocksRendered, blocksCopied });
  if (options.signal?.aborted) return stats();
  await cascade(blockTiles, BLOCK_LEVEL, DETAIL_FILE_LEVEL, emitter);
  return stats();
}

/**
 * Copies the stored tiles of one block (levels 22 → 18) from the previous generation of the file
 * and returns its level-18 tile decoded, for the levels above.
 */
async function copyBlock(file: PyramidFileRef, block: { col: number; row: number }, previous: ReuseOptions['previous'], sink: TileSink, emitter: Emitter): Promise<RgbaImage | null> {
  let top: RgbaImage | null = null;
  for (let z = MAX_LEVEL; z >= BLOCK_LEVEL; z--) {
    const n = 2 ** (z - BLOCK_LEVEL);
    const ifd = familyTopLevel(file.family) - z;
    const fileShift = 2 ** (z - familyLevel(file.family));
    for (let ty = 0; ty < n; ty++) {
      for (let tx = 0; tx < n; tx++) {
        const col = block.col * n + tx - file.col * fileShift;
        const row = block.row * n + ty - file.row * fileShift;
        const range = previous.tileRange(ifd, col, row);
        if (!range) continue;
        const mask = await previous.readMask(ifd, col, row);
        if (mask === null) continue;
        const jpeg = Buffer.from(await previous.source.read(range.offset, range.length));
        await sink.addTile(ifd, col, row, jpeg, mask);
        emitter.tiles++;
        if (mask !== 'full') emitter.partialTiles++;
        if (z === BLOCK_LEVEL) top = await decodeTile(jpeg, mask);
      }
    }
  }
  return top;
}

/**
 * Builds one overview file (levels 14 → 6 of one level-6 tile) from the level-15 tiles of the
 * detail files below it (`topTiles`: global level-15 col/row → RGBA).
 */
export async function buildOverviewFile(file: PyramidFileRef, topTiles: Map<string, RgbaImage>, sink: TileSink, options: BuildOptions): Promise<BuildStats> {
  const emitter = new Emitter(file, sink, options);
  await cascade(topTiles, DETAIL_FILE_LEVEL, familyLevel(file.family), emitter);
  return { tiles: emitter.tiles, partialTiles: emitter.partialTiles };
}
