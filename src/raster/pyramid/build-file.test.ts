import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTiledTiffFile } from '../tiff/tiled-tiff-reader.js';
import { TiledTiffWriter } from '../tiff/tiled-tiff-writer.js';
import { psnr } from '../../test-support/gdal.js';
import { validDalle } from '../../test-support/imagery.js';
import { buildDetailFile, type BuildStats, type ReuseOptions } from './build-file.js';
import { bboxToPixels, familyLevels, fileBbox, fileSizePx, filesForBbox, TILE, type PyramidFileRef } from './layout.js';
import type { PyramidSource } from './raster-source.js';
import { decodeTile } from './tiles.js';

async function buildToFile(file: string, ref: PyramidFileRef, sources: PyramidSource[], reuse?: ReuseOptions): Promise<BuildStats> {
  const [xmin, , , ymax] = fileBbox(ref);
  const size = fileSizePx('detail');
  const writer = await TiledTiffWriter.create(file, {
    levels: familyLevels('detail').map((_, i) => ({ width: size / 2 ** i, height: size / 2 ** i })),
    tileSize: TILE,
    georef: { epsg: 2154, originX: xmin, originY: ymax, pixelSize: 0.05 },
    photometric: 'ycbcr',
    withMask: true,
  });
  const stats = await buildDetailFile(ref, sources, writer, { quality: 85, concurrency: 2 }, reuse);
  await writer.finish();
  return stats;
}

describe('incremental rebuild of a detail file', () => {
  let dir: string;
  const sources: PyramidSource[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pcrs-incr-'));
    // Three 200 m dalles in a row inside one level-15 file (x 575 078.4 – 576 716.8).
    for (const [i, xmin] of [575_200, 575_400, 576_000].entries()) {
      const d = await validDalle(dir, { xmin, ymax: 6_373_600 });
      sources.push({ path: d.file, rect: bboxToPixels(d.bbox), hasAlpha: false, priority: i, label: d.name });
    }
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('re-renders only the blocks near the new dalle and gives the same tiles as a full build', async () => {
    const [ref] = filesForBbox('detail', [576_000, 6_373_400, 576_200, 6_373_600]);
    if (!ref) throw new Error('no file');
    const before = path.join(dir, 'before.tif');
    const full = path.join(dir, 'full.tif');
    const incremental = path.join(dir, 'incremental.tif');
    await buildToFile(before, ref, sources.slice(0, 2));
    const fullStats = await buildToFile(full, ref, sources);
    const previous = await openTiledTiffFile(before);
    const incStats = await buildToFile(incremental, ref, sources, { previous, dirty: [sources[2]!.rect] });
    await previous.close();
    expect(incStats.blocksCopied).toBeGreaterThan(0);
    expect(incStats.blocksRendered).toBeLessThan(fullStats.blocksRendered as number);
    expect(incStats.tiles).toBe(fullStats.tiles);

    const a = await openTiledTiffFile(full);
    const b = await openTiledTiffFile(incremental);
    try {
      for (let ifd = 0; ifd < a.levels.length; ifd++) {
        const level = a.levels[ifd]!;
        for (let row = 0; row < level.tilesDown; row++) {
          for (let col = 0; col < level.tilesAcross; col++) {
            const ra = a.tileRange(ifd, col, row);
            const rb = b.tileRange(ifd, col, row);
            expect(rb === null, `tile ${ifd}/${col}/${row} present in one file only`).toBe(ra === null);
            if (!ra || !rb) continue;
            const ja = Buffer.from(await a.source.read(ra.offset, ra.length));
            const jb = Buffer.from(await b.source.read(rb.offset, rb.length));
            if (ifd <= 4) {
              // Levels 22–18: copied or rendered from the same pixels — identical bytes.
              expect(jb.equals(ja), `tile ${ifd}/${col}/${row}`).toBe(true);
            } else {
              // Levels 17–15 come from decoded level-18 tiles (one more JPEG generation): within JPEG tolerance.
              const pa = await decodeTile(ja, 'full');
              const pb = await decodeTile(jb, 'full');
              const png = (d: Buffer) => import('sharp').then((m) => m.default(d, { raw: { width: 256, height: 256, channels: 4 } }).png().toBuffer());
              expect(await psnr(await png(pa.data), await png(pb.data))).toBeGreaterThanOrEqual(35);
            }
          }
        }
      }
    } finally {
      await a.close();
      await b.close();
    }
  }, 300_000);
});
