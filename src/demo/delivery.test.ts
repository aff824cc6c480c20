import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../util/errors.js';
import { DEMO_DELIVERY, dalleName, dallesCovering, generateDelivery, type DeliveryProgress } from './delivery.js';
import { gdalInfo } from './gdal.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcrs-delivery-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dalleName', () => {
  it('follows the IGN pattern (km on 4 digits for 1 km dalles, hm on 5 digits for 200 m dalles)', () => {
    expect(dalleName('46', 2025, 1000, 575_000, 6_374_000)).toBe('46-2025-0575-6374-LA93-0M05-RVB.tif');
    expect(dalleName('46', 2025, 200, 575_200, 6_373_800)).toBe('46-2025-05752-63738-LA93-0M05-RVB.tif');
    expect(dalleName('46', 2025, 200, 575_200, 6_373_800, 'jp2')).toBe('46-2025-05752-63738-LA93-0M05-RVB.jp2');
    expect(() => dalleName('46', 2025, 1000, 575_200, 6_374_000)).toThrow(UserError);
  });
});

describe('dallesCovering', () => {
  it('snaps outward to the grid and lists north to south, west to east', () => {
    expect(dallesCovering([575_100, 6_373_700, 575_300, 6_373_900], 200)).toEqual([
      [575_000, 6_373_800, 575_200, 6_374_000],
      [575_200, 6_373_800, 575_400, 6_374_000],
      [575_000, 6_373_600, 575_200, 6_373_800],
      [575_200, 6_373_600, 575_400, 6_373_800],
    ]);
    expect(() => dallesCovering([0, 0, 1e6, 1e6], 200)).toThrow(UserError);
  });

  it('the demo area is a few km² of Cahors on the grid', () => {
    const cells = dallesCovering(DEMO_DELIVERY.bbox, DEMO_DELIVERY.dalleSize);
    expect(cells).toHaveLength(50);
    const [xmin, ymin, xmax, ymax] = DEMO_DELIVERY.bbox;
    expect((xmin + xmax) / 2).toBeCloseTo(574_800, -2);
    expect(Math.abs((ymin + ymax) / 2 - 6_373_800)).toBeLessThanOrEqual(200);
  });
});

describe('generateDelivery', () => {
  it('writes every dalle under its IGN name, reports progress, and is idempotent', async () => {
    const out = join(dir, 'd1');
    // A stale temporary file of a killed run (pid that does not exist) is cleaned up.
    await mkdir(out, { recursive: true });
    await writeFile(join(out, '.46-2025-05750-63740-LA93-0M05-RVB.tif.tmp-99999999-deadbeef.raw'), 'partial');

    const progress: DeliveryProgress[] = [];
    const first = await generateDelivery({
      outDir: out,
      year: 2025,
      bbox: [575_000, 6_373_800, 575_400, 6_374_000],
      dalleSize: 200,
      seed: 46,
      onProgress: (p) => progress.push(p),
    });
    expect(first.map((d) => d.name)).toEqual(['46-2025-05750-63740-LA93-0M05-RVB.tif', '46-2025-05752-63740-LA93-0M05-RVB.tif']);
    expect(first.every((d) => d.generated)).toBe(true);
    expect(progress.map((p) => [p.done, p.total, p.skipped])).toEqual([
      [1, 2, false],
      [2, 2, false],
    ]);
    expect((await readdir(out)).sort()).toEqual(first.map((d) => d.name).sort());
    const info = await gdalInfo(first[1]!.file);
    expect(info.geoTransform).toEqual([575_200, 0.05, 0, 6_374_000, 0, -0.05]);

    const mtimes = await Promise.all(first.map(async (d) => (await stat(d.file)).mtimeMs));
    const t0 = performance.now();
    const second = await generateDelivery({ outDir: out, year: 2025, bbox: [575_000, 6_373_800, 575_400, 6_374_000], dalleSize: 200, seed: 46 });
    expect(performance.now() - t0).toBeLessThan(500);
    expect(second.map((d) => d.generated)).toEqual([false, false]);
    expect(await Promise.all(first.map(async (d) => (await stat(d.file)).mtimeMs))).toEqual(mtimes);
  });

  it('refuses bad parameters with UserErrors', async () => {
    const base = { outDir: join(dir, 'd2'), year: 2025, bbox: [575_000, 6_373_800, 575_200, 6_374_000] as const, dalleSize: 200 as const, seed: 1 };
    await expect(generateDelivery({ ...base, dep: '4' })).rejects.toBeInstanceOf(UserError);
    await expect(generateDelivery({ ...base, year: 25 })).rejects.toBeInstanceOf(UserError);
    await expect(generateDelivery({ ...base, dalleSize: 500 as 200 })).rejects.toBeInstanceOf(UserError);
    await expect(generateDelivery({ ...base, bbox: [575_200, 6_373_800, 575_000, 6_374_000] })).rejects.toBeInstanceOf(UserError);
  });
});
