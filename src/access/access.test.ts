import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../config/config.js';
import { ANONYMOUS, OPERATOR, WHOLE_AREA, type Caller } from '../context/access.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { openPostgres } from '../db/postgres.js';
import { buildServer } from '../server/app.js';
import { createUser, sessionFor, userWithKey } from '../test-support/access.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { KEY_PATTERN } from './keys.js';
import { PlatformAccessPolicy } from './policy.js';
import { AccessServices } from './services.js';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** A small square around (x, y) in WGS84, as a GeoJSON Polygon. */
const square = (lon: number, lat: number, d: number) => ({
  type: 'Polygon',
  coordinates: [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]],
});
// Cahors, in Lambert-93 and WGS84.
const CAHORS_L93 = [575_200, 6_373_600] as const;
const CAHORS_WGS84 = [1.4415, 44.4475] as const;

describe.each(ENGINES)('access on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let dataDir: string;
  let config: Config;
  let ctx: AppContext;
  let app: FastifyInstance;
  const inject = (o: InjectOptions | string) => app.inject(o);
  const policy = () => ctx.access as PlatformAccessPolicy;

  beforeAll(async () => {
    t = await open();
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-access-'));
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' });
    ctx = buildAppContext(config, t.db);
    await ctx.catalog.ensureStandardDatasets('46');
    app = await buildServer(ctx, { logger: false });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a signed-in user creates, lists, renames and revokes a key; revoked means 401 at once', async () => {
    const userId = await createUser(ctx, 'alice@example.fr', { memberships: [{ org: 'cahors', role: 'member' }] });
    const s = await sessionFor(ctx, userId);
    const cookie = { cookie: `pcrs_session=${s.cookie}`, 'x-csrf-token': s.csrfToken };
    // a write with the cookie but without the CSRF token is refused
    const noCsrf = await inject({ method: 'POST', url: '/api/v1/me/keys', headers: { cookie: `pcrs_session=${s.cookie}` }, payload: { name: 'QGIS', scopes: ['read'] } });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().type).toBe('urn:pcrs:problem:csrf');
    const created = await inject({ method: 'POST', url: '/api/v1/me/keys', headers: cookie, payload: { name: 'QGIS', scopes: ['read'], organisation: 'cahors', expiresAt: '2099-12-31' } });
    expect(created.statusCode).toBe(201);
    const k = created.json<{ key: string; id: number; prefix: string; scopes: string[]; expiresAt: string; organisationId: number }>();
    expect(k.key).toMatch(KEY_PATTERN);
    expect(k.key.startsWith(`pcrs_${k.prefix}_`)).toBe(true);
    expect(k).toMatchObject({ scopes: ['read'], expiresAt: '2100-01-01T00:00:00.000Z', organisationId: expect.any(Number) });
    // stored hashed: the secret is nowhere in the table
    const secret = KEY_PATTERN.exec(k.key)?.[2] as string; // the secret itself may hold '_'
    const stored = await t.db.query<{ secret_hash: string }>('SELECT secret_hash FROM api_keys WHERE id = $1', [k.id]);
    expect(stored.rows[0]?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored.rows)).not.toContain(secret);
    // the key works, and the listing never shows it again
    const list = await inject({ url: '/api/v1/me/keys', headers: bearer(k.key) });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual([expect.objectContaining({ id: k.id, name: 'QGIS', prefix: k.prefix, revokedAt: null })]);
    expect(list.body).not.toContain(secret);
    const renamed = await inject({ method: 'PATCH', url: `/api/v1/me/keys/${k.id}`, headers: cookie, payload: { name: 'QGIS bureau' } });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json().name).toBe('QGIS bureau');
    const del = await inject({ method: 'DELETE', url: `/api/v1/me/keys/${k.id}`, headers: cookie });
    expect(del.statusCode).toBe(204);
    const after = await inject({ url: '/api/v1/me/keys', headers: bearer(k.key) });
    expect(after.statusCode).toBe(401);
    expect(after.json().type).toBe('urn:pcrs:problem:key-revoked');
    const audit = await ctx.audit.query({ actorUserId: userId, action: 'key.' });
    expect(audit.map((a) => a.action).sort()).toEqual(['key.create', 'key.rename', 'key.revoke']);
  });

  it('malformed, unknown and expired keys are 401; a disallowed IP or Referer is 403; a missing scope is 403 naming it', async () => {
    const malformed = await inject({ url: '/api/v1/me/keys', headers: bearer('not-a-key') });
    expect(malformed.statusCode).toBe(401);
    expect(malformed.json().type).toBe('urn:pcrs:problem:invalid-key');
    const unknown = await inject({ url: `/api/v1/me/keys?apikey=pcrs_AAAAAAAAAAAA_${'B'.repeat(43)}` });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.body).not.toContain('BBBBBBBB');
    const bob = await userWithKey(ctx, 'bob@example.fr', { scopes: ['read'] });
    // right prefix, wrong secret
    const forged = bob.key.slice(0, 18) + (bob.key[18] === 'A' ? 'B' : 'A') + bob.key.slice(19);
    expect((await inject({ url: '/api/v1/me/keys', headers: bearer(forged) })).statusCode).toBe(401);
    expect((await inject({ url: '/api/v1/me/keys', headers: bearer(bob.key) })).statusCode).toBe(200);
    await t.db.query("UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1", [bob.keyId]);
    await ctx.access.invalidate({ keyId: bob.keyId });
    const expired = await inject({ url: '/api/v1/me/keys', headers: { apikey: bob.key } });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().type).toBe('urn:pcrs:problem:key-expired');

    const office = await userWithKey(ctx, 'office@example.fr', { allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'] });
    const outside = await inject({ url: '/api/v1/me/keys', headers: bearer(office.key), remoteAddress: '198.51.100.9' });
    expect(outside.statusCode).toBe(403);
    expect(outside.json().type).toBe('urn:pcrs:problem:ip-not-allowed');
    expect((await inject({ url: '/api/v1/me/keys', headers: bearer(office.key), remoteAddress: '203.0.113.77' })).statusCode).toBe(200);
    expect((await inject({ url: '/api/v1/me/keys', headers: bearer(office.key), remoteAddress: '2001:db8::5' })).statusCode).toBe(200);
    // a client reaching the server directly cannot claim an allowed address; a trusted (loopback) proxy can tell it
    const spoofed = await inject({ url: '/api/v1/me/keys', headers: { ...bearer(office.key), 'x-forwarded-for': '203.0.113.5' }, remoteAddress: '198.51.100.9' });
    expect(spoofed.statusCode).toBe(403);
    expect((await inject({ url: '/api/v1/me/keys', headers: { ...bearer(office.key), 'x-forwarded-for': '203.0.113.5' }, remoteAddress: '127.0.0.1' })).statusCode).toBe(200);

    const site = await userWithKey(ctx, 'site@example.fr', { allowedReferers: ['https://carto.example.fr/*', '*.cahors.fr'] });
    expect((await inject({ url: '/api/v1/me/keys', headers: bearer(site.key) })).statusCode).toBe(403);
    const wrong = await inject({ url: '/api/v1/me/keys', headers: { ...bearer(site.key), referer: 'https://evil.example.com/carto.example.fr/' } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().type).toBe('urn:pcrs:problem:referer-not-allowed');
    expect((await inject({ url: '/api/v1/me/keys', headers: { ...bearer(site.key), referer: 'https://carto.example.fr/map?x=1' } })).statusCode).toBe(200);
    expect((await inject({ url: '/api/v1/me/keys', headers: { ...bearer(site.key), referer: 'https://sig.cahors.fr/' } })).statusCode).toBe(200);

    // a platform admin's key without the admin scope cannot reach operator routes; with it, it can
    const ops = await userWithKey(ctx, 'ops@example.fr', { platformRoles: ['platform-admin'], scopes: ['read', 'downloads'] });
    const noScope = await inject({ url: '/api/jobs', headers: bearer(ops.key) });
    expect(noScope.statusCode).toBe(403);
    expect(noScope.json()).toMatchObject({ type: 'urn:pcrs:problem:missing-scope', detail: expect.stringContaining("'admin'") });
    const opsAdmin = await new AccessServices(ctx).createKey(OPERATOR, ops.userId, { name: 'ops', scopes: ['admin'] });
    expect((await inject({ url: '/api/jobs', headers: bearer(opsAdmin.key) })).statusCode).toBe(200);
  });

  it('mass assignment and SQL injection: 4xx and nothing changed', async () => {
    const admin = await userWithKey(ctx, 'root@example.fr', { platformRoles: ['platform-admin'], scopes: ['admin'] });
    const carol = await userWithKey(ctx, 'carol@example.fr', { scopes: ['read'] });
    const victim = await userWithKey(ctx, 'victim@example.fr', { scopes: ['read'] });
    const count = async () => Number((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys')).rows[0]?.n);
    const before = await count();
    // a body naming another user, or fields nobody may set
    for (const payload of [
      { name: 'x', scopes: ['read'], userId: victim.userId },
      { name: 'x', scopes: ['read'], revokedAt: null, requestCount: 0 },
      { name: 'x', scopes: ['read', 'superuser'] },
    ]) {
      const r = await inject({ method: 'POST', url: '/api/v1/me/keys', headers: bearer(carol.key), payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
    }
    // a key cannot mint a key with scopes beyond its own
    const beyond = await inject({ method: 'POST', url: '/api/v1/me/keys', headers: bearer(carol.key), payload: { name: 'x', scopes: ['read', 'admin'] } });
    expect(beyond.statusCode).toBe(403);
    expect(beyond.json().type).toBe('urn:pcrs:problem:missing-scope');
    expect(await count()).toBe(before);
    // someone else's key: not found, still working
    expect((await inject({ method: 'DELETE', url: `/api/v1/me/keys/${victim.keyId}`, headers: bearer(carol.key) })).statusCode).toBe(404);
    expect((await inject({ method: 'PATCH', url: `/api/v1/me/keys/${victim.keyId}`, headers: bearer(carol.key), payload: { name: 'pwned' } })).statusCode).toBe(404);
    expect((await inject({ url: '/api/v1/me/keys', headers: bearer(victim.key) })).json()[0].name).toBe('test');
    // injection strings are data or a 400, never SQL
    expect((await inject({ method: 'DELETE', url: `/api/v1/me/keys/${encodeURIComponent('1 OR 1=1')}`, headers: bearer(carol.key) })).statusCode).toBe(400);
    const named = await inject({ method: 'PATCH', url: `/api/v1/me/keys/${carol.keyId}`, headers: bearer(carol.key), payload: { name: "x'); DROP TABLE api_keys; --" } });
    expect(named.statusCode).toBe(200);
    expect(named.json().name).toBe("x'); DROP TABLE api_keys; --");
    for (const payload of [
      { organisation: "x' OR '1'='1", dataset: 'raw-at' },
      { user: 'carol@example.fr', dataset: "raw-at'; DROP TABLE permissions; --" },
      { user: 'carol@example.fr', dataset: 'raw-at', grantedBy: admin.userId },
      { user: "carol@example.fr' OR 1=1 --", dataset: 'raw-at' },
    ]) {
      const r = await inject({ method: 'POST', url: '/api/v1/permissions', headers: bearer(admin.key), payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
    }
    const vis = await inject({ method: 'PUT', url: `/api/v1/datasets/${encodeURIComponent("ortho' OR '1'='1")}/visibility`, headers: bearer(admin.key), payload: { visibility: 'restricted' } });
    expect(vis.statusCode).toBe(400);
    expect(await count()).toBe(before);
    expect((await t.db.query("SELECT count(*)::int AS n FROM permissions")).rows[0]).toEqual({ n: 0 });
    expect((await t.db.query("SELECT visibility FROM datasets WHERE id = 'ortho'")).rows[0]).toEqual({ visibility: 'public' });
    // roles only through admin routes: a user cannot raise its own rights here
    const self = await inject({ method: 'PUT', url: '/api/v1/datasets/ortho/visibility', headers: bearer(carol.key), payload: { visibility: 'restricted' } });
    expect(self.statusCode).toBe(403);
  });

  it('counts key use in memory and writes it in batches; sessions slide their expiry without a write per request', async () => {
    const dave = await userWithKey(ctx, 'dave@example.fr', { scopes: ['read'] });
    const usage = async () => (await t.db.query<{ request_count: number; last_used_at: Date | null }>('SELECT request_count, last_used_at FROM api_keys WHERE id = $1', [dave.keyId])).rows[0];
    for (let i = 0; i < 25; i++) expect((await inject({ url: '/health', headers: bearer(dave.key) })).statusCode).toBe(200);
    expect(await usage()).toEqual({ request_count: 0, last_used_at: null });
    await policy().flush();
    const u = await usage();
    expect(u?.request_count).toBe(25);
    expect(Date.now() - new Date(u?.last_used_at as Date).getTime()).toBeLessThan(60_000);
    // and the listing shows it
    expect((await inject({ url: '/api/v1/me/keys', headers: bearer(dave.key) })).json()[0]).toMatchObject({ requestCount: 25, lastUsedAt: expect.any(String) });

    const s = await sessionFor(ctx, dave.userId);
    await t.db.query("UPDATE sessions SET last_seen_at = now() - interval '2 hours', expires_at = now() + interval '1 hour' WHERE id = $1", [s.id]);
    await ctx.access.invalidate({ userId: dave.userId });
    for (let i = 0; i < 10; i++) expect((await inject({ url: '/api/v1/me/keys', headers: { cookie: `pcrs_session=${s.cookie}` } })).statusCode).toBe(200);
    const seen = async () => (await t.db.query<{ last_seen_at: Date; expires_at: Date }>('SELECT last_seen_at, expires_at FROM sessions WHERE id = $1', [s.id])).rows[0] as { last_seen_at: Date; expires_at: Date };
    expect(Date.now() - new Date((await seen()).last_seen_at).getTime()).toBeGreaterThan(3_600_000); // not written per request
    await policy().flush();
    const slid = await seen();
    expect(Date.now() - new Date(slid.last_seen_at).getTime()).toBeLessThan(60_000);
    expect(new Date(slid.expires_at).getTime()).toBeGreaterThan(Date.now() + (config.auth.sessionTtlHours - 1) * 3_600_000);
    // an expired session, or a disabled user: the cookie is no credential
    await t.db.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [s.id]);
    await ctx.access.invalidate({ userId: dave.userId });
    expect((await inject({ url: '/api/v1/me/keys', headers: { cookie: `pcrs_session=${s.cookie}` } })).statusCode).toBe(401);
    await t.db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [dave.userId]);
    await ctx.access.invalidate({ userId: dave.userId });
    expect((await inject({ url: '/api/v1/me/keys', headers: bearer(dave.key) })).statusCode).toBe(401);
  });

  it('visibility: restricted datasets vanish from listings for those who may not read them', async () => {
    const admin = await userWithKey(ctx, 'vis-admin@example.fr', { platformRoles: ['platform-admin'], scopes: ['read', 'admin'] });
    const anon = await inject('/api/v1/datasets');
    expect(anon.json().map((d: { id: string }) => d.id)).toEqual(['ortho', 'vector']); // raw-at is restricted from the start
    expect((await inject('/api/datasets')).json().datasets.map((d: { id: string }) => d.id)).toEqual(['ortho', 'vector']);
    expect((await inject({ url: '/api/v1/datasets', headers: bearer(admin.key) })).json().map((d: { id: string }) => d.id)).toEqual(['ortho', 'raw-at', 'vector']);
    const put = await inject({ method: 'PUT', url: '/api/v1/datasets/ortho/visibility', headers: bearer(admin.key), payload: { visibility: 'restricted' } });
    expect(put.statusCode).toBe(204);
    expect((await inject('/api/v1/datasets')).json().map((d: { id: string }) => d.id)).toEqual(['vector']);
    expect((await ctx.audit.query({ action: 'visibility.set' }))[0]).toMatchObject({ target: 'dataset:ortho', details: { visibility: 'restricted' } });
    expect((await inject({ method: 'PUT', url: '/api/v1/datasets/ortho/visibility', headers: bearer(admin.key), payload: { visibility: 'public' } })).statusCode).toBe(204);
    expect((await inject({ method: 'PUT', url: '/api/v1/datasets/nope/versions/x/visibility', headers: bearer(admin.key), payload: { visibility: null } })).statusCode).toBe(404);
  });

  it('visibility: a version read while unpublished is readable within a second of its publication (a campaign, a contribution)', async () => {
    const v = await ctx.catalog.ensureVersion({ datasetId: 'ortho', name: 'staged-then-published' });
    const target = { datasetId: 'ortho', version: 'staged-then-published' };
    expect(await policy().canRead(ANONYMOUS, target)).toBe(false);
    await ctx.catalog.setVersionStatus(v.id, 'published');
    await expect.poll(() => policy().canRead(ANONYMOUS, target), { timeout: 5_000, interval: 100 }).toBe(true);
    // Withdrawn: hidden again once the change is announced (invalidate), or after the cache's TTL.
    await ctx.catalog.setVersionStatus(v.id, 'withdrawn');
    await policy().invalidate({ all: true });
    expect(await policy().canRead(ANONYMOUS, target)).toBe(false);
  });

  it('permissions: a platform admin grants an organisation; its org admin grants a contractor a sub-permission (perimeter within, end not later)', async () => {
    const root = await userWithKey(ctx, 'perm-root@example.fr', { platformRoles: ['platform-admin'], scopes: ['read', 'admin'] });
    const orgAdmin = await userWithKey(ctx, 'chef@fdel.fr', { memberships: [{ org: 'fdel', role: 'org-admin' }], scopes: ['read', 'admin'] });
    const contractor = await userWithKey(ctx, 'geometre@bureau.fr', { memberships: [{ org: 'fdel', role: 'contractor' }], scopes: ['read'] });
    const outsider = await userWithKey(ctx, 'autre@ailleurs.fr', { scopes: ['read'] });
    const member = await userWithKey(ctx, 'agent@fdel.fr', { memberships: [{ org: 'fdel', role: 'member' }], scopes: ['read', 'admin'] });
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const later = new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10);
    const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    const org = await inject({ method: 'POST', url: '/api/v1/permissions', headers: bearer(root.key), payload: { organisation: 'fdel', dataset: 'raw-at', perimeter: square(CAHORS_WGS84[0], CAHORS_WGS84[1], 0.05), until, charter: 'Charte PCRS 2025' } });
    expect(org.statusCode).toBe(201);
    expect(org.json()).toMatchObject({ organisation: { slug: 'fdel' }, dataset: 'raw-at', perimeter: { type: 'MultiPolygon' }, charter: 'Charte PCRS 2025' });
    const grant = (key: string, payload: Record<string, unknown>) => inject({ method: 'POST', url: '/api/v1/permissions', headers: bearer(key), payload });
    // a works area of 400 m around Cahors, in Lambert-93 (named in the GeoJSON)
    const works = {
      type: 'Polygon',
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } },
      coordinates: [[[CAHORS_L93[0] - 200, CAHORS_L93[1] - 200], [CAHORS_L93[0] + 200, CAHORS_L93[1] - 200], [CAHORS_L93[0] + 200, CAHORS_L93[1] + 200], [CAHORS_L93[0] - 200, CAHORS_L93[1] + 200], [CAHORS_L93[0] - 200, CAHORS_L93[1] - 200]]],
    };
    const tooLate = await grant(orgAdmin.key, { user: 'geometre@bureau.fr', dataset: 'raw-at', perimeter: works, until: later });
    expect(tooLate.statusCode).toBe(403);
    expect(tooLate.json().detail).toMatch(/end date/);
    const noEnd = await grant(orgAdmin.key, { user: 'geometre@bureau.fr', dataset: 'raw-at', perimeter: works });
    expect(noEnd.statusCode).toBe(403);
    const tooWide = await grant(orgAdmin.key, { user: 'geometre@bureau.fr', dataset: 'raw-at', perimeter: square(CAHORS_WGS84[0], CAHORS_WGS84[1], 0.5), until: soon });
    expect(tooWide.statusCode).toBe(403);
    expect(tooWide.json().detail).toMatch(/perimeter/);
    expect((await grant(orgAdmin.key, { user: 'autre@ailleurs.fr', dataset: 'raw-at', perimeter: works, until: soon })).statusCode).toBe(403);
    expect((await grant(orgAdmin.key, { organisation: 'fdel', dataset: 'raw-at' })).statusCode).toBe(403);
    expect((await grant(member.key, { user: 'geometre@bureau.fr', dataset: 'raw-at', perimeter: works, until: soon })).statusCode).toBe(403);
    expect((await grant(orgAdmin.key, { user: 'geometre@bureau.fr', dataset: 'ortho', until: soon })).statusCode).toBe(403);
    const bad = await grant(root.key, { user: 'geometre@bureau.fr', dataset: 'raw-at', perimeter: { type: 'Point', coordinates: [1, 44] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().type).toBe('urn:pcrs:problem:invalid-perimeter');
    const sub = await grant(orgAdmin.key, { user: 'geometre@bureau.fr', dataset: 'raw-at', perimeter: works, until: soon });
    expect(sub.statusCode).toBe(201);
    const subId = sub.json<{ id: number }>().id;

    // reading: the contractor's key inside its works area, outside it, after its end date
    const callerOf = (key: string) => ctx.access.identify({ apiKey: key, ip: '127.0.0.1' });
    const c: Caller = await callerOf(contractor.key);
    const inside = [CAHORS_L93[0] - 50, CAHORS_L93[1] - 50, CAHORS_L93[0] + 50, CAHORS_L93[1] + 50] as const;
    const away = [CAHORS_L93[0] + 1000, CAHORS_L93[1], CAHORS_L93[0] + 1100, CAHORS_L93[1] + 100] as const;
    await expect(ctx.access.checkRead(c, { datasetId: 'raw-at', bbox: inside })).resolves.toBeUndefined();
    await expect(ctx.access.checkRead(c, { datasetId: 'raw-at', bbox: away })).rejects.toMatchObject({ code: 'outside-perimeter', status: 403, message: expect.stringContaining(`permission ${subId}`) });
    // a read of the whole dataset (no area) is beyond any perimeter
    await expect(ctx.access.checkRead(c, { datasetId: 'raw-at', bbox: WHOLE_AREA })).rejects.toMatchObject({ code: 'outside-perimeter', status: 403 });
    // …but listings (no bbox) still show what it may read part of
    expect(await ctx.access.canRead(c, { datasetId: 'raw-at' })).toBe(true);
    // the organisation's member reads the whole organisation perimeter, not beyond
    const m = await callerOf(member.key);
    await expect(ctx.access.checkRead(m, { datasetId: 'raw-at', bbox: away })).resolves.toBeUndefined();
    await expect(ctx.access.checkRead(m, { datasetId: 'raw-at', bbox: [700_000, 6_600_000, 700_100, 6_600_100] })).rejects.toMatchObject({ code: 'outside-perimeter' });
    await expect(ctx.access.checkRead(await callerOf(outsider.key), { datasetId: 'raw-at' })).rejects.toMatchObject({ code: 'no-permission', status: 403 });
    await expect(ctx.access.checkRead(ANONYMOUS, { datasetId: 'raw-at' })).rejects.toMatchObject({ status: 401 });
    await expect(ctx.access.checkRead(await callerOf(root.key), { datasetId: 'raw-at', bbox: away })).resolves.toBeUndefined();
    await expect(ctx.access.checkRead(await callerOf(root.key), { datasetId: 'raw-at', bbox: WHOLE_AREA })).resolves.toBeUndefined();
    await t.db.query("UPDATE permissions SET valid_until = now() - interval '1 day' WHERE id = $1", [subId]);
    await ctx.access.invalidate({ all: true });
    await expect(ctx.access.checkRead(c, { datasetId: 'raw-at', bbox: inside })).rejects.toMatchObject({ code: 'permission-expired', status: 403 });

    // listings: admin all; org admin its organisation's and members'; the outsider none
    expect((await inject({ url: '/api/v1/permissions', headers: bearer(root.key) })).json()).toHaveLength(2);
    expect((await inject({ url: '/api/v1/permissions', headers: bearer(orgAdmin.key) })).json()).toHaveLength(2);
    expect((await inject({ url: '/api/v1/permissions', headers: bearer(contractor.key) })).json().map((p: { id: number }) => p.id)).toEqual([subId]);
    expect((await inject({ url: '/api/v1/permissions', headers: bearer(outsider.key) })).json()).toEqual([]);
    expect((await inject({ method: 'DELETE', url: `/api/v1/permissions/${org.json().id}`, headers: bearer(orgAdmin.key) })).statusCode).toBe(403);
    expect((await inject({ method: 'DELETE', url: `/api/v1/permissions/${org.json().id}`, headers: bearer(root.key) })).statusCode).toBe(204);
    await expect(ctx.access.checkRead(m, { datasetId: 'raw-at', bbox: away })).rejects.toMatchObject({ code: 'no-permission' });
    expect((await ctx.audit.query({ action: 'permission.' })).map((a) => a.action)).toEqual(['permission.revoke', 'permission.grant', 'permission.grant']);
  });

  it.runIf(engine === 'postgres')('a revoked key is refused at once by another node (LISTEN/NOTIFY), not after the cache TTL', async () => {
    const erin = await userWithKey(ctx, 'erin@example.fr', { scopes: ['read'] });
    const db2 = await openPostgres(t.env.DATABASE_URL as string);
    // another node: its own connection pool and a long cache TTL, so only the notification can make it forget
    const ctx2 = buildAppContext(config, db2, { access: new PlatformAccessPolicy(db2, config, { ttlMs: 600_000 }) });
    const app2 = await buildServer(ctx2, { logger: false });
    try {
      await app2.ready();
      expect((await app2.inject({ url: '/api/v1/me/keys', headers: bearer(erin.key) })).statusCode).toBe(200); // cached there now
      expect((await inject({ method: 'DELETE', url: `/api/v1/me/keys/${erin.keyId}`, headers: bearer(erin.key) })).statusCode).toBe(204);
      let status = 0;
      const started = Date.now();
      for (let i = 0; i < 100 && status !== 401; i++) {
        status = (await app2.inject({ url: '/api/v1/me/keys', headers: bearer(erin.key) })).statusCode;
        if (status !== 401) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(401);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await app2.close();
      await db2.close();
    }
  });
});
