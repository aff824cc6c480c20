import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { execTool } from '../../util/exec.js';
import { MASK_EMPTY, MASK_FULL, MASK_PARTIAL } from './tiff-format.js';
import { openTiledTiffFile } from './tiled-tiff-reader.js';
import type { TiledTiffResult, TiledTiffSpec } from './tiled-tiff-writer.js';
import { pyramidLevels, TiledTiffWriter } from './tiled-tiff-writer.js';

const T = 256;
const SIZE = 1024;
const ORIGIN_X = 575_078.4; // 44 928 × 12.8 m
const ORIGIN_Y = 6_374_016; // 497 970 × 12.8 m
const PIXEL = 0.05;

/** One synthetic level: RGB pixels and 0/255 coverage. */
interface Raster {
  size: number;
  rgb: Uint8Array;
  cov: Uint8Array;
}

/** Smooth colour field (JPEG-friendly, but every tile different) with a diagonal coverage edge. */
function level0(): Raster {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  const cov = new Uint8Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const p = (y * SIZE + x) * 3;
      rgb[p] = 128 + 100 * Math.sin(x / 37) * Math.cos(y / 53);
      rgb[p + 1] = (x * 0.2 + y * 0.05) % 256;
      rgb[p + 2] = 60 + 0.15 * y + 30 * Math.sin((x + y) / 29);
      cov[y * SIZE + x] = x + 0.7 * y < 1300 ? 255 : 0;
    }
  }
  return { size: SIZE, rgb, cov };
}

/** 2×2 box average; covered when any child is (like a nearest/any-coverage overview mask). */
function halve(r: Raster): Raster {
  const s = r.size / 2;
  const rgb = new Uint8Array(s * s * 3);
  const cov = new Uint8Array(s * s);
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      for (let c = 0; c < 3; c++) {
        const a = (i: number, j: number): number => r.rgb[((2 * y + j) * r.size + 2 * x + i) * 3 + c] as number;
        rgb[(y * s + x) * 3 + c] = Math.round((a(0, 0) + a(1, 0) + a(0, 1) + a(1, 1)) / 4);
      }
      const k = (2 * y * r.size + 2 * x) as number;
      cov[y * s + x] = r.cov[k] || r.cov[k + 1] || r.cov[k + r.size] || r.cov[k + r.size + 1] ? 255 : 0;
    }
  }
  return { size: s, rgb, cov };
}

function cut(r: Raster, col: number, row: number): { rgb: Buffer; cov: Buffer } {
  const rgb = Buffer.alloc(T * T * 3);
  const cov = Buffer.alloc(T * T);
  for (let y = 0; y < T; y++) {
    const src = ((row * T + y) * r.size + col * T) * 3;
    rgb.set(r.rgb.subarray(src, src + T * 3), y * T * 3);
    const m = (row * T + y) * r.size + col * T;
    cov.set(r.cov.subarray(m, m + T), y * T);
  }
  return { rgb, cov };
}

const encode = (rgb: Buffer): Promise<Buffer> =>
  sharp(rgb, { raw: { width: T, height: T, channels: 3 } }).jpeg({ quality: 85, chromaSubsampling: '4:2:0' }).toBuffer();

function psnr(a: Uint8Array, b: Uint8Array, stepA: number, stepB: number, select: (i: number) => boolean): number {
  let se = 0;
  let n = 0;
  for (let i = 0; i * stepA < a.length; i++) {
    if (!select(i)) continue;
    for (let c = 0; c < 3; c++) {
      const d = (a[i * stepA + c] as number) - (b[i * stepB + c] as number);
      se += d * d;
      n++;
    }
  }
  expect(n).toBeGreaterThan(0);
  return se === 0 ? 99 : 10 * Math.log10((255 * 255 * n) / se);
}

async function gdalRgba(file: string, args: string[], dir: string): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const out = nodePath.join(dir, `out-${Math.random().toString(36).slice(2)}.png`);
  await execTool('gdal_translate', ['-q', '-of', 'PNG', ...args, '-b', '1', '-b', '2', '-b', '3', '-b', 'mask', file, out], { check: true });
  const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
  rmSync(out, { force: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

interface GdalInfo {
  size: [number, number];
  coordinateSystem: { wkt: string };
  geoTransform: number[];
  metadata: Record<string, Record<string, string>>;
  bands: Array<{ mask?: { flags: string[]; overviews?: unknown[] }; overviews?: Array<{ size: [number, number] }>; block: [number, number] }>;
}

async function gdalinfo(file: string): Promise<GdalInfo> {
  const { stdout } = await execTool('gdalinfo', ['-json', file], { check: true });
  return JSON.parse(stdout) as GdalInfo;
}

const SPEC: TiledTiffSpec = {
  levels: pyramidLevels(SIZE, SIZE, T),
  tileSize: T,
  georef: { epsg: 2154, originX: ORIGIN_X, originY: ORIGIN_Y, pixelSize: PIXEL },
  photometric: 'ycbcr',
  withMask: true,
};

/** Level 0 tile (3, 0) is fully covered but left out: it must read as missing. */
const LEFT_OUT = { level: 0, col: 3, row: 0 };

describe('TiledTiffWriter + GDAL', () => {
  let dir: string;
  const rasters: Raster[] = [];
  const added = new Map<string, { jpeg: Buffer; state: number; cov: Buffer }>();
  let classic: TiledTiffResult;
  let bigtiff: TiledTiffResult;

  async function write(path: string, bigTiff: boolean | 'auto'): Promise<TiledTiffResult> {
    const w = await TiledTiffWriter.create(path, { ...SPEC, bigTiff });
    // Finest level first, as the builder does; rows bottom-up to show order does not matter.
    for (let level = 0; level < rasters.length; level++) {
      const r = rasters[level] as Raster;
      const n = r.size / T;
      for (let row = n - 1; row >= 0; row--) {
        for (let col = 0; col < n; col++) {
          const t = added.get(`${level}/${col}/${row}`);
          if (!t) continue;
          await w.addTile(level, col, row, t.jpeg, t.state === MASK_FULL ? 'full' : t.cov);
        }
      }
    }
    return w.finish();
  }

  beforeAll(async () => {
    dir = mkdtempSync(nodePath.join(tmpdir(), 'tiled-tiff-'));
    rasters.push(level0());
    rasters.push(halve(rasters[0] as Raster));
    rasters.push(halve(rasters[1] as Raster));
    for (const [level, r] of rasters.entries()) {
      const n = r.size / T;
      for (let row = 0; row < n; row++) {
        for (let col = 0; col < n; col++) {
          const { rgb, cov } = cut(r, col, row);
          let covered = 0;
          for (const v of cov) if (v) covered++;
          if (covered === 0) continue; // outside the coverage: missing tile
          if (level === LEFT_OUT.level && col === LEFT_OUT.col && row === LEFT_OUT.row) continue;
          const state = covered === cov.length ? MASK_FULL : MASK_PARTIAL;
          added.set(`${level}/${col}/${row}`, { jpeg: await encode(rgb), state, cov });
        }
      }
    }
    classic = await write(nodePath.join(dir, 'classic.tif'), 'auto');
    bigtiff = await write(nodePath.join(dir, 'big.tif'), true);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has the expected fixture shape (full, partial and missing tiles on every level)', () => {
    const states = [...added.values()].map((t) => t.state);
    expect(states.filter((s) => s === MASK_PARTIAL).length).toBeGreaterThan(3);
    expect(states.filter((s) => s === MASK_FULL).length).toBeGreaterThan(3);
    expect(added.size).toBeLessThan(16 + 4 + 1);
    expect(classic.tileCount).toBe(added.size);
  });

  it('returns size, SHA-256 and index of the renamed file, and leaves no temporary file', () => {
    const bytes = readFileSync(classic.path);
    expect(classic.bytes).toBe(bytes.length);
    expect(classic.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(classic.index.bigTiff).toBe(false);
    expect(bigtiff.index.bigTiff).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['big.tif', 'classic.tif']);
    for (const [key, t] of added) {
      const [level, col, row] = key.split('/').map(Number) as [number, number, number];
      const lv = classic.index.levels[level];
      const i = row * (lv?.tilesAcross ?? 0) + col;
      expect(lv?.maskStates[i]).toBe(t.state);
      const offset = lv?.tileOffsets[i] ?? 0;
      expect(bytes.subarray(offset, offset + t.jpeg.length).equals(t.jpeg)).toBe(true);
    }
    expect(classic.index.levels[0]?.maskStates[LEFT_OUT.row * 4 + LEFT_OUT.col]).toBe(MASK_EMPTY);
  });

  it('is a valid GeoTIFF for GDAL: size, bands, EPSG:2154, exact geotransform, overviews, per-dataset mask', async () => {
    for (const r of [classic, bigtiff]) {
      const info = await gdalinfo(r.path);
      expect(info.size).toEqual([SIZE, SIZE]);
      expect(info.bands).toHaveLength(3);
      expect(info.coordinateSystem.wkt).toMatch(/ID\["EPSG",2154\]\]\s*$/);
      expect(info.geoTransform).toEqual([ORIGIN_X, PIXEL, 0, ORIGIN_Y, 0, -PIXEL]);
      expect(info.metadata.IMAGE_STRUCTURE?.COMPRESSION).toBe('YCbCr JPEG');
      for (const b of info.bands) {
        expect(b.block).toEqual([T, T]);
        expect(b.overviews?.map((o) => o.size)).toEqual([
          [512, 512],
          [256, 256],
        ]);
        expect(b.mask?.flags).toContain('PER_DATASET');
        expect(b.mask?.overviews).toHaveLength(2);
      }
    }
  });

  it('reads back through GDAL as the source pixels (PSNR ≥ 35 dB) with the mask applied, on every level', async () => {
    for (const [level, r] of rasters.entries()) {
      const args = level === 0 ? [] : ['-ovr', String(level - 1)];
      const out = await gdalRgba(classic.path, args, dir);
      expect([out.width, out.height, out.channels]).toEqual([r.size, r.size, 4]);
      const n = r.size / T;
      const present = (i: number): boolean => {
        const x = i % r.size;
        const y = Math.floor(i / r.size);
        return added.has(`${level}/${Math.floor(x / T)}/${Math.floor(y / T)}`);
      };
      // Alpha = coverage of added tiles, 0 on missing tiles; RGB of missing tiles = 0.
      let alphaErrors = 0;
      let missingNonZero = 0;
      for (let i = 0; i < r.size * r.size; i++) {
        const a = out.data[i * 4 + 3];
        if (present(i)) {
          if (a !== r.cov[i]) alphaErrors++;
        } else {
          if (a !== 0) alphaErrors++;
          if (out.data[i * 4] || out.data[i * 4 + 1] || out.data[i * 4 + 2]) missingNonZero++;
        }
      }
      expect(alphaErrors).toBe(0);
      expect(missingNonZero).toBe(0);
      const q = psnr(out.data, r.rgb, 4, 3, (i) => present(i) && r.cov[i] === 255);
      expect(q).toBeGreaterThanOrEqual(35);
      expect(n).toBeGreaterThan(0);
    }
  });

  it('reads a window through GDAL, and BigTIFF gives the same pixels as classic', async () => {
    const win = ['-srcwin', '200', '300', '400', '300'];
    const a = await gdalRgba(classic.path, win, dir);
    const b = await gdalRgba(bigtiff.path, win, dir);
    expect(a.data.equals(b.data)).toBe(true);
    const r = rasters[0] as Raster;
    const sel = (i: number): boolean => {
      const x = 200 + (i % 400);
      const y = 300 + Math.floor(i / 400);
      return a.data[i * 4 + 3] === 255 && r.cov[y * SIZE + x] === 255;
    };
    const src = new Uint8Array(400 * 300 * 3);
    for (let y = 0; y < 300; y++) src.set(r.rgb.subarray(((300 + y) * SIZE + 200) * 3, ((300 + y) * SIZE + 600) * 3), y * 400 * 3);
    expect(psnr(a.data, src, 4, 3, sel)).toBeGreaterThanOrEqual(35);
    // Every GDAL-transparent pixel of the window is outside the coverage or in the left-out tile.
    for (let i = 0; i < 400 * 300; i++) {
      const x = 200 + (i % 400);
      const y = 300 + Math.floor(i / 400);
      const inLeftOut = x >= 768 && y < 256;
      expect(a.data[i * 4 + 3]).toBe(inLeftOut ? 0 : r.cov[y * SIZE + x]);
    }
  });

  it('converts (gdal_translate) and checksums (gdalinfo -checksum) without a GDAL warning', async () => {
    const out = nodePath.join(dir, 'copy.tif');
    const res = await execTool('gdal_translate', ['-of', 'GTiff', '-co', 'COMPRESS=DEFLATE', '-b', '1', '-b', '2', '-b', '3', '-b', 'mask', classic.path, out], {
      check: true,
    });
    expect(res.stderr).toBe('');
    const v = await execTool('gdalinfo', ['-checksum', classic.path], { check: true });
    expect(v.stderr).toBe('');
    rmSync(out);
  });

  it('serves every stored tile byte for byte from the reader, decodable by sharp', async () => {
    for (const r of [classic, bigtiff]) {
      const tiff = await openTiledTiffFile(r.path);
      try {
        expect(tiff.bigTiff).toBe(r.index.bigTiff);
        expect(tiff.georef).toEqual({ epsg: 2154, originX: ORIGIN_X, originY: ORIGIN_Y, pixelSize: PIXEL });
        expect(tiff.levels.map((l) => [l.width, l.tilesAcross])).toEqual([
          [1024, 4],
          [512, 2],
          [256, 1],
        ]);
        expect(tiff.fullMaskOffsets.size).toBe(1);
        for (const [level, lv] of tiff.levels.entries()) {
          const w = r.index.levels[level];
          expect(Array.from(lv.tileOffsets)).toEqual(Array.from(w?.tileOffsets ?? []));
          expect(Array.from(lv.tileByteCounts)).toEqual(Array.from(w?.tileByteCounts ?? []));
          expect(Array.from(lv.maskStates)).toEqual(Array.from(w?.maskStates ?? []));
          for (let row = 0; row < lv.tilesDown; row++) {
            for (let col = 0; col < lv.tilesAcross; col++) {
              const t = added.get(`${level}/${col}/${row}`);
              const range = tiff.tileRange(level, col, row);
              const mask = await tiff.readMask(level, col, row);
              if (!t) {
                expect(range).toBeNull();
                expect(mask).toBeNull();
                expect(tiff.maskState(level, col, row)).toBe('empty');
                continue;
              }
              const bytes = await tiff.source.read(range?.offset ?? 0, range?.length ?? 0);
              expect(Buffer.from(bytes).equals(t.jpeg)).toBe(true);
              const meta = await sharp(bytes).metadata();
              expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['jpeg', T, T, 3]);
              if (t.state === MASK_FULL) {
                expect(mask).toBe('full');
                expect(tiff.maskState(level, col, row)).toBe('full');
              } else {
                expect(tiff.maskState(level, col, row)).toBe('partial');
                expect(Buffer.isBuffer(mask) && mask.equals(t.cov)).toBe(true);
              }
            }
          }
        }
      } finally {
        await tiff.close();
      }
    }
  });

  it('reads a GDAL-written COG (JPEGTables, GDAL masks) with the same reader', async () => {
    const cog = nodePath.join(dir, 'gdal-cog.tif');
    await execTool('gdal_translate', ['-q', '-of', 'COG', '-co', 'COMPRESS=JPEG', '-co', 'OVERVIEWS=NONE', '-co', 'BLOCKSIZE=256', classic.path, cog], { check: true });
    const tiff = await openTiledTiffFile(cog);
    try {
      expect(tiff.levels).toHaveLength(1);
      expect(tiff.georef).toEqual({ epsg: 2154, originX: ORIGIN_X, originY: ORIGIN_Y, pixelSize: PIXEL });
      const lv = tiff.levels[0];
      expect(lv?.maskOffsets).toBeDefined();
      // A partial tile on the diagonal: GDAL's mask equals ours.
      const partial = [...added].find(([k, t]) => k.startsWith('0/') && t.state === MASK_PARTIAL) as [string, { cov: Buffer }];
      const [, col, row] = partial[0].split('/').map(Number) as [number, number, number];
      const m = await tiff.readMask(0, col, row);
      expect(Buffer.isBuffer(m) && m.equals(partial[1].cov)).toBe(true);
      expect(tiff.tileRange(0, 0, 0)).not.toBeNull();
    } finally {
      await tiff.close();
      rmSync(cog);
    }
  });
});

describe('TiledTiffWriter lifecycle and checks', () => {
  let dir: string;
  let jpeg: Buffer;
  beforeAll(async () => {
    dir = mkdtempSync(nodePath.join(tmpdir(), 'tiled-tiff-life-'));
    const raw = Buffer.alloc(T * T * 3, 90);
    jpeg = await encode(raw);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const spec = (): TiledTiffSpec => ({ ...SPEC, levels: pyramidLevels(512, 512, T) });

  it('abort() removes the temporary file; no finish() leaves nothing at path', async () => {
    const path = nodePath.join(dir, 'aborted.tif');
    const w = await TiledTiffWriter.create(path, spec());
    await w.addTile(0, 0, 0, jpeg);
    expect(existsSync(w.tempPath)).toBe(true);
    await w.abort();
    expect(existsSync(w.tempPath)).toBe(false);
    expect(existsSync(path)).toBe(false);
    await expect(w.addTile(0, 1, 0, jpeg)).rejects.toThrow(/after aborted/);

    const path2 = nodePath.join(dir, 'crashed.tif');
    const w2 = await TiledTiffWriter.create(path2, { ...spec(), writeBufferBytes: 1 });
    for (let i = 0; i < 4; i++) await w2.addTile(0, i % 2, i >> 1, jpeg);
    // "Crash": finish is never called. Nothing at path; the stale temp file is found and removed.
    expect(existsSync(path2)).toBe(false);
    expect(await TiledTiffWriter.removeStaleTemps(path2)).toEqual([nodePath.basename(w2.tempPath)]);
    expect(existsSync(w2.tempPath)).toBe(false);
  });

  it('rejects a tile added twice, out of range, or that is not a matching JPEG', async () => {
    const w = await TiledTiffWriter.create(nodePath.join(dir, 'checks.tif'), spec());
    try {
      await w.addTile(1, 0, 0, jpeg);
      await expect(w.addTile(1, 0, 0, jpeg)).rejects.toThrow(/already added/);
      await expect(w.addTile(1, 1, 0, jpeg)).rejects.toThrow(/outside the level/);
      await expect(w.addTile(2, 0, 0, jpeg)).rejects.toThrow(/no level 2/);
      await expect(w.addTile(0, 0, 0, jpeg.subarray(0, jpeg.length - 10))).rejects.toThrow(/EOI/);
      await expect(w.addTile(0, 0, 0, Buffer.from('not a jpeg'))).rejects.toThrow(/SOI/);
      const raw = Buffer.alloc(T * T * 3, 90);
      const small = await sharp(raw, { raw: { width: T, height: T, channels: 3 } }).resize(128, 128).jpeg().toBuffer();
      await expect(w.addTile(0, 0, 0, small)).rejects.toThrow(/size 128×128/);
      const s444 = await sharp(raw, { raw: { width: T, height: T, channels: 3 } }).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer();
      await expect(w.addTile(0, 0, 0, s444)).rejects.toThrow(/sampling factors/);
      const progressive = await sharp(raw, { raw: { width: T, height: T, channels: 3 } }).jpeg({ progressive: true }).toBuffer();
      await expect(w.addTile(0, 0, 0, progressive)).rejects.toThrow(/progressive/);
      await expect(w.addTile(0, 0, 0, jpeg, Buffer.alloc(10))).rejects.toThrow(/mask/);
      // The writer is still usable after rejected tiles.
      await w.addTile(0, 0, 0, jpeg);
      const r = await w.finish();
      expect(r.tileCount).toBe(2);
    } finally {
      await w.abort();
    }
    await expect(TiledTiffWriter.create(nodePath.join(dir, 'x.tif'), { ...spec(), levels: [{ width: 512, height: 512 }, { width: 300, height: 256 }] })).rejects.toThrow(
      /not half/,
    );
    await expect(TiledTiffWriter.create(nodePath.join(dir, 'no-such-dir', 'x.tif'), spec())).rejects.toMatchObject({ code: 'storage-dir-missing', status: 503 });
  });

  it('stores empty masks as missing mask tiles and all-covered masks as the shared full block', async () => {
    const w = await TiledTiffWriter.create(nodePath.join(dir, 'masks.tif'), spec());
    await w.addTile(0, 0, 0, jpeg, Buffer.alloc(T * T, 255));
    await w.addTile(0, 1, 0, jpeg, Buffer.alloc(T * T, 0));
    await w.addTile(0, 0, 1, jpeg);
    const r = await w.finish();
    const lv = r.index.levels[0];
    expect(Array.from(lv?.maskStates ?? [])).toEqual([MASK_FULL, MASK_EMPTY, MASK_FULL, MASK_EMPTY]);
    expect(lv?.maskOffsets?.[0]).toBe(lv?.maskOffsets?.[2]);
    expect(lv?.maskOffsets?.[1]).toBe(0);
    const tiff = await openTiledTiffFile(r.path);
    try {
      expect(await tiff.readMask(0, 0, 0)).toBe('full');
      expect(await tiff.readMask(0, 1, 0)).toBeNull();
      expect(tiff.maskState(0, 1, 0)).toBe('empty');
      expect(tiff.tileRange(0, 1, 0)).not.toBeNull();
    } finally {
      await tiff.close();
    }
  });

  describe('filesystem failures (injected into node\'s FileHandle)', () => {
    let proto: FileHandle;
    beforeAll(async () => {
      const fh = await open(dir, 'r');
      proto = Object.getPrototypeOf(fh) as FileHandle;
      await fh.close();
    });
    afterEach(() => vi.restoreAllMocks());
    const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code });

    it('disk full while appending tiles: storage-disk-full (507), no temporary and nothing at path', async () => {
      const sub = mkdtempSync(nodePath.join(dir, 'full-'));
      const path = nodePath.join(sub, 'full.tif');
      const w = await TiledTiffWriter.create(path, { ...spec(), writeBufferBytes: 1 });
      vi.spyOn(proto, 'writev').mockRejectedValue(errno('ENOSPC'));
      // The failing write runs behind addTile; it surfaces at the next addTile or at finish.
      const err = await (async () => {
        for (let i = 0; i < 4; i++) await w.addTile(0, i % 2, i >> 1, jpeg);
        return w.finish();
      })().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'storage-disk-full', status: 507 });
      await w.abort();
      expect(readdirSync(sub)).toEqual([]);
    });

    it('fsync failing on the file fails finish and removes the temporary; unsupported on the directory (network mounts) is tolerated', async () => {
      const sub = mkdtempSync(nodePath.join(dir, 'sync-'));
      const original = proto.sync;
      let failOn: 'file' | 'dir' = 'file';
      vi.spyOn(proto, 'sync').mockImplementation(async function (this: FileHandle) {
        if ((await this.stat()).isDirectory() === (failOn === 'dir')) throw errno('EINVAL');
        return original.call(this);
      });
      const w1 = await TiledTiffWriter.create(nodePath.join(sub, 'a.tif'), spec());
      await w1.addTile(0, 0, 0, jpeg);
      await expect(w1.finish()).rejects.toMatchObject({ code: 'EINVAL' });
      expect(readdirSync(sub)).toEqual([]);

      failOn = 'dir';
      const w2 = await TiledTiffWriter.create(nodePath.join(sub, 'b.tif'), spec());
      await w2.addTile(0, 0, 0, jpeg);
      const r = await w2.finish();
      expect(readdirSync(sub)).toEqual(['b.tif']);
      expect(createHash('sha256').update(readFileSync(r.path)).digest('hex')).toBe(r.sha256);
    });
  });

  it('writes 4:4:4 JPEG tiles that GDAL decodes', async () => {
    const raw = Buffer.alloc(T * T * 3);
    for (let i = 0; i < raw.length; i += 3) {
      raw[i] = 200;
      raw[i + 1] = 40;
      raw[i + 2] = 90;
    }
    const j = await sharp(raw, { raw: { width: T, height: T, channels: 3 } }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
    const w = await TiledTiffWriter.create(nodePath.join(dir, 's444.tif'), { ...SPEC, levels: [{ width: T, height: T }], chromaSubsampling: '4:4:4', withMask: false });
    await w.addTile(0, 0, 0, j);
    const r = await w.finish();
    const out = await gdalRgba(r.path, [], dir);
    const px = Array.from(out.data.subarray(0, 4));
    expect(Math.abs((px[0] ?? 0) - 200) + Math.abs((px[1] ?? 0) - 40) + Math.abs((px[2] ?? 0) - 90)).toBeLessThan(6);
    expect(px[3]).toBe(255);
  });
});

/**
 * A real `kill -9`: the writer runs in a child Node process (the sources transpiled to plain JS),
 * writing the same path again and again; whenever it dies, `path` is absent or a complete file.
 */
describe('TiledTiffWriter under kill -9', () => {
  it('never leaves an incomplete file at path', async () => {
    const dir = mkdtempSync(nodePath.join(tmpdir(), 'tiled-tiff-kill-'));
    try {
      const here = nodePath.dirname(fileURLToPath(import.meta.url));
      const files = ['raster/tiff/tiled-tiff-writer.ts', 'raster/tiff/tiff-format.ts', 'raster/tiff/jpeg-info.ts', 'storage/durable-file.ts', 'util/errors.ts'];
      for (const f of files) {
        const src = readFileSync(nodePath.join(here, '../..', f), 'utf8');
        const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
        mkdirSync(nodePath.dirname(nodePath.join(dir, 'js', f)), { recursive: true });
        writeFileSync(nodePath.join(dir, 'js', f.replace(/\.ts$/, '.js')), js);
      }
      writeFileSync(nodePath.join(dir, 'js', 'package.json'), '{"type":"module"}');
      writeFileSync(nodePath.join(dir, 'tile.jpg'), await encode(Buffer.alloc(T * T * 3, 120)));
      const target = nodePath.join(dir, 'out', 'pyramid.tif');
      mkdirSync(nodePath.dirname(target));
      writeFileSync(
        nodePath.join(dir, 'js', 'child.js'),
        `import { readFileSync } from 'node:fs';
         import { TiledTiffWriter, pyramidLevels } from './raster/tiff/tiled-tiff-writer.js';
         const jpeg = readFileSync(${JSON.stringify(nodePath.join(dir, 'tile.jpg'))});
         const spec = { levels: pyramidLevels(4096, 4096, 256), tileSize: 256, photometric: 'ycbcr', withMask: true,
           georef: { epsg: 2154, originX: 575078.4, originY: 6374016, pixelSize: 0.05 }, writeBufferBytes: 65536 };
         for (let n = 0; ; n++) {
           const w = await TiledTiffWriter.create(${JSON.stringify(target)}, spec);
           for (let i = 0; i < 256; i++) await w.addTile(0, i % 16, i >> 4, jpeg, 'full');
           await w.finish();
           if (n === 0) process.stdout.write('first\\n');
         }`,
      );
      for (const delay of [0, 150, 400]) {
        const child = spawn(process.execPath, [nodePath.join(dir, 'js', 'child.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
        await new Promise((r) => setTimeout(r, delay));
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        // Something complete is at path (a first file was finished), whatever the child was doing.
        const tiff = await openTiledTiffFile(target);
        try {
          expect(tiff.levels[0]?.tileByteCounts.filter((c) => c > 0).length).toBe(256);
          expect(tiff.fullMaskOffsets.size).toBe(1);
        } finally {
          await tiff.close();
        }
        await TiledTiffWriter.removeStaleTemps(target);
        expect(readdirSync(nodePath.dirname(target))).toEqual(['pyramid.tif']);
        rmSync(target);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
