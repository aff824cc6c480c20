/**
 * Hot tier repair: a damaged pyramid file is rebuilt from the masters by re-running the pyramid
 * build for that file (real ingest of one 200 m dalle with GDAL), then re-verified.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import { loadConfig } from '../config/config.js';
import { ingestDelivery } from '../raster/ingest/ingest.js';
import { ingestServices } from '../raster/ingest/services.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { LocalObjectStore } from '../storage/local-store.js';
import { freshPglite, type TestDatabase } from '../test-support/db.js';
import { validDalle } from '../test-support/imagery.js';
import { runVerify } from './fixity.js';
import { measureUsage, usageHistory } from './usage.js';
import { storageServices } from './services.js';
import { sha256 } from './test-support/tier-fixture.js';

describe('fixity repair of the hot tier rebuilds pyramid files from the masters (real GDAL)', () => {
  let t: TestDatabase;
  let ctx: AppContext;
  let delivery: string;

  beforeAll(async () => {
    t = await freshPglite();
    const dataDir = t.env.PCRS_DATA_DIR as string;
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' });
    const catalog = new Catalog(t.db);
    await catalog.ensureStandardDatasets('46');
    ctx = buildAppContext(config, t.db);
    delivery = mkdtempSync(path.join(tmpdir(), 'pcrs-delivery-'));
    await validDalle(delivery, { xmin: 575_000, ymax: 6_373_800 });
    const report = await ingestDelivery(ingestServices(ctx, { concurrency: 2 }), { dir: delivery, datasetId: 'ortho', versionName: '2025', jobs: 1 });
    expect(report.summary.ok + report.summary.warning).toBe(1);
  }, 600_000);

  afterAll(async () => {
    await t?.dispose();
    rmSync(delivery, { recursive: true, force: true });
  });

  it('a byte flipped in a pyramid file is reported corrupted, rebuilt, re-verified; a deleted one too', async () => {
    const services = storageServices(ctx);
    const hot = services.tiers.hot as LocalObjectStore;
    const files = await ctx.catalog.assets.list({ tier: 'hot', kind: 'pyramid', state: 'stored' });
    expect(files.length).toBeGreaterThanOrEqual(2);
    const [detail, overview] = [files[0]!, files[files.length - 1]!];
    const original = readFileSync(hot.pathOf(detail.location));
    const rotten = Buffer.from(original);
    rotten[Math.floor(rotten.length / 2)] = (rotten[Math.floor(rotten.length / 2)] as number) ^ 0xff;
    writeFileSync(hot.pathOf(detail.location), rotten);
    if (overview.id !== detail.id) rmSync(hot.pathOf(overview.location));

    const before = await runVerify(services, { tiers: ['hot'] });
    expect(before.clean).toBe(false);
    expect(before.corrupted).toBe(1);
    expect(before.missing).toBe(overview.id !== detail.id ? 1 : 0);

    const repaired = await runVerify(services, { tiers: ['hot'], repair: true });
    expect(repaired.repairFailed).toBe(0);
    expect(repaired.clean).toBe(true);
    expect(repaired.findings.every((f) => f.outcome === 'repaired' && /rebuilt from the masters/.test(f.detail ?? ''))).toBe(true);

    const after = await runVerify(services, { tiers: ['hot'] });
    expect(after).toMatchObject({ missing: 0, corrupted: 0, unlisted: 0, clean: true });
    // the stored file is a valid pyramid file again (same bytes when the encoder is deterministic)
    const now = await ctx.catalog.assets.list({ tier: 'hot', kind: 'pyramid', state: 'stored' });
    const rebuilt = now.find((a) => a.location === detail.location);
    if (rebuilt) expect(sha256(readFileSync(hot.pathOf(rebuilt.location)))).toBe(sha256(original));
  }, 600_000);

  it('usage: bytes per tier from the stores, cost at the configured prices, projection per dalle × 5 217, daily snapshot', async () => {
    const services = storageServices({ ...ctx, config: { ...ctx.config, storage: { ...ctx.config.storage, prices: { hot: { perTbMonth: 1000, perGbRestored: 0, perGbEgress: 0 } } } } });
    const u = await measureUsage(services);
    const hotBytes = (await ctx.catalog.assets.list({ tier: 'hot', state: 'stored' })).reduce((s, a) => s + a.bytes, 0);
    const masterBytes = (await ctx.catalog.assets.list({ tier: 'intermediate', state: 'stored' })).reduce((s, a) => s + a.bytes, 0);
    expect(u.tiers.find((t) => t.tier === 'hot')).toMatchObject({ bytes: hotBytes, costPerMonth: (hotBytes / 1e12) * 1000 });
    expect(u.rows).toEqual(expect.arrayContaining([{ tier: 'intermediate', datasetId: 'ortho', objects: 1, bytes: masterBytes }]));
    expect(u.projection?.coveredKm2).toBeCloseTo(0.04, 6); // one 200 m dalle
    const inter = u.projection!.tiers.find((t) => t.tier === 'intermediate')!;
    expect(inter.bytesPerDalle).toBe(Math.round(masterBytes / 0.04));
    expect(inter.bytes).toBe(Math.round((masterBytes / 0.04) * 5217));
    const history = await usageHistory(ctx.db);
    expect(history.filter((h) => h.tier === 'hot')).toEqual([{ day: u.day, tier: 'hot', datasetId: 'ortho', objects: expect.any(Number), bytes: hotBytes }]);
  });
});
