import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { transformPoint } from '../../grid/crs.js';
import { TMS_WEB_MERCATOR_QUAD, tileAt, tileBbox } from '../../grid/tile-matrix-set.js';
import { affineJob, mosaicRgb, planRender, renderPlan, resampleAffineRgb } from './render.js';

/** A textured, fully covered RGB tile that depends on the level pixel position (1 px shifts show). */
function texture(col: number, row: number): Buffer {
  const t = Buffer.alloc(256 * 256 * 3);
  for (let y = 0; y < 256; y++) {
    for (let x = 0; x < 256; x++) {
      const gx = col * 256 + x;
      const gy = row * 256 + y;
      const o = (y * 256 + x) * 3;
      t[o] = Math.round(128 + 100 * Math.sin(gx * 0.31) * Math.cos(gy * 0.17));
      t[o + 1] = Math.round(128 + 100 * Math.sin(gy * 0.29 + 1));
      t[o + 2] = (gx * 3 + gy * 5) & 255;
    }
  }
  return t;
}

function psnrRgb(a: Buffer, b: Buffer): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += ((a[i] as number) - (b[i] as number)) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

describe('affine rendering of WebMercatorQuad tiles (JS and libvips resamplers)', () => {
  for (const z of [21, 20, 19, 17]) {
    it(`matches the per-pixel renderer at z${z}`, async () => {
      const c = transformPoint('EPSG:2154', 'EPSG:3857', [575_123, 6_373_321]);
      const t = tileAt(TMS_WEB_MERCATOR_QUAD, z, c[0], c[1])!;
      const [xmin, , , ymax] = tileBbox(TMS_WEB_MERCATOR_QUAD, z, t.col, t.row);
      const cell = TMS_WEB_MERCATOR_QUAD.tileMatrices[z]!.cellSize;
      const plan = planRender(256, 256, (px, py) => transformPoint('EPSG:3857', 'EPSG:2154', [xmin + px * cell, ymax - py * cell]), 'finer')!;
      const job = affineJob(plan);
      expect(job).not.toBeNull();
      const rgb = plan.tiles.map((tt) => texture(tt.col, tt.row));
      const rgba = rgb.map((b) => {
        const o = Buffer.alloc(256 * 256 * 4);
        for (let i = 0; i < 256 * 256; i++) o.set([b[i * 3] as number, b[i * 3 + 1] as number, b[i * 3 + 2] as number, 255], i * 4);
        return o;
      });
      const ref = renderPlan(plan, rgba);
      expect(ref.covered).toBe(256 * 256);
      const mosaic = mosaicRgb(plan, job!.crop, rgb);
      const { data, info } = await sharp(mosaic, { raw: { width: job!.crop.width, height: job!.crop.height, channels: 3 } })
        .affine(job!.matrix, { idx: job!.idx, idy: job!.idy, odx: job!.odx, ody: job!.ody, interpolator: 'bilinear' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      const out = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).extract(job!.extract).raw().toBuffer();
      const refRgb = Buffer.alloc(256 * 256 * 3);
      for (let i = 0; i < 256 * 256; i++) ref.rgba.copy(refRgb, i * 3, i * 4, i * 4 + 3);
      // The two resamplers agree to ~65–72 dB; a half-pixel slip in the geometry would fall under 30.
      expect(psnrRgb(out, refRgb)).toBeGreaterThan(50);
      // The JS affine resampler (the one served) on the same mosaic.
      expect(psnrRgb(resampleAffineRgb(job!, mosaic, 256, 256), refRgb)).toBeGreaterThan(50);
    });
  }

  it('uses the coarse (3 × 3 nodes) plan only where it is affine, and renders it like the fine one', () => {
    const planAt = (z: number, step?: number) => {
      const c = transformPoint('EPSG:2154', 'EPSG:3857', [575_123, 6_373_321]);
      const t = tileAt(TMS_WEB_MERCATOR_QUAD, z, c[0], c[1])!;
      const [xmin, , , ymax] = tileBbox(TMS_WEB_MERCATOR_QUAD, z, t.col, t.row);
      const cell = TMS_WEB_MERCATOR_QUAD.tileMatrices[z]!.cellSize;
      return planRender(256, 256, (px, py) => transformPoint('EPSG:3857', 'EPSG:2154', [xmin + px * cell, ymax - py * cell]), 'finer', step)!;
    };
    expect(affineJob(planAt(8, 128))).toBeNull();
    const fine = planAt(19);
    const coarse = planAt(19, 128);
    expect(affineJob(coarse)).not.toBeNull();
    expect([coarse.level, coarse.minCol, coarse.minRow, coarse.ncols, coarse.nrows]).toEqual([fine.level, fine.minCol, fine.minRow, fine.ncols, fine.nrows]);
    const rgba = fine.tiles.map((tt) => {
      const b = texture(tt.col, tt.row);
      const o = Buffer.alloc(256 * 256 * 4);
      for (let i = 0; i < 256 * 256; i++) o.set([b[i * 3] as number, b[i * 3 + 1] as number, b[i * 3 + 2] as number, i % 256 < 200 ? 255 : 0], i * 4);
      return o;
    });
    const a = renderPlan(fine, rgba);
    const b = renderPlan(coarse, rgba);
    expect(b.covered).toBe(a.covered);
    expect(psnrRgb(a.rgba, b.rgba)).toBeGreaterThan(50);
  });

  it('declines a plan with undefined nodes', () => {
    const plan = planRender(256, 256, (px, py) => (px > 200 ? null : [575_000 + px * 0.05, 6_373_000 - py * 0.05]), 'finer')!;
    expect(affineJob(plan)).toBeNull();
  });
});
