import GeoJSON from 'ol/format/GeoJSON.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import { Fill, Stroke, Style } from 'ol/style.js';
import type { CampaignDalles } from '../../app/api.js';
import { createMap, type PcrsMap } from '../map/ol-map.js';
import { DALLE_COLOURS } from './labels.js';

/**
 * The campaign page's map: the portal's map (orthophoto, vector) with the campaign's dalles over it,
 * coloured by state — and, once published, the changed dalles in red (the change map). Loaded by
 * the page on demand (OpenLayers stays out of its first chunk).
 */
export interface CampaignMap {
  map: PcrsMap;
  dispose(): void;
}

export async function createCampaignMap(target: HTMLElement, dalles: CampaignDalles, changeThreshold: number | null): Promise<CampaignMap> {
  const map = await createMap(target, {});
  const styles = new Map<string, Style>();
  const styleOf = (key: string, dashed = false) => {
    let s = styles.get(key);
    if (!s) {
      const colour = DALLE_COLOURS[key as keyof typeof DALLE_COLOURS] ?? '#555555';
      s = new Style({ fill: new Fill({ color: `${colour}44` }), stroke: new Stroke({ color: colour, width: 2, ...(dashed ? { lineDash: [6, 4] } : {}) }) });
      styles.set(key, s);
    }
    return s;
  };
  const source = new VectorSource({ features: new GeoJSON().readFeatures(dalles, { dataProjection: 'EPSG:2154', featureProjection: map.map.getView().getProjection() }) });
  const layer = new VectorLayer({
    source,
    style: (f) => {
      const p = f.getProperties() as CampaignDalles['features'][number]['properties'];
      if (changeThreshold !== null && typeof p.changeScore === 'number' && p.changeScore >= changeThreshold) return styleOf('changed');
      if (!p.expected) return styleOf('outside', true);
      return styleOf(p.state);
    },
    properties: { name: 'campaign-dalles' },
  });
  map.map.addLayer(layer);
  const extent = source.getExtent();
  if (extent && source.getFeatures().length > 0) map.map.getView().fit(extent, { padding: [30, 30, 30, 30], maxZoom: 19 });
  return {
    map,
    dispose() {
      map.map.setTarget(undefined);
    },
  };
}
