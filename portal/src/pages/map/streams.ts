import type { DatasetAccess, Visibility } from '../../app/api.js';

/**
 * The addresses a GIS user pastes, per layer, with the user's API key on restricted layers
 * (QGIS and the like cannot send a session cookie: the `apikey` parameter is how they read a
 * restricted layer; the server keeps it in every URL its capabilities advertise).
 */
export const ORTHO_DATASET = 'ortho';
export const CURRENT_ORTHO = 'PCRS.ORTHO';
export const VECTOR_DATASET = 'vector';
export const VECTOR_LAYER = 'vector';

export interface StreamLink {
  /** WMTS, WMS, XYZ, WFS, OGC API, MVT. */
  kind: string;
  url: string;
}

export interface LayerStreams {
  layer: string;
  visibility: Visibility;
  /** Restricted and no key given: the addresses will answer 401 to a GIS. */
  needsKey: boolean;
  links: StreamLink[];
}

/**
 * Visibility of a served layer: the current orthophoto follows its dataset, a versioned one
 * (`PCRS.ORTHO.<version>`) its version's effective visibility, the vector its dataset. Without the
 * datasets list (no access API on this server) everything is open data.
 */
export function layerVisibility(layer: string, datasets: readonly DatasetAccess[] | null): Visibility {
  if (!datasets) return 'public';
  const datasetId = layer === VECTOR_LAYER ? VECTOR_DATASET : ORTHO_DATASET;
  const dataset = datasets.find((d) => d.id === datasetId);
  if (!dataset) return 'public';
  if (layer === VECTOR_LAYER || layer === CURRENT_ORTHO) return dataset.visibility;
  const version = layer.slice(CURRENT_ORTHO.length + 1);
  const v = dataset.versions.find((x) => x.name === version);
  return v ? v.effectiveVisibility : dataset.visibility;
}

/** `url` with `apikey=<key>` added (after a `?` or an `&`). */
export function withKey(url: string, key: string | null | undefined): string {
  if (!key) return url;
  return `${url}${url.includes('?') ? '&' : '?'}apikey=${encodeURIComponent(key)}`;
}

/** A plausible key text (`pcrs_<12>_<43>`), so that a mistyped paste is said at once. */
export function looksLikeKey(text: string): boolean {
  return /^pcrs_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/.test(text.trim());
}

export function layerStreams(origin: string, rasterLayers: readonly string[], hasVector: boolean, datasets: readonly DatasetAccess[] | null, key: string | null): LayerStreams[] {
  const out: LayerStreams[] = [];
  const one = (layer: string, links: StreamLink[]): LayerStreams => {
    const visibility = layerVisibility(layer, datasets);
    const restricted = visibility === 'restricted';
    return { layer, visibility, needsKey: restricted && !key, links: links.map((l) => ({ kind: l.kind, url: restricted ? withKey(l.url, key) : l.url })) };
  };
  for (const layer of rasterLayers) {
    out.push(
      one(layer, [
        { kind: 'WMTS', url: `${origin}/wmts/1.0.0/WMTSCapabilities.xml` },
        { kind: 'WMS', url: `${origin}/wms` },
        { kind: 'XYZ', url: `${origin}/tiles/${layer}/WebMercatorQuad/{z}/{x}/{y}.jpeg` },
      ]),
    );
  }
  if (hasVector) {
    out.push(
      one(VECTOR_LAYER, [
        { kind: 'WFS', url: `${origin}/wfs` },
        { kind: 'OGC API', url: `${origin}/ogc` },
        { kind: 'MVT', url: `${origin}/tiles/vector/WebMercatorQuad/{z}/{x}/{y}.mvt` },
      ]),
    );
  }
  return out;
}
