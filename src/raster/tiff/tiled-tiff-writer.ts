/**
 * Writer of "pyramid files": tiled GeoTIFFs whose every stored tile IS a served tile, byte for byte.
 *
 * Each tile is stored as a complete, self-contained JPEG stream (SOI … EOI with its own tables, no
 * shared JPEGTables tag; TIFF Compression=7 allows it), so the tile server answers a request with
 * one cached index lookup and one range read, no decoding. GDAL/libtiff read the files as ordinary
 * JPEG-YCbCr tiled GeoTIFFs with internal overviews and an internal 1-bit mask (GDAL convention).
 *
 * File layout (little-endian):
 *
 *   [0, R)        header + all IFD tables (full-res image, its mask, overview 1, its mask, …), then
 *                 their small out-of-line values, then the big TileOffsets/TileByteCounts arrays.
 *                 R is computed at `create` from the level sizes (the arrays have a known length)
 *                 and written last, by a positional write, at `finish`.
 *   [R, R+f)      the shared all-ones deflated mask tile (when `withMask`): every 'full' mask points
 *                 at it, so opaque tiles cost no mask write.
 *   [R+f, end)    tile data in arrival order (any order): each tile's JPEG, followed by its deflated
 *                 mask tile when the mask is partial. Appended with batched positional `writev`s, no
 *                 copy; the writer holds at most `writeBufferBytes` of tiles.
 *
 * Classic TIFF or BigTIFF is decided at `finish` (BigTIFF only when the file exceeds 4 GiB): with
 * `bigTiff: 'auto'` R is the larger (BigTIFF) size of the two encodings, so a classic header
 * leaves zero padding before the data (≈ 8 bytes per tile, 0.03 % of a 5 cm pyramid file).
 *
 * Durability (`DurableFile`, the storage layer's one write path): everything is written to
 * `path.tmp-<random>`, fsynced, hashed (SHA-256 of the whole file, re-read from the page cache while
 * fsync runs, since the header is written last), renamed onto `path`, and the directory is fsynced.
 * A killed writer leaves at most a `.tmp-` file, never an incomplete `path`. Filesystem errors are
 * the storage layer's UserErrors (`storage-disk-full` 507, `storage-dir-missing` 503, …).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { readdir, unlink } from 'node:fs/promises';
import nodePath from 'node:path';
import { deflateSync } from 'node:zlib';
import { DurableFile } from '../../storage/durable-file.js';
import { UserError } from '../../util/errors.js';
import { readJpegFrame } from './jpeg-info.js';
import type { TiffGeoref, TiledTiffIndex, TiledTiffLevel } from './tiff-format.js';
import {
  COMPRESSION_DEFLATE,
  COMPRESSION_JPEG,
  MASK_EMPTY,
  MASK_FULL,
  MASK_PARTIAL,
  PHOTOMETRIC_MASK,
  PHOTOMETRIC_YCBCR,
  SUBFILE_MASK,
  SUBFILE_REDUCED,
  TAG,
  TYPE,
  TYPE_SIZE,
} from './tiff-format.js';

export interface TiledTiffSpec {
  /** Level 0 = full resolution; each next level is the previous one halved (rounded up). */
  levels: Array<{ width: number; height: number }>;
  /** Tile width and height in pixels (a multiple of 16; 256 for 2154_5cm). */
  tileSize: number;
  /** Georeferencing of level 0, in a projected CRS identified by its EPSG code. */
  georef: TiffGeoref;
  /** Tiles are JPEG streams as libjpeg/mozjpeg writes them by default (YCbCr). */
  photometric: 'ycbcr';
  /** Chroma subsampling of the JPEG tiles (checked on every tile). Default '4:2:0'. */
  chromaSubsampling?: '4:2:0' | '4:4:4';
  /** Write GDAL-style internal mask IFDs (1-bit, deflate) after each image IFD. */
  withMask: boolean;
  /**
   * 'auto' (default): classic TIFF unless the file exceeds 4 GiB, decided at finish (reserves the
   * BigTIFF header size). true: always BigTIFF. false: always classic (finish fails over 4 GiB).
   */
  bigTiff?: 'auto' | boolean;
  /** Tiles are buffered (by reference) up to this many bytes before one positional writev. Default 4 MiB. */
  writeBufferBytes?: number;
}

export type TileMask = 'full' | Uint8Array;

export interface TiledTiffResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Image tiles stored (all levels). */
  tileCount: number;
  index: TiledTiffIndex;
  /** Where `finish` spent its time (ms): last data writes, header, fsync ∥ SHA-256 re-read, rename + directory fsync. */
  timings: { flushMs: number; headerMs: number; syncAndHashMs: number; renameMs: number };
}

/** Level sizes of a pyramid from a full-resolution size down to the first level that fits one tile. */
export function pyramidLevels(width: number, height: number, tileSize: number): Array<{ width: number; height: number }> {
  const levels = [{ width, height }];
  while (width > tileSize || height > tileSize) {
    width = Math.ceil(width / 2);
    height = Math.ceil(height / 2);
    levels.push({ width, height });
  }
  return levels;
}

interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** RATIONAL: numerator, denominator pairs (2 × count values). */
  values: ArrayLike<number>;
}

const TWO32 = 2 ** 32;
const CLASSIC_LIMIT = TWO32 - 1;
/** Out-of-line values up to this size go before the big tile arrays (so IFDs + small values come first). */
const SMALL_VALUE_BYTES = 1024;

function entry(tag: number, type: number, values: ArrayLike<number>): IfdEntry {
  return { tag, type, count: type === TYPE.RATIONAL ? values.length / 2 : values.length, values };
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/**
 * Lays out (and, when `out` is given, writes) a TIFF header and a chain of IFDs at the start of a
 * file. Returns the number of bytes used. The layout depends only on entry types and counts.
 */
function encodeIfds(ifds: IfdEntry[][], big: boolean, out: Buffer | null): number {
  const inlineLimit = big ? 8 : 4;
  let pos = big ? 16 : 8;
  const tableAt: number[] = [];
  for (const ifd of ifds) {
    tableAt.push(pos);
    pos += big ? 8 + 20 * ifd.length + 8 : 2 + 12 * ifd.length + 4;
  }
  const valueAt: number[][] = ifds.map((ifd) => ifd.map(() => 0));
  for (const small of [true, false]) {
    ifds.forEach((ifd, k) => {
      ifd.forEach((e, j) => {
        const bytes = (TYPE_SIZE[e.type] ?? 0) * e.count;
        if (bytes > inlineLimit && bytes <= SMALL_VALUE_BYTES === small) {
          pos = align8(pos);
          (valueAt[k] as number[])[j] = pos;
          pos += bytes;
        }
      });
    });
  }
  if (!out) return pos;

  if (big) {
    out.write('II', 0, 'latin1');
    out.writeUInt16LE(43, 2);
    out.writeUInt16LE(8, 4);
    out.writeUInt16LE(0, 6);
    writeU64(out, tableAt[0] ?? 0, 8);
  } else {
    out.write('II', 0, 'latin1');
    out.writeUInt16LE(42, 2);
    out.writeUInt32LE(tableAt[0] ?? 0, 4);
  }
  ifds.forEach((ifd, k) => {
    let p = tableAt[k] as number;
    const sorted = ifd.map((e, j) => ({ e, j })).sort((a, b) => a.e.tag - b.e.tag);
    if (big) {
      writeU64(out, ifd.length, p);
      p += 8;
    } else {
      out.writeUInt16LE(ifd.length, p);
      p += 2;
    }
    for (const { e, j } of sorted) {
      out.writeUInt16LE(e.tag, p);
      out.writeUInt16LE(e.type, p + 2);
      if (big) writeU64(out, e.count, p + 4);
      else out.writeUInt32LE(e.count, p + 4);
      const valuePos = p + (big ? 12 : 8);
      const at = (valueAt[k] as number[])[j] as number;
      if (at === 0) writeValues(out, valuePos, e);
      else if (big) writeU64(out, at, valuePos);
      else out.writeUInt32LE(at, valuePos);
      if (at !== 0) writeValues(out, at, e);
      p += big ? 20 : 12;
    }
    const next = tableAt[k + 1] ?? 0;
    if (big) writeU64(out, next, p);
    else out.writeUInt32LE(next, p);
  });
  return pos;
}

function writeU64(out: Buffer, v: number, at: number): void {
  out.writeUInt32LE(v % TWO32, at);
  out.writeUInt32LE(Math.floor(v / TWO32), at + 4);
}

function writeValues(out: Buffer, at: number, e: IfdEntry): void {
  const v = e.values;
  const n = v.length;
  switch (e.type) {
    case TYPE.SHORT:
      for (let i = 0; i < n; i++) out.writeUInt16LE(v[i] as number, at + 2 * i);
      break;
    case TYPE.LONG:
    case TYPE.RATIONAL:
      for (let i = 0; i < n; i++) out.writeUInt32LE(v[i] as number, at + 4 * i);
      break;
    case TYPE.LONG8:
      for (let i = 0; i < n; i++) writeU64(out, v[i] as number, at + 8 * i);
      break;
    case TYPE.DOUBLE:
      for (let i = 0; i < n; i++) out.writeDoubleLE(v[i] as number, at + 8 * i);
      break;
    default:
      throw new Error(`cannot write TIFF type ${e.type}`);
  }
}

/** 8-bit coverage → 1-bit rows (MSB first); reports whether any / all pixels are covered. */
function packMask(mask: Uint8Array, size: number): { packed: Buffer; any: boolean; all: boolean } {
  const rowBytes = size >> 3;
  const packed = Buffer.allocUnsafe(rowBytes * size);
  let and = 0xff;
  let or = 0;
  for (let o = 0, p = 0; o < packed.length; o++, p += 8) {
    const byte =
      (mask[p] ? 0x80 : 0) |
      (mask[p + 1] ? 0x40 : 0) |
      (mask[p + 2] ? 0x20 : 0) |
      (mask[p + 3] ? 0x10 : 0) |
      (mask[p + 4] ? 0x08 : 0) |
      (mask[p + 5] ? 0x04 : 0) |
      (mask[p + 6] ? 0x02 : 0) |
      (mask[p + 7] ? 0x01 : 0);
    packed[o] = byte;
    and &= byte;
    or |= byte;
  }
  return { packed, any: or !== 0, all: and === 0xff };
}

/** The deflated all-ones 1-bit mask tile every 'full' mask points at. */
export function fullMaskBlock(tileSize: number): Buffer {
  return deflateSync(Buffer.alloc((tileSize >> 3) * tileSize, 0xff), { level: 9 });
}

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += bytesRead;
  }
  return done;
}

/** SHA-256 of the first `size` bytes, reading 8 MiB ahead while hashing the previous chunk. */
async function sha256OfFile(fh: FileHandle, size: number): Promise<string> {
  const hash = createHash('sha256');
  const chunk = 8 * 1024 * 1024;
  const bufs = [Buffer.allocUnsafe(Math.min(chunk, size)), Buffer.allocUnsafe(Math.min(chunk, size))] as const;
  let k = 0;
  let pos = 0;
  let pending = size > 0 ? readFully(fh, bufs[0], Math.min(chunk, size), 0) : null;
  while (pending) {
    const n = await pending;
    const cur = bufs[k] as Buffer;
    const nextPos = pos + n;
    pending = nextPos < size ? readFully(fh, bufs[k === 0 ? 1 : 0], Math.min(chunk, size - nextPos), nextPos) : null;
    hash.update(cur.subarray(0, n));
    pos = nextPos;
    k = k === 0 ? 1 : 0;
  }
  return hash.digest('hex');
}

function validateSpec(spec: TiledTiffSpec): void {
  const bad = (what: string): never => {
    throw new Error(`TiledTiffWriter: invalid spec: ${what}`);
  };
  const ts = spec.tileSize;
  if (!Number.isInteger(ts) || ts < 16 || ts > 4096 || ts % 16 !== 0) bad(`tileSize ${ts} must be a multiple of 16 in [16, 4096]`);
  if (spec.levels.length === 0) bad('no levels');
  spec.levels.forEach((lv, i) => {
    if (!Number.isInteger(lv.width) || !Number.isInteger(lv.height) || lv.width < 1 || lv.height < 1 || lv.width > CLASSIC_LIMIT || lv.height > CLASSIC_LIMIT) {
      bad(`level ${i} size ${lv.width}×${lv.height}`);
    }
    const prev = spec.levels[i - 1];
    if (prev && (lv.width !== Math.ceil(prev.width / 2) || lv.height !== Math.ceil(prev.height / 2))) {
      bad(`level ${i} (${lv.width}×${lv.height}) is not half of level ${i - 1} (${prev.width}×${prev.height})`);
    }
  });
  const g = spec.georef;
  if (!Number.isInteger(g.epsg) || g.epsg < 1 || g.epsg > 65535) bad(`EPSG code ${g.epsg}`);
  if (![g.originX, g.originY, g.pixelSize].every(Number.isFinite) || g.pixelSize <= 0) bad('georef origin / pixel size');
  if (spec.photometric !== 'ycbcr') bad(`photometric ${String(spec.photometric)}`);
  if (spec.chromaSubsampling !== undefined && spec.chromaSubsampling !== '4:2:0' && spec.chromaSubsampling !== '4:4:4') {
    bad(`chromaSubsampling ${String(spec.chromaSubsampling)}`);
  }
}

interface LevelState extends TiledTiffLevel {
  maskOffsets: Float64Array | undefined;
  maskByteCounts: Uint32Array | undefined;
}

type WriterState = 'open' | 'finishing' | 'done' | 'aborted';

export class TiledTiffWriter {
  readonly path: string;
  private readonly spec: TiledTiffSpec;
  private readonly file: DurableFile;
  private readonly levels: LevelState[];
  private readonly reserved: number;
  private readonly subsampling: [number, number];
  private readonly fullMaskOffset: number;
  private readonly fullMaskLength: number;
  private readonly bufferLimit: number;
  private pos: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingStart: number;
  private writes: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private state: WriterState = 'open';
  private tiles = 0;

  private constructor(path: string, spec: TiledTiffSpec, file: DurableFile) {
    this.path = path;
    this.spec = { ...spec, georef: { ...spec.georef }, levels: spec.levels.map((l) => ({ ...l })) };
    this.file = file;
    this.subsampling = spec.chromaSubsampling === '4:4:4' ? [1, 1] : [2, 2];
    this.bufferLimit = spec.writeBufferBytes ?? 4 * 1024 * 1024;
    const ts = spec.tileSize;
    this.levels = spec.levels.map((lv) => {
      const tilesAcross = Math.ceil(lv.width / ts);
      const tilesDown = Math.ceil(lv.height / ts);
      const n = tilesAcross * tilesDown;
      return {
        width: lv.width,
        height: lv.height,
        tileWidth: ts,
        tileHeight: ts,
        tilesAcross,
        tilesDown,
        tileOffsets: new Float64Array(n),
        tileByteCounts: new Uint32Array(n),
        maskOffsets: spec.withMask ? new Float64Array(n) : undefined,
        maskByteCounts: spec.withMask ? new Uint32Array(n) : undefined,
        maskStates: new Uint8Array(n),
      };
    });
    const bigTiff = spec.bigTiff ?? 'auto';
    const classic = bigTiff === true ? 0 : encodeIfds(this.buildIfds(false), false, null);
    const big = bigTiff === false ? 0 : encodeIfds(this.buildIfds(true), true, null);
    this.reserved = align8(Math.max(classic, big));
    this.pos = this.reserved;
    this.pendingStart = this.reserved;
    if (spec.withMask) {
      const block = fullMaskBlock(ts);
      this.fullMaskOffset = this.append(block);
      this.fullMaskLength = block.length;
    } else {
      this.fullMaskOffset = 0;
      this.fullMaskLength = 0;
    }
  }

  /** Opens `path + '.tmp-<random>'` for a new pyramid file; nothing appears at `path` before `finish`. */
  static async create(path: string, spec: TiledTiffSpec): Promise<TiledTiffWriter> {
    validateSpec(spec);
    // Default temporary name `path.tmp-<random>`, which removeStaleTemps looks for.
    return new TiledTiffWriter(path, spec, await DurableFile.create(path));
  }

  /** The temporary file written until `finish` renames it to `path`. */
  get tempPath(): string {
    return this.file.tempPath;
  }

  /**
   * Removes `path.tmp-*` files left by killed writers. Only call it when no writer for `path` runs.
   * Returns the names removed.
   */
  static async removeStaleTemps(path: string): Promise<string[]> {
    const dir = nodePath.dirname(path);
    const prefix = `${nodePath.basename(path)}.tmp-`;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const stale = names.filter((n) => n.startsWith(prefix));
    for (const n of stale) await unlink(nodePath.join(dir, n)).catch(() => undefined);
    return stale;
  }

  /** Header + IFD bytes reserved at the start of the file. */
  get headerBytes(): number {
    return this.reserved;
  }

  /**
   * Appends one tile (any order). `jpeg` must be a complete baseline JPEG stream of
   * tileSize × tileSize pixels with the spec's chroma subsampling; it is stored as-is and the
   * writer keeps a reference to it until written (do not modify it afterwards). `mask`: 8-bit
   * coverage (tileSize², 0 = empty, non-zero = covered) or 'full' (the default).
   * Resolves once the tile is queued; waits for the disk when the write buffer is full.
   */
  async addTile(level: number, col: number, row: number, jpeg: Uint8Array, mask?: TileMask): Promise<void> {
    if (this.state !== 'open') throw new Error(`TiledTiffWriter: addTile after ${this.state}`);
    if (this.failure) throw this.failure;
    const lv = this.levels[level];
    if (!lv) throw new Error(`TiledTiffWriter: no level ${level} (the file has ${this.levels.length})`);
    if (!Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= lv.tilesAcross || row >= lv.tilesDown) {
      throw new Error(`TiledTiffWriter: tile ${level}/${col}/${row} is outside the level (${lv.tilesAcross}×${lv.tilesDown} tiles)`);
    }
    const i = row * lv.tilesAcross + col;
    if (lv.tileOffsets[i] !== 0) throw new Error(`TiledTiffWriter: tile ${level}/${col}/${row} was already added`);
    this.checkJpeg(jpeg, level, col, row);

    let maskBlock: Buffer | null = null;
    let maskState = MASK_FULL;
    if (mask !== undefined && mask !== 'full') {
      const ts = this.spec.tileSize;
      if (!(mask instanceof Uint8Array) || mask.length !== ts * ts) {
        throw new Error(`TiledTiffWriter: mask of tile ${level}/${col}/${row} must be 'full' or ${ts}×${ts} bytes`);
      }
      if (!this.spec.withMask) throw new Error('TiledTiffWriter: a coverage mask was given but the spec has withMask: false');
      const { packed, any, all } = packMask(mask, ts);
      if (!any) maskState = MASK_EMPTY;
      else if (!all) {
        maskState = MASK_PARTIAL;
        maskBlock = deflateSync(packed);
      }
    }

    const jpegBuf = Buffer.isBuffer(jpeg) ? jpeg : Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
    lv.tileOffsets[i] = this.append(jpegBuf);
    lv.tileByteCounts[i] = jpegBuf.length;
    lv.maskStates[i] = maskState;
    if (lv.maskOffsets && lv.maskByteCounts) {
      if (maskState === MASK_FULL) {
        lv.maskOffsets[i] = this.fullMaskOffset;
        lv.maskByteCounts[i] = this.fullMaskLength;
      } else if (maskBlock) {
        lv.maskOffsets[i] = this.append(maskBlock);
        lv.maskByteCounts[i] = maskBlock.length;
      }
      // MASK_EMPTY: no mask block; GDAL reads a missing mask tile as 0 (transparent).
    }
    this.tiles++;
    if (this.pendingBytes >= this.bufferLimit) await this.flush();
  }

  /**
   * Writes the header and IFDs, fsyncs, hashes and renames the file onto `path`. On any failure
   * the temporary file is removed and the error rethrown.
   */
  async finish(): Promise<TiledTiffResult> {
    if (this.state !== 'open') throw new Error(`TiledTiffWriter: finish after ${this.state}`);
    this.state = 'finishing';
    try {
      const t0 = performance.now();
      await this.flush();
      if (this.failure) throw this.failure;
      const t1 = performance.now();
      const file = this.file;
      const size = this.pos;
      const opt = this.spec.bigTiff ?? 'auto';
      const big = opt === true || (opt === 'auto' && size > CLASSIC_LIMIT);
      if (!big && size > CLASSIC_LIMIT) {
        throw new UserError('tiff-too-large', `The pyramid file would be ${size} bytes, more than classic TIFF allows (4 GiB).`, {
          hint: 'Write it as BigTIFF (bigTiff: "auto" or true).',
        });
      }
      const header = Buffer.alloc(this.reserved);
      const used = encodeIfds(this.buildIfds(big), big, header);
      if (used > this.reserved) throw new Error(`TiledTiffWriter: header needs ${used} bytes, ${this.reserved} reserved`);
      await file.write(header, 0);
      const t2 = performance.now();
      const [, sha256] = await Promise.all([file.sync(), sha256OfFile(file.handle, size).catch((e: unknown) => Promise.reject(file.mapError(e)))]);
      const t3 = performance.now();
      await file.commit(); // already fsynced: close, rename, directory fsync
      this.state = 'done';
      const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
      const timings = { flushMs: ms(t0, t1), headerMs: ms(t1, t2), syncAndHashMs: ms(t2, t3), renameMs: ms(t3, performance.now()) };
      return {
        path: this.path,
        bytes: size,
        sha256,
        tileCount: this.tiles,
        index: { levels: this.levels, georef: { ...this.spec.georef }, bigTiff: big },
        timings,
      };
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  /** Stops writing and removes the temporary file. Idempotent; a no-op after a successful finish. */
  async abort(): Promise<void> {
    if (this.state === 'done' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.pending = [];
    this.pendingBytes = 0;
    await this.writes.catch(() => undefined);
    await this.file.abort();
  }

  /** Reserves file space for `buf` at the end of the data and queues it; returns its offset. */
  private append(buf: Buffer): number {
    const at = this.pos;
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    this.pos += buf.length;
    return at;
  }

  /** Starts writing the queued buffers (one writev) and waits for all writes so far. */
  private flush(): Promise<void> {
    if (this.pending.length > 0) {
      const bufs = this.pending;
      const start = this.pendingStart;
      this.pending = [];
      this.pendingBytes = 0;
      this.pendingStart = this.pos;
      this.writes = this.writes.then(async () => {
        if (this.failure) return;
        try {
          await this.file.writev(bufs, start);
        } catch (e) {
          this.failure = e; // already a UserError when the operator can fix it (disk full…)
        }
      });
    }
    return this.writes.then(() => {
      if (this.failure) throw this.failure;
    });
  }

  private checkJpeg(jpeg: Uint8Array, level: number, col: number, row: number): void {
    const where = `tile ${level}/${col}/${row}`;
    if (!(jpeg instanceof Uint8Array) || jpeg.length < 4) throw new Error(`TiledTiffWriter: ${where}: empty JPEG`);
    let info;
    try {
      info = readJpegFrame(jpeg);
    } catch (e) {
      throw new Error(`TiledTiffWriter: ${where}: ${(e as Error).message}`);
    }
    const ts = this.spec.tileSize;
    const [h, v] = this.subsampling;
    const s = info.sampling;
    const problems: string[] = [];
    if (info.sof !== 0xc0 && info.sof !== 0xc1) problems.push(`SOF 0x${info.sof.toString(16)} is not baseline/extended sequential (progressive or arithmetic JPEG)`);
    if (info.precision !== 8) problems.push(`${info.precision}-bit samples`);
    if (info.width !== ts || info.height !== ts) problems.push(`size ${info.width}×${info.height}, expected ${ts}×${ts}`);
    if (s.length !== 3) problems.push(`${s.length} components, expected 3 (YCbCr)`);
    else if (s[0]?.[0] !== h || s[0]?.[1] !== v || s[1]?.[0] !== 1 || s[1]?.[1] !== 1 || s[2]?.[0] !== 1 || s[2]?.[1] !== 1) {
      problems.push(`sampling factors ${s.map((x) => x.join('x')).join(',')}, expected ${h}x${v},1x1,1x1 (${this.spec.chromaSubsampling ?? '4:2:0'})`);
    }
    if (jpeg[jpeg.length - 2] !== 0xff || jpeg[jpeg.length - 1] !== 0xd9) problems.push('does not end with an EOI marker (truncated?)');
    if (problems.length > 0) throw new Error(`TiledTiffWriter: ${where}: ${problems.join('; ')}`);
  }

  private buildIfds(big: boolean): IfdEntry[][] {
    const ts = this.spec.tileSize;
    const offType = big ? TYPE.LONG8 : TYPE.LONG;
    const g = this.spec.georef;
    const ifds: IfdEntry[][] = [];
    this.levels.forEach((lv, i) => {
      const image = [
        entry(TAG.NewSubfileType, TYPE.LONG, [i === 0 ? 0 : SUBFILE_REDUCED]),
        entry(TAG.ImageWidth, TYPE.LONG, [lv.width]),
        entry(TAG.ImageLength, TYPE.LONG, [lv.height]),
        entry(TAG.BitsPerSample, TYPE.SHORT, [8, 8, 8]),
        entry(TAG.Compression, TYPE.SHORT, [COMPRESSION_JPEG]),
        entry(TAG.Photometric, TYPE.SHORT, [PHOTOMETRIC_YCBCR]),
        entry(TAG.SamplesPerPixel, TYPE.SHORT, [3]),
        entry(TAG.PlanarConfiguration, TYPE.SHORT, [1]),
        entry(TAG.TileWidth, TYPE.SHORT, [ts]),
        entry(TAG.TileLength, TYPE.SHORT, [ts]),
        entry(TAG.TileOffsets, offType, lv.tileOffsets),
        entry(TAG.TileByteCounts, TYPE.LONG, lv.tileByteCounts),
        entry(TAG.SampleFormat, TYPE.SHORT, [1, 1, 1]),
        entry(TAG.YCbCrSubSampling, TYPE.SHORT, this.subsampling),
        // What libtiff writes for JPEG YCbCr (full-range JFIF YCbCr).
        entry(TAG.ReferenceBlackWhite, TYPE.RATIONAL, [0, 1, 255, 1, 128, 1, 255, 1, 128, 1, 255, 1]),
      ];
      if (i === 0) {
        image.push(
          entry(TAG.ModelPixelScale, TYPE.DOUBLE, [g.pixelSize, g.pixelSize, 0]),
          entry(TAG.ModelTiepoint, TYPE.DOUBLE, [0, 0, 0, g.originX, g.originY, 0]),
          // GeoTIFF 1.1: GTModelType = projected, GTRasterType = PixelIsArea, ProjectedCSType = EPSG code.
          entry(TAG.GeoKeyDirectory, TYPE.SHORT, [1, 1, 1, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, g.epsg]),
        );
      }
      ifds.push(image);
      if (lv.maskOffsets && lv.maskByteCounts) {
        ifds.push([
          entry(TAG.NewSubfileType, TYPE.LONG, [i === 0 ? SUBFILE_MASK : SUBFILE_MASK | SUBFILE_REDUCED]),
          entry(TAG.ImageWidth, TYPE.LONG, [lv.width]),
          entry(TAG.ImageLength, TYPE.LONG, [lv.height]),
          entry(TAG.BitsPerSample, TYPE.SHORT, [1]),
          entry(TAG.Compression, TYPE.SHORT, [COMPRESSION_DEFLATE]),
          entry(TAG.Photometric, TYPE.SHORT, [PHOTOMETRIC_MASK]),
          entry(TAG.SamplesPerPixel, TYPE.SHORT, [1]),
          entry(TAG.PlanarConfiguration, TYPE.SHORT, [1]),
          entry(TAG.TileWidth, TYPE.SHORT, [ts]),
          entry(TAG.TileLength, TYPE.SHORT, [ts]),
          entry(TAG.TileOffsets, offType, lv.maskOffsets),
          entry(TAG.TileByteCounts, TYPE.LONG, lv.maskByteCounts),
          entry(TAG.SampleFormat, TYPE.SHORT, [1]),
        ]);
      }
    });
    return ifds;
  }
}
