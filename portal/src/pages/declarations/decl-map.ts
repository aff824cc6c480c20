import type { Declaration } from '../../app/api.js';
import { addDeclarationsLayer, type DeclarationsLayer } from '../map/declarations-layer.js';
import { createMap, type PcrsMap } from '../map/ol-map.js';

/**
 * The map of the declaration page and of the triage screen: the portal's map (orthophoto, vector)
 * with the declarations layer. Loaded by those screens on demand (OpenLayers stays out of their
 * first chunk, and the map's own screen does not wait for them).
 */
export interface DeclarationsMap {
  map: PcrsMap;
  layer: DeclarationsLayer;
  /** Lambert-93 extent of the view. */
  extent(): [number, number, number, number];
  dispose(): void;
}

export async function createDeclarationsMap(target: HTMLElement, items: readonly Declaration[], options: { onSelect?: (ids: number[]) => void; onMove?: () => void } = {}): Promise<DeclarationsMap> {
  const map = await createMap(target, {});
  const layer = addDeclarationsLayer(map.map);
  layer.setItems(items);
  layer.fit([], 19);
  map.map.on('singleclick', (e) => options.onSelect?.(layer.idsAt(e.pixel)));
  map.map.on('moveend', () => options.onMove?.());
  return {
    map,
    layer,
    extent() {
      const e = map.map.getView().calculateExtent(map.map.getSize());
      return [e[0]!, e[1]!, e[2]!, e[3]!];
    },
    dispose() {
      map.map.setTarget(undefined);
    },
  };
}
