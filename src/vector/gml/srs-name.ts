/**
 * CRSs in GML files: parsing `srsName`s (forms, axis order, IGNF names, compound CRSs — GML
 * specific), the catalogue of CRSs a PCRS may legally use with their areas of use, and point
 * transforms for the validator. The proj4 definitions and transforms of Lambert-93, the CC zones
 * and WGS 84 come from `src/grid/crs.ts` (one definition for the whole platform); only the CRSs
 * the platform does not serve (overseas UTM projections, ETRS89/RGF93 geographic) keep a local
 * proj4 definition here.
 */
import proj4 from 'proj4';
import { crsInfo, isSupportedCrs, transformPoint } from '../../grid/crs.js';

export interface GmlCrsDef {
  /** Normalised code, e.g. `EPSG:3946`. */
  code: string;
  name: string;
  proj4: string;
  geographic: boolean;
  /** Area of use as [west, south, east, north] in degrees: coordinates outside are suspicious. */
  areaOfUse: [number, number, number, number];
}

const TOWGS84_0 = '+towgs84=0,0,0,0,0,0,0';
/** Metropolitan France incl. Corsica (EPSG area of use of RGF93 / Lambert-93). */
const FRANCE_METRO: [number, number, number, number] = [-9.86, 41.15, 10.38, 51.56];

/** A CRS the platform serves (src/grid/crs.ts): name and proj4 definition from there. */
function fromGrid(code: string, geographic: boolean, areaOfUse: [number, number, number, number]): GmlCrsDef {
  if (!isSupportedCrs(code)) throw new Error(`${code} is not a CRS of src/grid/crs.ts`);
  const info = crsInfo(code);
  return { code, name: info.name, proj4: info.proj4, geographic, areaOfUse };
}

function ccZone(n: number): GmlCrsDef {
  return fromGrid(`EPSG:${3900 + n}`, false, FRANCE_METRO);
}

const utm = (code: string, name: string, zone: string, area: [number, number, number, number]): GmlCrsDef => ({
  code,
  name,
  proj4: `+proj=utm +zone=${zone} +ellps=GRS80 ${TOWGS84_0} +units=m +no_defs`,
  geographic: false,
  areaOfUse: area,
});

/**
 * CRSs a PCRS may legally be delivered in: RGF93 (Lambert-93, CC zones) for metropolitan France,
 * the RGAF09/RGFG95/RGR92/RGM04 UTM projections for overseas départements, and geographic
 * WGS 84 / ETRS89 / RGF93 (used by PCRS-INFO objects).
 */
const CRS_DEFS: GmlCrsDef[] = [
  fromGrid('EPSG:2154', false, FRANCE_METRO),
  ...[42, 43, 44, 45, 46, 47, 48, 49, 50].map(ccZone),
  utm('EPSG:5490', 'RGAF09 / UTM zone 20N', '20', [-63.66, 14.08, -57.52, 18.54]),
  utm('EPSG:2972', 'RGFG95 / UTM zone 22N', '22', [-54.61, 2.11, -49.45, 8.88]),
  utm('EPSG:2975', 'RGR92 / UTM zone 40S', '40 +south', [51.83, -24.72, 58.24, -18.28]),
  utm('EPSG:4471', 'RGM04 / UTM zone 38S', '38 +south', [43.68, -14.49, 46.7, -11.33]),
  fromGrid('EPSG:4326', true, [-180, -90, 180, 90]),
  { code: 'EPSG:4258', name: 'ETRS89', proj4: `+proj=longlat +ellps=GRS80 ${TOWGS84_0} +no_defs`, geographic: true, areaOfUse: [-16.1, 32.88, 40.18, 84.73] },
  { code: 'EPSG:4171', name: 'RGF93 v1', proj4: `+proj=longlat +ellps=GRS80 ${TOWGS84_0} +no_defs`, geographic: true, areaOfUse: FRANCE_METRO },
];
const DEF_BY_CODE = new Map(CRS_DEFS.map((d) => [d.code, d]));

/** EPSG codes of geographic CRSs whose authority axis order is latitude first (for unsupported ones too). */
const GEOGRAPHIC_EPSG = new Set([4326, 4258, 4171, 4230, 4275, 4807, 4624, 4627, 4470, 5489, 4463, 4979, 4937, 4965]);

/** IGNF registry names of supported CRSs. */
const IGNF: Record<string, string> = {
  LAMB93: 'EPSG:2154',
  RGF93LAMB93: 'EPSG:2154',
  RGF93G: 'EPSG:4171',
  WGS84G: 'EPSG:4326',
  ...Object.fromEntries([42, 43, 44, 45, 46, 47, 48, 49, 50].flatMap((n) => [[`CC${n}`, `EPSG:${3900 + n}`], [`RGF93CC${n}`, `EPSG:${3900 + n}`]])),
};

export interface SrsNameInfo {
  /** The srsName as written. */
  srsName: string;
  /** Normalised horizontal CRS code (`EPSG:3946`, `IGNF:XYZ` when unknown to us), null if not understood. */
  code: string | null;
  /** True when the coordinates in the file are latitude first (URN/http forms of geographic CRSs). */
  latLon: boolean;
  /** Vertical CRS of a compound srsName (`EPSG:2154+5720`, `urn:ogc:def:crs,crs:…,crs:…`). */
  vertical?: string;
  /** The CRS has a definition here (transformable). */
  supported: boolean;
}

const cache = new Map<string, SrsNameInfo>();

/**
 * Understands the srsName forms found in GML files: `EPSG:2154`, `epsg:2154`,
 * `urn:ogc:def:crs:EPSG::3946` (version optional, `urn:x-ogc:` too),
 * `http(s)://www.opengis.net/def/crs/EPSG/0/3946`, `http://www.opengis.net/gml/srs/epsg.xml#2154`,
 * `IGNF:LAMB93`/`IGNF:CC46`, compound `EPSG:2154+5720` and `urn:ogc:def:crs,crs:EPSG::2154,crs:EPSG::5720`.
 *
 * Axis order: the `EPSG:n` and `…epsg.xml#n` forms are read x/y (longitude first, GIS
 * practice and GDAL's behaviour); the URN and http URI forms follow the EPSG authority order, i.e.
 * latitude first for geographic CRSs. Projected CRSs used for PCRS are all easting/northing.
 */
export function parseSrsName(srsName: string): SrsNameInfo {
  const hit = cache.get(srsName);
  if (hit) return hit;
  const info = parseUncached(srsName);
  if (cache.size < 1000) cache.set(srsName, info);
  return info;
}

function parseUncached(srsName: string): SrsNameInfo {
  const s = srsName.trim();
  const unknown: SrsNameInfo = { srsName, code: null, latLon: false, supported: false };
  // Compound forms: take the horizontal part.
  const urnCompound = /^urn:(?:x-)?ogc:def:crs,crs:(.+?),crs:(.+)$/i.exec(s);
  if (urnCompound) {
    const h = parseUncached(`urn:ogc:def:crs:${urnCompound[1]}`);
    const v = parseUncached(`urn:ogc:def:crs:${urnCompound[2]}`);
    return { ...h, srsName, ...(v.code ? { vertical: v.code } : {}) };
  }
  const shortCompound = /^epsg:(\d+)\+(\d+)$/i.exec(s);
  if (shortCompound) {
    const h = parseUncached(`EPSG:${shortCompound[1]}`);
    return { ...h, srsName, vertical: `EPSG:${shortCompound[2]}` };
  }
  let epsg: number | null = null;
  let authorityOrder = false;
  let m: RegExpExecArray | null;
  if ((m = /^epsg:(\d+)$/i.exec(s)) ?? (m = /^https?:\/\/www\.opengis\.net\/gml\/srs\/epsg\.xml#(\d+)$/i.exec(s))) {
    epsg = Number(m[1]);
  } else if (
    (m = /^urn:(?:x-)?ogc:def:crs:epsg:(?:[0-9.]*:)?(\d+)$/i.exec(s)) ??
    (m = /^https?:\/\/www\.opengis\.net\/def\/crs\/epsg\/[0-9.]+\/(\d+)$/i.exec(s))
  ) {
    epsg = Number(m[1]);
    authorityOrder = true;
  } else if ((m = /^ignf:(\w+)$/i.exec(s))) {
    const name = (m[1] ?? '').toUpperCase();
    const mapped = IGNF[name];
    if (!mapped) return { ...unknown, code: `IGNF:${name}` };
    return { srsName, code: mapped, latLon: false, supported: true };
  } else {
    return unknown;
  }
  const code = `EPSG:${epsg}`;
  const def = DEF_BY_CODE.get(code);
  const geographic = def ? def.geographic : GEOGRAPHIC_EPSG.has(epsg);
  return { srsName, code, latLon: authorityOrder && geographic, supported: def !== undefined };
}

/** Definition of a supported CRS (normalised code), or undefined. */
export function crsDef(code: string): GmlCrsDef | undefined {
  return DEF_BY_CODE.get(code);
}

export const SUPPORTED_GML_CRS: readonly string[] = CRS_DEFS.map((d) => d.code);

export type PointTransform = (x: number, y: number) => [number, number];

const transforms = new Map<string, PointTransform>();

/**
 * A point transform between two supported CRSs (x/y = easting/northing or longitude/latitude).
 * Returns [NaN, NaN] for points without an image. Throws for unsupported codes.
 */
export function pointTransform(from: string, to: string): PointTransform {
  const key = `${from}>${to}`;
  let t = transforms.get(key);
  if (t) return t;
  const f = DEF_BY_CODE.get(from);
  const d = DEF_BY_CODE.get(to);
  if (!f || !d) throw new Error(`no transform from ${from} to ${to}`);
  if (f.proj4 === d.proj4) {
    t = (x, y) => [x, y];
  } else if (isSupportedCrs(from) && isSupportedCrs(to)) {
    // Both served by the platform: the one transform of src/grid/crs.ts.
    t = (x, y) => {
      try {
        return transformPoint(from, to, [x, y]);
      } catch {
        return [NaN, NaN];
      }
    };
  } else {
    const conv = proj4(f.proj4, d.proj4);
    t = (x, y) => {
      try {
        const r = conv.forward([x, y]);
        return [r[0] ?? NaN, r[1] ?? NaN];
      } catch {
        return [NaN, NaN];
      }
    };
  }
  transforms.set(key, t);
  return t;
}

export type Bbox = [number, number, number, number];

/**
 * Image of a bbox under a transform: the bbox of the transformed corners and edge points
 * (densified, so that it contains the curved image of the edges up to sampling error).
 */
export function transformBboxWith(t: PointTransform, b: Bbox, densify = 4): Bbox {
  const out: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
  const steps = densify + 1;
  for (let i = 0; i <= steps; i++) {
    const u = i / steps;
    const x = b[0] + (b[2] - b[0]) * u;
    const y = b[1] + (b[3] - b[1]) * u;
    for (const [px, py] of [t(x, b[1]), t(x, b[3]), t(b[0], y), t(b[2], y)]) {
      if (px < out[0]) out[0] = px;
      if (py < out[1]) out[1] = py;
      if (px > out[2]) out[2] = px;
      if (py > out[3]) out[3] = py;
    }
  }
  return out;
}

const innerAreas = new Map<string, Bbox | null>();

/**
 * A box in the CRS's own coordinates all of whose points lie inside its area of use widened by
 * `margin` degrees — null for geographic CRSs or when it cannot be derived. The edges of the area
 * are projected (256 points each) and the box keeps the innermost of each side, less 1 %: for the conic and
 * cylindrical projections used here a lon/lat rectangle becomes a convex-sided shape that contains
 * that box. Most features lie well inside it and need no projection to pass the area check.
 */
export function innerAreaOfUse(code: string, margin: number): Bbox | null {
  const key = `${code}|${margin}`;
  if (innerAreas.has(key)) return innerAreas.get(key) ?? null;
  const def = DEF_BY_CODE.get(code);
  let inner: Bbox | null = null;
  if (def && !def.geographic) {
    const t = pointTransform('EPSG:4326', code);
    const [w, s, e, n] = [def.areaOfUse[0] - margin, def.areaOfUse[1] - margin, def.areaOfUse[2] + margin, def.areaOfUse[3] + margin];
    const edge = (f: (u: number) => [number, number]) => Array.from({ length: 257 }, (_, i) => t(...f(i / 256)));
    const left = edge((u) => [w, s + (n - s) * u]);
    const right = edge((u) => [e, s + (n - s) * u]);
    const bottom = edge((u) => [w + (e - w) * u, s]);
    const top = edge((u) => [w + (e - w) * u, n]);
    const box: Bbox = [Math.max(...left.map((p) => p[0])), Math.max(...bottom.map((p) => p[1])), Math.min(...right.map((p) => p[0])), Math.min(...top.map((p) => p[1]))];
    // 1 % in from each side: what falls between two sampled points of a curved edge stays outside.
    const [dx, dy] = [(box[2] - box[0]) * 0.01, (box[3] - box[1]) * 0.01];
    const shrunk: Bbox = [box[0] + dx, box[1] + dy, box[2] - dx, box[3] - dy];
    if (shrunk.every(Number.isFinite) && shrunk[0] < shrunk[2] && shrunk[1] < shrunk[3]) inner = shrunk;
  }
  innerAreas.set(key, inner);
  return inner;
}
