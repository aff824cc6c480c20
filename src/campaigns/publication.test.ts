/**
 * A campaign's acceptance check and publication on PGlite and PostgreSQL, with real imagery: over
 * a current orthophoto of five 200 m dalles, a campaign expects four; the delivery brings one with a
 * new building, one with a street resurfaced, one unchanged (their seams match the dalles around)
 * and one whose colours are off (refused at the seams, with the reason). Published, the current
 * orthophoto's tiles change where the accepted dalles are — not under the refused one, not outside
 * the campaign —, the change scores and the change map light the building and the street and not
 * the unchanged dalle. On PostgreSQL, a `pcrs campaigns publish` killed in the middle of its switch
 * leaves the 2019 orthophoto served and the campaign checked, and the publication then resumes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { OPERATOR } from '../context/access.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { transformPoint } from '../grid/crs.js';
import { tileRange, TMS_2154_5CM } from '../grid/tile-matrix-set.js';
import { buildServer } from '../server/app.js';
import { changesCapability } from '../changes/capability.js';
import { rasterCapability } from '../raster/capability.js';
import { campaignsCapability } from './capability.js';
import { ingestDelivery } from '../raster/ingest/ingest.js';
import { ingestServices } from '../raster/ingest/services.js';
import { PyramidReader } from '../raster/pyramid/pyramid-reader.js';
import { PCRS_BIN } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { gdal } from '../test-support/gdal.js';
import { validDalle } from '../test-support/imagery.js';
import { CampaignService } from './service.js';

const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
const YMAX = 6_374_000;

describe.each(ENGINES)('campaign check and publication on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let dataDir: string;
  let ctx: AppContext;
  let service: CampaignService;
  let app: FastifyInstance;
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
    for (const xmin of [575_000, 575_200, 575_400, 575_600, 575_800]) names[xmin] = path.basename((await validDalle(current, { xmin, ymax: YMAX, year: 2019 })).file);
    const report = await ingestDelivery(ingestServices(ctx), { dir: current, datasetId: 'ortho', versionName: '2019', date: '2019-06-01' });
    expect(report.summary.ok + report.summary.warning).toBe(5);
    service = new CampaignService(ctx);
    app = await buildServer(ctx, { logger: false, capabilities: [campaignsCapability, changesCapability, rasterCapability] });
    await app.listen({ host: '127.0.0.1', port: 0 }); // GDAL reads the change map's WMTS over HTTP
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    ctx?.mail.close();
    await ctx?.access.close?.().catch(() => undefined);
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses the dalle whose seams do not match, publishes the others; the current tiles, the change scores and the change map change only where the imagery did', async () => {
    const c = await service.create(OPERATOR, {
      slug: 'maj-lot-ouest',
      title: 'Mise à jour Lot ouest',
      kind: 'ortho',
      dalleSize: 200,
      area: { source: 'drawn', geometry: { type: 'Polygon', coordinates: [[[575_200, YMAX - 200], [576_000, YMAX - 200], [576_000, YMAX], [575_200, YMAX], [575_200, YMAX - 200]]], crs: L93 } },
      plannedStart: '2026-03-01',
      plannedEnd: '2026-09-30',
    });
    expect(c.progress.expected).toBe(4);
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
    await gdal('gdal_rasterize', ['-q', '-b', '1', '-b', '2', '-b', '3', '-burn', '60', '-burn', '40', '-burn', '40', building, aOut]);
    const b = (await validDalle(made, { xmin: 575_400, ymax: YMAX, year: 2026 })).file;
    await gdal('gdal_translate', ['-q', '-co', 'TILED=YES', '-scale', '0', '255', '110', '255', b, path.join(delivery, path.basename(b))]);
    await validDalle(delivery, { xmin: 575_600, ymax: YMAX, year: 2026 });
    // A street resurfaced: a dark band 10 m wide across the dalle at 575 800.
    const d = (await validDalle(made, { xmin: 575_800, ymax: YMAX, year: 2026 })).file;
    const street = path.join(made, 'street.geojson');
    writeFileSync(street, JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'EPSG:2154' } }, features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[575_800, YMAX - 115], [576_000, YMAX - 115], [576_000, YMAX - 105], [575_800, YMAX - 105], [575_800, YMAX - 115]]] } }] }));
    const dOut = path.join(delivery, path.basename(d));
    await gdal('gdal_translate', ['-q', '-co', 'TILED=YES', d, dOut]);
    await gdal('gdal_rasterize', ['-q', '-b', '1', '-b', '2', '-b', '3', '-burn', '35', '-burn', '35', '-burn', '38', street, dOut]);

    const { versionName } = await service.prepareDelivery(OPERATOR, c.slug, '2026-04-02');
    const report = await ingestDelivery(ingestServices(ctx), { dir: delivery, datasetId: 'ortho', versionName, kind: 'update', publish: false, date: '2026-04-02' });
    const outcome = await service.recordIngest(OPERATOR, c.slug, report, '2026-04-02');
    expect(outcome).toMatchObject({ received: 4, rejected: 0, outside: [] });

    const before = { west: await tileAt(575_000), accepted: await tileAt(575_200), refused: await tileAt(575_400), street: await tileAt(575_800) };
    expect(Object.values(before)).not.toContain('none');

    // A checked campaign is needed to publish; the check decides per dalle.
    await expect(service.publish(OPERATOR, c.slug)).rejects.toMatchObject({ status: 409, code: 'campaign-not-checked' });
    const checked = await service.check(OPERATOR, c.slug);
    expect(checked.accepted).toEqual(['05752-63740', '05756-63740', '05758-63740']);
    expect(checked.rejected.map((r) => r.label)).toEqual(['05754-63740']);
    expect(checked.rejected[0]?.reason).toMatch(/Raccord radiométrique : écart de couleur moyen [\d.]+ \(sur 255\) le long du bord \w+, au-delà du seuil 12/);
    const dalles = new Map((await service.store.dalles(c.id, 2154)).map((d) => [d.label, d]));
    expect(dalles.get('05752-63740')?.seamScore).toBeLessThan(12);
    expect(dalles.get('05754-63740')?.seamScore).toBeGreaterThan(30);
    expect(checked.campaign.progress).toMatchObject({ accepted: 3, rejected: 1, received: 0 });

    await service.changeStatus(OPERATOR, c.slug, 'delivered');
    await service.changeStatus(OPERATOR, c.slug, 'checked');
    // Until the publication, the current orthophoto is the 2019 one everywhere.
    expect({ west: await tileAt(575_000), accepted: await tileAt(575_200), refused: await tileAt(575_400), street: await tileAt(575_800) }).toEqual(before);
    if (engine === 'postgres') {
      // A crash in the middle of the switch: `pcrs campaigns publish` killed (SIGKILL) while its
      // transaction has raised and published the version and waits to log the event (held by a
      // lock of ours). The previous orthophoto is still served and the campaign is still checked.
      const holder = new pg.Client({ connectionString: t.env.DATABASE_URL });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE campaign_events IN SHARE MODE');
        const cli = spawn(process.execPath, [PCRS_BIN, 'campaigns', 'publish', c.slug], { env: { PATH: process.env.PATH ?? '', ...t.env, PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let said = '';
        cli.stdout.on('data', (b: Buffer) => (said += b.toString()));
        cli.stderr.on('data', (b: Buffer) => (said += b.toString()));
        let ended = false;
        const exited = new Promise<NodeJS.Signals | null>((resolve) => cli.on('exit', (_code, signal) => ((ended = true), resolve(signal))));
        // Asked on another connection: in the holder's transaction, pg_stat_activity is a snapshot taken once.
        const waiting = async () =>
          ended
            ? `pcrs ended before the switch: ${said}`
            : (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO campaign_events%'`)).rows[0]?.n;
        await expect.poll(waiting, { timeout: 60_000, interval: 100 }).toBe(1);
        cli.kill('SIGKILL');
        expect(await exited).toBe('SIGKILL');
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
      expect((await service.store.get(c.slug)).status).toBe('checked');
      expect((await ctx.catalog.getVersion('ortho', versionName)).status).not.toBe('published');
      expect({ west: await tileAt(575_000), accepted: await tileAt(575_200), refused: await tileAt(575_400), street: await tileAt(575_800) }).toEqual(before);
    }
    // The publication (again, after the crash, on PostgreSQL): it resumes from the checked campaign.
    const beforePublication = new Date().toISOString();
    const published = await service.publish(OPERATOR, c.slug);
    expect(published.status).toBe('published');
    expect((await ctx.catalog.getVersion('ortho', versionName)).status).toBe('published');

    const after = { west: await tileAt(575_000), accepted: await tileAt(575_200), refused: await tileAt(575_400), street: await tileAt(575_800) };
    expect(after.accepted).not.toBe(before.accepted);
    expect(after.refused).toBe(before.refused);
    expect(after.west).toBe(before.west);
    expect(after.street).not.toBe(before.street);

    // What changed: the building and the street, not the dalle delivered as it was.
    const changes = (await app.inject({ method: 'GET', url: '/api/v1/campaigns/maj-lot-ouest/changes' })).json();
    expect(changes.changed).toBe(2);
    const score = new Map((changes.dalles as Array<{ label: string; changeScore: number; changed: boolean }>).map((x) => [x.label, x]));
    expect(score.get('05752-63740')).toMatchObject({ changed: true });
    expect(score.get('05758-63740')).toMatchObject({ changed: true });
    expect(score.get('05756-63740')).toMatchObject({ changed: false });
    expect(score.get('05756-63740')?.changeScore).toBeLessThan(0.002);
    expect(score.get('05752-63740')?.changeScore).toBeGreaterThan(0.02);
    // The change map: painted over the building's dalle, transparent over the unchanged one.
    const alphaAt = async (x: number, y: number) => {
      const z = 16;
      const [mx, my] = transformPoint('EPSG:2154', 'EPSG:3857', [x, y]);
      const span = 40_075_016.685578488 / 2 ** z;
      const [fx, fy] = [(mx + 20_037_508.342789244) / span, (20_037_508.342789244 - my) / span];
      const res = await app.inject({ method: 'GET', url: `/api/v1/campaigns/maj-lot-ouest/change-map/${z}/${Math.floor(fx)}/${Math.floor(fy)}.png` });
      expect(res.headers['content-type']).toBe('image/png');
      const { data } = await sharp(res.rawPayload).raw().toBuffer({ resolveWithObject: true });
      return data[(Math.floor((fy % 1) * 256) * 256 + Math.floor((fx % 1) * 256)) * 4 + 3];
    };
    expect(await alphaAt(575_300, YMAX - 100)).toBeGreaterThan(0);
    expect(await alphaAt(575_700, YMAX - 100)).toBe(0);
    expect((await app.inject({ method: 'GET', url: '/api/v1/campaigns/maj-lot-ouest/change-map/16/1/x.png' })).statusCode).toBe(400);
    // The change map as WMTS, read by a real client (GDAL's WMTS driver): the same colours.
    const caps = await app.inject({ method: 'GET', url: '/api/v1/campaigns/maj-lot-ouest/change-map/WMTSCapabilities.xml' });
    expect(caps.headers['content-type']).toMatch(/^application\/xml/);
    expect(caps.body).toContain('<ows:Identifier>PCRS.CHANGES.maj-lot-ouest</ows:Identifier>');
    expect((await app.inject({ method: 'GET', url: '/api/v1/campaigns/nope/change-map/WMTSCapabilities.xml' })).statusCode).toBe(404);
    const address = app.server.address();
    const wmts = `WMTS:http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1/campaigns/maj-lot-ouest/change-map/WMTSCapabilities.xml`;
    const wmtsAlphaAt = async (x: number, y: number) => {
      const [mx = 0, my = 0] = transformPoint('EPSG:2154', 'EPSG:3857', [x, y]);
      const out = path.join(dataDir, `wmts-${x}.tif`);
      // No GDAL tile cache: it would write ./gdalwmscache and answer the next run from it.
      await gdal('gdal_translate', ['-q', '--config', 'GDAL_ENABLE_WMS_CACHE', 'NO', '-projwin', String(mx - 3), String(my + 3), String(mx + 3), String(my - 3), '-outsize', '2', '2', wmts, out]);
      const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
      expect(info.channels).toBe(4);
      return data[3];
    };
    expect(await wmtsAlphaAt(575_300, YMAX - 100)).toBeGreaterThan(0);
    expect(await wmtsAlphaAt(575_700, YMAX - 100)).toBe(0);

    // The changes feed since just before the publication: the campaign's three dalles (not the refused
    // one, not the 2019 orthophoto published earlier), each with its change score and download.
    const feed = await app.inject({ method: 'GET', url: `/api/v1/changes?since=${encodeURIComponent(beforePublication)}` });
    expect(feed.statusCode, feed.body).toBe(200);
    const items = feed.json().items as Array<{ kind: string; version: string; name: string; campaign: string; changeScore: number; download: string }>;
    expect(items.map((i) => `${i.version}/${i.name.slice(8, 19)}`)).toEqual(['campaign-maj-lot-ouest/05752-63740', 'campaign-maj-lot-ouest/05756-63740', 'campaign-maj-lot-ouest/05758-63740']);
    expect(items[0]).toMatchObject({ kind: 'dalle', campaign: 'maj-lot-ouest' });
    expect(items[0]?.changeScore).toBeGreaterThan(0.02);
    const download = await app.inject({ method: 'GET', url: new URL(items[0]?.download as string).pathname });
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.length).toBeGreaterThan(100_000);
    expect(items[0]?.download).toMatch(/\/api\/datasets\/ortho\/versions\/campaign-maj-lot-ouest\/dalles\/46-2026-05752-63740-LA93-0M05-RVB\/download$/);
    const atom = await app.inject({ method: 'GET', url: `/api/v1/changes?since=${encodeURIComponent(beforePublication)}`, headers: { accept: 'application/atom+xml' } });
    expect(atom.headers['content-type']).toMatch(/application\/atom\+xml/);
    expect(atom.body.match(/<entry>/g)).toHaveLength(3);
    expect(atom.body).toContain('rel="enclosure"');
    expect((await app.inject({ method: 'GET', url: '/api/v1/changes?since=hier' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/api/v1/changes?since=2000-01-01' })).json().items.length).toBeGreaterThanOrEqual(8);

    // The history of a point: under the new building, the campaign (shown now) over 2019; under the
    // refused dalle, 2019 only; in WGS84 too; outside the territory, 400.
    const history = async (x: number, y: number, crs = 'EPSG:2154') => (await app.inject({ method: 'GET', url: `/api/v1/history?x=${x}&y=${y}&crs=${crs}` })).json();
    const underBuilding = await history(575_300, YMAX - 100);
    expect(underBuilding.versions.map((v: { version: string; current: boolean; campaign: string | null }) => [v.version, v.current, v.campaign])).toEqual([
      ['campaign-maj-lot-ouest', true, 'maj-lot-ouest'],
      ['2019', false, null],
    ]);
    expect((await history(575_500, YMAX - 100)).versions.map((v: { version: string; current: boolean }) => [v.version, v.current])).toEqual([['2019', true]]);
    const [lon, lat] = transformPoint('EPSG:2154', 'OGC:CRS84', [575_300, YMAX - 100]);
    expect((await history(lon, lat, 'EPSG:4326')).versions).toHaveLength(2);
    expect((await app.inject({ method: 'GET', url: '/api/v1/history?x=100&y=100' })).statusCode).toBe(400);

    // Published: no second publication, no more deliveries, no more status changes.
    await expect(service.publish(OPERATOR, c.slug)).rejects.toMatchObject({ status: 409 });
    await expect(service.prepareDelivery(OPERATOR, c.slug, '2026-04-03')).rejects.toMatchObject({ status: 409, code: 'campaign-not-receiving' });
    await expect(service.changeStatus(OPERATOR, c.slug, 'delivered')).rejects.toMatchObject({ status: 409 });
    const events = (await service.store.events(c.id)).map((e) => e.action);
    expect(events).toEqual(['created', 'status-changed', 'status-changed', 'delivery', 'checked', 'status-changed', 'status-changed', 'published']);
  }, 300_000);
});
