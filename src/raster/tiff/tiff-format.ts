/**
 * What the pyramid-file writer and reader share: TIFF/GeoTIFF constants and the tile index the
 * tile server caches (one per pyramid file; typed arrays, indexed by `row * tilesAcross + col`).
 */

export const TAG = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  PlanarConfiguration: 284,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SampleFormat: 339,
  JPEGTables: 347,
  YCbCrSubSampling: 530,
  ReferenceBlackWhite: 532,
  ModelPixelScale: 33550,
  ModelTiepoint: 33922,
  GeoKeyDirectory: 34735,
} as const;

/** TIFF field types (the ones we write, plus all readable numeric ones). */
export const TYPE = {
  BYTE: 1,
  ASCII: 2,
  SHORT: 3,
  LONG: 4,
  RATIONAL: 5,
  SBYTE: 6,
  UNDEFINED: 7,
  SSHORT: 8,
  SLONG: 9,
  SRATIONAL: 10,
  FLOAT: 11,
  DOUBLE: 12,
  IFD: 13,
  LONG8: 16,
  SLONG8: 17,
  IFD8: 18,
} as const;

/** Bytes per value of each TIFF type (index = type code; 0 = unknown). */
export const TYPE_SIZE: readonly number[] = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8];

export const COMPRESSION_JPEG = 7;
export const COMPRESSION_DEFLATE = 8;
export const COMPRESSION_DEFLATE_OLD = 32946;
export const PHOTOMETRIC_RGB = 2;
export const PHOTOMETRIC_MASK = 4;
export const PHOTOMETRIC_YCBCR = 6;
/** NewSubfileType bits. */
export const SUBFILE_REDUCED = 1;
export const SUBFILE_MASK = 4;

/** Georeferencing of level 0: top-left corner and square pixel size, in the units of the CRS. */
export interface TiffGeoref {
  /** EPSG code of the CRS (projected, or geographic when read from a foreign file). */
  epsg: number;
  originX: number;
  originY: number;
  pixelSize: number;
}

/** Mask state codes in `TiledTiffLevel.maskStates`. */
export const MASK_EMPTY = 0;
export const MASK_PARTIAL = 1;
export const MASK_FULL = 2;
export type MaskState = 'empty' | 'partial' | 'full';
const MASK_STATE_NAMES: readonly MaskState[] = ['empty', 'partial', 'full'];

/** One resolution level of a tiled TIFF (level 0 = full resolution). */
export interface TiledTiffLevel {
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  tilesAcross: number;
  tilesDown: number;
  /** Byte offset of each tile's data; 0 = missing tile. Index `row * tilesAcross + col`. */
  tileOffsets: Float64Array;
  /** Byte length of each tile's data (for our files: one complete JPEG stream, SOI…EOI); 0 = missing. */
  tileByteCounts: Uint32Array;
  /** Offsets/lengths of the tiles of the level's mask IFD, when the file has one. */
  maskOffsets?: Float64Array | undefined;
  maskByteCounts?: Uint32Array | undefined;
  /**
   * MASK_EMPTY (missing tile or empty mask: answer transparent), MASK_PARTIAL (read the mask),
   * MASK_FULL (opaque tile: pass the JPEG through).
   */
  maskStates: Uint8Array;
}

/** What the tile server caches for one pyramid file. */
export interface TiledTiffIndex {
  levels: TiledTiffLevel[];
  georef: TiffGeoref | null;
  bigTiff: boolean;
}

export interface ByteRange {
  offset: number;
  length: number;
}

function tileIndex(index: TiledTiffIndex, level: number, col: number, row: number): { lv: TiledTiffLevel; i: number } | null {
  const lv = index.levels[level];
  if (!lv || !Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= lv.tilesAcross || row >= lv.tilesDown) {
    return null;
  }
  return { lv, i: row * lv.tilesAcross + col };
}

/** Where a tile's bytes are; null when the tile is missing or outside the level. */
export function tileRangeOf(index: TiledTiffIndex, level: number, col: number, row: number): ByteRange | null {
  const t = tileIndex(index, level, col, row);
  if (!t) return null;
  const length = t.lv.tileByteCounts[t.i] ?? 0;
  const offset = t.lv.tileOffsets[t.i] ?? 0;
  return length > 0 && offset > 0 ? { offset, length } : null;
}

/** Mask state of a tile ('empty' outside the level). */
export function maskStateOf(index: TiledTiffIndex, level: number, col: number, row: number): MaskState {
  const t = tileIndex(index, level, col, row);
  return t ? (MASK_STATE_NAMES[t.lv.maskStates[t.i] ?? MASK_EMPTY] ?? 'empty') : 'empty';
}
