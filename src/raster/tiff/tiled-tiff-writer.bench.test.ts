import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import nodePath from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { openTiledTiffFile } from './tiled-tiff-reader.js';
import { pyramidLevels, TiledTiffWriter } from './tiled-tiff-writer.js';

/**
 * Throughput of the writer on a full-size pyramid file (level 15 of 2154_5cm: 32 768² px, 8
 * levels): 16 384 level-22 tiles of ~30 KB (one JPEG repeated), full masks. ~500 MB on disk, so
 * opt-in: PCRS_TIFF_BENCH=1 npx vitest run src/raster/tiff/tiled-tiff-writer.bench.test.ts
 */
describe.runIf(process.env.PCRS_TIFF_BENCH === '1')('TiledTiffWriter throughput', () => {
  it('writes 16 384 tiles of ~30 KB', async () => {
    const T = 256;
    const raw = Buffer.alloc(T * T * 3);
    let seed = 1;
    for (let i = 0; i < raw.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      raw[i] = 96 + ((seed >> 16) % 64) + 40 * Math.sin(i / 700);
    }
    const jpeg = await sharp(raw, { raw: { width: T, height: T, channels: 3 } }).jpeg({ quality: 89, chromaSubsampling: '4:2:0' }).toBuffer();
    const dir = mkdtempSync(nodePath.join(tmpdir(), 'tiled-tiff-bench-'));
    try {
      const t0 = performance.now();
      const w = await TiledTiffWriter.create(nodePath.join(dir, 'bench.tif'), {
        levels: pyramidLevels(32768, 32768, T),
        tileSize: T,
        georef: { epsg: 2154, originX: 575078.4, originY: 6374016, pixelSize: 0.05 },
        photometric: 'ycbcr',
        withMask: true,
      });
      const t1 = performance.now();
      for (let row = 0; row < 128; row++) for (let col = 0; col < 128; col++) await w.addTile(0, col, row, jpeg, 'full');
      const t2 = performance.now();
      const r = await w.finish();
      const t3 = performance.now();
      const mb = r.bytes / 1e6;
      const s = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
      console.log(
        `tile ${jpeg.length} B; file ${mb.toFixed(1)} MB, header ${w.headerBytes} B; create ${s(t1 - t0)}; ` +
          `addTile ×16384 ${s(t2 - t1)} (${(mb / ((t2 - t1) / 1000)).toFixed(0)} MB/s); finish ${s(t3 - t2)} ${JSON.stringify(r.timings)}; ` +
          `total ${s(t3 - t0)}`,
      );
      const h0 = performance.now();
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(r.path, { highWaterMark: 8 << 20 })) hash.update(chunk as Buffer);
      expect(hash.digest('hex')).toBe(r.sha256);
      const h1 = performance.now();
      const tiff = await openTiledTiffFile(r.path);
      const h2 = performance.now();
      console.log(`re-hash by stream ${s(h1 - h0)}; openTiledTiffFile ${s(h2 - h1)}`);
      expect(tiff.tileRange(0, 127, 127)?.length).toBe(jpeg.length);
      await tiff.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
