import type { Bbox } from '../../grid/bbox.js';
import { transformBbox } from '../../grid/crs.js';
import { tileRange, type TileMatrixSet, type TileRange } from '../../grid/tile-matrix-set.js';
import type { Catalog, Version } from '../../catalog/catalog.js';
import type { Queryable } from '../../db/database.js';
import { OgcServiceError } from '../../ogc/ows-exception.js';

/** The orthophoto dataset served as raster streams. */
export const ORTHO_DATASET = 'ortho';
/** The current PCRS (latest version wins per area); Géoplateforme-style identifier. */
export const CURRENT_LAYER = 'PCRS.ORTHO';

/**
 * A raster layer: the current PCRS, or one published version (millésime, update) under
 * `PCRS.ORTHO.{version}`. Versioned layers are immutable (long HTTP caching); the current one
 * changes when a version is published.
 */
export interface RasterLayer {
  id: string;
  title: string;
  abstract: string;
  datasetId: string;
  /** null for the current layer. */
  version: Version | null;
  /** Lambert-93 extent of the data (union of dalle footprints), null when empty. */
  bbox: Bbox | null;
}

export const isVersioned = (layer: RasterLayer) => layer.version !== null;

/** Published layers, read from the catalogue and cached for a few seconds. */
export class RasterLayers {
  private cache: { at: number; layers: RasterLayer[] } | null = null;
  private pending: Promise<RasterLayer[]> | null = null;

  constructor(
    private readonly db: Queryable,
    private readonly catalog: Catalog,
    private readonly ttlMs = 5000,
  ) {}

  async list(): Promise<RasterLayer[]> {
    if (this.cache && Date.now() - this.cache.at < this.ttlMs) return this.cache.layers;
    this.pending ??= this.load().finally(() => (this.pending = null));
    return this.pending;
  }

  private async load(): Promise<RasterLayer[]> {
    const versions = await this.catalog.publishedVersions(ORTHO_DATASET);
    const { rows } = await this.db.query<{ version_id: number; xmin: number; ymin: number; xmax: number; ymax: number }>(
      `SELECT version_id, ST_XMin(e) AS xmin, ST_YMin(e) AS ymin, ST_XMax(e) AS xmax, ST_YMax(e) AS ymax
       FROM (SELECT d.version_id, ST_Extent(d.footprint) AS e FROM dalles d WHERE d.version_id = ANY($1::bigint[]) GROUP BY d.version_id) s`,
      [versions.map((v) => v.id)],
    );
    const extent = new Map<number, Bbox>(rows.map((r) => [Number(r.version_id), [Number(r.xmin), Number(r.ymin), Number(r.xmax), Number(r.ymax)] as const]));
    const all = [...extent.values()];
    const union: Bbox | null = all.length
      ? [Math.min(...all.map((b) => b[0])), Math.min(...all.map((b) => b[1])), Math.max(...all.map((b) => b[2])), Math.max(...all.map((b) => b[3]))]
      : null;
    const layers: RasterLayer[] = [
      {
        id: CURRENT_LAYER,
        title: 'PCRS orthophotographie 5 cm — actuelle',
        abstract: 'Orthophotographie PCRS la plus récente en tout point (millésimes et mises à jour). Licence Ouverte / Etalab 2.0.',
        datasetId: ORTHO_DATASET,
        version: null,
        bbox: union,
      },
      ...versions.map((v) => ({
        id: `${CURRENT_LAYER}.${v.name}`,
        title: `PCRS orthophotographie 5 cm — ${v.name}${v.acquisitionDate ? ` (${v.acquisitionDate})` : ''}`,
        abstract: `Version ${v.name} (${v.kind === 'update' ? 'mise à jour' : 'millésime'}) du PCRS raster. Licence Ouverte / Etalab 2.0.`,
        datasetId: ORTHO_DATASET,
        version: v,
        bbox: extent.get(v.id) ?? null,
      })),
    ];
    this.cache = { at: Date.now(), layers };
    return layers;
  }

  /** The layer by identifier (`ORTHO` is accepted for the current one); `code` (400) otherwise. */
  async get(id: string | undefined, locator = 'LAYER', code = 'InvalidParameterValue', status = 400): Promise<RasterLayer> {
    if (id === undefined || id === '') throw new OgcServiceError('MissingParameterValue', `Parameter ${locator} is missing.`, locator);
    const want = id === 'ORTHO' ? CURRENT_LAYER : id;
    const layer = (await this.list()).find((l) => l.id === want);
    if (!layer) throw new OgcServiceError(code, `Unknown layer '${id.slice(0, 100)}'.`, locator, status);
    return layer;
  }
}

const limitCache = new Map<string, TileRange | null>();

/** Tiles of the layer's data extent at level z of the set (TileMatrixSetLimits), null when none. */
export function coverageRange(layer: RasterLayer, tms: TileMatrixSet, z: number): TileRange | null {
  if (!layer.bbox) return null;
  const key = `${tms.id}|${z}|${layer.bbox.join(',')}`;
  if (limitCache.has(key)) return limitCache.get(key) ?? null;
  let r: TileRange | null = null;
  try {
    const bbox: Bbox = tms.crs === 'EPSG:2154' ? layer.bbox : transformBbox('EPSG:2154', tms.crs, layer.bbox);
    r = tileRange(tms, z, bbox);
  } catch {
    r = null;
  }
  if (limitCache.size > 10_000) limitCache.clear();
  limitCache.set(key, r);
  return r;
}
