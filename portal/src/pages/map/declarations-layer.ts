import type OlMap from 'ol/Map.js';
import Feature from 'ol/Feature.js';
import type { FeatureLike } from 'ol/Feature.js';
import GeoJSON from 'ol/format/GeoJSON.js';
import Draw from 'ol/interaction/Draw.js';
import type { Geometry as OlGeometry } from 'ol/geom.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import { Circle, Fill, Stroke, Style } from 'ol/style.js';
import type { Declaration, DeclarationStatus, L93Geometry } from '../../app/api.js';
import { STATUS_COLOURS } from '../declarations/labels.js';

/**
 * Declarations on an OpenLayers map (the map page, the triage screen, a declaration's mini-map):
 * one vector layer coloured by status, highlighted ones drawn larger with a dark outline, and
 * the drawing of a new declaration's point, line or area (Lambert-93, the map's projection).
 */

const format = new GeoJSON();

function styleFor(status: DeclarationStatus, highlighted: boolean): Style {
  const colour = STATUS_COLOURS[status];
  const stroke = new Stroke({ color: highlighted ? '#111111' : colour, width: highlighted ? 4 : 2.5 });
  return new Style({
    image: new Circle({ radius: highlighted ? 10 : 7, fill: new Fill({ color: colour }), stroke: new Stroke({ color: highlighted ? '#111111' : '#ffffff', width: highlighted ? 3 : 2 }) }),
    fill: new Fill({ color: `${colour}44` }),
    stroke,
    zIndex: highlighted ? 2 : 1,
  });
}

export interface DeclarationsLayer {
  layer: VectorLayer<VectorSource>;
  /** Replaces the features shown. */
  setItems(items: readonly Declaration[]): void;
  highlight(ids: readonly number[]): void;
  /** Declarations drawn under a pixel (or within a few pixels). */
  idsAt(pixel: number[]): number[];
  /** Zooms to these declarations (all when empty). */
  fit(ids?: readonly number[], maxZoom?: number): void;
  setVisible(visible: boolean): void;
}

export function addDeclarationsLayer(map: OlMap): DeclarationsLayer {
  const source = new VectorSource();
  let highlighted = new Set<number>();
  const cache = new Map<string, Style>();
  const style = (f: FeatureLike) => {
    const status = f.get('status') as DeclarationStatus;
    const on = highlighted.has(Number(f.getId()));
    const key = `${status}|${on}`;
    let s = cache.get(key);
    if (!s) cache.set(key, (s = styleFor(status, on)));
    return s;
  };
  const layer = new VectorLayer({ source, style, zIndex: 10 });
  map.addLayer(layer);
  return {
    layer,
    setItems(items) {
      source.clear();
      source.addFeatures(
        items.map((d) => {
          const f = new Feature<OlGeometry>({ geometry: format.readGeometry(d.geometryLambert93) as OlGeometry, status: d.status, title: d.title });
          f.setId(d.id);
          return f;
        }),
      );
    },
    highlight(ids) {
      highlighted = new Set(ids);
      layer.changed();
    },
    idsAt(pixel) {
      const ids = new Set<number>();
      map.forEachFeatureAtPixel(pixel, (f) => void ids.add(Number(f.getId())), { layerFilter: (l) => l === layer, hitTolerance: 5 });
      return [...ids];
    },
    fit(ids = [], maxZoom = 19) {
      const features = ids.length ? ids.map((id) => source.getFeatureById(id)).filter((f): f is Feature<OlGeometry> => !!f) : source.getFeatures();
      if (!features.length) return;
      const extent = features.reduce((e, f) => {
        const g = f.getGeometry()?.getExtent();
        return g ? [Math.min(e[0]!, g[0]!), Math.min(e[1]!, g[1]!), Math.max(e[2]!, g[2]!), Math.max(e[3]!, g[3]!)] : e;
      }, [Infinity, Infinity, -Infinity, -Infinity]);
      map.getView().fit(extent, { maxZoom, padding: [40, 40, 40, 40], duration: 0 });
    },
    setVisible(visible) {
      layer.setVisible(visible);
    },
  };
}

export type Shape = 'Point' | 'LineString' | 'Polygon';

export interface Drawing {
  /** Resolves with the geometry drawn (Lambert-93), once. */
  done: Promise<L93Geometry>;
  /** Stops drawing and removes the sketch. */
  cancel(): void;
}

/** Lets the user draw one point, line or area; the sketch stays shown until `cancel()`. */
export function drawOnce(map: OlMap, shape: Shape): Drawing {
  const source = new VectorSource();
  const sketch = new VectorLayer({
    source,
    zIndex: 20,
    style: new Style({ image: new Circle({ radius: 8, fill: new Fill({ color: '#ffd400' }), stroke: new Stroke({ color: '#111111', width: 2 }) }), stroke: new Stroke({ color: '#111111', width: 3, lineDash: [8, 6] }), fill: new Fill({ color: '#ffd40055' }) }),
  });
  map.addLayer(sketch);
  const draw = new Draw({ source, type: shape });
  map.addInteraction(draw);
  let resolve: (g: L93Geometry) => void = () => undefined;
  const done = new Promise<L93Geometry>((r) => (resolve = r));
  draw.on('drawend', (e) => {
    map.removeInteraction(draw);
    const g = format.writeGeometryObject(e.feature.getGeometry() as OlGeometry, { decimals: 2 }) as unknown as L93Geometry;
    resolve(g);
  });
  return {
    done,
    cancel() {
      map.removeInteraction(draw);
      map.removeLayer(sketch);
    },
  };
}
