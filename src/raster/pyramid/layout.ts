import type { Bbox } from '../../grid/bbox.js';
import { TMS_2154_5CM, tileBbox, tileRange } from '../../grid/tile-matrix-set.js';

/**
 * Layout of the hot pyramid in the `2154_5cm` TileMatrixSet. Two families of files, both tiled
 * GeoTIFFs whose 256 px internal tiles ARE the served tiles (self-contained JPEGs):
 *
 * - "detail" files: one per level-15 tile (1 638.4 m square), holding levels 22 (32 768² px, 5 cm)
 *   down to 15 as full resolution + 7 overviews;
 * - "overview" files: one per level-6 tile (838.86 km square: one or two per département), holding
 *   levels 14 down to 6.
 *
 * Everything is computed in integer level-22 pixels from the matrix origin (0, 12 000 000): source
 * dalles on the 5 cm lattice map to whole pixels (no resampling), and every level's tiles are
 * aligned to the files' origins.
 */

export const MAX_LEVEL = 22;
export const DETAIL_FILE_LEVEL = 15;
export const OVERVIEW_FILE_LEVEL = 6;
/** Lowest level served (IGN publishes PCRS on 6–22). */
export const MIN_LEVEL = OVERVIEW_FILE_LEVEL;
export const TILE = 256;
export const PIXEL = 0.05;
export const ORIGIN_Y = 12_000_000;

export type FileFamily = 'detail' | 'overview';

export interface PyramidFileRef {
  family: FileFamily;
  /** Tile of level 15 (detail) or 6 (overview) that the file covers. */
  col: number;
  row: number;
}

export function familyLevel(family: FileFamily): number {
  return family === 'detail' ? DETAIL_FILE_LEVEL : OVERVIEW_FILE_LEVEL;
}

/** Finest level stored in files of this family. */
export function familyTopLevel(family: FileFamily): number {
  return family === 'detail' ? MAX_LEVEL : DETAIL_FILE_LEVEL - 1;
}

/** Levels (finest first) held by a file of this family; index in this list = TIFF IFD level. */
export function familyLevels(family: FileFamily): number[] {
  const levels: number[] = [];
  for (let z = familyTopLevel(family); z >= familyLevel(family); z--) levels.push(z);
  return levels;
}

/** Which file holds tile (z, col, row), and the tile's position inside it. */
export function locateTile(z: number, col: number, row: number): { file: PyramidFileRef; ifd: number; col: number; row: number } | null {
  if (z > MAX_LEVEL || z < MIN_LEVEL) return null;
  const family: FileFamily = z >= DETAIL_FILE_LEVEL ? 'detail' : 'overview';
  const shift = z - familyLevel(family);
  const fileCol = Math.floor(col / 2 ** shift);
  const fileRow = Math.floor(row / 2 ** shift);
  return {
    file: { family, col: fileCol, row: fileRow },
    ifd: familyTopLevel(family) - z,
    col: col - fileCol * 2 ** shift,
    row: row - fileRow * 2 ** shift,
  };
}

/** Pixel size in metres at level z. */
export function cellSize(z: number): number {
  return (5 * 2 ** (MAX_LEVEL - z)) / 100;
}

/** Width in pixels of a file of this family at its finest level. */
export function fileSizePx(family: FileFamily): number {
  return TILE * 2 ** (familyTopLevel(family) - familyLevel(family));
}

export function fileBbox(ref: PyramidFileRef): Bbox {
  return tileBbox(TMS_2154_5CM, familyLevel(ref.family), ref.col, ref.row);
}

/** Files of a family intersecting a Lambert-93 bbox. */
export function filesForBbox(family: FileFamily, bbox: Bbox): PyramidFileRef[] {
  const range = tileRange(TMS_2154_5CM, familyLevel(family), bbox);
  if (!range) return [];
  const out: PyramidFileRef[] = [];
  for (let row = range.minRow; row <= range.maxRow; row++) for (let col = range.minCol; col <= range.maxCol; col++) out.push({ family, col, row });
  return out;
}

/** Integer rectangle [x0, x1) × [y0, y1) in level-22 pixels from the matrix origin. */
export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A Lambert-93 bbox on the 5 cm lattice as level-22 pixels (rounded: extents are exact multiples of 5 cm). */
export function bboxToPixels(bbox: Bbox): PixelRect {
  return {
    x0: Math.round(bbox[0] / PIXEL),
    x1: Math.round(bbox[2] / PIXEL),
    y0: Math.round((ORIGIN_Y - bbox[3]) / PIXEL),
    y1: Math.round((ORIGIN_Y - bbox[1]) / PIXEL),
  };
}

export function intersectRect(a: PixelRect, b: PixelRect): PixelRect | null {
  const r = { x0: Math.max(a.x0, b.x0), y0: Math.max(a.y0, b.y0), x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1) };
  return r.x0 < r.x1 && r.y0 < r.y1 ? r : null;
}

/** The level-22 pixel rectangle of a tile of level z (z ≤ 22). */
export function tilePixelRect(z: number, col: number, row: number): PixelRect {
  const span = TILE * 2 ** (MAX_LEVEL - z);
  return { x0: col * span, y0: row * span, x1: (col + 1) * span, y1: (row + 1) * span };
}

/** Storage key of a pyramid file. Content-addressed (hash prefix), so a path never changes meaning. */
export function pyramidFileKey(datasetId: string, versionName: string, ref: PyramidFileRef, sha256: string): string {
  const z = familyLevel(ref.family);
  return `${datasetId}/${versionName}/pyramid/${z}/${ref.row}/${ref.col}-${sha256.slice(0, 16)}.tif`;
}
