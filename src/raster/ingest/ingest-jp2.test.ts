import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/catalog.js';
import { loadConfig } from '../../config/config.js';
import { PyramidCatalog } from '../pyramid/pyramid-catalog.js';
import { buildAppContext, type AppContext } from '../../context/app-context.js';
import { freshPglite, type TestDatabase } from '../../test-support/db.js';
import { gdal, psnr } from '../../test-support/gdal.js';
import { validDalle } from '../../test-support/imagery.js';
import { ingestDelivery } from './ingest.js';
import { ingestServices } from './services.js';

describe('ingest of a JPEG 2000 delivery', () => {
  let t: TestDatabase;
  let ctx: AppContext;
  let delivery: string;
  beforeAll(async () => {
    t = await freshPglite();
    const config = loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR, PCRS_LOG_LEVEL: 'silent' });
    const catalog = new Catalog(t.db);
    await catalog.ensureStandardDatasets('46');
    ctx = buildAppContext(config, t.db);
    delivery = mkdtempSync(path.join(tmpdir(), 'pcrs-jp2-'));
  });
  afterAll(async () => {
    await t.dispose();
    rmSync(delivery, { recursive: true, force: true });
  });

  it('validates a .jp2 dalle, keeps it as the master and pyramids it (PSNR ≥ 35 dB vs gdalwarp)', async () => {
    const dalle = await validDalle(delivery, { xmin: 576_000, ymax: 6_374_000, format: 'jp2' });
    expect(dalle.file).toMatch(/\.jp2$/);
    const report = await ingestDelivery(ingestServices(ctx, { concurrency: 2 }), { dir: delivery, datasetId: 'ortho', versionName: 'jp2' });
    expect(report.summary.ok, JSON.stringify(report.dalles)).toBe(1);
    expect(report.dalles[0]?.master).toMatch(/\.jp2$/);
    const version = await ctx.catalog.getVersion('ortho', 'jp2');
    const files = await new PyramidCatalog(t.db).list(version.id, 'detail');
    const work = mkdtempSync(path.join(tmpdir(), 'pcrs-jp2-cmp-'));
    const hot = path.join(ctx.config.dataDir, 'storage', 'hot');
    await gdal('gdalbuildvrt', ['-q', path.join(work, 'p.vrt'), ...files.map((f) => path.join(hot, f.key))]);
    const win = ['576050', '6373950', '576150', '6373850'];
    await gdal('gdal_translate', ['-q', '-projwin', ...win, '-b', '1', '-b', '2', '-b', '3', '-of', 'PNG', path.join(work, 'p.vrt'), path.join(work, 'p.png')]);
    await gdal('gdalwarp', ['-q', '-te', '576050', '6373850', '576150', '6373950', '-tr', '0.05', '0.05', '-of', 'GTiff', dalle.file, path.join(work, 'r.tif')]);
    await gdal('gdal_translate', ['-q', '-of', 'PNG', path.join(work, 'r.tif'), path.join(work, 'r.png')]);
    expect(await psnr(path.join(work, 'p.png'), path.join(work, 'r.png'))).toBeGreaterThanOrEqual(35);
    rmSync(work, { recursive: true, force: true });
  }, 300_000);
});
