/**
 * Extracts end to end on PGlite and PostgreSQL, over the streams fixture (four 200 m dalles ingested
 * through the real ingest path, the demo's vector PCRS): a drawn polygon and a commune give ZIPs
 * that unzip -t accepts, whose manifest matches every file, whose masters are byte-identical to the
 * stored ones and whose GML validates against the CNIG XSD; a download resumed with Range equals a
 * whole one; the same request is re-used; bad input, quotas, permissions and expiry answer 4xx.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommuneStore } from '../communes/store.js';
import { loadReference } from '../communes/import.js';
import { OPERATOR } from '../context/access.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { DeclarationService } from '../declarations/service.js';
import { BASE_BBOX, streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { buildServer } from '../server/app.js';
import { userWithKey } from '../test-support/access.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES } from '../test-support/db.js';
import { execTool } from '../util/exec.js';
import { validateGmlFile } from '../vector/gml/validate.js';
import { AccessServices } from '../access/services.js';
import { licencesCapability } from '../licences/capability.js';
import { LicenceService } from '../licences/service.js';
import { extractsCapability } from './capability.js';
import { ExtractService } from './service.js';

const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
const rect = (x0: number, y0: number, x1: number, y1: number) => ({ type: 'Polygon' as const, coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]], crs: L93 });

describe.each(ENGINES)('extracts on $engine', ({ engine, open }) => {
  let f: StreamsFixture;
  let ctx: AppContext;
  let app: FastifyInstance;
  let key: string;
  let otherKey: string;
  let adminKey: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-extracts-test-'));
  const withKey = (k: string, o: InjectOptions): InjectOptions => ({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${k}` } });

  beforeAll(async () => {
    f = await streamsFixture({}, { vector: true, ...(engine === 'postgres' ? { open } : {}) });
    ctx = buildAppContext({ ...f.config, extracts: { keepDays: 7, maxBytes: 50e9, maxAreaKm2: 1000 } }, f.t.db);
    // Cahors' outline: the west half of the base area.
    await loadReference(ctx);
    await ctx.db.transaction((tx) => new CommuneStore(ctx.db).setOutline(tx, '46042', JSON.stringify({ type: 'MultiPolygon', coordinates: [rect(575_000, 6_373_400, 575_200, 6_373_800).coordinates] }), 'test'));
    key = (await userWithKey(ctx, 'geometre@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read', 'downloads'] })).key;
    otherKey = (await userWithKey(ctx, 'autre@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['read', 'downloads'] })).key;
    adminKey = (await userWithKey(ctx, 'admin@fdel.fr', { platformRoles: ['platform-admin'], scopes: ['downloads', 'admin'] })).key;
    app = await buildServer(ctx, { logger: false, capabilities: [licencesCapability, extractsCapability] });
    await app.ready();
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    await f?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Asks, waits for ready through the JSON state, downloads the whole ZIP. */
  async function extract(body: unknown, k = key): Promise<{ id: number; zip: Buffer; state: Record<string, unknown> }> {
    const created = await app.inject(withKey(k, { method: 'POST', url: '/api/v1/extracts', payload: body as Record<string, unknown> }));
    expect([201, 202], created.body).toContain(created.statusCode);
    const id = created.json().id as number;
    let state: Record<string, unknown> = created.json();
    for (let i = 0; i < 600 && state.state !== 'ready'; i++) {
      expect(state.state).not.toBe('failed');
      await new Promise((r) => setTimeout(r, 100));
      state = (await app.inject(withKey(k, { url: `/api/v1/extracts/${id}` }))).json();
    }
    expect(state.state, JSON.stringify(state)).toBe('ready');
    const dl = await app.inject(withKey(k, { url: `/api/v1/extracts/${id}/download` }));
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-type']).toBe('application/zip');
    expect(Number(dl.headers['content-length'])).toBe(dl.rawPayload.length);
    return { id, zip: dl.rawPayload, state };
  }

  async function unpack(zip: Buffer, name: string): Promise<string> {
    const file = path.join(dir, `${name}.zip`);
    writeFileSync(file, zip);
    const t = await execTool('unzip', ['-t', file]);
    expect(t.code, t.stdout).toBe(0);
    const out = path.join(dir, name);
    expect((await execTool('unzip', ['-q', file, '-d', out])).code).toBe(0);
    const check = await execTool('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: out });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    return out;
  }

  it('over a drawn polygon: every master byte-identical, the GML valid against the CNIG XSD, manifest, licence, README, VRT', async () => {
    // The south-west dalle and a bit of its east neighbour.
    const { id, zip, state } = await extract({ area: { geometry: rect(575_050, 6_373_450, 575_250, 6_373_550) }, contents: ['ortho-master', 'vector-gml'] });
    expect(state).toMatchObject({ ortho: { version: '2025', excluded: [] }, area: { kind: 'geometry' } });
    const out = await unpack(zip, `drawn-${id}`);
    const masters = (await ctx.catalog.assets.list({ kind: 'master', state: 'stored' })).filter((a) => a.versionId !== null);
    const names = readFileSync(path.join(out, 'MANIFEST.sha256'), 'utf8').trim().split('\n').map((l) => l.split('  ')[1]);
    const orthoFiles = names.filter((n) => n?.startsWith('ortho/') && n.endsWith('.tif'));
    expect(orthoFiles).toHaveLength(2);
    for (const n of orthoFiles) {
      const bytes = readFileSync(path.join(out, n as string));
      const sha = createHash('sha256').update(bytes).digest('hex');
      expect(masters.some((m) => m.sha256 === sha && m.bytes === bytes.length)).toBe(true);
    }
    expect(names).toEqual(expect.arrayContaining(['ortho/mosaique.vrt', 'vecteur/pcrs.gml', 'LICENCE.txt', 'LISEZMOI.txt']));
    const report = await validateGmlFile(path.join(out, 'vecteur/pcrs.gml'));
    expect(report.findings.filter((x) => x.severity === 'error')).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.featureCount).toBeGreaterThan(0);
    const info = await execTool('gdalinfo', ['-json', path.join(out, 'ortho/mosaique.vrt')]);
    expect(info.code, info.stderr).toBe(0);
    expect((JSON.parse(info.stdout) as { size: number[] }).size).toEqual([8000, 4000]);
    expect(readFileSync(path.join(out, 'LICENCE.txt'), 'utf8')).toContain('Licence Ouverte');
    expect(readFileSync(path.join(out, 'LISEZMOI.txt'), 'utf8')).toContain('version 2025');
  }, 120_000);

  it('over a commune, and the same request again is re-used at once', async () => {
    const first = await extract({ area: { commune: '46042' }, contents: ['ortho-master'] });
    const out = await unpack(first.zip, `commune-${first.id}`);
    expect(readFileSync(path.join(out, 'LISEZMOI.txt'), 'utf8')).toContain('Cahors (46042)');
    const again = await app.inject(withKey(key, { method: 'POST', url: '/api/v1/extracts', payload: { area: { commune: '46042' }, contents: ['ortho-master'] } }));
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ state: 'ready', reused: true });
    expect(again.json().id).not.toBe(first.id);
    const dl = await app.inject(withKey(key, { url: `/api/v1/extracts/${again.json().id}/download` }));
    expect(dl.rawPayload.equals(first.zip)).toBe(true);
  }, 120_000);

  it('over a declaration’s footprint: a point buffered as works marks are', async () => {
    const d = await new DeclarationService(ctx).create(OPERATOR, { type: 'works', title: 'Réfection de trottoir', description: 'Travaux rue du Château du Roi.', geometry: { type: 'Point', coordinates: [575_100, 6_373_500], crs: L93 }, works: { themes: ['03A'] } });
    const { id, zip } = await extract({ area: { declaration: d.id }, contents: ['ortho-master'] });
    const out = await unpack(zip, `declaration-${id}`);
    expect(readFileSync(path.join(out, 'LISEZMOI.txt'), 'utf8')).toContain(`déclaration n° ${d.id} — Réfection de trottoir`);
    expect(readFileSync(path.join(out, 'MANIFEST.sha256'), 'utf8').split('\n').filter((l) => l.endsWith('.tif'))).toHaveLength(1);
    const missing = await app.inject(withKey(key, { method: 'POST', url: '/api/v1/extracts', payload: { area: { declaration: 999_999 }, contents: ['ortho-master'] } }));
    expect(missing.statusCode).toBe(400);
    expect(missing.json().type).toBe('urn:pcrs:problem:unknown-declaration');
  }, 120_000);

  it('resumes with Range (206, identical bytes), If-Range, 416; only the requester sees it', async () => {
    const { id, zip } = await extract({ area: { geometry: rect(...BASE_BBOX) }, contents: ['ortho-master'] });
    const etag = (await app.inject(withKey(key, { method: 'HEAD', url: `/api/v1/extracts/${id}/download` }))).headers.etag as string;
    const cut = Math.floor(zip.length / 3);
    const part = await app.inject(withKey(key, { url: `/api/v1/extracts/${id}/download`, headers: { range: `bytes=${cut}-`, 'if-range': etag } }));
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes ${cut}-${zip.length - 1}/${zip.length}`);
    expect(Buffer.concat([zip.subarray(0, cut), part.rawPayload]).equals(zip)).toBe(true);
    const stale = await app.inject(withKey(key, { url: `/api/v1/extracts/${id}/download`, headers: { range: `bytes=${cut}-`, 'if-range': '"other"' } }));
    expect(stale.statusCode).toBe(200);
    expect((await app.inject(withKey(key, { url: `/api/v1/extracts/${id}/download`, headers: { range: `bytes=${zip.length + 5}-` } }))).statusCode).toBe(416);
    expect((await app.inject(withKey(otherKey, { url: `/api/v1/extracts/${id}/download` }))).statusCode).toBe(404);
    expect((await app.inject(withKey(otherKey, { url: `/api/v1/extracts/${id}` }))).statusCode).toBe(404);
    expect((await app.inject(withKey(adminKey, { url: `/api/v1/extracts/${id}` }))).statusCode).toBe(200);
    expect((await app.inject({ url: `/api/v1/extracts/${id}/download` })).statusCode).toBe(401);
    const mine = (await app.inject(withKey(otherKey, { url: '/api/v1/extracts' }))).json().extracts as unknown[];
    expect(mine).toEqual([]);
    // Server-sent events: a ready extract says so at once and the stream ends.
    const events = await app.inject(withKey(key, { url: `/api/v1/extracts/${id}/events` }));
    expect(events.headers['content-type']).toContain('text/event-stream');
    expect(events.body).toMatch(/^id: 1\nevent: ready\ndata: \{"id":\d+,"state":"ready"/);
    expect((await app.inject(withKey(otherKey, { url: `/api/v1/extracts/${id}/events` }))).statusCode).toBe(404);
  }, 120_000);

  it('refuses bad input before any work, with the reason', async () => {
    const before = (await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM extracts`)).rows[0]?.n;
    const ask = (payload: unknown) => app.inject(withKey(key, { method: 'POST', url: '/api/v1/extracts', payload: payload as Record<string, unknown> }));
    const bowtie = { type: 'Polygon', crs: L93, coordinates: [[[575_000, 6_373_400], [575_400, 6_373_800], [575_400, 6_373_400], [575_000, 6_373_800], [575_000, 6_373_400]]] };
    const cases: Array<[unknown, number, string]> = [
      [{ area: { geometry: bowtie }, contents: ['ortho-master'] }, 400, 'invalid-area'],
      [{ area: { geometry: rect(100_000, 6_000_000, 100_100, 6_000_100) }, contents: ['ortho-master'] }, 400, 'outside-territory'],
      [{ area: { commune: '75056' }, contents: ['ortho-master'] }, 400, 'unknown-commune'],
      [{ area: { commune: '46102' }, contents: ['ortho-master'] }, 409, 'no-outline'],
      [{ area: { commune: '46042' }, contents: ['ortho-master'], orthoVersion: 'nope' }, 400, 'unknown-version'],
      [{ area: { geometry: rect(580_000, 6_380_000, 580_100, 6_380_100) }, contents: ['ortho-master'] }, 400, 'no-dalle'],
      [{ area: { geometry: rect(530_000, 6_346_000, 628_000, 6_442_000) }, contents: ['vector-gml'] }, 400, 'area-too-large'],
      [{ area: { commune: '46042' }, contents: [] }, 400, ''],
      [{ area: { commune: '46042' }, contents: ['everything'] }, 400, ''],
      [{ area: { commune: '46042', epci: '200023737' }, contents: ['ortho-master'] }, 400, ''],
    ];
    for (const [payload, status, code] of cases) {
      const r = await ask(payload);
      expect(r.statusCode, `${JSON.stringify(payload)} → ${r.body}`).toBe(status);
      if (code) expect(r.json().type).toBe(`urn:pcrs:problem:${code}`);
    }
    expect((await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM extracts`)).rows[0]?.n).toBe(before);
  });

  it('a quota refuses an extract larger than allowed, saying its size; a restricted version needs a permission, then the usage charter', async () => {
    const small = buildAppContext({ ...ctx.config, extracts: { ...ctx.config.extracts, maxBytes: 1000 } }, ctx.db);
    const service = new ExtractService(small);
    const caller = await small.access.identify({ apiKey: key });
    await expect(service.create(caller, { area: { commune: '46042' }, contents: ['ortho-master'] })).rejects.toMatchObject({ code: 'quota-exceeded', status: 413 });
    await small.access.close?.();
    await ctx.db.query(`UPDATE datasets SET visibility = 'restricted' WHERE id = 'ortho'`);
    await ctx.access.invalidate({ all: true });
    try {
      const denied = await app.inject(withKey(otherKey, { method: 'POST', url: '/api/v1/extracts', payload: { area: { commune: '46042' }, contents: ['ortho-master'] } }));
      expect(denied.statusCode).toBe(403);
      expect(denied.json().type).toBe('urn:pcrs:problem:no-permission');
      // With a permission, restricted data still waits for the usage charter; once accepted, the ZIP carries it.
      await new AccessServices(ctx).grantPermission(OPERATOR, { organisation: 'cahors', dataset: 'ortho' });
      await ctx.access.invalidate({ all: true });
      const body = { area: { geometry: rect(575_050, 6_373_650, 575_150, 6_373_750) }, contents: ['ortho-master'] };
      const unaccepted = await app.inject(withKey(key, { method: 'POST', url: '/api/v1/extracts', payload: body }));
      expect(unaccepted.statusCode, unaccepted.body).toBe(403);
      expect(unaccepted.json().type).toBe('urn:pcrs:problem:charter-not-accepted');
      const licences = new LicenceService(ctx);
      const charter = licences.charter();
      const accepted = await app.inject(withKey(key, { method: 'POST', url: '/api/v1/licences/acceptances', payload: { licence: 'charter', version: charter.version } }));
      expect(accepted.statusCode, accepted.body).toBe(201);
      const { id, zip } = await extract(body);
      const out = await unpack(zip, `charter-${id}`);
      expect(readFileSync(path.join(out, 'LICENCE.txt'), 'utf8')).toBe(charter.text);
    } finally {
      await ctx.db.query(`UPDATE datasets SET visibility = 'public' WHERE id = 'ortho'`);
      await ctx.access.invalidate({ all: true });
    }
  });

  it('expires: the download answers 410 and the extract’s own objects leave the tier', async () => {
    const { id } = await extract({ area: { geometry: rect(575_000, 6_373_600, 575_400, 6_373_800) }, contents: ['vector-gml'] }, adminKey);
    const location = (await ctx.db.query<{ location: string }>(`SELECT location FROM extract_entries WHERE extract_id = $1 AND location IS NOT NULL`, [id])).rows[0]?.location as string;
    expect(await ctx.tiers.intermediate.head(location)).not.toBeNull();
    await ctx.db.query(`UPDATE extracts SET expires_at = now() - interval '1 minute' WHERE id = $1`, [id]);
    expect((await app.inject(withKey(adminKey, { url: `/api/v1/extracts/${id}/download` }))).statusCode).toBe(410);
    await new ExtractService(ctx).expire();
    expect(await ctx.tiers.intermediate.head(location)).toBeNull();
    expect((await app.inject(withKey(adminKey, { url: `/api/v1/extracts/${id}` }))).json().state).toBe('expired');
  }, 120_000);
});


describe.each(ENGINES)('pcrs extract on $engine', ({ engine, open }) => {
  let f: StreamsFixture;
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-extract-cli-'));
  beforeAll(async () => {
    f = await streamsFixture({}, { vector: true, ...(engine === 'postgres' ? { open } : {}) });
    await loadReference(f.ctx);
    await f.ctx.db.transaction((tx) => new CommuneStore(f.ctx.db).setOutline(tx, '46042', JSON.stringify({ type: 'MultiPolygon', coordinates: [rect(575_000, 6_373_400, 575_200, 6_373_800).coordinates] }), 'test'));
    await f.app.close();
    // PGlite: one process owns the data dir; the command opens it itself.
    if (engine === 'pglite') await f.t.db.close();
  }, 240_000);
  afterAll(async () => {
    await f?.dispose().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  const dataDir = () => f.config.dataDir;

  it('writes the ZIP of a commune and of a GeoJSON area; refuses bad arguments with 64', async () => {
    const out = path.join(dir, 'cahors.zip');
    const run = await runPcrs(f.t, dataDir(), ['extract', '--commune', '46042', '--content', 'ortho-master,vector-gml', '-o', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ file: out, area: { label: 'Cahors (46042)' } });
    expect((await execTool('unzip', ['-t', out])).code).toBe(0);
    const area = path.join(dir, 'zone.geojson');
    writeFileSync(area, JSON.stringify({ type: 'Feature', properties: {}, geometry: rect(575_250, 6_373_650, 575_300, 6_373_700) }));
    const byArea = await runPcrs(f.t, dataDir(), ['extract', '--area', area, '--content', 'ortho-master', '-o', path.join(dir, 'zone.zip')]);
    expect(byArea.code, byArea.stderr).toBe(0);
    expect(byArea.stdout).toMatch(/Extract \d+ \(zone dessinée \/ drawn area\): 5 files/);
    expect((await runPcrs(f.t, dataDir(), ['extract', '--commune', '46042', '--content', 'ortho-master'])).code).toBe(64);
    expect((await runPcrs(f.t, dataDir(), ['extract', '--commune', '46042', '--epci', '200023737', '--content', 'ortho-master', '-o', out])).code).toBe(64);
    expect((await runPcrs(f.t, dataDir(), ['extract', '--area', path.join(dir, 'missing.geojson'), '--content', 'ortho-master', '-o', out])).code).toBe(66);
    const bad = await runPcrs(f.t, dataDir(), ['extract', '--commune', '99999', '--content', 'ortho-master', '-o', path.join(dir, 'x.zip')]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('no commune 99999');
  }, 180_000);

  it('--content ortho-cog,vector-gpkg --clip area: COGs and a GeoPackage cut to the area; unknown content or clip → 64', async () => {
    const out = path.join(dir, 'cog.zip');
    const run = await runPcrs(f.t, dataDir(), ['extract', '--commune', '46042', '--content', 'ortho-cog,vector-gpkg', '--clip', 'area', '-o', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ vector: { clip: 'area' } });
    expect((await execTool('unzip', ['-t', out])).code).toBe(0);
    const list = (await execTool('unzip', ['-Z1', out])).stdout.split('\n');
    expect(list.filter((n) => /^ortho-cog\/.+\.tif$/.test(n))).toHaveLength(2);
    expect(list).toEqual(expect.arrayContaining(['ortho-cog/mosaique.vrt', 'vecteur/pcrs.gpkg']));
    expect(list.some((n) => n.startsWith('ortho/') || n.endsWith('.gml'))).toBe(false);
    const unknown = await runPcrs(f.t, dataDir(), ['extract', '--commune', '46042', '--content', 'ortho-jpeg', '-o', out]);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('ortho-cog');
    expect((await runPcrs(f.t, dataDir(), ['extract', '--commune', '46042', '--content', 'vector-gml', '--clip', 'bbox', '-o', out])).code).toBe(64);
  }, 180_000);
});
