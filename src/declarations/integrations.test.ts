/**
 * What lets other software follow the declarations, on PGlite and PostgreSQL, through a listening
 * server: the Atom feed (well-formed for xmllint, filters, HTML/script titles escaped), webhooks
 * to a real HTTP receiver on loopback (signed events in order, retries with backoff in the delivery
 * log, pause after N failures and resume without skipping, SSRF refusals, the secret shown once and
 * never logged, roles), the OGC API Features collection read by GDAL's OAPIF driver with public
 * fields only, and the statistics on a known set.
 */
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { validate } from '@readme/openapi-parser';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { createLogger } from '../context/logger.js';
import { OPENAPI_URL } from '../http/openapi.js';
import { ogcCapability } from '../ogc/capability.js';
import { buildServer } from '../server/app.js';
import { createUser, sessionFor, userWithKey } from '../test-support/access.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { gdal } from '../test-support/gdal.js';
import { freePort } from '../test-support/net.js';
import { declarationsCapability } from './capability.js';
import { declarationStats, statsPeriod } from './stats.js';
import { WebhookReceiver } from './test-support/webhook-receiver.js';
import { SecretBox } from './webhooks.js';

const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
const CAHORS_WGS84 = [1.4415, 44.4475] as const;
const DESCRIPTION = 'Description privée : appeler Mme Durand au 06 12 34 56 78.';
const BACKOFF = 0.3;
const MAX_ATTEMPTS = 3;

const xmllint = async (xml: string): Promise<{ code: number; stderr: string }> => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-atom-'));
  const file = path.join(dir, 'feed.xml');
  writeFileSync(file, xml);
  try {
    await promisify(execFile)('xmllint', ['--noout', '--nonet', file]);
    return { code: 0, stderr: '' };
  } catch (e) {
    return { code: (e as { code?: number }).code ?? 1, stderr: String((e as { stderr?: string }).stderr) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(ENGINES)('declarations feed, webhooks, OGC collection, statistics on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let dataDir: string;
  let ctx: AppContext;
  let strictCtx: AppContext;
  let app: FastifyInstance;
  let strict: FastifyInstance;
  let url: string;
  let receiver: WebhookReceiver;
  let moderatorKey: string;
  let authorKey: string;
  let memberKey: string;
  let readerKey: string;
  let author: { cookie: string; csrf: string };
  const logLines: string[] = [];
  const AUTHOR_EMAIL = 'auteur@cahors.fr';

  const withKey = (key: string, o: InjectOptions): InjectOptions => ({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${key}` } });
  const declare = async (payload: Record<string, unknown>) => {
    const res = await app.inject(withKey(authorKey, { method: 'POST', url: '/api/v1/declarations', payload: { type: 'error', title: 'Bordure disparue', description: DESCRIPTION, geometry: { type: 'Point', coordinates: CAHORS_WGS84 }, ...payload } }));
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: number; updatedAt: string };
  };
  const moderate = (id: number, what: 'status' | 'comments' | 'assign', payload: object) => app.inject(withKey(moderatorKey, { method: 'POST', url: `/api/v1/declarations/${id}/${what}`, payload }));
  const makeConfig = (publicUrl: string, overrides: Record<string, unknown>): Config =>
    loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'trace', PCRS_PUBLIC_URL: publicUrl, PCRS_SECRET_KEY: 'k'.repeat(40) }, overrides);

  beforeAll(async () => {
    t = await open();
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-decl-feed-'));
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    receiver = new WebhookReceiver();
    await receiver.start();
    // The listening server's own URL is its public URL: the links GDAL follows lead back to it.
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const config = makeConfig(url, {
      'declarations.webhooks.allowPrivateNetworks': true,
      'declarations.webhooks.pollSeconds': 0.1,
      'declarations.webhooks.backoffBaseSeconds': BACKOFF,
      'declarations.webhooks.backoffMaxSeconds': 2,
      'declarations.webhooks.maxAttempts': MAX_ATTEMPTS,
      'declarations.webhooks.timeoutSeconds': 1,
    });
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    ctx = buildAppContext(config, t.db, { log: createLogger(config, { stream }) });
    await ctx.catalog.ensureStandardDatasets('46');
    authorKey = (await userWithKey(ctx, AUTHOR_EMAIL, { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['declarations:write'] })).key;
    const session = await sessionFor(ctx, await createUser(ctx, 'alice@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }] }));
    author = { cookie: session.cookie, csrf: session.csrfToken };
    moderatorKey = (await userWithKey(ctx, 'moderateur@fdel.fr', { platformRoles: ['moderator'], memberships: [{ org: 'fdel', role: 'member' }], scopes: ['declarations:write'] })).key;
    memberKey = (await userWithKey(ctx, 'agent@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['declarations:write'] })).key;
    readerKey = (await userWithKey(ctx, 'lecteur@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['read'] })).key;
    app = await buildServer(ctx, { capabilities: [ogcCapability, declarationsCapability] });
    await app.listen({ host: '127.0.0.1', port });
    // The same database with the defaults: private destinations refused, and (here) no anonymous public reads.
    strictCtx = buildAppContext(makeConfig('https://pcrs.example.fr', { 'declarations.publicCollection': false }), t.db);
    strict = await buildServer(strictCtx, { logger: false, capabilities: [ogcCapability, declarationsCapability] });
    await strict.ready();
  });
  afterAll(async () => {
    await app?.close();
    await strict?.close();
    for (const c of [ctx, strictCtx]) {
      c?.mail.close();
      await c?.access.close?.().catch(() => undefined);
    }
    await receiver?.stop();
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('Atom feed: well-formed (xmllint), newest first, tag: ids, links to the portal, filters, paging, and HTML/script titles as escaped text', async () => {
    const html = '<script>alert("x")</script> & <b>gras</b>\u0001';
    const a = await declare({ title: html });
    const b = await declare({ type: 'works', title: 'Réfection de chaussée', geometry: { type: 'LineString', crs: L93, coordinates: [[575_500, 6_373_500], [575_600, 6_373_520]] }, works: { plannedStart: '2026-03-01', plannedEnd: '2026-04-15', themes: ['03A', '05'] } });
    const c = await declare({ type: 'intervention', title: 'Figeac', geometry: { type: 'Polygon', crs: L93, coordinates: [[[610_000, 6_390_000], [610_050, 6_390_000], [610_050, 6_390_050], [610_000, 6_390_000]]] } });
    expect((await moderate(a.id, 'status', { status: 'resolved', reason: 'Corrigé.' })).statusCode).toBe(200);

    const res = await app.inject({ url: '/api/v1/declarations/feed.atom' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    const lint = await xmllint(res.body);
    expect(lint.code, lint.stderr).toBe(0);
    const xml = res.body;
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"/);
    const ids = [...xml.matchAll(/<id>tag:127\.0\.0\.1,2026:declaration:(\d+)<\/id>/g)].map((m) => Number(m[1]));
    // Most recently updated first: a was resolved last.
    expect(ids).toEqual([a.id, c.id, b.id]);
    expect(xml).toContain('<title type="text">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;gras&lt;/b&gt;</title>');
    expect(xml).not.toContain('<script');
    expect(xml).not.toContain('<b>');
    expect(xml).toContain(`<link rel="alternate" type="text/html" href="${url}/#/declarations/${a.id}"/>`);
    expect(xml).toMatch(new RegExp(`declaration:${a.id}</id>.*?term="resolved" label="résolue"`));
    expect(xml).toMatch(new RegExp(`declaration:${b.id}</id>.*?<georss:line>44\\.\\d+ 1\\.\\d+ 44\\.\\d+ 1\\.\\d+</georss:line>`));
    expect(xml).toMatch(new RegExp(`declaration:${b.id}</id>.*?term="03A"`));
    expect(xml).toMatch(/<georss:polygon>(?:[\d.]+ [\d.]+ ?){4}<\/georss:polygon>/);
    // Public fields only.
    expect(xml).not.toContain('Mme Durand');
    expect(xml).not.toContain(AUTHOR_EMAIL);
    expect(xml).not.toContain('cahors</');

    const feed = async (q: string, o: InjectOptions = {}) => {
      const r = await app.inject({ ...o, url: `/api/v1/declarations/feed.atom?${q}` });
      expect(r.statusCode, r.body).toBe(200);
      expect((await xmllint(r.body)).code).toBe(0);
      return { xml: r.body, ids: [...r.body.matchAll(/2026:declaration:(\d+)<\/id>/g)].map((m) => Number(m[1])) };
    };
    expect((await feed('type=works')).ids).toEqual([b.id]);
    expect((await feed('status=resolved')).ids).toEqual([a.id]);
    expect((await feed(`updated_since=${encodeURIComponent(c.updatedAt)}`)).ids).toEqual([a.id, c.id]);
    expect((await feed('theme=05')).ids).toEqual([b.id]);
    expect((await feed(`bbox=${[609_000, 6_389_000, 611_000, 6_391_000].join(',')}&bbox-crs=EPSG:2154`)).ids).toEqual([c.id]);
    const first = await feed('limit=2');
    expect(first.ids).toEqual([a.id, c.id]);
    const next = /<link rel="next" type="application\/atom\+xml" href="([^"]+)"\/>/.exec(first.xml)?.[1]?.replace(/&amp;/g, '&');
    expect(next).toBeDefined();
    expect((await feed(new URL(next as string).search.slice(1))).ids).toEqual([b.id]);
    // The author's organisation is not public: its filter needs a sign-in.
    expect((await app.inject({ url: '/api/v1/declarations/feed.atom?organisation=cahors' })).statusCode).toBe(401);
    expect((await feed('organisation=cahors', withKey(readerKey, {}))).ids).toEqual([a.id, c.id, b.id]);
    expect((await feed('organisation=sdis46', withKey(readerKey, {}))).ids).toEqual([]);
    // Bad filters: 400; a feed made private by configuration: 401 anonymous, 200 signed in.
    expect((await app.inject({ url: '/api/v1/declarations/feed.atom?status=closed' })).statusCode).toBe(400);
    expect((await app.inject({ url: "/api/v1/declarations/feed.atom?type=error'--" })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/v1/declarations/feed.atom?author=me' })).statusCode).toBe(400);
    expect((await strict.inject({ url: '/api/v1/declarations/feed.atom' })).statusCode).toBe(401);
    const signedIn = await strict.inject(withKey(readerKey, { url: '/api/v1/declarations/feed.atom' }));
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.body).toContain(`<id>tag:pcrs.example.fr,2026:declaration:${a.id}</id>`);
    expect(signedIn.body).toContain(`href="https://pcrs.example.fr/#/declarations/${a.id}"`);
  });

  it('webhooks: moderators only; http(s) URLs only; private, loopback and link-local destinations refused by default; nothing stored on a refusal', async () => {
    const count = async () => Number((await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM declaration_webhooks`)).rows[0]?.n);
    const before = await count();
    const post = (server: FastifyInstance, o: InjectOptions) => server.inject({ method: 'POST', url: '/api/v1/declarations/webhooks', ...o });
    expect((await post(app, { payload: { url: `${receiver.url}/hook` } })).statusCode).toBe(401);
    expect((await post(app, withKey(memberKey, { payload: { url: `${receiver.url}/hook` } }))).statusCode).toBe(403);
    expect((await post(app, { cookies: { pcrs_session: author.cookie }, headers: { 'x-csrf-token': author.csrf }, payload: { url: `${receiver.url}/hook` } })).statusCode).toBe(403);
    expect((await app.inject(withKey(memberKey, { url: '/api/v1/declarations/webhooks' }))).statusCode).toBe(403);
    expect((await app.inject(withKey(memberKey, { url: '/api/v1/declarations/webhooks/1/deliveries' }))).statusCode).toBe(403);
    for (const target of ['http://127.0.0.1:9/hook', 'http://10.1.2.3/hook', 'http://169.254.169.254/latest/meta-data/', 'http://192.168.1.10/', 'http://172.20.0.1/', 'http://[::1]:8080/', 'http://[fe80::1]/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/', 'http://0x7f.0.0.1/', 'http://localhost:8080/hook', 'http://0.0.0.0/']) {
      const res = await post(strict, withKey(moderatorKey, { payload: { url: target } }));
      expect(res.statusCode, `${target}: ${res.body}`).toBe(400);
      expect(res.json().type, target).toBe('urn:pcrs:problem:private-destination');
    }
    for (const target of ['ftp://example.org/hook', 'file:///etc/passwd', 'javascript:alert(1)', 'gopher://example.org/', 'not a url', 'https://user:secret@example.org/hook']) {
      const res = await post(strict, withKey(moderatorKey, { payload: { url: target } }));
      expect(res.statusCode, `${target}: ${res.body}`).toBe(400);
      expect(res.json().type, target).toBe('urn:pcrs:problem:invalid-url');
    }
    expect((await post(strict, withKey(moderatorKey, { payload: { url: 'https://example.org/hook', events: ['declaration.deleted'] } }))).statusCode).toBe(400);
    expect((await post(strict, withKey(moderatorKey, { payload: { url: 'https://example.org/hook', secret: 'mine' } }))).statusCode).toBe(400);
    expect(await count()).toBe(before);

    // At most 100 webhooks (these are paused: the loop leaves them alone).
    await t.db.query(`INSERT INTO declaration_webhooks (url, secret_sealed, created_by, last_action_id, state, failing_since)
                      SELECT 'https://example.org/' || g, 'v1.x.y.z', 'test', 0, 'failing', now() FROM generate_series(1, 100) g`);
    const tooMany = await post(app, withKey(moderatorKey, { payload: { url: `${receiver.url}/hook` } }));
    expect(tooMany.statusCode, tooMany.body).toBe(409);
    expect(tooMany.json().type).toBe('urn:pcrs:problem:too-many-webhooks');
    await t.db.query(`DELETE FROM declaration_webhooks WHERE created_by = 'test'`);
    expect(await count()).toBe(before);
  });

  it('webhooks: signed events in order from registration on; the secret shown once, sealed at rest, never listed nor logged; failures retried with backoff in the delivery log; paused after N failures and resumed without skipping', async () => {
    const early = await declare({ title: 'Avant l’abonnement' });
    const created = await app.inject(withKey(moderatorKey, { method: 'POST', url: '/api/v1/declarations/webhooks', payload: { url: `${receiver.url}/hook?source=pcrs` } }));
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const hook = created.json() as { id: number; secret: string; state: string; lastEventId: number; url: string };
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(hook).toMatchObject({ state: 'active', url: `${receiver.url}/hook?source=pcrs` });
    const lastBefore = Number((await t.db.query<{ m: string }>(`SELECT max(id)::text AS m FROM declaration_actions`)).rows[0]?.m);
    expect(hook.lastEventId).toBe(lastBefore);

    // Never again: not in the list, not in the webhook, not in plain text in the database or the audit log.
    const listed = await app.inject(withKey(moderatorKey, { url: '/api/v1/declarations/webhooks' }));
    expect(listed.statusCode).toBe(200);
    expect(listed.json().webhooks.map((w: { id: number }) => w.id)).toContain(hook.id);
    expect(listed.body).not.toContain(hook.secret);
    expect(listed.body).not.toContain('secret');
    expect((await app.inject(withKey(moderatorKey, { url: `/api/v1/declarations/webhooks/${hook.id}` }))).body).not.toContain(hook.secret);
    const row = (await t.db.query<{ secret_sealed: string }>(`SELECT secret_sealed FROM declaration_webhooks WHERE id = $1`, [hook.id])).rows[0];
    expect(row?.secret_sealed).toMatch(/^v1\./);
    expect(row?.secret_sealed).not.toContain(hook.secret.slice(6));
    const audit = await t.db.query<{ details: unknown }>(`SELECT details FROM audit_log WHERE action = 'declaration.webhook.create'`);
    expect(audit.rows).toHaveLength(1);
    expect(JSON.stringify(audit.rows)).not.toContain(hook.secret.slice(6));

    // What happens after the registration, in order: a comment, a status change, a new declaration.
    const base = receiver.received.length;
    expect((await moderate(early.id, 'comments', { text: 'Vu.' })).statusCode).toBe(201);
    expect((await moderate(early.id, 'status', { status: 'acknowledged' })).statusCode).toBe(200);
    const later = await declare({ title: 'Après l’abonnement' });
    const got = (await receiver.waitFor(base + 3)).slice(base);
    const events = got.map((r) => JSON.parse(r.body) as { id: number; type: string; at: string; declaration: Record<string, unknown>; change?: { from: string | null; to: string } });
    expect(events.map((e) => e.type)).toEqual(['declaration.commented', 'declaration.status-changed', 'declaration.opened']);
    expect(events.map((e) => e.declaration.id)).toEqual([early.id, early.id, later.id]);
    expect(events[0]?.id).toBeGreaterThan(lastBefore);
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((x, y) => x - y));
    expect(events[1]?.change).toEqual({ from: 'submitted', to: 'acknowledged' });
    expect(events[2]?.declaration).toMatchObject({ id: later.id, type: 'error', status: 'submitted', title: 'Après l’abonnement', url: `${url}/#/declarations/${later.id}`, geometry: { type: 'Point' } });
    expect(Object.keys(events[2]?.declaration ?? {}).sort()).toEqual(['createdAt', 'geometry', 'id', 'plannedEnd', 'plannedStart', 'status', 'themes', 'title', 'type', 'updatedAt', 'url']);
    for (const r of got) {
      expect(r.body).not.toContain('Mme Durand');
      expect(r.body).not.toContain(AUTHOR_EMAIL);
      const ts = String(r.headers['x-pcrs-timestamp']);
      expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
      expect(r.headers['x-pcrs-event-id']).toBe(String((JSON.parse(r.body) as { id: number }).id));
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      const expected = `sha256=${createHmac('sha256', hook.secret).update(`${ts}.${r.body}`).digest('hex')}`;
      expect(r.headers['x-pcrs-signature']).toBe(expected);
      // A tampered body does not verify.
      expect(`sha256=${createHmac('sha256', hook.secret).update(`${ts}.${r.body.replace('error', 'works')}`).digest('hex')}`).not.toBe(expected);
    }
    expect(events.some((e) => e.declaration.id === early.id && e.type === 'declaration.opened')).toBe(false);

    // The receiver fails (500), then times out, then accepts: the same event three times, then the next one, in order.
    receiver.script('fail', 'hang');
    const from = receiver.received.length;
    expect((await moderate(later.id, 'comments', { text: 'Premier.' })).statusCode).toBe(201);
    expect((await moderate(later.id, 'comments', { text: 'Second.' })).statusCode).toBe(201);
    const retried = (await receiver.waitFor(from + 4)).slice(from);
    const ids = retried.map((r) => (JSON.parse(r.body) as { id: number }).id);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[1]).toBe(ids[2]);
    expect(ids[3]).toBe((ids[0] as number) + 1);
    expect(retried.map((r) => r.answered)).toEqual(['fail', 'hang', 'ok', 'ok']);
    // Backoff between attempts: at least base, then 2·base (plus the 1 s timeout of the second).
    expect((retried[1]?.at as number) - (retried[0]?.at as number)).toBeGreaterThanOrEqual(BACKOFF * 1000 - 50);
    expect((retried[2]?.at as number) - (retried[1]?.at as number)).toBeGreaterThanOrEqual(1000 + 2 * BACKOFF * 1000 - 50);
    const log = await until('the delivery log', async () => {
      const r = await app.inject(withKey(moderatorKey, { url: `/api/v1/declarations/webhooks/${hook.id}/deliveries?limit=4` }));
      const d = r.json().deliveries as Array<{ eventId: number; attempt: number; statusCode: number | null; error: string | null; durationMs: number; at: string; retryAt: string | null }>;
      return d.length === 4 && d[0]?.eventId === ids[3] ? d.reverse() : undefined;
    });
    expect(log.map((d) => [d.eventId, d.attempt, d.statusCode])).toEqual([[ids[0], 1, 500], [ids[0], 2, null], [ids[0], 3, 204], [ids[3], 1, 204]]);
    expect(log[1]?.error).toBe('timeout after 1 s');
    expect(log[1]?.durationMs).toBeGreaterThanOrEqual(950);
    const backoff = (d: (typeof log)[number]) => Date.parse(d.retryAt as string) - Date.parse(d.at);
    expect(backoff(log[0] as (typeof log)[number])).toBeGreaterThanOrEqual(BACKOFF * 1000 - 20);
    expect(backoff(log[0] as (typeof log)[number])).toBeLessThan(BACKOFF * 1000 + 200);
    expect(backoff(log[1] as (typeof log)[number])).toBeGreaterThanOrEqual(2 * BACKOFF * 1000 - 20);
    expect(log[2]?.retryAt).toBeNull();

    // Always failing (500, reset, 500): paused after MAX_ATTEMPTS attempts at one event; the next event waits.
    receiver.script('fail', 'reset', 'fail');
    const stuckFrom = receiver.received.length;
    expect((await moderate(later.id, 'status', { status: 'in-progress' })).statusCode).toBe(200);
    expect((await moderate(later.id, 'status', { status: 'resolved', reason: 'Fait.' })).statusCode).toBe(200);
    const paused = await until('the webhook to be paused', async () => {
      const w = (await app.inject(withKey(moderatorKey, { url: `/api/v1/declarations/webhooks/${hook.id}` }))).json() as { state: string; failures: number; lastError: string | null; failingSince: string | null };
      return w.state === 'failing' ? w : undefined;
    });
    expect(paused).toMatchObject({ failures: MAX_ATTEMPTS, lastError: 'HTTP 500' });
    expect(paused.failingSince).not.toBeNull();
    await new Promise((r) => setTimeout(r, 800));
    const stuck = receiver.received.slice(stuckFrom);
    expect(stuck).toHaveLength(MAX_ATTEMPTS);
    const stuckId = (JSON.parse(stuck[0]?.body as string) as { id: number }).id;
    expect(stuck.every((r) => (JSON.parse(r.body) as { id: number }).id === stuckId)).toBe(true);
    const deliveries = (await app.inject(withKey(moderatorKey, { url: `/api/v1/declarations/webhooks/${hook.id}/deliveries?limit=3` }))).json().deliveries as Array<{ attempt: number; error: string | null; statusCode: number | null; retryAt: string | null }>;
    expect(deliveries.map((d) => d.attempt)).toEqual([3, 2, 1]);
    expect(deliveries[1]?.error).toMatch(/ECONNRESET|socket hang up/);
    expect(deliveries[0]?.retryAt).toBeNull();
    expect(logLines.some((l) => /webhook paused after repeated failures/.test(l))).toBe(true);

    // Resumed by a moderator (not by a member): the same event first, then the next, nothing skipped.
    expect((await app.inject(withKey(memberKey, { method: 'POST', url: `/api/v1/declarations/webhooks/${hook.id}/resume` }))).statusCode).toBe(403);
    const resumed = await app.inject(withKey(moderatorKey, { method: 'POST', url: `/api/v1/declarations/webhooks/${hook.id}/resume` }));
    expect(resumed.statusCode, resumed.body).toBe(200);
    expect(resumed.json()).toMatchObject({ state: 'active', failures: 0, failingSince: null });
    const after = (await receiver.waitFor(stuckFrom + MAX_ATTEMPTS + 2)).slice(stuckFrom + MAX_ATTEMPTS);
    const afterEvents = after.map((r) => JSON.parse(r.body) as { id: number; type: string; change?: { to: string } });
    expect(afterEvents.map((e) => e.id)).toEqual([stuckId, stuckId + 1]);
    expect(afterEvents.map((e) => e.type)).toEqual(['declaration.status-changed', 'declaration.closed']);
    expect(afterEvents[1]?.change?.to).toBe('resolved');
    // The receiver may answer before the platform records it: wait for the record.
    const last = await until('the last delivery recorded', async () => {
      const d = (await app.inject(withKey(moderatorKey, { url: `/api/v1/declarations/webhooks/${hook.id}/deliveries?limit=1` }))).json().deliveries[0] as { eventId: number } | undefined;
      return d?.eventId === stuckId + 1 ? d : undefined;
    });
    expect(last).toMatchObject({ eventId: stuckId + 1, attempt: 1, statusCode: 204 });

    // The secret is in no log line (the server logged at trace level all along).
    expect(logLines.length).toBeGreaterThan(10);
    expect(logLines.some((l) => l.includes('webhook registered'))).toBe(true);
    expect(logLines.filter((l) => l.includes(hook.secret.slice(6)))).toEqual([]);

    // Deleted: no more deliveries, its log gone, 404 after.
    expect((await app.inject(withKey(moderatorKey, { method: 'DELETE', url: `/api/v1/declarations/webhooks/${hook.id}` }))).statusCode).toBe(204);
    expect((await app.inject(withKey(moderatorKey, { url: `/api/v1/declarations/webhooks/${hook.id}/deliveries` }))).statusCode).toBe(404);
    expect((await app.inject(withKey(moderatorKey, { method: 'DELETE', url: `/api/v1/declarations/webhooks/${hook.id}` }))).statusCode).toBe(404);
    expect(Number((await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM declaration_webhook_deliveries WHERE webhook_id = $1`, [hook.id])).rows[0]?.n)).toBe(0);
    const silent = receiver.received.length;
    expect((await moderate(later.id, 'comments', { text: 'Personne n’écoute.' })).statusCode).toBe(201);
    await new Promise((r) => setTimeout(r, 600));
    expect(receiver.received.length).toBe(silent);
  });

  it('webhooks: an events filter delivers only those types; a private destination stored while allowed is refused at delivery once disallowed', async () => {
    const created = await app.inject(withKey(moderatorKey, { method: 'POST', url: '/api/v1/declarations/webhooks', payload: { url: `${receiver.url}/closed-only`, events: ['declaration.closed'] } }));
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;
    const from = receiver.received.length;
    const d = await declare({ title: 'Filtrée' });
    expect((await moderate(d.id, 'comments', { text: 'Rien à envoyer.' })).statusCode).toBe(201);
    expect((await moderate(d.id, 'status', { status: 'rejected', reason: 'Hors PCRS.' })).statusCode).toBe(200);
    const [only] = (await receiver.waitFor(from + 1)).slice(from);
    expect(JSON.parse(only?.body as string)).toMatchObject({ type: 'declaration.closed', declaration: { id: d.id, status: 'rejected' }, change: { to: 'rejected' } });
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.received.length).toBe(from + 1);
    expect((await app.inject(withKey(moderatorKey, { method: 'DELETE', url: `/api/v1/declarations/webhooks/${id}` }))).statusCode).toBe(204);

    // The strict server's loop (private networks not allowed) refuses to post to 127.0.0.1.
    const { postEvent } = await import('./webhook-delivery.js');
    const refused = await postEvent(`${receiver.url}/x`, { id: 1, body: '{}' }, 's', { timeoutMs: 1000, allowPrivateNetworks: false });
    expect(refused).toMatchObject({ ok: false, statusCode: null });
    expect(refused.error).toMatch(/loopback, private, link-local/);
    const byName = await postEvent(`${receiver.url.replace('127.0.0.1', 'localhost')}/x`, { id: 1, body: '{}' }, 's', { timeoutMs: 1000, allowPrivateNetworks: false });
    expect(byName.error).toMatch(/resolved to (127\.0\.0\.1|::1)/);
    expect(receiver.received.length).toBe(from + 1);

    // Sealed secrets: AES-256-GCM with a fresh IV each time, authenticated, bound to the server secret.
    const box = new SecretBox(Buffer.from('k'.repeat(40)));
    const sealed = box.seal('whsec_abc');
    expect(sealed).not.toBe(box.seal('whsec_abc'));
    expect(box.open(sealed)).toBe('whsec_abc');
    const parts = sealed.split('.');
    const flipped = [parts[0], parts[1], Buffer.from(Buffer.from(parts[2] as string, 'base64url').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64url'), parts[3]].join('.');
    expect(() => box.open(flipped)).toThrow();
    expect(() => new SecretBox(Buffer.from('other'.repeat(8))).open(sealed)).toThrow();
    // A webhook whose secret the server can no longer decrypt (the server secret changed) is paused, saying why.
    const foreign = new SecretBox(Buffer.from('other'.repeat(8))).seal('whsec_x');
    const { rows } = await t.db.query<{ id: string }>(
      `INSERT INTO declaration_webhooks (url, secret_sealed, created_by, last_action_id) VALUES ($1, $2, 'test', (SELECT max(id) - 1 FROM declaration_actions)) RETURNING id::text`,
      [`${receiver.url}/foreign`, foreign],
    );
    const stuck = await until('the undecryptable webhook to be paused', async () => {
      const w = (await app.inject(withKey(moderatorKey, { url: `/api/v1/declarations/webhooks/${rows[0]?.id}` }))).json() as { state: string; lastError: string };
      return w.state === 'failing' ? w : undefined;
    });
    expect(stuck.lastError).toMatch(/cannot be decrypted/);
    expect(receiver.received.length).toBe(from + 1);
    expect((await app.inject(withKey(moderatorKey, { method: 'DELETE', url: `/api/v1/declarations/webhooks/${rows[0]?.id}` }))).statusCode).toBe(204);
  });

  it.skipIf(engine !== 'postgres')('actions become visible in id order: a second writer waits for the first to commit', async () => {
    const d = await declare({ title: 'Concurrence' });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const first = t.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO declaration_actions (declaration_id, action, actor) VALUES ($1, 'commented', 'test:first')`, [d.id]);
      order.push('first inserted');
      await gate;
      order.push('first commits');
    });
    await until('the first insert', async () => order.length > 0);
    const second = t.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO declaration_actions (declaration_id, action, actor) VALUES ($1, 'commented', 'test:second')`, [d.id]);
      order.push('second inserted');
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(order).toEqual(['first inserted']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first inserted', 'first commits', 'second inserted']);
    const ids = (await t.db.query<{ id: string; actor: string }>(`SELECT a.id::text, a.actor FROM declaration_actions a WHERE a.actor LIKE 'test:%' ORDER BY a.id`)).rows.map((r) => r.actor);
    expect(ids).toEqual(['test:first', 'test:second']);
  });

  it("OGC API Features: the declarations collection, public fields only, bbox/crs/datetime/paging, read by GDAL's OAPIF driver", async () => {
    const collections = (await app.inject('/ogc/collections')).json() as { collections: Array<{ id: string; links: Array<{ rel: string; href: string }> }> };
    const col = collections.collections.find((c) => c.id === 'declarations');
    expect(col).toBeDefined();
    expect(col?.links.find((l) => l.rel === 'items')?.href).toBe(`${url}/ogc/collections/declarations/items`);
    const total = Number((await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM declarations`)).rows[0]?.n);
    expect(total).toBeGreaterThan(4);

    const items = await app.inject('/ogc/collections/declarations/items?limit=1000');
    expect(items.statusCode, items.body).toBe(200);
    expect(items.headers['content-type']).toMatch(/^application\/geo\+json/);
    const fc = items.json() as { numberMatched: number; features: Array<{ id: number; geometry: { type: string; coordinates: number[] }; properties: Record<string, unknown> }> };
    expect(fc.numberMatched).toBe(total);
    expect(fc.features).toHaveLength(total);
    for (const f of fc.features) expect(Object.keys(f.properties).sort()).toEqual(['createdAt', 'plannedEnd', 'plannedStart', 'status', 'themes', 'title', 'type', 'updatedAt']);
    expect(items.body).not.toContain('Mme Durand');
    expect(items.body).not.toContain(AUTHOR_EMAIL);
    expect(items.body).not.toMatch(/author|description|cahors|assigned/i);
    const point = fc.features.find((f) => f.geometry.type === 'Point');
    expect(point?.geometry.coordinates[0]).toBeCloseTo(CAHORS_WGS84[0], 5);

    const l93 = (await app.inject(`/ogc/collections/declarations/items/${point?.id}?crs=${encodeURIComponent('http://www.opengis.net/def/crs/EPSG/0/2154')}`));
    expect(l93.statusCode).toBe(200);
    expect(l93.headers['content-crs']).toBe('<http://www.opengis.net/def/crs/EPSG/0/2154>');
    expect(l93.json().geometry.coordinates[0]).toBeGreaterThan(500_000);
    expect(l93.json().properties).not.toHaveProperty('description');
    const figeac = (await app.inject(`/ogc/collections/declarations/items?bbox=${[609_000, 6_389_000, 611_000, 6_391_000].join(',')}&bbox-crs=${encodeURIComponent('http://www.opengis.net/def/crs/EPSG/0/2154')}`)).json();
    expect(figeac.features.map((f: { properties: { title: string } }) => f.properties.title)).toEqual(['Figeac']);
    expect((await app.inject('/ogc/collections/declarations/items?status=rejected')).json().features.map((f: { properties: { title: string } }) => f.properties.title)).toEqual(['Filtrée']);
    expect((await app.inject('/ogc/collections/declarations/items?datetime=2000-01-01/2000-12-31')).json().numberMatched).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    expect((await app.inject(`/ogc/collections/declarations/items?datetime=${today}`)).json().numberMatched).toBe(total);
    expect((await app.inject(`/ogc/collections/declarations/items?datetime=../${today}T00:00:00Z`)).json().numberMatched).toBe(0);
    const page = (await app.inject('/ogc/collections/declarations/items?limit=2')).json() as { features: unknown[]; links: Array<{ rel: string; href: string }> };
    expect(page.features).toHaveLength(2);
    expect(page.links.find((l) => l.rel === 'next')?.href).toMatch(/offset=2&limit=2|limit=2&offset=2/);
    for (const bad of ['limit=0', 'datetime=yesterday', 'status=closed', 'crs=EPSG:9999', 'bbox=1,2,3', 'description=x', "type=error'--"]) {
      expect((await app.inject(`/ogc/collections/declarations/items?${bad}`)).statusCode, bad).toBe(400);
    }
    expect((await app.inject('/ogc/collections/declarations/items/999999')).statusCode).toBe(404);
    expect((await app.inject('/ogc/collections/declarations/items/abc')).statusCode).toBe(404);

    // GDAL (as QGIS users add it): every declaration, no private field.
    const info = await gdal('ogrinfo', ['-ro', '-al', `OAPIF:${url}/ogc`, 'declarations']);
    expect(info).toMatch(new RegExp(`Feature Count: ${total}\\n`));
    expect((info.match(/OGRFeature\(declarations\)/g) ?? []).length).toBe(total);
    expect(info).toMatch(/title \(String\)/);
    expect(info).toMatch(/status \(String\)/);
    const fields = [...info.matchAll(/^(\w+): (?:String|StringList|Integer|Integer64|Real|Date|DateTime)(?:\(\w+\))? \(/gm)].map((m) => m[1]);
    expect(fields.sort()).toEqual(['createdAt', 'plannedEnd', 'plannedStart', 'status', 'themes', 'title', 'type', 'updatedAt']);
    expect(info).not.toMatch(/Mme Durand|@cahors/);
    expect(info).toContain('title (String) = <script>alert("x")</script> & <b>gras</b>');

    // Not public by configuration: not listed, 401 anonymous, readable signed in.
    expect((await strict.inject('/ogc/collections')).json().collections.map((c: { id: string }) => c.id)).not.toContain('declarations');
    expect((await strict.inject('/ogc/collections/declarations/items')).statusCode).toBe(401);
    expect((await strict.inject(withKey(readerKey, { url: '/ogc/collections/declarations/items' }))).statusCode).toBe(200);
    expect((await strict.inject(withKey(readerKey, { url: '/ogc/collections' }))).json().collections.map((c: { id: string }) => c.id)).toContain('declarations');
  });

  it('describes the feed, webhook and statistics routes in the valid OpenAPI document, and the collection in the OGC API definition', async () => {
    const doc = (await app.inject(OPENAPI_URL)).json();
    expect((await validate(doc)).valid).toBe(true);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/api/v1/declarations/feed.atom', '/api/v1/declarations/stats', '/api/v1/declarations/webhooks', '/api/v1/declarations/webhooks/{id}',
      '/api/v1/declarations/webhooks/{id}/resume', '/api/v1/declarations/webhooks/{id}/deliveries',
    ]));
    expect(doc.paths['/api/v1/declarations/feed.atom'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['bbox', 'status', 'type', 'theme', 'updated_since', 'organisation', 'limit', 'offset']));
    expect(JSON.stringify(doc.paths['/api/v1/declarations/webhooks'])).not.toContain('"secret"');
    const ogc = (await app.inject('/ogc/api')).json();
    expect(ogc.paths['/collections/declarations/items'].get.parameters.find((p: { name: string }) => p.name === 'limit').schema.maximum).toBe(10_000);
    expect((await app.inject('/ogc/conformance')).json().conformsTo).toContain('http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson');
  });

  it('statistics: per month and type opened and closed (months in Europe/Paris), median hours to resolution, open now per type and status', async () => {
    expect((await app.inject({ url: '/api/v1/declarations/stats' })).statusCode).toBe(401);
    const now = await app.inject(withKey(readerKey, { url: '/api/v1/declarations/stats' }));
    expect(now.statusCode, now.body).toBe(200);
    expect(now.json().months).toHaveLength(12 * 4);
    for (const bad of ['from=2026-13', 'from=2026-03&to=2026-01', 'from=2000-01&to=2026-01', 'to=2026-1', 'from=x']) {
      expect((await app.inject(withKey(readerKey, { url: `/api/v1/declarations/stats?${bad}` }))).statusCode, bad).toBe(400);
    }

    // A known set in a database of its own.
    const s = await open();
    try {
      const ins = async (type: string, status: string, created: string) =>
        Number((await s.db.query<{ id: string }>(
          `INSERT INTO declarations (type, geom, title, description, author_actor, status, created_at, updated_at)
           VALUES ($1, ST_SetSRID(ST_MakePoint(575200, 6373600), 2154), 'x', 'y', 'user:1', $2, $3::timestamptz, $3::timestamptz) RETURNING id::text`,
          [type, status, created],
        )).rows[0]?.id);
      const act = (id: number, action: string, at: string, to?: string) =>
        s.db.query(`INSERT INTO declaration_actions (declaration_id, action, actor, at, to_status) VALUES ($1, $2, 'user:2', $3::timestamptz, $4)`, [id, action, at, to ?? null]);
      const e1 = await ins('error', 'resolved', '2026-01-10T10:00:00Z');
      await act(e1, 'closed', '2026-01-12T10:00:00Z', 'resolved'); // 48 h
      const e2 = await ins('error', 'rejected', '2026-01-20T00:00:00Z');
      await act(e2, 'closed', '2026-02-01T00:00:00Z', 'rejected'); // 288 h, 1 February 01:00 in Paris
      await ins('error', 'acknowledged', '2026-02-05T09:00:00Z');
      await ins('works', 'submitted', '2026-01-31T23:30:00Z'); // 1 February 00:30 in Paris: February
      const w2 = await ins('works', 'resolved', '2026-02-10T08:00:00Z');
      await act(w2, 'closed', '2026-02-10T20:00:00Z', 'resolved');
      await act(w2, 'reopened', '2026-02-11T06:00:00Z', 'submitted');
      await act(w2, 'closed', '2026-02-11T08:00:00Z', 'resolved'); // last closing: 24 h
      const u1 = await ins('update-request', 'duplicate', '2026-03-01T12:00:00Z');
      await act(u1, 'merged-duplicate', '2026-03-02T12:00:00Z', 'duplicate'); // 24 h
      await ins('intervention', 'in-progress', '2026-04-01T12:00:00Z'); // after the period

      const stats = await declarationStats(s.db, statsPeriod('2026-01', '2026-03', 'Europe/Paris'), 'Europe/Paris');
      const cell = (month: string, type: string) => stats.months.find((m) => m.month === month && m.type === type);
      expect(stats.months).toHaveLength(12);
      expect(cell('2026-01', 'error')).toMatchObject({ opened: 2, closed: 1 });
      expect(cell('2026-01', 'works')).toMatchObject({ opened: 0, closed: 0 });
      expect(cell('2026-02', 'error')).toMatchObject({ opened: 1, closed: 1 });
      expect(cell('2026-02', 'works')).toMatchObject({ opened: 2, closed: 2 });
      expect(cell('2026-03', 'update-request')).toMatchObject({ opened: 1, closed: 1 });
      expect(cell('2026-03', 'intervention')).toMatchObject({ opened: 0, closed: 0 });
      expect(stats.months.reduce((n, m) => n + m.opened, 0)).toBe(6);
      expect(stats.resolution).toEqual([
        { type: 'error', closed: 2, medianHours: 168 },
        { type: 'update-request', closed: 1, medianHours: 24 },
        { type: 'works', closed: 1, medianHours: 24 },
        { type: 'intervention', closed: 0, medianHours: null },
      ]);
      expect(stats.open).toEqual([
        { type: 'error', status: 'acknowledged', count: 1 },
        { type: 'intervention', status: 'in-progress', count: 1 },
        { type: 'works', status: 'submitted', count: 1 },
      ]);
      // February only: E2's closing (1 February in Paris) is in, E1's is not.
      const feb = await declarationStats(s.db, statsPeriod('2026-02', '2026-02', 'Europe/Paris'), 'Europe/Paris');
      expect(feb.resolution[0]).toEqual({ type: 'error', closed: 1, medianHours: 288 });
      // In UTC, the works declared at 23:30 on 31 January belong to January.
      const utc = await declarationStats(s.db, statsPeriod('2026-01', '2026-02', 'UTC'), 'UTC');
      expect(utc.months.find((m) => m.month === '2026-01' && m.type === 'works')?.opened).toBe(1);
    } finally {
      await s.dispose();
    }
    // The route answers the same shape on the platform's database.
    const body = (await app.inject(withKey(readerKey, { url: '/api/v1/declarations/stats?from=2026-01&to=2026-03' }))).json();
    expect(Object.keys(body).sort()).toEqual(['from', 'months', 'open', 'resolution', 'timeZone', 'to']);
    expect(body.timeZone).toBe('Europe/Paris');
  });
});

describe('declarations configuration', () => {
  it('has safe defaults and names a bad key', () => {
    const c = loadConfig({ PCRS_DATA_DIR: tmpdir() });
    expect(c.declarations).toEqual({
      publicCollection: true,
      timeZone: 'Europe/Paris',
      webhooks: { allowPrivateNetworks: false, timeoutSeconds: 10, maxAttempts: 8, backoffBaseSeconds: 30, backoffMaxSeconds: 3600, pollSeconds: 5 },
    });
    expect(() => loadConfig({ PCRS_DATA_DIR: tmpdir() }, { 'declarations.timeZone': 'Europe/Cahors' })).toThrow(/declarations\.timeZone: must be an IANA time zone/);
    expect(() => loadConfig({ PCRS_DATA_DIR: tmpdir() }, { 'declarations.webhooks.maxAttempts': 0 })).toThrow(/declarations\.webhooks\.maxAttempts/);
    expect(() => loadConfig({ PCRS_DATA_DIR: tmpdir() }, { 'declarations.webhooks.allowPrivate': true })).toThrow(/declarations\.webhooks/);
  });
});
