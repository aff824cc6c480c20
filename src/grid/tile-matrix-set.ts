/**
 * Tile matrix sets (OGC 2D-TMS) as plain data, and the tile arithmetic every service uses.
 *
 * Two sets are served: `2154_5cm` (IGN Géoplateforme / ROK4, Lambert-93, the native pyramid of
 * PCRS orthophotos) and `WebMercatorQuad` (alias `PM`, for web clients, reprojected on the fly).
 *
 * Conventions: the origin is the top-left corner; col grows east, row grows south; a tile is the
 * half-open box `xmin ≤ x < xmax`, `ymin < y ≤ ymax`, so a point on a tile edge belongs to the tile
 * to its right / below, and a bbox that merely touches a tile does not include it.
 *
 * Exactness: `2154_5cm` edges are multiples of 5 cm (12.8 m at z22), which binary floating point
 * cannot represent. Its geometry is therefore computed in integer centimetres (`exactDecimals: 2`)
 * and converted once, so `tileBbox` returns the double nearest to the true decimal edge, and index
 * computations snap values within 1 µm of an edge onto it (see `exact.ts`).
 */
import { UserError } from '../util/errors.js';
import type { Bbox } from './bbox.js';
import { assertValidBbox, bboxIntersection } from './bbox.js';
import type { CrsCode } from './crs.js';
import { crsUri } from './crs.js';
import { ceilIndex, EDGE_TOLERANCE_METRES, floorIndex, snapToInteger } from './exact.js';

/** OGC "standardized rendering pixel size" (0.28 mm) linking cell size and scale denominator. */
export const OGC_PIXEL_SIZE_METRES = 0.00028;

/** One zoom level of a tile matrix set. */
export interface TileMatrix {
  /** Identifier as used in WMTS `TileMatrix=` / OGC API `{tileMatrix}`: the level number. */
  readonly id: string;
  /** Level number, equal to the index in `TileMatrixSet.tileMatrices`. */
  readonly z: number;
  /** Ground size of one pixel, in CRS units (metres for all sets here). */
  readonly cellSize: number;
  /** `cellSize / 0.00028` (full double precision: GDAL derives the resolution from it). */
  readonly scaleDenominator: number;
  /** Top-left corner of the matrix [x, y], easting first. */
  readonly pointOfOrigin: readonly [number, number];
  readonly tileWidth: number;
  readonly tileHeight: number;
  readonly matrixWidth: number;
  readonly matrixHeight: number;
}

export interface TileMatrixSet {
  /** Canonical identifier, e.g. `2154_5cm`, `WebMercatorQuad`. */
  readonly id: string;
  /** Other identifiers clients use for the same set, e.g. `PM` (IGN), `LAMB93_5cm_EPSG` (ROK4). */
  readonly aliases: readonly string[];
  readonly title: string;
  readonly crs: CrsCode;
  /** OGC registry URI of the set, when it is a registered one. */
  readonly uri?: string | undefined;
  /** OGC well-known scale set URI, when one applies. */
  readonly wellKnownScaleSet?: string | undefined;
  readonly tileMatrices: readonly TileMatrix[];
  /**
   * When set to d, origin and cell sizes times 10^d are integers: tile edges are then computed
   * exactly in those units (centimetres for `2154_5cm`).
   */
  readonly exactDecimals?: number | undefined;
}

/** A tile address. */
export interface TileCoord {
  readonly z: number;
  readonly col: number;
  readonly row: number;
}

/** An inclusive rectangle of tiles at one level. */
export interface TileRange {
  readonly z: number;
  readonly minCol: number;
  readonly maxCol: number;
  readonly minRow: number;
  readonly maxRow: number;
}

// ---------------------------------------------------------------------------------------------
// The sets

/**
 * MatrixWidth × MatrixHeight of `2154_5cm` per level, verbatim from IGN's ROK4 definition
 * (github.com/rok4/tilematrixsets, 2154_5cm.json, identical to LAMB93_5cm.json). The matrix covers
 * x 0 … 1 290 240 (100 800 × 12.8 m) and y 12 000 000 down to 1 237 529.6 (840 818 × 12.8 m).
 * Widths are ceil(100 800 / 2^(22−z)); heights are ceil(840 818 / 2^(22−z)) except at z19, where
 * IGN publishes 105 102 instead of 105 103. Kept verbatim so that our capabilities and limits match
 * the Géoplateforme's; the row concerned lies near y = 1.24e6, far from any French data.
 */
const MATRIX_SIZES_2154_5CM: readonly (readonly [number, number])[] = [
  [1, 1],
  [1, 1],
  [1, 1],
  [1, 2],
  [1, 4],
  [1, 7],
  [2, 13],
  [4, 26],
  [7, 52],
  [13, 103],
  [25, 206],
  [50, 411],
  [99, 822],
  [197, 1643],
  [394, 3285],
  [788, 6569],
  [1575, 13138],
  [3150, 26276],
  [6300, 52552],
  [12600, 105102],
  [25200, 210205],
  [50400, 420409],
  [100800, 840818],
];

/**
 * `2154_5cm`: Lambert-93, origin (0, 12 000 000), 256 px tiles, levels 0–22 with cell size
 * 0.05 · 2^(22−z) m (z22 = 5 cm, the PCRS pixel; a z22 tile is 12.8 m). IGN publishes PCRS layers
 * on levels 6–22 of it (`2154_5cm_6_22`).
 */
export const TMS_2154_5CM: TileMatrixSet = {
  id: '2154_5cm',
  aliases: ['LAMB93_5cm_EPSG', 'LAMB93_5cm'],
  title: 'Lambert-93 (EPSG:2154), 5 cm at level 22 (IGN Géoplateforme 2154_5cm)',
  crs: 'EPSG:2154',
  exactDecimals: 2,
  tileMatrices: MATRIX_SIZES_2154_5CM.map(([matrixWidth, matrixHeight], z) => {
    // 5 · 2^(22−z) centimetres, divided once: 0.05, 0.1, …, 209715.2 exactly as written.
    const cellSize = (5 * 2 ** (22 - z)) / 100;
    return {
      id: String(z),
      z,
      cellSize,
      scaleDenominator: cellSize / OGC_PIXEL_SIZE_METRES,
      pointOfOrigin: [0, 12_000_000],
      tileWidth: 256,
      tileHeight: 256,
      matrixWidth,
      matrixHeight,
    };
  }),
};

/** Equatorial circumference / 256 of the WGS 84 sphere used by Web Mercator: level-0 cell size. */
const WEB_MERCATOR_Z0_CELL = (2 * Math.PI * 6_378_137) / 256;
/** Origin as written in the OGC 2D-TMS WebMercatorQuad definition. */
const WEB_MERCATOR_ORIGIN = 20_037_508.3427892;

/**
 * `WebMercatorQuad` (OGC 2D-TMS registry; "Google Maps compatible"; IGN calls it `PM`):
 * EPSG:3857, origin (−20 037 508.3427892, 20 037 508.3427892), levels 0–24, 2^z × 2^z tiles,
 * level-0 cell 156 543.03392804097 m, scale denominator 559 082 264.0287178.
 */
export const TMS_WEB_MERCATOR_QUAD: TileMatrixSet = {
  id: 'WebMercatorQuad',
  aliases: ['PM', 'GoogleMapsCompatible'],
  title: 'Google Maps Compatible for the World',
  crs: 'EPSG:3857',
  uri: 'http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad',
  wellKnownScaleSet: 'http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible',
  tileMatrices: Array.from({ length: 25 }, (_, z) => {
    const cellSize = WEB_MERCATOR_Z0_CELL / 2 ** z;
    return {
      id: String(z),
      z,
      cellSize,
      scaleDenominator: cellSize / OGC_PIXEL_SIZE_METRES,
      pointOfOrigin: [-WEB_MERCATOR_ORIGIN, WEB_MERCATOR_ORIGIN] as const,
      tileWidth: 256,
      tileHeight: 256,
      matrixWidth: 2 ** z,
      matrixHeight: 2 ** z,
    };
  }),
};

/** All served tile matrix sets. */
export const TILE_MATRIX_SETS: readonly TileMatrixSet[] = [TMS_2154_5CM, TMS_WEB_MERCATOR_QUAD];

/**
 * The set with this identifier or alias (`2154_5cm`, `LAMB93_5cm_EPSG`, `WebMercatorQuad`, `PM`, …;
 * case-sensitive, as WMTS identifiers are). Throws `UserError('unknown-tile-matrix-set')`.
 */
export function getTileMatrixSet(idOrAlias: string): TileMatrixSet {
  const tms = TILE_MATRIX_SETS.find((t) => t.id === idOrAlias || t.aliases.includes(idOrAlias));
  if (!tms) {
    const known = TILE_MATRIX_SETS.flatMap((t) => [t.id, ...t.aliases]).join(', ');
    throw new UserError('unknown-tile-matrix-set', `unknown tile matrix set '${idOrAlias}': known are ${known}`);
  }
  return tms;
}

/** The finest level (levels always start at 0). */
export function maxZoom(tms: TileMatrixSet): number {
  return tms.tileMatrices.length - 1;
}

/** The level `z`; throws `UserError('invalid-tile-matrix')` when the set has no such level. */
export function getTileMatrix(tms: TileMatrixSet, z: number): TileMatrix {
  const tm = Number.isInteger(z) ? tms.tileMatrices[z] : undefined;
  if (!tm) {
    throw new UserError('invalid-tile-matrix', `tile matrix ${z} does not exist in ${tms.id} (levels 0–${maxZoom(tms)})`);
  }
  return tm;
}

/**
 * Geometry of a level in "exact units" (CRS units × 10^exactDecimals), where origin and tile spans
 * are integers for `2154_5cm`, so that `origin + col · span` involves no rounding.
 */
function exactGeometry(tms: TileMatrixSet, tm: TileMatrix) {
  const scale = 10 ** (tms.exactDecimals ?? 0);
  const exact = tms.exactDecimals !== undefined;
  const s = (v: number) => (exact ? Math.round(v * scale) : v);
  return {
    scale,
    x0: s(tm.pointOfOrigin[0]),
    y0: s(tm.pointOfOrigin[1]),
    spanX: s(tm.cellSize * tm.tileWidth),
    spanY: s(tm.cellSize * tm.tileHeight),
    tolerance: EDGE_TOLERANCE_METRES * scale,
  };
}

/** True when (z, col, row) is a tile of the set. */
export function isTileInMatrix(tms: TileMatrixSet, z: number, col: number, row: number): boolean {
  const tm = Number.isInteger(z) ? tms.tileMatrices[z] : undefined;
  return (
    tm !== undefined &&
    Number.isInteger(col) &&
    Number.isInteger(row) &&
    col >= 0 &&
    row >= 0 &&
    col < tm.matrixWidth &&
    row < tm.matrixHeight
  );
}

/** Throws the errors a WMTS `TileOutOfRange` exception reports. */
function assertTile(tms: TileMatrixSet, z: number, col: number, row: number): TileMatrix {
  const tm = getTileMatrix(tms, z);
  if (!Number.isInteger(col) || col < 0 || col >= tm.matrixWidth) {
    throw new UserError('tile-out-of-range', `TileCol ${col} is out of range 0–${tm.matrixWidth - 1} at level ${z} of ${tms.id}`);
  }
  if (!Number.isInteger(row) || row < 0 || row >= tm.matrixHeight) {
    throw new UserError('tile-out-of-range', `TileRow ${row} is out of range 0–${tm.matrixHeight - 1} at level ${z} of ${tms.id}`);
  }
  return tm;
}

/** The tile's extent in the set's CRS. Throws `UserError('tile-out-of-range')` outside the matrix. */
export function tileBbox(tms: TileMatrixSet, z: number, col: number, row: number): Bbox {
  const tm = assertTile(tms, z, col, row);
  const g = exactGeometry(tms, tm);
  return [
    (g.x0 + col * g.spanX) / g.scale,
    (g.y0 - (row + 1) * g.spanY) / g.scale,
    (g.x0 + (col + 1) * g.spanX) / g.scale,
    (g.y0 - row * g.spanY) / g.scale,
  ];
}

/** The full extent covered by level `z` of the matrix. */
export function matrixBbox(tms: TileMatrixSet, z: number): Bbox {
  const tm = getTileMatrix(tms, z);
  const g = exactGeometry(tms, tm);
  return [g.x0 / g.scale, (g.y0 - tm.matrixHeight * g.spanY) / g.scale, (g.x0 + tm.matrixWidth * g.spanX) / g.scale, g.y0 / g.scale];
}

/**
 * The tile containing the point, or `null` when the point is outside the matrix. A point on an
 * edge belongs to the tile to its right / below.
 */
export function tileAt(tms: TileMatrixSet, z: number, x: number, y: number): TileCoord | null {
  const tm = getTileMatrix(tms, z);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
  const g = exactGeometry(tms, tm);
  const col = floorIndex(x * g.scale - g.x0, g.spanX, g.tolerance);
  const row = floorIndex(g.y0 - y * g.scale, g.spanY, g.tolerance);
  return isTileInMatrix(tms, z, col, row) ? { z, col, row } : null;
}

/**
 * Tiles at level `z` sharing a positive area with the bbox, as an inclusive range clamped to the
 * matrix, or `null` when there are none. A bbox edge lying on a tile edge does not pull in the
 * neighbour tile; a degenerate bbox (line or point) gives the tiles `tileAt` assigns to it.
 */
export function tileRange(tms: TileMatrixSet, z: number, bbox: Bbox): TileRange | null {
  assertValidBbox(bbox);
  const tm = getTileMatrix(tms, z);
  const g = exactGeometry(tms, tm);
  const [xmin, ymin, xmax, ymax] = bbox;
  let minCol = floorIndex(xmin * g.scale - g.x0, g.spanX, g.tolerance);
  let maxCol = Math.max(minCol, ceilIndex(xmax * g.scale - g.x0, g.spanX, g.tolerance) - 1);
  let minRow = floorIndex(g.y0 - ymax * g.scale, g.spanY, g.tolerance);
  let maxRow = Math.max(minRow, ceilIndex(g.y0 - ymin * g.scale, g.spanY, g.tolerance) - 1);
  minCol = Math.max(minCol, 0);
  minRow = Math.max(minRow, 0);
  maxCol = Math.min(maxCol, tm.matrixWidth - 1);
  maxRow = Math.min(maxRow, tm.matrixHeight - 1);
  if (minCol > maxCol || minRow > maxRow) return null;
  return { z, minCol, maxCol, minRow, maxRow };
}

/** Number of tiles in a range. */
export function tileCount(range: TileRange): number {
  return (range.maxCol - range.minCol + 1) * (range.maxRow - range.minRow + 1);
}

/** The tiles of a range, row by row from the top, west to east. */
export function* tilesInRange(range: TileRange): Generator<TileCoord> {
  for (let row = range.minRow; row <= range.maxRow; row++) {
    for (let col = range.minCol; col <= range.maxCol; col++) yield { z: range.z, col, row };
  }
}

/** How `levelForResolution` picks between the two levels around a resolution. */
export type LevelRounding = 'closest' | 'finer' | 'coarser';

/**
 * The level whose cell size best matches `metresPerPixel` (CRS units per pixel):
 * - `closest` (default): nearest on a logarithmic scale (levels are a factor 2 apart); exactly
 *   half-way (factor √2) picks the finer level;
 * - `finer`: the coarsest level at least as fine as requested (no upsampling when rendering);
 * - `coarser`: the finest level at least as coarse as requested (fewest tiles to read).
 * Requests beyond the ends are clamped to the first / last level. Throws
 * `UserError('invalid-resolution')` for non-positive or non-finite values.
 */
export function levelForResolution(tms: TileMatrixSet, metresPerPixel: number, rounding: LevelRounding = 'closest'): number {
  if (!Number.isFinite(metresPerPixel) || metresPerPixel <= 0) {
    throw new UserError('invalid-resolution', `resolution must be a positive number of metres per pixel, got ${metresPerPixel}`);
  }
  const rel = 1e-9; // a requested resolution equal to a cell size up to float noise selects that level
  const matrices = tms.tileMatrices;
  if (rounding === 'finer') {
    let best: TileMatrix | undefined;
    for (const tm of matrices) {
      if (tm.cellSize <= metresPerPixel * (1 + rel) && (!best || tm.cellSize > best.cellSize)) best = tm;
    }
    return best ? best.z : finest(matrices).z;
  }
  if (rounding === 'coarser') {
    let best: TileMatrix | undefined;
    for (const tm of matrices) {
      if (tm.cellSize >= metresPerPixel * (1 - rel) && (!best || tm.cellSize < best.cellSize)) best = tm;
    }
    return best ? best.z : coarsest(matrices).z;
  }
  let best = matrices[0] as TileMatrix;
  let bestDistance = Infinity;
  for (const tm of matrices) {
    const d = Math.abs(Math.log(tm.cellSize / metresPerPixel));
    // Ties (within float noise) go to the finer level.
    if (d < bestDistance - rel || (Math.abs(d - bestDistance) <= rel && tm.cellSize < best.cellSize)) {
      best = tm;
      bestDistance = d;
    }
  }
  return best.z;
}

function finest(matrices: readonly TileMatrix[]): TileMatrix {
  return matrices.reduce((a, b) => (b.cellSize < a.cellSize ? b : a));
}

function coarsest(matrices: readonly TileMatrix[]): TileMatrix {
  return matrices.reduce((a, b) => (b.cellSize > a.cellSize ? b : a));
}

// ---------------------------------------------------------------------------------------------
// Dalles → pyramid tiles

/** A rectangle of pixels: upper-left pixel (x = column, y = row) and size. */
export interface PixelWindow {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The part of one tile that a source raster (a dalle) covers. */
export interface TileWindow {
  readonly tile: TileCoord;
  /** Ground extent shared by the raster and the tile. */
  readonly bbox: Bbox;
  /** That extent in the raster's pixels (origin = raster's upper-left corner). */
  readonly source: PixelWindow;
  /** That extent in the tile's pixels (0 … tileWidth, 0 … tileHeight). */
  readonly target: PixelWindow;
  /** True when both windows are whole pixels: the copy is an integer shift, no resampling. */
  readonly pixelAligned: boolean;
}

export interface DalleToTileWindowsOptions {
  /** Pixel size of the source raster in CRS units; default 0.05 m, the PCRS orthophoto pixel. */
  readonly sourcePixelSize?: number;
}

/**
 * Every tile of level `z` that the raster covering `dalleBbox` touches (with positive area), with
 * the pixel windows they share, row by row from the top. This is the cutting plan of ingest.
 *
 * 5 cm dalles on the km grid and `2154_5cm` z22 share one pixel lattice (both origins are multiples
 * of 5 cm), so at z22 every window is a whole-pixel shift; but tiles never align with dalles
 * (575 000 m / 12.8 m = 44 921.875 tiles), so border tiles are partial. At other levels windows
 * are generally fractional (`pixelAligned: false`) and the copy needs resampling.
 */
export function dalleToTileWindows(dalleBbox: Bbox, tms: TileMatrixSet, z: number, options: DalleToTileWindowsOptions = {}): TileWindow[] {
  const pixel = options.sourcePixelSize ?? 0.05;
  if (!Number.isFinite(pixel) || pixel <= 0) {
    throw new UserError('invalid-argument', `sourcePixelSize must be a positive number, got ${pixel}`);
  }
  const tm = getTileMatrix(tms, z);
  const range = tileRange(tms, z, dalleBbox);
  if (!range) return [];
  const [dxmin, , , dymax] = dalleBbox;
  // Windows are snapped to whole pixels when within 1 µm on the ground of a pixel boundary.
  const srcTol = EDGE_TOLERANCE_METRES / pixel;
  const dstTol = EDGE_TOLERANCE_METRES / tm.cellSize;
  const out: TileWindow[] = [];
  for (const tile of tilesInRange(range)) {
    const tb = tileBbox(tms, z, tile.col, tile.row);
    const shared = bboxIntersection(dalleBbox, tb);
    if (!shared) continue; // only possible for degenerate dalle bboxes
    const [sxmin, symin, sxmax, symax] = shared;
    const source: PixelWindow = {
      x: snapToInteger((sxmin - dxmin) / pixel, srcTol),
      y: snapToInteger((dymax - symax) / pixel, srcTol),
      width: snapToInteger((sxmax - sxmin) / pixel, srcTol),
      height: snapToInteger((symax - symin) / pixel, srcTol),
    };
    const target: PixelWindow = {
      x: snapToInteger((sxmin - tb[0]) / tm.cellSize, dstTol),
      y: snapToInteger((tb[3] - symax) / tm.cellSize, dstTol),
      width: snapToInteger((sxmax - sxmin) / tm.cellSize, dstTol),
      height: snapToInteger((symax - symin) / tm.cellSize, dstTol),
    };
    const whole = (w: PixelWindow) => Number.isInteger(w.x) && Number.isInteger(w.y) && Number.isInteger(w.width) && Number.isInteger(w.height);
    out.push({ tile, bbox: shared, source, target, pixelAligned: whole(source) && whole(target) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// OGC JSON encodings

/** OGC Two Dimensional Tile Matrix Set 2.0 JSON (OGC 17-083r4), as used by OGC API – Tiles. */
export interface OgcTileMatrixSetJson {
  id: string;
  title: string;
  uri?: string;
  crs: string;
  orderedAxes: [string, string];
  wellKnownScaleSet?: string;
  tileMatrices: {
    id: string;
    scaleDenominator: number;
    cellSize: number;
    cornerOfOrigin: 'topLeft';
    pointOfOrigin: [number, number];
    tileWidth: number;
    tileHeight: number;
    matrixWidth: number;
    matrixHeight: number;
  }[];
}

/**
 * OGC 2D-TMS 1.0 JSON (OGC 17-083r2). GDAL 3.6 (Debian 12) only reads this older encoding for
 * COG `TILING_SCHEME=<file>`; GDAL derives each level's resolution from `scaleDenominator`, which
 * is why scale denominators are written at full double precision.
 */
export interface OgcTileMatrixSetJsonV1 {
  type: 'TileMatrixSetType';
  title: string;
  identifier: string;
  supportedCRS: string;
  wellKnownScaleSet?: string;
  boundingBox: { type: 'BoundingBoxType'; crs: string; lowerCorner: [number, number]; upperCorner: [number, number] };
  tileMatrix: {
    type: 'TileMatrixType';
    identifier: string;
    scaleDenominator: number;
    topLeftCorner: [number, number];
    tileWidth: number;
    tileHeight: number;
    matrixWidth: number;
    matrixHeight: number;
  }[];
}

/**
 * The set as OGC 2D-TMS 2.0 JSON (for OGC API – Tiles `/tileMatrixSets/{id}`), or as 1.0 JSON for
 * GDAL 3.6's COG `TILING_SCHEME`. Axis order is easting, northing for both sets.
 */
export function tileMatrixSetToOgcJson(tms: TileMatrixSet): OgcTileMatrixSetJson;
export function tileMatrixSetToOgcJson(tms: TileMatrixSet, version: '2.0'): OgcTileMatrixSetJson;
export function tileMatrixSetToOgcJson(tms: TileMatrixSet, version: '1.0'): OgcTileMatrixSetJsonV1;
export function tileMatrixSetToOgcJson(tms: TileMatrixSet, version: '1.0' | '2.0' = '2.0'): OgcTileMatrixSetJson | OgcTileMatrixSetJsonV1 {
  const crs = crsUri(tms.crs);
  if (version === '1.0') {
    const last = tms.tileMatrices.length - 1;
    const extent = matrixBbox(tms, last);
    return {
      type: 'TileMatrixSetType',
      title: tms.title,
      identifier: tms.id,
      supportedCRS: crs,
      ...(tms.wellKnownScaleSet ? { wellKnownScaleSet: tms.wellKnownScaleSet } : {}),
      boundingBox: { type: 'BoundingBoxType', crs, lowerCorner: [extent[0], extent[1]], upperCorner: [extent[2], extent[3]] },
      tileMatrix: tms.tileMatrices.map((tm) => ({
        type: 'TileMatrixType',
        identifier: tm.id,
        scaleDenominator: tm.scaleDenominator,
        topLeftCorner: [tm.pointOfOrigin[0], tm.pointOfOrigin[1]],
        tileWidth: tm.tileWidth,
        tileHeight: tm.tileHeight,
        matrixWidth: tm.matrixWidth,
        matrixHeight: tm.matrixHeight,
      })),
    };
  }
  return {
    id: tms.id,
    title: tms.title,
    ...(tms.uri ? { uri: tms.uri } : {}),
    crs,
    orderedAxes: ['X', 'Y'],
    ...(tms.wellKnownScaleSet ? { wellKnownScaleSet: tms.wellKnownScaleSet } : {}),
    tileMatrices: tms.tileMatrices.map((tm) => ({
      id: tm.id,
      scaleDenominator: tm.scaleDenominator,
      cellSize: tm.cellSize,
      cornerOfOrigin: 'topLeft',
      pointOfOrigin: [tm.pointOfOrigin[0], tm.pointOfOrigin[1]],
      tileWidth: tm.tileWidth,
      tileHeight: tm.tileHeight,
      matrixWidth: tm.matrixWidth,
      matrixHeight: tm.matrixHeight,
    })),
  };
}
