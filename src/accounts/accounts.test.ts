/**
 * The accounts flows through the HTTP API, on PGlite and PostgreSQL, with mails received by a real
 * SMTP server on loopback: sign-up → verify → join → accept, password reset, same answers for
 * unknown addresses, lockout and 429, CSRF, mass assignment, SQL injection, sign-out everywhere,
 * organisation admins limited to their organisation, audit entries, first admin bootstrap.
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { accountsServer, sessionCookieOf, type Harness } from './test-support/harness.js';
import { startMailCatcher, tokenOf, type MailCatcher } from './test-support/smtp.js';
import { purgeExpiredSessions, sha256Hex } from './sessions.js';
import { purgeStaleFailures } from './throttle.js';
import { purgeStaleTokens } from './tokens.js';

const ADMIN = { email: 'admin@fdel.fr', password: 'admin-password-123' };
const ALICE: { email: string; password: string; displayName: string } = { email: 'alice@cahors.fr', password: 'alice-password-123', displayName: 'Alice Martin' };
const BOB = { email: 'Bob@Cahors.fr', password: 'bob-password-1234', displayName: 'Bob' };
const CAROL = { email: 'carol@sdis46.fr', password: 'carol-password-12', displayName: 'Carol' };

interface Session {
  cookie: string;
  csrf: string;
}

function withSession(s: Session | undefined, opts: InjectOptions & { csrf?: boolean }): InjectOptions {
  const { csrf = true, ...rest } = opts;
  if (!s) return rest;
  return { ...rest, cookies: { pcrs_session: s.cookie }, headers: { ...(rest.headers ?? {}), ...(csrf ? { 'x-csrf-token': s.csrf } : {}) } };
}

async function signin(app: FastifyInstance, who: { email: string; password: string }, ip = '10.0.0.1'): Promise<Session> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/signin', payload: { email: who.email, password: who.password }, headers: { 'x-forwarded-for': ip } });
  expect(res.statusCode, res.body).toBe(200);
  return { cookie: sessionCookieOf(res) as string, csrf: res.json().csrfToken };
}

describe.each(ENGINES)('accounts on $engine', ({ open }) => {
  let t: TestDatabase;
  let smtp: MailCatcher;
  let h: Harness;
  let app: FastifyInstance;
  const call = (s: Session | undefined, opts: InjectOptions & { csrf?: boolean }) => app.inject(withSession(s, opts));
  let admin: Session;
  let alice: Session;
  let aliceId: number;

  beforeAll(async () => {
    t = await open();
    smtp = await startMailCatcher();
    h = await accountsServer(t, { PCRS_SMTP_URL: smtp.url, PCRS_ADMIN_EMAIL: ADMIN.email, PCRS_ADMIN_PASSWORD: ADMIN.password, PCRS_PUBLIC_URL: 'https://pcrs.example.fr' }, { 'auth.lockout': { failures: 3, minutes: 2 } });
    app = h.app;
  });
  afterAll(async () => {
    await app?.close();
    h?.ctx.mail.close();
    await smtp?.close();
    await t?.dispose();
  });

  it('creates the first platform admin from PCRS_ADMIN_EMAIL once (idempotent on the next start)', async () => {
    const again = await accountsServer(t, { PCRS_ADMIN_EMAIL: 'other@fdel.fr', PCRS_ADMIN_PASSWORD: 'other-password-123' });
    await again.app.close();
    const { rows } = await t.db.query<{ email: string; platform_roles: string[] }>(`SELECT email, platform_roles FROM users`);
    expect(rows).toEqual([{ email: ADMIN.email, platform_roles: ['platform-admin'] }]);
    admin = await signin(app, ADMIN);
    const me = await call(admin, { url: '/api/v1/me' });
    expect(me.json()).toMatchObject({ email: ADMIN.email, roles: ['platform-admin'], platformRoles: ['platform-admin'], organisations: [] });
  });

  it('signs up, e-mails a verification link (FR then EN), refuses sign-in until verified, verifies once', async () => {
    const res = await call(undefined, { method: 'POST', url: '/api/v1/auth/signup', payload: ALICE });
    expect(res.statusCode).toBe(202);
    const mail = await smtp.waitFor((m) => m.to.includes(ALICE.email) && /confirm/i.test(m.subject));
    expect(mail.text.indexOf('Bonjour')).toBeLessThan(mail.text.indexOf('Hello'));
    expect(mail.text).toContain('https://pcrs.example.fr/#/verifier?token=');
    const token = tokenOf(mail, 'verifier');
    const early = await call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email: ALICE.email, password: ALICE.password } });
    // Before its link is opened, an account has no password: the same answer as a wrong one.
    expect(early.statusCode).toBe(401);
    expect(early.json().type).toBe('urn:pcrs:problem:invalid-credentials');
    expect((await call(undefined, { method: 'POST', url: '/api/v1/auth/verify', payload: { token: 'x'.repeat(43) } })).statusCode).toBe(400);
    const ok = await call(undefined, { method: 'POST', url: '/api/v1/auth/verify', payload: { token } });
    expect(ok.statusCode).toBe(200);
    const reused = await call(undefined, { method: 'POST', url: '/api/v1/auth/verify', payload: { token } });
    expect(reused.statusCode).toBe(400);
    expect(reused.json().type).toBe('urn:pcrs:problem:invalid-token');
  });

  it('a second sign-up with an unverified address changes nothing until a link is opened: each link sets the password of its own sign-up', async () => {
    const dave = { email: 'dave@cahors.fr', password: 'dave-own-password-1', displayName: 'Dave' };
    expect((await call(undefined, { method: 'POST', url: '/api/v1/auth/signup', payload: dave })).statusCode).toBe(202);
    const own = await smtp.waitFor((m) => m.to.includes(dave.email));
    expect((await call(undefined, { method: 'POST', url: '/api/v1/auth/signup', payload: { ...dave, password: 'attacker-password-1', displayName: 'Mallory' } })).statusCode).toBe(202);
    const other = await smtp.waitFor((m) => m.to.includes(dave.email) && m !== own);
    expect((await t.db.query(`SELECT password_hash FROM users WHERE email = $1`, [dave.email])).rows).toEqual([{ password_hash: null }]);
    expect((await call(undefined, { method: 'POST', url: '/api/v1/auth/verify', payload: { token: tokenOf(own, 'verifier') } })).statusCode).toBe(200);
    expect((await call(undefined, { method: 'POST', url: '/api/v1/auth/verify', payload: { token: tokenOf(other, 'verifier') } })).statusCode).toBe(400);
    const attacker = await call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email: dave.email, password: 'attacker-password-1' }, headers: { 'x-forwarded-for': '10.7.0.1' } });
    expect(attacker.statusCode).toBe(401);
    const res = await call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email: dave.email, password: dave.password }, headers: { 'x-forwarded-for': '10.7.0.1' } });
    expect(res.statusCode).toBe(200);
    expect(res.json().user.displayName).toBe('Dave');
  });

  it('signs in with a session cookie (HttpOnly, SameSite=Lax, Secure, Path=/) whose hash only is stored', async () => {
    const res = await call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email: 'ALICE@cahors.fr', password: ALICE.password } });
    expect(res.statusCode).toBe(200);
    const cookie = res.cookies.find((c) => c.name === 'pcrs_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: true, path: '/' });
    expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { rows } = await t.db.query<{ token_hash: string; csrf_token: string }>(`SELECT token_hash, csrf_token FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1`, [ALICE.email]);
    expect(rows).toEqual([{ token_hash: sha256Hex(cookie?.value as string), csrf_token: res.json().csrfToken }]);
    expect(JSON.stringify(rows)).not.toContain(cookie?.value);
    alice = { cookie: cookie?.value as string, csrf: res.json().csrfToken };
    const session = await call(alice, { url: '/api/v1/auth/session' });
    expect(session.json()).toMatchObject({ user: { email: ALICE.email, displayName: 'Alice Martin', roles: [] }, csrfToken: alice.csrf, signup: true, oidc: null });
    aliceId = session.json().user.id;
    const anonymous = await call(undefined, { url: '/api/v1/auth/session' });
    expect(anonymous.json()).toEqual({ user: null, csrfToken: null, signup: true, oidc: null });
    expect((await call(undefined, { url: '/api/v1/me' })).statusCode).toBe(401);
  });

  it('answers the same for an unknown e-mail: sign-up, reset, sign-in', async () => {
    const known = await call(undefined, { method: 'POST', url: '/api/v1/auth/signup', payload: { ...ALICE, password: 'another-password-1' } });
    const unknown = await call(undefined, { method: 'POST', url: '/api/v1/auth/signup', payload: { ...ALICE, email: 'nobody-yet@cahors.fr' } });
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(known.body).toBe(unknown.body);
    // The owner of the known address is told, and its password did not change.
    await smtp.waitFor((m) => m.to.includes(ALICE.email) && /tentative/i.test(m.subject));
    await signin(app, ALICE);
    const f1 = await call(undefined, { method: 'POST', url: '/api/v1/auth/password/forgot', payload: { email: 'ghost@nowhere.fr' } });
    const f2 = await call(undefined, { method: 'POST', url: '/api/v1/auth/password/forgot', payload: { email: ADMIN.email } });
    expect(f1.statusCode).toBe(202);
    expect(f1.body).toBe(f2.body);
    const s1 = await call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email: 'ghost@nowhere.fr', password: 'whatever-password' }, headers: { 'x-forwarded-for': '10.9.9.1' } });
    const s2 = await call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email: ADMIN.email, password: 'wrong-password-12' }, headers: { 'x-forwarded-for': '10.9.9.1' } });
    expect(s1.statusCode).toBe(401);
    expect(s2.statusCode).toBe(401);
    expect({ ...s1.json(), instance: 0 }).toEqual({ ...s2.json(), instance: 0 });
    expect(s1.json().type).toBe('urn:pcrs:problem:invalid-credentials');
    await smtp.waitFor((m) => m.to.includes(ADMIN.email) && /nitialis/i.test(m.subject));
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.to('ghost@nowhere.fr')).toEqual([]);
  });

  it('locks an account after the configured failures (429 + Retry-After, even with the right password), unknown addresses alike, and an IP at five times that', async () => {
    const wrong = (email: string, ip: string) => call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email, password: 'wrong-password-12' }, headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 3; i++) expect((await wrong(ALICE.email, '10.1.0.1')).statusCode).toBe(401);
    const locked = await call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email: ALICE.email, password: ALICE.password }, headers: { 'x-forwarded-for': '10.1.0.2' } });
    expect(locked.statusCode).toBe(429);
    expect(locked.json().type).toBe('urn:pcrs:problem:locked');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(60);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(120);
    // An unknown address locks the same way (a lockout tells nothing about existence).
    for (let i = 0; i < 3; i++) expect((await wrong('ghost2@nowhere.fr', '10.1.0.3')).statusCode).toBe(401);
    expect((await wrong('ghost2@nowhere.fr', '10.1.0.4')).statusCode).toBe(429);
    // Per IP: 15 failures over many accounts from one address lock that address for everyone.
    for (let i = 0; i < 15; i++) expect((await wrong(`spray${i}@nowhere.fr`, '10.2.0.1')).statusCode).toBe(401);
    const fromIp = await call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email: ADMIN.email, password: ADMIN.password }, headers: { 'x-forwarded-for': '10.2.0.1' } });
    expect(fromIp.statusCode).toBe(429);
    await signin(app, ADMIN, '10.2.0.2');
    // The lock ends (simulated: its time passed); a success clears the account's count.
    await t.db.query(`UPDATE signin_failures SET locked_until = now() - interval '1 second', last_failure_at = now() - interval '1 hour' WHERE subject = $1`, [`email:${ALICE.email}`]);
    alice = await signin(app, ALICE, '10.1.0.9');
    const failed = await h.ctx.audit.query({ action: 'auth.signin-failed' });
    expect(failed.length).toBeGreaterThanOrEqual(22);
    expect(failed[0]?.ip).toMatch(/^10\./);
  });

  it('an organisation admin proposes, users see suggested organisations, request to join; admins are mailed and decide; the user is mailed', async () => {
    const area = { type: 'Polygon', coordinates: [[[1.40, 44.42], [1.48, 44.42], [1.48, 44.47], [1.40, 44.47], [1.40, 44.42]]] };
    const created = await call(admin, { method: 'POST', url: '/api/v1/organisations', payload: { slug: 'cahors', name: 'Commune de Cahors', kind: 'commune', insee: '46042', emailDomains: ['Cahors.fr'], area } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ slug: 'cahors', emailDomains: ['cahors.fr'], hasArea: true });
    const { rows } = await t.db.query<{ inside: boolean }>(`SELECT ST_Contains(area, ST_SetSRID(ST_MakePoint(575500, 6371500), 2154)) AS inside FROM organisations WHERE slug = 'cahors'`);
    expect(rows[0]?.inside).toBe(true);
    const l93 = { type: 'Polygon', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } }, coordinates: [[[600000, 6380000], [610000, 6380000], [610000, 6390000], [600000, 6380000]]] };
    expect((await call(admin, { method: 'POST', url: '/api/v1/organisations', payload: { slug: 'sdis46', name: 'SDIS du Lot', kind: 'fire-service', emailDomains: ['sdis46.fr'], area: l93 } })).statusCode).toBe(201);
    expect((await call(admin, { method: 'POST', url: '/api/v1/organisations', payload: { slug: 'cahors', name: 'Doublon', kind: 'commune' } })).statusCode).toBe(409);
    expect((await call(alice, { method: 'POST', url: '/api/v1/organisations', payload: { slug: 'mine', name: 'Mine', kind: 'other' } })).statusCode).toBe(403);

    const orgs = (await call(alice, { url: '/api/v1/organisations' })).json() as Array<{ slug: string; suggested?: boolean }>;
    expect(orgs.find((o) => o.slug === 'cahors')?.suggested).toBe(true);
    expect(orgs.find((o) => o.slug === 'sdis46')?.suggested).toBeUndefined();

    const asked = await call(alice, { method: 'POST', url: '/api/v1/organisations/cahors/membership-requests', payload: { message: 'Service SIG' } });
    expect(asked.statusCode, asked.body).toBe(201);
    expect((await call(alice, { method: 'POST', url: '/api/v1/organisations/cahors/membership-requests', payload: {} })).statusCode).toBe(409);
    // No org admin yet: the platform admins decide.
    const toAdmin = await smtp.waitFor((m) => m.to.includes(ADMIN.email) && /adhésion/.test(m.subject));
    expect(toAdmin.text).toContain('Alice Martin (alice@cahors.fr)');
    expect(toAdmin.text).toContain('Service SIG');
    expect(toAdmin.text).toContain('https://pcrs.example.fr/#/admin/organisations/cahors');

    const members = (await call(admin, { url: '/api/v1/organisations/cahors/members' })).json();
    expect(members).toMatchObject([{ userId: aliceId, email: ALICE.email, status: 'requested', role: 'member' }]);
    const decided = await call(admin, { method: 'POST', url: `/api/v1/organisations/cahors/members/${aliceId}/decision`, payload: { decision: 'accept', role: 'org-admin' } });
    expect(decided.statusCode, decided.body).toBe(200);
    expect(h.policy.invalidations).toContainEqual({ userId: aliceId });
    const accepted = await smtp.waitFor((m) => m.to.includes(ALICE.email) && /rejoint/.test(m.subject));
    expect(accepted.text).toMatch(/acceptée[\s\S]*accepted/);
    const me = (await call(alice, { url: '/api/v1/me' })).json();
    expect(me.roles).toEqual(['org-admin']);
    expect(me.organisations).toMatchObject([{ slug: 'cahors', role: 'org-admin', status: 'active' }]);
    expect((await call(admin, { method: 'POST', url: `/api/v1/organisations/cahors/members/${aliceId}/decision`, payload: { decision: 'refuse' } })).statusCode).toBe(409);
  });

  it('the org admin receives the next request and decides it, but cannot decide for another organisation', async () => {
    await call(undefined, { method: 'POST', url: '/api/v1/auth/signup', payload: BOB });
    await call(undefined, { method: 'POST', url: '/api/v1/auth/verify', payload: { token: tokenOf(await smtp.waitFor((m) => m.to.includes('bob@cahors.fr')), 'verifier') } });
    const bob = await signin(app, BOB);
    const bobId = (await call(bob, { url: '/api/v1/me' })).json().id as number;
    const bobAsks = await call(bob, { method: 'POST', url: '/api/v1/organisations/cahors/membership-requests' });
    expect(bobAsks.statusCode, bobAsks.body).toBe(201);
    await smtp.waitFor((m) => m.to.includes(ALICE.email) && /adhésion/.test(m.subject) && m.text.includes('bob@cahors.fr'));
    // A member (not admin) cannot see members nor decide.
    expect((await call(bob, { url: '/api/v1/organisations/cahors/members' })).statusCode).toBe(403);

    await call(undefined, { method: 'POST', url: '/api/v1/auth/signup', payload: CAROL });
    await call(undefined, { method: 'POST', url: '/api/v1/auth/verify', payload: { token: tokenOf(await smtp.waitFor((m) => m.to.includes(CAROL.email)), 'verifier') } });
    const carol = await signin(app, CAROL);
    const carolId = (await call(carol, { url: '/api/v1/me' })).json().id as number;
    expect((await call(carol, { method: 'POST', url: '/api/v1/organisations/sdis46/membership-requests' })).statusCode).toBe(201);
    const foreign = await call(alice, { method: 'POST', url: `/api/v1/organisations/sdis46/members/${carolId}/decision`, payload: { decision: 'accept' } });
    expect(foreign.statusCode).toBe(403);
    expect((await call(alice, { url: '/api/v1/organisations/sdis46/members' })).statusCode).toBe(403);
    expect((await call(alice, { method: 'PATCH', url: '/api/v1/organisations/sdis46', payload: { name: 'Hijacked' } })).statusCode).toBe(403);
    // …nor decide a request to her organisation made for someone else's organisation id.
    expect((await call(alice, { method: 'POST', url: `/api/v1/organisations/cahors/members/${carolId}/decision`, payload: { decision: 'accept' } })).statusCode).toBe(409);
    const { rows } = await t.db.query<{ status: string }>(`SELECT status FROM memberships WHERE user_id = $1`, [carolId]);
    expect(rows).toEqual([{ status: 'requested' }]);

    const ok = await call(alice, { method: 'POST', url: `/api/v1/organisations/cahors/members/${bobId}/decision`, payload: { decision: 'refuse' } });
    expect(ok.statusCode).toBe(200);
    await smtp.waitFor((m) => m.to.includes('bob@cahors.fr') && /refusée/.test(m.subject));
    expect((await call(alice, { method: 'PATCH', url: '/api/v1/organisations/cahors', payload: { emailDomains: ['cahors.fr', 'grand-cahors.fr'] } })).statusCode).toBe(200);
    const bowtie = { type: 'Polygon', coordinates: [[[1.4, 44.4], [1.5, 44.5], [1.5, 44.4], [1.4, 44.5], [1.4, 44.4]]] };
    const bad = await call(alice, { method: 'PATCH', url: '/api/v1/organisations/cahors', payload: { area: bowtie } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().type).toBe('urn:pcrs:problem:invalid-area');
    expect((await call(alice, { method: 'PATCH', url: '/api/v1/organisations/cahors', payload: { area: { ...bowtie, crs: { type: 'name', properties: { name: 'EPSG:3857' } } } } })).statusCode).toBe(400);
    expect((await call(alice, { method: 'PATCH', url: '/api/v1/organisations/cahors', payload: { area: null } })).json().hasArea).toBe(false);
    const restored = await call(alice, { method: 'PATCH', url: '/api/v1/organisations/cahors', payload: { area: { type: 'MultiPolygon', coordinates: [[[[1.40, 44.42], [1.48, 44.42], [1.48, 44.47], [1.40, 44.42]]]] } } });
    expect(restored.statusCode, restored.body).toBe(200);
    expect(restored.json().hasArea).toBe(true);
    expect((await call(alice, { method: 'PATCH', url: '/api/v1/organisations/cahors', payload: { slug: 'renamed' } })).statusCode).toBe(400);
    // Bob asks again; Alice accepts him as a contractor, then changes his role.
    expect((await call(bob, { method: 'POST', url: '/api/v1/organisations/cahors/membership-requests' })).statusCode).toBe(201);
    expect((await call(alice, { method: 'POST', url: `/api/v1/organisations/cahors/members/${bobId}/decision`, payload: { decision: 'accept', role: 'contractor' } })).json()).toMatchObject({ role: 'contractor', status: 'active' });
    expect((await call(alice, { method: 'PATCH', url: `/api/v1/organisations/cahors/members/${bobId}`, payload: { role: 'member' } })).json()).toMatchObject({ role: 'member' });
    expect((await call(bob, { url: '/api/v1/me' })).json().roles).toEqual(['member']);
  });

  it('refuses a cookie-authenticated write without its X-CSRF-Token (403), accepts it with', async () => {
    const res = await call(alice, { method: 'PATCH', url: '/api/v1/me', payload: { displayName: 'Alice M.' }, csrf: false });
    expect(res.statusCode).toBe(403);
    expect(res.json().type).toBe('urn:pcrs:problem:csrf');
    const forged = await call(alice, { method: 'PATCH', url: '/api/v1/me', payload: { displayName: 'Alice M.' }, headers: { 'x-csrf-token': admin.csrf }, csrf: false });
    expect(forged.statusCode).toBe(403);
    expect((await call(alice, { url: '/api/v1/me' })).json().displayName).toBe('Alice Martin');
    const ok = await call(alice, { method: 'PATCH', url: '/api/v1/me', payload: { displayName: 'Alice M.', language: 'en' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ displayName: 'Alice M.', language: 'en' });
  });

  it('refuses mass assignment: a user cannot set its own roles, verification or id (400, nothing changed)', async () => {
    const before = await t.db.query(`SELECT * FROM users ORDER BY id`);
    for (const payload of [{ roles: ['platform-admin'] }, { platformRoles: ['platform-admin'] }, { displayName: 'x', platform_roles: ['platform-admin'] }, { id: 1 }, { email: 'admin@fdel.fr' }, { emailVerified: true }]) {
      const res = await call(alice, { method: 'PATCH', url: '/api/v1/me', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
    const signup = await call(undefined, { method: 'POST', url: '/api/v1/auth/signup', payload: { email: 'mallory@evil.fr', password: 'mallory-password1', displayName: 'M', platformRoles: ['platform-admin'] } });
    expect(signup.statusCode).toBe(400);
    const selfPromote = await call(alice, { method: 'PATCH', url: `/api/v1/users/${aliceId}`, payload: { platformRoles: ['platform-admin'] } });
    expect(selfPromote.statusCode).toBe(403);
    const selfOrgRole = await call(alice, { method: 'POST', url: `/api/v1/organisations/sdis46/members/${aliceId}/decision`, payload: { decision: 'accept', role: 'org-admin' } });
    expect(selfOrgRole.statusCode).toBe(403);
    const after = await t.db.query(`SELECT * FROM users ORDER BY id`);
    expect(after.rows).toEqual(before.rows);
  });

  it('answers SQL injection attempts with 4xx and changes nothing', async () => {
    const count = async () => (await t.db.query<{ n: number }>(`SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM organisations) + (SELECT count(*) FROM memberships) AS n`)).rows[0]?.n;
    const before = await count();
    const attempts: InjectOptions[] = [
      { method: 'POST', url: '/api/v1/auth/signin', payload: { email: "admin@fdel.fr' OR '1'='1", password: "' OR '1'='1' --" } },
      { method: 'POST', url: '/api/v1/auth/signin', payload: { email: "'; DROP TABLE users; --", password: 'x' } },
      { method: 'POST', url: '/api/v1/auth/password/forgot', payload: { email: "x' OR 1=1; UPDATE users SET platform_roles = '{platform-admin}'; --" } },
      { method: 'POST', url: '/api/v1/auth/verify', payload: { token: "' OR used_at IS NULL --" } },
      { method: 'GET', url: "/api/v1/organisations/cahors'%20OR%20'1'='1" },
      { method: 'GET', url: '/api/v1/organisations/cahors;DROP%20TABLE%20users/members' },
      { method: 'PATCH', url: `/api/v1/users/1%20OR%201=1`, payload: { disabled: true } },
      { method: 'GET', url: '/api/v1/audit?actor=1%20OR%201=1' },
      { method: 'GET', url: "/api/v1/audit?action=auth.'%20OR%20'1'='1" },
      { method: 'POST', url: `/api/v1/organisations/cahors/members/1;DELETE%20FROM%20memberships/decision`, payload: { decision: 'accept' } },
      { method: 'POST', url: '/api/v1/organisations', payload: { slug: "x'); DROP TABLE users; --", name: 'x', kind: 'other' } },
      { method: 'POST', url: '/api/v1/organisations', payload: { slug: 'inj', name: 'x', kind: "commune'); --" } },
    ];
    for (const a of attempts) {
      const res = await call(admin, a);
      expect(res.statusCode, `${a.method} ${a.url} ${JSON.stringify(a.payload)}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
    expect(await count()).toBe(before);
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE 'platform-admin' = ANY (platform_roles)`);
    expect(rows[0]?.n).toBe(1);
  });

  it('resets a password by e-mail link: single use, old password refused, sessions ended', async () => {
    const bobSession = await signin(app, BOB);
    expect((await call(undefined, { method: 'POST', url: '/api/v1/auth/password/forgot', payload: { email: 'BOB@cahors.fr' } })).statusCode).toBe(202);
    const mail = await smtp.waitFor((m) => m.to.includes('bob@cahors.fr') && /nitialis/.test(m.subject));
    expect(mail.text).toContain('https://pcrs.example.fr/#/reinitialiser?token=');
    const token = tokenOf(mail, 'reinitialiser');
    expect((await call(undefined, { method: 'POST', url: '/api/v1/auth/password/reset', payload: { token, password: 'short' } })).statusCode).toBe(400);
    const reset = await call(undefined, { method: 'POST', url: '/api/v1/auth/password/reset', payload: { token, password: 'bob-new-password-1' } });
    expect(reset.statusCode, reset.body).toBe(200);
    expect((await call(undefined, { method: 'POST', url: '/api/v1/auth/password/reset', payload: { token, password: 'bob-third-password' } })).statusCode).toBe(400);
    expect((await call(bobSession, { url: '/api/v1/me' })).statusCode).toBe(401);
    expect((await call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email: BOB.email, password: BOB.password }, headers: { 'x-forwarded-for': '10.3.0.1' } })).statusCode).toBe(401);
    await signin(app, { email: BOB.email, password: 'bob-new-password-1' }, '10.3.0.1');
    // An expired link is refused.
    await call(undefined, { method: 'POST', url: '/api/v1/auth/password/forgot', payload: { email: BOB.email } });
    const second = await smtp.waitFor((m) => m.to.includes('bob@cahors.fr') && /nitialis/.test(m.subject) && !m.text.includes(token));
    await t.db.query(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'reset-password' AND used_at IS NULL`);
    expect((await call(undefined, { method: 'POST', url: '/api/v1/auth/password/reset', payload: { token: tokenOf(second, 'reinitialiser'), password: 'bob-third-password' } })).statusCode).toBe(400);
  });

  it('signs out one session, then everywhere (every session deleted, the policy told)', async () => {
    const second = await signin(app, ALICE, '10.4.0.1');
    const third = await signin(app, ALICE, '10.4.0.2');
    expect((await call(third, { method: 'POST', url: '/api/v1/auth/signout' })).statusCode).toBe(204);
    expect((await call(third, { url: '/api/v1/me' })).statusCode).toBe(401);
    expect((await call(second, { url: '/api/v1/me' })).statusCode).toBe(200);
    expect((await call(second, { method: 'POST', url: '/api/v1/auth/signout-everywhere', csrf: false })).statusCode).toBe(403);
    h.policy.invalidations.length = 0;
    const res = await call(second, { method: 'POST', url: '/api/v1/auth/signout-everywhere' });
    expect(res.statusCode).toBe(204);
    expect(res.cookies.find((c) => c.name === 'pcrs_session')?.value).toBe('');
    expect(h.policy.invalidations).toEqual([{ userId: aliceId }]);
    for (const s of [alice, second]) expect((await call(s, { url: '/api/v1/me' })).statusCode).toBe(401);
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [aliceId]);
    expect(rows[0]?.n).toBe(0);
    alice = await signin(app, ALICE, '10.4.0.3');
  });

  it('platform admins list users, set roles, disable (sessions end), keep one admin; others cannot', async () => {
    expect((await call(alice, { url: '/api/v1/users' })).statusCode).toBe(403);
    const users = (await call(admin, { url: '/api/v1/users' })).json() as Array<{ id: number; email: string; hasPassword: boolean; passwordHash?: string }>;
    expect(users.map((u) => u.email)).toEqual(expect.arrayContaining([ADMIN.email, ALICE.email, 'bob@cahors.fr', CAROL.email]));
    expect(JSON.stringify(users)).not.toMatch(/argon2/);
    const adminId = users.find((u) => u.email === ADMIN.email)?.id as number;
    expect((await call(admin, { method: 'PATCH', url: `/api/v1/users/${adminId}`, payload: { platformRoles: [] } })).statusCode).toBe(409);
    expect((await call(admin, { method: 'PATCH', url: `/api/v1/users/${aliceId}`, payload: { platformRoles: ['moderator', 'technical'] } })).json().platformRoles).toEqual(['moderator', 'technical']);
    expect((await call(alice, { url: '/api/v1/me' })).json().roles).toEqual(['moderator', 'org-admin', 'technical']);
    expect((await call(admin, { method: 'PATCH', url: `/api/v1/users/${aliceId}`, payload: { platformRoles: ['god'] } })).statusCode).toBe(400);
    const carol = users.find((u) => u.email === CAROL.email)?.id as number;
    const carolSession = await signin(app, CAROL);
    h.policy.invalidations.length = 0;
    expect((await call(admin, { method: 'PATCH', url: `/api/v1/users/${carol}`, payload: { disabled: true } })).json().disabled).toBe(true);
    expect(h.policy.invalidations).toEqual([{ userId: carol }]);
    expect((await call(carolSession, { url: '/api/v1/me' })).statusCode).toBe(401);
    const refused = await call(undefined, { method: 'POST', url: '/api/v1/auth/signin', payload: { email: CAROL.email, password: CAROL.password } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().type).toBe('urn:pcrs:problem:account-disabled');
  });

  it('changes its own password with the current one (other sessions end, this one stays); sessions expire and slide', async () => {
    const other = await signin(app, ALICE, '10.5.0.1');
    expect((await call(alice, { method: 'PATCH', url: '/api/v1/me', payload: { password: { current: 'not-the-password', new: 'alice-new-password-1' } } })).statusCode).toBe(400);
    expect((await call(alice, { method: 'PATCH', url: '/api/v1/me', payload: { password: { current: ALICE.password, new: 'short' } } })).statusCode).toBe(400);
    const ok = await call(alice, { method: 'PATCH', url: '/api/v1/me', payload: { password: { current: ALICE.password, new: 'alice-new-password-1' } } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await call(alice, { url: '/api/v1/me' })).statusCode).toBe(200);
    expect((await call(other, { url: '/api/v1/me' })).statusCode).toBe(401);
    await smtp.waitFor((m) => m.to.includes(ALICE.email) && /changé/.test(m.subject));
    ALICE.password = 'alice-new-password-1';
    // Sliding: a session seen more than a minute ago gets its expiry pushed back.
    const hash = sha256Hex(alice.cookie);
    await t.db.query(`UPDATE sessions SET last_seen_at = now() - interval '5 minutes', expires_at = now() + interval '1 minute' WHERE token_hash = $1`, [hash]);
    expect((await call(alice, { url: '/api/v1/me' })).statusCode).toBe(200);
    const slid = await t.db.query<{ hours: number }>(`SELECT extract(epoch FROM expires_at - now()) / 3600 AS hours FROM sessions WHERE token_hash = $1`, [hash]);
    expect(Number(slid.rows[0]?.hours)).toBeGreaterThan(20);
    // Expired: the cookie no longer identifies anyone.
    await t.db.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [hash]);
    expect((await call(alice, { url: '/api/v1/me' })).statusCode).toBe(401);
    expect((await call(alice, { url: '/api/v1/auth/session' })).json().user).toBeNull();
    alice = await signin(app, ALICE, '10.5.0.2');
  });

  it('removes a member (its admin) or lets a member leave; an outsider cannot remove anyone', async () => {
    const bob = await signin(app, { email: BOB.email, password: 'bob-new-password-1' }, '10.6.0.1');
    const bobId = (await call(bob, { url: '/api/v1/me' })).json().id as number;
    const carolId = (await t.db.query<{ id: number }>(`SELECT id FROM users WHERE email = $1`, [CAROL.email])).rows[0]?.id as number;
    expect((await call(bob, { method: 'DELETE', url: `/api/v1/organisations/sdis46/members/${carolId}` })).statusCode).toBe(403);
    expect((await call(bob, { method: 'DELETE', url: `/api/v1/organisations/cahors/members/${aliceId}` })).statusCode).toBe(403);
    expect((await call(alice, { method: 'DELETE', url: `/api/v1/organisations/cahors/members/${bobId}` })).statusCode).toBe(204);
    expect((await call(bob, { url: '/api/v1/me' })).json().organisations).toEqual([]);
    expect((await call(alice, { method: 'DELETE', url: `/api/v1/organisations/cahors/members/${bobId}` })).statusCode).toBe(404);
    expect((await call(alice, { url: '/api/v1/organisations/cahors' })).json()).toMatchObject({ slug: 'cahors', emailDomains: ['cahors.fr', 'grand-cahors.fr'] });
    expect((await call(alice, { url: '/api/v1/organisations/nowhere' })).statusCode).toBe(404);
  });

  it('records every act in the audit log, which only platform admins query', async () => {
    expect((await call(alice, { url: '/api/v1/audit' })).statusCode).toBe(403);
    const all = (await call(admin, { url: '/api/v1/audit?limit=1000' })).json() as Array<{ action: string; actor: string; target: string | null }>;
    const actions = new Set(all.map((e) => e.action));
    for (const a of ['auth.signin', 'auth.signin-failed', 'auth.signout', 'auth.signout-everywhere', 'auth.password-reset', 'user.create', 'user.roles', 'user.disable', 'organisation.create', 'organisation.update', 'membership.request', 'membership.decide', 'membership.role']) {
      expect(actions, a).toContain(a);
    }
    const mine = (await call(admin, { url: `/api/v1/audit?actor=${aliceId}&action=membership.` })).json() as Array<{ action: string; actorUserId: number }>;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => e.actorUserId === aliceId && e.action.startsWith('membership.'))).toBe(true);
    const page = (await call(admin, { url: '/api/v1/audit?limit=2' })).json() as Array<{ id: number }>;
    expect(page).toHaveLength(2);
    const next = (await call(admin, { url: `/api/v1/audit?limit=2&before=${page[1]?.id}` })).json() as Array<{ id: number }>;
    expect(next[0]?.id).toBeLessThan(page[1]?.id as number);
    const future = (await call(admin, { url: '/api/v1/audit?from=2999-01-01' })).json();
    expect(future).toEqual([]);
    expect((await call(admin, { url: '/api/v1/audit?from=yesterday' })).statusCode).toBe(400);
  });

  it('purges expired sessions, stale links and old failures, and nothing live', async () => {
    const live = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sessions WHERE expires_at > now()`);
    await t.db.query(`UPDATE one_time_tokens SET expires_at = now() - interval '2 days' WHERE used_at IS NOT NULL`);
    await t.db.query(`UPDATE signin_failures SET last_failure_at = now() - interval '2 days', locked_until = NULL WHERE subject LIKE 'email:spray%'`);
    expect(await purgeExpiredSessions(t.db)).toBeGreaterThan(0);
    expect(await purgeStaleTokens(t.db)).toBeGreaterThan(0);
    expect(await purgeStaleFailures(t.db)).toBe(15);
    expect((await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sessions`)).rows[0]?.n).toBe(live.rows[0]?.n);
    expect((await call(alice, { url: '/api/v1/me' })).statusCode).toBe(200);
  });
});
