import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execTool } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { XmlTokenizer } from '../vector/gml/xml-tokenizer.js';

/**
 * Area files (issue 13): the polygons of an uploaded GeoJSON, KML or GeoPackage, the kind told
 * from the bytes (never from a name or a Content-Type). One module for the HTTP route and the CLI.
 * - GeoJSON: a geometry, a Feature or a FeatureCollection; its CRS from the `crs` member (GeoJSON
 *   2008, as GDAL and QGIS write it), WGS84 without one (RFC 7946).
 * - KML: read with the platform's XML tokenizer (the GML reader's): a DOCTYPE — hence any entity,
 *   internal or external — is refused, nothing is ever expanded or fetched. Always WGS84.
 * - GeoPackage: GDAL (ogr2ogr to GeoJSON, reprojected to Lambert-93) in a temporary directory
 *   removed afterwards.
 * Polygons only: points and lines are refused with what the file holds. Each polygon is returned
 * as a GeoJSON text with the SRID of its coordinates; the service reprojects, checks and unions
 * them (`ExtractService.uploadedArea`), the same way as a drawn area.
 */

export type AreaFileFormat = 'geojson' | 'kml' | 'gpkg';

export interface AreaFileContent {
  format: AreaFileFormat;
  /** SRID of every polygon's coordinates. */
  srid: number;
  /** GeoJSON Polygon texts (2D). */
  polygons: string[];
}

/** Largest area file accepted (bytes): 413 beyond. */
export const MAX_AREA_FILE_BYTES = 5 * 1024 * 1024;

/** Limits of an area given as a geometry (the create request's schema; an uploaded area must fit them to be passed back). */
export const AREA_LIMITS = { positionsPerRing: 20_000, ringsPerPolygon: 100, polygons: 100 } as const;

/** Content types the upload route reads as a raw area file. */
export const AREA_FILE_CONTENT_TYPES = ['application/geo+json', 'application/json', 'application/vnd.google-earth.kml+xml', 'application/geopackage+sqlite3', 'application/octet-stream'] as const;

const ACCEPTED = 'Give a GeoJSON, KML or GeoPackage file holding the area’s polygons.';
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** GeoPackage application_id values (offset 68 of the SQLite header): 'GPKG', and 'GP10'/'GP11' of GeoPackage 1.0/1.1. */
const GPKG_IDS = new Set(['GPKG', 'GP10', 'GP11']);

const unsupported = (message: string) => new UserError('unsupported-area-file', message, { status: 415, hint: ACCEPTED, exitCode: 65 });
const unreadable = (message: string) => new UserError('unreadable-area-file', message, { status: 400, hint: ACCEPTED, exitCode: 65 });

export function tooLargeAreaFile(): UserError {
  return new UserError('area-file-too-large', `An area file may hold at most ${MAX_AREA_FILE_BYTES / 1024 / 1024} MiB.`, { status: 413, hint: 'Simplify the polygons (QGIS: Vector > Geometry Tools > Simplify), or keep only the area’s outline.', exitCode: 65 });
}

/** The format of an area file, from its first bytes. */
export function sniffAreaFile(data: Buffer): AreaFileFormat {
  if (data.length >= 100 && data.subarray(0, 16).equals(SQLITE_MAGIC)) {
    if (GPKG_IDS.has(data.subarray(68, 72).toString('latin1'))) return 'gpkg';
    throw unsupported('The file is an SQLite database but not a GeoPackage.');
  }
  const start = textStart(data);
  if (start.startsWith('{')) return 'geojson';
  if (start.startsWith('<')) return 'kml';
  throw unsupported('The file is neither GeoJSON, nor KML, nor a GeoPackage.');
}

function textStart(data: Buffer): string {
  let text = data.subarray(0, 1024).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.trimStart();
}

/**
 * The polygons of an area file. Refuses (4xx) what is not a GeoJSON, KML or GeoPackage, a KML with
 * a DOCTYPE, points and lines, a file without any polygon.
 */
export async function readAreaFile(data: Buffer): Promise<AreaFileContent> {
  if (data.length > MAX_AREA_FILE_BYTES) throw tooLargeAreaFile();
  const format = sniffAreaFile(data);
  const found: Found = { polygons: [], points: 0, lines: 0 };
  let srid: number;
  if (format === 'geojson') srid = readGeoJson(data.toString('utf8'), found);
  else if (format === 'kml') {
    readKml(data.toString('utf8'), found);
    srid = 4326;
  } else {
    await readGeoPackage(data, found);
    srid = 2154;
  }
  if (found.points > 0 || found.lines > 0) {
    const what = [found.points ? `${found.points} point${found.points > 1 ? 's' : ''}` : '', found.lines ? `${found.lines} line${found.lines > 1 ? 's' : ''}` : ''].filter(Boolean).join(' and ');
    throw new UserError('not-a-polygon', `The file holds ${what}${found.polygons.length ? ` besides ${found.polygons.length} polygon${found.polygons.length > 1 ? 's' : ''}` : ''}: an area is made of polygons only.`, {
      status: 400,
      hint: 'Keep only the polygons of the area (or buffer a line into a polygon in QGIS: Vector > Geoprocessing Tools > Buffer).',
      exitCode: 65,
    });
  }
  if (found.polygons.length === 0) throw new UserError('empty-area', 'The file holds no polygon.', { status: 400, hint: ACCEPTED, exitCode: 65 });
  if (srid === 4326) {
    const projected = found.polygons.some((p) => p.some((ring) => ring.some(([x, y]) => Math.abs(x) > 180 || Math.abs(y) > 90)));
    if (projected) throw new UserError('unsupported-crs', 'The coordinates are not longitudes and latitudes, and the file does not name its coordinate system.', { status: 400, hint: 'Export the file in WGS84 (EPSG:4326), or as a GeoJSON naming its CRS (QGIS does), e.g. EPSG:2154.', exitCode: 65 });
  }
  return { format, srid, polygons: found.polygons.map((coordinates) => JSON.stringify({ type: 'Polygon', coordinates })) };
}

type Position = [number, number];
type Ring = Position[];
interface Found {
  polygons: Ring[][];
  points: number;
  lines: number;
  /** CRS names of `crs` members (GeoJSON 2008 allows one on any object). */
  crs?: Set<string>;
}

function noteCrs(o: unknown, found: Found): void {
  const name = (o as { crs?: { properties?: { name?: unknown } } } | null)?.crs?.properties?.name;
  if (name !== undefined) (found.crs ??= new Set()).add(String(name));
}

/**
 * The SRID a CRS name gives (GeoJSON 2008 `crs` member, as GDAL, QGIS and the portal write it):
 * `EPSG:2154`, `urn:ogc:def:crs:EPSG::2154`, `http://www.opengis.net/def/crs/EPSG/0/2154`, CRS84;
 * null for anything else. Whether PostGIS knows it is for the caller to check.
 */
export function sridOfCrsName(name: string): number | null {
  if (/(^|[:/])CRS84$/i.test(name)) return 4326;
  const m = /^(?:EPSG:|urn:ogc:def:crs:EPSG:[\d.]*:|https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/[\d.]+\/)(\d{4,6})$/i.exec(name.trim());
  return m ? Number(m[1]) : null;
}

// ---- GeoJSON -------------------------------------------------------------------------------------

function position(p: unknown): Position {
  if (!Array.isArray(p) || p.length < 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number' || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) throw unreadable('The GeoJSON holds a position that is not a pair of numbers.');
  return [p[0], p[1]];
}

function polygonCoordinates(c: unknown): Ring[] {
  if (!Array.isArray(c) || c.length === 0) throw unreadable('The GeoJSON holds a polygon without rings.');
  return c.map((ring) => {
    if (!Array.isArray(ring)) throw unreadable('The GeoJSON holds a polygon ring that is not a list of positions.');
    return closedRing(ring.map(position));
  });
}

function closedRing(ring: Ring): Ring {
  const first = ring[0];
  const last = ring[ring.length - 1];
  const closed = first && last && (first[0] !== last[0] || first[1] !== last[1]) ? [...ring, first] : ring;
  if (closed.length < 4) throw unreadable('The file holds a polygon ring of fewer than 3 distinct positions.');
  return closed;
}

function collectGeometry(g: unknown, found: Found, depth = 0): void {
  if (g === null || g === undefined) return;
  if (typeof g !== 'object' || depth > 8) throw unreadable('The GeoJSON holds something that is not a geometry.');
  noteCrs(g, found);
  const { type, coordinates, geometries } = g as { type?: unknown; coordinates?: unknown; geometries?: unknown };
  switch (type) {
    case 'Polygon':
      found.polygons.push(polygonCoordinates(coordinates));
      return;
    case 'MultiPolygon':
      if (!Array.isArray(coordinates)) throw unreadable('The GeoJSON holds a MultiPolygon without coordinates.');
      for (const p of coordinates) found.polygons.push(polygonCoordinates(p));
      return;
    case 'Point':
      found.points++;
      return;
    case 'MultiPoint':
      found.points += Array.isArray(coordinates) ? coordinates.length : 1;
      return;
    case 'LineString':
      found.lines++;
      return;
    case 'MultiLineString':
      found.lines += Array.isArray(coordinates) ? coordinates.length : 1;
      return;
    case 'GeometryCollection':
      if (!Array.isArray(geometries)) throw unreadable('The GeoJSON holds a GeometryCollection without geometries.');
      for (const x of geometries) collectGeometry(x, found, depth + 1);
      return;
    default:
      throw unreadable(`The GeoJSON holds an unknown geometry type ${JSON.stringify(type)?.slice(0, 40) ?? ''}.`);
  }
}

/** Fills `found` from a GeoJSON text; answers the SRID of its coordinates. */
function readGeoJson(text: string, found: Found): number {
  let doc: { type?: unknown; geometry?: unknown; features?: unknown; crs?: { properties?: { name?: unknown } } };
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as typeof doc;
  } catch {
    throw unreadable('The file starts like GeoJSON but is not valid JSON.');
  }
  if (doc === null || typeof doc !== 'object') throw unreadable('The file is JSON but not GeoJSON.');
  noteCrs(doc, found);
  if (doc.type === 'FeatureCollection') {
    if (!Array.isArray(doc.features)) throw unreadable('The FeatureCollection has no features list.');
    for (const f of doc.features as Array<{ geometry?: unknown } | null>) {
      noteCrs(f, found);
      collectGeometry(f?.geometry, found);
    }
  } else if (doc.type === 'Feature') collectGeometry(doc.geometry, found);
  else collectGeometry(doc, found);
  const names = [...(found.crs ?? [])];
  found.crs = undefined;
  if (names.length === 0) return 4326;
  const srids = new Set(names.map((n) => sridOfCrsName(n)));
  const srid = srids.size === 1 ? [...srids][0] : null;
  if (srid === null || srid === undefined) {
    throw new UserError('unsupported-crs', `The file's CRS ${names.join(', ').slice(0, 80)} ${names.length > 1 ? 'are several' : 'is not an EPSG code'}.`, { status: 400, hint: 'Name one, as EPSG:2154 (or urn:ogc:def:crs:EPSG::2154), or give WGS84.', exitCode: 65 });
  }
  return srid;
}

// ---- KML -----------------------------------------------------------------------------------------

/** Fills `found` from a KML text (WGS84 longitude,latitude[,altitude] tuples). No DTD, no entity. */
function readKml(text: string, found: Found): void {
  const stack: string[] = [];
  let failure: UserError | null = null;
  let polygon: { outer: Ring | null; inner: Ring[] } | null = null;
  let coordinates: string | null = null;
  const inside = (local: string) => stack.includes(local);
  const tokenizer = new XmlTokenizer({
    openTag(tag) {
      if (stack.length === 0 && tag.local !== 'kml') failure ??= unsupported(`The file is XML whose root element is <${tag.name.slice(0, 60)}>, not a KML document.`);
      stack.push(tag.local);
      if (failure) return;
      switch (tag.local) {
        case 'Polygon':
          polygon = { outer: null, inner: [] };
          break;
        case 'Point':
          found.points++;
          break;
        case 'LineString':
        case 'Track':
          found.lines++;
          break;
        case 'LinearRing':
          if (!polygon) found.lines++;
          break;
        case 'coordinates':
          coordinates = '';
          break;
      }
    },
    closeTag() {
      const local = stack.pop();
      if (failure) return;
      if (local === 'coordinates' && coordinates !== null) {
        const text = coordinates;
        coordinates = null;
        if (polygon && stack[stack.length - 1] === 'LinearRing') {
          const ring = closedRing(kmlCoordinates(text));
          if (inside('outerBoundaryIs')) polygon.outer = ring;
          else if (inside('innerBoundaryIs')) polygon.inner.push(ring);
        }
      } else if (local === 'Polygon' && polygon) {
        const p: { outer: Ring | null; inner: Ring[] } = polygon;
        polygon = null;
        if (!p.outer) failure ??= unreadable('The KML holds a Polygon without an outerBoundaryIs ring.');
        else found.polygons.push([p.outer, ...p.inner]);
      }
    },
    text(t) {
      if (coordinates !== null) coordinates += t;
    },
    doctype() {
      failure ??= new UserError('unsafe-xml', 'The KML holds a DOCTYPE (or entity declarations): refused, no DTD or entity is ever read.', { status: 400, hint: 'Export the KML again without a DOCTYPE (Google Earth, QGIS and GDAL write none).', exitCode: 65 });
    },
    error(message) {
      failure ??= unreadable(`The KML is not well-formed XML: ${message.slice(0, 160)}.`);
    },
  });
  try {
    tokenizer.write(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    tokenizer.close();
  } catch (e) {
    failure ??= e instanceof UserError ? e : unreadable('The KML could not be read.');
  }
  if (failure) throw failure;
}

function kmlCoordinates(text: string): Ring {
  return text
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((tuple) => {
      const [x, y] = tuple.split(',').map(Number);
      if (x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y)) throw unreadable(`The KML holds coordinates that are not longitude,latitude pairs ('${tuple.slice(0, 40)}').`);
      return [x, y] as Position;
    });
}

// ---- GeoPackage ----------------------------------------------------------------------------------

/** Fills `found` from a GeoPackage: every layer with geometries, through ogr2ogr to GeoJSON in Lambert-93. */
async function readGeoPackage(data: Buffer, found: Found): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pcrs-area-'));
  try {
    const file = path.join(dir, 'area.gpkg');
    await writeFile(file, data, { mode: 0o600 });
    // The GPKG: prefix makes GDAL use the GeoPackage driver and nothing else.
    const source = `GPKG:${file}`;
    const info = await execTool('ogrinfo', ['-ro', '-q', source], { timeoutMs: 60_000, env: GDAL_ENV });
    if (info.code !== 0) throw unreadable('GDAL cannot read the GeoPackage.');
    // "1: zone (Polygon)", "2: attributs (None)"
    const layers = info.stdout
      .split('\n')
      .map((l) => /^\s*\d+: (.+?)(?: \(([^)]*)\))?\s*$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && m[2] !== 'None')
      .map((m) => m[1] as string);
    // A layer name is passed to ogr2ogr as an argument: one that reads as an option is refused.
    const odd = layers.find((l) => l.startsWith('-'));
    if (odd !== undefined) throw unreadable(`The GeoPackage has a layer named '${odd.slice(0, 60)}': rename it.`);
    for (const [i, layer] of layers.entries()) {
      const out = path.join(dir, `layer-${i}.geojson`);
      const res = await execTool('ogr2ogr', ['-f', 'GeoJSON', out, source, layer, '-t_srs', 'EPSG:2154', '-lco', 'COORDINATE_PRECISION=3', '-lco', 'RFC7946=NO'], { timeoutMs: 60_000, env: GDAL_ENV });
      if (res.code !== 0) {
        const noCrs = /no coordinate system|source layer has no/i.test(res.stderr);
        throw noCrs
          ? new UserError('no-crs', `The GeoPackage layer '${layer.slice(0, 60)}' has no coordinate system.`, { status: 400, hint: 'Set the layer’s CRS in QGIS and save it again.', exitCode: 65 })
          : unreadable(`GDAL cannot read the GeoPackage layer '${layer.slice(0, 60)}'.`);
      }
      readGeoJson(await readFile(out, 'utf8'), found);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** GDAL reads the local file only: no network, no other file next to it. */
const GDAL_ENV: NodeJS.ProcessEnv = { ...process.env, GDAL_DISABLE_READDIR_ON_OPEN: 'EMPTY_DIR', GDAL_HTTP_TIMEOUT: '1', CPL_VSIL_CURL_ALLOWED_EXTENSIONS: '.none', OGR_SQLITE_ALLOW_EXTERNAL_ACCESS: 'NO' };
