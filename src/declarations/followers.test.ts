/**
 * The declarations workflow through the HTTP API on PGlite and PostgreSQL, mails received by a
 * real SMTP server on loopback: followers (author, subscribers, area subscribers) mailed on every
 * change but the actor, one-click unsubscribe links that work (GET and RFC 8058 POST) and forged or
 * altered ones refused; anonymous error declarations (confirmation link from the mail, honeypot,
 * per-IP rate limit, turned off, expired link); bulk triage with good and bad ids; ?author=me.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailCatcher, type MailCatcher, type ReceivedMail } from '../accounts/test-support/smtp.js';
import { loadConfig, type Config } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { OPENAPI_URL } from '../http/openapi.js';
import { buildServer } from '../server/app.js';
import { userWithKey } from '../test-support/access.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { AnonymousDeclarations } from './anonymous.js';
import { declarationsCapability } from './capability.js';
import { UnsubscribeTokens } from './followers.js';
import { DeclarationService } from './service.js';

const PUBLIC_URL = 'https://pcrs.example.fr';
const CAHORS_WGS84 = [1.4415, 44.4475] as const;
const FIGEAC_L93 = { type: 'Point', crs: { type: 'name', properties: { name: 'EPSG:2154' } }, coordinates: [610_000, 6_390_000] } as const;
// Around Cahors, WGS84.
const CAHORS_AREA = { type: 'Polygon', coordinates: [[[1.42, 44.43], [1.47, 44.43], [1.47, 44.46], [1.42, 44.46], [1.42, 44.43]]] };
const SECRET = 'a-test-server-secret-of-at-least-32-characters';
const ANONYMOUS_PER_HOUR = 3;

/** The path and query of the unsubscribe link in a mail's text (the same as its List-Unsubscribe header). */
function unsubscribeLink(mail: ReceivedMail): string {
  const m = /https:\/\/pcrs\.example\.fr(\/api\/v1\/declarations\/unsubscribe\?token=[A-Za-z0-9._-]+)/.exec(mail.text);
  if (!m?.[1]) throw new Error(`no unsubscribe link in: ${mail.text}`);
  return m[1];
}

function confirmToken(mail: ReceivedMail): string {
  const m = /https:\/\/pcrs\.example\.fr\/#\/declarations\/confirmer\?token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!m?.[1]) throw new Error(`no confirmation link in: ${mail.text}`);
  return m[1];
}

describe.each(ENGINES)('declarations workflow on $engine', ({ open }) => {
  let t: TestDatabase;
  let dataDir: string;
  let config: Config;
  let ctx: AppContext;
  let app: FastifyInstance;
  let smtp: MailCatcher;
  const keys: Record<'alice' | 'bob' | 'carol' | 'dave' | 'moderator' | 'reader', string> = { alice: '', bob: '', carol: '', dave: '', moderator: '', reader: '' };
  const EMAIL = { alice: 'alice@cahors.fr', bob: 'bob@lot.fr', carol: 'carol@fdel.fr', dave: 'dave@sdis46.fr', moderator: 'moderateur@fdel.fr' } as const;
  let aliceId: number;

  const as = (who: keyof typeof keys, o: InjectOptions): InjectOptions => ({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${keys[who]}` } });
  const declare = async (who: keyof typeof keys, payload: object = {}) => {
    const res = await app.inject(as(who, { method: 'POST', url: '/api/v1/declarations', payload: { type: 'error', title: 'Bordure disparue', description: 'Plus de bordure.', geometry: { type: 'Point', coordinates: CAHORS_WGS84 }, ...payload } }));
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as number;
  };
  const setStatus = (id: number, payload: object, who: keyof typeof keys = 'moderator') => app.inject(as(who, { method: 'POST', url: `/api/v1/declarations/${id}/status`, payload }));
  const count = async (sql: string, params: unknown[] = []) => Number((await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params as never[])).rows[0]?.n);
  const mailsTo = (email: string, subject: string) => smtp.to(email).filter((m) => m.subject.includes(subject));
  const anonymousPayload = (over: object = {}) => ({ type: 'error', title: 'Trottoir absent', description: 'Le trottoir a été refait.', geometry: { type: 'Point', coordinates: CAHORS_WGS84 }, email: 'passant@example.org', website: '', ...over });

  beforeAll(async () => {
    t = await open();
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-decl-follow-'));
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    smtp = await startMailCatcher();
    config = loadConfig(
      { PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent', PCRS_SMTP_URL: smtp.url, PCRS_PUBLIC_URL: PUBLIC_URL, PCRS_SECRET_KEY: SECRET },
      { 'declarations.anonymousPerHour': ANONYMOUS_PER_HOUR },
    );
    ctx = buildAppContext(config, t.db);
    await ctx.catalog.ensureStandardDatasets('46');
    const alice = await userWithKey(ctx, EMAIL.alice, { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['declarations:write'] });
    aliceId = alice.userId;
    keys.alice = alice.key;
    keys.bob = (await userWithKey(ctx, EMAIL.bob, { memberships: [{ org: 'lot', role: 'member' }], scopes: ['declarations:write'] })).key;
    keys.carol = (await userWithKey(ctx, EMAIL.carol, { memberships: [{ org: 'fdel', role: 'member' }], scopes: ['declarations:write'] })).key;
    keys.dave = (await userWithKey(ctx, EMAIL.dave, { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['declarations:write'] })).key;
    keys.moderator = (await userWithKey(ctx, EMAIL.moderator, { platformRoles: ['moderator'], memberships: [{ org: 'fdel', role: 'member' }], scopes: ['declarations:write'] })).key;
    keys.reader = (await userWithKey(ctx, 'lecteur@sdis46.fr', { scopes: ['read'] })).key;
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

  it('mails the author, a subscriber and an area subscriber on every change but their own, each with a working one-click unsubscribe link', async () => {
    const area = await app.inject(as('carol', { method: 'POST', url: '/api/v1/declarations/area-subscriptions', payload: { name: 'Centre de Cahors', geometry: CAHORS_AREA } }));
    expect(area.statusCode, area.body).toBe(201);
    expect(area.json()).toMatchObject({ name: 'Centre de Cahors', geometry: { type: 'Polygon' }, geometryLambert93: { type: 'Polygon' } });
    const stored = await t.db.query<{ srid: number }>(`SELECT ST_SRID(geom) AS srid FROM declaration_area_subscriptions WHERE id = $1`, [area.json().id]);
    expect(stored.rows[0]?.srid).toBe(2154);

    // A new declaration in the area: carol is told, alice (who declared) is not; nothing for one outside.
    const id = await declare('alice', { title: 'Bâtiment disparu' });
    const created = await smtp.waitFor((m) => m.to.includes(EMAIL.carol) && m.subject.includes(`nouvelle déclaration n° ${id}`));
    expect(created.text).toContain('Une nouvelle déclaration (erreur)');
    expect(created.text).toContain('« Centre de Cahors »');
    expect(created.text).not.toContain(EMAIL.alice);
    const figeac = await declare('alice', { geometry: FIGEAC_L93 });
    expect(mailsTo(EMAIL.carol, `n° ${figeac}`)).toHaveLength(0);
    expect(smtp.to(EMAIL.alice)).toHaveLength(0);

    // bob subscribes; the detail says so for him only.
    const sub = await app.inject(as('bob', { method: 'PUT', url: `/api/v1/declarations/${id}/subscription` }));
    expect(sub.statusCode, sub.body).toBe(200);
    expect(sub.json()).toEqual({ declarationId: id, subscribed: true });
    expect((await app.inject(as('bob', { method: 'PUT', url: `/api/v1/declarations/${id}/subscription` }))).statusCode).toBe(200);
    expect((await app.inject(as('bob', { url: `/api/v1/declarations/${id}` }))).json().subscribed).toBe(true);
    expect((await app.inject(as('alice', { url: `/api/v1/declarations/${id}` }))).json().subscribed).toBe(true);
    expect((await app.inject(as('dave', { url: `/api/v1/declarations/${id}` }))).json().subscribed).toBe(false);
    expect((await app.inject(as('bob', { method: 'PUT', url: '/api/v1/declarations/999999/subscription' }))).statusCode).toBe(404);
    expect((await app.inject(as('reader', { method: 'PUT', url: `/api/v1/declarations/${id}/subscription` }))).statusCode).toBe(403);
    expect((await app.inject({ method: 'PUT', url: `/api/v1/declarations/${id}/subscription` })).statusCode).toBe(401);

    // A status change: the three are mailed, the moderator (the actor, a follower too) is not.
    expect((await app.inject(as('moderator', { method: 'PUT', url: `/api/v1/declarations/${id}/subscription` }))).statusCode).toBe(200);
    expect((await setStatus(id, { status: 'acknowledged' })).statusCode).toBe(200);
    const ack = (email: string) => mailsTo(email, `n° ${id} prise en compte`);
    for (const email of [EMAIL.alice, EMAIL.bob, EMAIL.carol]) expect(ack(email), email).toHaveLength(1);
    expect(smtp.to(EMAIL.moderator)).toHaveLength(0);
    const [toAlice, toBob, toCarol] = [ack(EMAIL.alice)[0], ack(EMAIL.bob)[0], ack(EMAIL.carol)[0]] as [ReceivedMail, ReceivedMail, ReceivedMail];
    expect(toAlice.text).toContain(`Votre déclaration n° ${id}`);
    expect(toAlice.text).toContain('vous en êtes l’auteur');
    expect(toBob.text).toContain(`La déclaration n° ${id}`);
    expect(toBob.text).toContain('vous suivez cette déclaration');
    expect(toCarol.text).toContain('la zone « Centre de Cahors » que vous suivez');
    expect(toBob.text.indexOf('Bonjour')).toBeLessThan(toBob.text.indexOf('Hello'));
    expect(toBob.text).not.toContain(EMAIL.moderator);
    const links = [toAlice, toBob, toCarol].map(unsubscribeLink);
    expect(new Set(links).size).toBe(3);
    for (const [mail, link] of [[toAlice, links[0]], [toBob, links[1]], [toCarol, links[2]]] as const) {
      expect(mail.headers.get('list-unsubscribe')).toBe(`<${PUBLIC_URL}${link}>`);
      expect(mail.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    }

    // A comment by bob: alice and carol, not bob. An assignment: the three.
    expect((await app.inject(as('bob', { method: 'POST', url: `/api/v1/declarations/${id}/comments`, payload: { text: 'Je confirme, vu sur place.' } }))).statusCode).toBe(201);
    expect(mailsTo(EMAIL.alice, `commentaire sur la déclaration n° ${id}`)).toHaveLength(1);
    expect(mailsTo(EMAIL.carol, `commentaire sur la déclaration n° ${id}`)[0]?.text).toContain('> Je confirme, vu sur place.');
    expect(mailsTo(EMAIL.bob, `commentaire sur la déclaration n° ${id}`)).toHaveLength(0);
    expect((await app.inject(as('moderator', { method: 'POST', url: `/api/v1/declarations/${id}/assign`, payload: { organisation: 'fdel' } }))).statusCode).toBe(200);
    for (const email of [EMAIL.alice, EMAIL.bob, EMAIL.carol]) expect(mailsTo(email, `n° ${id} attribuée`), email).toHaveLength(1);
    expect(mailsTo(EMAIL.alice, `n° ${id} attribuée`)[0]?.text).toContain('est attribuée à fdel');

    // bob unsubscribes from a browser (GET, HTML), carol by her mail client (RFC 8058 POST).
    const page = await app.inject({ url: links[1] as string, headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.statusCode, page.body).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('Désabonnement enregistré');
    const oneClick = await app.inject({ method: 'POST', url: links[2] as string, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    expect(oneClick.statusCode, oneClick.body).toBe(200);
    expect(oneClick.json()).toEqual({ unsubscribed: true, subscription: 'area' });
    // A second click is fine, also with parameters a mail gateway appended.
    expect((await app.inject({ url: `${links[1] as string}&utm_source=mail` })).json()).toEqual({ unsubscribed: true, subscription: 'declaration' });
    expect((await app.inject(as('bob', { url: `/api/v1/declarations/${id}` }))).json().subscribed).toBe(false);
    expect((await app.inject(as('carol', { url: '/api/v1/declarations/area-subscriptions' }))).json().areas).toEqual([]);

    expect((await setStatus(id, { status: 'in-progress' })).statusCode).toBe(200);
    expect(mailsTo(EMAIL.alice, `n° ${id} en cours`)).toHaveLength(1);
    expect(mailsTo(EMAIL.bob, `n° ${id} en cours`)).toHaveLength(0);
    expect(mailsTo(EMAIL.carol, `n° ${id} en cours`)).toHaveLength(0);

    // The author may stop following too: then nobody is mailed.
    const off = await app.inject(as('alice', { method: 'DELETE', url: `/api/v1/declarations/${id}/subscription` }));
    expect(off.json()).toEqual({ declarationId: id, subscribed: false });
    const before = smtp.mails.length;
    expect((await setStatus(id, { status: 'resolved', reason: 'Corrigé' })).statusCode).toBe(200);
    expect(smtp.mails.length).toBe(before);
  });

  it('refuses a forged or altered unsubscribe token with 400 and removes nothing', async () => {
    const id = await declare('alice');
    const rows = await t.db.query<{ id: string }>(`SELECT id::text FROM declaration_subscriptions WHERE declaration_id = $1`, [id]);
    const subId = Number(rows.rows[0]?.id);
    const tokens = new UnsubscribeTokens(config);
    const good = tokens.sign('d', subId);
    const [payload, mac] = good.split('.') as [string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const foreign = new UnsubscribeTokens({ ...config, secretKey: 'another-server-secret-of-at-least-32-characters' }).sign('d', subId);
    const forged = [
      `d${subId + 1}.${mac}`, // another subscription, same signature
      `a${subId}.${mac}`, // another kind
      `${payload}.${flip(mac, 5)}`,
      `${payload}.${mac.slice(0, -1)}`,
      foreign,
      `${payload}.`,
      'd1',
      "d1' OR 1=1 --",
    ];
    for (const token of forged) {
      for (const method of ['GET', 'POST'] as const) {
        const res = await app.inject({ method, url: `/api/v1/declarations/unsubscribe?token=${encodeURIComponent(token)}` });
        expect(res.statusCode, `${method} ${token}`).toBe(400);
        expect(res.json().type, `${method} ${token}: ${res.body}`).toBe('urn:pcrs:problem:invalid-unsubscribe-token');
      }
    }
    expect((await app.inject({ url: '/api/v1/declarations/unsubscribe' })).statusCode).toBe(400);
    expect(await count('declaration_subscriptions WHERE id = $1', [subId])).toBe(1);
    // A POST without a body (a client that ignores RFC 8058's form) works too.
    expect((await app.inject({ method: 'POST', url: `/api/v1/declarations/unsubscribe?token=${good}` })).statusCode).toBe(200);
    expect(await count('declaration_subscriptions WHERE id = $1', [subId])).toBe(0);
  });

  it('area subscriptions: a valid polygon in the territory, listed and removed by their owner only', async () => {
    const post = (who: keyof typeof keys, payload: object) => app.inject(as(who, { method: 'POST', url: '/api/v1/declarations/area-subscriptions', payload }));
    const before = await count('declaration_area_subscriptions');
    expect((await post('dave', { name: 'Paris', geometry: { type: 'Polygon', coordinates: [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]] } })).statusCode).toBe(400);
    const bowtie = await post('dave', { name: 'Nœud', geometry: { type: 'Polygon', coordinates: [[[1.42, 44.43], [1.47, 44.46], [1.47, 44.43], [1.42, 44.46], [1.42, 44.43]]] } });
    expect(bowtie.statusCode).toBe(400);
    expect(bowtie.json().detail).toMatch(/Self-intersection/i);
    expect((await post('dave', { name: 'Point', geometry: { type: 'Point', coordinates: CAHORS_WGS84 } })).statusCode).toBe(400);
    expect((await post('dave', { name: ' ', geometry: CAHORS_AREA })).statusCode).toBe(400);
    expect((await post('reader', { name: 'Cahors', geometry: CAHORS_AREA })).statusCode).toBe(403);
    expect(await count('declaration_area_subscriptions')).toBe(before);

    const made = await post('dave', { name: 'Cahors', geometry: CAHORS_AREA });
    expect(made.statusCode).toBe(201);
    const list = await app.inject(as('dave', { url: '/api/v1/declarations/area-subscriptions' }));
    expect(list.json().areas).toEqual([expect.objectContaining({ id: made.json().id, name: 'Cahors' })]);
    expect(list.json().areas[0].geometry.coordinates[0][0][0]).toBeCloseTo(1.42, 5);
    expect((await app.inject(as('bob', { url: '/api/v1/declarations/area-subscriptions' }))).json().areas).toEqual([]);
    expect((await app.inject(as('bob', { method: 'DELETE', url: `/api/v1/declarations/area-subscriptions/${made.json().id}` }))).statusCode).toBe(404);
    expect((await app.inject(as('dave', { method: 'DELETE', url: `/api/v1/declarations/area-subscriptions/${made.json().id}` }))).statusCode).toBe(204);
    expect(await count('declaration_area_subscriptions')).toBe(before);
  });

  it('GET ?author=me lists the caller’s own declarations', async () => {
    const mine = await declare('dave', { title: 'La mienne' });
    const res = await app.inject(as('dave', { url: '/api/v1/declarations?author=me' }));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().declarations.map((d: { id: number }) => d.id)).toEqual([mine]);
    expect(res.json().total).toBe(1);
    const alices = (await app.inject(as('alice', { url: '/api/v1/declarations?author=me&limit=500' }))).json();
    expect(alices.total).toBe(await count('declarations WHERE author_user_id = $1', [aliceId]));
    expect(alices.declarations.every((d: { author: { userId: number } }) => d.author.userId === aliceId)).toBe(true);
    expect((await app.inject(as('dave', { url: '/api/v1/declarations?author=12' }))).statusCode).toBe(400);
  });

  it('anonymous: 202 and a confirmation mail; the link makes it a declaration followed by that address, told of changes, with an unsubscribe link', async () => {
    await app.inject(as('carol', { method: 'POST', url: '/api/v1/declarations/area-subscriptions', payload: { name: 'Cahors nord', geometry: CAHORS_AREA } }));
    const email = 'Promeneur@Example.org';
    const declarations = await count('declarations');
    const res = await app.inject({ method: 'POST', url: '/api/v1/declarations/anonymous', remoteAddress: '203.0.113.10', payload: anonymousPayload({ email, title: 'Muret non levé' }) });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().status).toBe('pending-confirmation');
    expect(await count('declarations')).toBe(declarations);
    const stored = await t.db.query<{ token_hash: string; email: string }>(`SELECT token_hash, email FROM declaration_anonymous_pending WHERE title = 'Muret non levé'`);
    expect(stored.rows[0]?.email).toBe('promeneur@example.org');
    const mail = await smtp.waitFor((m) => m.to.includes('promeneur@example.org') && m.subject.includes('confirmez votre déclaration'));
    const token = confirmToken(mail);
    expect(stored.rows[0]?.token_hash).not.toContain(token);
    expect(mail.text).toContain('48');

    const confirmed = await app.inject({ method: 'POST', url: '/api/v1/declarations/anonymous/confirm', payload: { token } });
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    const d = confirmed.json();
    expect(d).toMatchObject({ type: 'error', status: 'submitted', title: 'Muret non levé', author: { userId: null, actor: 'anonymous', organisation: null } });
    expect(d.actions).toEqual([expect.objectContaining({ action: 'opened', actor: 'anonymous' })]);
    expect(confirmed.body.toLowerCase()).not.toContain('promeneur@example.org');
    expect(await count('declarations')).toBe(declarations + 1);
    // A second click answers the same declaration.
    const again = await app.inject({ method: 'POST', url: '/api/v1/declarations/anonymous/confirm', payload: { token } });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(d.id);
    expect(await count('declarations')).toBe(declarations + 1);
    // The area's follower learns of it; the declarant does not get a "new declaration" mail.
    await smtp.waitFor((m) => m.to.includes(EMAIL.carol) && m.subject.includes(`nouvelle déclaration n° ${d.id}`));
    expect(mailsTo('promeneur@example.org', `n° ${d.id}`)).toHaveLength(0);
    // Visible to signed-in users now.
    expect((await app.inject(as('dave', { url: `/api/v1/declarations/${d.id}` }))).statusCode).toBe(200);

    expect((await setStatus(d.id, { status: 'acknowledged' })).statusCode).toBe(200);
    const told = mailsTo('promeneur@example.org', `n° ${d.id} prise en compte`);
    expect(told).toHaveLength(1);
    expect(told[0]?.text).toContain('Bonjour,');
    expect(told[0]?.text).toContain(`Votre déclaration n° ${d.id}`);
    const link = unsubscribeLink(told[0] as ReceivedMail);
    expect(told[0]?.headers.get('list-unsubscribe')).toBe(`<${PUBLIC_URL}${link}>`);
    expect((await app.inject({ method: 'POST', url: link, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' })).statusCode).toBe(200);
    expect((await setStatus(d.id, { status: 'in-progress' })).statusCode).toBe(200);
    expect(mailsTo('promeneur@example.org', `n° ${d.id} en cours`)).toHaveLength(0);
  });

  it('anonymous: refuses other types and bad input; a filled honeypot answers 202 and stores and mails nothing', async () => {
    const pending = await count('declaration_anonymous_pending');
    const post = (payload: object, ip: string) => app.inject({ method: 'POST', url: '/api/v1/declarations/anonymous', remoteAddress: ip, payload });
    expect((await post(anonymousPayload({ type: 'works' }), '203.0.113.20')).statusCode).toBe(400);
    expect((await post(anonymousPayload({ email: 'pas-une-adresse' }), '203.0.113.20')).statusCode).toBe(400);
    expect((await post(anonymousPayload({ geometry: { type: 'Point', coordinates: [2.35, 48.85] } }), '203.0.113.21')).statusCode).toBe(400);
    expect((await post(anonymousPayload({ organisation: 'cahors' }), '203.0.113.21')).statusCode).toBe(400);
    const robot = await post(anonymousPayload({ email: 'robot@spam.example', website: 'http://spam.example' }), '203.0.113.22');
    expect(robot.statusCode).toBe(202);
    expect(robot.json().status).toBe('pending-confirmation');
    expect(await count('declaration_anonymous_pending')).toBe(pending);
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.to('robot@spam.example')).toHaveLength(0);
  });

  it(`anonymous: ${ANONYMOUS_PER_HOUR} per hour and per IP, then 429 with Retry-After; another IP is not affected`, async () => {
    const post = (ip: string) => app.inject({ method: 'POST', url: '/api/v1/declarations/anonymous', remoteAddress: ip, payload: anonymousPayload({ website: 'robot' }) });
    for (let i = 0; i < ANONYMOUS_PER_HOUR; i++) expect((await post('198.51.100.7')).statusCode).toBe(202);
    const limited = await post('198.51.100.7');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(60);
    expect(limited.json()).toMatchObject({ type: 'urn:pcrs:problem:rate-limited' });
    expect(limited.json().detail).toContain('per hour');
    expect((await post('198.51.100.8')).statusCode).toBe(202);
    // Signed-in routes keep their own budget.
    expect((await app.inject(as('dave', { url: '/api/v1/declarations?limit=1', remoteAddress: '198.51.100.7' }))).statusCode).toBe(200);
  });

  it('anonymous: an expired link is a 410 and records nothing; once purged, a 400; a bad token is a 400', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/declarations/anonymous', remoteAddress: '203.0.113.30', payload: anonymousPayload({ email: 'tard@example.org', title: 'Lien expiré' }) });
    expect(res.statusCode).toBe(202);
    const token = confirmToken(await smtp.waitFor((m) => m.to.includes('tard@example.org')));
    await t.db.query(`UPDATE declaration_anonymous_pending SET expires_at = now() - interval '1 minute' WHERE email = 'tard@example.org'`);
    const declarations = await count('declarations');
    const expired = await app.inject({ method: 'POST', url: '/api/v1/declarations/anonymous/confirm', payload: { token } });
    expect(expired.statusCode).toBe(410);
    expect(expired.json().type).toBe('urn:pcrs:problem:confirmation-expired');
    expect(await count('declarations')).toBe(declarations);
    const deleted = await new AnonymousDeclarations(new DeclarationService(ctx)).purgeExpired();
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await count(`declaration_anonymous_pending WHERE email = 'tard@example.org'`)).toBe(0);
    expect((await app.inject({ method: 'POST', url: '/api/v1/declarations/anonymous/confirm', payload: { token } })).statusCode).toBe(400);
    const other = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of ['x', other, "' OR 1=1 --"]) {
      const r = await app.inject({ method: 'POST', url: '/api/v1/declarations/anonymous/confirm', payload: { token: bad } });
      expect(r.statusCode, bad).toBe(400);
    }
    expect(await count('declarations')).toBe(declarations);
  });

  it('anonymous: turned off (declarations.anonymous false) is a 403 saying so, and nothing is stored', async () => {
    const offConfig = loadConfig(
      { PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent', PCRS_SMTP_URL: smtp.url, PCRS_PUBLIC_URL: PUBLIC_URL, PCRS_SECRET_KEY: SECRET, PCRS_DECLARATIONS_ANONYMOUS: 'false' },
    );
    expect(offConfig.declarations.anonymous).toBe(false);
    const offCtx = buildAppContext(offConfig, t.db, { mail: ctx.mail, access: ctx.access });
    const off = await buildServer(offCtx, { logger: false, capabilities: [declarationsCapability] });
    try {
      const pending = await count('declaration_anonymous_pending');
      const res = await off.inject({ method: 'POST', url: '/api/v1/declarations/anonymous', remoteAddress: '203.0.113.40', payload: anonymousPayload({ email: 'ferme@example.org' }) });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ type: 'urn:pcrs:problem:anonymous-declarations-off' });
      expect(res.json().detail).toMatch(/turned off/);
      expect(await count('declaration_anonymous_pending')).toBe(pending);
      expect((await off.inject({ method: 'POST', url: '/api/v1/declarations/anonymous/confirm', payload: { token: 'A'.repeat(43) } })).statusCode).toBe(403);
      await new Promise((r) => setTimeout(r, 200));
      expect(smtp.to('ferme@example.org')).toHaveLength(0);
    } finally {
      await off.close();
    }
  });

  it('bulk triage: each id through the same checks, its own result; bad ids stop nothing; moderators only', async () => {
    const [a, b, c] = [await declare('alice', { title: 'Lot A' }), await declare('alice', { title: 'Lot B' }), await declare('alice', { title: 'Lot C' })];
    expect((await setStatus(b, { status: 'rejected', reason: 'Hors PCRS' })).statusCode).toBe(200);
    const bulk = (who: keyof typeof keys, payload: object) => app.inject(as(who, { method: 'POST', url: '/api/v1/declarations/bulk', payload }));
    const actionsBefore = await count('declaration_actions');

    expect((await bulk('dave', { ids: [a, c], status: { status: 'acknowledged' } })).statusCode).toBe(403);
    expect((await bulk('reader', { ids: [a, c], status: { status: 'acknowledged' } })).statusCode).toBe(403);
    expect((await bulk('moderator', { ids: [a, c] })).statusCode).toBe(400);
    expect((await bulk('moderator', { ids: Array.from({ length: 201 }, (_, i) => i + 1), comment: 'x' })).statusCode).toBe(400);
    expect((await bulk('moderator', { ids: [], comment: 'x' })).statusCode).toBe(400);
    expect((await bulk('moderator', { ids: [a], assign: {} })).statusCode).toBe(400);
    expect(await count('declaration_actions')).toBe(actionsBefore);

    const res = await bulk('moderator', { ids: [a, b, 999_999, c], status: { status: 'resolved', reason: 'Corrigé dans la version 2026' }, assign: { organisation: 'fdel' }, comment: 'Traité en lot.' });
    expect(res.statusCode, res.body).toBe(200);
    const results = res.json().results as Array<{ id: number; ok: boolean; done: string[]; error?: { code: string; message: string } }>;
    expect(results.map((r) => [r.id, r.ok])).toEqual([[a, true], [b, false], [999_999, false], [c, true]]);
    expect(results[0]?.done).toEqual(['status', 'assign', 'comment']);
    expect(results[1]?.error).toMatchObject({ code: 'invalid-transition' });
    expect(results[1]?.error?.message).toContain('rejected → resolved');
    expect(results[2]?.error).toMatchObject({ code: 'not-found' });
    for (const id of [a, c]) {
      const d = (await app.inject(as('dave', { url: `/api/v1/declarations/${id}` }))).json();
      expect(d).toMatchObject({ status: 'resolved', assigned: { organisation: { slug: 'fdel' } } });
      expect(d.actions.map((x: { action: string }) => x.action).slice(-3)).toEqual(['closed', 'assigned', 'commented']);
      expect(mailsTo(EMAIL.alice, `n° ${id} résolue`)).toHaveLength(1);
      expect(mailsTo(EMAIL.alice, `n° ${id} résolue`)[0]?.text).toContain('Corrigé dans la version 2026');
    }
    expect((await app.inject(as('dave', { url: `/api/v1/declarations/${b}` }))).json().status).toBe('rejected');
    expect(mailsTo(EMAIL.alice, `n° ${b} résolue`)).toHaveLength(0);
    expect(await count('declaration_actions')).toBe(actionsBefore + 6);
    const targets = [a, b, c].map((id) => `declaration:${id}`);
    const audit = (await ctx.audit.query({ action: 'declaration.', limit: 10000 })).filter((e) => targets.includes(e.target ?? ''));
    expect(audit.filter((e) => e.action === 'declaration.status' && e.details.to === 'resolved').map((e) => e.target).sort()).toEqual([`declaration:${a}`, `declaration:${c}`].sort());
    expect(audit.filter((e) => e.action === 'declaration.assign').map((e) => e.target).sort()).toEqual([`declaration:${a}`, `declaration:${c}`].sort());
  });

  it('describes the workflow routes in the OpenAPI document', async () => {
    const doc = (await app.inject(OPENAPI_URL)).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/declarations/{id}/subscription',
        '/api/v1/declarations/area-subscriptions',
        '/api/v1/declarations/area-subscriptions/{id}',
        '/api/v1/declarations/unsubscribe',
        '/api/v1/declarations/anonymous',
        '/api/v1/declarations/anonymous/confirm',
        '/api/v1/declarations/bulk',
      ]),
    );
    expect(Object.keys(doc.paths['/api/v1/declarations/unsubscribe'])).toEqual(expect.arrayContaining(['get', 'post']));
  });
});
