import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAN_RUN_BROWSER, launchChromium, portalServer, screenshot, type PortalServer } from './test-support/portal-server.js';

/**
 * The portal's shell in Chromium, against the real server (static files, /health, streams): French
 * whatever the browser's language, English one click away and remembered; the hash router and its
 * code splitting; and the account screens' behaviour — forms, errors next to fields, the CSRF token
 * on writes, a key shown once, revocation, the key in the stream addresses — against a stand-in of
 * the /api/v1 accounts and access routes (routed in the browser), which other branches build. The
 * same flow against the real routes is account-flow.test.ts.
 */

interface FakeKey {
  id: number;
  name: string;
  prefix: string;
  scopes: string[];
  organisationId: number | null;
  expiresAt: string | null;
  allowedCidrs: string[];
  allowedReferers: string[];
  createdAt: string;
  lastUsedAt: string | null;
  requestCount: number;
  revokedAt: string | null;
}

/** A stand-in for the accounts/access API, as the contract of issue 10 describes it. */
function fakeApi(options: { oidc?: boolean } = {}) {
  const me = { id: 1, email: 'camille@cahors.fr', displayName: 'Camille', language: 'fr', roles: ['member'], platformRoles: [], organisations: [{ id: 3, slug: 'cahors', name: 'Mairie de Cahors', kind: 'commune', role: 'member', status: 'active' }] };
  const state = { signedIn: false, csrf: 'csrf-anon', keys: [] as FakeKey[], writes: [] as Array<{ method: string; path: string; csrf: string | undefined; body: unknown }> };
  const KEY = `pcrs_AbCdEfGhIjKl_${'Z'.repeat(43)}`;
  async function handle(route: Route) {
    const req = route.request();
    const url = new URL(req.url());
    const path = url.pathname.replace('/api/v1', '');
    const method = req.method();
    const body = req.postData() ? (JSON.parse(req.postData() as string) as Record<string, unknown>) : undefined;
    const json = (status: number, data: unknown) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(data) });
    const problem = (status: number, code: string, detail: string) => route.fulfill({ status, contentType: 'application/problem+json', body: JSON.stringify({ type: `urn:pcrs:problem:${code}`, title: 'x', status, detail }) });
    if (method !== 'GET') {
      state.writes.push({ method, path, csrf: req.headers()['x-csrf-token'], body });
      if (req.headers()['x-csrf-token'] !== state.csrf) return problem(403, 'csrf-failed', 'Missing or wrong CSRF token.');
    }
    if (path === '/auth/session') return json(200, { user: state.signedIn ? me : null, csrfToken: state.csrf, signup: true, oidc: options.oidc ? { label: 'ProConnect' } : null });
    if (path === '/auth/signup') return json(202, { message: 'If the address can be registered, a message was sent.' });
    if (path === '/auth/signin') {
      if (body?.['password'] !== 'correct horse battery staple') return problem(401, 'invalid-credentials', 'Wrong e-mail or password.');
      state.signedIn = true;
      state.csrf = 'csrf-session';
      return json(200, { user: me, csrfToken: state.csrf });
    }
    if (path === '/auth/signout') {
      state.signedIn = false;
      state.csrf = 'csrf-anon';
      return route.fulfill({ status: 204 });
    }
    if (!state.signedIn) return problem(401, 'unauthenticated', 'Sign in.');
    if (path === '/me') return json(200, me);
    if (path === '/me/keys' && method === 'GET') return json(200, state.keys);
    if (path === '/me/keys' && method === 'POST') {
      if (!body?.['name']) return problem(400, 'invalid-parameter', 'Invalid body: name: Too small');
      const k: FakeKey = { id: state.keys.length + 1, name: String(body['name']), prefix: 'AbCdEfGhIjKl', scopes: body['scopes'] as string[], organisationId: null, expiresAt: (body['expiresAt'] as string | undefined) ?? null, allowedCidrs: [], allowedReferers: [], createdAt: new Date().toISOString(), lastUsedAt: null, requestCount: 0, revokedAt: null };
      state.keys.push(k);
      return json(201, { key: KEY, ...k });
    }
    const del = /^\/me\/keys\/(\d+)$/.exec(path);
    if (del && method === 'DELETE') {
      const k = state.keys.find((x) => x.id === Number(del[1]));
      if (k) k.revokedAt = new Date().toISOString();
      return route.fulfill({ status: 204 });
    }
    if (path === '/datasets') return json(200, [{ id: 'vector', kind: 'vector', title: 'PCRS vecteur', visibility: 'restricted', versions: [] }]);
    return problem(404, 'not-found', `No resource at ${method} ${url.pathname}.`);
  }
  return { state, KEY, handle };
}

/** A stand-in of the admin routes, for a platform admin; records every write and every read's query. */
function fakeAdminApi() {
  const me = { id: 9, email: 'admin@lot.fr', displayName: 'Admin Lot', language: 'fr', roles: ['platform-admin'], platformRoles: ['platform-admin'], organisations: [] };
  const orgs = [{ id: 3, slug: 'cahors', name: 'Mairie de Cahors', kind: 'commune', siren: null, insee: '46042', emailDomains: ['cahors.fr'], hasArea: false }];
  const members = [
    { userId: 1, email: 'camille@cahors.fr', displayName: 'Camille', role: 'member', status: 'requested', requestedAt: '2026-12-01T10:00:00Z' },
    { userId: 2, email: 'dominique@cahors.fr', displayName: 'Dominique', role: 'org-admin', status: 'active', requestedAt: '2026-11-01T10:00:00Z' },
  ];
  const users = [
    { id: 1, email: 'camille@cahors.fr', displayName: 'Camille', platformRoles: [], disabled: false, createdAt: '2026-12-01T10:00:00Z' },
    { id: 9, email: 'admin@lot.fr', displayName: 'Admin Lot', platformRoles: ['platform-admin'], disabled: false, createdAt: '2026-11-01T10:00:00Z' },
  ];
  const permissions: Array<Record<string, unknown>> = [];
  const datasets = [
    { id: 'ortho', kind: 'ortho', title: 'Orthophotographie', visibility: 'public', versions: [{ name: '2025', status: 'published', visibility: null, effectiveVisibility: 'public' }] },
    { id: 'vector', kind: 'vector', title: 'PCRS vecteur', visibility: 'public', versions: [] },
  ];
  const state = { writes: [] as Array<{ method: string; path: string; csrf: string | undefined; body: unknown }>, reads: [] as string[] };
  async function handle(route: Route) {
    const req = route.request();
    const url = new URL(req.url());
    const path = url.pathname.replace('/api/v1', '');
    const method = req.method();
    const body = req.postData() ? (JSON.parse(req.postData() as string) as Record<string, unknown>) : undefined;
    const json = (status: number, data: unknown) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(data) });
    if (method !== 'GET') state.writes.push({ method, path, csrf: req.headers()['x-csrf-token'], body });
    else state.reads.push(`${path}${url.search}`);
    if (path === '/auth/session') return json(200, { user: me, csrfToken: 'csrf-admin', signup: true, oidc: null });
    if (path === '/organisations' && method === 'GET') return json(200, orgs);
    if (path === '/organisations' && method === 'POST') {
      const o = { id: orgs.length + 10, siren: null, insee: null, emailDomains: [], hasArea: false, ...body } as unknown as (typeof orgs)[number];
      orgs.push(o);
      return json(201, o);
    }
    if (path === '/organisations/cahors/members') return json(200, members);
    const decision = /^\/organisations\/cahors\/members\/(\d+)\/decision$/.exec(path);
    if (decision) {
      const m = members.find((x) => x.userId === Number(decision[1]))!;
      m.status = body?.['decision'] === 'accept' ? 'active' : 'refused';
      m.role = String(body?.['role'] ?? m.role);
      return json(200, m);
    }
    if (path === '/users' && method === 'GET') return json(200, users);
    const patchUser = /^\/users\/(\d+)$/.exec(path);
    if (patchUser && method === 'PATCH') {
      const u = users.find((x) => x.id === Number(patchUser[1]))!;
      Object.assign(u, body);
      return json(200, u);
    }
    if (path === '/datasets') return json(200, datasets);
    const vis = /^\/datasets\/(\w+)\/versions\/(\w+)\/visibility$/.exec(path);
    if (vis && method === 'PUT') {
      const v = datasets.find((d) => d.id === vis[1])!.versions.find((x) => x.name === vis[2])!;
      v.visibility = body?.['visibility'] as null;
      v.effectiveVisibility = (body?.['visibility'] as string | null) ?? 'public';
      return json(200, v);
    }
    if (path === '/permissions' && method === 'GET') return json(200, permissions);
    if (path === '/permissions' && method === 'POST') {
      const p = { id: permissions.length + 1, organisation: null, user: { id: 1, email: body?.['user'] }, dataset: body?.['dataset'], version: body?.['version'] ?? null, perimeter: body?.['perimeter'] ?? null, validUntil: body?.['until'] ? `${String(body['until'])}T23:59:59Z` : null, charter: body?.['charter'] ?? null, grantedBy: 9, grantedAt: new Date().toISOString(), revokedAt: null };
      permissions.push(p);
      return json(201, p);
    }
    if (path.startsWith('/audit')) {
      return json(200, [{ id: 41, at: '2026-12-02T09:00:00Z', actor: 'user:1', actorUserId: 1, organisationId: null, action: 'key.create', target: 'key:7', details: { name: 'QGIS' }, ip: '192.0.2.1' }]);
    }
    return route.fulfill({ status: 404, contentType: 'application/problem+json', body: JSON.stringify({ type: 'urn:pcrs:problem:not-found', title: 'Not Found', status: 404, detail: 'No' }) });
  }
  return { state, handle };
}

describe.runIf(CAN_RUN_BROWSER)('portal shell (Chromium)', () => {
  let s: PortalServer;
  let browser: Browser;

  beforeAll(async () => {
    s = await portalServer();
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await s?.dispose();
  });

  async function open(context: BrowserContext, hash: string): Promise<{ page: Page; errors: string[]; scripts: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    const scripts: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname);
    });
    await page.goto(`${s.base}/${hash}`);
    return { page, errors, scripts };
  }

  it('speaks French to an en-US browser; English is one click away and remembered', async () => {
    const context = await browser.newContext({ locale: 'en-US', extraHTTPHeaders: { 'accept-language': 'en-US,en;q=0.9' } });
    const { page, errors } = await open(context, '#/mot-de-passe-oublie');
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Mot de passe oublié');
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');
    expect(await page.getByRole('navigation', { name: 'Navigation principale' }).innerText()).toContain('Carte');
    expect(await page.locator('header .brand').innerText()).toMatch(/Orthophotographie 5 cm/);

    await page.getByRole('button', { name: 'EN', exact: true }).click();
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Forgotten password');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.getByRole('button', { name: 'EN', exact: true }).getAttribute('aria-pressed')).toBe('true');
    await page.reload();
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Forgotten password');
    expect(await page.getByLabel('E-mail address').count()).toBe(1);
    // and back
    await page.getByRole('button', { name: 'FR', exact: true }).click();
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Mot de passe oublié');
    await page.reload();
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Mot de passe oublié');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('routes by the hash, loads OpenLayers only for the map, says when a page needs signing in or does not exist', async () => {
    const context = await browser.newContext({ locale: 'fr-FR' });
    const { page, errors, scripts } = await open(context, '#/inscription');
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Créer un compte');
    // Code splitting: a form page does not load the map's chunk nor OpenLayers (shared by the map,
    // a declaration's mini-map and triage).
    expect(scripts.some((p) => /MapPage|ol-map/.test(p))).toBe(false);
    expect(scripts.some((p) => /SignUp/.test(p))).toBe(true);

    // A link of the page: the router follows it without reloading the document.
    await page.evaluate('window.__still = true');
    await page.getByRole('link', { name: 'Déjà un compte ? Se connecter' }).click();
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Connexion');
    expect(new URL(page.url()).hash).toBe('#/connexion');
    expect(await page.evaluate('window.__still')).toBe(true);
    // The new screen's title takes the focus (screen readers announce it).
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Connexion');

    // Back in history.
    await page.goBack();
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Créer un compte');

    // The map is the home.
    await page.goto(`${s.base}/`);
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Carte du PCRS');
    await expect.poll(() => scripts.some((p) => /MapPage/.test(p))).toBe(true);
    await expect.poll(() => scripts.some((p) => /ol-map/.test(p))).toBe(true);

    // A screen for signed-in users, without the accounts API on this server.
    await page.goto(`${s.base}/#/compte/cles`);
    await expect.poll(() => page.locator('main').innerText()).toMatch(/Les comptes ne sont pas disponibles sur ce serveur|Cette page demande d’être connecté/);

    await page.goto(`${s.base}/#/nulle-part`);
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Page introuvable');
    expect(await page.getByRole('link', { name: 'Revenir à la carte' }).getAttribute('href')).toBe('#/carte');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('account screens: errors next to fields, sign-in, a key shown once (CSRF on every write), revoked after a confirmation, offered in the stream addresses', async () => {
    const fake = fakeApi({ oidc: true });
    const context = await browser.newContext({ locale: 'en-US', permissions: ['clipboard-read', 'clipboard-write'] });
    await context.route('**/api/v1/**', (route) => fake.handle(route));
    const { page, errors } = await open(context, '#/inscription');
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Créer un compte');

    // Sign-up: the browser's checks, each error next to its field, announced.
    await page.getByLabel('Adresse e-mail').fill('pas-une-adresse');
    await page.getByLabel('Nom affiché').fill('Camille');
    await page.getByLabel('Mot de passe', { exact: true }).fill('court');
    await page.getByLabel('Confirmez le mot de passe').fill('autre');
    await page.getByRole('button', { name: 'Créer mon compte' }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toBe('Corrigez les champs signalés.');
    const email = page.getByLabel('Adresse e-mail');
    expect(await email.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await email.getAttribute('aria-describedby'))!;
    expect(await page.locator(`[id="${describedBy}"]`).innerText()).toMatch(/adresse e-mail valide/);
    expect(await page.locator('.field-error').allInnerTexts()).toEqual([
      'Saisissez une adresse e-mail valide (nom@domaine.fr).',
      'Le mot de passe doit compter au moins 12 caractères.',
      'Les deux mots de passe ne sont pas identiques.',
    ]);
    await screenshot(page, 'inscription-erreurs');
    // The keyboard is taken to the first field to fix.
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.name')).toBe('email');
    expect(fake.state.writes).toEqual([]);
    await email.fill('camille@cahors.fr');
    await page.getByLabel('Mot de passe', { exact: true }).fill('correct horse battery staple');
    await page.getByLabel('Confirmez le mot de passe').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Créer mon compte' }).click();
    await expect.poll(() => page.getByRole('status').first().innerText()).toMatch(/Si l’adresse camille@cahors\.fr peut être inscrite/);
    expect(fake.state.writes[0]).toMatchObject({ method: 'POST', path: '/auth/signup', csrf: 'csrf-anon', body: { email: 'camille@cahors.fr', displayName: 'Camille', language: 'fr', password: 'correct horse battery staple' } });

    // Sign-in: the OpenID provider's button, a wrong password said in French, then in.
    await page.goto(`${s.base}/#/connexion?retour=/compte/cles`);
    const oidc = page.getByRole('link', { name: 'Se connecter avec ProConnect' });
    await expect.poll(() => oidc.getAttribute('href')).toBe('/api/v1/auth/oidc/start');
    await screenshot(page, 'connexion');
    await page.getByLabel('Adresse e-mail').fill('camille@cahors.fr');
    await page.getByLabel('Mot de passe').fill('mauvais mot de passe');
    await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toBe('Adresse e-mail ou mot de passe incorrect.');
    await page.getByLabel('Mot de passe').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Mes clés d’API');
    expect(new URL(page.url()).hash).toBe('#/compte/cles');
    expect(await page.locator('header .user').innerText()).toMatch(/Connecté : Camille/);
    expect(await page.getByRole('navigation', { name: 'Navigation principale' }).innerText()).not.toContain('Administration');

    // A key: name, scopes, expiry; shown once with a warning and a copy button.
    await expect.poll(() => page.locator('main').innerText()).toContain('Vous n’avez pas encore de clé.');
    await page.getByLabel('Nom', { exact: true }).fill('QGIS bureau');
    await page.getByLabel(/downloads —/).check();
    await page.getByLabel('Expiration').fill('2099-12-31');
    await page.getByRole('button', { name: 'Créer la clé' }).click();
    const shown = page.locator('.shown-once');
    await expect.poll(() => shown.count()).toBe(1);
    expect(await shown.innerText()).toMatch(/ne sera plus jamais affichée/);
    expect(await page.getByLabel('Clé d’API').inputValue()).toBe(fake.KEY);
    await screenshot(page, 'compte-cles-nouvelle');
    const create = fake.state.writes.find((w) => w.path === '/me/keys')!;
    expect(create).toMatchObject({ method: 'POST', csrf: 'csrf-session', body: { name: 'QGIS bureau', scopes: ['read', 'downloads'], expiresAt: '2099-12-31' } });
    await page.getByRole('button', { name: 'Copier' }).click();
    await expect.poll(() => page.locator('.shown-once .live').innerText()).toBe('Clé copiée dans le presse-papiers.');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(fake.KEY);
    await page.getByLabel(/Garder cette clé dans cet onglet/).check();
    await page.getByRole('button', { name: 'J’ai copié ma clé' }).click();
    // Gone from the page for good; the list shows its prefix only.
    expect(await page.content()).not.toContain(fake.KEY);
    await expect.poll(() => page.locator('table.keys').innerText()).toMatch(/QGIS bureau[\s\S]*pcrs_AbCdEfGhIjKl_…[\s\S]*read, downloads/);
    await screenshot(page, 'compte-cles');

    // The stream addresses offer the key kept in this tab on restricted layers only.
    await page.getByRole('link', { name: 'Carte' }).click();
    const vector = page.getByRole('region', { name: 'PCRS vecteur' });
    await expect.poll(() => vector.innerText(), { timeout: 15_000 }).toMatch(/restreinte[\s\S]*sans clé, votre SIG recevra un refus/);
    expect(await vector.innerText()).not.toContain('apikey');
    await page.getByRole('button', { name: 'QGIS bureau' }).click();
    await expect.poll(() => vector.innerText()).toContain(`${s.base}/wfs?apikey=${fake.KEY}`);
    expect(await vector.innerText()).toContain(`${s.base}/tiles/vector/WebMercatorQuad/{z}/{x}/{y}.mvt?apikey=${fake.KEY}`);

    // Revocation asks first, then sends DELETE with the CSRF token.
    await page.goto(`${s.base}/#/compte/cles`);
    await page.getByRole('button', { name: 'Révoquer' }).click();
    expect(fake.state.writes.some((w) => w.method === 'DELETE')).toBe(false);
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Oui');
    await page.getByRole('button', { name: 'Non' }).click();
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Révoquer');
    await page.getByRole('button', { name: 'Révoquer' }).click();
    await page.getByRole('button', { name: 'Oui' }).click();
    await expect.poll(() => page.locator('main [role=status]').first().innerText()).toBe('Clé « QGIS bureau » révoquée.');
    expect(fake.state.writes.find((w) => w.method === 'DELETE')).toMatchObject({ path: '/me/keys/1', csrf: 'csrf-session' });
    await expect.poll(() => page.locator('table.keys').innerText()).toMatch(/révoquée le/);
    // …and the map no longer offers it.
    expect(await page.evaluate('sessionStorage.getItem("pcrs.keys")')).toBe('[]');

    // Sign-out from the header.
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Connexion');
    expect(await page.locator('header .user').innerText()).toMatch(/Se connecter/);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
  it('admin screens: create an organisation, accept a request with a role, give a platform role, grant a permission, set a version restricted, filter the audit log', async () => {
    const fake = fakeAdminApi();
    const context = await browser.newContext({ locale: 'fr-FR' });
    await context.route('**/api/v1/**', (route) => fake.handle(route));
    const { page, errors } = await open(context, '#/admin');
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Administration');
    expect(await page.getByRole('navigation', { name: 'Navigation principale' }).innerText()).toContain('Administration');

    // Organisations: the identifier follows the name.
    await page.getByRole('link', { name: 'Organisations', exact: true }).click();
    await page.getByLabel('Nom', { exact: true }).fill('Communauté d’agglomération du Grand Cahors');
    await page.getByLabel('Type').selectOption('epci');
    await page.getByLabel('Code INSEE (commune, EPCI)').fill('123');
    await page.getByRole('button', { name: 'Créer l’organisation' }).click();
    await expect.poll(() => page.locator('.field-error').allInnerTexts()).toEqual(['Code INSEE de commune (5 caractères) ou SIREN d’EPCI (9 chiffres).']);
    await page.getByLabel('Code INSEE (commune, EPCI)').fill('200023737');
    await page.getByRole('button', { name: 'Créer l’organisation' }).click();
    await expect.poll(() => page.locator('main').innerText()).toContain('Organisation « Communauté d’agglomération du Grand Cahors » créée.');
    expect(fake.state.writes.at(-1)).toEqual({ method: 'POST', path: '/organisations', csrf: 'csrf-admin', body: { slug: 'communaute-d-agglomeration-du-grand-cahors', name: 'Communauté d’agglomération du Grand Cahors', kind: 'epci', insee: '200023737' } });

    // Members: accept Camille's request as a contractor.
    await page.getByRole('link', { name: 'Mairie de Cahors' }).click();
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Membres de cahors');
    await page.getByLabel('Rôle de Camille').selectOption('contractor');
    await page.getByRole('button', { name: 'Accepter' }).click();
    await expect.poll(() => page.locator('main').innerText()).toContain('Camille est maintenant membre.');
    expect(fake.state.writes.at(-1)).toMatchObject({ method: 'POST', path: '/organisations/cahors/members/1/decision', body: { decision: 'accept', role: 'contractor' } });
    await expect.poll(() => page.locator('main').innerText()).toContain('Aucune demande en attente.');
    await screenshot(page, 'admin-membres');

    // Users: a platform role.
    await page.getByRole('link', { name: 'Utilisateurs' }).click();
    await page.getByRole('group', { name: 'Rôles de camille@cahors.fr' }).getByLabel('modérateur').check();
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await expect.poll(() => page.locator('main').innerText()).toContain('Rôles de camille@cahors.fr enregistrés.');
    expect(fake.state.writes.at(-1)).toMatchObject({ method: 'PATCH', path: '/users/1', body: { platformRoles: ['moderator'] } });

    // Permissions: to a person, a dataset, an end date, a charter.
    await page.getByRole('link', { name: 'Permissions' }).click();
    await page.getByLabel('Accordée à').selectOption('user');
    await page.getByLabel('Adresse e-mail de la personne').fill('Camille@Cahors.fr');
    await page.getByLabel('Jeu de données').selectOption('vector');
    await page.getByLabel('Jusqu’au').fill('2099-12-31');
    await page.getByLabel('Périmètre (GeoJSON)').fill('{"type":"Point","coordinates":[1,44]}');
    await page.getByLabel('Charte ou licence acceptée').fill('charte PCRS Lot v2');
    await page.getByRole('button', { name: 'Accorder', exact: true }).click();
    await expect.poll(() => page.locator('.field-error').allInnerTexts()).toEqual(['Collez un Polygon ou MultiPolygon GeoJSON valide.']);
    await page.getByLabel('Périmètre (GeoJSON)').fill('');
    await page.getByRole('button', { name: 'Accorder', exact: true }).click();
    await expect.poll(() => page.locator('main').innerText()).toContain('Permission accordée.');
    expect(fake.state.writes.at(-1)).toMatchObject({ method: 'POST', path: '/permissions', csrf: 'csrf-admin', body: { user: 'camille@cahors.fr', dataset: 'vector', until: '2099-12-31', charter: 'charte PCRS Lot v2' } });
    await expect.poll(() => page.locator('main table').innerText()).toMatch(/camille@cahors\.fr[\s\S]*vector[\s\S]*charte PCRS Lot v2/);
    await screenshot(page, 'admin-permissions');

    // Visibility: a version restricted on its own.
    await page.getByRole('link', { name: 'Visibilité des données' }).click();
    await page.getByLabel('Visibilité de ortho/2025').selectOption('restricted');
    await expect.poll(() => page.locator('main').innerText()).toContain('Visibilité de ortho/2025 enregistrée.');
    expect(fake.state.writes.at(-1)).toMatchObject({ method: 'PUT', path: '/datasets/ortho/versions/2025/visibility', body: { visibility: 'restricted' } });

    // Audit: filters go to the query; entries are listed.
    await page.getByRole('link', { name: 'Journal d’audit' }).click();
    await page.getByLabel('Auteur').selectOption('1');
    await page.getByLabel('Action').fill('key.');
    await page.getByLabel('Période : du').fill('2026-12-01');
    await page.getByLabel('Période : au').fill('2026-12-02');
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await expect.poll(() => page.locator('table.audit').innerText()).toMatch(/camille@cahors\.fr[\s\S]*key\.create[\s\S]*key:7/);
    await screenshot(page, 'admin-journal');
    expect(fake.state.reads.filter((r) => r.startsWith('/audit')).at(-1)).toBe('/audit?actor=1&action=key.&from=2026-12-01&to=2026-12-02T23%3A59%3A59.999Z&limit=50');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
