/**
 * Small reader of tiled TIFFs (classic and BigTIFF, either byte order), for the tile server's hot
 * path: parses the header and all IFDs once into typed arrays, then answers "where are the bytes of
 * tile (level, col, row)" synchronously and reads/expands GDAL-style internal mask tiles.
 *
 * Why not `@cogeotiff/core`: it parses IFDs too, but it is built for lazy remote access — tile
 * offsets are fetched per tile through async calls on generic tag objects (number[] arrays), its
 * JPEG path splices JPEGTables into tiles, and it has no notion of which mask IFD belongs to which
 * level nor any mask decoding. We would write the level/mask association, the shared-full-block
 * detection and the bit expansion anyway; the IFD parsing itself is ~150 lines here, with no
 * per-tile allocation or promise on lookups.
 */
import { open } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { UserError } from '../../util/errors.js';
import type { ByteRange, MaskState, TiffGeoref, TiledTiffIndex, TiledTiffLevel } from './tiff-format.js';
import {
  COMPRESSION_DEFLATE,
  COMPRESSION_DEFLATE_OLD,
  MASK_EMPTY,
  MASK_FULL,
  MASK_PARTIAL,
  maskStateOf,
  SUBFILE_MASK,
  TAG,
  TYPE,
  TYPE_SIZE,
  tileRangeOf,
} from './tiff-format.js';

/** Random access to the bytes of a file (local file, S3 range GETs, …). */
export interface TiffSource {
  /** Returns `length` bytes at `offset`, or fewer only when the end of the file is reached. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Total size in bytes, when known (lets the reader detect truncated files). */
  size?: number | undefined;
}

export interface TiledTiffReadLevel extends TiledTiffLevel {
  compression: number;
  photometric: number;
  samplesPerPixel: number;
  /** Mask IFD properties (when the level has a mask). */
  maskCompression?: number | undefined;
  maskBitsPerSample?: number | undefined;
}

export interface TiledTiff extends TiledTiffIndex {
  levels: TiledTiffReadLevel[];
  littleEndian: boolean;
  /** Mask tile offsets known to hold an all-ones mask (the writer's shared block). */
  fullMaskOffsets: ReadonlySet<number>;
  /** Where a tile's bytes are; null when missing or outside the level. */
  tileRange(level: number, col: number, row: number): ByteRange | null;
  maskState(level: number, col: number, row: number): MaskState;
  /**
   * The tile's coverage as tileWidth × tileHeight bytes (0 = empty, 255 = covered), 'full' when
   * opaque (no mask, or the shared all-ones block: nothing read), null when empty or missing.
   */
  readMask(level: number, col: number, row: number): Promise<Buffer | 'full' | null>;
}

const DEFAULT_PREFIX_BYTES = 1 << 20;
const MAX_IFDS = 4096;

const corrupt = (what: string): UserError =>
  new UserError('tiff-corrupt', `Corrupt TIFF: ${what}.`, { status: 422, hint: 'Rebuild or re-download the file.' });

interface RawEntry {
  type: number;
  count: number;
  /** Inline value bytes, or null when the value lives at `offset`. */
  inline: DataView | null;
  offset: number;
}

/** Opens a tiled TIFF: reads the first `prefixBytes` (1 MiB) and whatever IFD data lies beyond. */
export async function openTiledTiff(source: TiffSource, options: { prefixBytes?: number } = {}): Promise<TiledTiff> {
  const wanted = options.prefixBytes ?? DEFAULT_PREFIX_BYTES;
  const firstLength = source.size !== undefined ? Math.min(source.size, wanted) : wanted;
  const prefix = await source.read(0, firstLength);
  const size = source.size ?? (prefix.length < firstLength ? prefix.length : undefined);
  const truncated = (needed: number): UserError =>
    new UserError(
      'tiff-truncated',
      `Truncated TIFF: data up to byte ${needed} is referenced but the file has ${size ?? 'fewer'} bytes.`,
      { status: 422, hint: 'The file was not completely written or copied: rebuild or re-download it.' },
    );

  const view = async (offset: number, length: number): Promise<DataView> => {
    if (offset + length <= prefix.length) return new DataView(prefix.buffer, prefix.byteOffset + offset, length);
    if (size !== undefined && offset + length > size) throw truncated(offset + length);
    const b = await source.read(offset, length);
    if (b.length < length) throw truncated(offset + length);
    return new DataView(b.buffer, b.byteOffset, length);
  };

  if (prefix.length < 8) {
    if (prefix.length >= 2 && (prefix[0] === 0x49 || prefix[0] === 0x4d) && prefix[0] === prefix[1]) throw truncated(8);
    throw new UserError('not-a-tiff', 'Not a TIFF file (too short).', { status: 422 });
  }
  const head = new DataView(prefix.buffer, prefix.byteOffset, Math.min(prefix.length, 16));
  const bo = head.getUint16(0, false);
  if (bo !== 0x4949 && bo !== 0x4d4d) throw new UserError('not-a-tiff', 'Not a TIFF file (no II/MM byte order mark).', { status: 422 });
  const le = bo === 0x4949;
  const version = head.getUint16(2, le);
  if (version !== 42 && version !== 43) throw new UserError('not-a-tiff', `Not a TIFF file (version ${version}).`, { status: 422 });
  const big = version === 43;
  if (big && prefix.length < 16) throw truncated(16);
  const u64 = (dv: DataView, at: number): number => {
    const lo = dv.getUint32(at, le);
    const hi = dv.getUint32(at + 4, le);
    return le ? hi * 2 ** 32 + lo : lo * 2 ** 32 + hi;
  };
  let next = big ? u64(head, 8) : head.getUint32(4, le);

  // --- IFD tables
  const ifds: Array<Map<number, RawEntry>> = [];
  const seen = new Set<number>();
  while (next !== 0) {
    if (seen.has(next) || ifds.length >= MAX_IFDS) throw corrupt('IFD chain loops');
    seen.add(next);
    const countView = await view(next, big ? 8 : 2);
    const n = big ? u64(countView, 0) : countView.getUint16(0, le);
    const entrySize = big ? 20 : 12;
    const tableStart = next + (big ? 8 : 2);
    const table = await view(tableStart, n * entrySize + (big ? 8 : 4));
    const entries = new Map<number, RawEntry>();
    for (let k = 0; k < n; k++) {
      const p = k * entrySize;
      const tag = table.getUint16(p, le);
      const type = table.getUint16(p + 2, le);
      const count = big ? u64(table, p + 4) : table.getUint32(p + 4, le);
      const valuePos = p + (big ? 12 : 8);
      const bytes = (TYPE_SIZE[type] ?? 0) * count;
      const inlineLimit = big ? 8 : 4;
      entries.set(tag, {
        type,
        count,
        inline: bytes <= inlineLimit ? new DataView(table.buffer, table.byteOffset + valuePos, inlineLimit) : null,
        offset: bytes <= inlineLimit ? 0 : big ? u64(table, valuePos) : table.getUint32(valuePos, le),
      });
    }
    ifds.push(entries);
    next = big ? u64(table, n * entrySize) : table.getUint32(n * entrySize, le);
  }

  const values = async (e: RawEntry | undefined): Promise<Float64Array> => {
    if (!e) return new Float64Array(0);
    const size1 = TYPE_SIZE[e.type] ?? 0;
    if (size1 === 0) throw corrupt(`unknown field type ${e.type}`);
    const dv = e.inline ?? (await view(e.offset, size1 * e.count));
    const out = new Float64Array(e.count);
    switch (e.type) {
      case TYPE.BYTE:
      case TYPE.UNDEFINED:
      case TYPE.ASCII:
        for (let i = 0; i < e.count; i++) out[i] = dv.getUint8(i);
        break;
      case TYPE.SHORT:
        for (let i = 0; i < e.count; i++) out[i] = dv.getUint16(2 * i, le);
        break;
      case TYPE.LONG:
      case TYPE.IFD:
        for (let i = 0; i < e.count; i++) out[i] = dv.getUint32(4 * i, le);
        break;
      case TYPE.LONG8:
      case TYPE.IFD8:
        for (let i = 0; i < e.count; i++) out[i] = u64(dv, 8 * i);
        break;
      case TYPE.DOUBLE:
        for (let i = 0; i < e.count; i++) out[i] = dv.getFloat64(8 * i, le);
        break;
      case TYPE.FLOAT:
        for (let i = 0; i < e.count; i++) out[i] = dv.getFloat32(4 * i, le);
        break;
      case TYPE.RATIONAL:
        for (let i = 0; i < e.count; i++) out[i] = dv.getUint32(8 * i, le) / dv.getUint32(8 * i + 4, le);
        break;
      default:
        throw corrupt(`unsupported field type ${e.type}`);
    }
    return out;
  };
  const scalar = async (ifd: Map<number, RawEntry>, tag: number, dflt: number): Promise<number> => {
    const v = await values(ifd.get(tag));
    return v.length > 0 ? (v[0] as number) : dflt;
  };

  // --- images and masks
  interface Parsed {
    subfile: number;
    width: number;
    height: number;
    tileWidth: number;
    tileHeight: number;
    compression: number;
    photometric: number;
    samplesPerPixel: number;
    bitsPerSample: number;
    offsets: Float64Array;
    counts: Uint32Array;
  }
  const images: Parsed[] = [];
  const masks: Parsed[] = [];
  for (const [k, ifd] of ifds.entries()) {
    const subfile = await scalar(ifd, TAG.NewSubfileType, 0);
    const tiled = ifd.has(TAG.TileWidth) && ifd.has(TAG.TileOffsets);
    if (!tiled) {
      if (k === 0) {
        throw new UserError('tiff-not-tiled', 'The TIFF is stripped, not tiled.', {
          status: 422,
          hint: 'Convert it to a tiled TIFF (e.g. gdal_translate -co TILED=YES) or a COG.',
        });
      }
      continue;
    }
    const p: Parsed = {
      subfile,
      width: await scalar(ifd, TAG.ImageWidth, 0),
      height: await scalar(ifd, TAG.ImageLength, 0),
      tileWidth: await scalar(ifd, TAG.TileWidth, 0),
      tileHeight: await scalar(ifd, TAG.TileLength, 0),
      compression: await scalar(ifd, TAG.Compression, 1),
      photometric: await scalar(ifd, TAG.Photometric, -1),
      samplesPerPixel: await scalar(ifd, TAG.SamplesPerPixel, 1),
      bitsPerSample: await scalar(ifd, TAG.BitsPerSample, 1),
      offsets: await values(ifd.get(TAG.TileOffsets)),
      counts: toUint32(await values(ifd.get(TAG.TileByteCounts))),
    };
    if (p.width < 1 || p.height < 1 || p.tileWidth < 1 || p.tileHeight < 1) throw corrupt(`IFD ${k} has no size`);
    const n = Math.ceil(p.width / p.tileWidth) * Math.ceil(p.height / p.tileHeight);
    if ((await scalar(ifd, TAG.PlanarConfiguration, 1)) !== 1 && p.samplesPerPixel > 1) {
      throw new UserError('tiff-unsupported', 'Planar-separate TIFFs are not supported here.', { status: 422 });
    }
    if (p.offsets.length !== n || p.counts.length !== n) throw corrupt(`IFD ${k} has ${p.offsets.length} tile offsets for ${n} tiles`);
    ((subfile & SUBFILE_MASK) !== 0 ? masks : images).push(p);
  }
  if (images.length === 0) throw corrupt('no image IFD');
  images.sort((a, b) => b.width - a.width);

  // --- truncation: every referenced byte must exist
  if (size !== undefined) {
    let end = 0;
    for (const p of [...images, ...masks]) {
      for (let i = 0; i < p.offsets.length; i++) {
        const e = (p.offsets[i] as number) + (p.counts[i] as number);
        if (e > end) end = e;
      }
    }
    if (end > size) throw truncated(end);
  }

  // --- the shared all-ones mask block: offsets used by several mask tiles, checked once
  const uses = new Map<number, number>();
  for (const m of masks) {
    for (let i = 0; i < m.offsets.length; i++) {
      const o = m.offsets[i] as number;
      if (o > 0 && (m.counts[i] as number) > 0) uses.set(o, (uses.get(o) ?? 0) + 1);
    }
  }
  const fullMaskOffsets = new Set<number>();
  const candidates = [...uses].filter(([, n]) => n > 1).slice(0, 4);
  for (const [offset] of candidates) {
    const m = masks.find((x) => x.offsets.includes(offset)) as Parsed;
    const length = m.counts[m.offsets.indexOf(offset)] as number;
    if (length > 65536) continue;
    const dv = await view(offset, length);
    const bits = decompressMask(new Uint8Array(dv.buffer, dv.byteOffset, length), m.compression);
    if (bits && isAllOnes(bits, m.tileWidth, m.tileHeight, m.bitsPerSample)) fullMaskOffsets.add(offset);
  }

  const levels: TiledTiffReadLevel[] = images.map((p) => {
    const tilesAcross = Math.ceil(p.width / p.tileWidth);
    const tilesDown = Math.ceil(p.height / p.tileHeight);
    const mask = masks.find((m) => m.width === p.width && m.height === p.height && m.tileWidth === p.tileWidth && m.tileHeight === p.tileHeight);
    const states = new Uint8Array(tilesAcross * tilesDown);
    for (let i = 0; i < states.length; i++) {
      if (!p.counts[i] || !p.offsets[i]) states[i] = MASK_EMPTY;
      else if (!mask) states[i] = MASK_FULL;
      else if (!mask.counts[i] || !mask.offsets[i]) states[i] = MASK_EMPTY;
      else states[i] = fullMaskOffsets.has(mask.offsets[i] as number) ? MASK_FULL : MASK_PARTIAL;
    }
    return {
      width: p.width,
      height: p.height,
      tileWidth: p.tileWidth,
      tileHeight: p.tileHeight,
      tilesAcross,
      tilesDown,
      tileOffsets: p.offsets,
      tileByteCounts: p.counts,
      maskOffsets: mask?.offsets,
      maskByteCounts: mask?.counts,
      maskStates: states,
      compression: p.compression,
      photometric: p.photometric,
      samplesPerPixel: p.samplesPerPixel,
      maskCompression: mask?.compression,
      maskBitsPerSample: mask?.bitsPerSample,
    };
  });

  const georef = await readGeoref(ifds[0] as Map<number, RawEntry>, values);

  const tiff: TiledTiff = {
    levels,
    georef,
    bigTiff: big,
    littleEndian: le,
    fullMaskOffsets,
    tileRange: (level, col, row) => tileRangeOf(tiff, level, col, row),
    maskState: (level, col, row) => maskStateOf(tiff, level, col, row),
    async readMask(level, col, row) {
      const lv = levels[level];
      if (!lv || !Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= lv.tilesAcross || row >= lv.tilesDown) return null;
      const i = row * lv.tilesAcross + col;
      if (!lv.tileByteCounts[i] || !lv.tileOffsets[i]) return null;
      if (!lv.maskOffsets || !lv.maskByteCounts) return 'full';
      const offset = lv.maskOffsets[i] as number;
      const length = lv.maskByteCounts[i] as number;
      if (!offset || !length) return null;
      if (fullMaskOffsets.has(offset)) return 'full';
      const dv = await view(offset, length);
      const bits = decompressMask(new Uint8Array(dv.buffer, dv.byteOffset, length), lv.maskCompression ?? 1);
      if (!bits) throw new UserError('tiff-unsupported', `Mask compression ${lv.maskCompression} is not supported.`, { status: 422 });
      return expandMask(bits, lv.tileWidth, lv.tileHeight, lv.maskBitsPerSample ?? 1);
    },
  };
  return tiff;
}

function toUint32(v: Float64Array): Uint32Array {
  const out = new Uint32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (x > 0xffffffff) throw new UserError('tiff-unsupported', 'A tile of 4 GiB or more is not supported.', { status: 422 });
    out[i] = x;
  }
  return out;
}

async function readGeoref(ifd: Map<number, RawEntry>, values: (e: RawEntry | undefined) => Promise<Float64Array>): Promise<TiffGeoref | null> {
  const scale = await values(ifd.get(TAG.ModelPixelScale));
  const tie = await values(ifd.get(TAG.ModelTiepoint));
  const keys = await values(ifd.get(TAG.GeoKeyDirectory));
  if (scale.length < 2 || tie.length < 6) return null;
  const key = (id: number): number | undefined => {
    const n = keys[3] ?? 0;
    for (let k = 0; k < n; k++) {
      const p = 4 + 4 * k;
      if (keys[p] === id && keys[p + 1] === 0) return keys[p + 3];
    }
    return undefined;
  };
  const epsg = key(3072) ?? key(2048);
  const [sx, sy] = scale as unknown as [number, number];
  if (epsg === undefined || epsg === 32767 || Math.abs(sx - sy) > 1e-12 * sx) return null;
  const [i, j, , x, y] = tie as unknown as [number, number, number, number, number];
  // PixelIsPoint: the tiepoint is a pixel centre.
  const shift = key(1025) === 2 ? 0.5 : 0;
  return { epsg, originX: x - (i + shift) * sx, originY: y + (j + shift) * sy, pixelSize: sx };
}

/** Inflates (or passes through) a mask tile; null for an unsupported compression. */
function decompressMask(raw: Uint8Array, compression: number): Uint8Array | null {
  if (compression === 1) return raw;
  if (compression === COMPRESSION_DEFLATE || compression === COMPRESSION_DEFLATE_OLD) {
    try {
      return inflateSync(raw);
    } catch {
      throw corrupt('a mask tile does not inflate');
    }
  }
  return null;
}

function isAllOnes(bits: Uint8Array, w: number, h: number, bps: number): boolean {
  const rowBytes = bps === 1 ? Math.ceil(w / 8) : w;
  if (bits.length < rowBytes * h) return false;
  if (bps !== 1) {
    for (let i = 0; i < w * h; i++) if (bits[i] === 0) return false;
    return true;
  }
  const lastMask = w % 8 === 0 ? 0xff : (0xff << (8 - (w % 8))) & 0xff;
  for (let y = 0; y < h; y++) {
    const p = y * rowBytes;
    for (let x = 0; x < rowBytes - 1; x++) if (bits[p + x] !== 0xff) return false;
    if (((bits[p + rowBytes - 1] ?? 0) & lastMask) !== lastMask) return false;
  }
  return true;
}

/** byte → 8 bytes of 0/255, as two 32-bit words in platform byte order. */
const EXPAND = (() => {
  const lut = new Uint32Array(512);
  const bytes = new Uint8Array(lut.buffer);
  for (let v = 0; v < 256; v++) for (let b = 0; b < 8; b++) bytes[v * 8 + b] = v & (0x80 >> b) ? 255 : 0;
  return lut;
})();

/** 1-bit (MSB first) or 8-bit mask rows → w × h bytes of 0 / 255. */
export function expandMask(bits: Uint8Array, w: number, h: number, bitsPerSample = 1): Buffer {
  const ab = new ArrayBuffer(w * h);
  const out = new Uint8Array(ab);
  if (bitsPerSample === 8) {
    const n = Math.min(bits.length, w * h);
    for (let i = 0; i < n; i++) out[i] = bits[i] ? 255 : 0;
    return Buffer.from(ab);
  }
  const rowBytes = Math.ceil(w / 8);
  const rows = Math.min(h, Math.floor(bits.length / rowBytes));
  if (w % 8 === 0) {
    const out32 = new Uint32Array(ab, 0, (w * h) >> 2);
    for (let y = 0; y < rows; y++) {
      let o = (y * w) >> 2;
      const p = y * rowBytes;
      for (let x = 0; x < rowBytes; x++) {
        const v = (bits[p + x] as number) << 1;
        out32[o++] = EXPAND[v] as number;
        out32[o++] = EXPAND[v + 1] as number;
      }
    }
  } else {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < w; x++) out[y * w + x] = (bits[y * rowBytes + (x >> 3)] as number) & (0x80 >> (x & 7)) ? 255 : 0;
    }
  }
  return Buffer.from(ab);
}

/** A TiffSource over a local file (positional reads). Close it when done. */
export async function openFileSource(path: string): Promise<TiffSource & { size: number; close(): Promise<void> }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError('file-not-found', `No such file: ${path}.`, { status: 404 });
    throw e;
  }
  const { size } = await fh.stat();
  const handle = fh;
  return {
    size,
    async read(offset, length) {
      const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - offset)));
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await handle.read(buf, done, buf.length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === buf.length ? buf : buf.subarray(0, done);
    },
    close: () => handle.close(),
  };
}

/** Opens a tiled TIFF file on disk; the returned object's `close()` releases the file handle. */
export async function openTiledTiffFile(path: string, options: { prefixBytes?: number } = {}): Promise<TiledTiff & { source: TiffSource; close(): Promise<void> }> {
  const source = await openFileSource(path);
  try {
    const tiff = await openTiledTiff(source, options);
    return Object.assign(tiff, { source, close: () => source.close() });
  } catch (e) {
    await source.close();
    throw e;
  }
}
