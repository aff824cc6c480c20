/**
 * Synthetic orthophoto imagery for tests: realistic 5 cm dalles (streets, roofs, trees, texture,
 * exact georeferencing) generated on the fly, and deliberately bad dalles for ingest tests.
 * Re-exports `src/demo`, plus a one-call helper for "give me a valid dalle".
 */
import type { Bbox } from '../demo/geometry.js';
import { generateDelivery, type DalleSize, type DeliveryDalle } from '../demo/delivery.js';
import type { DalleFormat } from '../demo/render-dalle.js';

export { DEMO_DELIVERY, dalleName, dallesCovering, generateDelivery, generateDemoDelivery } from '../demo/delivery.js';
export type { DalleSize, DeliveryDalle, DeliveryOptions, DeliveryProgress } from '../demo/delivery.js';
export {
  BAD_DALLE_BUILDERS,
  BAD_DALLE_KINDS,
  MISALIGNMENT_METRES,
  RGBA_TRANSPARENT_CORNER,
  makeAllBadDalles,
  makeBadDalle,
} from '../demo/bad-dalles.js';
export type { BadDalle, BadDalleKind, BadDalleOptions } from '../demo/bad-dalles.js';
export { PIXEL_SIZE, renderDalle, renderRgb } from '../demo/render-dalle.js';
export type { DalleFormat, RenderDalleOptions, RenderedDalle } from '../demo/render-dalle.js';
export { CAHORS_CENTRE, SyntheticScene, getScene } from '../demo/synthetic-scene.js';
export type { Bbox } from '../demo/geometry.js';

export interface ValidDalleOptions {
  /** Upper-left corner, EPSG:2154 (default 575 000, 6 374 000: Cahors). */
  xmin?: number;
  ymax?: number;
  /** Default 200. */
  size?: DalleSize;
  seed?: number;
  dep?: string;
  year?: number;
  format?: DalleFormat;
  overviews?: boolean;
}

/**
 * One valid dalle under its IGN name in `dir` (kept if it already exists). A 200 m dalle takes
 * about a second; a 1 km dalle about 20 s on two cores.
 */
export async function validDalle(dir: string, o: ValidDalleOptions = {}): Promise<DeliveryDalle> {
  const size = o.size ?? 200;
  const xmin = o.xmin ?? 575_000;
  const ymax = o.ymax ?? 6_374_000;
  const bbox: Bbox = [xmin, ymax - size, xmin + size, ymax];
  const [d] = await generateDelivery({ outDir: dir, bbox, dalleSize: size, seed: o.seed ?? 46, dep: o.dep ?? '46', year: o.year ?? 2025, format: o.format ?? 'tif', overviews: o.overviews ?? false });
  return d!;
}
