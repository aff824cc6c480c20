/**
 * Contributions on PGlite and PostgreSQL, over a listening server: a partner creates a contribution
 * for its organisation, uploads files with the tus protocol — a GML cut off mid-way and resumed with
 * another key of the same user (HEAD gives the offset), dalles with the maintained tus client —;
 * each finished file is hashed, stored in the intermediate tier and validated in the background with
 * the ingest's and the import's rules; the reports (JSON and the CLI's text) say what is wrong: a
 * text file named .tif, a GML failing the XSD; a replaced file is validated again and the old one
 * deleted. Refusals: no scope, another organisation, wrong file type, too large, over the quota, an
 * upload of someone else's contribution.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { CAHORS_CENTRE, getScene } from '../demo/synthetic-scene.js';
import { writeDemoGml } from '../demo/vector.js';
import { CampaignService } from '../campaigns/service.js';
import { Catalog } from '../catalog/catalog.js';
import { OPERATOR } from '../context/access.js';
import { DeclarationService } from '../declarations/service.js';
import { buildServer } from '../server/app.js';
import { sessionFor, userWithKey } from '../test-support/access.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { validDalle } from '../test-support/imagery.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe.each(ENGINES)('contributions on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let ctx: AppContext;
  let app: FastifyInstance;
  let base: string;
  let alice: { key: string; userId: number };
  /** Alice in another browser: her session cookie (and its CSRF token), not her key. */
  let aliceBrowser: Record<string, string>;
  let sdis: string;
  let noScope: string;
  let gml: Buffer;
  let badGml: Buffer;
  let dalle: Buffer;
  let dalleName: string;
  let moderator: string;
  /** The contributions the first tests leave valid, for the moderation test. */
  let vectorId = 0;
  let rasterId = 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-contributions-'));
  const auth = (key: string): Record<string, string> => (key === 'browser' ? aliceBrowser : { authorization: `Bearer ${key}` });
  const call = (key: string, method: string, url: string, body?: unknown) =>
    fetch(`${base}${url}`, { method, headers: { ...auth(key), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });

  beforeAll(async () => {
    t = await open();
    const config = loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR as string, PCRS_LOG_LEVEL: 'silent' });
    await new Catalog(t.db).ensureStandardDatasets('46');
    ctx = buildAppContext({ ...config, contributions: { maxFileBytes: 20e6, organisationQuotaBytes: 60e6, uploadKeepDays: 3 } }, t.db);
    // Every capability: the streams say where the published contributions come from.
    app = await buildServer(ctx, { logger: false });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    alice = await userWithKey(ctx, 'alice@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read', 'contributions:write'] });
    const session = await sessionFor(ctx, alice.userId);
    aliceBrowser = { cookie: `pcrs_session=${session.cookie}`, 'x-csrf-token': session.csrfToken };
    sdis = (await userWithKey(ctx, 'bob@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['contributions:write'] })).key;
    moderator = (await userWithKey(ctx, 'moderateur@fdel46.fr', { platformRoles: ['moderator'], scopes: ['contributions:write'] })).key;
    noScope = (await userWithKey(ctx, 'carole@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read'] })).key;
    const gmlFile = path.join(dir, 'rue.gml');
    await writeDemoGml(getScene({ seed: 46, centre: CAHORS_CENTRE }), [575_000, 6_373_400, 575_100, 6_373_500], gmlFile);
    gml = readFileSync(gmlFile);
    // Valid XML, but an unknown element where the CNIG schema wants a feature.
    badGml = Buffer.from(gml.toString('utf8').replace('<featureMember>', '<featureMember>\n    <PasUnObjet gml:id="x1"/>'));
    const d = await validDalle(dir, { xmin: 575_000, ymax: 6_373_600 });
    dalle = readFileSync(d.file);
    dalleName = path.basename(d.file);
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function create(key: string, body: Record<string, unknown>): Promise<number> {
    const res = await call(key, 'POST', '/api/v1/contributions', body);
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { id: number }).id;
  }

  /** tus creation: the upload's address. */
  async function createUpload(key: string, contribution: number, filename: string, length: number): Promise<Response> {
    return fetch(`${base}/api/v1/contributions/uploads`, {
      method: 'POST',
      headers: { ...auth(key), 'tus-resumable': '1.0.0', 'upload-length': String(length), 'upload-metadata': `contribution ${b64(String(contribution))},filename ${b64(filename)}` },
    });
  }
  const patch = (key: string, url: string, offset: number, bytes: Buffer) =>
    fetch(`${base}${url}`, { method: 'PATCH', headers: { ...auth(key), 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, body: bytes });

  async function settled(key: string, id: number): Promise<{ state: string; files: Array<{ id: number; name: string; status: string; sha256: string; bytes: number; report: string }> }> {
    for (let i = 0; i < 600; i++) {
      const c = (await (await call(key, 'GET', `/api/v1/contributions/${id}`)).json()) as { state: string; files: Array<{ id: number; name: string; status: string; sha256: string; bytes: number; report: string }> };
      if (c.state !== 'validating' && c.state !== 'draft') return c;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('validation did not finish');
  }

  it('a GML upload cut off and resumed from the same user’s other browser (session): hashed, stored, validated, its report as JSON and as the CLI prints it', async () => {
    const id = await create(alice.key, { kind: 'vector', title: 'Place Champollion re-levée', organisation: 'cahors', surveyedOn: '2026-10-02', producer: 'Géomètres du Quercy' });
    vectorId = id;
    const created = await createUpload(alice.key, id, 'place.gml', gml.length);
    expect(created.status, await created.clone().text()).toBe(201);
    const location = created.headers.get('location') as string;
    expect(location).toMatch(new RegExp(`^/api/v1/contributions/uploads/${id}-[0-9a-f-]{36}$`));
    const half = Math.floor(gml.length / 2);
    const first = await patch(alice.key, location, 0, gml.subarray(0, half));
    expect(first.status).toBe(204);
    expect(first.headers.get('upload-offset')).toBe(String(half));
    // Another browser: the same user's session asks where it stands, and goes on from there.
    const head = await fetch(`${base}${location}`, { method: 'HEAD', headers: { ...auth('browser'), 'tus-resumable': '1.0.0' } });
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe(String(half));
    expect(head.headers.get('upload-length')).toBe(String(gml.length));
    // A wrong offset is refused by the protocol (409), nothing written.
    expect((await patch('browser', location, half + 10, gml.subarray(half + 10))).status).toBe(409);
    const rest = await patch('browser', location, half, gml.subarray(half));
    expect(rest.status, await rest.clone().text()).toBe(204);

    const c = await settled(alice.key, id);
    expect(c.state).toBe('valid');
    expect(c.files).toHaveLength(1);
    expect(c.files[0]).toMatchObject({ name: 'place.gml', bytes: gml.length, sha256: sha256(gml) });
    expect(['ok', 'warning']).toContain(c.files[0]?.status);
    // Stored in the intermediate tier under its SHA-256, byte for byte.
    const stored = (await ctx.db.query<{ location: string }>(`SELECT location FROM contribution_files WHERE id = $1`, [c.files[0]!.id])).rows[0]?.location as string;
    expect(stored).toBe(`contributions/${id}/${location.split('/').pop()}/place.gml`);
    const chunks: Buffer[] = [];
    for await (const chunk of (await ctx.tiers.intermediate.get(stored)) as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(gml)).toBe(true);
    // The report: the import's, naming the file as sent.
    const json = (await (await call(alice.key, 'GET', c.files[0]!.report)).json()) as { report: { valid: boolean; featureCount: number; file: string; xsd: { valid: boolean } } };
    expect(json.report).toMatchObject({ valid: true, file: 'place.gml', xsd: { valid: true } });
    expect(json.report.featureCount).toBeGreaterThan(0);
    const text = await (await call(alice.key, 'GET', `${c.files[0]!.report}?format=text`)).text();
    expect(text).toMatch(/^PCRS GML validation: place\.gml\nResult: VALID/);
    expect(text).not.toContain(ctx.config.dataDir);
    // A member of another organisation sees none of it.
    expect((await call(sdis, 'GET', `/api/v1/contributions/${id}`)).status).toBe(404);
    expect(((await (await call(sdis, 'GET', '/api/v1/contributions')).json()) as { contributions: unknown[] }).contributions).toEqual([]);
    // The operator's CLI shows it with its file (on PostgreSQL: PGlite is one process's database).
    if (engine === 'postgres') {
      const list = await runPcrs(t, ctx.config.dataDir, ['contributions', 'show', String(id)]);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(/Place Champollion re-levée[\s\S]*cahors[\s\S]*place\.gml/);
    }
  }, 120_000);

  it('dalles with the maintained tus client: a valid one passes with its catalogue name; a text file named .tif is rejected; replacing it validates again and deletes the old object', async () => {
    const id = await create(alice.key, { kind: 'raster', title: 'Quatre dalles après travaux', organisation: 'cahors', surveyedOn: '2026-09-15' });
    rasterId = id;
    const upload = (name: string, data: Buffer) =>
      new Promise<void>((resolve, reject) => {
        const u = new tus.Upload(data, {
          endpoint: `${base}/api/v1/contributions/uploads`,
          headers: auth(alice.key),
          metadata: { contribution: String(id), filename: name },
          chunkSize: 256 * 1024,
          retryDelays: [],
          onError: reject,
          onSuccess: () => resolve(),
        });
        u.start();
      });
    await upload(dalleName, dalle);
    const fake = Buffer.from('ceci n’est pas une image\n'.repeat(100));
    await upload('46-2026-0575-6374-LA93-0M05.tif', fake);
    let c = await settled(alice.key, id);
    expect(c.state).toBe('invalid');
    const good = c.files.find((f) => f.name === dalleName);
    const bad = c.files.find((f) => f.name === '46-2026-0575-6374-LA93-0M05.tif');
    expect(good?.status).toBe('ok');
    expect(bad?.status).toBe('rejected');
    const goodReport = (await (await call(alice.key, 'GET', good!.report)).json()) as { report: { canonicalName: string; sourceCrs: string } };
    expect(goodReport.report).toMatchObject({ sourceCrs: 'EPSG:2154' });
    expect(goodReport.report.canonicalName).toBe(dalleName);
    const badText = await (await call(alice.key, 'GET', `${bad!.report}?format=text`)).text();
    expect(badText).toMatch(/Result: REJECTED\nERROR \[unreadable\] Not a readable raster/);
    expect(badText).not.toContain(ctx.config.dataDir);

    // The same name again with a real dalle: validated again, the old object gone.
    const oldLocation = (await ctx.db.query<{ location: string }>(`SELECT location FROM contribution_files WHERE id = $1`, [bad!.id])).rows[0]?.location as string;
    await upload('46-2026-0575-6374-LA93-0M05.tif', dalle);
    c = await settled(alice.key, id);
    expect(c.state).toBe('valid');
    // (the replacing dalle carries another dalle's name: a warning, not a refusal)
    expect(c.files.find((f) => f.name === dalleName)?.status).toBe('ok');
    expect(c.files.find((f) => f.name !== dalleName)?.status).toBe('warning');
    expect(await ctx.tiers.intermediate.head(oldLocation)).toBeNull();
  }, 180_000);

  it('refusals: no scope, another organisation, unknown organisation, wrong type, too large, over the quota, someone else’s upload, a GML failing the XSD', async () => {
    expect((await call(noScope, 'POST', '/api/v1/contributions', { kind: 'vector', title: 'x', organisation: 'cahors' })).status).toBe(403);
    const notMine = await call(sdis, 'POST', '/api/v1/contributions', { kind: 'vector', title: 'x', organisation: 'cahors' });
    expect(notMine.status).toBe(403);
    expect(((await notMine.json()) as { type: string }).type).toBe('urn:pcrs:problem:not-a-member');
    expect((await call(alice.key, 'POST', '/api/v1/contributions', { kind: 'vector', title: 'x', organisation: 'nowhere' })).status).toBe(400);
    expect((await call(alice.key, 'POST', '/api/v1/contributions', { kind: 'hydrants', title: 'x', organisation: 'cahors' })).status).toBe(400);

    const id = await create(alice.key, { kind: 'vector', title: 'Rue de la Barre', organisation: 'cahors' });
    const shp = await createUpload(alice.key, id, 'rues.shp', 1000);
    expect(shp.status).toBe(415);
    expect(await shp.text()).toContain('CNIG PCRS v2.0 GML');
    const huge = await createUpload(alice.key, id, 'ville.gml', 30e6);
    expect(huge.status).toBe(413);
    expect(await huge.text()).toContain('per file');
    // The organisation's quota (60 MB) minus what it holds: three 19 MB files fit, not a fourth.
    const used = Number((await ctx.db.query<{ n: string }>(`SELECT coalesce(sum(bytes), 0) AS n FROM contribution_files`)).rows[0]?.n);
    const overQuota = await createUpload(alice.key, id, 'ville.gml', Math.min(19e6, 60e6 - used + 1));
    expect(overQuota.status).toBe(60e6 - used + 1 <= 20e6 ? 413 : 201);
    // Someone else's contribution: as if it did not exist.
    expect((await createUpload(sdis, id, 'x.gml', 10)).status).toBe(404);
    const mine = await createUpload(alice.key, id, 'barre.gml', badGml.length);
    const location = mine.headers.get('location') as string;
    expect((await fetch(`${base}${location}`, { method: 'HEAD', headers: { ...auth(sdis), 'tus-resumable': '1.0.0' } })).status).toBe(404);
    expect((await patch(sdis, location, 0, badGml)).status).toBe(404);
    expect((await fetch(`${base}/api/v1/contributions/uploads/../../etc`, { method: 'HEAD', headers: auth(alice.key) })).status).toBe(404);

    expect((await patch(alice.key, location, 0, badGml)).status).toBe(204);
    const c = await settled(alice.key, id);
    expect(c.state).toBe('invalid');
    const report = (await (await call(alice.key, 'GET', c.files[0]!.report)).json()) as { status: string; report: { valid: boolean; xsd: { valid: boolean }; findings: Array<{ severity: string; rule: string; line?: number }> } };
    expect(report.status).toBe('rejected');
    expect(report.report.xsd.valid).toBe(false);
    expect(report.report.findings.some((f) => f.severity === 'error' && typeof f.line === 'number')).toBe(true);
  }, 120_000);

  it('moderation: only moderators decide, a reason to refuse, one decision at a time; accepted → an update version published with its provenance; rejected → nothing published; closed to new files', async () => {
    expect(vectorId).toBeGreaterThan(0);
    const decide = (key: string, id: number, body: Record<string, unknown>) => call(key, 'POST', `/api/v1/contributions/${id}/decision`, body);
    expect((await decide(alice.key, vectorId, { decision: 'accept' })).status).toBe(403);
    const noReason = await decide(moderator, vectorId, { decision: 'reject' });
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as { type: string }).type).toBe('urn:pcrs:problem:reason-required');
    const versionsBefore = (await ctx.catalog.listVersions('vector')).length;

    // Two moderators accept at the same moment: one decision is taken, the other is told.
    const both = await Promise.all([decide(moderator, vectorId, { decision: 'accept' }), decide(moderator, vectorId, { decision: 'accept' })]);
    expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
    let c = (await (await call(alice.key, 'GET', `/api/v1/contributions/${vectorId}`)).json()) as { state: string; version: string | null; moderatedBy: string };
    for (let i = 0; i < 300 && c.state === 'publishing'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      c = (await (await call(alice.key, 'GET', `/api/v1/contributions/${vectorId}`)).json()) as typeof c;
    }
    expect(c).toMatchObject({ state: 'accepted', version: `contribution-${vectorId}` });
    const version = await ctx.catalog.getVersion('vector', `contribution-${vectorId}`);
    expect(version).toMatchObject({ status: 'published', kind: 'update', acquisitionDate: '2026-10-02' });
    expect(version.description).toBe(`Contribution n° ${vectorId} de cahors (producteur : Géomètres du Quercy) : Place Champollion re-levée`);
    expect((await ctx.catalog.listVersions('vector')).length).toBe(versionsBefore + 1);
    const features = (await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM vector_features WHERE version_id = $1`, [version.id])).rows[0]?.n;
    expect(features).toBeGreaterThan(0);
    // Provenance: the OGC API's objects there say their version and contribution.
    const cls = (await ctx.db.query<{ class: string }>(`SELECT class FROM vector_features WHERE version_id = $1 GROUP BY class ORDER BY count(*) DESC LIMIT 1`, [version.id])).rows[0]?.class as string;
    const items = (await (await fetch(`${base}/ogc/collections/${cls}/items?bbox=575000,6373400,575100,6373500&bbox-crs=EPSG:2154&limit=50`)).json()) as { features: Array<{ properties: Record<string, unknown> }> };
    expect(items.features.length).toBeGreaterThan(0);
    for (const f of items.features) {
      expect(f.properties).toMatchObject({ version: `contribution-${vectorId}`, provenance: { contribution: vectorId, organisation: 'cahors', producer: 'Géomètres du Quercy', surveyedOn: '2026-10-02' } });
    }
    // Closed: no more files.
    const late = await createUpload(alice.key, vectorId, 'encore.gml', 100);
    expect(late.status).toBe(409);
    expect(await late.text()).toContain('takes no more files');

    // The raster one, accepted: an orthophoto update version with its dalles.
    expect((await decide(moderator, rasterId, { decision: 'accept' })).status).toBe(202);
    for (let i = 0; i < 600; i++) {
      const r = (await (await call(alice.key, 'GET', `/api/v1/contributions/${rasterId}`)).json()) as { state: string };
      if (r.state !== 'publishing') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const ortho = await ctx.catalog.getVersion('ortho', `contribution-${rasterId}`);
    expect(ortho).toMatchObject({ status: 'published', kind: 'update' });
    const [contributed] = await ctx.catalog.listDalles({ versionId: ortho.id });
    expect(contributed).toBeDefined();
    // GetFeatureInfo at its centre: the contribution's dalle is the one shown, and says where it comes from.
    const [x0, y0, x1, y1] = contributed!.bbox as [number, number, number, number];
    const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
    const info = await fetch(`${base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=PCRS.ORTHO&QUERY_LAYERS=PCRS.ORTHO&STYLES=&CRS=EPSG:2154&BBOX=${cx - 1},${cy - 1},${cx + 1},${cy + 1}&WIDTH=11&HEIGHT=11&I=5&J=5&INFO_FORMAT=application/json`);
    expect(info.status, await info.clone().text()).toBe(200);
    const shown = ((await info.json()) as { features: Array<{ properties: { shown: boolean; version: string; provenance: unknown } }> }).features.find((f) => f.properties.shown);
    expect(shown?.properties).toMatchObject({ version: `contribution-${rasterId}`, provenance: { contribution: rasterId, organisation: 'cahors', surveyedOn: '2026-09-15' } });

    // Rejected with a reason: final, nothing published, the contributor mailed.
    const other = await create(alice.key, { kind: 'vector', title: 'Levé à refaire', organisation: 'cahors' });
    const up = await createUpload(alice.key, other, 'refaire.gml', gml.length);
    expect((await patch(alice.key, up.headers.get('location') as string, 0, gml)).status).toBe(204);
    await settled(alice.key, other);
    const rejected = await decide(moderator, other, { decision: 'reject', reason: 'Le levé ne couvre pas la zone annoncée.' });
    expect(rejected.status).toBe(200);
    expect(await rejected.json()).toMatchObject({ state: 'rejected', reason: 'Le levé ne couvre pas la zone annoncée.' });
    expect((await ctx.catalog.listVersions('vector')).some((v) => v.name === `contribution-${other}`)).toBe(false);
    expect((await decide(moderator, other, { decision: 'accept' })).status).toBe(409);
    const mailDir = path.join(ctx.config.dataDir, 'mail');
    const mails = await Promise.all(readdirSync(mailDir).map(async (f) => simpleParser(readFileSync(path.join(mailDir, f)))));
    expect(mails.some((m) => m.subject === 'Contribution refusée — Levé à refaire' && (m.text ?? '').includes('Le levé ne couvre pas la zone annoncée.'))).toBe(true);
    expect(mails.some((m) => m.subject === 'Contribution acceptée et publiée — Place Champollion re-levée' && (m.text ?? '').includes(`version contribution-${vectorId}`))).toBe(true);

    // The operator's CLI: a reason is required to refuse or ask for changes.
    const third = await create(alice.key, { kind: 'vector', title: 'Rue du Château du Roi', organisation: 'cahors' });
    const noReasonCli = await runPcrs(t, ctx.config.dataDir, ['contributions', 'reject', String(third)]);
    expect(noReasonCli.code).toBe(64);
    expect(noReasonCli.stderr).toContain('--reason is required');
    // (PGlite is one process's database: a second opener while the server writes to it may fail; PostgreSQL runs the CLI.)
    if (engine !== 'postgres') return;
    const changes = await runPcrs(t, ctx.config.dataDir, ['contributions', 'changes', String(third), '--reason', 'Ajoutez le levé des bordures.']);
    expect(changes.code, changes.stderr).toBe(0);
    expect(changes.stdout).toContain(`Contribution ${third}: changes-requested.`);
    expect(await (await call(alice.key, 'GET', `/api/v1/contributions/${third}`)).json()).toMatchObject({ state: 'changes-requested', reason: 'Ajoutez le levé des bordures.', moderatedBy: 'operator' });
  }, 240_000);

  it('a contribution answering a declaration resolves it when published, and fills the "to update" marks its area covers', async () => {
    const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
    const declaration = await new DeclarationService(ctx).create(OPERATOR, { type: 'error', title: 'Bordure absente', description: 'La bordure a disparu après les travaux.', geometry: { type: 'Point', coordinates: [575_050, 6_373_450], crs: L93 } });
    const previous = await ctx.catalog.getVersion('vector', `contribution-${vectorId}`);
    await ctx.db.query(
      `INSERT INTO declaration_update_marks (declaration_id, version_id, area, due_on) VALUES ($1, $2, ST_Buffer(ST_SetSRID(ST_MakePoint(575050, 6373450), 2154), 5), '2026-10-01')`,
      [declaration.id, previous.id],
    );
    expect((await call(alice.key, 'POST', '/api/v1/contributions', { kind: 'vector', title: 'x', organisation: 'cahors', declarations: [999_999] })).status).toBe(400);
    const res = await call(alice.key, 'POST', '/api/v1/contributions', { kind: 'vector', title: 'Bordures refaites', organisation: 'cahors', declarations: [declaration.id] });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: number; declarations: number[] };
    expect(created.declarations).toEqual([declaration.id]);
    const up = await createUpload(alice.key, created.id, 'bordures.gml', gml.length);
    expect((await patch(alice.key, up.headers.get('location') as string, 0, gml)).status).toBe(204);
    expect((await settled(alice.key, created.id)).state).toBe('valid');
    expect((await call(moderator, 'POST', `/api/v1/contributions/${created.id}/decision`, { decision: 'accept' })).status).toBe(202);
    for (let i = 0; i < 300; i++) {
      const c = (await (await call(alice.key, 'GET', `/api/v1/contributions/${created.id}`)).json()) as { state: string };
      if (c.state !== 'publishing') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const resolved = await new DeclarationService(ctx).read(declaration.id);
    expect(resolved.status).toBe('resolved');
    expect(resolved.actions.at(-1)?.text).toBe(`Résolue par la contribution n° ${created.id} (cahors), publiée comme version contribution-${created.id}.`);
    const mark = (await ctx.db.query<{ consumed_by: string | null }>(`SELECT consumed_by FROM declaration_update_marks WHERE declaration_id = $1`, [declaration.id])).rows[0];
    expect(mark?.consumed_by).toBe(`contribution:${created.id}`);
  }, 120_000);

  it('a campaign’s contractor sends its delivery as a contribution: checked against the campaign, accepted into the campaign’s unpublished version, ticked off there', async () => {
    const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
    const campaigns = new CampaignService(ctx);
    const area = { source: 'drawn' as const, geometry: { type: 'Polygon' as const, coordinates: [[[575_000, 6_373_400], [575_200, 6_373_400], [575_200, 6_373_600], [575_000, 6_373_600], [575_000, 6_373_400]]], crs: L93 } };
    await campaigns.create(OPERATOR, { slug: 'maj-cahors-contrib', title: 'Mise à jour par contribution', kind: 'ortho', dalleSize: 200, area, contractor: 'cahors', plannedStart: '2026-09-01', plannedEnd: '2026-09-30' });
    await campaigns.create(OPERATOR, { slug: 'maj-sdis', title: 'Campagne d’un autre', kind: 'ortho', dalleSize: 200, area, contractor: 'sdis46' });
    const body = { kind: 'raster', title: 'Livraison de septembre', organisation: 'cahors', surveyedOn: '2026-09-15', campaign: 'maj-cahors-contrib' };
    const problem = async (res: Response) => ({ status: res.status, type: ((await res.json()) as { type: string }).type.replace('urn:pcrs:problem:', '') });
    // Not yet ordered; unknown; another organisation's campaign; business data; a date outside the window; a vector file to an orthophoto campaign.
    expect(await problem(await call(alice.key, 'POST', '/api/v1/contributions', body))).toEqual({ status: 409, type: 'campaign-not-receiving' });
    await campaigns.changeStatus(OPERATOR, 'maj-cahors-contrib', 'ordered');
    expect(await problem(await call(alice.key, 'POST', '/api/v1/contributions', { ...body, campaign: 'nope' }))).toEqual({ status: 400, type: 'unknown-campaign' });
    expect(await problem(await call(alice.key, 'POST', '/api/v1/contributions', { ...body, campaign: 'maj-sdis' }))).toEqual({ status: 403, type: 'not-the-contractor' });
    expect((await call(alice.key, 'POST', '/api/v1/contributions', { ...body, kind: 'business', business: { dataset: 'bornes', title: 'Bornes' } })).status).toBe(400);
    expect(await problem(await call(alice.key, 'POST', '/api/v1/contributions', { ...body, surveyedOn: '2026-10-15' }))).toEqual({ status: 400, type: 'acquisition-date-outside' });
    expect(await problem(await call(alice.key, 'POST', '/api/v1/contributions', { ...body, kind: 'vector' }))).toEqual({ status: 409, type: 'wrong-campaign-kind' });

    const id = await create(alice.key, body);
    const up = await createUpload(alice.key, id, dalleName, dalle.length);
    expect((await patch(alice.key, up.headers.get('location') as string, 0, dalle)).status).toBe(204);
    expect((await settled(alice.key, id)).state).toBe('valid');
    expect((await call(moderator, 'POST', `/api/v1/contributions/${id}/decision`, { decision: 'accept' })).status).toBe(202);
    let c = (await (await call(alice.key, 'GET', `/api/v1/contributions/${id}`)).json()) as { state: string; version: string | null; campaign: string | null };
    for (let i = 0; i < 300 && c.state === 'publishing'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      c = (await (await call(alice.key, 'GET', `/api/v1/contributions/${id}`)).json()) as typeof c;
    }
    expect(c).toMatchObject({ state: 'accepted', version: 'campaign-maj-cahors-contrib', campaign: 'maj-cahors-contrib' });
    // Into the campaign's version, unpublished until the campaign is; no version of its own.
    expect((await ctx.catalog.getVersion('ortho', 'campaign-maj-cahors-contrib')).status).not.toBe('published');
    expect((await ctx.catalog.listVersions('ortho')).map((v) => v.name)).not.toContain(`contribution-${id}`);
    const campaign = await campaigns.store.get('maj-cahors-contrib');
    expect(campaign).toMatchObject({ status: 'in-acquisition', progress: { expected: 1, received: 1, missing: 0 } });
  }, 180_000);
});
