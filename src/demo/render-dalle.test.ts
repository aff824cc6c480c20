import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../util/errors.js';
import { epsgOf, gdalDrivers, gdalInfo } from './gdal.js';
import { renderDalle, renderRgb, type RenderedDalle } from './render-dalle.js';
import { SyntheticScene, getScene, type Bbox } from './synthetic-scene.js';
import { meanAbsDiff, readWindow } from '../test-support/pixels.js';

let dir: string;
let west: RenderedDalle;
let east: RenderedDalle;
const scene = getScene({ seed: 46 });
// Two adjacent 200 m dalles of central Cahors (streets and buildings cross their common edge).
const WEST: Bbox = [574_600, 6_373_600, 574_800, 6_373_800];
const EAST: Bbox = [574_800, 6_373_600, 575_000, 6_373_800];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcrs-render-'));
  [west, east] = await Promise.all([
    renderDalle({ scene, bbox: WEST, outFile: join(dir, 'west.tif'), concurrency: 1 }),
    renderDalle({ scene, bbox: EAST, outFile: join(dir, 'east.tif'), concurrency: 1 }),
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('renderDalle', () => {
  it('writes a producer-style GeoTIFF: 4000², EPSG:2154, exact geotransform, RGB bytes, tiled JPEG/YCbCr', async () => {
    const info = await gdalInfo(west.file);
    expect(info.driverShortName).toBe('GTiff');
    expect(info.size).toEqual([4000, 4000]);
    expect(epsgOf(info)).toBe(2154);
    expect(info.geoTransform).toEqual([574_600, 0.05, 0, 6_373_800, 0, -0.05]);
    expect(info.bands.map((b) => [b.type, b.colorInterpretation])).toEqual([
      ['Byte', 'Red'],
      ['Byte', 'Green'],
      ['Byte', 'Blue'],
    ]);
    expect(info.bands[0]!.block).toEqual([256, 256]);
    expect(info.metadata?.IMAGE_STRUCTURE?.COMPRESSION).toBe('YCbCr JPEG');
    expect(west.width).toBe(4000);
    // JPEG of a textured image: a few MB, neither flat nor incompressible.
    expect(west.bytes).toBeGreaterThan(1_000_000);
    expect(west.bytes).toBeLessThan(12_000_000);
    // Only the final files remain (no temporaries).
    expect((await readdir(dir)).sort()).toEqual(['east.tif', 'west.tif']);
  });

  it('joins adjacent dalles seamlessly: the seam differs no more than neighbouring columns inside a dalle', async () => {
    const h = 4000;
    const a = await readWindow(west.file, 3996, 0, 4, h);
    const b = await readWindow(east.file, 0, 0, 4, h);
    const col = (img: { data: Buffer; channels: number }, c: number): Buffer => {
      const out = Buffer.alloc(h * 3);
      for (let r = 0; r < h; r++) img.data.copy(out, r * 3, (r * 4 + c) * img.channels, (r * 4 + c) * img.channels + 3);
      return out;
    };
    const seam = meanAbsDiff(col(a, 3), col(b, 0));
    const inside = [meanAbsDiff(col(a, 2), col(a, 3)), meanAbsDiff(col(b, 0), col(b, 1)), meanAbsDiff(col(a, 1), col(a, 2)), meanAbsDiff(col(b, 1), col(b, 2))];
    const typical = inside.reduce((s, v) => s + v, 0) / inside.length;
    expect(typical).toBeGreaterThan(1); // textured, not flat
    expect(seam).toBeLessThan(typical * 1.5);
  });

  it('is deterministic and block-independent: one piece or two pieces, same pixels', async () => {
    const x = 574_780;
    const y = 6_373_820;
    const whole = await renderRgb(new SyntheticScene({ seed: 46 }), [x, y - 20, x + 40, y]);
    const again = await renderRgb(new SyntheticScene({ seed: 46 }), [x, y - 20, x + 40, y]);
    expect(whole.data.equals(again.data)).toBe(true);
    const left = await renderRgb(new SyntheticScene({ seed: 46 }), [x, y - 20, x + 20, y]);
    const right = await renderRgb(new SyntheticScene({ seed: 46 }), [x + 20, y - 20, x + 40, y]);
    const halves = Buffer.alloc(whole.data.length);
    for (let r = 0; r < 400; r++) {
      left.data.copy(halves, r * 800 * 3, r * 400 * 3, (r + 1) * 400 * 3);
      right.data.copy(halves, (r * 800 + 400) * 3, r * 400 * 3, (r + 1) * 400 * 3);
    }
    // Only sub-pixel rounding of the SVG coordinates may differ.
    expect(meanAbsDiff(whole.data, halves)).toBeLessThan(0.05);
    const other = await renderRgb(new SyntheticScene({ seed: 47 }), [x, y - 20, x + 40, y]);
    expect(meanAbsDiff(whole.data, other.data)).toBeGreaterThan(5);
  });

  it('writes internal JPEG overviews on request', async () => {
    const file = join(dir, 'ovr.tif');
    try {
      await renderDalle({ scene, bbox: [574_700, 6_373_670, 574_730, 6_373_700], outFile: file, overviews: true });
      const info = await gdalInfo(file);
      expect(info.size).toEqual([600, 600]);
      expect(info.bands[0]!.overviews?.length).toBe(1);
      expect(info.metadata?.IMAGE_STRUCTURE?.COMPRESSION).toBe('YCbCr JPEG');
    } finally {
      await rm(file, { force: true });
    }
  });

  it('writes JPEG 2000 when GDAL has JP2OpenJPEG', async () => {
    if (!(await gdalDrivers()).has('JP2OpenJPEG')) return;
    const file = join(dir, 'small.jp2');
    try {
      await renderDalle({ scene, bbox: [574_700, 6_373_680, 574_720, 6_373_700], outFile: file, format: 'jp2' });
      const info = await gdalInfo(file);
      expect(info.driverShortName).toBe('JP2OpenJPEG');
      expect(epsgOf(info)).toBe(2154);
      expect(info.geoTransform).toEqual([574_700, 0.05, 0, 6_373_700, 0, -0.05]);
      expect(info.bands.map((b) => b.colorInterpretation)).toEqual(['Red', 'Green', 'Blue']);
    } finally {
      await rm(file, { force: true });
    }
  });

  it('refuses a bbox off the 5 cm lattice with a UserError', async () => {
    await expect(renderDalle({ scene, bbox: [574_700.01, 6_373_680, 574_720, 6_373_700], outFile: join(dir, 'bad.tif') })).rejects.toBeInstanceOf(UserError);
  });

  it('leaves neither a final nor a temporary file when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(renderDalle({ scene, bbox: [574_700, 6_373_680, 574_720, 6_373_700], outFile: join(dir, 'aborted.tif'), signal: ac.signal })).rejects.toThrow();
    const names = await readdir(dir);
    expect(names).not.toContain('aborted.tif');
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
