import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/catalog.js';
import { loadConfig } from '../../config/config.js';
import { PyramidCatalog } from '../pyramid/pyramid-catalog.js';
import { PyramidReader } from '../pyramid/pyramid-reader.js';
import { decodeTile } from '../pyramid/tiles.js';
import { buildAppContext, type AppContext } from '../../context/app-context.js';
import { LocalObjectStore } from '../../storage/local-store.js';
import { freshPglite, type TestDatabase } from '../../test-support/db.js';
import { channelRange, gdal, psnr } from '../../test-support/gdal.js';
import { makeAllBadDalles, validDalle, type BadDalle, type BadDalleKind } from '../../test-support/imagery.js';
import { sha256File } from '../../util/hash.js';
import { ingestDelivery } from './ingest.js';
import type { IngestReport } from './report.js';
import { ingestServices } from './services.js';

/** The four valid 200 m dalles: a 2×2 block, so tiles straddle dalle edges (x = 575 200, y = 6 373 600). */
const GOOD = [
  [575_000, 6_373_800],
  [575_200, 6_373_800],
  [575_000, 6_373_600],
  [575_200, 6_373_600],
] as const;

const EXPECTED: Record<BadDalleKind, { status: string; rule: string }> = {
  'zero-byte': { status: 'rejected', rule: 'empty-file' },
  truncated: { status: 'rejected', rule: 'truncated' },
  'not-a-raster': { status: 'rejected', rule: 'unreadable' },
  'wrong-crs': { status: 'rejected', rule: 'crs-unsupported' },
  'cc-zone': { status: 'warning', rule: 'cc-zone' },
  'wrong-resolution': { status: 'rejected', rule: 'resolution' },
  misaligned: { status: 'rejected', rule: 'grid-misaligned' },
  grey: { status: 'rejected', rule: 'band-count' },
  rgb16: { status: 'rejected', rule: 'data-type' },
  rgba: { status: 'ok', rule: '' },
  'name-mismatch': { status: 'warning', rule: 'name-mismatch' },
};

describe('ingest of a delivery with good and bad dalles (real GDAL, PGlite)', () => {
  let t: TestDatabase;
  let ctx: AppContext;
  let delivery: string;
  let report: IngestReport;
  let bad: Record<BadDalleKind, BadDalle>;
  let goodFiles: string[];
  let reader: PyramidReader;

  beforeAll(async () => {
    t = await freshPglite();
    const dataDir = t.env.PCRS_DATA_DIR as string;
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' });
    const catalog = new Catalog(t.db);
    await catalog.ensureStandardDatasets('46');
    ctx = buildAppContext(config, t.db);
    delivery = mkdtempSync(path.join(tmpdir(), 'pcrs-delivery-'));
    goodFiles = [];
    for (const [xmin, ymax] of GOOD) goodFiles.push((await validDalle(delivery, { xmin, ymax })).file);
    bad = await makeAllBadDalles({ dir: path.join(delivery, 'bad') });
    mkdirSync(path.join(delivery, 'again'));
    copyFileSync(goodFiles[0] as string, path.join(delivery, 'again', path.basename(goodFiles[0] as string)));
    writeFileSync(path.join(delivery, 'LISEZMOI.txt'), 'livraison de test\n');
    report = await ingestDelivery(ingestServices(ctx, { concurrency: 2 }), { dir: delivery, datasetId: 'ortho', versionName: '2025', date: '2025-06-15', jobs: 2 });
    reader = new PyramidReader(t.db, new LocalObjectStore(path.join(dataDir, 'storage', 'hot')), { quality: 85 });
  }, 600_000);

  afterAll(async () => {
    await reader?.close();
    await t?.dispose();
    rmSync(delivery, { recursive: true, force: true });
  });

  const entry = (file: string) => {
    const rel = path.relative(delivery, file).split(path.sep).join('/');
    const d = report.dalles.find((x) => x.file === rel);
    if (!d) throw new Error(`no report entry for ${rel}`);
    return d;
  };

  it('reports every bad input with its own clear reason and accepts the rest', () => {
    for (const [kind, expected] of Object.entries(EXPECTED) as Array<[BadDalleKind, { status: string; rule: string }]>) {
      const d = entry(bad[kind].file);
      expect(d.status, `${kind}: ${JSON.stringify(d.findings)}`).toBe(expected.status);
      if (expected.rule) expect(d.findings.map((f) => f.rule), kind).toContain(expected.rule);
      for (const f of d.findings) expect(f.message.length).toBeGreaterThan(20);
    }
    for (const f of goodFiles) expect(entry(f).status).toBe('ok');
    const dup = entry(path.join(delivery, 'again', path.basename(goodFiles[0] as string)));
    expect(dup.status).toBe('rejected');
    expect(dup.findings.map((f) => f.rule)).toContain('duplicate-in-delivery');
    expect(report.ignored).toEqual(['LISEZMOI.txt']);
    expect(report.summary).toMatchObject({ ok: 5, warning: 2, rejected: 9, skipped: 0, ignored: 1 });
  });

  it('names the defects precisely (resolution, offset, CRS)', () => {
    expect(entry(bad['wrong-resolution'].file).findings[0]?.message).toMatch(/pixel 0\.1 × 0\.1 m, expected 0\.05 m/);
    expect(entry(bad.misaligned.file).findings[0]?.message).toMatch(/3\.700 m/);
    expect(entry(bad['wrong-crs'].file).findings[0]?.message).toMatch(/EPSG:4326/);
    expect(entry(bad.rgb16.file).findings[0]?.message).toMatch(/16-bit/);
  });

  it('writes the report as JSON and readable text', () => {
    const [json, txt] = report.reportFiles as [string, string];
    expect(JSON.parse(readFileSync(json, 'utf8')).summary.rejected).toBe(9);
    const text = readFileSync(txt, 'utf8');
    expect(text).toMatch(/REJECTED bad\/.*\n {2}- \[error\] truncated: /);
    expect(text).toMatch(/WARNING {2}bad\/.*name-mismatch/s);
  });

  it('registers accepted dalles with verified masters and nothing for rejected ones', async () => {
    const version = await ctx.catalog.getVersion('ortho', '2025');
    expect(version.status).toBe('published');
    const dalles = await ctx.catalog.listDalles({ versionId: version.id });
    expect(dalles).toHaveLength(7);
    expect(dalles.every((d) => d.state === 'registered')).toBe(true);
    const masters = await ctx.catalog.assets.list({ versionId: version.id, kind: 'master' });
    expect(masters).toHaveLength(7);
    expect(masters.every((a) => a.state === 'stored' && a.verifiedAt !== null)).toBe(true);
    const first = masters.find((a) => a.location.endsWith(path.basename(goodFiles[0] as string)));
    expect(first?.sha256).toBe((await sha256File(goodFiles[0] as string)).sha256);
    // The CC45 dalle is catalogued with its CC grid cell and a rotated Lambert-93 footprint.
    const cc = dalles.find((d) => d.sourceCrs === 'EPSG:3945');
    expect(cc).toBeDefined();
    // The dalle whose name lies is catalogued where its georeferencing puts it.
    const mismatch = bad['name-mismatch'];
    const placed = dalles.find((d) => d.bbox[0] === mismatch.bbox?.[0] && d.bbox[3] === mismatch.bbox?.[3]);
    expect(placed?.name).not.toBe(mismatch.name.replace(/\.tif$/, ''));
  });

  it('builds a pyramid whose tiles match the sources and are seamless across dalle edges (PSNR ≥ 35 dB vs gdalwarp)', async () => {
    const version = await ctx.catalog.getVersion('ortho', '2025');
    const files = await new PyramidCatalog(t.db).list(version.id, 'detail');
    expect(files.length).toBeGreaterThan(0);
    const hot = path.join(ctx.config.dataDir, 'storage', 'hot');
    const work = mkdtempSync(path.join(tmpdir(), 'pcrs-psnr-'));
    const vrt = path.join(work, 'pyramid.vrt');
    await gdal('gdalbuildvrt', ['-q', vrt, ...files.map((f) => path.join(hot, f.key))]);
    // 100 m around the corner where the four dalles meet.
    const win = ['575150', '6373650', '575250', '6373550'];
    await gdal('gdal_translate', ['-q', '-projwin', ...win, '-b', '1', '-b', '2', '-b', '3', '-of', 'PNG', vrt, path.join(work, 'pyramid.png')]);
    await gdal('gdal_translate', ['-q', '-projwin', ...win, '-b', 'mask', '-of', 'PNG', vrt, path.join(work, 'mask.png')]);
    await gdal('gdalwarp', ['-q', '-te', '575150', '6373550', '575250', '6373650', '-tr', '0.05', '0.05', '-r', 'near', '-of', 'GTiff', ...goodFiles, path.join(work, 'ref.tif')]);
    await gdal('gdal_translate', ['-q', '-of', 'PNG', path.join(work, 'ref.tif'), path.join(work, 'ref.png')]);
    expect(await psnr(path.join(work, 'pyramid.png'), path.join(work, 'ref.png'))).toBeGreaterThanOrEqual(35);
    // No gap at the seams: the coverage mask is solid.
    expect(await channelRange(path.join(work, 'mask.png'))).toEqual({ min: 255, max: 255 });
    rmSync(work, { recursive: true, force: true });
  });

  it('stores each tile as a self-contained JPEG that decodes, with empty areas absent', async () => {
    const version = await ctx.catalog.getVersion('ortho', '2025');
    // z22 tile containing (575 100, 6 373 700): inside a good dalle.
    const col = Math.floor(575_100 / 12.8);
    const row = Math.floor((12_000_000 - 6_373_700) / 12.8);
    const tile = await reader.versionTile(version.id, 22, col, row);
    expect(tile?.mask).toBe('full');
    expect(tile?.jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect((await sharp(tile?.jpeg).metadata()).width).toBe(256);
    // The CC45 dalle was reprojected into the pyramid: its centre is there, fully covered.
    const cc = await reader.versionTile(version.id, 22, Math.floor(574_900 / 12.8), Math.floor((12_000_000 - 6_373_900) / 12.8));
    expect(cc?.mask).toBe('full');
    // Far from any dalle: nothing.
    expect(await reader.versionTile(version.id, 22, col + 2000, row)).toBeNull();
    // Overview levels exist down to 6 for the same place.
    for (const z of [21, 18, 15, 14, 10, 6]) {
      const s = 2 ** (22 - z);
      expect(await reader.versionTile(version.id, z, Math.floor(col / s), Math.floor(row / s)), `level ${z}`).not.toBeNull();
    }
  });

  it('a one-handle file cache serves concurrent reads across files correctly and keeps no handle open after close', async () => {
    const version = await ctx.catalog.getVersion('ortho', '2025');
    const small = new PyramidReader(ctx.db, new LocalObjectStore(path.join(t.env.PCRS_DATA_DIR as string, 'storage', 'hot')), { quality: 85, maxOpenFiles: 1 });
    const fds = () => readdirSync('/proc/self/fd').length;
    // Level 22 tiles live in per-level-15 files, level 10 ones in the level-6 file: reads alternate between files.
    const wanted: Array<[number, number, number]> = [];
    for (let i = 0; i < 24; i++) {
      const x = 575_020 + (i % 6) * 60;
      const y = 6_373_780 - Math.floor(i / 6) * 90;
      wanted.push([22, Math.floor(x / 12.8), Math.floor((12_000_000 - y) / 12.8)]);
      wanted.push([10, Math.floor(x / 3276.8), Math.floor((12_000_000 - y) / 3276.8)]);
    }
    const expected = await Promise.all(wanted.map(([z, c, r]) => reader.versionTile(version.id, z, c, r))); // (the shared reader keeps its handles)
    const before = fds();
    const got = await Promise.all(wanted.map(([z, c, r]) => small.versionTile(version.id, z, c, r)));
    expect(got.filter((t) => t !== null).length).toBeGreaterThan(20);
    got.forEach((t, i) => expect(t?.jpeg.equals(expected[i]?.jpeg as Buffer) ?? expected[i] === null, `tile ${wanted[i]?.join('/')}`).toBe(true));
    const settled = () => new Promise((r) => setTimeout(r, 100)); // closes run after the reads return
    await settled();
    expect(fds()).toBeLessThanOrEqual(before + 1); // evicted handles were closed once their reads ended
    await small.close();
    await settled();
    expect(fds()).toBeLessThanOrEqual(before);
  });

  it('an update version replaces exactly its area in the current layer; the old version stays addressable', async () => {
    const updateDir = mkdtempSync(path.join(tmpdir(), 'pcrs-update-'));
    // Same place as GOOD[1], different scene (seed): new content.
    await validDalle(updateDir, { xmin: 575_200, ymax: 6_373_800, seed: 7, year: 2026 });
    const up = await ingestDelivery(ingestServices(ctx, { concurrency: 2 }), { dir: updateDir, datasetId: 'ortho', versionName: 'maj-2026', date: '2026-04-01', kind: 'update' });
    expect(up.summary.ok).toBe(1);
    const oldV = await ctx.catalog.getVersion('ortho', '2025');
    const newV = await ctx.catalog.getVersion('ortho', 'maj-2026');
    expect(newV.priority).toBeGreaterThan(oldV.priority);
    const at = (x: number, y: number) => ({ col: Math.floor(x / 12.8), row: Math.floor((12_000_000 - y) / 12.8) });

    const inside = at(575_300, 6_373_700);
    const current = await reader.currentTile('ortho', 22, inside.col, inside.row);
    const updated = await reader.versionTile(newV.id, 22, inside.col, inside.row);
    const original = await reader.versionTile(oldV.id, 22, inside.col, inside.row);
    expect(current?.jpeg.equals(updated?.jpeg as Buffer)).toBe(true); // pass-through, byte for byte
    expect(original?.jpeg.equals(updated?.jpeg as Buffer)).toBe(false); // the old version is still there

    const outside = at(575_100, 6_373_700);
    const currentOut = await reader.currentTile('ortho', 22, outside.col, outside.row);
    const originalOut = await reader.versionTile(oldV.id, 22, outside.col, outside.row);
    expect(currentOut?.jpeg.equals(originalOut?.jpeg as Buffer)).toBe(true);

    // A tile across the update's west edge (x = 575 200) is composed: west from 2025, east from the update.
    const edge = at(575_200, 6_373_700);
    const composed = await decodeTile((await reader.currentTile('ortho', 22, edge.col, edge.row))!.jpeg, 'full');
    const west = await decodeTile((await reader.versionTile(oldV.id, 22, edge.col, edge.row))!.jpeg, 'full');
    const east = await decodeTile((await reader.versionTile(newV.id, 22, edge.col, edge.row))!.jpeg, 'full');
    const splitAt = Math.round((575_200 - edge.col * 12.8) / 0.05); // pixel column of the edge in the tile
    const half = async (img: { data: Buffer }, x0: number, x1: number) =>
      sharp(img.data, { raw: { width: 256, height: 256, channels: 4 } }).extract({ left: x0, top: 0, width: x1 - x0, height: 256 }).removeAlpha().png().toBuffer();
    expect(await psnr(await half(composed, 0, splitAt - 4), await half(west, 0, splitAt - 4))).toBeGreaterThan(30);
    expect(await psnr(await half(composed, splitAt + 4, 256), await half(east, splitAt + 4, 256))).toBeGreaterThan(30);
    // Composited once, then served from the reader's cache (same object, same ETag as the index says).
    const first = await reader.currentTile('ortho', 22, edge.col, edge.row);
    expect(await reader.currentTile('ortho', 22, edge.col, edge.row)).toBe(first);
    expect(await reader.currentTileEtag('ortho', 22, edge.col, edge.row)).toBe(first?.etag);
    rmSync(updateDir, { recursive: true, force: true });
  });

  it('re-running the same delivery does nothing new; a dalle already in the version is skipped unless --replace', async () => {
    const again = await ingestDelivery(ingestServices(ctx), { dir: delivery, datasetId: 'ortho', versionName: '2025' });
    expect(again.jobId).toBe(report.jobId);
    const other = mkdtempSync(path.join(tmpdir(), 'pcrs-again-'));
    copyFileSync(goodFiles[2] as string, path.join(other, path.basename(goodFiles[2] as string)));
    const second = await ingestDelivery(ingestServices(ctx), { dir: other, datasetId: 'ortho', versionName: '2025' });
    expect(second.summary.skipped).toBe(1);
    expect(second.dalles[0]?.findings[0]?.message).toMatch(/identical file/);
    const replaced = await ingestDelivery(ingestServices(ctx), { dir: other, datasetId: 'ortho', versionName: '2025', replace: true });
    expect(replaced.summary.ok).toBe(1);
    const assets = await ctx.catalog.assets.list({ kind: 'master', state: 'stored', versionId: (await ctx.catalog.getVersion('ortho', '2025')).id });
    expect(assets).toHaveLength(7); // replaced in place, not duplicated
    rmSync(other, { recursive: true, force: true });
  });
});
