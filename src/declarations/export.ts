import { THEMES, type L93Geometry } from './model.js';
import { toWgs84 } from './service.js';
import type { Declaration } from './store.js';
import { csvText, type CsvValue } from '../util/csv.js';

/**
 * Declarations as CSV (geometry as Lambert-93 WKT, cells as util/csv.ts writes them) or GeoJSON
 * (WGS84, RFC 7946).
 */

const COLUMNS = ['id', 'type', 'status', 'title', 'description', 'author', 'organisation', 'assigned_user', 'assigned_organisation', 'dataset', 'version', 'dt_dict_ref', 'works_start', 'works_end', 'themes', 'duplicate_of', 'created_at', 'updated_at', 'wkt_2154'] as const;

export function wkt(g: L93Geometry): string {
  const pos = (p: number[]) => `${p[0]} ${p[1]}`;
  if (g.type === 'Point') return `POINT (${pos(g.coordinates as number[])})`;
  if (g.type === 'LineString') return `LINESTRING (${(g.coordinates as number[][]).map(pos).join(', ')})`;
  return `POLYGON (${(g.coordinates as number[][][]).map((r) => `(${r.map(pos).join(', ')})`).join(', ')})`;
}

export function toCsv(items: readonly Declaration[]): string {
  return csvText(
    COLUMNS,
    items.map((d): CsvValue[] => [
      d.id, d.type, d.status, d.title, d.description, d.author.displayName ?? d.author.actor, d.author.organisation?.slug ?? null,
      d.assigned.user?.displayName ?? null, d.assigned.organisation?.slug ?? null, d.layer?.dataset ?? null, d.layer?.version ?? null,
      d.works?.dtDictRef ?? null, d.works?.plannedStart ?? null, d.works?.plannedEnd ?? null, d.works?.themes.filter((t) => THEMES.includes(t)).join(' ') ?? null,
      d.duplicateOf, d.createdAt, d.updatedAt, wkt(d.geometry),
    ]),
  );
}

export function toGeoJson(items: readonly Declaration[]): string {
  return JSON.stringify({
    type: 'FeatureCollection',
    features: items.map((d) => {
      const { geometry, ...properties } = d;
      return { type: 'Feature', id: d.id, geometry: toWgs84(geometry), properties };
    }),
  });
}
