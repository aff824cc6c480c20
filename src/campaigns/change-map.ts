import sharp from 'sharp';
import { transformBbox } from '../grid/crs.js';
import { tileBbox, TMS_WEB_MERCATOR_QUAD } from '../grid/tile-matrix-set.js';
import type { CampaignStore } from './store.js';

/** Change map tiles exist from this zoom (≈ 150 m per tile at 20: a 200 m dalle is ≥ 1 px from 11). */
export const CHANGE_MAP_MIN_ZOOM = 8;
export const CHANGE_MAP_MAX_ZOOM = 20;

/**
 * A WebMercatorQuad PNG tile of a campaign's change map: each accepted dalle painted by its change
 * score — transparent below the threshold, then yellow to red (half the dalle changed or more) —
 * so a GIS or the portal shows where the campaign changed the orthophoto.
 */
export async function changeMapTile(store: CampaignStore, campaignId: number, z: number, x: number, y: number, threshold: number): Promise<Buffer> {
  const size = 256;
  const rgba = Buffer.alloc(size * size * 4);
  const [mxmin, mymin, mxmax, mymax] = tileBbox(TMS_WEB_MERCATOR_QUAD, z, x, y);
  const l93 = transformBbox('EPSG:3857', 'EPSG:2154', [mxmin, mymin, mxmax, mymax]);
  for (const d of await store.scoredDallesIn(campaignId, l93)) {
    if (d.score < threshold) continue;
    // Dalles are small: their Web Mercator outline is their corners' box (sub-pixel off at most).
    const [a, b, c, e] = transformBbox('EPSG:2154', 'EPSG:3857', [d.xmin, d.ymin, d.xmax, d.ymax]);
    const px = (v: number) => Math.round(((v - mxmin) / (mxmax - mxmin)) * size);
    const py = (v: number) => Math.round(((mymax - v) / (mymax - mymin)) * size);
    const [x0, x1, y0, y1] = [Math.max(0, px(a)), Math.min(size, px(c)), Math.max(0, py(e)), Math.min(size, py(b))];
    const t = Math.min(1, d.score / 0.5);
    const colour = [255, Math.round(220 * (1 - t)), 0, 170];
    for (let j = y0; j < y1; j++) for (let i = x0; i < x1; i++) rgba.set(colour, (j * size + i) * 4);
  }
  return sharp(rgba, { raw: { width: size, height: size, channels: 4 } }).png({ compressionLevel: 6 }).toBuffer();
}
