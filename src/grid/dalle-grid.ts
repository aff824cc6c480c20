/**
 * The Lambert-93 dalle grids (1 km and 200 m) in which PCRS orthophotos are delivered, and the
 * de-facto IGN file naming of dalles.
 *
 * A dalle is identified by a `DalleRef { size, col, row }` with `col = xmin / size` and
 * `row = ymax / size`: the upper-left corner in units of the dalle size, which is what the file
 * names carry. Georeferencing always wins over names: ingest derives the ref from the raster
 * extent with `dalleRefFromBbox` and compares it with `parseDalleName`.
 *
 * Edge convention (same as tile matrices): a dalle is the half-open box
 * `xmin ≤ x < xmax`, `ymin < y ≤ ymax`, so a point on a shared edge belongs to the dalle to its
 * right (east) or below it (south).
 */
import { UserError } from '../util/errors.js';
import type { Bbox } from './bbox.js';
import { assertValidBbox, bboxContains, bboxContainsPoint } from './bbox.js';
import { ceilIndex, floorIndex } from './exact.js';

/** Dalle side in metres: 1 km (IGN deliveries) or 200 m (CNIG recommendation, updates). */
export type DalleSize = 1000 | 200;

export const DALLE_SIZES: readonly DalleSize[] = [1000, 200];

/** A dalle of the Lambert-93 grid: upper-left corner = (col · size, row · size) metres. */
export interface DalleRef {
  readonly size: DalleSize;
  /** xmin / size. */
  readonly col: number;
  /** ymax / size (the *upper* edge, as in file names). */
  readonly row: number;
}

/**
 * Where Lambert-93 coordinates are meaningful: the EPSG:2154 area of use ("France – onshore and
 * offshore, mainland and Corsica", 9.86°W–10.38°E, 41.15°N–51.56°N) projected to Lambert-93 with
 * densified edges (x −378 306 … 1 320 650, y 6 005 281 … 7 235 613), rounded outward to the
 * kilometre and clipped at x = 0. West of x = 0 there is only open sea 100 km beyond Ouessant
 * (x ≈ 102 000), and neither dalle names nor the `2154_5cm` matrix can express negative x.
 * (epsg.io's "projected bounds" only transform the corners and would cut off Cap Corse and
 * Bonifacio, so they are not used.) Coordinates outside — typically a CC zone, Lambert II or Web
 * Mercator raster labelled as 2154 — are refused with `outside-crs-domain`.
 */
export const LAMBERT93_DOMAIN: Bbox = [0, 6_005_000, 1_321_000, 7_236_000];

/** Default tolerance of `dalleRefFromBbox`: absorbs floating noise of GDAL extents, nothing more. */
export const DEFAULT_SNAP_TOLERANCE_METRES = 0.001;

/** Default cap on `dallesInBbox` results, so a careless bbox cannot allocate millions of objects. */
export const DEFAULT_MAX_DALLES = 1_000_000;

export function isDalleSize(v: unknown): v is DalleSize {
  return v === 1000 || v === 200;
}

/** Throws `UserError('invalid-dalle-ref')` unless `ref` has a valid size and integer col/row. */
export function assertDalleRef(ref: DalleRef): void {
  if (!isDalleSize(ref.size)) {
    throw new UserError('invalid-dalle-ref', `dalle size ${String(ref.size)} is not 1000 or 200 (metres)`);
  }
  if (!Number.isSafeInteger(ref.col) || !Number.isSafeInteger(ref.row)) {
    throw new UserError('invalid-dalle-ref', `dalle col/row must be integers, got col ${ref.col}, row ${ref.row}`);
  }
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

/** Throws `UserError('outside-crs-domain')` unless (x, y) lies within `LAMBERT93_DOMAIN`. */
export function assertInLambert93Domain(x: number, y: number, what = 'point'): void {
  if (!bboxContainsPoint(LAMBERT93_DOMAIN, x, y)) {
    throw new UserError('outside-crs-domain', `${what} (${fmt(x)}, ${fmt(y)}) is outside the Lambert-93 (EPSG:2154) domain ${domainText()}`, {
      hint: 'check that the data really is in EPSG:2154 (not a CC zone such as EPSG:3945, Lambert II or Web Mercator)',
    });
  }
}

function assertBboxInDomain(bbox: Bbox, what: string): void {
  if (!bboxContains(LAMBERT93_DOMAIN, bbox)) {
    throw new UserError('outside-crs-domain', `${what} [${bbox.map(fmt).join(', ')}] is outside the Lambert-93 (EPSG:2154) domain ${domainText()}`, {
      hint: 'check that the data really is in EPSG:2154 (not a CC zone such as EPSG:3945, Lambert II or Web Mercator)',
    });
  }
}

function domainText(): string {
  const [a, b, c, d] = LAMBERT93_DOMAIN;
  return `x ${a}…${c}, y ${b}…${d}`;
}

/** The dalle's extent `[xmin, ymin, xmax, ymax]` in Lambert-93 metres (exact integers). */
export function dalleBbox(ref: DalleRef): Bbox {
  assertDalleRef(ref);
  const xmin = ref.col * ref.size;
  const ymax = ref.row * ref.size;
  return [xmin, ymax - ref.size, xmin + ref.size, ymax];
}

/**
 * The dalle containing the point. A point on a vertical edge belongs to the dalle to its right,
 * on a horizontal edge to the dalle below (see module doc), so every point has exactly one dalle.
 */
export function dalleAt(x: number, y: number, size: DalleSize): DalleRef {
  if (!isDalleSize(size)) throw new UserError('invalid-dalle-ref', `dalle size ${String(size)} is not 1000 or 200 (metres)`);
  assertInLambert93Domain(x, y);
  return { size, col: floorIndex(x, size), row: ceilIndex(y, size) };
}

/**
 * Every dalle sharing a positive area with the bbox, north to south then west to east. A bbox
 * that only touches a dalle edge does not include that neighbour; a degenerate bbox (line or
 * point) gives the dalles `dalleAt` assigns to it. Throws `UserError('too-many-dalles')` beyond
 * `maxCount`.
 */
export function dallesInBbox(bbox: Bbox, size: DalleSize, maxCount = DEFAULT_MAX_DALLES): DalleRef[] {
  assertValidBbox(bbox);
  if (!isDalleSize(size)) throw new UserError('invalid-dalle-ref', `dalle size ${String(size)} is not 1000 or 200 (metres)`);
  assertBboxInDomain(bbox, 'bbox');
  const [xmin, ymin, xmax, ymax] = bbox;
  const minCol = floorIndex(xmin, size);
  const maxCol = Math.max(minCol, ceilIndex(xmax, size) - 1);
  const maxRow = ceilIndex(ymax, size);
  const minRow = Math.min(maxRow, floorIndex(ymin, size) + 1);
  const count = (maxCol - minCol + 1) * (maxRow - minRow + 1);
  if (count > maxCount) {
    throw new UserError('too-many-dalles', `bbox covers ${count} dalles of ${size} m, more than the limit of ${maxCount}`);
  }
  const out: DalleRef[] = [];
  for (let row = maxRow; row >= minRow; row--) {
    for (let col = minCol; col <= maxCol; col++) out.push({ size, col, row });
  }
  return out;
}

/**
 * The dalle whose extent a raster has, e.g. from `gdalinfo -json`. The size (1 km or 200 m) is
 * deduced from the extent. Throws `UserError('not-on-dalle-grid')` saying by how much the extent
 * is off when its width, height or corner is further than `toleranceMetres` from the grid.
 */
export function dalleRefFromBbox(bbox: Bbox, toleranceMetres = DEFAULT_SNAP_TOLERANCE_METRES, options: { checkDomain?: boolean } = {}): DalleRef {
  assertValidBbox(bbox, 'raster extent');
  if (!(toleranceMetres >= 0)) {
    throw new UserError('invalid-argument', `tolerance must be a non-negative number of metres, got ${toleranceMetres}`);
  }
  const [xmin, ymin, xmax, ymax] = bbox;
  const extentText = `raster extent [${bbox.map(fmt).join(', ')}]`;
  // The same 1 km / 200 m grids exist in the CC zones; only Lambert-93 extents have a domain to check.
  if (options.checkDomain !== false) {
    assertInLambert93Domain(xmin, ymax, `upper-left corner of ${extentText}`);
    assertInLambert93Domain(xmax, ymin, `lower-right corner of ${extentText}`);
  }
  const width = xmax - xmin;
  const height = ymax - ymin;
  const size = DALLE_SIZES.find((s) => Math.abs(width - s) <= toleranceMetres && Math.abs(height - s) <= toleranceMetres);
  if (size === undefined) {
    throw new UserError(
      'not-on-dalle-grid',
      `${extentText} is ${fmt(width)} m × ${fmt(height)} m: not a 1000 m or 200 m dalle ` +
        `(off by ${offText(width, height)}; tolerance ${toleranceMetres} m)`,
    );
  }
  const col = Math.round(xmin / size);
  const row = Math.round(ymax / size);
  const dx = xmin - col * size;
  const dy = ymax - row * size;
  if (Math.abs(dx) > toleranceMetres || Math.abs(dy) > toleranceMetres) {
    throw new UserError(
      'not-on-dalle-grid',
      `${extentText}: upper-left corner is ${signedOffset(dx, 'east', 'west')} and ` +
        `${signedOffset(dy, 'north', 'south')} of the ${size} m grid node (${col * size}, ${row * size}) ` +
        `(tolerance ${toleranceMetres} m)`,
    );
  }
  return { size, col, row };
}

function offText(width: number, height: number): string {
  const best = DALLE_SIZES.reduce((a, b) => (Math.abs(width - a) + Math.abs(height - a) <= Math.abs(width - b) + Math.abs(height - b) ? a : b));
  return `${fmt(Math.abs(width - best))} m in width and ${fmt(Math.abs(height - best))} m in height from ${best} m`;
}

function signedOffset(d: number, positive: string, negative: string): string {
  return `${Math.abs(d).toFixed(3)} m ${d >= 0 ? positive : negative}`;
}

/** Same dalle (same size, col, row). */
export function dalleRefEquals(a: DalleRef, b: DalleRef): boolean {
  return a.size === b.size && a.col === b.col && a.row === b.row;
}

/** Stable text key, e.g. `1000:575:6374`, for maps, logs and database keys. */
export function dalleKey(ref: DalleRef): string {
  return `${ref.size}:${ref.col}:${ref.row}`;
}

/** The 1 km dalle a 200 m dalle belongs to (updates arrive per 200 m dalle, deliveries per km). */
export function parentDalle(ref: DalleRef): DalleRef {
  assertDalleRef(ref);
  if (ref.size === 1000) return ref;
  return { size: 1000, col: Math.floor(ref.col / 5), row: Math.ceil(ref.row / 5) };
}

/** The 25 dalles of 200 m in a 1 km dalle, north to south then west to east. */
export function childDalles(ref: DalleRef): DalleRef[] {
  assertDalleRef(ref);
  if (ref.size !== 1000) throw new UserError('invalid-dalle-ref', `only a 1000 m dalle has 200 m children, got a ${ref.size} m dalle`);
  const out: DalleRef[] = [];
  for (let r = 0; r < 5; r++) {
    for (let c = 0; c < 5; c++) out.push({ size: 200, col: ref.col * 5 + c, row: ref.row * 5 - r });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Names: {DEP}-{YEAR}-{X}-{Y}-LA93-0M05-RVB.{tif|jp2}

/** Product part of IGN PCRS orthophoto names: Lambert-93, 0.05 m, RGB. */
export const DEFAULT_DALLE_NAME_SUFFIX = 'LA93-0M05-RVB';

/** File extensions accepted in dalle names (compared case-insensitively, written lowercase). */
export type DalleNameExtension = 'tif' | 'tiff' | 'jp2';

const EXTENSIONS: readonly DalleNameExtension[] = ['tif', 'tiff', 'jp2'];

/** Millésimes accepted in names: from the first IGN aerial orthophotos to far enough ahead. */
export const MIN_DALLE_YEAR = 1950;
export const MAX_DALLE_YEAR = 2100;

export interface DalleName {
  /** Département code: 01–95 (not 20), 2A, 2B or 971–976. */
  readonly dep: string;
  readonly year: number;
  readonly ref: DalleRef;
  /** Lowercase extension; absent when the name has none. */
  readonly ext?: DalleNameExtension | undefined;
  /** Product part after the coordinates; defaults to `LA93-0M05-RVB`. */
  readonly suffix?: string | undefined;
}

/** What `parseDalleName` returns: `formatDalleName(parseDalleName(n))` gives `n` back (extension lowercased). */
export interface ParsedDalleName extends DalleName {
  readonly ext: DalleNameExtension | undefined;
  readonly suffix: string;
}

/** True for 01–95 except 20, 2A, 2B, 971–976 (as written by IGN: two digits, uppercase A/B). */
export function isDepartementCode(dep: string): boolean {
  if (/^(2A|2B)$/.test(dep)) return true;
  if (/^97[1-6]$/.test(dep)) return true;
  if (!/^\d\d$/.test(dep)) return false;
  const n = Number(dep);
  return n >= 1 && n <= 95 && n !== 20;
}

function depError(dep: string): string {
  if (dep === '20') return `département '20' no longer exists: Corsica is 2A or 2B`;
  if (/^2[ab]$/.test(dep)) return `département '${dep}' must be written in uppercase (${dep.toUpperCase()})`;
  if (/^\d$/.test(dep)) return `département '${dep}' must have 2 digits (0${dep})`;
  return `département '${dep}' is not a département code (01–95, 2A, 2B, 971–976)`;
}

function nameError(name: string, reason: string): UserError {
  return new UserError('invalid-dalle-name', `invalid dalle name '${name}': ${reason}`, {
    hint: `expected {DEP}-{YEAR}-{X}-{Y}-${DEFAULT_DALLE_NAME_SUFFIX}.tif with X, Y the upper-left corner in km (4 digits, 1 km dalles) or hm (5 digits, 200 m dalles), e.g. 46-2025-0575-6374-${DEFAULT_DALLE_NAME_SUFFIX}.tif`,
  });
}

function assertSuffix(suffix: string): void {
  if (!/^[A-Z0-9]+(-[A-Z0-9]+)*$/.test(suffix)) {
    throw new UserError('invalid-argument', `dalle name suffix '${suffix}' must be uppercase letters/digits separated by '-'`);
  }
}

/**
 * The IGN-style file name of a dalle, e.g. `46-2025-0575-6374-LA93-0M05-RVB.tif`: X, Y are the
 * upper-left corner in km on 4 digits for 1 km dalles, in hm on 5 digits for 200 m dalles.
 */
export function formatDalleName(name: DalleName): string {
  const { dep, year, ref, ext } = name;
  const suffix = name.suffix ?? DEFAULT_DALLE_NAME_SUFFIX;
  const shown = `${dep}-${year}-…`;
  if (!isDepartementCode(dep)) throw nameError(shown, depError(dep));
  if (!Number.isInteger(year) || year < MIN_DALLE_YEAR || year > MAX_DALLE_YEAR) {
    throw nameError(shown, `year ${year} out of range ${MIN_DALLE_YEAR}–${MAX_DALLE_YEAR}`);
  }
  assertSuffix(suffix);
  if (ext !== undefined && !EXTENSIONS.includes(ext)) {
    throw nameError(shown, `extension '${String(ext)}' is not one of ${EXTENSIONS.join(', ')}`);
  }
  assertBboxInDomain(dalleBbox(ref), `dalle ${dalleKey(ref)}`);
  return `${dep}-${year}-${dalleXY(ref)}-${suffix}${ext === undefined ? '' : `.${ext}`}`;
}

/** The `X-Y` part of a dalle's name, e.g. `0575-6374`: its upper-left corner in km on 4 digits (1 km dalles), in hm on 5 digits (200 m: 2 · col). */
export function dalleXY(ref: DalleRef): string {
  const [x, y, digits] = ref.size === 1000 ? [ref.col, ref.row, 4] : [ref.col * 2, ref.row * 2, 5];
  const pad = (v: number) => String(v).padStart(digits, '0');
  return `${pad(x)}-${pad(y)}`;
}

/**
 * Parses an IGN-style dalle name, with or without extension (.tif, .tiff, .jp2, any case), strictly
 * otherwise. `suffix` is the expected product part (default `LA93-0M05-RVB`). Throws
 * `UserError('invalid-dalle-name')` with the exact defect, or `UserError('outside-crs-domain')`
 * when the corner is not a Lambert-93 location.
 */
export function parseDalleName(name: string, suffix: string = DEFAULT_DALLE_NAME_SUFFIX): ParsedDalleName {
  assertSuffix(suffix);
  if (name.length === 0) throw nameError(name, 'the name is empty');
  if (/[/\\]/.test(name)) throw nameError(name, 'a dalle name is a file name, not a path');
  if (name !== name.trim()) throw nameError(name, 'the name has leading or trailing spaces');

  let base = name;
  let ext: DalleNameExtension | undefined;
  const dot = name.lastIndexOf('.');
  if (dot >= 0) {
    const e = name.slice(dot + 1).toLowerCase();
    if (!(EXTENSIONS as readonly string[]).includes(e)) {
      throw nameError(name, `extension '.${name.slice(dot + 1)}' is not .tif, .tiff or .jp2`);
    }
    ext = e as DalleNameExtension;
    base = name.slice(0, dot);
    if (base.includes('.')) throw nameError(name, `only one '.' is allowed, before the extension`);
  }

  const fields = base.split('-');
  if (fields.length < 4) {
    throw nameError(name, `expected {DEP}-{YEAR}-{X}-{Y}-${suffix}, found only ${fields.length} field(s) separated by '-'`);
  }
  const [dep, yearText, xText, yText] = fields as [string, string, string, string];

  if (!isDepartementCode(dep)) throw nameError(name, depError(dep));

  if (!/^\d{4}$/.test(yearText)) throw nameError(name, `year field '${yearText}' must have 4 digits`);
  const year = Number(yearText);
  if (year < MIN_DALLE_YEAR || year > MAX_DALLE_YEAR) {
    throw nameError(name, `year ${year} out of range ${MIN_DALLE_YEAR}–${MAX_DALLE_YEAR}`);
  }

  for (const [axis, text] of [
    ['X', xText],
    ['Y', yText],
  ] as const) {
    if (!/^\d+$/.test(text)) throw nameError(name, `${axis} field '${text}' must contain only digits`);
    if (text.length !== 4 && text.length !== 5) {
      throw nameError(name, `${axis} field '${text}' must have 4 digits (km) or 5 digits (hm)`);
    }
  }
  if (xText.length !== yText.length) {
    throw nameError(
      name,
      `X field '${xText}' has ${xText.length} digits but Y field '${yText}' has ${yText.length}: ` +
        `both must be km (4 digits, 1 km dalle) or both hm (5 digits, 200 m dalle)`,
    );
  }

  const rest = fields.slice(4).join('-');
  if (rest !== suffix) {
    throw nameError(
      name,
      rest === '' ? `missing '-${suffix}' after the coordinates` : `expected '-${suffix}' after the coordinates, found '-${rest}'`,
    );
  }

  let ref: DalleRef;
  if (xText.length === 4) {
    ref = { size: 1000, col: Number(xText), row: Number(yText) };
  } else {
    for (const text of [xText, yText]) {
      if (Number(text) % 2 !== 0) throw nameError(name, `200 m dalle corner ${text} is not on the 200 m grid (hm must be even)`);
    }
    ref = { size: 200, col: Number(xText) / 2, row: Number(yText) / 2 };
  }
  assertBboxInDomain(dalleBbox(ref), `dalle '${name}'`);
  return { dep, year, ref, ext, suffix };
}
