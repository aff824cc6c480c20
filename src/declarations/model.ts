import type { Bbox } from '../grid/bbox.js';
import { parseCrs, transformPoint, type CrsCode } from '../grid/crs.js';
import { UserError } from '../util/errors.js';

/**
 * The declarations model without storage or HTTP: types, statuses and their transitions, theme
 * codes of works, and the reading of a GeoJSON geometry (WGS84 by default, or Lambert-93 / a CC zone
 * named by its `crs` member) into Lambert-93 coordinates inside the territory.
 */

export const DECLARATION_TYPES = ['error', 'update-request', 'works', 'intervention'] as const;
export type DeclarationType = (typeof DECLARATION_TYPES)[number];

export const STATUSES = ['submitted', 'acknowledged', 'in-progress', 'resolved', 'rejected', 'duplicate'] as const;
export type Status = (typeof STATUSES)[number];

/** Closing statuses: a reason is required to reach them; only reopening (→ submitted) leaves them. */
export const CLOSED: ReadonlySet<Status> = new Set<Status>(['resolved', 'rejected', 'duplicate']);

/** The transitions that exist (from → to). Reopening is closed → submitted. */
export const TRANSITIONS: Readonly<Record<Status, readonly Status[]>> = {
  submitted: ['acknowledged', 'in-progress', 'resolved', 'rejected', 'duplicate'],
  acknowledged: ['in-progress', 'resolved', 'rejected', 'duplicate'],
  'in-progress': ['resolved', 'rejected', 'duplicate'],
  resolved: ['submitted'],
  rejected: ['submitted'],
  duplicate: ['submitted'],
};

/** "Travaux impactant le PCRS" theme codes of the DT-DICT forms (a closed list). */
export const THEMES = ['02', '03A', '03B', '04', '05', '06', '07', '08', '09', '10'] as const;
export type Theme = (typeof THEMES)[number];
export const THEME_LABELS: Readonly<Record<Theme, string>> = {
  '02': 'bâti',
  '03A': 'voirie faible ampleur',
  '03B': 'voirie forte ampleur',
  '04': 'ferroviaire',
  '05': 'clôture',
  '06': 'végétal',
  '07': 'ouvrage d’art',
  '08': 'hydrographie',
  '09': 'orographie',
  '10': 'affleurant',
};

/** Throws 409 naming the transition when it does not exist. */
export function checkTransition(from: Status, to: Status): void {
  if (!TRANSITIONS[from].includes(to)) {
    const allowed = TRANSITIONS[from].join(', ');
    const hint = CLOSED.has(from) ? `A ${from} declaration must be reopened first (status submitted).` : `From ${from}: ${allowed}.`;
    throw new UserError('invalid-transition', `There is no transition ${from} → ${to}; from ${from} the status can go to: ${allowed}.`, { status: 409, hint });
  }
}

/** The action-log verb of a status change. */
export function actionOfTransition(from: Status, to: Status): 'status-changed' | 'closed' | 'merged-duplicate' | 'reopened' {
  if (to === 'duplicate') return 'merged-duplicate';
  if (CLOSED.has(to)) return 'closed';
  if (CLOSED.has(from)) return 'reopened';
  return 'status-changed';
}

export type Position = readonly number[];
export type InputGeometry =
  | { type: 'Point'; coordinates: Position; crs?: { type: 'name'; properties: { name: string } } }
  | { type: 'LineString'; coordinates: readonly Position[]; crs?: { type: 'name'; properties: { name: string } } }
  | { type: 'Polygon'; coordinates: ReadonlyArray<readonly Position[]>; crs?: { type: 'name'; properties: { name: string } } };

/** A geometry in Lambert-93 as GeoJSON (no crs member). */
export interface L93Geometry {
  type: 'Point' | 'LineString' | 'Polygon';
  coordinates: number[] | number[][] | number[][][];
}

const invalidGeometry = (message: string) => new UserError('invalid-geometry', message, { status: 400 });

/** The CRS of an input geometry: WGS84 without `crs`, else EPSG:2154 or a CC zone (EPSG:3942–3950). */
export function inputCrs(g: InputGeometry): CrsCode {
  const name = g.crs?.properties.name;
  if (name === undefined) return 'OGC:CRS84';
  let code: CrsCode;
  try {
    code = parseCrs(name);
  } catch {
    throw invalidGeometry(`The geometry's crs '${name.slice(0, 100)}' is not understood: give WGS84 (no crs member), EPSG:2154 or a CC zone (EPSG:3942 … EPSG:3950).`);
  }
  if (code === 'EPSG:4326' || code === 'OGC:CRS84' || code === 'EPSG:2154' || /^EPSG:39(4[2-9]|50)$/.test(code)) return code;
  throw invalidGeometry(`The geometry's crs ${code} is not accepted: give WGS84 (no crs member), EPSG:2154 or a CC zone (EPSG:3942 … EPSG:3950).`);
}

/**
 * Transforms the geometry to Lambert-93 and checks every vertex lies inside the territory's extent
 * (the extent is a rectangle, so the whole geometry then does). Validity (self-intersection) is
 * PostGIS's to tell (store.ts).
 */
export function toLambert93(g: InputGeometry, extent: Bbox): L93Geometry {
  const crs = inputCrs(g);
  const [xmin, ymin, xmax, ymax] = extent;
  const point = (p: Position): number[] => {
    const [x, y] = [p[0] as number, p[1] as number];
    let out: [number, number];
    try {
      out = crs === 'EPSG:2154' ? [x, y] : transformPoint(crs, 'EPSG:2154', [x, y]);
    } catch {
      throw invalidGeometry(`The point (${x}, ${y}) cannot be expressed in Lambert-93.`);
    }
    if (!(out[0] >= xmin && out[0] <= xmax && out[1] >= ymin && out[1] <= ymax)) {
      throw new UserError('outside-territory', `The point (${x}, ${y}) in ${crs} is outside the territory (Lambert-93 extent ${extent.join(', ')}).`, {
        status: 400,
        hint: crs === 'OGC:CRS84' ? 'Coordinates without a crs member are WGS84 longitude, latitude; add "crs": {"type": "name", "properties": {"name": "EPSG:2154"}} for Lambert-93.' : undefined,
      });
    }
    return [Math.round(out[0] * 1000) / 1000, Math.round(out[1] * 1000) / 1000];
  };
  if (g.type === 'Point') return { type: 'Point', coordinates: point(g.coordinates) };
  if (g.type === 'LineString') return { type: 'LineString', coordinates: g.coordinates.map(point) };
  const rings = g.coordinates.map((ring, i) => {
    const first = ring[0];
    const last = ring[ring.length - 1];
    if (!first || !last || first[0] !== last[0] || first[1] !== last[1]) throw invalidGeometry(`Ring ${i} of the polygon is not closed: its last position must repeat its first.`);
    return ring.map(point);
  });
  return { type: 'Polygon', coordinates: rings };
}
