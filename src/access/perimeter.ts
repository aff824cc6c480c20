import { UserError } from '../util/errors.js';

/**
 * Permission perimeters in memory (Lambert-93): a MultiPolygon's rings and its bounding box, and
 * the one test the read path needs — does an area (a tile's, a map's) touch the perimeter — done
 * without a database round trip.
 */
type Ring = ReadonlyArray<readonly [number, number]>;
export type Bbox = readonly [number, number, number, number];

export interface Perimeter {
  /** Polygons, each an outer ring then its holes. */
  polygons: ReadonlyArray<readonly Ring[]>;
  bbox: Bbox;
}

/** From the GeoJSON coordinates of a MultiPolygon (as ST_AsGeoJSON gives them). */
export function perimeterOf(coordinates: number[][][][]): Perimeter {
  const polygons = coordinates.map((poly) => poly.map((ring) => ring.map((p) => [p[0] as number, p[1] as number] as const)));
  let xmin = Infinity;
  let ymin = Infinity;
  let xmax = -Infinity;
  let ymax = -Infinity;
  for (const poly of polygons) {
    for (const [x, y] of poly[0] ?? []) {
      xmin = Math.min(xmin, x);
      ymin = Math.min(ymin, y);
      xmax = Math.max(xmax, x);
      ymax = Math.max(ymax, y);
    }
  }
  return { polygons, bbox: [xmin, ymin, xmax, ymax] };
}

function inRing(x: number, y: number, ring: Ring): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i] as readonly [number, number];
    const [xj, yj] = ring[j] as readonly [number, number];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function inPolygon(x: number, y: number, poly: readonly Ring[]): boolean {
  if (!poly[0] || !inRing(x, y, poly[0])) return false;
  for (let h = 1; h < poly.length; h++) if (inRing(x, y, poly[h] as Ring)) return false;
  return true;
}

/** Whether segment (a, b) crosses the box's boundary or lies in it. */
function segmentTouchesBox(ax: number, ay: number, bx: number, by: number, box: Bbox): boolean {
  // Liang–Barsky clipping: the segment has a part inside the (closed) box.
  let t0 = 0;
  let t1 = 1;
  const dx = bx - ax;
  const dy = by - ay;
  const tests: Array<[number, number]> = [
    [-dx, ax - box[0]],
    [dx, box[2] - ax],
    [-dy, ay - box[1]],
    [dy, box[3] - ay],
  ];
  for (const [p, q] of tests) {
    if (p === 0) {
      if (q < 0) return false;
    } else {
      const r = q / p;
      if (p < 0) t0 = Math.max(t0, r);
      else t1 = Math.min(t1, r);
      if (t0 > t1) return false;
    }
  }
  return true;
}

/** Whether the area `box` shares any part with the perimeter (boundary included). */
export function touches(perimeter: Perimeter, box: Bbox): boolean {
  const b = perimeter.bbox;
  if (box[2] < b[0] || box[0] > b[2] || box[3] < b[1] || box[1] > b[3]) return false;
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  for (const poly of perimeter.polygons) {
    // The box inside the polygon (its centre is), or an edge of the polygon reaching into the box.
    if (inPolygon(cx, cy, poly)) return true;
    for (const ring of poly) {
      for (let i = 1; i < ring.length; i++) {
        const [ax, ay] = ring[i - 1] as readonly [number, number];
        const [bx, by] = ring[i] as readonly [number, number];
        if (segmentTouchesBox(ax, ay, bx, by, box)) return true;
      }
    }
  }
  return false;
}

/**
 * A perimeter given by a client: a GeoJSON Polygon or MultiPolygon geometry, a Feature holding
 * one, or a FeatureCollection of them; WGS84 longitude/latitude unless the object names EPSG:2154
 * in a `crs` member. Returns the geometry (as a MultiPolygon, GeoJSON text) and its SRID, for
 * PostGIS to check and transform.
 */
export function perimeterInput(value: unknown): { geojson: string; srid: 4326 | 2154 } {
  const bad = (why: string) => new UserError('invalid-perimeter', `The perimeter is not usable GeoJSON: ${why}.`, { status: 400, hint: 'Give a Polygon or MultiPolygon (WGS84 longitude/latitude, or with "crs": {"type": "name", "properties": {"name": "EPSG:2154"}}).' });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not an object');
  const o = value as Record<string, unknown>;
  const crsName = (o.crs as { properties?: { name?: unknown } } | undefined)?.properties?.name;
  let srid: 4326 | 2154 = 4326;
  if (crsName !== undefined) {
    if (typeof crsName !== 'string') throw bad('crs.properties.name is not text');
    if (/EPSG:{1,2}2154$/i.test(crsName) || /epsg\/0\/2154$/i.test(crsName)) srid = 2154;
    else if (/(CRS84|EPSG:{1,2}4326)$/i.test(crsName)) srid = 4326;
    else throw bad(`CRS '${crsName.slice(0, 60)}' is neither WGS84 nor EPSG:2154`);
  }
  const polys: unknown[] = [];
  const take = (g: unknown, depth: number) => {
    if (typeof g !== 'object' || g === null) throw bad('a geometry is missing');
    const x = g as { type?: unknown; coordinates?: unknown; geometry?: unknown; features?: unknown };
    if (x.type === 'Polygon' && Array.isArray(x.coordinates)) polys.push(x.coordinates);
    else if (x.type === 'MultiPolygon' && Array.isArray(x.coordinates)) polys.push(...x.coordinates);
    else if (x.type === 'Feature' && depth < 2) take(x.geometry, depth + 1);
    else if (x.type === 'FeatureCollection' && depth === 0 && Array.isArray(x.features)) for (const f of x.features) take(f, depth + 1);
    else throw bad(`type '${String(x.type).slice(0, 40)}' is not a Polygon or MultiPolygon`);
  };
  take(value, 0);
  if (polys.length === 0) throw bad('no polygon');
  if (polys.length > 10_000) throw bad('more than 10 000 polygons');
  const valid = (p: unknown) =>
    Array.isArray(p) && p.length > 0 && p.every((ring) => Array.isArray(ring) && ring.length >= 4 && ring.every((pt) => Array.isArray(pt) && pt.length >= 2 && pt.every((n) => typeof n === 'number' && Number.isFinite(n))));
  if (!polys.every(valid)) throw bad('coordinates must be rings of at least four [x, y] numbers');
  return { geojson: JSON.stringify({ type: 'MultiPolygon', coordinates: polys }), srid };
}
