import { describe, expect, it } from 'vitest';
import { Api, ApiError, fieldErrors } from './api.js';
import { errorText, initialLanguage, t, versionStatusText } from './i18n.js';
import { MESSAGES, type MessageKey } from './messages.js';
import { rememberedKeys, rememberKey, forgetKeyByPrefix } from './remembered-keys.js';
import { href, matchPath, parseHash } from './router.js';
import { ROUTES } from './routes.js';

/** The portal's pieces that need no browser: router, catalogue, API client, remembered keys. */

describe('router', () => {
  it('parses paths and queries, defaults to the map, and redirects the former view hash', () => {
    expect(parseHash('')).toMatchObject({ path: '/carte' });
    expect(parseHash('#/')).toMatchObject({ path: '/carte' });
    expect(parseHash('#/compte/cles/').path).toBe('/compte/cles');
    const v = parseHash('#/verifier?token=a%2Bb?c');
    expect(v.path).toBe('/verifier');
    expect(v.query.get('token')).toBe('a+b?c');
    const legacy = parseHash('#575100.0,6373700.0,19');
    expect(legacy.path).toBe('/carte');
    expect(legacy.query.get('vue')).toBe('575100.0,6373700.0,19');
  });

  it('builds hashes and matches :parameters', () => {
    expect(href('/reinitialiser', { token: 'x y+z', empty: '', none: undefined })).toBe('#/reinitialiser?token=x%20y%2Bz');
    expect(parseHash(href('/reinitialiser', { token: 'x y+z' })).query.get('token')).toBe('x y+z');
    expect(href('/carte', { vue: '575100.0,6373700.0,19' })).toBe('#/carte?vue=575100.0,6373700.0,19');
    expect(href('/compte')).toBe('#/compte');
    expect(matchPath('/admin/organisations/:slug', '/admin/organisations/mairie%20x')).toEqual({ slug: 'mairie x' });
    expect(matchPath('/admin/organisations/:slug', '/admin/organisations')).toBeNull();
    expect(matchPath('/admin/organisations/:slug', '/admin/organisations/')).toBeNull();
    expect(matchPath('/compte', '/compte/cles')).toBeNull();
  });

  it('has every screen the issue names, each with a title in the catalogue', () => {
    const paths = ROUTES.map((r) => r.path);
    for (const p of ['/carte', '/connexion', '/inscription', '/verifier', '/mot-de-passe-oublie', '/reinitialiser', '/compte', '/compte/cles', '/compte/organisations']) expect(paths).toContain(p);
    expect(paths.filter((p) => p.startsWith('/admin')).length).toBeGreaterThanOrEqual(6);
    for (const r of ROUTES) expect(MESSAGES.fr[r.title]).toBeTruthy();
    expect(new Set(paths).size).toBe(paths.length);
  });

  it('has the declarations’ screens; the statistics are not taken for a declaration number; triage is for moderators', () => {
    const first = (path: string) => ROUTES.find((r) => matchPath(r.path, path));
    expect(first('/declarations')?.path).toBe('/declarations');
    expect(first('/declarations/stats')?.path).toBe('/declarations/stats');
    expect(first('/declarations/confirmer')?.path).toBe('/declarations/confirmer');
    expect(first('/declarations/42')?.path).toBe('/declarations/:id');
    expect(first('/triage')?.access).toBe('moderator');
  });
});

describe('catalogue', () => {
  it('French by default whatever the browser says; English only when chosen', () => {
    expect(initialLanguage(null)).toBe('fr');
    expect(initialLanguage('de')).toBe('fr');
    expect(initialLanguage('en')).toBe('en');
    expect(initialLanguage('fr')).toBe('fr');
  });

  it('has the same keys and the same placeholders in both languages, none empty', () => {
    const fr = Object.keys(MESSAGES.fr).sort();
    expect(Object.keys(MESSAGES.en).sort()).toEqual(fr);
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of fr as MessageKey[]) {
      expect(MESSAGES.fr[k].trim(), k).not.toBe('');
      expect(MESSAGES.en[k].trim(), k).not.toBe('');
      expect(holes(MESSAGES.en[k]), k).toEqual(holes(MESSAGES.fr[k]));
    }
  });

  it('says version statuses in French, an unknown one as the server does', () => {
    expect(versionStatusText('published')).toBe('publiée');
    expect(versionStatusText('something-new')).toBe('something-new');
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(t('auth.signInWith', { label: 'ProConnect' }, 'fr')).toBe('Se connecter avec ProConnect');
    expect(t('auth.signInWith', { label: 'ProConnect' }, 'en')).toBe('Sign in with ProConnect');
    expect(t('auth.signInWith', {}, 'fr')).toBe('Se connecter avec {label}');
  });

  it('says API failures in French, by code, then by status; never the server’s English detail', () => {
    expect(errorText(new ApiError(401, 'invalid-credentials', 'Wrong e-mail or password.'))).toBe('Adresse e-mail ou mot de passe incorrect.');
    expect(errorText(new ApiError(429, 'locked', 'Locked', undefined, {}, 600))).toMatch(/bloquée pendant 10 min/);
    expect(errorText(new ApiError(403, 'something-new', 'Forbidden thing'))).toBe('Vous n’avez pas les droits pour faire cela.');
    expect(errorText(new ApiError(503, 'x', 'down'))).toMatch(/^Erreur du serveur/);
    expect(errorText(new ApiError(0, 'network', 'fetch failed'))).toMatch(/ne répond pas/);
    expect(errorText(new Error('boom'))).toBe('Une erreur inattendue s’est produite.');
    // The scope missing is named (the user must know which one to ask for).
    expect(errorText(new ApiError(403, 'missing-scope', "This API key lacks the scope 'admin'."))).toMatch(/portée.*'admin'/);
  });
});

describe('API client', () => {
  function fakeServer() {
    const calls: Array<{ url: string; method: string; headers: Record<string, string>; body: unknown; credentials: RequestCredentials | undefined }> = [];
    let csrf = 'csrf-1';
    const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      const headers = (init?.headers ?? {}) as Record<string, string>;
      calls.push({ url: String(url), method, headers, body: init?.body ? JSON.parse(String(init.body)) : undefined, credentials: init?.credentials });
      const json = (status: number, body: unknown, type = 'application/json') => new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
      const u = String(url);
      if (u.endsWith('/auth/session')) return json(200, { user: null, csrfToken: csrf, signup: true, oidc: null });
      if (u.endsWith('/auth/signin')) {
        const b = JSON.parse(String(init?.body)) as { password: string };
        if (b.password !== 'correct horse battery') return json(401, { type: 'urn:pcrs:problem:invalid-credentials', title: 'Unauthorized', status: 401, detail: 'Wrong e-mail or password.' }, 'application/problem+json');
        csrf = 'csrf-2';
        return json(200, { user: { id: 1 }, csrfToken: csrf });
      }
      if (u.endsWith('/me/keys') && method === 'POST') {
        if (headers['x-csrf-token'] !== csrf) return json(403, { type: 'urn:pcrs:problem:csrf-failed', title: 'Forbidden', status: 403, detail: 'CSRF' }, 'application/problem+json');
        return json(400, { type: 'urn:pcrs:problem:invalid-parameter', title: 'Bad Request', status: 400, detail: 'Invalid body: name: Too small; scopes.0: Invalid option' }, 'application/problem+json');
      }
      if (/\/me\/keys\/\d+$/.test(u) && method === 'DELETE') return new Response(null, { status: 204 });
      if (u.endsWith('/auth/signout')) return new Response(null, { status: 204 });
      if (u.endsWith('/auth/password/forgot')) return new Response('{}', { status: 429, headers: { 'retry-after': '120' } });
      return json(404, { type: 'urn:pcrs:problem:not-found', title: 'Not Found', status: 404, detail: 'No resource' }, 'application/problem+json');
    }) as typeof fetch;
    return { calls, fetchFn };
  }

  it('sends the session’s CSRF token on writes, with same-origin credentials; none on reads', async () => {
    const { calls, fetchFn } = fakeServer();
    const api = new Api('/api/v1', fetchFn);
    await api.session();
    await api.revokeKey(7);
    const del = calls.find((c) => c.method === 'DELETE')!;
    expect(del.url).toBe('/api/v1/me/keys/7');
    expect(del.headers['x-csrf-token']).toBe('csrf-1');
    expect(calls.every((c) => c.credentials === 'same-origin')).toBe(true);
    expect(calls.find((c) => c.method === 'GET')!.headers['x-csrf-token']).toBeUndefined();
  });

  it('fetches the CSRF token before the first write, and takes the new one from a sign-in', async () => {
    const { calls, fetchFn } = fakeServer();
    const api = new Api('/api/v1', fetchFn);
    await api.signin('a@b.fr', 'correct horse battery');
    // the sign-in itself needed a token first
    expect(calls[0]!.url).toBe('/api/v1/auth/session');
    expect(calls[1]!.headers['x-csrf-token']).toBe('csrf-1');
    await expect(api.createKey({ name: '', scopes: ['read'] })).rejects.toMatchObject({ status: 400, code: 'invalid-parameter', fields: { name: 'Too small', scopes: 'Invalid option' } });
    expect(calls.at(-1)!.headers['x-csrf-token']).toBe('csrf-2');
    expect(calls.at(-1)!.body).toEqual({ name: '', scopes: ['read'] });
  });

  it('turns problem+json into ApiError (code, detail, Retry-After) and a network failure into code network', async () => {
    const { fetchFn } = fakeServer();
    const api = new Api('/api/v1', fetchFn);
    await expect(api.signin('a@b.fr', 'wrong')).rejects.toMatchObject({ status: 401, code: 'invalid-credentials', detail: 'Wrong e-mail or password.' });
    await expect(api.forgotPassword('a@b.fr')).rejects.toMatchObject({ status: 429, code: 'http-429', retryAfter: 120 });
    await expect(api.users()).rejects.toMatchObject({ status: 404, code: 'not-found' });
    const down = new Api('/api/v1', (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch);
    await expect(down.me()).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  it('tells the page when a signed-in call is refused (the session ended), not when a sign-in fails', async () => {
    const { fetchFn } = fakeServer();
    let told = 0;
    const api = new Api('/api/v1', (async (url: string | URL | Request, init?: RequestInit) =>
      String(url).endsWith('/me') ? new Response('{}', { status: 401, headers: { 'content-type': 'application/problem+json' } }) : fetchFn(url, init)) as typeof fetch);
    api.onUnauthenticated = () => told++;
    await expect(api.me()).rejects.toMatchObject({ status: 401 });
    expect(told).toBe(1);
    await expect(api.signin('a@b.fr', 'wrong')).rejects.toMatchObject({ status: 401 });
    expect(told).toBe(1);
  });

  it('asks for declarations with the contract’s query (Lambert-93 bbox, lists as commas, author=me) and writes with the CSRF token', async () => {
    const { calls, fetchFn } = fakeServer();
    const api = new Api('/api/v1', fetchFn);
    await api.declarations({ bbox: [575000, 6373400.5, 575400, 6373800], status: ['submitted', 'acknowledged'], type: ['works'], theme: '03A', organisation: 'cahors', author: 'me', limit: 50, offset: 100 }).catch(() => undefined);
    const u = new URL(calls.at(-1)!.url, 'http://x');
    expect(u.pathname).toBe('/api/v1/declarations');
    expect(Object.fromEntries(u.searchParams)).toEqual({ bbox: '575000.00,6373400.50,575400.00,6373800.00', 'bbox-crs': 'EPSG:2154', status: 'submitted,acknowledged', type: 'works', theme: '03A', organisation: 'cahors', author: 'me', limit: '50', offset: '100' });
    await api.declarations().catch(() => undefined);
    expect(calls.at(-1)!.url).toBe('/api/v1/declarations');
    await api.subscribe(12).catch(() => undefined);
    expect(calls.at(-1)).toMatchObject({ method: 'PUT', url: '/api/v1/declarations/12/subscription', headers: { 'x-csrf-token': 'csrf-1' } });
    await api.unsubscribe(12).catch(() => undefined);
    expect(calls.at(-1)).toMatchObject({ method: 'DELETE', url: '/api/v1/declarations/12/subscription' });
    await api.bulkDeclarations({ ids: [1, 2], status: { status: 'resolved', reason: 'fait' } }).catch(() => undefined);
    expect(calls.at(-1)).toMatchObject({ method: 'POST', url: '/api/v1/declarations/bulk', body: { ids: [1, 2], status: { status: 'resolved', reason: 'fait' } } });
    await api.declarationStats('2026-01', '2026-12').catch(() => undefined);
    expect(calls.at(-1)!.url).toBe('/api/v1/declarations/stats?from=2026-01&to=2026-12');
    expect(api.attachmentUrl(3, 9)).toBe('/api/v1/declarations/3/attachments/9');
  });

  it('says declaration errors in French from their codes', () => {
    expect(errorText(new ApiError(400, 'outside-territory', 'The point … is outside the territory'))).toBe('Cet endroit est hors du territoire couvert par le PCRS.');
    expect(errorText(new ApiError(400, 'reason-required', 'A reason'))).toBe('Un motif est obligatoire pour clore.');
    expect(errorText(new ApiError(409, 'invalid-transition', 'There is no transition'))).toBe('Ce changement d’état n’est pas possible depuis l’état actuel.');
    expect(errorText(new ApiError(413, 'http-413', 'too large'))).toBe('Fichier trop volumineux.');
  });

  it('says extract errors in French, with the sizes the server measured', () => {
    expect(errorText(new ApiError(413, 'quota-exceeded', 'This extract would hold 61.25 GB of masters, more than the 50 GB allowed per extract.'))).toBe(
      'Cet extrait ferait 61,25 Go de dalles, plus que les 50 Go permis par extrait : choisissez une zone plus petite, ou le téléchargement en masse.',
    );
    expect(errorText(new ApiError(400, 'area-too-large', 'The area covers 1520.3 km², more than the 1000 km² an extract may cover.'))).toMatch(/^La zone couvre 1520,3 km², plus que les 1000 km²/);
    expect(errorText(new ApiError(400, 'unsafe-xml', 'The KML holds a DOCTYPE'))).toMatch(/^Ce KML contient une déclaration DOCTYPE/);
    expect(errorText(new ApiError(403, 'charter-not-accepted', 'Accept the charter'))).toBe('Acceptez d’abord la charte d’usage des données à diffusion restreinte.');
    // A detail without the numbers still reads as a sentence.
    expect(errorText(new ApiError(413, 'quota-exceeded', 'Too big.'))).toMatch(/^Cet extrait ferait \? Go/);
  });

  it('reads field errors from a validation problem', () => {
    expect(fieldErrors('Invalid body: password: Too small: expected string to have >=12 characters; email: Invalid email')).toEqual({
      password: 'Too small: expected string to have >=12 characters',
      email: 'Invalid email',
    });
    expect(fieldErrors('Something else')).toEqual({});
  });
});

describe('keys kept in the tab', () => {
  it('are listed, de-duplicated and forgotten by prefix', () => {
    const data = new Map<string, string>();
    const storage = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    const key = `pcrs_ABCDEFGHIJKL_${'x'.repeat(43)}`;
    rememberKey({ name: 'QGIS', key }, storage);
    rememberKey({ name: 'QGIS again', key }, storage);
    expect(rememberedKeys(storage)).toEqual([{ name: 'QGIS again', key }]);
    forgetKeyByPrefix('ABCDEFGHIJKL', storage);
    expect(rememberedKeys(storage)).toEqual([]);
    data.set('pcrs.keys', 'not json');
    expect(rememberedKeys(storage)).toEqual([]);
  });
});
