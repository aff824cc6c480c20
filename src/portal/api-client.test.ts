import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../capabilities.js';
import { createUser, sessionFor } from '../test-support/access.js';
import { portalServer, type PortalServer } from './test-support/portal-server.js';

/**
 * The portal's API client (portal/src/app/api.ts) against the real /api/v1 routes: every method
 * is called as a screen calls it, with the session cookie and the CSRF token, and the server's
 * strict schemas accept what it sends (an unknown or misnamed field would be a 400); the answers
 * have the fields its types promise. What the end-to-end browser test does not reach is here:
 * rename, member role and removal, users and platform roles, version visibility, permission
 * revocation, profile, password reset, sign-out everywhere.
 *
 * Skipped only where the `accounts` and `access` capabilities are not registered.
 */
const NAMES = new Set(CAPABILITIES.map((c) => c.name));
const ROUTES_LANDED = NAMES.has('accounts') && NAMES.has('access');

// The client is browser code (portal/tsconfig.json); loaded at run time, typed here by what the test uses.
type Json = Record<string, unknown>;
interface Client {
  session(): Promise<{ user: Json | null; csrfToken: string | null; signup: boolean; oidc: unknown }>;
  signup(b: Json): Promise<unknown>;
  verify(token: string): Promise<unknown>;
  signin(email: string, password: string): Promise<{ user: Json; csrfToken: string }>;
  signout(everywhere?: boolean): Promise<void>;
  forgotPassword(email: string): Promise<unknown>;
  resetPassword(token: string, password: string): Promise<unknown>;
  me(): Promise<Json>;
  updateMe(b: Json): Promise<unknown>;
  myKeys(): Promise<Json[]>;
  createKey(b: Json): Promise<Json & { key: string; id: number }>;
  renameKey(id: number, name: string): Promise<Json>;
  revokeKey(id: number): Promise<void>;
  organisations(): Promise<Json[]>;
  createOrganisation(b: Json): Promise<Json>;
  requestMembership(slug: string, message?: string): Promise<unknown>;
  members(slug: string): Promise<Json[]>;
  decide(slug: string, userId: number, d: 'accept' | 'refuse', role?: string): Promise<unknown>;
  setMemberRole(slug: string, userId: number, role: string): Promise<unknown>;
  removeMember(slug: string, userId: number): Promise<void>;
  users(): Promise<Json[]>;
  updateUser(id: number, b: Json): Promise<Json>;
  audit(q: Json): Promise<Json[]>;
  permissions(): Promise<Json[]>;
  grantPermission(b: Json): Promise<Json & { id: number }>;
  revokePermission(id: number): Promise<void>;
  datasets(): Promise<Json[]>;
  setDatasetVisibility(id: string, v: string): Promise<unknown>;
  setVersionVisibility(id: string, version: string, v: string | null): Promise<unknown>;
  declarations(q?: Json): Promise<{ total: number; limit: number; offset: number; declarations: Json[] }>;
  declaration(id: number): Promise<Json & { id: number; actions: Json[] }>;
  createDeclaration(b: Json): Promise<Json & { id: number }>;
  declareAnonymously(b: Json): Promise<unknown>;
  confirmAnonymous(token: string): Promise<Json & { id: number }>;
  commentDeclaration(id: number, text: string): Promise<Json & { actions: Json[] }>;
  setDeclarationStatus(id: number, b: Json): Promise<Json>;
  assignDeclaration(id: number, b: Json): Promise<Json>;
  subscribe(id: number): Promise<unknown>;
  unsubscribe(id: number): Promise<unknown>;
  bulkDeclarations(b: Json): Promise<{ results: Json[] }>;
  declarationStats(from?: string, to?: string): Promise<Json>;
  extracts(limit?: number): Promise<{ extracts: Json[] }>;
  extract(id: number): Promise<Json>;
  createExtract(b: Json): Promise<Json & { id: number }>;
  uploadArea(file: Blob): Promise<{ format: string; polygons: number; geometry: Json; km2: number; bbox: number[] }>;
  communes(q?: string, limit?: number): Promise<{ communes: Json[] }>;
  commune(insee: string): Promise<{ type: string; id: string; geometry: Json | null; properties: Json }>;
  epcis(): Promise<{ epcis: Json[] }>;
  epci(siren: string): Promise<{ type: string; geometry: Json | null; properties: Json }>;
  licences(): Promise<{ licences: Json[] }>;
  acceptLicence(licence: string, version: string): Promise<Json>;
}
type ClientClass = new (base: string, f: typeof fetch) => Client;

const ADMIN = { email: 'admin@pcrs.test', password: 'administrateur du PCRS 46' };

describe('portal API client against the real routes', () => {
  let s: PortalServer;
  let Api: ClientClass;

  beforeAll(async () => {
    if (!ROUTES_LANDED) return;
    s = await portalServer({ PCRS_ADMIN_EMAIL: ADMIN.email, PCRS_ADMIN_PASSWORD: ADMIN.password, PCRS_COOKIE_SECURE: 'false', PCRS_SECRET_KEY: 'portal-api-client-secret-key-of-32-chars+' });
    const file = new URL('../../portal/src/app/api.ts', import.meta.url).href;
    Api = ((await import(/* @vite-ignore */ file)) as { Api: ClientClass }).Api;
  }, 300_000);

  afterAll(async () => {
    await s?.dispose();
  });

  /** A browser's fetch for one user: same origin, its cookie jar. */
  function browserFetch(initialCookie = ''): typeof fetch {
    let cookie = initialCookie;
    return (async (url: string | URL | Request, init?: RequestInit) => {
      const headers = { ...((init?.headers ?? {}) as Record<string, string>), ...(cookie ? { cookie } : {}) };
      const res = await fetch(`${s.base}${String(url)}`, { ...init, headers });
      const set = res.headers.getSetCookie().find((c) => c.startsWith('pcrs_session='));
      if (set) cookie = set.split(';')[0]!.endsWith('=') ? '' : set.split(';')[0]!;
      return res;
    }) as typeof fetch;
  }

  /** The token of the newest `#/<route>?token=` link mailed to `to` (mails are written after the answer: waits a little). */
  async function linkIn(to: string, route: string): Promise<string> {
    const dir = path.join(s.config.dataDir, 'mail');
    const seen = new Set<string>(used);
    for (let i = 0; i < 100; i++) {
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().reverse() : [];
      for (const f of files) {
        const mail = await simpleParser(readFileSync(path.join(dir, f)));
        const recipients = [mail.to].flat().flatMap((a) => a?.value ?? []).map((v) => v.address?.toLowerCase());
        const token = new RegExp(`#/${route}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text ?? '')?.[1];
        if (recipients.includes(to) && token && !seen.has(token)) {
          used.add(token);
          return token;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${route} link for ${to}`);
  }
  const used = new Set<string>();

  it.skipIf(!ROUTES_LANDED)('every method of the client is accepted by the server and answers what its types say', async () => {
    const user = new Api('/api/v1', browserFetch());
    const admin = new Api('/api/v1', browserFetch());
    const email = 'dominique@cahors.fr';

    // Sign-up, verification, sign-in, profile.
    const anonymous = await user.session();
    expect(anonymous).toMatchObject({ user: null, signup: true });
    expect(typeof anonymous.csrfToken === 'string' || anonymous.csrfToken === null).toBe(true);
    await user.signup({ email, password: 'mot de passe initial', displayName: 'Dominique', language: 'fr' });
    await user.verify(await linkIn(email, 'verifier'));
    const signedIn = await user.signin(email, 'mot de passe initial');
    expect(Object.keys(signedIn.user).sort()).toEqual(['displayName', 'email', 'id', 'language', 'organisations', 'platformRoles', 'roles']);
    await user.updateMe({ displayName: 'Dominique D.', language: 'en' });
    expect(await user.me()).toMatchObject({ displayName: 'Dominique D.', language: 'en' });
    await user.updateMe({ password: { current: 'mot de passe initial', new: 'second mot de passe' } });

    // Keys: create, list, rename, revoke.
    const key = await user.createKey({ name: 'script', scopes: ['read', 'downloads'], expiresAt: '2099-01-01', allowedCidrs: ['127.0.0.0/8'], allowedReferers: ['https://www.cahors.fr/*'] });
    expect(key.key).toMatch(/^pcrs_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const KEY_FIELDS = ['allowedCidrs', 'allowedReferers', 'createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'organisationId', 'prefix', 'requestCount', 'revokedAt', 'scopes'];
    expect(Object.keys(key).sort()).toEqual([...KEY_FIELDS, 'key'].sort());
    expect(Object.keys((await user.myKeys())[0]!).sort()).toEqual(KEY_FIELDS);
    expect(await user.renameKey(key.id, 'script de sauvegarde')).toMatchObject({ name: 'script de sauvegarde' });
    await user.revokeKey(key.id);
    expect((await user.myKeys())[0]!['revokedAt']).not.toBeNull();

    // Organisations and members.
    await admin.signin(ADMIN.email, ADMIN.password);
    const org = await admin.createOrganisation({ slug: 'cahors', name: 'Mairie de Cahors', kind: 'commune', insee: '46042', emailDomains: ['cahors.fr'] });
    expect(org).toMatchObject({ slug: 'cahors', name: 'Mairie de Cahors', kind: 'commune' });
    const listed = await user.organisations();
    expect(listed.find((o) => o['slug'] === 'cahors')).toMatchObject({ suggested: true, hasArea: false, emailDomains: ['cahors.fr'] });
    await user.requestMembership('cahors', 'Service SIG');
    const pending = await admin.members('cahors');
    const me = pending.find((m) => m['email'] === email)!;
    expect(me).toMatchObject({ status: 'requested', displayName: 'Dominique D.' });
    for (const k of ['userId', 'email', 'displayName', 'role', 'status', 'requestedAt']) expect(me).toHaveProperty(k);
    const userId = me['userId'] as number;
    await admin.decide('cahors', userId, 'accept', 'member');
    await admin.setMemberRole('cahors', userId, 'org-admin');
    expect((await user.me())['organisations']).toEqual([expect.objectContaining({ slug: 'cahors', role: 'org-admin', status: 'active' })]);

    // Users and platform roles.
    const users = await admin.users();
    expect(users.find((u) => u['email'] === email)).toMatchObject({ id: userId, platformRoles: [], disabled: false });
    expect(await admin.updateUser(userId, { platformRoles: ['moderator'] })).toMatchObject({ platformRoles: ['moderator'] });

    // Visibility and permissions.
    const datasets = await admin.datasets();
    const vector = datasets.find((d) => d['id'] === 'vector')!;
    expect(Object.keys(vector).sort()).toEqual(['id', 'kind', 'title', 'versions', 'visibility']);
    await admin.setDatasetVisibility('vector', 'restricted');
    expect((await admin.datasets()).find((d) => d['id'] === 'vector')).toMatchObject({ visibility: 'restricted' });
    const ortho = datasets.find((d) => d['id'] === 'ortho')!;
    for (const v of ortho['versions'] as Json[]) {
      await admin.setVersionVisibility('ortho', String(v['name']), 'restricted');
      await admin.setVersionVisibility('ortho', String(v['name']), null);
    }
    const granted = await admin.grantPermission({ organisation: 'cahors', dataset: 'vector', until: '2099-12-31', charter: 'charte PCRS Lot v2' });
    expect(Object.keys(granted).sort()).toEqual(['charter', 'dataset', 'grantedAt', 'grantedBy', 'id', 'organisation', 'perimeter', 'revokedAt', 'user', 'validUntil', 'version']);
    expect(granted).toMatchObject({ organisation: { slug: 'cahors' }, user: null, dataset: 'vector' });
    expect((await user.permissions()).map((p) => p['id'])).toContain(granted.id);
    await admin.revokePermission(granted.id);

    // The audit log with the screen's filters.
    const audit = await admin.audit({ actor: String(userId), action: 'key.', from: '2000-01-01', to: '2099-12-31T23:59:59.999Z', limit: 50 });
    expect(audit.map((e) => e['action']).sort()).toEqual(['key.create', 'key.rename', 'key.revoke']);
    for (const k of ['id', 'at', 'actor', 'actorUserId', 'action', 'target', 'details', 'ip']) expect(audit[0]).toHaveProperty(k);

    // Member removal, reset by e-mail, sign-out everywhere.
    await admin.setMemberRole('cahors', userId, 'member');
    await admin.removeMember('cahors', userId);
    await user.forgotPassword(email);
    await user.resetPassword(await linkIn(email, 'reinitialiser'), 'troisième mot de passe');
    await user.signin(email, 'troisième mot de passe');
    await user.signout(true);
    expect((await user.session()).user).toBeNull();
    await expect(user.me()).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
  }, 120_000);

  it.skipIf(!ROUTES_LANDED || !NAMES.has('declarations'))('the declarations’ methods: the bodies the screens send are accepted, the answers have the fields the screens read', async () => {
    const has = (method: 'GET' | 'POST' | 'PUT', url: string) => s.app.hasRoute({ method, url });
    const authorId = await createUser(s.ctx, 'camille@figeac.fr', { memberships: [{ org: 'figeac', role: 'member' }] });
    const author = new Api('/api/v1', browserFetch(`pcrs_session=${(await sessionFor(s.ctx, authorId)).cookie}`));
    const moderator = new Api('/api/v1', browserFetch());
    await moderator.signin(ADMIN.email, ADMIN.password);
    const L93 = { type: 'name', properties: { name: 'EPSG:2154' } };

    // As the map's form sends it: a works area in Lambert-93 with every works field.
    const square = [[575_000, 6_373_400], [575_040, 6_373_400], [575_040, 6_373_440], [575_000, 6_373_440], [575_000, 6_373_400]];
    const works = await author.createDeclaration({
      type: 'works', title: 'Réfection de chaussée', description: 'Rue du Portail Alban.', geometry: { type: 'Polygon', coordinates: [square], crs: L93 },
      layer: { dataset: 'vector' }, works: { dtDictRef: '2026120300042D', plannedStart: '2026-04-01', plannedEnd: '2026-04-30', themes: ['03A', '05'] },
    });
    const DETAIL = ['actions', 'assigned', 'author', 'createdAt', 'dalles', 'description', 'duplicateOf', 'geometry', 'geometryLambert93', 'id', 'layer', 'status', 'title', 'type', 'updatedAt', 'works'];
    for (const k of DETAIL) expect(works).toHaveProperty(k);
    expect(works).toMatchObject({ type: 'works', status: 'submitted', works: { dtDictRef: '2026120300042D', themes: ['03A', '05'] }, geometryLambert93: { type: 'Polygon' } });
    const point = await author.createDeclaration({ type: 'error', title: 'Bordure', description: 'Absente.', geometry: { type: 'Point', coordinates: [575_100, 6_373_500], crs: L93 } });

    // The map's and triage's queries.
    const inView = await moderator.declarations({ bbox: [574_900, 6_373_300, 575_200, 6_373_600], limit: 500 });
    expect(inView.declarations.map((d) => d['id']).sort()).toEqual([works.id, point.id].sort());
    const filtered = await moderator.declarations({ status: ['submitted'], type: ['works'], theme: '03A', organisation: 'figeac', limit: 100 });
    expect(filtered.declarations.map((d) => d['id'])).toEqual([works.id]);
    expect((await moderator.declarations({ bbox: [600_000, 6_400_000, 600_100, 6_400_100] })).total).toBe(0);
    if ((await author.declarations({ author: 'me' }).then(() => true, () => false))) {
      expect((await author.declarations({ author: 'me', limit: 200 })).total).toBe(2);
      expect((await moderator.declarations({ author: 'me' })).total).toBe(0);
    }

    // The declaration's page: comment, status with reason, assignment, following.
    expect((await author.commentDeclaration(point.id, 'Photo à venir.')).actions.map((a) => a['action'])).toEqual(['opened', 'commented']);
    await expect(moderator.setDeclarationStatus(point.id, { status: 'resolved' })).rejects.toMatchObject({ status: 400, code: 'reason-required' });
    expect(await moderator.setDeclarationStatus(point.id, { status: 'resolved', reason: 'Corrigé.' })).toMatchObject({ status: 'resolved' });
    const me = await moderator.me();
    expect(await moderator.assignDeclaration(works.id, { userId: me['id'] as number, organisation: 'figeac' })).toMatchObject({ assigned: { user: { id: me['id'] }, organisation: { slug: 'figeac' } } });
    expect(await moderator.assignDeclaration(works.id, { userId: null, organisation: null })).toMatchObject({ assigned: { user: null, organisation: null } });
    await expect(author.setDeclarationStatus(works.id, { status: 'acknowledged' })).rejects.toMatchObject({ status: 403 });
    if (has('PUT', '/api/v1/declarations/:id/subscription')) {
      await moderator.subscribe(works.id);
      expect((await moderator.declaration(works.id))['subscribed']).toBe(true);
      await moderator.unsubscribe(works.id);
      expect((await moderator.declaration(works.id))['subscribed']).toBe(false);
    }
    // Triage's bulk action: one refusal said per declaration.
    if (has('POST', '/api/v1/declarations/bulk')) {
      const { results } = await moderator.bulkDeclarations({ ids: [works.id, point.id], status: { status: 'acknowledged' }, assign: { organisation: 'figeac' }, comment: 'Vu en réunion.' });
      expect(results).toEqual(expect.arrayContaining([expect.objectContaining({ id: works.id, ok: true }), expect.objectContaining({ id: point.id, ok: false, error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) })]));
    }
    if (has('GET', '/api/v1/declarations/stats')) {
      const month = new Date().toISOString().slice(0, 7);
      const stats = await moderator.declarationStats(month, month);
      for (const k of ['months', 'open', 'resolution']) expect(Array.isArray(stats[k])).toBe(true);
      const opened = Object.fromEntries((stats['months'] as Json[]).filter((m) => m['month'] === month).map((m) => [m['type'], m['opened']]));
      expect(opened).toMatchObject({ error: 1, works: 1 });
    }
    // Without an account: the map's anonymous form, then the mailed link's screen.
    if (has('POST', '/api/v1/declarations/anonymous')) {
      const passer = new Api('/api/v1', browserFetch());
      await passer.declareAnonymously({ type: 'error', title: 'Regard mal placé', description: 'Décalé.', geometry: { type: 'Point', coordinates: [575_150, 6_373_550], crs: L93 }, email: 'passant@example.fr', website: '' });
      const confirmed = await passer.confirmAnonymous(await linkIn('passant@example.fr', 'declarations/confirmer'));
      expect(confirmed).toMatchObject({ type: 'error', title: 'Regard mal placé', status: 'submitted' });
    }
  }, 120_000);

  it.skipIf(!ROUTES_LANDED || !NAMES.has('extracts') || !NAMES.has('communes') || !NAMES.has('licences'))('the extract screens’ methods: communes, EPCI, licences, an area file sent raw, an extract asked as the form asks it', async () => {
    const userId = await createUser(s.ctx, 'camille@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }] });
    const { cookie } = await sessionFor(s.ctx, userId);
    const user = new Api('/api/v1', browserFetch(`pcrs_session=${cookie}`));
    await user.session();

    const found = await user.communes('cahors', 8);
    expect(found.communes[0]).toMatchObject({ insee: '46042', name: 'Cahors', departement: '46' });
    expect(Object.keys(found.communes[0]!)).toEqual(expect.arrayContaining(['insee', 'name', 'epci', 'population', 'postalCodes', 'bbox', 'bboxLambert93']));
    // No outline imported on this server: the screen says so rather than drawing nothing.
    expect(await user.commune('46042')).toMatchObject({ type: 'Feature', id: '46042', geometry: null, properties: { name: 'Cahors' } });
    const { epcis } = await user.epcis();
    const cahorsEpci = (found.communes[0]!.epci as { siren: string }).siren;
    expect(epcis.find((e) => e.siren === cahorsEpci)).toMatchObject({ communes: expect.arrayContaining([{ insee: '46042', name: 'Cahors' }]) });
    expect((await user.epci(cahorsEpci)).properties).toMatchObject({ siren: cahorsEpci });

    const { licences } = await user.licences();
    const open = licences.find((l) => l.id === 'licence-ouverte')!;
    expect(open).toMatchObject({ version: '2.0', appliesTo: 'open-data', acceptedAt: null });
    expect(Object.keys(open).sort()).toEqual(['acceptedAt', 'appliesTo', 'id', 'name', 'text', 'url', 'version']);
    expect(await user.acceptLicence('licence-ouverte', '2.0')).toMatchObject({ licence: 'licence-ouverte', version: '2.0' });
    expect((await user.licences()).licences.find((l) => l.id === 'licence-ouverte')?.acceptedAt).toEqual(expect.any(String));
    await expect(user.acceptLicence('charter', '0.1-old')).rejects.toMatchObject({ status: 409, code: 'licence-version-changed' });

    // The file goes raw (application/octet-stream); the server tells GeoJSON from its bytes.
    const geojson = { type: 'Polygon', coordinates: [[[1.44, 44.447], [1.445, 44.447], [1.445, 44.45], [1.44, 44.447]]] };
    const area = await user.uploadArea(new Blob([JSON.stringify(geojson)]));
    expect(area).toMatchObject({ format: 'geojson', polygons: 1, geometry: { type: 'MultiPolygon', crs: { properties: { name: 'EPSG:2154' } } } });
    expect(area.km2).toBeGreaterThan(0);
    await expect(user.uploadArea(new Blob(['<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x "y">]><kml/>']))).rejects.toMatchObject({ status: 400, code: 'unsafe-xml' });

    // The body the form sends passes the strict schema: the refusal is about the data (no imagery here), not the shape.
    const asked = user.createExtract({ area: { geometry: area.geometry }, contents: ['ortho-master', 'vector-gpkg'], vectorClip: 'area', delivery: 'urls' });
    await expect(asked).rejects.toMatchObject({ status: expect.any(Number) });
    const refusal = (await asked.catch((e: unknown) => e)) as { code: string };
    expect(['no-version', 'no-dalle', 'unknown-version']).toContain(refusal.code);
    await expect(user.createExtract({ area: { commune: '46042' }, contents: ['ortho-master'] })).rejects.toMatchObject({ status: 409, code: 'no-outline' });
    expect(await user.extracts()).toEqual({ extracts: [] });
    await expect(user.extract(999_999)).rejects.toMatchObject({ status: 404, code: 'not-found' });
  }, 120_000);
});
