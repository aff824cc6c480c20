import 'ol/ol.css';
import OlMap from 'ol/Map.js';
import View from 'ol/View.js';
import WMTSCapabilities from 'ol/format/WMTSCapabilities.js';
import MVT from 'ol/format/MVT.js';
import Feature from 'ol/Feature.js';
import GeoJSON from 'ol/format/GeoJSON.js';
import type { Geometry as OlGeometry } from 'ol/geom.js';
import TileLayer from 'ol/layer/Tile.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import VectorTileLayer from 'ol/layer/VectorTile.js';
import { register } from 'ol/proj/proj4.js';
import { getRenderPixel } from 'ol/render.js';
import type RenderEvent from 'ol/render/Event.js';
import { transformExtent } from 'ol/proj.js';
import VectorTileSource from 'ol/source/VectorTile.js';
import WMTS, { optionsFromCapabilities } from 'ol/source/WMTS.js';
import { Circle, Fill, Stroke, Style } from 'ol/style.js';
import type { FeatureLike } from 'ol/Feature.js';
import type ImageTile from 'ol/ImageTile.js';
import TileGrid from 'ol/tilegrid/TileGrid.js';
import proj4 from 'proj4';

/**
 * The portal's map: the orthophoto from our own WMTS in Lambert-93 (the 2154_5cm tiles, served as
 * stored), the vector PCRS from our vector tiles with the server's colours per thématique, and a
 * click that tells which dalle (and which object) is there. The view is kept in the address
 * (`#/carte?vue=x,y,zoom`, given by the page) and the settings in localStorage, so a view can be
 * shared and the portal remembers the user's map.
 */

const L93 = '+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 +y_0=6600000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs';
proj4.defs('EPSG:2154', L93);
proj4.defs('urn:ogc:def:crs:EPSG::2154', L93);
register(proj4);

/** The 2154_5cm tile matrix set (origin, 5 cm at level 22, 256 px tiles). */
const RESOLUTIONS = Array.from({ length: 23 }, (_, z) => 0.05 * 2 ** (22 - z));
const GRID_2154 = new TileGrid({ origin: [0, 12_000_000], resolutions: RESOLUTIONS, tileSize: 256 });
/** The vector is shown from this level (0.8 m/px): further out, a town's thousands of objects hide the photo. */
const VECTOR_FROM_LEVEL = 18;
/**
 * Orthophoto tiles from this level on are the stored JPEGs (passed through); coarser ones are asked
 * in WebP, which carries the coverage mask as transparency: at overview levels most tiles straddle
 * the coverage's edge, and a JPEG shows black there.
 */
const JPEG_FROM_LEVEL = 18;

export interface MapSettings {
  layer: string;
  opacity: number;
  vector: boolean;
}

export interface DalleInfo {
  name: string;
  version: string;
  date: string | null;
  download: string;
  shown: boolean;
  /** The partner's contribution its version comes from (GetFeatureInfo), if any. */
  provenance?: { contribution: number; organisation: string; producer: string | null; surveyedOn: string | null } | null;
}

export interface PcrsMap {
  map: OlMap;
  layers: string[];
  settings: MapSettings;
  apply(settings: Partial<MapSettings>): void;
  /** Dalles under a Lambert-93 point (WMS GetFeatureInfo of the shown layer). */
  dallesAt(x: number, y: number): Promise<DalleInfo[]>;
  /** Vector objects drawn under a pixel (or within 4 px of it). */
  objectsAt(pixel: number[]): Promise<Array<Record<string, unknown>>>;
  /** Outlines an area (a commune's, an extract's; GeoJSON in Lambert-93) and zooms to it; null clears it. */
  outline(geometry: { type: string; coordinates: unknown } | null): void;
  /**
   * Compares another orthophoto layer (a millésime, the current one) with the shown one: it is drawn
   * left of a vertical bar, the shown layer right of it. null ends the comparison.
   */
  compare(layer: string | null): void;
  /** Where the comparison's bar is, as a share of the map's width (0–1). */
  swipe(fraction: number): void;
}

const STORAGE_KEY = 'pcrs.map.settings';

function loadSettings(): MapSettings {
  const fallback: MapSettings = { layer: 'PCRS.ORTHO', opacity: 1, vector: true };
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as Partial<MapSettings>;
    return {
      layer: typeof saved.layer === 'string' ? saved.layer : fallback.layer,
      opacity: typeof saved.opacity === 'number' && saved.opacity >= 0 && saved.opacity <= 1 ? saved.opacity : fallback.opacity,
      vector: typeof saved.vector === 'boolean' ? saved.vector : fallback.vector,
    };
  } catch {
    return fallback;
  }
}

/** Colours per thématique from the server's vector style (a Mapbox-GL `match` expression). */
async function thematiqueColours(): Promise<Map<string, string>> {
  const colours = new Map<string, string>();
  try {
    const style = (await (await fetch('/tiles/vector/style.json?tms=2154_5cm')).json()) as { layers: Array<{ paint?: Record<string, unknown> }> };
    const expr = style.layers[0]?.paint?.['fill-color'];
    if (Array.isArray(expr) && expr[0] === 'match') for (let i = 2; i + 1 < expr.length; i += 2) colours.set(String(expr[i]), String(expr[i + 1]));
  } catch {
    // default colour below
  }
  return colours;
}

function vectorStyle(colours: Map<string, string>): (f: FeatureLike) => Style {
  const cache = new Map<string, Style>();
  return (f) => {
    const them = String(f.get('thematique') ?? '');
    const type = f.getGeometry()?.getType() ?? 'Point';
    const key = `${them}|${type}`;
    let s = cache.get(key);
    if (!s) {
      const colour = colours.get(them) ?? '#555555';
      s =
        type === 'Point' || type === 'MultiPoint'
          ? new Style({ image: new Circle({ radius: 4, fill: new Fill({ color: colour }), stroke: new Stroke({ color: '#ffffff', width: 1 }) }) })
          : type.includes('Polygon')
            ? new Style({ fill: new Fill({ color: `${colour}55` }), stroke: new Stroke({ color: colour, width: 1.5 }) })
            : new Style({ stroke: new Stroke({ color: colour, width: 2 }) });
      cache.set(key, s);
    }
    return s;
  };
}

/** A view as the address keeps it: `x,y,zoom` (Lambert-93 metres, zoom level). */
export function parseView(text: string | null | undefined): { center: [number, number]; zoom: number } | null {
  const m = /^(\d+(?:\.\d+)?),(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/.exec(text ?? '');
  return m ? { center: [Number(m[1]), Number(m[2])], zoom: Number(m[3]) } : null;
}

export interface MapOptions {
  /** The view to open on (`x,y,zoom`), else the coverage. */
  view?: string | null;
  /** Told the view (`x,y,zoom`) after every move, to keep it in the address. */
  onView?: (view: string) => void;
}

export async function createMap(target: HTMLElement, options: MapOptions = {}): Promise<PcrsMap> {
  // Both at once: the map waits for the capabilities (layers, grids) and the vector's colours.
  const [capsText, colours] = await Promise.all([fetch('/wmts/1.0.0/WMTSCapabilities.xml').then((r) => r.text()), thematiqueColours()]);
  const caps = new WMTSCapabilities().read(capsText) as {
    Contents: { Layer: Array<{ Identifier: string; WGS84BoundingBox?: number[] }> };
  };
  const layerIds = caps.Contents.Layer.map((l) => l.Identifier);
  const settings = loadSettings();
  if (!layerIds.includes(settings.layer)) settings.layer = layerIds[0] ?? 'PCRS.ORTHO';

  const orthoSource = (id: string) => {
    // REST: immutable tile URLs that any HTTP cache keeps.
    const options = optionsFromCapabilities(caps, { layer: id, matrixSet: '2154_5cm', format: 'image/jpeg', requestEncoding: 'REST' });
    if (!options) throw new Error(`layer ${id} has no 2154_5cm tiles`);
    // OpenLayers takes every tile ResourceURL as a mirror of the others, whatever its format: keep
    // the JPEG one (the tiles as stored, no re-encoding).
    const urls = (options.urls ?? []).filter((u) => u.endsWith('.jpeg'));
    return new WMTS({
      ...options,
      urls,
      crossOrigin: 'anonymous',
      attributions: 'PCRS — Licence Ouverte / Etalab 2.0',
      tileLoadFunction: (tile, src) => {
        // The level is the TileMatrix of the REST URL (the grid's own z starts at the set's first level).
        const level = Number(/\/(\d+)\/\d+\/\d+\.jpeg$/.exec(src)?.[1] ?? JPEG_FROM_LEVEL);
        ((tile as ImageTile).getImage() as HTMLImageElement).src = level < JPEG_FROM_LEVEL ? src.replace(/\.jpeg$/, '.webp') : src;
      },
    });
  };
  const ortho = new TileLayer({ source: orthoSource(settings.layer), opacity: settings.opacity });
  const vector = new VectorTileLayer({
    source: new VectorTileSource({ format: new MVT(), tileGrid: GRID_2154, projection: 'EPSG:2154', url: '/tiles/vector/2154_5cm/{z}/{x}/{y}.mvt' }),
    style: vectorStyle(colours),
    maxResolution: RESOLUTIONS[VECTOR_FROM_LEVEL - 1],
    visible: settings.vector,
    declutter: false,
  });

  const coverage = caps.Contents.Layer.find((l) => l.Identifier === settings.layer)?.WGS84BoundingBox;
  const view = new View({ projection: 'EPSG:2154', resolutions: RESOLUTIONS, constrainResolution: true });
  const map = new OlMap({ target, layers: [ortho, vector], view });
  const fromHash = parseView(options.view);
  if (fromHash) {
    view.setCenter(fromHash.center);
    view.setZoom(fromHash.zoom);
  } else if (coverage) {
    view.fit(transformExtent(coverage, 'EPSG:4326', 'EPSG:2154'), { size: map.getSize() ?? [800, 600] });
  } else {
    view.setCenter([575_000, 6_373_800]);
    view.setZoom(14);
  }
  map.on('moveend', () => {
    const c = view.getCenter();
    if (c) options.onView?.(`${c[0]?.toFixed(1)},${c[1]?.toFixed(1)},${view.getZoom()?.toFixed(0)}`);
  });

  // The compared layer, between the orthophoto and the vector, clipped left of the bar.
  let swipeAt = 0.5;
  const compared = new TileLayer({ visible: false });
  map.getLayers().insertAt(1, compared);
  compared.on('prerender', (event: RenderEvent) => {
    const ctx = event.context as CanvasRenderingContext2D;
    const [width = 0, height = 0] = map.getSize() ?? [];
    const x = width * swipeAt;
    const corners = [[0, 0], [0, height], [x, height], [x, 0]].map((p) => getRenderPixel(event, p));
    ctx.save();
    ctx.beginPath();
    corners.forEach(([px = 0, py = 0], i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
    ctx.closePath();
    ctx.clip();
  });
  compared.on('postrender', (event: RenderEvent) => (event.context as CanvasRenderingContext2D).restore());

  const outlined = new VectorSource();
  map.addLayer(new VectorLayer({ source: outlined, zIndex: 15, style: new Style({ stroke: new Stroke({ color: '#0b5cad', width: 3 }), fill: new Fill({ color: '#0b5cad22' }) }) }));

  const pcrsMap: PcrsMap = {
    map,
    layers: layerIds,
    settings,
    apply(change) {
      Object.assign(settings, change);
      if (change.layer) ortho.setSource(orthoSource(change.layer));
      ortho.setOpacity(settings.opacity);
      vector.setVisible(settings.vector);
      localStorage.setItem(STORAGE_KEY, JSON.stringify(settings));
    },
    async dallesAt(x, y) {
      const d = 0.5;
      const q = new URLSearchParams({
        SERVICE: 'WMS', VERSION: '1.3.0', REQUEST: 'GetFeatureInfo', LAYERS: settings.layer, QUERY_LAYERS: settings.layer, STYLES: '',
        CRS: 'EPSG:2154', BBOX: [x - d, y - d, x + d, y + d].join(','), WIDTH: '11', HEIGHT: '11', I: '5', J: '5', INFO_FORMAT: 'application/json',
      });
      const res = await fetch(`/wms?${q.toString()}`);
      if (!res.ok) return [];
      const json = (await res.json()) as { features: Array<{ properties: DalleInfo }> };
      return json.features.map((f) => f.properties);
    },
    async objectsAt(pixel) {
      // The layer's own hit detection (map.getFeaturesAtPixel misses vector-tile points); a small
      // neighbourhood so that thin lines and small symbols are easy to hit.
      if (!vector.getVisible()) return [];
      const [px, py] = pixel as [number, number];
      const found = new Map<string, Record<string, unknown>>();
      for (const [dx, dy] of [[0, 0], [-3, 0], [3, 0], [0, -3], [0, 3], [-3, -3], [3, 3], [-3, 3], [3, -3]] as const) {
        for (const f of await vector.getFeatures([px + dx, py + dy])) {
          const props = f.getProperties();
          found.set(String(props['gmlId'] ?? props['idObjet'] ?? found.size), props);
        }
      }
      return [...found.values()];
    },
    compare(layer) {
      if (layer && layerIds.includes(layer)) {
        compared.setSource(orthoSource(layer));
        compared.setVisible(true);
      } else {
        compared.setVisible(false);
      }
    },
    swipe(fraction) {
      swipeAt = Math.min(1, Math.max(0, fraction));
      map.render();
    },
    outline(geometry) {
      outlined.clear();
      if (!geometry) return;
      const g = new GeoJSON().readGeometry(geometry) as OlGeometry;
      outlined.addFeature(new Feature({ geometry: g }));
      view.fit(g.getExtent(), { padding: [30, 30, 30, 30], maxZoom: 19, duration: 0 });
    },
  };
  return pcrsMap;
}
