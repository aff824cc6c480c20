/**
 * Vector tiles (Mapbox Vector Tile 2.1) of the current vector PCRS in `2154_5cm` and
 * `WebMercatorQuad`, and a default Mapbox-GL style per thématique.
 *
 * PGlite has no ST_AsMVT, so both engines do the same: SQL selects the features of the tile
 * (clipped with a buffer, transformed to the set's CRS, Z dropped) as GeoJSON; JS maps them to
 * tile-relative coordinates and lets geojson-vt clip/simplify and vt-pbf encode. geojson-vt only
 * knows Web Mercator longitude/latitude, so tile coordinates (u, v ∈ [0, 1]) are handed to it as
 * the lon/lat whose projection is (u, v) at zoom 0 — exact for any tile matrix set.
 */
import GeoJSONVT from 'geojson-vt';
import vtpbf from 'vt-pbf';
import { bboxBuffer, type Bbox } from '../grid/bbox.js';
import { transformBbox } from '../grid/crs.js';
import { tileBbox, type TileMatrixSet } from '../grid/tile-matrix-set.js';
import type { AppContext } from '../context/app-context.js';
import { CODE_LISTS } from './gml/pcrs-model.js';
import { queryFeatures, VECTOR_DATASET } from './store.js';

export const MVT_LAYER = 'pcrs';
export const MVT_EXTENT = 4096;
/** Below these levels a tile would hold too much of the département: served empty. */
export const MVT_MIN_ZOOM: Record<string, number> = { '2154_5cm': 12, WebMercatorQuad: 13 };
const MAX_FEATURES_PER_TILE = 50_000;

type Pos = number[];
type Geo = { type: string; coordinates?: unknown; geometries?: Geo[] };

function mapCoords(c: unknown, f: (p: Pos) => Pos): unknown {
  if (Array.isArray(c) && typeof c[0] === 'number') return f(c as Pos);
  return Array.isArray(c) ? c.map((x) => mapCoords(x, f)) : [];
}

/** A geometry in tile coordinates; clipping can turn a feature into a GeometryCollection (or an empty one). */
function mapGeometry(g: Geo, f: (p: Pos) => Pos): Geo {
  if (g.type === 'GeometryCollection') return { type: g.type, geometries: (g.geometries ?? []).map((m) => mapGeometry(m, f)) };
  return { type: g.type, coordinates: mapCoords(g.coordinates, f) };
}

/** Encodes one tile from features in the set's CRS. */
export function encodeTile(bbox: Bbox, features: Array<{ geometry: Geo; properties: Record<string, unknown>; id: number }>): Uint8Array {
  const [x0, y0, x1, y1] = bbox;
  const toLonLat = (p: Pos): Pos => {
    const u = ((p[0] as number) - x0) / (x1 - x0);
    const v = (y1 - (p[1] as number)) / (y1 - y0);
    return [u * 360 - 180, (Math.atan(Math.sinh(Math.PI * (1 - 2 * v))) * 180) / Math.PI];
  };
  const fc = {
    type: 'FeatureCollection' as const,
    features: features.map((f) => ({ type: 'Feature' as const, id: f.id, properties: f.properties, geometry: mapGeometry(f.geometry, toLonLat) })),
  };
  const index = new GeoJSONVT(fc as never, { maxZoom: 0, indexMaxZoom: 0, extent: MVT_EXTENT, buffer: 64, tolerance: 2 });
  const tile = index.getTile(0, 0, 0) ?? { features: [] };
  return vtpbf.fromGeojsonVt({ [MVT_LAYER]: tile }, { version: 2, extent: MVT_EXTENT });
}

/** Attributes a tile carries for a business dataset's object: its layer and its plain values (not nested ones). */
function businessProperties(cls: string, attributes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { layer: cls };
  for (const [k, v] of Object.entries(attributes)) if (v !== null && ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v;
  return out;
}

/** One tile of the vector PCRS (or, with `datasetId`, of a business dataset: its objects with their attributes). */
export async function vectorTile(ctx: AppContext, tms: TileMatrixSet, z: number, x: number, y: number, versionId?: number, datasetId = VECTOR_DATASET): Promise<Uint8Array> {
  const bbox = tileBbox(tms, z, x, y);
  if (z < (MVT_MIN_ZOOM[tms.id] ?? 0)) return new Uint8Array(0);
  const buffered = bboxBuffer(bbox, ((bbox[2] - bbox[0]) * 64) / MVT_EXTENT);
  const in2154 = tms.crs === 'EPSG:2154' ? buffered : transformBbox(tms.crs, 'EPSG:2154', buffered);
  const rows = await queryFeatures(ctx.db, {
    datasetId,
    ...(versionId !== undefined ? { versionId } : {}),
    bbox: in2154,
    clip: in2154,
    force2d: true,
    outSrid: tms.crs === 'EPSG:3857' ? 3857 : 2154,
    decimals: 3,
    limit: MAX_FEATURES_PER_TILE,
  });
  const features = rows
    .filter((r) => r.geometry)
    .map((r) => ({
      id: r.id,
      geometry: JSON.parse(r.geometry as string) as Geo,
      properties: datasetId === VECTOR_DATASET ? { class: r.class, thematique: r.thematique ?? '', idObjet: r.idObjet ?? '', gmlId: r.gmlId ?? '' } : businessProperties(r.class, r.attributes),
    }));
  return features.length ? encodeTile(bbox, features) : new Uint8Array(0);
}

/** Colours per thématique (CNIG code list). */
export const THEMATIQUE_COLOURS: Record<string, string> = {
  '00': '#888888',
  '01': '#8c510a',
  '02': '#d7301f',
  '03': '#252525',
  '04': '#6a3d9a',
  '05': '#b15928',
  '06': '#33a02c',
  '07': '#1f78b4',
  '08': '#0571b0',
  '09': '#a6761d',
  '10': '#e7298a',
  '11': '#999999',
  '99': '#bdbdbd',
};

/** A Mapbox-GL style (v8) drawing the tiles with one colour per thématique. */
export function defaultStyle(base: string, tms = 'WebMercatorQuad'): Record<string, unknown> {
  const colour = ['match', ['get', 'thematique'], ...Object.entries(THEMATIQUE_COLOURS).flat(), '#555555'];
  return {
    version: 8,
    name: 'PCRS vecteur — style par thématique',
    metadata: { thematiques: CODE_LISTS.thematique.values },
    sources: {
      pcrs: { type: 'vector', tiles: [`${base}/tiles/vector/${tms}/{z}/{x}/{y}.mvt`], minzoom: MVT_MIN_ZOOM[tms] ?? 0, maxzoom: 22, attribution: 'PCRS — Licence Ouverte / Etalab 2.0' },
    },
    layers: [
      { id: 'pcrs-polygons', type: 'fill', source: 'pcrs', 'source-layer': MVT_LAYER, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': colour, 'fill-opacity': 0.35, 'fill-outline-color': colour } },
      { id: 'pcrs-lines', type: 'line', source: 'pcrs', 'source-layer': MVT_LAYER, filter: ['==', ['geometry-type'], 'LineString'], paint: { 'line-color': colour, 'line-width': ['interpolate', ['linear'], ['zoom'], 15, 0.5, 21, 2] } },
      { id: 'pcrs-points', type: 'circle', source: 'pcrs', 'source-layer': MVT_LAYER, filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-color': colour, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 15, 1.5, 21, 5] } },
    ],
  };
}
