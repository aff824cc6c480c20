/**
 * Usage counters and statistics (issue 15), on PGlite and PostgreSQL:
 * - traffic of three keys of two organisations (and anonymous callers) shows up in /api/v1/stats
 *   exactly (±0 requests) after a flush, per organisation, key, service, layer and status class;
 * - each user sees its own organisation and keys, another organisation's statistics are 403, the
 *   administrator sees everything; CSV export; bad periods and groups are 400;
 * - the heat map puts tiles asked in Lambert-93 and in Web Mercator in the 1 km cell they lie in;
 * - a flush that fails keeps its counts (nothing lost, nothing counted twice);
 * - retention deletes daily rows past their days and keeps the monthly ones; an older period is
 *   answered by month; a deleted organisation's history stays, labelled;
 * - on PostgreSQL, two `pcrs serve` processes count at once and stop gracefully: the totals add up.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import type { Database } from '../db/database.js';
import { transformPoint } from '../grid/crs.js';
import { tileAt, TMS_2154_5CM, TMS_WEB_MERCATOR_QUAD } from '../grid/tile-matrix-set.js';
import { buildServer } from '../server/app.js';
import { userWithKey } from '../test-support/access.js';
import { PCRS_BIN } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { freePort } from '../test-support/net.js';
import { generateDelivery } from '../test-support/imagery.js';
import { ingestDelivery } from '../raster/ingest/ingest.js';
import { ingestServices } from '../raster/ingest/services.js';
import { UsageMeter } from './meter.js';
import type { StatsAnswer } from './service.js';

/** A point in Cahors (Lambert-93) and the tiles over it. */
const CAHORS: [number, number] = [574_700, 6_370_300];
const l93Tile = tileAt(TMS_2154_5CM, 20, ...CAHORS)!;
const [lon, lat] = transformPoint('EPSG:2154', 'EPSG:4326', CAHORS);
const pmTile = tileAt(TMS_WEB_MERCATOR_QUAD, 18, ...transformPoint('EPSG:4326', 'EPSG:3857', [lon, lat]))!;
const WMTS_TILE = `/wmts/1.0.0/PCRS.ORTHO/default/2154_5cm/${l93Tile.z}/${l93Tile.row}/${l93Tile.col}.jpeg`;
const XYZ_TILE = `/tiles/PCRS.ORTHO/WebMercatorQuad/${pmTile.z}/${pmTile.col}/${pmTile.row}.jpeg`;

describe.each(ENGINES)('usage statistics on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let ctx: AppContext;
  let app: FastifyInstance;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pcrs-usage-'));
  let alice: { key: string; keyId: number; userId: number };
  let anna: { key: string; keyId: number; userId: number };
  let bob: { key: string; keyId: number; userId: number };
  let admin: { key: string; keyId: number; userId: number };

  const get = (url: string, key?: string) => app.inject({ method: 'GET', url, headers: key ? { authorization: `Bearer ${key}` } : {} });
  const ok = async (url: string, key?: string) => {
    const r = await get(url, key);
    expect(r.statusCode, `${url}: ${r.body.slice(0, 300)}`).toBe(200);
    return r;
  };
  const stats = async (query: string, key = admin.key) => {
    const r = await get(`/api/v1/stats?${query}`, key);
    expect(r.statusCode, r.body).toBe(200);
    return r.json<StatsAnswer>();
  };

  beforeAll(async () => {
    t = await open();
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' });
    ctx = buildAppContext(config, t.db);
    await ctx.catalog.ensureStandardDatasets('46');
    // One 200 m dalle over the place: tiles there are inside the layer's limits.
    const delivery = path.join(dataDir, 'delivery');
    await generateDelivery({ outDir: delivery, bbox: [574_600, 6_370_200, 574_800, 6_370_400], dalleSize: 200, seed: 46, year: 2025 });
    await ingestDelivery(ingestServices(ctx), { dir: delivery, datasetId: 'ortho', versionName: 'ortho-2025', date: '2025-06-01' });
    app = await buildServer(ctx, { logger: false });
    alice = await userWithKey(ctx, 'alice@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }] });
    anna = await userWithKey(ctx, 'anna@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }] });
    bob = await userWithKey(ctx, 'bob@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }] });
    admin = await userWithKey(ctx, 'admin@fdel46.fr', { platformRoles: ['platform-admin'], scopes: ['read', 'admin'] });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await ctx?.usage.close();
    await ctx?.access.close?.();
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('three keys of two organisations: every request counted exactly, per organisation, key, service, layer and status', async () => {
    for (let i = 0; i < 5; i++) await ok(WMTS_TILE, alice.key);
    for (let i = 0; i < 2; i++) await ok('/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0', alice.key);
    for (let i = 0; i < 3; i++) await ok(XYZ_TILE, anna.key);
    for (let i = 0; i < 4; i++) await ok(WMTS_TILE, bob.key);
    // A made-up layer: counted as a client error, without its name (no label from what anyone types).
    expect((await get('/wmts/1.0.0/NO.SUCH.LAYER/default/2154_5cm/20/1/1.jpeg', bob.key)).statusCode).toBeGreaterThanOrEqual(400);
    for (let i = 0; i < 2; i++) await ok(WMTS_TILE);
    await ctx.usage.flush();

    const all = await stats('group_by=org,key,service,layer,status&service=wmts,wms,xyz');
    expect(all.scope).toBe('all');
    expect(all.granularity).toBe('day');
    const row = (org: string | null, keyId: number | null, service: string, layer: string, status = '2xx') =>
      all.rows.find((r) => (r.organisation?.slug ?? null) === org && (r.key?.id ?? null) === keyId && r.service === service && r.layer === layer && r.status === status);
    expect(row('cahors', alice.keyId, 'wmts', 'PCRS.ORTHO')?.requests).toBe(5);
    expect(row('cahors', alice.keyId, 'wms', '')?.requests).toBe(2);
    expect(row('cahors', anna.keyId, 'xyz', 'PCRS.ORTHO')?.requests).toBe(3);
    expect(row('sdis46', bob.keyId, 'wmts', 'PCRS.ORTHO')?.requests).toBe(4);
    expect(row('sdis46', bob.keyId, 'wmts', '', '4xx')?.requests).toBe(1);
    expect(row(null, null, 'wmts', 'PCRS.ORTHO')?.requests).toBe(2);
    expect(all.totals.requests).toBe(17);
    expect(all.rows.every((r) => r.bytes > 0)).toBe(true);
    // The bytes are those sent: the WMS capabilities' two answers.
    const caps = await get('/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0', alice.key);
    await ctx.usage.flush();
    const wms = await stats('group_by=service&service=wms');
    expect(wms.rows[0]?.requests).toBe(3);
    expect(wms.rows[0]?.bytes).toBe(3 * Number(caps.headers['content-length']));

    // By organisation: the two Cahors keys add up.
    const byOrg = await stats('group_by=org&service=wmts,wms,xyz');
    expect(Object.fromEntries(byOrg.rows.map((r) => [r.organisation?.slug ?? 'anonymous', r.requests]))).toEqual({ cahors: 11, sdis46: 5, anonymous: 2 });
    // By day: today (Paris) holds them all.
    const byDay = await stats('group_by=day&service=wmts,wms,xyz');
    expect(byDay.rows).toHaveLength(1);
    expect(byDay.rows[0]?.requests).toBe(18);
  });

  it('each user sees its organisation and its own keys; another organisation is 403; anonymous 401; CSV export', async () => {
    const mine = await stats('group_by=org,key&service=wmts,wms,xyz', alice.key);
    expect(mine.scope).toBe('own');
    expect(new Set(mine.rows.map((r) => r.organisation?.slug))).toEqual(new Set(['cahors']));
    expect(mine.totals.requests).toBe(11);
    const forbidden = await get('/api/v1/stats?organisation=sdis46', alice.key);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ detail: expect.stringMatching(/your own organisations/) });
    expect((await get('/api/v1/stats')).statusCode).toBe(401);
    expect((await get('/api/v1/stats?organisation=nowhere', admin.key)).statusCode).toBe(404);
    const bobs = await stats('organisation=sdis46&group_by=org&service=wmts', admin.key);
    expect(bobs.rows).toEqual([expect.objectContaining({ organisation: expect.objectContaining({ slug: 'sdis46' }), requests: 5 })]);

    const csv = await get('/api/v1/stats?group_by=org,service&service=wmts&format=csv', admin.key);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toBe('organisation,organisation_name,service,requests,bytes');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 4).join(','))).toEqual(['cahors,CAHORS,wmts,5', 'sdis46,SDIS46,wmts,5', '(anonyme),sans organisation,wmts,2']);
  });

  it('bad input: a period upside down, a bad date, an unknown group, daily counts asked beyond their retention', async () => {
    const bad = async (query: string, pattern: RegExp) => {
      const r = await get(`/api/v1/stats?${query}`, admin.key);
      expect(r.statusCode, query).toBe(400);
      expect(JSON.stringify(r.json()), query).toMatch(pattern);
    };
    await bad('from=2026-05-02&to=2026-05-01', /is after to/);
    await bad('from=2026-02-30', /YYYY-MM-DD/);
    await bad('from=hier', /YYYY-MM-DD/);
    await bad('group_by=org,colour', /Cannot group by 'colour'/);
    await bad('group_by=day,month', /day or by month/);
    await bad('from=2001-01-01&to=2001-03-01&group_by=day', /Daily counts are kept 400 days/);
    // A period with no data: an empty answer, not an error.
    const empty = await stats('from=2001-01-01&to=2001-03-01&group_by=month');
    expect(empty).toMatchObject({ granularity: 'month', from: '2001-01-01', to: '2001-03-31', rows: [], totals: { requests: 0, bytes: 0 } });
  });

  it('the heat map: tiles asked in Lambert-93 and in Web Mercator land in the 1 km cells around the place', async () => {
    const r = await get('/api/v1/stats/areas', alice.key);
    expect(r.statusCode, r.body).toBe(200);
    const { cells } = r.json<{ cells: Array<{ cellX: number; cellY: number; requests: number }> }>();
    // 11 tiles in Lambert-93 (alice 5, bob 4, anonymous 2) and 3 in Web Mercator (anna), within a kilometre of Cahors.
    const near = cells.filter((c) => Math.abs((c.cellX + 0.5) * 1000 - CAHORS[0]) <= 1500 && Math.abs((c.cellY + 0.5) * 1000 - CAHORS[1]) <= 1500);
    expect(near.reduce((n, c) => n + c.requests, 0)).toBe(14);
    expect(cells.reduce((n, c) => n + c.requests, 0)).toBe(14);
    expect((await get('/api/v1/stats/areas')).statusCode).toBe(401);
  });

  it('a flush that fails keeps its counts: the next one writes them once', async () => {
    let failures = 1;
    const flaky: Database = {
      ...t.db,
      transaction: async (fn) => {
        if (failures-- > 0) throw new Error('connection lost');
        return t.db.transaction(fn);
      },
    };
    const meter = new UsageMeter(flaky, { flushMs: 3_600_000 });
    const labels = { service: 'wfs', layer: 'flaky', organisationId: null, keyId: null, status: 200 };
    for (let i = 0; i < 7; i++) meter.count(labels, 10);
    await meter.flush();
    meter.count(labels, 10);
    await meter.flush();
    await meter.close();
    const r = await stats('group_by=layer&layer=flaky');
    expect(r.rows).toEqual([{ layer: 'flaky', requests: 8, bytes: 80 }]);
  });

  it('retention: old daily rows go, the monthly ones stay and answer older periods; a deleted organisation stays, labelled', async () => {
    await t.db.query(
      `INSERT INTO usage_daily (day, service, layer, organisation_id, key_id, status_class, requests, bytes) VALUES ('2024-03-10', 'wmts', 'PCRS.ORTHO', 987654, NULL, 2, 40, 4000)`,
    );
    await t.db.query(
      `INSERT INTO usage_monthly (month, service, layer, organisation_id, key_id, status_class, requests, bytes) VALUES ('2024-03-01', 'wmts', 'PCRS.ORTHO', 987654, NULL, 2, 40, 4000), ('2010-01-01', 'wms', '', NULL, NULL, 2, 1, 1)`,
    );
    const { UsageService } = await import('./service.js');
    const gone = await new UsageService(ctx).purge();
    expect(gone).toMatchObject({ daily: 1, monthly: 1 });
    expect((await t.db.query(`SELECT count(*)::int AS n FROM usage_daily WHERE day = '2024-03-10'`)).rows[0]).toEqual({ n: 0 });
    const old = await stats('from=2024-01-15&to=2024-04-02&group_by=month,org');
    expect(old).toMatchObject({ granularity: 'month', from: '2024-01-01', to: '2024-04-30' });
    expect(old.rows).toEqual([{ month: '2024-03', organisation: { id: 987654, slug: null, name: 'organisation supprimée n° 987654', deleted: true }, requests: 40, bytes: 4000 }]);
  });

  it.runIf(engine === 'postgres')('two pcrs serve processes count at once; stopped gracefully, their totals add up exactly', async () => {
    const before = (await stats('group_by=service&service=xyz')).totals.requests;
    const nodes = await Promise.all(
      [0, 1].map(async () => {
        // Both nodes on the same catalogue, tiers and server secret (the data dir holds the last two).
        const port = await freePort();
        const child = spawn(process.execPath, [PCRS_BIN, 'serve', '--port', String(port)], {
          // A flush interval of an hour: only the graceful stop writes the counts.
          env: { ...process.env, ...t.env, PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'warn', PCRS_USAGE_FLUSH_SECONDS: '3600', PCRS_CONFIG: '', PCRS_DEMO: 'false' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString()));
        child.stderr.on('data', (b: Buffer) => (out += b.toString()));
        const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
        for (let n = 0; n < 120 && !/ready/.test(out); n++) await new Promise((r) => setTimeout(r, 250));
        expect(out).toMatch(/ready/);
        return { child, exited, base: `http://127.0.0.1:${port}` };
      }),
    );
    const perNode = [23, 31];
    await Promise.all(
      nodes.map(async (node, i) => {
        for (let n = 0; n < perNode[i]!; n++) {
          const r = await fetch(`${node.base}${XYZ_TILE}`, { headers: { authorization: `Bearer ${n % 2 ? alice.key : bob.key}` } });
          expect(r.status).toBe(200);
          await r.arrayBuffer();
        }
      }),
    );
    for (const node of nodes) node.child.kill('SIGTERM');
    expect(await Promise.all(nodes.map((n) => n.exited))).toEqual([0, 0]);
    const after = await stats('group_by=service,org&service=xyz');
    expect(after.totals.requests - before).toBe(54);
    expect(after.rows.find((r) => r.organisation?.slug === 'sdis46')?.requests).toBe(12 + 16);
  }, 120_000);
});
