import Feature from 'ol/Feature.js';
import GeoJSON from 'ol/format/GeoJSON.js';
import type { Geometry as OlGeometry } from 'ol/geom.js';
import ImageLayer from 'ol/layer/Image.js';
import VectorLayer from 'ol/layer/Vector.js';
import type RenderEvent from 'ol/render/Event.js';
import { getRenderPixel } from 'ol/render.js';
import ImageStatic from 'ol/source/ImageStatic.js';
import VectorSource from 'ol/source/Vector.js';
import { Circle, Fill, Stroke, Style } from 'ol/style.js';
import { createEmpty, extend as extendExtent, type Extent } from 'ol/extent.js';
import type { ContributionReview } from '../../app/api.js';
import { createMap, type PcrsMap } from '../map/ol-map.js';

/**
 * The moderators' map of a contribution (loaded with OpenLayers when the review shows it): the
 * portal's map of the current PCRS, and over it — vector: the objects added (green), removed (red,
 * dashed), changed (orange, their former geometry grey dashed); dalles: each one's preview, cut by a
 * vertical swipe bar (left: the contribution, right: the current layer). Lambert-93 throughout.
 */
export interface ReviewMap {
  map: PcrsMap;
  /** Moves the swipe bar: 0–100 % of the map's width shows the contribution. */
  swipe(percent: number): void;
  /** Zooms to one object of the comparison. */
  focus(geometry: unknown): void;
  dispose(): void;
}

const stroke = (color: string, width: number, dash?: number[]) => new Stroke({ color, width, ...(dash ? { lineDash: dash } : {}) });
const styleOf = (color: string, dash?: number[]) =>
  new Style({ stroke: stroke(color, 3, dash), fill: new Fill({ color: `${color}33` }), image: new Circle({ radius: 6, fill: new Fill({ color }), stroke: stroke('#ffffff', 1.5) }) });
const STYLES = { added: styleOf('#1a9641'), removed: styleOf('#d7191c', [6, 4]), changed: styleOf('#e66101'), before: styleOf('#6b6b6b', [4, 4]) } as const;

export async function createReviewMap(target: HTMLElement, review: ContributionReview): Promise<ReviewMap> {
  const map = await createMap(target);
  const olMap = map.map;
  const geojson = new GeoJSON();
  const read = (g: unknown) => geojson.readGeometry(g) as OlGeometry;
  let percent = 50;
  const overlays: ImageLayer<ImageStatic>[] = [];
  const extent = createEmpty();
  const extend = (into: Extent, other: readonly number[] | undefined) => other && extendExtent(into, other as Extent);
  if (review.kind === 'vector') {
    const source = new VectorSource();
    const add = (g: unknown, kind: keyof typeof STYLES) => {
      if (!g) return;
      const f = new Feature({ geometry: read(g) });
      f.setStyle(STYLES[kind]);
      source.addFeature(f);
      extend(extent, f.getGeometry()?.getExtent());
    };
    for (const o of review.changed) add(o.before, 'before');
    for (const o of review.removed) add(o.geometry, 'removed');
    for (const o of review.changed) add(o.geometry, 'changed');
    for (const o of review.added) add(o.geometry, 'added');
    if (review.area) extend(extent, read(review.area).getExtent());
    olMap.addLayer(new VectorLayer({ source, zIndex: 20 }));
  } else if (review.kind === 'raster') {
    for (const d of review.dalles) {
      if (!d.preview || !d.bbox2154) continue;
      const box = d.bbox2154 as [number, number, number, number];
      const layer = new ImageLayer({ source: new ImageStatic({ url: d.preview, imageExtent: box, projection: 'EPSG:2154' }), zIndex: 10 });
      // The swipe: the contribution's dalles only left of the bar.
      layer.on('prerender', (e: RenderEvent) => {
        const ctx = e.context as CanvasRenderingContext2D;
        const size = olMap.getSize() ?? [0, 0];
        const width = ((size[0] ?? 0) * percent) / 100;
        const tl = getRenderPixel(e, [0, 0]);
        const tr = getRenderPixel(e, [width, 0]);
        const bl = getRenderPixel(e, [0, size[1] ?? 0]);
        const br = getRenderPixel(e, [width, size[1] ?? 0]);
        ctx.save();
        ctx.beginPath();
        ctx.moveTo(tl[0] as number, tl[1] as number);
        ctx.lineTo(bl[0] as number, bl[1] as number);
        ctx.lineTo(br[0] as number, br[1] as number);
        ctx.lineTo(tr[0] as number, tr[1] as number);
        ctx.closePath();
        ctx.clip();
      });
      layer.on('postrender', (e: RenderEvent) => (e.context as CanvasRenderingContext2D).restore());
      olMap.addLayer(layer);
      overlays.push(layer);
      extend(extent, box);
    }
  }
  if (Number.isFinite(extent[0])) olMap.getView().fit(extent, { padding: [30, 30, 30, 30], maxZoom: 20 });
  return {
    map,
    swipe(p) {
      percent = Math.max(0, Math.min(100, p));
      olMap.render();
    },
    focus(g) {
      if (g) olMap.getView().fit(read(g).getExtent(), { padding: [60, 60, 60, 60], maxZoom: 21, duration: 0 });
    },
    dispose() {
      olMap.setTarget(undefined);
    },
  };
}
