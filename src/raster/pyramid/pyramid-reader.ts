import { createHash } from 'node:crypto';
import { Catalog } from '../../catalog/catalog.js';
import type { Queryable } from '../../db/database.js';
import type { TiffSource, TiledTiff } from '../tiff/tiled-tiff-reader.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { Lru } from '../../util/lru.js';
import { locateTile, TILE } from './layout.js';
import { PyramidCatalog, type PyramidFileRow } from './pyramid-catalog.js';
import { openStoredTiff } from './stored-tiff.js';
import { decodeTile, encodeTile, extractTile, type RgbaImage, type TileMask } from './tiles.js';

/** A tile as stored: the JPEG bytes (served as is) and its coverage. */
export interface StoredTile {
  jpeg: Buffer;
  mask: TileMask;
  /** Strong validator: derived from immutable file keys, known without reading the tile. */
  etag: string;
}

interface OpenFile {
  tiff: TiledTiff;
  source: TiffSource;
  close(): Promise<void>;
}

/** An open pyramid file in the handle cache: closed once evicted and no read uses it any more. */
interface FileEntry {
  file: Promise<OpenFile>;
  users: number;
  evicted: boolean;
}

const closeEntry = (e: FileEntry) => void e.file.then((f) => f.close()).catch(() => undefined);

/** The ETag of a composited tile: a hash of its layers' ETags (immutable, so the composite is too). */
const compositeEtag = (etags: string[]) => `"c${createHash('sha256').update(etags.join('|')).digest('hex').slice(0, 24)}"`;

/**
 * Reads tiles from the hot pyramid: per version (immutable, older versions stay addressable) and
 * for the "current" layer, where the highest-priority version with data wins per pixel. A tile
 * fully covered by the top version is returned byte for byte; where it is only partly covered
 * (the edge of an update), it is composited with the versions below.
 */
export class PyramidReader {
  /** Open files, least recently used evicted first (their indexes parsed once, handles reused). */
  private readonly files: Lru<FileEntry>;
  /** Composited tiles at the edges of updates, by the ETag of their combination. */
  private readonly composites = new Lru<StoredTile>(256);
  private readonly rows = new Map<number, { at: number; byFile: Map<string, PyramidFileRow> }>();
  private readonly versionsCache = new Map<string, { at: number; ids: number[] }>();
  private readonly catalog: Catalog;

  constructor(
    private readonly db: Queryable,
    private readonly hot: ObjectStore,
    private readonly options: { quality: number; catalogTtlMs?: number; maxOpenFiles?: number } = { quality: 85 },
  ) {
    this.catalog = new Catalog(db);
    this.files = new Lru<FileEntry>(options.maxOpenFiles ?? 256, (_key, e) => {
      e.evicted = true;
      if (e.users === 0) closeEntry(e);
    });
  }

  private async fileRows(versionId: number): Promise<Map<string, PyramidFileRow>> {
    const cached = this.rows.get(versionId);
    if (cached && Date.now() - cached.at < (this.options.catalogTtlMs ?? 5000)) return cached.byFile;
    const list = await new PyramidCatalog(this.db).list(versionId);
    const byFile = new Map(list.map((r) => [`${r.family}:${r.col}:${r.row}`, r]));
    this.rows.set(versionId, { at: Date.now(), byFile });
    return byFile;
  }

  /** Runs `use` on an open pyramid file; the handle stays open while any caller uses it, even if evicted meanwhile. */
  private async withFile<T>(key: string, bytes: number, use: (file: OpenFile) => Promise<T>): Promise<T> {
    let e = this.files.get(key);
    if (!e) {
      const entry: FileEntry = { file: openStoredTiff(this.hot, key, bytes).then((tiff) => ({ tiff, source: tiff.source, close: () => tiff.close() })), users: 0, evicted: false };
      entry.file.catch(() => {
        if (this.files.get(key) === entry) this.files.delete(key);
      });
      this.files.set(key, entry);
      e = entry;
    }
    e.users++;
    try {
      return await use(await e.file);
    } finally {
      e.users--;
      if (e.evicted && e.users === 0) closeEntry(e);
    }
  }

  /** The stored tile of one version, or null where the version has no data. */
  async versionTile(versionId: number, z: number, col: number, row: number): Promise<StoredTile | null> {
    const where = locateTile(z, col, row);
    if (!where) return null;
    const fileRow = (await this.fileRows(versionId)).get(`${where.file.family}:${where.file.col}:${where.file.row}`);
    if (!fileRow) return null;
    return this.withFile(fileRow.key, fileRow.bytes, async (file) => {
      const range = file.tiff.tileRange(where.ifd, where.col, where.row);
      if (!range) return null;
      const mask = await file.tiff.readMask(where.ifd, where.col, where.row);
      if (mask === null) return null;
      const jpeg = Buffer.from(await file.source.read(range.offset, range.length));
      return { jpeg, mask, etag: `"${fileRow.sha256.slice(0, 16)}-${where.ifd}-${where.col}-${where.row}"` };
    });
  }

  private async versionsOf(datasetId: string): Promise<number[]> {
    const cached = this.versionsCache.get(datasetId);
    if (cached && Date.now() - cached.at < (this.options.catalogTtlMs ?? 5000)) return cached.ids;
    const ids = (await this.catalog.publishedVersions(datasetId)).map((v) => v.id);
    this.versionsCache.set(datasetId, { at: Date.now(), ids });
    return ids;
  }

  /** The current PCRS: the newest data wins wherever it exists. */
  async currentTile(datasetId: string, z: number, col: number, row: number): Promise<StoredTile | null> {
    const layers: StoredTile[] = [];
    for (const versionId of await this.versionsOf(datasetId)) {
      const tile = await this.versionTile(versionId, z, col, row);
      if (!tile) continue;
      layers.push(tile);
      if (tile.mask === 'full') break;
    }
    if (layers.length === 0) return null;
    if (layers.length === 1) return layers[0] as StoredTile;
    return this.composite(layers);
  }

  /** Paints layers (highest priority first) bottom-up where each is covered; cached by their combined ETag. */
  private async composite(layers: StoredTile[]): Promise<StoredTile> {
    const etag = compositeEtag(layers.map((l) => l.etag));
    const hit = this.composites.get(etag);
    if (hit) return hit;
    const out: RgbaImage = { data: Buffer.alloc(TILE * TILE * 4), size: TILE };
    for (const layer of [...layers].reverse()) {
      const img = await decodeTile(layer.jpeg, layer.mask);
      for (let p = 0; p < TILE * TILE * 4; p += 4) {
        if ((img.data[p + 3] as number) >= 128) img.data.copy(out.data, p, p, p + 4);
      }
    }
    const { rgb, coverage } = extractTile(out, 0, 0);
    const jpeg = await encodeTile(rgb, { quality: this.options.quality });
    const tile: StoredTile = { jpeg, mask: coverage === 'empty' ? Buffer.alloc(TILE * TILE) : coverage, etag };
    this.composites.set(etag, tile);
    return tile;
  }

  /**
   * The ETag and coverage state of a version's tile from the cached file index only (no tile or
   * mask bytes read): what a 304 needs. Null where the version has no data.
   */
  async versionTileState(versionId: number, z: number, col: number, row: number): Promise<{ etag: string; state: 'full' | 'partial' } | null> {
    const where = locateTile(z, col, row);
    if (!where) return null;
    const fileRow = (await this.fileRows(versionId)).get(`${where.file.family}:${where.file.col}:${where.file.row}`);
    if (!fileRow) return null;
    return this.withFile(fileRow.key, fileRow.bytes, async (file) => {
      if (!file.tiff.tileRange(where.ifd, where.col, where.row)) return null;
      const state = file.tiff.maskState(where.ifd, where.col, where.row);
      if (state === 'empty' && file.tiff.levels[where.ifd]?.maskOffsets) return null;
      return { etag: `"${fileRow.sha256.slice(0, 16)}-${where.ifd}-${where.col}-${where.row}"`, state: state === 'partial' ? ('partial' as const) : ('full' as const) };
    });
  }

  /** Index-only ETag of the current layer's tile (same versions as `currentTile` combines); null when empty. */
  async currentTileEtag(datasetId: string, z: number, col: number, row: number): Promise<string | null> {
    const etags: string[] = [];
    for (const versionId of await this.versionsOf(datasetId)) {
      const s = await this.versionTileState(versionId, z, col, row);
      if (!s) continue;
      etags.push(s.etag);
      if (s.state === 'full') break;
    }
    if (etags.length === 0) return null;
    if (etags.length === 1) return etags[0] as string;
    return compositeEtag(etags);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.drain().map((e) => e.file.then((f) => f.close()).catch(() => undefined)));
  }
}
