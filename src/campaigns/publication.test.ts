/**
 * A campaign's acceptance check and publication on PGlite and PostgreSQL, with real imagery: over
 * a current orthophoto of four 200 m dalles, a campaign expects two; the delivery brings one with a
 * new building (its seams match the dalles around) and one whose colours are off (refused at the
 * seams, with the reason). Published, the current orthophoto's tiles change exactly where the
 * accepted dalle is — not under the refused one, not outside the campaign.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { OPERATOR } from '../context/access.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { tileRange, TMS_2154_5CM } from '../grid/tile-matrix-set.js';
import { ingestDelivery } from '../raster/ingest/ingest.js';
import { ingestServices } from '../raster/ingest/services.js';
import { PyramidReader } from '../raster/pyramid/pyramid-reader.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { gdal } from '../test-support/gdal.js';
import { validDalle } from '../test-support/imagery.js';
import { CampaignService } from './service.js';

const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
const YMAX = 6_374_000;

describe.each(ENGINES)('campaign check and publication on $engine', ({ open }) => {
  let t: TestDatabase;
  let dataDir: string;
  let ctx: AppContext;
  let service: CampaignService;
  const names: Record<number, string> = {};

  /** SHA-256 of the current orthophoto's level-20 tile (0.2 m) at the centre of the 200 m dalle at `xmin`, or 'none'. */
  const tileAt = async (xmin: number): Promise<string> => {
    const reader = new PyramidReader(ctx.db, ctx.tiers.hot, { quality: 85, catalogTtlMs: 0 });
    try {
      const x = xmin + 100;
      const y = YMAX - 100;
      const r = tileRange(TMS_2154_5CM, 20, [x - 1, y - 1, x + 1, y + 1]);
      const tile = r ? await reader.currentTile('ortho', 20, r.minCol, r.minRow) : null;
      return tile ? createHash('sha256').update(tile.jpeg).digest('hex') : 'none';
    } finally {
      await reader.close();
    }
  };

  beforeAll(async () => {
    t = await open();
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-campaign-pub-'));
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    ctx = buildAppContext(loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' }), t.db);
    await ctx.catalog.ensureStandardDatasets('46');
    // The current orthophoto: four 200 m dalles in a row at Cahors.
    const current = path.join(dataDir, 'current');
    mkdirSync(current, { recursive: true });
    for (const xmin of [575_000, 575_200, 575_400, 575_600]) names[xmin] = path.basename((await validDalle(current, { xmin, ymax: YMAX, year: 2019 })).file);
    const report = await ingestDelivery(ingestServices(ctx), { dir: current, datasetId: 'ortho', versionName: '2019', date: '2019-06-01' });
    expect(report.summary.ok + report.summary.warning).toBe(4);
    service = new CampaignService(ctx);
  }, 300_000);

  afterAll(async () => {
    ctx?.mail.close();
    await ctx?.access.close?.().catch(() => undefined);
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses the dalle whose seams do not match, publishes the other, and the current tiles change only there', async () => {
    const c = await service.create(OPERATOR, {
      slug: 'maj-lot-ouest',
      title: 'Mise à jour Lot ouest',
      kind: 'ortho',
      dalleSize: 200,
      area: { source: 'drawn', geometry: { type: 'Polygon', coordinates: [[[575_200, YMAX - 200], [575_600, YMAX - 200], [575_600, YMAX], [575_200, YMAX], [575_200, YMAX - 200]]], crs: L93 } },
      plannedStart: '2026-03-01',
      plannedEnd: '2026-09-30',
    });
    expect(c.progress.expected).toBe(2);
    await service.changeStatus(OPERATOR, c.slug, 'ordered');

    // The delivery: the dalle at 575 200 with a new building (a dark roof burned into its centre), and
    // the one at 575 400 with its colours lifted (a radiometric mismatch with its neighbours).
    const made = path.join(dataDir, 'made');
    mkdirSync(made, { recursive: true });
    const delivery = path.join(dataDir, 'delivery');
    mkdirSync(delivery, { recursive: true });
    const a = (await validDalle(made, { xmin: 575_200, ymax: YMAX, year: 2026 })).file;
    const building = path.join(made, 'building.geojson');
    writeFileSync(building, JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'EPSG:2154' } }, features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[575_280, YMAX - 120], [575_320, YMAX - 120], [575_320, YMAX - 80], [575_280, YMAX - 80], [575_280, YMAX - 120]]] } }] }));
    const aOut = path.join(delivery, path.basename(a));
    await gdal('gdal_translate', ['-q', '-co', 'TILED=YES', a, aOut]);
    await gdal('gdal_rasterize', ['-q', '-burn', '60', '-burn', '40', '-burn', '40', building, aOut]);
    const b = (await validDalle(made, { xmin: 575_400, ymax: YMAX, year: 2026 })).file;
    await gdal('gdal_translate', ['-q', '-co', 'TILED=YES', '-scale', '0', '255', '110', '255', b, path.join(delivery, path.basename(b))]);

    const { versionName } = await service.prepareDelivery(OPERATOR, c.slug, '2026-04-02');
    const report = await ingestDelivery(ingestServices(ctx), { dir: delivery, datasetId: 'ortho', versionName, kind: 'update', publish: false, date: '2026-04-02' });
    const outcome = await service.recordIngest(OPERATOR, c.slug, report, '2026-04-02');
    expect(outcome).toMatchObject({ received: 2, rejected: 0, outside: [] });

    const before = { west: await tileAt(575_000), accepted: await tileAt(575_200), refused: await tileAt(575_400), east: await tileAt(575_600) };
    expect(Object.values(before)).not.toContain('none');

    // A checked campaign is needed to publish; the check decides per dalle.
    await expect(service.publish(OPERATOR, c.slug)).rejects.toMatchObject({ status: 409, code: 'campaign-not-checked' });
    const checked = await service.check(OPERATOR, c.slug);
    expect(checked.accepted).toEqual(['05752-63740']);
    expect(checked.rejected.map((r) => r.label)).toEqual(['05754-63740']);
    expect(checked.rejected[0]?.reason).toMatch(/Raccord radiométrique : écart de couleur moyen [\d.]+ \(sur 255\) le long du bord \w+, au-delà du seuil 12/);
    const dalles = new Map((await service.store.dalles(c.id, 2154)).map((d) => [d.label, d]));
    expect(dalles.get('05752-63740')?.seamScore).toBeLessThan(12);
    expect(dalles.get('05754-63740')?.seamScore).toBeGreaterThan(30);
    expect(checked.campaign.progress).toMatchObject({ accepted: 1, rejected: 1, received: 0 });

    await service.changeStatus(OPERATOR, c.slug, 'delivered');
    await service.changeStatus(OPERATOR, c.slug, 'checked');
    // Until the publication, the current orthophoto is the 2019 one everywhere.
    expect({ west: await tileAt(575_000), accepted: await tileAt(575_200), refused: await tileAt(575_400), east: await tileAt(575_600) }).toEqual(before);
    const published = await service.publish(OPERATOR, c.slug);
    expect(published.status).toBe('published');
    expect((await ctx.catalog.getVersion('ortho', versionName)).status).toBe('published');

    const after = { west: await tileAt(575_000), accepted: await tileAt(575_200), refused: await tileAt(575_400), east: await tileAt(575_600) };
    expect(after.accepted).not.toBe(before.accepted);
    expect(after.refused).toBe(before.refused);
    expect(after.west).toBe(before.west);
    expect(after.east).toBe(before.east);

    // Published: no second publication, no more deliveries, no more status changes.
    await expect(service.publish(OPERATOR, c.slug)).rejects.toMatchObject({ status: 409 });
    await expect(service.prepareDelivery(OPERATOR, c.slug, '2026-04-03')).rejects.toMatchObject({ status: 409, code: 'campaign-not-receiving' });
    await expect(service.changeStatus(OPERATOR, c.slug, 'delivered')).rejects.toMatchObject({ status: 409 });
    const events = (await service.store.events(c.id)).map((e) => e.action);
    expect(events).toEqual(['created', 'status-changed', 'status-changed', 'delivery', 'checked', 'status-changed', 'status-changed', 'published']);
  }, 300_000);
});
