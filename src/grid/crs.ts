/**
 * The coordinate reference systems the platform speaks, and transforms between them (proj4).
 *
 * Deliveries are in Lambert-93 (EPSG:2154) or in one of the nine Lambert conic conformal
 * "CC" zones (EPSG:3942–3950; the Lot uses CC45); web clients want Web Mercator (EPSG:3857) and
 * WGS 84 (EPSG:4326 / CRS84). Codes are normalised once by `parseCrs` so that every other module
 * compares plain strings such as `EPSG:2154`.
 *
 * Axis order: every function here takes and returns points as [x, y] = [easting, northing] or
 * [longitude, latitude], also for EPSG:4326. Protocols that put latitude first (WMS 1.3.0 and GML
 * with EPSG:4326) must swap at their edge; `hasLatLonAxisOrder` tells them when.
 */
import proj4 from 'proj4';
import { UserError } from '../util/errors.js';
import type { Bbox } from './bbox.js';
import { assertValidBbox } from './bbox.js';

/** Lambert conic conformal zones CC42 … CC50 (EPSG:3942 … EPSG:3950). */
export type CcZoneCode =
  | 'EPSG:3942'
  | 'EPSG:3943'
  | 'EPSG:3944'
  | 'EPSG:3945'
  | 'EPSG:3946'
  | 'EPSG:3947'
  | 'EPSG:3948'
  | 'EPSG:3949'
  | 'EPSG:3950';

/** A normalised, supported CRS code. `OGC:CRS84` is WGS 84 with longitude first by definition. */
export type CrsCode = 'EPSG:2154' | 'EPSG:3857' | 'EPSG:4326' | 'OGC:CRS84' | CcZoneCode;

export interface CrsInfo {
  readonly code: CrsCode;
  /** Official EPSG / OGC name, for capabilities documents and messages. */
  readonly name: string;
  /** proj4 definition string (the EPSG parameters; towgs84=0 because RGF93 ≡ ETRS89 ≈ WGS 84 at the metre level). */
  readonly proj4: string;
}

const LAMBERT93_PROJ4 =
  '+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 +y_0=6600000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs';
const WGS84_PROJ4 = '+proj=longlat +datum=WGS84 +no_defs';
const WEB_MERCATOR_PROJ4 =
  '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs';

/**
 * CC zone n (42 ≤ n ≤ 50, EPSG:39n): latitude of origin n°N, standard parallels n ∓ 0.75°,
 * central meridian 3°E, false easting 1 700 000 m, false northing (n − 41) · 1 000 000 + 200 000 m.
 * These are the EPSG parameters (checked against `gdalsrsinfo -o proj4 EPSG:3942 … EPSG:3950`).
 */
function ccZoneProj4(n: number): string {
  const y0 = (n - 41) * 1_000_000 + 200_000;
  return (
    `+proj=lcc +lat_0=${n} +lon_0=3 +lat_1=${n - 0.75} +lat_2=${n + 0.75} ` +
    `+x_0=1700000 +y_0=${y0} +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs`
  );
}

const CC_ZONES: readonly CcZoneCode[] = [
  'EPSG:3942',
  'EPSG:3943',
  'EPSG:3944',
  'EPSG:3945',
  'EPSG:3946',
  'EPSG:3947',
  'EPSG:3948',
  'EPSG:3949',
  'EPSG:3950',
];

const CRS_LIST: readonly CrsInfo[] = [
  { code: 'EPSG:2154', name: 'RGF93 v1 / Lambert-93', proj4: LAMBERT93_PROJ4 },
  { code: 'EPSG:3857', name: 'WGS 84 / Pseudo-Mercator', proj4: WEB_MERCATOR_PROJ4 },
  { code: 'EPSG:4326', name: 'WGS 84', proj4: WGS84_PROJ4 },
  { code: 'OGC:CRS84', name: 'WGS 84 (CRS84, longitude first)', proj4: WGS84_PROJ4 },
  ...CC_ZONES.map((code) => {
    const n = Number(code.slice(-2));
    return { code, name: `RGF93 v1 / CC${n}`, proj4: ccZoneProj4(n) };
  }),
];

const CRS_BY_CODE: ReadonlyMap<string, CrsInfo> = new Map(CRS_LIST.map((c) => [c.code, c]));

/** Every supported CRS, Lambert-93 first. */
export const SUPPORTED_CRS: readonly CrsCode[] = CRS_LIST.map((c) => c.code);

/** Lambert-93, the CRS of deliveries and of the `2154_5cm` pyramid. */
export const LAMBERT93: CrsCode = 'EPSG:2154';

/** Legacy or vendor codes that denote a supported CRS (old WMS clients, ArcGIS, IGNF registry). */
const EPSG_ALIASES: ReadonlyMap<number, CrsCode> = new Map([
  [900913, 'EPSG:3857'],
  [3785, 'EPSG:3857'],
  [102100, 'EPSG:3857'],
  [102113, 'EPSG:3857'],
]);

export function isSupportedCrs(code: string): code is CrsCode {
  return CRS_BY_CODE.has(code);
}

/** Name and proj4 definition of a supported CRS. */
export function crsInfo(code: CrsCode): CrsInfo {
  const info = CRS_BY_CODE.get(code);
  if (!info) throw unsupported(code);
  return info;
}

const CRS84_FORMS = new Set([
  'crs:84', // WMS 1.3.0
  'crs84',
  'ogc:crs84',
  'urn:ogc:def:crs:ogc:1.3:crs84',
  'urn:ogc:def:crs:ogc::crs84',
  'http://www.opengis.net/def/crs/ogc/1.3/crs84',
  'https://www.opengis.net/def/crs/ogc/1.3/crs84',
]);

/**
 * Normalises the ways a CRS is written in requests and files to a supported `CrsCode`:
 * `EPSG:2154`, `2154`, `urn:ogc:def:crs:EPSG::2154` (optionally with a version),
 * `http://www.opengis.net/def/crs/EPSG/0/2154`, `IGNF:LAMB93`, and for CRS84 `CRS:84`,
 * `OGC:CRS84`, `urn:ogc:def:crs:OGC:1.3:CRS84`, `http://www.opengis.net/def/crs/OGC/1.3/CRS84`.
 * Throws `UserError('unsupported-crs')` otherwise, saying whether the text was not understood or
 * names a CRS the platform does not support.
 */
export function parseCrs(text: string): CrsCode {
  const t = text.trim();
  const lower = t.toLowerCase();
  if (CRS84_FORMS.has(lower)) return 'OGC:CRS84';
  if (lower === 'ignf:lamb93') return 'EPSG:2154';

  const m =
    /^epsg:(\d+)$/i.exec(t) ??
    /^(\d+)$/.exec(t) ??
    /^urn:ogc:def:crs:epsg:[0-9.]*:(\d+)$/i.exec(t) ??
    /^https?:\/\/www\.opengis\.net\/def\/crs\/epsg\/[0-9.]+\/(\d+)$/i.exec(t);
  if (!m) {
    throw new UserError(
      'unsupported-crs',
      `unrecognised CRS '${text}': write it as EPSG:2154, urn:ogc:def:crs:EPSG::2154, ` +
        `http://www.opengis.net/def/crs/EPSG/0/2154 or CRS:84`,
    );
  }
  const n = Number(m[1]);
  const code = EPSG_ALIASES.get(n) ?? `EPSG:${n}`;
  if (!isSupportedCrs(code)) throw unsupported(`EPSG:${n}`);
  return code;
}

function unsupported(code: string): UserError {
  return new UserError('unsupported-crs', `unsupported CRS ${code}: supported are ${SUPPORTED_CRS.join(', ')}`);
}

/**
 * True when the CRS's authority axis order is latitude first: EPSG:4326, as used by WMS 1.3.0
 * `CRS=EPSG:4326` BBOXes and GML. False for CRS84 (longitude first by definition) and for all
 * projected CRSs here (easting first). WMS 1.1.1 ignores authority order: callers decide.
 */
export function hasLatLonAxisOrder(code: CrsCode): boolean {
  return code === 'EPSG:4326';
}

/** OGC http URI of a CRS, e.g. for OGC API and TMS JSON `crs` members. */
export function crsUri(code: CrsCode): string {
  return code === 'OGC:CRS84'
    ? 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'
    : `http://www.opengis.net/def/crs/EPSG/0/${code.slice('EPSG:'.length)}`;
}

/** OGC URN of a CRS, e.g. for WMTS capabilities `SupportedCRS`. */
export function crsUrn(code: CrsCode): string {
  return code === 'OGC:CRS84' ? 'urn:ogc:def:crs:OGC:1.3:CRS84' : `urn:ogc:def:crs:EPSG::${code.slice('EPSG:'.length)}`;
}

const converters = new Map<string, proj4.Converter>();

function converter(from: CrsCode, to: CrsCode): proj4.Converter {
  const key = `${from}>${to}`;
  let c = converters.get(key);
  if (!c) {
    c = proj4(crsInfo(from).proj4, crsInfo(to).proj4);
    converters.set(key, c);
  }
  return c;
}

function toCode(crs: CrsCode | string): CrsCode {
  return isSupportedCrs(crs) ? crs : parseCrs(crs);
}

/**
 * Transforms one point, [x, y] in easting/northing or longitude/latitude order (also for
 * EPSG:4326). `from`/`to` accept any form `parseCrs` accepts. Throws
 * `UserError('outside-crs-domain')` when the point has no image (e.g. a pole in Web Mercator).
 */
export function transformPoint(from: CrsCode | string, to: CrsCode | string, point: readonly [number, number]): [number, number] {
  const f = toCode(from);
  const t = toCode(to);
  const [x, y] = point;
  if (!Number.isFinite(x) || !Number.isFinite(y)) {
    throw new UserError('invalid-coordinates', `point (${x}, ${y}) is not a pair of finite numbers`);
  }
  if (sameCrsFamily(f, t)) return [x, y];
  const out = converter(f, t).forward([x, y]);
  const ox = out[0];
  const oy = out[1];
  if (ox === undefined || oy === undefined || !Number.isFinite(ox) || !Number.isFinite(oy)) {
    throw new UserError('outside-crs-domain', `point (${x}, ${y}) in ${f} cannot be expressed in ${t}`);
  }
  return [ox, oy];
}

/** Latitude of the top edge of the Web Mercator square: atan(sinh(π)) in degrees. */
export const WEB_MERCATOR_MAX_LATITUDE = (Math.atan(Math.sinh(Math.PI)) * 180) / Math.PI;

function isGeographic(c: CrsCode): boolean {
  return c === 'EPSG:4326' || c === 'OGC:CRS84';
}

/** EPSG:4326 and CRS84 are the same datum and, in our [lon, lat] convention, the same numbers. */
function sameCrsFamily(a: CrsCode, b: CrsCode): boolean {
  return a === b || (isGeographic(a) && isGeographic(b));
}

/**
 * Transforms a bbox and returns the bbox of its image. Straight edges become curves under a
 * change of projection, so each edge is sampled with `densify` extra points between the corners
 * (same meaning as GDAL's / pyproj's `densify_pts`); the result contains the curved image up to
 * the sampling error. A geographic bbox going to Web Mercator is first clipped to ±85.05° latitude.
 * Bboxes crossing the antimeridian are not handled (never needed for France).
 */
export function transformBbox(from: CrsCode | string, to: CrsCode | string, bbox: Bbox, densify = 21): Bbox {
  assertValidBbox(bbox);
  if (!Number.isInteger(densify) || densify < 0) {
    throw new UserError('invalid-argument', `densify must be a non-negative integer, got ${densify}`);
  }
  const f = toCode(from);
  const t = toCode(to);
  if (sameCrsFamily(f, t)) return [bbox[0], bbox[1], bbox[2], bbox[3]];
  const [xmin, , xmax] = bbox;
  let [, ymin, , ymax] = bbox;
  if (t === 'EPSG:3857' && isGeographic(f)) {
    // Web Mercator stops at ±85.05°: clients asking for "the whole world" get the whole square.
    ymin = Math.max(ymin, -WEB_MERCATOR_MAX_LATITUDE);
    ymax = Math.min(ymax, WEB_MERCATOR_MAX_LATITUDE);
  }
  let oxmin = Infinity;
  let oymin = Infinity;
  let oxmax = -Infinity;
  let oymax = -Infinity;
  const add = (x: number, y: number) => {
    const [px, py] = transformPoint(f, t, [x, y]);
    if (px < oxmin) oxmin = px;
    if (px > oxmax) oxmax = px;
    if (py < oymin) oymin = py;
    if (py > oymax) oymax = py;
  };
  const steps = densify + 1;
  for (let i = 0; i <= steps; i++) {
    const u = i / steps;
    const x = xmin + (xmax - xmin) * u;
    const y = ymin + (ymax - ymin) * u;
    add(x, ymin);
    add(x, ymax);
    add(xmin, y);
    add(xmax, y);
  }
  return [oxmin, oymin, oxmax, oymax];
}
