/**
 * Works "to update" marks on PGlite and PostgreSQL: which works mark (a theme, ended, not rejected),
 * what they mark (the catalogue's dalles and vector areas their footprint covers, a point or line
 * buffered, a polygon as drawn, nothing acquired after the works), idempotence, the listing route
 * (GeoJSON, WGS84, Lambert-93 bbox, filters, access) and the leased loop of a listening server.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { OPERATOR } from '../context/access.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { buildServer } from '../server/app.js';
import { userWithKey } from '../test-support/access.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { declarationsCapability } from './capability.js';
import type { Theme } from './model.js';
import { DeclarationService } from './service.js';
import { UpdateMarks } from './to-update.js';
import { parisToday } from '../util/paris-day.js';

const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
const dayOffset = (days: number) => parisToday(new Date(Date.now() + days * 86_400_000));
const TODAY = parisToday();
const YESTERDAY = dayOffset(-1);
const TOMORROW = dayOffset(1);

describe.each(ENGINES)('works "to update" on $engine', ({ open }) => {
  let t: TestDatabase;
  let dataDir: string;
  let ctx: AppContext;
  let app: FastifyInstance;
  let service: DeclarationService;
  let marks: UpdateMarks;
  let readerKey: string;
  let writerKey: string;
  const ids: Record<string, number> = {};

  const works = async (name: string, geometry: object, w: { end?: string; themes?: Theme[] }) => {
    const d = await service.create(OPERATOR, {
      type: 'works',
      title: `Travaux ${name}`,
      description: 'Réfection de chaussée',
      geometry: { ...geometry, crs: L93 } as never,
      works: { dtDictRef: `REF-${name}`, ...(w.end ? { plannedEnd: w.end } : {}), themes: w.themes ?? [] },
    });
    ids[name] = d.id;
    return d.id;
  };
  const marksOf = async (id: number) =>
    (
      await t.db.query<{ dataset: string; version: string; dalle: string | null }>(
        `SELECT v.dataset_id AS dataset, v.name AS version, m.dalle_name AS dalle FROM declaration_update_marks m JOIN versions v ON v.id = m.version_id WHERE m.declaration_id = $1 ORDER BY 1, 2, 3`,
        [id],
      )
    ).rows.map((r) => `${r.dataset}/${r.version}/${r.dalle ?? '(area)'}`);

  beforeAll(async () => {
    t = await open();
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-to-update-'));
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' });
    ctx = buildAppContext(config, t.db);
    await ctx.catalog.ensureStandardDatasets('46');
    // The orthophoto 2025 (acquisition date unknown) over two 1 km dalles of Cahors; an orthophoto
    // acquired today (it shows the street as works that ended before today left it); a withdrawn
    // version; a vector version acquired in March 2025 covering the west kilometre.
    const version = async (dataset: string, name: string, status: string, acquired: string | null) =>
      Number((await t.db.query<{ id: number }>(`INSERT INTO versions (dataset_id, name, status, acquisition_date) VALUES ($1, $2, $3, $4::date) RETURNING id`, [dataset, name, status, acquired])).rows[0]?.id);
    const dalle = async (versionId: number, name: string, col: number) =>
      t.db.query(`INSERT INTO dalles (version_id, name, size_m, grid_col, grid_row, footprint, state) VALUES ($1, $2, 1000, $3, 6374, ST_MakeEnvelope($4, 6373000, $5, 6374000, 2154), 'published')`, [versionId, name, col, col * 1000, col * 1000 + 1000]);
    const v2025 = await version('ortho', '2025', 'published', null);
    await dalle(v2025, '46-2025-0575-6374', 575);
    await dalle(v2025, '46-2025-0576-6374', 576);
    const vFresh = await version('ortho', '2026', 'published', TODAY);
    await dalle(vFresh, '46-2026-0575-6374', 575);
    const vGone = await version('ortho', '2019', 'withdrawn', '2019-06-01');
    await dalle(vGone, '46-2019-0575-6374', 575);
    const vVector = await version('vector', '2025', 'published', '2025-03-01');
    const imp = await t.db.query<{ id: number }>(`INSERT INTO vector_imports (version_id, file_name, sha256, bytes, feature_count) VALUES ($1, 'cahors.gml', $2, 1, 0) RETURNING id`, [vVector, 'a'.repeat(64)]);
    await t.db.query(`INSERT INTO vector_areas (version_id, import_id, source, footprint) VALUES ($1, $2, 'emprise', ST_MakeEnvelope(575000, 6373000, 576000, 6374000, 2154))`, [vVector, Number(imp.rows[0]?.id)]);

    service = new DeclarationService(ctx);
    marks = new UpdateMarks(ctx);
    readerKey = (await userWithKey(ctx, 'lecteur@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read'] })).key;
    writerKey = (await userWithKey(ctx, 'voirie@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['declarations:write'] })).key;
    app = await buildServer(ctx, { logger: false, capabilities: [declarationsCapability] });
    await app.ready();

    // A point in the middle of dalle 0575 (buffered 10 m: stays inside it).
    await works('point', { type: 'Point', coordinates: [575_200, 6_373_600] }, { end: YESTERDAY, themes: ['03B'] });
    // A point 5 m from the 0575/0576 edge: its 10 m buffer reaches 0576.
    await works('edge-point', { type: 'Point', coordinates: [575_995, 6_373_500] }, { end: YESTERDAY, themes: ['02'] });
    // A polygon 1 m from the same edge: taken as drawn, not buffered.
    await works('polygon', { type: 'Polygon', coordinates: [[[575_990, 6_373_400], [575_999, 6_373_400], [575_999, 6_373_410], [575_990, 6_373_410], [575_990, 6_373_400]]] }, { end: YESTERDAY, themes: ['05'] });
    // A trench across both dalles.
    await works('line', { type: 'LineString', coordinates: [[575_500, 6_373_300], [576_500, 6_373_300]] }, { end: YESTERDAY, themes: ['03A', '10'] });
    // Works that ended before the vector survey and the 2026 orthophoto: only the 2025 orthophoto (acquisition unknown) is marked.
    await works('long-ago', { type: 'Point', coordinates: [575_100, 6_373_100] }, { end: '2025-01-10', themes: ['03B'] });
    // Not marked: ends today (still on), tomorrow, no theme, no end date, rejected, duplicate.
    await works('today', { type: 'Point', coordinates: [575_300, 6_373_600] }, { end: TODAY, themes: ['03B'] });
    await works('tomorrow', { type: 'Point', coordinates: [575_300, 6_373_700] }, { end: TOMORROW, themes: ['03B'] });
    await works('no-theme', { type: 'Point', coordinates: [575_300, 6_373_800] }, { end: YESTERDAY });
    await works('no-end', { type: 'Point', coordinates: [575_300, 6_373_900] }, { themes: ['03B'] });
    await works('rejected', { type: 'Point', coordinates: [575_400, 6_373_600] }, { end: YESTERDAY, themes: ['03B'] });
    await service.changeStatus(OPERATOR, ids.rejected as number, { status: 'rejected', reason: 'Pas de modification de la voirie' }, { base: 'http://localhost' });
    await works('duplicate', { type: 'Point', coordinates: [575_200, 6_373_600] }, { end: YESTERDAY, themes: ['03B'] });
    await service.changeStatus(OPERATOR, ids.duplicate as number, { status: 'duplicate', reason: 'Même chantier', duplicateOf: ids.point as number }, { base: 'http://localhost' });
    // An error declaration is not works.
    await service.create(OPERATOR, { type: 'error', title: 'Bordure', description: 'x', geometry: { type: 'Point', coordinates: [575_200, 6_373_600], crs: L93 } });
  });
  afterAll(async () => {
    await app?.close();
    ctx?.mail.close();
    await ctx?.access.close?.().catch(() => undefined);
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('marks the dalles and vector areas of ended works with a theme, a point or line buffered 10 m, a polygon as drawn; nothing else', async () => {
    const added = await marks.mark();
    expect(await marksOf(ids.point as number)).toEqual(['ortho/2025/46-2025-0575-6374', 'vector/2025/(area)']);
    expect(await marksOf(ids['edge-point'] as number)).toEqual(['ortho/2025/46-2025-0575-6374', 'ortho/2025/46-2025-0576-6374', 'vector/2025/(area)']);
    expect(await marksOf(ids.polygon as number)).toEqual(['ortho/2025/46-2025-0575-6374', 'vector/2025/(area)']);
    expect(await marksOf(ids.line as number)).toEqual(['ortho/2025/46-2025-0575-6374', 'ortho/2025/46-2025-0576-6374', 'vector/2025/(area)']);
    expect(await marksOf(ids['long-ago'] as number)).toEqual(['ortho/2025/46-2025-0575-6374']);
    for (const name of ['today', 'tomorrow', 'no-theme', 'no-end', 'rejected', 'duplicate']) expect(await marksOf(ids[name] as number), name).toEqual([]);
    expect(added).toHaveLength(11);
    const point = added.find((m) => m.declarationId === ids.point && m.dalle !== null);
    expect(point).toMatchObject({ dtDictRef: 'REF-point', dataset: 'ortho', version: '2025', dalle: '46-2025-0575-6374', dueOn: YESTERDAY, themes: ['03B'], consumedAt: null });
    // The point's area: a 10 m disc.
    expect(point?.bbox).toEqual([575_190, 6_373_590, 575_210, 6_373_610]);
    const area = await t.db.query<{ a: number; kind: string }>(`SELECT ST_Area(area) AS a, GeometryType(area) AS kind FROM declaration_update_marks WHERE id = $1`, [point?.id ?? null]);
    expect(area.rows[0]?.kind).toBe('POLYGON');
    expect(Number(area.rows[0]?.a)).toBeCloseTo(Math.PI * 100, -1);
    // The polygon is stored as drawn (90 m²).
    const poly = await t.db.query<{ a: number }>(`SELECT ST_Area(area) AS a FROM declaration_update_marks WHERE declaration_id = $1 LIMIT 1`, [ids.polygon as number]);
    expect(Number(poly.rows[0]?.a)).toBeCloseTo(90, 3);
  });

  it('is idempotent: marking again adds nothing; works that end later are marked on a later day (--as-of)', async () => {
    const before = (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM declaration_update_marks`)).rows[0]?.n;
    expect(await marks.mark()).toEqual([]);
    expect(await marks.mark(TODAY)).toEqual([]);
    expect((await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM declaration_update_marks`)).rows[0]?.n).toBe(before);
    // The day after tomorrow, the works ending today and tomorrow are due too, also on the
    // orthophoto acquired today (while they were on); once each.
    const later = await marks.mark(dayOffset(2));
    expect(later.map((m) => m.declarationId).sort()).toEqual([ids.today, ids.today, ids.today, ids.tomorrow, ids.tomorrow, ids.tomorrow].sort());
    expect(await marks.mark(dayOffset(2))).toEqual([]);
    // Concurrent markings (two nodes, or the CLI while the server runs) make no duplicates.
    await t.db.query(`DELETE FROM declaration_update_marks WHERE declaration_id = ANY ($1::bigint[])`, [[ids.today, ids.tomorrow]]);
    const both = await Promise.all([marks.mark(dayOffset(2)), marks.mark(dayOffset(2))]);
    expect(both[0].length + both[1].length).toBe(6);
    expect(await marksOf(ids.today as number)).toEqual(['ortho/2025/46-2025-0575-6374', 'ortho/2026/46-2026-0575-6374', 'vector/2025/(area)']);
  });

  it('GET /api/v1/declarations/to-update: a GeoJSON FeatureCollection in WGS84 with Lambert-93 bboxes, filtered by dataset/version, signed in only', async () => {
    const get = (query = '', key: string | null = readerKey) => app.inject({ url: `/api/v1/declarations/to-update${query}`, ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}) });
    expect((await get('', null)).statusCode).toBe(401);
    const all = await get();
    expect(all.statusCode, all.body).toBe(200);
    expect(all.headers['content-type']).toMatch(/^application\/geo\+json/);
    const fc = all.json() as { type: string; numberMatched: number; numberReturned: number; features: Array<{ id: number; bbox: number[]; geometry: { type: string; coordinates: number[][][] }; properties: Record<string, unknown> }> };
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.numberMatched).toBe(17);
    expect(fc.features).toHaveLength(17);
    const f = fc.features.find((x) => x.properties.declarationId === ids.point && x.properties.dalle === '46-2025-0575-6374');
    expect(f?.geometry.type).toBe('Polygon');
    const [lon, lat] = f?.geometry.coordinates[0]?.[0] ?? [];
    expect(lon).toBeGreaterThan(1.43);
    expect(lon).toBeLessThan(1.46);
    expect(lat).toBeGreaterThan(44.43);
    expect(lat).toBeLessThan(44.46);
    expect(f?.bbox[0]).toBeLessThan(f?.bbox[2] as number);
    expect(f?.properties).toMatchObject({ dataset: 'ortho', version: '2025', dueOn: YESTERDAY, bboxLambert93: [575_190, 6_373_590, 575_210, 6_373_610], dtDictRef: 'REF-point', status: 'submitted' });
    // Oldest due first.
    expect(fc.features[0]?.properties).toMatchObject({ declarationId: ids['long-ago'], dueOn: '2025-01-10' });
    const vector = (await get('?dataset=vector')).json() as typeof fc;
    expect(vector.features.map((x) => x.properties.dalle)).toEqual(Array(6).fill(null));
    expect((await get('?dataset=ortho&version=2025')).json().numberMatched).toBe(9);
    expect((await get('?dataset=ortho&version=2026')).json().features.map((x: { properties: { declarationId: number } }) => x.properties.declarationId).sort()).toEqual([ids.today, ids.tomorrow].sort());
    const page = (await get('?limit=2&offset=2')).json() as typeof fc;
    expect(page.features.map((x) => x.id)).toEqual(fc.features.slice(2, 4).map((x) => x.id));
    for (const bad of ["?dataset=ortho'%20OR%201=1", '?limit=0', '?limit=100000', '?bogus=1']) expect((await get(bad)).statusCode, bad).toBe(400);
    // Consumed marks and marks of declarations rejected since are left out.
    await t.db.query(`UPDATE declaration_update_marks SET consumed_at = now(), consumed_by = 'campagne-2027' WHERE declaration_id = $1`, [ids.line as number]);
    await service.changeStatus(OPERATOR, ids.polygon as number, { status: 'rejected', reason: 'Hors voirie' }, { base: 'http://localhost' });
    const after = (await get()).json() as typeof fc;
    expect(after.numberMatched).toBe(17 - 3 - 2);
    expect(after.features.some((x) => x.properties.declarationId === ids.line || x.properties.declarationId === ids.polygon)).toBe(false);
    // So are the marks of a version withdrawn since.
    await t.db.query(`UPDATE versions SET status = 'withdrawn' WHERE dataset_id = 'ortho' AND name = '2026'`);
    expect((await get()).json().numberMatched).toBe(17 - 3 - 2 - 2);
    await t.db.query(`UPDATE versions SET status = 'published' WHERE dataset_id = 'ortho' AND name = '2026'`);
  });

  it('refuses a second works declaration with the same DT/DICT number (409, nothing stored)', async () => {
    const count = async () => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM declarations`)).rows[0]?.n;
    const before = await count();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/declarations',
      headers: { authorization: `Bearer ${writerKey}` },
      payload: { type: 'works', title: 'Même chantier', description: 'Déclaré deux fois', geometry: { type: 'Point', coordinates: [575_200, 6_373_600], crs: L93 }, works: { dtDictRef: 'REF-point', themes: ['03B'] } },
    });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toMatchObject({ type: 'urn:pcrs:problem:duplicate-dt-dict-ref' });
    expect(res.json().detail).toContain(`n° ${ids.point}`);
    expect(await count()).toBe(before);
    // The unique index holds even without the service's check.
    await expect(t.db.query(`INSERT INTO declarations (type, geom, title, description, author_actor, dt_dict_ref) VALUES ('works', ST_SetSRID(ST_MakePoint(575200, 6373600), 2154), 'x', 'y', 'operator', 'REF-point')`)).rejects.toThrow();
  });

  it('runs in the background of a listening server (leased loop) and marks newly ended works', async () => {
    const late = await works('late', { type: 'Point', coordinates: [575_600, 6_373_600] }, { end: YESTERDAY, themes: ['06'] });
    const server = await buildServer(ctx, { logger: false, capabilities: [declarationsCapability] });
    await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      const lastRun = async () => (await t.db.query<{ last_run_at: Date | null }>(`SELECT last_run_at FROM leases WHERE name = 'declarations-to-update'`)).rows[0]?.last_run_at ?? null;
      const deadline = Date.now() + 20_000;
      while (((await marksOf(late)).length === 0 || (await lastRun()) === null) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await marksOf(late)).toEqual(['ortho/2025/46-2025-0575-6374', 'vector/2025/(area)']);
      expect(await lastRun()).not.toBeNull();
    } finally {
      await server.close();
    }
    // worksToUpdate.intervalMinutes: 0 turns the loop off (marking is then the CLI's).
    await t.db.query(`DELETE FROM leases WHERE name = 'declarations-to-update'`);
    const off = buildAppContext(loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' }, { worksToUpdate: { intervalMinutes: 0 } }), t.db);
    const quiet = await buildServer(off, { logger: false, capabilities: [declarationsCapability] });
    await quiet.listen({ host: '127.0.0.1', port: 0 });
    try {
      const ignored = await works('ignored', { type: 'Point', coordinates: [575_700, 6_373_600] }, { end: YESTERDAY, themes: ['06'] });
      await new Promise((r) => setTimeout(r, 1500));
      expect(await marksOf(ignored)).toEqual([]);
      expect((await t.db.query(`SELECT 1 FROM leases WHERE name = 'declarations-to-update'`)).rows).toEqual([]);
    } finally {
      await quiet.close();
      off.mail.close();
      await off.access.close?.().catch(() => undefined);
    }
  });
});
