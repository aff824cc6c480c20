/**
 * Sign-in with OpenID Connect end to end against a real provider (`oidc-provider` on loopback):
 * the redirect to the provider, its login and consent, the code exchange with PKCE, state and
 * nonce, the first sign-in creating the user, the next finding it, an existing local account
 * linked, tampered state and replayed codes refused, the suggested organisation.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { hashPassword } from './passwords.js';
import { insertOrganisation, insertUser } from './store.js';
import { accountsServer, sessionCookieOf, type Harness } from './test-support/harness.js';
import { followToClient, startTestProvider, type TestProvider } from './test-support/oidc-provider.js';

const PCRS = 'http://pcrs.test';
const CLIENT = { clientId: 'pcrs-portal', clientSecret: 'a-client-secret-of-the-pcrs-portal' };

describe.each(ENGINES)('OpenID Connect on $engine', ({ open }) => {
  let t: TestDatabase;
  let op: TestProvider;
  let h: Harness;
  let app: FastifyInstance;

  beforeAll(async () => {
    t = await open();
    op = await startTestProvider({
      ...CLIENT,
      redirectUri: `${PCRS}/api/v1/auth/oidc/callback`,
      accounts: {
        'agent-1': { email: 'Agent.Un@Cahors.fr', name: 'Agent Un' },
        'agent-2': { email: 'local@cahors.fr', name: 'Local Agent' },
        'agent-3': { email: 'unverified@cahors.fr', name: 'Pas vérifié', emailVerified: false },
      },
    });
    h = await accountsServer(t, { PCRS_PUBLIC_URL: PCRS, PCRS_OIDC_ISSUER: op.issuer, PCRS_OIDC_CLIENT_ID: CLIENT.clientId, PCRS_OIDC_CLIENT_SECRET: CLIENT.clientSecret }, { 'auth.oidc.label': 'ProConnect (test)' });
    app = h.app;
    await insertOrganisation(t.db, { slug: 'cahors', name: 'Commune de Cahors', kind: 'commune', emailDomains: ['cahors.fr'] });
    await insertOrganisation(t.db, { slug: 'figeac', name: 'Figeac', kind: 'commune', emailDomains: ['figeac.fr'] });
  });
  afterAll(async () => {
    await app?.close();
    await op?.close();
    await t?.dispose();
  });

  /** The whole browser round trip; returns PCRS's final answer to the callback. */
  async function signInWithProvider(account: string, tamper?: (stateCookie: string) => string) {
    op.nextAccount = account;
    const start = await app.inject('/api/v1/auth/oidc/start');
    expect(start.statusCode).toBe(302);
    const location = start.headers.location as string;
    expect(location.startsWith(`${op.issuer}/`)).toBe(true);
    const params = new URL(location).searchParams;
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('state')).toBeTruthy();
    expect(params.get('nonce')).toBeTruthy();
    expect(params.get('redirect_uri')).toBe(`${PCRS}/api/v1/auth/oidc/callback`);
    const stateCookie = start.cookies.find((c) => c.name === 'pcrs_oidc');
    expect(stateCookie).toMatchObject({ httpOnly: true, path: '/api/v1/auth/oidc' });
    expect(stateCookie?.value).not.toContain(params.get('state'));
    const back = await followToClient(location, PCRS);
    const callback = new URL(back);
    expect(callback.pathname).toBe('/api/v1/auth/oidc/callback');
    const value = tamper ? tamper(stateCookie?.value as string) : (stateCookie?.value as string);
    const res = await app.inject({ url: `${callback.pathname}${callback.search}`, cookies: { pcrs_oidc: value } });
    return { res, callbackUrl: `${callback.pathname}${callback.search}`, stateCookie: stateCookie?.value as string };
  }

  it('announces the provider in GET /auth/session', async () => {
    expect((await app.inject('/api/v1/auth/session')).json().oidc).toEqual({ label: 'ProConnect (test)' });
  });

  it('first sign-in creates the user (e-mail verified, no password), later ones find it by (issuer, subject)', async () => {
    const { res } = await signInWithProvider('agent-1');
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(`${PCRS}/#/compte`);
    const cookie = sessionCookieOf(res) as string;
    expect(res.cookies.find((c) => c.name === 'pcrs_session')).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    const me = await app.inject({ url: '/api/v1/me', cookies: { pcrs_session: cookie } });
    expect(me.json()).toMatchObject({ email: 'agent.un@cahors.fr', displayName: 'Agent Un', roles: [] });
    const { rows } = await t.db.query<{ id: number; password_hash: string | null; verified: boolean; oidc_issuer: string; oidc_subject: string }>(
      `SELECT id, password_hash, email_verified_at IS NOT NULL AS verified, oidc_issuer, oidc_subject FROM users WHERE email = 'agent.un@cahors.fr'`,
    );
    expect(rows).toEqual([{ id: me.json().id, password_hash: null, verified: true, oidc_issuer: op.issuer, oidc_subject: 'agent-1' }]);
    // The e-mail domain suggests the commune.
    const orgs = (await app.inject({ url: '/api/v1/organisations', cookies: { pcrs_session: cookie } })).json() as Array<{ slug: string; suggested?: boolean }>;
    expect(orgs.filter((o) => o.suggested).map((o) => o.slug)).toEqual(['cahors']);

    const again = await signInWithProvider('agent-1');
    expect(again.res.headers.location).toBe(`${PCRS}/#/compte`);
    const count = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE oidc_subject = 'agent-1'`);
    expect(count.rows[0]?.n).toBe(1);
    const audit = await h.ctx.audit.query({ actorUserId: me.json().id });
    expect(audit.map((a) => a.action).sort()).toEqual(['auth.signin', 'auth.signin', 'user.create']);
    expect(audit.find((a) => a.action === 'auth.signin')?.details).toMatchObject({ method: 'oidc' });
  });

  it('links an existing local account with the same e-mail (its password still works)', async () => {
    const local = await insertUser(t.db, { email: 'local@cahors.fr', displayName: 'Local', passwordHash: await hashPassword('local-password-12'), emailVerified: true });
    const { res } = await signInWithProvider('agent-2');
    expect(res.headers.location).toBe(`${PCRS}/#/compte`);
    const me = await app.inject({ url: '/api/v1/me', cookies: { pcrs_session: sessionCookieOf(res) as string } });
    expect(me.json().id).toBe(local.id);
    const pw = await app.inject({ method: 'POST', url: '/api/v1/auth/signin', payload: { email: 'local@cahors.fr', password: 'local-password-12' } });
    expect(pw.statusCode).toBe(200);
  });

  it('refuses a tampered or missing state cookie, a replayed code, an unverified e-mail, a disabled account', async () => {
    const tampered = await signInWithProvider('agent-1', (v) => `${v.slice(0, -2)}xx`);
    expect(tampered.res.statusCode).toBe(302);
    expect(tampered.res.headers.location).toBe(`${PCRS}/#/connexion?erreur=oidc-state`);
    expect(sessionCookieOf(tampered.res)).toBeUndefined();

    const ok = await signInWithProvider('agent-1');
    expect(ok.res.headers.location).toBe(`${PCRS}/#/compte`);
    const replay = await app.inject({ url: ok.callbackUrl, cookies: { pcrs_oidc: ok.stateCookie } });
    expect(replay.headers.location).toBe(`${PCRS}/#/connexion?erreur=oidc-failed`);
    expect(sessionCookieOf(replay)).toBeUndefined();
    const noCookie = await app.inject({ url: ok.callbackUrl });
    expect(noCookie.headers.location).toBe(`${PCRS}/#/connexion?erreur=oidc-state`);

    // A state cookie of another flow: the state check fails.
    const other = await app.inject('/api/v1/auth/oidc/start');
    const crossed = await signInWithProvider('agent-1', () => other.cookies.find((c) => c.name === 'pcrs_oidc')?.value as string);
    expect(crossed.res.headers.location).toBe(`${PCRS}/#/connexion?erreur=oidc-failed`);

    const unverified = await signInWithProvider('agent-3');
    expect(unverified.res.headers.location).toBe(`${PCRS}/#/connexion?erreur=email-not-verified`);
    expect((await t.db.query(`SELECT 1 FROM users WHERE email = 'unverified@cahors.fr'`)).rowCount).toBe(0);

    await t.db.query(`UPDATE users SET disabled_at = now() WHERE oidc_subject = 'agent-1'`);
    const disabled = await signInWithProvider('agent-1');
    expect(disabled.res.headers.location).toBe(`${PCRS}/#/connexion?erreur=account-disabled`);
  });
});

describe('OpenID Connect not configured, sign-up closed', () => {
  it('answers 404 on its routes and null in the session; sign-up answers 403', async () => {
    const t = await ENGINES[0]!.open();
    const h = await accountsServer(t, {}, { 'auth.signup': false });
    try {
      expect((await h.app.inject('/api/v1/auth/oidc/start')).statusCode).toBe(404);
      expect((await h.app.inject('/api/v1/auth/session')).json()).toMatchObject({ oidc: null, signup: false });
      const signup = await h.app.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: 'a@b.fr', password: 'long-enough-password', displayName: 'A' } });
      expect(signup.statusCode).toBe(403);
      expect(signup.json().type).toBe('urn:pcrs:problem:signup-closed');
    } finally {
      await h.app.close();
      await t.dispose();
    }
  });
});
