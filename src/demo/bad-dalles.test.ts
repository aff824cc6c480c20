import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAD_DALLE_KINDS, MISALIGNMENT_METRES, makeAllBadDalles, type BadDalle, type BadDalleKind } from './bad-dalles.js';
import { epsgOf, gdalInfo } from './gdal.js';
import { readWindow, runStatus } from '../test-support/pixels.js';

let dir: string;
let bad: Record<BadDalleKind, BadDalle>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcrs-bad-'));
  bad = await makeAllBadDalles({ dir });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bad dalles', () => {
  it('builds one file per kind, with distinct IGN names, and nothing else in the folder', async () => {
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(BAD_DALLE_KINDS.map((k) => bad[k].name).sort());
    expect(new Set(files).size).toBe(BAD_DALLE_KINDS.length);
    for (const k of BAD_DALLE_KINDS) expect(basename(bad[k].file)).toMatch(/^46-2025-\d{5}-\d{5}-(LA93|CC45)-0M05-RVB\.tif$/);
  });

  it('zero-byte, not-a-raster: GDAL cannot open them', async () => {
    expect((await stat(bad['zero-byte'].file)).size).toBe(0);
    for (const k of ['zero-byte', 'not-a-raster'] as const) {
      const r = await runStatus('gdalinfo', [bad[k].file]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/not recognized as a supported file format/);
    }
  });

  it('truncated: the header may open but reading the pixels fails', async () => {
    const r = await runStatus('gdalinfo', ['-checksum', bad.truncated.file]);
    expect(r.code !== 0 || /ERROR/.test(r.stderr)).toBe(true);
  });

  it('wrong-crs: georeferenced in EPSG:4326', async () => {
    const info = await gdalInfo(bad['wrong-crs'].file);
    expect(epsgOf(info)).toBe(4326);
    expect(info.geoTransform![0]).toBeCloseTo(1.42, 1); // longitude of Cahors
    expect(bad['wrong-crs'].expected).toBe('reject');
  });

  it('cc-zone: a valid, fully covered 200 m dalle of the CC45 grid (EPSG:3945, 5 cm, JPEG/YCbCr)', async () => {
    const d = bad['cc-zone'];
    const info = await gdalInfo(d.file);
    expect(epsgOf(info)).toBe(3945);
    expect(info.size).toEqual([4000, 4000]);
    const gt = info.geoTransform!;
    expect(gt[1]).toBeCloseTo(0.05, 12);
    expect(gt[5]).toBeCloseTo(-0.05, 12);
    expect(gt[0]! % 200).toBeCloseTo(0, 6);
    expect(gt[3]! % 200).toBeCloseTo(0, 6);
    expect([gt[0], gt[3]]).toEqual([d.bbox![0], d.bbox![3]]);
    expect(info.metadata?.IMAGE_STRUCTURE?.COMPRESSION).toBe('YCbCr JPEG');
    expect(d.name).toContain('-CC45-');
    expect(d.expected).toBe('reproject');
    // No empty (black) corner: the source area covered the whole CC cell.
    for (const [x, y] of [[0, 0], [3999, 0], [0, 3999], [3999, 3999]] as const) {
      const px = await readWindow(d.file, x, y, 1, 1);
      expect(px.data[0]! + px.data[1]! + px.data[2]!).toBeGreaterThan(30);
    }
  });

  it('wrong-resolution: 10 cm pixels', async () => {
    const info = await gdalInfo(bad['wrong-resolution'].file);
    expect(info.size).toEqual([2000, 2000]);
    expect(info.geoTransform).toEqual([574_000 + 200 * 5, 0.1, 0, 6_374_000, 0, -0.1]);
  });

  it(`misaligned: shifted ${MISALIGNMENT_METRES} m east of the grid`, async () => {
    const d = bad.misaligned;
    const info = await gdalInfo(d.file);
    expect(info.geoTransform![0]).toBeCloseTo(d.named.bbox[0] + MISALIGNMENT_METRES, 6);
    expect(info.geoTransform![3]).toBe(d.named.bbox[3]);
    expect(info.size).toEqual([4000, 4000]);
  });

  it('grey: one band; rgb16: three UInt16 bands; rgba: four bytes bands with alpha', async () => {
    const grey = await gdalInfo(bad.grey.file);
    expect(grey.bands.map((b) => [b.type, b.colorInterpretation])).toEqual([['Byte', 'Gray']]);
    const rgb16 = await gdalInfo(bad.rgb16.file);
    expect(rgb16.bands.map((b) => b.type)).toEqual(['UInt16', 'UInt16', 'UInt16']);
    const rgba = await gdalInfo(bad.rgba.file);
    expect(rgba.bands.map((b) => [b.type, b.colorInterpretation])).toEqual([
      ['Byte', 'Red'],
      ['Byte', 'Green'],
      ['Byte', 'Blue'],
      ['Byte', 'Alpha'],
    ]);
    expect(bad.rgba.expected).toBe('accept');
    const ne = await readWindow(bad.rgba.file, 3990, 5, 1, 1);
    const sw = await readWindow(bad.rgba.file, 5, 3990, 1, 1);
    expect([ne.channels, ne.data[3]]).toEqual([4, 0]);
    expect(sw.data[3]).toBe(255);
  });

  it('name-mismatch: valid dalle named after the dalle 200 m to the north', async () => {
    const d = bad['name-mismatch'];
    const info = await gdalInfo(d.file);
    expect(epsgOf(info)).toBe(2154);
    expect(info.geoTransform).toEqual([d.bbox![0], 0.05, 0, d.bbox![3], 0, -0.05]);
    expect(d.named.bbox[3]).toBe(d.bbox![3] + 200);
    expect(d.name).toBe(`46-2025-${String(d.bbox![0] / 100).padStart(5, '0')}-${String((d.bbox![3] + 200) / 100).padStart(5, '0')}-LA93-0M05-RVB.tif`);
  });
});
