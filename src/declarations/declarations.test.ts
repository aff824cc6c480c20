/**
 * Declarations through the HTTP API on PGlite and PostgreSQL, with the platform's access policy
 * (keys, sessions, roles) and the author's mails received by a real SMTP server on loopback:
 * create with each geometry kind and CRS, bad input (4xx, nothing stored), the triage flow, status
 * transitions and roles, list filters, SQL injection in filters, HTML kept as text, and the CLI.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validate } from '@readme/openapi-parser';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailCatcher, type MailCatcher } from '../accounts/test-support/smtp.js';
import { loadConfig } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { transformPoint } from '../grid/crs.js';
import { OPENAPI_URL } from '../http/openapi.js';
import { buildServer } from '../server/app.js';
import { createUser, sessionFor, userWithKey } from '../test-support/access.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { declarationsCapability } from './capability.js';

// Cahors, Lambert-93 and WGS84.
const CAHORS_L93 = [575_200, 6_373_600] as const;
const CAHORS_WGS84 = [1.4415, 44.4475] as const;
const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
const CC45 = { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::3945' } } as const;

const square = (x: number, y: number, d: number) => [[[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]];

describe.each(ENGINES)('declarations on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let dataDir: string;
  let ctx: AppContext;
  let app: FastifyInstance;
  let smtp: MailCatcher;
  let author: { userId: number; cookie: string; csrf: string };
  let authorKey: string;
  let moderatorKey: string;
  let memberKey: string;
  let readOnlyKey: string;
  let otherUserId: number;
  const AUTHOR_EMAIL = 'alice@cahors.fr';

  const asAuthor = (o: InjectOptions): InjectOptions => ({ ...o, cookies: { pcrs_session: author.cookie }, headers: { ...(o.headers ?? {}), 'x-csrf-token': author.csrf } });
  const withKey = (key: string, o: InjectOptions): InjectOptions => ({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${key}` } });
  const counts = async () => (await t.db.query<{ d: number; a: number }>(`SELECT (SELECT count(*)::int FROM declarations) AS d, (SELECT count(*)::int FROM declaration_actions) AS a`)).rows[0];
  const base = { type: 'error', title: 'Bordure disparue', description: 'La bordure de trottoir n’existe plus depuis les travaux.' };

  beforeAll(async () => {
    t = await open();
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-decl-'));
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    smtp = await startMailCatcher();
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent', PCRS_SMTP_URL: smtp.url, PCRS_PUBLIC_URL: 'https://pcrs.example.fr' });
    ctx = buildAppContext(config, t.db);
    await ctx.catalog.ensureStandardDatasets('46');
    // Two 1 km dalles of a published orthophoto version around Cahors.
    const { rows } = await t.db.query<{ id: number }>(`INSERT INTO versions (dataset_id, name, status) VALUES ('ortho', '2025', 'published') RETURNING id`);
    for (const [col, name] of [[575, '46-2025-0575-6374'], [576, '46-2025-0576-6374']] as const) {
      await t.db.query(
        `INSERT INTO dalles (version_id, name, size_m, grid_col, grid_row, footprint, state) VALUES ($1, $2, 1000, $3, 6374, ST_MakeEnvelope($4, 6373000, $5, 6374000, 2154), 'published')`,
        [Number(rows[0]?.id), name, col, col * 1000, col * 1000 + 1000],
      );
    }
    const aliceId = await createUser(ctx, AUTHOR_EMAIL, { memberships: [{ org: 'cahors', role: 'member' }] });
    const s = await sessionFor(ctx, aliceId);
    author = { userId: aliceId, cookie: s.cookie, csrf: s.csrfToken };
    authorKey = (await userWithKey(ctx, 'alice-key@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['declarations:write'] })).key;
    moderatorKey = (await userWithKey(ctx, 'moderateur@fdel.fr', { platformRoles: ['moderator'], memberships: [{ org: 'fdel', role: 'member' }], scopes: ['declarations:write'] })).key;
    memberKey = (await userWithKey(ctx, 'agent@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['declarations:write'] })).key;
    readOnlyKey = (await userWithKey(ctx, 'lecteur@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['read'] })).key;
    otherUserId = await createUser(ctx, 'technicien@fdel.fr', { memberships: [{ org: 'fdel', role: 'member' }] });
    app = await buildServer(ctx, { logger: false, capabilities: [declarationsCapability] });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    ctx?.mail.close();
    await ctx?.access.close?.().catch(() => undefined);
    await smtp?.close();
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates a Point in WGS84, a LineString in Lambert-93 and a Polygon in CC45, stored in Lambert-93 with the opened action and the dalles touched', async () => {
    const point = await app.inject(asAuthor({ method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: { type: 'Point', coordinates: CAHORS_WGS84 }, layer: { dataset: 'ortho', version: '2025' } } }));
    expect(point.statusCode, point.body).toBe(201);
    const p = point.json();
    expect(point.headers.location).toBe(`/api/v1/declarations/${p.id}`);
    expect(p).toMatchObject({ type: 'error', status: 'submitted', layer: { dataset: 'ortho', version: '2025' }, author: { userId: author.userId, organisation: { slug: 'cahors' } }, works: null });
    const [x, y] = transformPoint('OGC:CRS84', 'EPSG:2154', CAHORS_WGS84);
    expect(p.geometryLambert93.coordinates[0]).toBeCloseTo(x, 1);
    expect(p.geometryLambert93.coordinates[1]).toBeCloseTo(y, 1);
    expect(p.geometry.coordinates[0]).toBeCloseTo(CAHORS_WGS84[0], 6);
    expect(p.actions).toEqual([expect.objectContaining({ action: 'opened', actorUserId: author.userId, toStatus: 'submitted' })]);
    expect(p.dalles.map((d: { name: string }) => d.name)).toEqual(['46-2025-0575-6374']);
    const stored = await t.db.query<{ srid: number; kind: string }>(`SELECT ST_SRID(geom) AS srid, GeometryType(geom) AS kind FROM declarations WHERE id = $1`, [p.id]);
    expect(stored.rows[0]).toEqual({ srid: 2154, kind: 'POINT' });

    const line = await app.inject(withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, type: 'update-request', geometry: { type: 'LineString', crs: L93, coordinates: [[575_500, 6_373_500], [576_500, 6_373_500]] } } }));
    expect(line.statusCode, line.body).toBe(201);
    expect(line.json().geometryLambert93).toEqual({ type: 'LineString', coordinates: [[575_500, 6_373_500], [576_500, 6_373_500]] });
    expect(line.json().dalles.map((d: { name: string }) => d.name)).toEqual(['46-2025-0575-6374', '46-2025-0576-6374']);

    const cc = square(...transformPoint('EPSG:2154', 'EPSG:3945', CAHORS_L93), 20)[0]?.map(([a, b]) => [a as number, b as number]);
    const works = await app.inject(withKey(authorKey, {
      method: 'POST',
      url: '/api/v1/declarations',
      payload: { ...base, type: 'works', title: 'Réfection de chaussée', geometry: { type: 'Polygon', crs: CC45, coordinates: [cc] }, works: { dtDictRef: '2026120200123D', plannedStart: '2026-03-01', plannedEnd: '2026-04-15', themes: ['03A', '05'] } },
    }));
    expect(works.statusCode, works.body).toBe(201);
    expect(works.json().works).toEqual({ dtDictRef: '2026120200123D', plannedStart: '2026-03-01', plannedEnd: '2026-04-15', themes: ['03A', '05'] });
    const ring = works.json().geometryLambert93.coordinates[0] as number[][];
    expect(Math.min(...ring.map((q) => q[0] as number))).toBeCloseTo(CAHORS_L93[0] - 20, 1);
    expect(Math.max(...ring.map((q) => q[1] as number))).toBeCloseTo(CAHORS_L93[1] + 20, 1);
    const area = await t.db.query<{ a: number }>(`SELECT ST_Area(geom) AS a FROM declarations WHERE id = $1`, [works.json().id]);
    expect(Number(area.rows[0]?.a)).toBeCloseTo(1600, -1);

    const read = await app.inject(withKey(memberKey, { url: `/api/v1/declarations/${p.id}` }));
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ id: p.id, title: base.title, actions: [{ action: 'opened' }] });
    expect(read.body).not.toContain(AUTHOR_EMAIL);
    expect((await app.inject({ url: `/api/v1/declarations/${p.id}` })).statusCode).toBe(401);
    expect((await app.inject(withKey(memberKey, { url: '/api/v1/declarations/999999' }))).statusCode).toBe(404);
  });

  it('refuses bad input with 4xx and the reason, and stores nothing', async () => {
    const before = await counts();
    const point = { type: 'Point', coordinates: CAHORS_WGS84 };
    const cases: Array<[string, InjectOptions, number, RegExp?]> = [
      ['outside the territory (Paris)', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: { type: 'Point', coordinates: [2.35, 48.85] } } }), 400, /outside the territory/],
      ['outside, Lambert-93', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: { type: 'Point', crs: L93, coordinates: [652_000, 6_862_000] } } }), 400, /outside the territory/],
      ['self-intersecting polygon', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: { type: 'Polygon', crs: L93, coordinates: [[[575_000, 6_373_000], [575_100, 6_373_100], [575_100, 6_373_000], [575_000, 6_373_100], [575_000, 6_373_000]]] } } }), 400, /Self-intersection/i],
      ['unclosed ring', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: { type: 'Polygon', crs: L93, coordinates: [[[575_000, 6_373_000], [575_100, 6_373_000], [575_100, 6_373_100], [575_000, 6_373_100]]] } } }), 400, /not closed/],
      ['unsupported crs', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: { type: 'Point', crs: { type: 'name', properties: { name: 'EPSG:3857' } }, coordinates: [160_000, 5_530_000] } } }), 400, /crs/],
      ['multipolygon', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: { type: 'MultiPoint', coordinates: [CAHORS_WGS84] } } }), 400],
      ['empty description', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, description: '   ', geometry: point } }), 400, /description/],
      ['empty title', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, title: '', geometry: point } }), 400, /title/],
      ['unknown theme', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, type: 'works', geometry: point, works: { themes: ['03A', '11'] } } }), 400, /theme codes/],
      ['end before start', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, type: 'works', geometry: point, works: { plannedStart: '2026-05-01', plannedEnd: '2026-04-01' } } }), 400, /planned end/],
      ['not a date', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, type: 'works', geometry: point, works: { plannedStart: '2026-02-30' } } }), 400],
      ['works fields on an error', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: point, works: { themes: ['02'] } } }), 400, /works/],
      ['unknown type', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, type: 'complaint', geometry: point } }), 400],
      ['unknown layer', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: point, layer: { dataset: 'ortho', version: '1999' } } }), 400, /no layer/],
      ['mass assignment: status', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: point, status: 'resolved' } }), 400],
      ['mass assignment: author', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: point, authorUserId: 1 } }), 400],
      ['an organisation not one’s own', withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: point, organisation: 'fdel' } }), 403],
      ['anonymous', { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: point } }, 401],
      ['a key without declarations:write', withKey(readOnlyKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: point } }), 403, /declarations:write/],
      ['a session without its CSRF token', { method: 'POST', url: '/api/v1/declarations', cookies: { pcrs_session: author.cookie }, payload: { ...base, geometry: point } }, 403],
    ];
    for (const [what, request, status, reason] of cases) {
      const res = await app.inject(request);
      expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      if (reason) expect(res.json().detail ?? res.json().title, what).toMatch(reason);
    }
    expect(await counts()).toEqual(before);
  });

  it('triage: a moderator acknowledges, assigns, comments and resolves; the author gets each mail (FR then EN) and the audit log the status changes', async () => {
    const created = await app.inject(asAuthor({ method: 'POST', url: '/api/v1/declarations', payload: { ...base, title: 'Bâtiment mal dessiné', geometry: { type: 'Point', coordinates: CAHORS_WGS84 } } }));
    const id = created.json().id as number;
    const mod = (url: string, payload: object) => app.inject(withKey(moderatorKey, { method: 'POST', url: `/api/v1/declarations/${id}${url}`, payload }));

    const ack = await mod('/status', { status: 'acknowledged' });
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json().status).toBe('acknowledged');
    const ackMail = await smtp.waitFor((m) => m.to.includes(AUTHOR_EMAIL) && m.subject.includes(`n° ${id} prise en compte`));
    expect(ackMail.text.indexOf('Bonjour')).toBeLessThan(ackMail.text.indexOf('Hello'));
    expect(ackMail.text).toContain(`https://pcrs.example.fr/#/declarations/${id}`);

    const assigned = await mod('/assign', { userId: otherUserId, organisation: 'fdel', text: 'Pour la prochaine mise à jour' });
    expect(assigned.statusCode, assigned.body).toBe(200);
    expect(assigned.json().assigned).toMatchObject({ user: { id: otherUserId }, organisation: { slug: 'fdel' } });

    const comment = await mod('/comments', { text: 'Nous vérifions sur l’orthophoto 2025.' });
    expect(comment.statusCode, comment.body).toBe(201);
    const commentMail = await smtp.waitFor((m) => m.to.includes(AUTHOR_EMAIL) && m.subject.includes(`commentaire sur la déclaration n° ${id}`));
    expect(commentMail.text).toContain('> Nous vérifions sur l’orthophoto 2025.');

    const noReason = await mod('/status', { status: 'resolved' });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().type).toBe('urn:pcrs:problem:reason-required');
    const resolved = await mod('/status', { status: 'resolved', reason: 'Contour corrigé dans la version 2026.' });
    expect(resolved.statusCode, resolved.body).toBe(200);
    const resolvedMail = await smtp.waitFor((m) => m.to.includes(AUTHOR_EMAIL) && m.subject.includes(`n° ${id} résolue`));
    expect(resolvedMail.text).toContain('Contour corrigé dans la version 2026.');
    expect(resolvedMail.text).toContain(`declaration #${id} "Bâtiment mal dessiné" is now: resolved`);

    // The author's own comment mails nobody.
    const mailsBefore = smtp.to(AUTHOR_EMAIL).length;
    expect((await app.inject(asAuthor({ method: 'POST', url: `/api/v1/declarations/${id}/comments`, payload: { text: 'Merci !' } }))).statusCode).toBe(201);
    const log = (await app.inject(withKey(moderatorKey, { url: `/api/v1/declarations/${id}` }))).json().actions as Array<{ action: string; fromStatus: string | null; toStatus: string | null; text: string | null }>;
    expect(log.map((a) => a.action)).toEqual(['opened', 'status-changed', 'assigned', 'commented', 'closed', 'commented']);
    expect(log[4]).toMatchObject({ fromStatus: 'acknowledged', toStatus: 'resolved', text: 'Contour corrigé dans la version 2026.' });
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.to(AUTHOR_EMAIL).length).toBe(mailsBefore);

    const audit = (await ctx.audit.query({ action: 'declaration.' })).filter((e) => e.target === `declaration:${id}`);
    expect(audit.map((e) => e.action).sort()).toEqual(['declaration.assign', 'declaration.status', 'declaration.status']);
    expect(audit.find((e) => e.details.to === 'resolved')?.details).toMatchObject({ from: 'acknowledged', reason: 'Contour corrigé dans la version 2026.' });
  });

  it('checks transitions and roles: 409 naming the transition, 403 for others, reopen to submitted, duplicates; nothing changes on a refusal', async () => {
    const mk = async () => (await app.inject(withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, geometry: { type: 'Point', coordinates: CAHORS_WGS84 } } }))).json().id as number;
    const a = await mk();
    const b = await mk();
    const status = (key: string, id: number, payload: object) => app.inject(withKey(key, { method: 'POST', url: `/api/v1/declarations/${id}/status`, payload }));
    expect((await status(moderatorKey, a, { status: 'rejected', reason: 'Hors PCRS' })).statusCode).toBe(200);
    const before = await counts();
    const auditBefore = (await ctx.audit.query({ action: 'declaration.status', limit: 1000 })).length;
    const bad = await status(moderatorKey, a, { status: 'in-progress' });
    expect(bad.statusCode).toBe(409);
    expect(bad.json().detail).toContain('rejected → in-progress');
    expect((await status(moderatorKey, a, { status: 'resolved', reason: 'x' })).statusCode).toBe(409);
    expect((await status(memberKey, b, { status: 'acknowledged' })).statusCode).toBe(403);
    expect((await status(authorKey, b, { status: 'resolved', reason: 'fait' })).statusCode).toBe(403);
    expect((await status(moderatorKey, b, { status: 'duplicate', reason: 'doublon' })).statusCode).toBe(400);
    expect((await status(moderatorKey, b, { status: 'duplicate', reason: 'doublon', duplicateOf: b })).statusCode).toBe(400);
    expect((await status(moderatorKey, b, { status: 'bogus' })).statusCode).toBe(400);
    expect((await app.inject(withKey(memberKey, { method: 'POST', url: `/api/v1/declarations/${b}/assign`, payload: { organisation: 'sdis46' } }))).statusCode).toBe(403);
    expect((await status(moderatorKey, 999_999, { status: 'acknowledged' })).statusCode).toBe(404);
    expect(await counts()).toEqual(before);
    expect((await ctx.audit.query({ action: 'declaration.status', limit: 1000 })).length).toBe(auditBefore);

    const reopened = await status(moderatorKey, a, { status: 'submitted', reason: 'Nouvel élément' });
    expect(reopened.statusCode, reopened.body).toBe(200);
    expect(reopened.json().actions.at(-1)).toMatchObject({ action: 'reopened', fromStatus: 'rejected', toStatus: 'submitted' });
    const dup = await status(moderatorKey, b, { status: 'duplicate', reason: 'Déjà signalé', duplicateOf: a });
    expect(dup.statusCode, dup.body).toBe(200);
    expect(dup.json()).toMatchObject({ status: 'duplicate', duplicateOf: a });
    expect(dup.json().actions.at(-1)).toMatchObject({ action: 'merged-duplicate', details: { duplicateOf: a } });
    const back = await status(moderatorKey, b, { status: 'submitted' });
    expect(back.json()).toMatchObject({ status: 'submitted', duplicateOf: null });
    // The action log refuses changes.
    await expect(t.db.query(`UPDATE declaration_actions SET text = 'x' WHERE declaration_id = $1`, [a])).rejects.toThrow(/append-only/);
    await expect(t.db.query(`DELETE FROM declaration_actions WHERE declaration_id = $1`, [a])).rejects.toThrow(/append-only/);
  });

  it('lists with filters (bbox in WGS84 or Lambert-93, status, type, theme, updated_since, organisation) and pages', async () => {
    const far = await app.inject(withKey(memberKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, type: 'intervention', title: 'Figeac', geometry: { type: 'Point', crs: L93, coordinates: [610_000, 6_390_000] } } }));
    expect(far.statusCode, far.body).toBe(201);
    const list = async (query: string, key = memberKey) => {
      const res = await app.inject(withKey(key, { url: `/api/v1/declarations?${query}` }));
      expect(res.statusCode, `${query}: ${res.body}`).toBe(200);
      return res.json() as { total: number; declarations: Array<{ id: number; type: string; status: string; title: string; author: { organisation: { slug: string } | null } }> };
    };
    const all = await list('limit=500');
    expect(all.total).toBe(all.declarations.length);
    const inCahors = await list('bbox=1.43,44.44,1.46,44.46');
    expect(inCahors.declarations.some((d) => d.id === far.json().id)).toBe(false);
    expect(inCahors.total).toBe(all.total - 1);
    const inFigeac = await list('bbox=609000,6389000,611000,6391000&bbox-crs=EPSG:2154');
    expect(inFigeac.declarations.map((d) => d.id)).toEqual([far.json().id]);
    expect((await list('type=intervention')).declarations.map((d) => d.id)).toEqual([far.json().id]);
    const works = await list('theme=03A');
    expect(works.declarations.length).toBe(1);
    expect(works.declarations[0]?.type).toBe('works');
    expect((await list('theme=02')).total).toBe(0);
    const closed = await list('status=resolved,duplicate');
    expect(closed.total).toBeGreaterThan(0);
    expect(closed.declarations.every((d) => d.status === 'resolved' || d.status === 'duplicate')).toBe(true);
    expect((await list('organisation=sdis46')).declarations.map((d) => d.id)).toEqual([far.json().id]);
    expect((await list('organisation=cahors')).declarations.every((d) => d.author.organisation?.slug === 'cahors')).toBe(true);
    expect((await list('updated_since=2999-01-01T00:00:00Z')).total).toBe(0);
    const recent = await list(`updated_since=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`);
    expect(recent.total).toBe(all.total);
    const page1 = await list('limit=2');
    const page2 = await list('limit=2&offset=2');
    expect(page1.declarations).toHaveLength(2);
    expect(page2.declarations[0]?.id).not.toBe(page1.declarations[1]?.id);
    expect(page1.total).toBe(all.total);
    expect((await app.inject({ url: '/api/v1/declarations' })).statusCode).toBe(401);
  });

  it('answers SQL injection in filters and bodies with 4xx or nothing, and changes nothing', async () => {
    const before = await counts();
    const snapshot = async () => (await t.db.query(`SELECT id, status, title, updated_at FROM declarations ORDER BY id`)).rows;
    const rows = await snapshot();
    for (const q of [
      "status=submitted'%20OR%20'1'='1",
      'status=submitted;DROP%20TABLE%20declarations',
      "type=error'--",
      "theme=03A'%20OR%201=1--",
      "organisation=cahors'%20OR%20'1'='1",
      'bbox=1,2,3,4);DELETE%20FROM%20declarations;--',
      "updated_since=2020-01-01'%20OR%201=1",
      'limit=1;DROP%20TABLE%20users',
      'offset=-1',
      "unknown=1'",
    ]) {
      const res = await app.inject(withKey(memberKey, { url: `/api/v1/declarations?${q}` }));
      expect(res.statusCode, q).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, q).toBeLessThan(500);
    }
    for (const url of ["/api/v1/declarations/1%20OR%201=1", '/api/v1/declarations/1;DROP%20TABLE%20declarations']) {
      expect((await app.inject(withKey(memberKey, { url }))).statusCode).toBe(400);
    }
    const inj = "x'); DELETE FROM declarations; --";
    const created = await app.inject(withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, title: inj, description: inj, geometry: { type: 'Point', coordinates: CAHORS_WGS84 } } }));
    expect(created.statusCode).toBe(201);
    expect(created.json().title).toBe(inj);
    const after = await counts();
    expect(after?.d).toBe((before?.d ?? 0) + 1);
    expect((await snapshot()).slice(0, rows.length)).toEqual(rows);
  });

  it('keeps HTML and script in text fields as text (a JSON string, never markup)', async () => {
    const html = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const res = await app.inject(withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { ...base, title: html, description: `${html}\nligne 2`, geometry: { type: 'Point', coordinates: CAHORS_WGS84 } } }));
    expect(res.statusCode).toBe(201);
    const read = await app.inject(withKey(memberKey, { url: `/api/v1/declarations/${res.json().id}` }));
    expect(read.headers['content-type']).toMatch(/^application\/json/);
    expect(read.json().title).toBe(html);
    expect(read.json().description).toBe(`${html}\nligne 2`);
    const stored = await t.db.query<{ title: string }>(`SELECT title FROM declarations WHERE id = $1`, [res.json().id]);
    expect(stored.rows[0]?.title).toBe(html);
  });

  it('describes its routes in a valid OpenAPI 3.1 document', async () => {
    const res = await app.inject(OPENAPI_URL);
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect((await validate(doc)).valid).toBe(true);
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/api/v1/declarations')).sort()).toEqual(expect.arrayContaining(['/api/v1/declarations', '/api/v1/declarations/to-update', '/api/v1/declarations/{id}', '/api/v1/declarations/{id}/assign', '/api/v1/declarations/{id}/attachments', '/api/v1/declarations/{id}/attachments/{attachmentId}', '/api/v1/declarations/{id}/comments', '/api/v1/declarations/{id}/status']));
    expect(doc.paths['/api/v1/declarations'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['bbox', 'status', 'type', 'theme', 'updated_since', 'organisation', 'limit', 'offset']));
  });

  it('pcrs declarations list [--status] [--json] and export --format csv|geojson', async () => {
    const total = (await counts())?.d as number;
    const resolvedIds = (await t.db.query<{ id: string }>(`SELECT id::text FROM declarations WHERE status = 'resolved' ORDER BY id`)).rows.map((r) => Number(r.id));
    await app.close();
    if (engine === 'pglite') await t.db.close();
    const pcrs = (...args: string[]) => runPcrs(t, dataDir, args);
    const table = await pcrs('declarations', 'list');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+TYPE\s+STATUS\s+TITLE/);
    expect(table.stdout.trim().split('\n')).toHaveLength(total + 1);
    const json = await pcrs('declarations', 'list', '--status', 'resolved', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as Array<{ id: number }>).map((d) => d.id).sort((x, y) => x - y)).toEqual(resolvedIds);
    const csv = await pcrs('declarations', 'export', '--format', 'csv');
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\r\n');
    expect(lines[0]).toMatch(/^id,type,status,title,description,/);
    expect(csv.stdout).toContain('POINT (');
    // Formula-looking cells are neutralised for spreadsheets.
    expect(csv.stdout).not.toMatch(/,=|,\+|,@/);
    const geojson = await pcrs('declarations', 'export', '--format', 'geojson');
    expect(geojson.code, geojson.stderr).toBe(0);
    const fc = JSON.parse(geojson.stdout) as { type: string; features: Array<{ geometry: { type: string; coordinates: number[] } }> };
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.features).toHaveLength(total);
    const pt = fc.features.find((f) => f.geometry.type === 'Point');
    expect(pt?.geometry.coordinates[0]).toBeGreaterThan(1);
    expect(pt?.geometry.coordinates[0]).toBeLessThan(2.5);
    expect((await pcrs('declarations', 'export', '--format', 'xml')).code).toBe(64);
    expect((await pcrs('declarations', 'list', '--status', 'closed')).code).toBe(64);
  });
});
