import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import nodePath from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execTool } from '../../util/exec.js';
import type { TiffSource } from './tiled-tiff-reader.js';
import { expandMask, openTiledTiff, openTiledTiffFile } from './tiled-tiff-reader.js';
import type { TiledTiffResult } from './tiled-tiff-writer.js';
import { TiledTiffWriter } from './tiled-tiff-writer.js';

const T = 256;

/** A source over an in-memory buffer that never says its size (like a stream of range GETs). */
function memorySource(bytes: Buffer, withSize: boolean): TiffSource {
  return {
    size: withSize ? bytes.length : undefined,
    read: (offset, length) => Promise.resolve(bytes.subarray(offset, Math.min(bytes.length, offset + length))),
  };
}

describe('openTiledTiff', () => {
  let dir: string;
  let file: TiledTiffResult;
  let diagonal: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(nodePath.join(tmpdir(), 'tiled-tiff-reader-'));
    const raw = Buffer.alloc(T * T * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i >> 6) % 200;
    const jpeg = await sharp(raw, { raw: { width: T, height: T, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
    diagonal = Buffer.alloc(T * T);
    for (let y = 0; y < T; y++) for (let x = 0; x < T; x++) diagonal[y * T + x] = x < y ? 255 : 0;
    const w = await TiledTiffWriter.create(nodePath.join(dir, 'f.tif'), {
      levels: [
        { width: 512, height: 512 },
        { width: 256, height: 256 },
      ],
      tileSize: T,
      georef: { epsg: 2154, originX: 640_000, originY: 6_860_006.4, pixelSize: 0.1 },
      photometric: 'ycbcr',
      withMask: true,
    });
    await w.addTile(0, 0, 0, jpeg, 'full');
    await w.addTile(0, 1, 1, jpeg, diagonal);
    await w.addTile(1, 0, 0, jpeg);
    file = await w.finish();
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('parses levels, georef, ranges and masks, with or without a known size', async () => {
    const bytes = readFileSync(file.path);
    for (const withSize of [true, false]) {
      for (const prefixBytes of [1 << 20, 64]) {
        const tiff = await openTiledTiff(memorySource(bytes, withSize), { prefixBytes });
        expect(tiff.georef).toEqual({ epsg: 2154, originX: 640_000, originY: 6_860_006.4, pixelSize: 0.1 });
        expect(tiff.levels.map((l) => [l.width, l.height, l.tileWidth, l.tilesAcross, l.tilesDown, l.compression, l.photometric])).toEqual([
          [512, 512, T, 2, 2, 7, 6],
          [256, 256, T, 1, 1, 7, 6],
        ]);
        expect(tiff.tileRange(0, 0, 0)).toEqual({ offset: file.index.levels[0]?.tileOffsets[0], length: file.index.levels[0]?.tileByteCounts[0] });
        expect(tiff.tileRange(0, 1, 0)).toBeNull();
        expect(tiff.tileRange(0, 2, 0)).toBeNull();
        expect(tiff.tileRange(5, 0, 0)).toBeNull();
        expect([tiff.maskState(0, 0, 0), tiff.maskState(0, 1, 0), tiff.maskState(0, 1, 1), tiff.maskState(1, 0, 0)]).toEqual(['full', 'empty', 'partial', 'full']);
        expect(await tiff.readMask(0, 0, 0)).toBe('full');
        expect(await tiff.readMask(0, 0, 1)).toBeNull();
        const m = await tiff.readMask(0, 1, 1);
        expect(Buffer.isBuffer(m) && m.equals(diagonal)).toBe(true);
      }
    }
  });

  it('throws a clear error on a truncated file (header or tile data), wherever the size comes from', async () => {
    const bytes = readFileSync(file.path);
    const cuts = [4, 100, file.index.levels[0]?.tileOffsets[0] ?? 0, bytes.length - 1];
    for (const cut of cuts) {
      const part = bytes.subarray(0, cut);
      for (const withSize of [true, false]) {
        await expect(openTiledTiff(memorySource(part, withSize))).rejects.toMatchObject({ code: 'tiff-truncated', message: /Truncated TIFF/ });
      }
      const path = nodePath.join(dir, `cut-${cut}.tif`);
      copyFileSync(file.path, path);
      truncateSync(path, cut);
      await expect(openTiledTiffFile(path)).rejects.toMatchObject({ code: 'tiff-truncated' });
    }
  });

  it('rejects what is not a tiled TIFF', async () => {
    await expect(openTiledTiff(memorySource(Buffer.from('GIF89a…………'), true))).rejects.toMatchObject({ code: 'not-a-tiff' });
    const png = nodePath.join(dir, 'x.png');
    const stripped = nodePath.join(dir, 'stripped.tif');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toFile(png);
    await execTool('gdal_translate', ['-q', png, stripped], { check: true });
    await expect(openTiledTiffFile(stripped)).rejects.toMatchObject({ code: 'tiff-not-tiled' });
    await expect(openTiledTiffFile(nodePath.join(dir, 'nope.tif'))).rejects.toMatchObject({ code: 'file-not-found' });
    writeFileSync(nodePath.join(dir, 'empty.tif'), '');
    await expect(openTiledTiffFile(nodePath.join(dir, 'empty.tif'))).rejects.toMatchObject({ code: 'not-a-tiff' });
  });

  it('reads GDAL-written big-endian classic and BigTIFF tiled files with 1-bit masks', async () => {
    for (const co of [
      ['-co', 'ENDIANNESS=BIG'],
      ['-co', 'BIGTIFF=YES'],
      ['-co', 'BIGTIFF=YES', '-co', 'ENDIANNESS=BIG'],
    ]) {
      const out = nodePath.join(dir, 'gdal.tif');
      rmSync(out, { force: true });
      const env = { ...process.env, GDAL_TIFF_INTERNAL_MASK: 'YES' };
      await execTool('gdal_translate', ['-q', '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', ...co, file.path, out], { check: true, env });
      const tiff = await openTiledTiffFile(out);
      try {
        expect(tiff.littleEndian).toBe(!co.includes('ENDIANNESS=BIG'));
        expect(tiff.bigTiff).toBe(co.includes('BIGTIFF=YES'));
        expect(tiff.georef).toEqual({ epsg: 2154, originX: 640_000, originY: 6_860_006.4, pixelSize: 0.1 });
        expect(tiff.levels).toHaveLength(1);
        expect(tiff.levels[0]?.maskBitsPerSample).toBe(1);
        const m = await tiff.readMask(0, 1, 1);
        expect(Buffer.isBuffer(m) && m.equals(diagonal)).toBe(true);
        const full = await tiff.readMask(0, 0, 0);
        expect(full === 'full' || (Buffer.isBuffer(full) && full.every((v) => v === 255))).toBe(true);
        expect(tiff.tileRange(0, 0, 0)).not.toBeNull();
      } finally {
        await tiff.close();
      }
    }
  });

  it('expands 1-bit rows of any width', () => {
    expect([...expandMask(Uint8Array.from([0b10100000, 0b01000000]), 3, 2)]).toEqual([255, 0, 255, 0, 255, 0]);
    expect([...expandMask(Uint8Array.from([0x81]), 8, 1)]).toEqual([255, 0, 0, 0, 0, 0, 0, 255]);
    expect([...expandMask(Uint8Array.from([0, 7, 255]), 3, 1, 8)]).toEqual([0, 255, 255]);
  });
});
