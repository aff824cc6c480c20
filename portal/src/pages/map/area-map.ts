import type { Geometry } from '../../app/api.js';
import { drawOnce, type Drawing } from './declarations-layer.js';
import { createMap, type PcrsMap } from './ol-map.js';

/**
 * The map of a screen that asks for an area (an extract's, a campaign's; loaded with OpenLayers when the screen shows it): the portal's
 * map, the chosen area outlined on it (a commune's, an EPCI's, an uploaded file's), and the drawing
 * of a polygon. Geometries are Lambert-93, the map's projection.
 */
export interface AreaMap {
  map: PcrsMap;
  /** Shows this area (null: none) and zooms to it. */
  show(geometry: Geometry | null): void;
  /** Lets the user draw a polygon; resolves with it (Lambert-93). The previous area is cleared. */
  draw(): Drawing;
  dispose(): void;
}

export async function createAreaMap(target: HTMLElement, view: string | null): Promise<AreaMap> {
  const map = await createMap(target, { view });
  let drawing: Drawing | null = null;
  const stopDrawing = () => {
    drawing?.cancel();
    drawing = null;
  };
  return {
    map,
    show(geometry) {
      stopDrawing();
      map.outline(geometry);
    },
    draw() {
      stopDrawing();
      map.outline(null);
      drawing = drawOnce(map.map, 'Polygon');
      return drawing;
    },
    dispose() {
      map.map.setTarget(undefined);
    },
  };
}
