/**
 * Update campaigns on PGlite and PostgreSQL: a campaign built from the "to update" marks expects
 * the 200 m dalles of the marked 1 km dalle; its workflow refuses transitions that do not exist;
 * a delivery (real dalles through the ingest) ticks off what it brought, with a refused dalle and
 * its reason and a dalle outside the area flagged, into an update version that stays unpublished;
 * deliveries to a campaign not receiving, or acquired outside its window, are refused before
 * anything is ingested; the API's access (public progress, budget and writes for administrators).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { OPERATOR } from '../context/access.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { DeclarationService } from '../declarations/service.js';
import { UpdateMarks } from '../declarations/to-update.js';
import { parisToday } from '../util/paris-day.js';
import { ingestDelivery } from '../raster/ingest/ingest.js';
import { ingestServices } from '../raster/ingest/services.js';
import { buildServer } from '../server/app.js';
import { createUser, userWithKey } from '../test-support/access.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { makeBadDalle, validDalle } from '../test-support/imagery.js';
import { getScene, CAHORS_CENTRE } from '../demo/synthetic-scene.js';
import { writeDemoGml } from '../demo/vector.js';
import { importIntoVersion } from '../vector/import.js';
import { campaignsCapability } from './capability.js';
import { CampaignService } from './service.js';

const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
const YESTERDAY = parisToday(new Date(Date.now() - 86_400_000));

describe.each(ENGINES)('update campaigns on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let dataDir: string;
  let ctx: AppContext;
  let app: FastifyInstance;
  let service: CampaignService;
  let adminKey: string;
  let memberKey: string;
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });

  /** A delivery directory of real dalles: three inside the marked kilometre (one refused), one outside. */
  const delivery = async (name: string, dalles: Array<{ xmin: number; bad?: boolean }>) => {
    const dir = path.join(dataDir, 'deliveries', name);
    mkdirSync(dir, { recursive: true });
    for (const d of dalles) {
      if (d.bad) await makeBadDalle('wrong-resolution', { dir, xmin: d.xmin, ymax: 6_374_000 });
      else await validDalle(dir, { xmin: d.xmin, ymax: 6_374_000 });
    }
    return dir;
  };
  const deliver = async (slug: string, dir: string, acquiredOn: string | null) => {
    const { versionName } = await service.prepareDelivery(OPERATOR, slug, acquiredOn);
    const report = await ingestDelivery(ingestServices(ctx), { dir, datasetId: 'ortho', versionName, kind: 'update', publish: false, ...(acquiredOn ? { date: acquiredOn } : {}) });
    return service.recordIngest(OPERATOR, slug, report, acquiredOn);
  };

  beforeAll(async () => {
    t = await open();
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-campaigns-'));
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    ctx = buildAppContext(loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' }), t.db);
    await ctx.catalog.ensureStandardDatasets('46');
    // The current orthophoto: two 1 km dalles of Cahors, acquired in 2019.
    const v = Number((await t.db.query<{ id: number }>(`INSERT INTO versions (dataset_id, name, status, acquisition_date) VALUES ('ortho', '2019', 'published', '2019-06-01') RETURNING id`)).rows[0]?.id);
    for (const col of [575, 576]) {
      await t.db.query(`INSERT INTO dalles (version_id, name, size_m, grid_col, grid_row, footprint, state) VALUES ($1, $2, 1000, $3, 6374, ST_MakeEnvelope($4, 6373000, $5, 6374000, 2154), 'published')`, [
        v,
        `46-2019-0${col}-6374`,
        col,
        col * 1000,
        col * 1000 + 1000,
      ]);
    }
    // Works that ended yesterday in the middle of 0575-6374: that kilometre is "to update".
    await new DeclarationService(ctx).create(OPERATOR, {
      type: 'works',
      title: 'Réfection place Chapou',
      description: 'Chaussée et trottoirs refaits',
      geometry: { type: 'Point', coordinates: [575_500, 6_373_500], crs: L93 },
      works: { dtDictRef: 'REF-CHAPOU', plannedEnd: YESTERDAY, themes: ['03B'] },
    });
    await new UpdateMarks(ctx).mark();
    service = new CampaignService(ctx);
    adminKey = (await userWithKey(ctx, 'sig@fdel46.fr', { platformRoles: ['platform-admin'], scopes: ['admin'] })).key;
    memberKey = (await userWithKey(ctx, 'voirie@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read', 'contributions:write'] })).key;
    await t.db.query(`INSERT INTO organisations (slug, name, kind) VALUES ('geometre-sud', 'Géomètre Sud', 'company')`);
    await createUser(ctx, 'chef@geometre-sud.fr', { memberships: [{ org: 'geometre-sud', role: 'member' }] });
    app = await buildServer(ctx, { logger: false, capabilities: [campaignsCapability] });
    await app.ready();
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    ctx?.mail.close();
    await ctx?.access.close?.().catch(() => undefined);
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The mails written to the data directory (no SMTP server configured): to, subject, text. */
  const mails = async () => {
    const dir = path.join(dataDir, 'mail');
    if (!existsSync(dir)) return [];
    return Promise.all(readdirSync(dir).map(async (f) => simpleParser(readFileSync(path.join(dir, f))).then((m) => ({ to: m.to && !Array.isArray(m.to) ? m.to.text : '', subject: m.subject ?? '', text: m.text ?? '' }))));
  };
  const create = (body: object, key = adminKey) => app.inject({ method: 'POST', url: '/api/v1/campaigns', headers: auth(key), payload: body });

  it('creates a campaign from the "to update" marks: the 25 dalles of 200 m of the marked kilometre; only administrators may', async () => {
    const body = {
      slug: 'maj-2026-cahors',
      title: 'Mise à jour 2026 — Cahors centre',
      kind: 'ortho',
      dalleSize: 200,
      area: { source: 'to-update' },
      contractor: 'geometre-sud',
      plannedStart: '2026-03-01',
      plannedEnd: '2026-09-30',
      budget: [{ label: 'Prise de vue 5 cm', category: 'update', amountEur: 12_500 }],
    };
    expect((await app.inject({ method: 'POST', url: '/api/v1/campaigns', payload: body })).statusCode).toBe(401);
    expect((await create(body, memberKey)).statusCode).toBe(403);
    const res = await create(body);
    expect(res.statusCode, res.body).toBe(201);
    const c = res.json();
    expect(c).toMatchObject({ slug: 'maj-2026-cahors', status: 'planned', areaSource: 'to-update', bbox: [575000, 6373000, 576000, 6374000], contractor: { slug: 'geometre-sud' } });
    expect(c.areaDetails.marks).toBe(1);
    expect(c.progress).toMatchObject({ expected: 25, received: 0, missing: 25, outside: 0 });
    // Taken slug; an unknown contractor; an area outside the territory; unknown communes.
    expect((await create(body)).statusCode).toBe(409);
    const other = { ...body, slug: 'autre' };
    expect((await create({ ...other, contractor: 'nobody' })).json().detail).toMatch(/No organisation 'nobody'/);
    const far = await create({ ...other, area: { source: 'drawn', geometry: { type: 'Polygon', coordinates: [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]] } } });
    expect(far.statusCode).toBe(400);
    expect(far.json().detail).toMatch(/outside the territory/);
    expect((await create({ ...other, area: { source: 'communes', insee: ['46999'] } })).json().detail).toMatch(/Unknown commune/);
    expect((await create({ ...other, plannedStart: '2026-09-30', plannedEnd: '2026-03-01' })).statusCode).toBe(400);
    // A drawn polygon in Lambert-93 on the 1 km grid: the dalles its interior meets, not those it only touches.
    const drawn = await create({ ...other, slug: 'trace', dalleSize: 1000, area: { source: 'drawn', geometry: { type: 'Polygon', coordinates: [[[575000, 6373000], [576000, 6373000], [576000, 6374000], [575000, 6374000], [575000, 6373000]]], crs: L93 } } });
    expect(drawn.json().progress.expected).toBe(1);
    // Public: the progress, not the budget; administrators see it.
    const pub = await app.inject({ method: 'GET', url: '/api/v1/campaigns/maj-2026-cahors' });
    expect(pub.statusCode).toBe(200);
    expect(pub.json().budget).toBeUndefined();
    expect((await app.inject({ method: 'GET', url: '/api/v1/campaigns/maj-2026-cahors', headers: auth(adminKey) })).json().budget).toHaveLength(1);
    const geo = await app.inject({ method: 'GET', url: '/api/v1/campaigns/maj-2026-cahors/dalles?crs=EPSG:2154' });
    expect(geo.headers['content-type']).toMatch(/geo\+json/);
    const features = geo.json().features as Array<{ id: string; geometry: { coordinates: number[][][] }; properties: { state: string } }>;
    expect(features).toHaveLength(25);
    expect(features[0]?.id).toBe('05750-63740');
    expect(features.every((f) => f.properties.state === 'expected')).toBe(true);
    expect((await app.inject({ method: 'GET', url: '/api/v1/campaigns/maj-2026-cahors/events' })).statusCode).toBe(401);
  });

  it('follows its workflow: no transition that does not exist, no delivery before the order, each change logged', async () => {
    const status = (to: string, key = adminKey) => app.inject({ method: 'POST', url: '/api/v1/campaigns/maj-2026-cahors/status', headers: auth(key), payload: { to } });
    expect((await status('in-acquisition')).statusCode).toBe(409);
    expect((await status('published')).json().detail).toMatch(/no transition planned → published/);
    expect((await status('ordered', memberKey)).statusCode).toBe(403);
    await expect(service.prepareDelivery(OPERATOR, 'maj-2026-cahors', '2026-04-02')).rejects.toMatchObject({ status: 409, code: 'campaign-not-receiving' });
    const ordered = await status('ordered');
    expect(ordered.statusCode, ordered.body).toBe(200);
    expect(ordered.json().status).toBe('ordered');
    // The contractor's members are told.
    expect((await mails()).filter((m) => m.subject === 'Campagne commandée — Mise à jour 2026 — Cahors centre').map((m) => m.to)).toEqual(['chef@geometre-sud.fr']);
    expect((await status('delivered')).statusCode).toBe(409);
    const events = (await app.inject({ method: 'GET', url: '/api/v1/campaigns/maj-2026-cahors/events', headers: auth(adminKey) })).json().events;
    expect(events.map((e: { action: string; toStatus: string }) => `${e.action}:${e.toStatus}`)).toEqual(['created:planned', 'status-changed:ordered']);
  });

  it('ticks off a delivery: received dalles, a refused one with its reason, one outside the area flagged; the version stays unpublished', async () => {
    // Acquired outside the campaign's window, or without a date: refused before any ingest.
    await expect(service.prepareDelivery(OPERATOR, 'maj-2026-cahors', '2025-12-01')).rejects.toMatchObject({ status: 400, code: 'acquisition-date-outside' });
    await expect(service.prepareDelivery(OPERATOR, 'maj-2026-cahors', null)).rejects.toMatchObject({ status: 400, code: 'acquisition-date-required' });
    const dir = await delivery('first', [{ xmin: 575_000 }, { xmin: 575_200 }, { xmin: 575_400, bad: true }, { xmin: 577_000 }]);
    const outcome = await deliver('maj-2026-cahors', dir, '2026-04-02');
    expect(outcome).toMatchObject({ received: 2, rejected: 1, unmatched: [] });
    expect(outcome.outside).toHaveLength(1);
    expect(outcome.outside[0]).toMatch(/05770-63740/);
    expect(outcome.campaign.status).toBe('in-acquisition');
    expect(outcome.campaign.progress).toMatchObject({ expected: 25, received: 2, rejected: 1, missing: 22, outside: 1, deliveries: 1, receivedRatio: 0.08 });
    const geo = (await app.inject({ method: 'GET', url: '/api/v1/campaigns/maj-2026-cahors/dalles' })).json().features as Array<{ id: string; properties: { state: string; expected: boolean; reason: string | null } }>;
    const byId = new Map(geo.map((f) => [f.id, f.properties]));
    expect(byId.get('05750-63740')?.state).toBe('received');
    expect(byId.get('05752-63740')?.state).toBe('received');
    expect(byId.get('05754-63740')).toMatchObject({ state: 'rejected' });
    expect(byId.get('05754-63740')?.reason).toMatch(/pixel|resolution|5 cm/i);
    expect(byId.get('05770-63740')).toMatchObject({ expected: false, state: 'received' });
    // Into the campaign's own update version, not published: the current orthophoto is unchanged.
    const version = await ctx.catalog.getVersion('ortho', 'campaign-maj-2026-cahors');
    expect(version).toMatchObject({ kind: 'update', status: 'ingesting', campaign: 'maj-2026-cahors' });
    expect((await ctx.catalog.publishedVersions('ortho')).map((x) => x.name)).toEqual(['2019']);
    const deliveries = (await app.inject({ method: 'GET', url: '/api/v1/campaigns/maj-2026-cahors/deliveries', headers: auth(adminKey) })).json().deliveries;
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0].summary).toMatchObject({ received: 2, rejected: 1, outside: 1 });
  }, 240_000);

  it('refuses a delivery to a cancelled campaign; a cancelled campaign changes no more', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/campaigns/trace/status', headers: auth(adminKey), payload: { to: 'cancelled', note: 'Budget reporté' } });
    expect(res.json().status).toBe('cancelled');
    await expect(service.prepareDelivery(OPERATOR, 'trace', null)).rejects.toMatchObject({ status: 409, code: 'campaign-not-receiving' });
    expect((await app.inject({ method: 'POST', url: '/api/v1/campaigns/trace/status', headers: auth(adminKey), payload: { to: 'planned' } })).json().detail).toMatch(/does not change status/);
  });

  it.runIf(engine === 'postgres')('pcrs ingest --campaign and pcrs campaigns show/status as operators use them', async () => {
    const dir = await delivery('second', [{ xmin: 575_600 }]);
    const bad = await runPcrs(t, dataDir, ['ingest', dir, '--campaign', 'maj-2026-cahors', '--version', 'x']);
    expect(bad.code).toBe(64);
    const late = await runPcrs(t, dataDir, ['ingest', dir, '--campaign', 'maj-2026-cahors', '--date', '2027-01-01']);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/outside campaign 'maj-2026-cahors'/);
    const ok = await runPcrs(t, dataDir, ['ingest', dir, '--campaign', 'maj-2026-cahors', '--date', '2026-04-20']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Campaign maj-2026-cahors: 1 received, 0 rejected by this delivery; 21 of 25 expected dalle\(s\) still missing/);
    const show = await runPcrs(t, dataDir, ['campaigns', 'show', 'maj-2026-cahors', '--json']);
    expect(JSON.parse(show.stdout)).toMatchObject({ progress: { received: 3, rejected: 1, missing: 21, deliveries: 2 } });
    const delivered = await runPcrs(t, dataDir, ['campaigns', 'status', 'maj-2026-cahors', 'delivered', '--note', 'Livraison complète annoncée']);
    expect(delivered.stdout).toMatch(/now delivered/);
    const checked = await runPcrs(t, dataDir, ['campaigns', 'status', 'maj-2026-cahors', 'checked']);
    expect(checked.code).not.toBe(0);
    expect(checked.stderr).toMatch(/3 dalle\(s\) .* received but not checked/);
    const list = await runPcrs(t, dataDir, ['campaigns', 'list']);
    expect(list.stdout).toMatch(/maj-2026-cahors\s+ortho\s+delivered\s+25\s+3\s+1\s+21/);
  }, 240_000);

  it('the API runs the check in the background and publishes a checked campaign; both for administrators only', async () => {
    const url = '/api/v1/campaigns/maj-2026-cahors';
    const before = (await app.inject({ method: 'GET', url })).json();
    expect(before.progress.received).toBeGreaterThan(0);
    expect((await app.inject({ method: 'POST', url: `${url}/check`, headers: auth(memberKey) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: `${url}/publish`, headers: auth(adminKey) })).statusCode).toBe(409);
    const started = await app.inject({ method: 'POST', url: `${url}/check`, headers: auth(adminKey) });
    expect(started.statusCode, started.body).toBe(202);
    expect(started.json()).toMatchObject({ campaign: 'maj-2026-cahors', checking: before.progress.received });
    // No current imagery around these dalles: no seam to compare, every received dalle is accepted.
    await expect.poll(async () => (await app.inject({ method: 'GET', url })).json().progress.received, { timeout: 60_000, interval: 250 }).toBe(0);
    const after = (await app.inject({ method: 'GET', url })).json();
    expect(after.progress.accepted).toBe(before.progress.received);
    // The dalle delivered outside the area is taken out of the campaign's version, with the reason.
    const outside = ((await app.inject({ method: 'GET', url: `${url}/dalles` })).json().features as Array<{ id: string; properties: { state: string; reason: string } }>).find((f) => f.id === '05770-63740');
    expect(outside?.properties).toMatchObject({ state: 'rejected', reason: 'En dehors de la zone de la campagne.' });
    if (after.status === 'in-acquisition') await app.inject({ method: 'POST', url: `${url}/status`, headers: auth(adminKey), payload: { to: 'delivered' } });
    expect((await app.inject({ method: 'POST', url: `${url}/status`, headers: auth(adminKey), payload: { to: 'checked' } })).json().status).toBe('checked');
    expect((await app.inject({ method: 'POST', url: `${url}/publish`, headers: auth(memberKey) })).statusCode).toBe(403);
    const published = await app.inject({ method: 'POST', url: `${url}/publish`, headers: auth(adminKey) });
    expect(published.statusCode, published.body).toBe(200);
    expect(published.json()).toMatchObject({ status: 'published', orthoVersion: 'campaign-maj-2026-cahors' });
    expect((await ctx.catalog.publishedVersions('ortho')).map((v) => v.name)).toContain('campaign-maj-2026-cahors');
    const told = (await mails()).find((m) => m.subject === 'Campagne publiée — Mise à jour 2026 — Cahors centre');
    expect(told?.text).toContain('campaign-maj-2026-cahors');
    // The works' "to update" mark of the kilometre is not consumed: the campaign did not cover all of it.
    expect((await t.db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM declaration_update_marks WHERE consumed_at IS NOT NULL`)).rows[0]?.n).toBe(0);
    if (engine === 'postgres') {
      // The changes feed from the command line: the campaign's dalles, published just now.
      const feed = await runPcrs(t, dataDir, ['changes', '--since', '2000-01-01', '--json']);
      expect(feed.code, feed.stderr).toBe(0);
      const items = JSON.parse(feed.stdout).items as Array<{ version: string; download: string }>;
      expect(items.filter((i) => i.version === 'campaign-maj-2026-cahors')).toHaveLength(after.progress.accepted);
      expect(items[0]?.download).toMatch(/^http:\/\/localhost:\d+\/api\/datasets\/ortho\/versions\//);
      const text = await runPcrs(t, dataDir, ['changes', '--since', '2000-01-01']);
      expect(text.stdout).toMatch(/change\(s\) published since 2000-01-01/);
      expect((await runPcrs(t, dataDir, ['changes', '--since', 'hier'])).code).toBe(64);
    }
  }, 120_000);

  it('a vector campaign takes GML files into its own version, flags nothing inside the area, publishes them with the campaign', async () => {
    const c = await service.create(OPERATOR, {
      slug: 'leve-vecteur',
      title: 'Levé vectoriel place Rousseau',
      kind: 'vector',
      dalleSize: 200,
      area: { source: 'drawn', geometry: { type: 'Polygon', coordinates: [[[575_000, 6_373_400], [575_200, 6_373_400], [575_200, 6_373_600], [575_000, 6_373_600], [575_000, 6_373_400]]], crs: L93 } },
    });
    await expect(service.prepareVectorDelivery(OPERATOR, c.slug, null)).rejects.toMatchObject({ status: 409, code: 'campaign-not-receiving' });
    await service.changeStatus(OPERATOR, c.slug, 'ordered');
    await expect(service.prepareDelivery(OPERATOR, c.slug, null)).rejects.toMatchObject({ status: 409, code: 'wrong-campaign-kind' });
    const file = path.join(dataDir, 'rousseau.gml');
    await writeDemoGml(getScene({ seed: 46, centre: CAHORS_CENTRE }), [575_020, 6_373_420, 575_120, 6_373_520], file);
    const { versionName } = await service.prepareVectorDelivery(OPERATOR, c.slug, null);
    const { results } = await importIntoVersion(ctx, [file], { datasetId: 'vector', versionName, kind: 'update', publish: false });
    expect(results[0]?.status).toBe('imported');
    const delivered = await service.recordGmlImport(OPERATOR, c.slug, results, null);
    expect(delivered.outside).toEqual([]);
    expect(delivered.campaign.status).toBe('in-acquisition');
    expect(delivered.campaign.progress.vectorCoverage).toBeGreaterThan(0.05);
    expect(delivered.campaign.vectorVersion).toBe('campaign-leve-vecteur');
    expect((await ctx.catalog.publishedVersions('vector')).map((v) => v.name)).not.toContain('campaign-leve-vecteur');
    await service.changeStatus(OPERATOR, c.slug, 'delivered');
    await service.changeStatus(OPERATOR, c.slug, 'checked');
    // Two publications at once: one publishes, the other is told the campaign changed (or is published).
    const both = await Promise.allSettled([service.publish(OPERATOR, c.slug), service.publish(OPERATOR, c.slug)]);
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = both.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason as { status: number; code: string };
    expect(refused.status).toBe(409);
    expect(['campaign-changed', 'campaign-not-checked']).toContain(refused.code);
    const published = (both.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<typeof service.publish>>>).value;
    expect(published.status).toBe('published');
    expect((await service.store.events(c.id)).filter((e) => e.action === 'published')).toHaveLength(1);
    expect((await ctx.catalog.getVersion('vector', 'campaign-leve-vecteur')).status).toBe('published');
    expect(published.orthoVersion).toBeNull();
    // What it changed, class by class: every object is new here (no vector PCRS before it).
    const changes = (await app.inject({ method: 'GET', url: '/api/v1/campaigns/leve-vecteur/changes' })).json();
    expect(changes.vector.summary.added).toBeGreaterThan(10);
    expect(changes.vector.summary).toMatchObject({ removed: 0, changed: 0 });
    expect(Object.values(changes.vector.byClass as Record<string, { added: number }>).reduce((n, c) => n + c.added, 0)).toBe(changes.vector.summary.added);
    if (engine === 'postgres') {
      // The CLI: --campaign goes alone, and a published campaign takes no more files.
      expect((await runPcrs(t, dataDir, ['gml', 'import', file, '--campaign', c.slug, '--version', 'x'])).code).toBe(64);
      const late = await runPcrs(t, dataDir, ['gml', 'import', file, '--campaign', c.slug]);
      expect(late.code).toBe(1);
      expect(late.stderr).toContain("Campaign 'leve-vecteur' is published: it receives no delivery");
    }
  }, 120_000);

  it('a vector campaign from the "to update" marks of the vector PCRS surveys the works area and consumes its mark at publication', async () => {
    // A vector PCRS of 2019 over the marked kilometre: the works of place Chapou mark it too.
    const v = Number((await t.db.query<{ id: number }>(`INSERT INTO versions (dataset_id, name, status, acquisition_date) VALUES ('vector', '2019', 'published', '2019-06-01') RETURNING id`)).rows[0]?.id);
    const imp = await t.db.query<{ id: number }>(`INSERT INTO vector_imports (version_id, file_name, sha256, bytes, feature_count) VALUES ($1, 'cahors-2019.gml', $2, 1, 0) RETURNING id`, [v, 'b'.repeat(64)]);
    await t.db.query(`INSERT INTO vector_areas (version_id, import_id, source, footprint) VALUES ($1, $2, 'emprise', ST_MakeEnvelope(575000, 6373000, 576000, 6374000, 2154))`, [v, Number(imp.rows[0]?.id)]);
    const marked = await new UpdateMarks(ctx).mark();
    expect(marked.map((m) => [m.dataset, m.version, m.dalle])).toEqual([['vector', '2019', null]]);
    // A mixed campaign would take both the marked dalle and the works area; a vector one, the works area only (10 m around the works).
    const mixed = await service.create(OPERATOR, { slug: 'maj-mixte', title: 'Mixte', kind: 'mixed', dalleSize: 200, area: { source: 'to-update' } });
    expect(mixed.areaDetails.marks).toBe(2);
    expect(mixed.progress.expected).toBe(25);
    const c = await service.create(OPERATOR, { slug: 'maj-vecteur-chapou', title: 'Levé place Chapou', kind: 'vector', dalleSize: 200, area: { source: 'to-update' } });
    expect(c.areaDetails.marks).toBe(1);
    expect(c.bbox).toEqual([575_490, 6_373_490, 575_510, 6_373_510]);
    expect(c.progress.expected).toBe(1);
    await service.changeStatus(OPERATOR, c.slug, 'ordered');
    const file = path.join(dataDir, 'chapou.gml');
    await writeDemoGml(getScene({ seed: 46, centre: CAHORS_CENTRE }), [575_420, 6_373_420, 575_580, 6_373_580], file);
    const { versionName } = await service.prepareVectorDelivery(OPERATOR, c.slug, null);
    const { results } = await importIntoVersion(ctx, [file], { datasetId: 'vector', versionName, kind: 'update', publish: false });
    expect((await service.recordGmlImport(OPERATOR, c.slug, results, null)).campaign.progress.vectorCoverage).toBe(1);
    await service.changeStatus(OPERATOR, c.slug, 'delivered');
    await service.changeStatus(OPERATOR, c.slug, 'checked');
    const openMarks = async () => (await new UpdateMarks(ctx).list({ limit: 50, offset: 0 })).items.map((m) => [m.dataset, m.version]);
    expect(await openMarks()).toContainEqual(['vector', '2019']);
    await service.publish(OPERATOR, c.slug);
    // The vector mark is consumed by the campaign; the orthophoto's stays (no new imagery there).
    expect(await openMarks()).not.toContainEqual(['vector', '2019']);
    expect(await openMarks()).toContainEqual(['ortho', '2019']);
    const consumed = await t.db.query<{ consumed_by: string }>(`SELECT consumed_by FROM declaration_update_marks WHERE consumed_at IS NOT NULL`);
    expect(consumed.rows.map((r) => r.consumed_by)).toEqual(['campaign:maj-vecteur-chapou']);
    const log = (await app.inject({ method: 'GET', url: `/api/v1/campaigns/${c.slug}/events`, headers: auth(adminKey) })).json();
    expect(JSON.stringify(log)).toContain('marks-consumed');
  }, 120_000);
});
