import { createHmac, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import type { Config } from '../config/config.js';
import { UserError } from '../util/errors.js';
import type { AccountService, Origin } from './service.js';
import type { NewSession } from './sessions.js';
import * as store from './store.js';
import type { User } from './store.js';

/**
 * Sign-in with OpenID Connect (ProConnect, a département's Keycloak…) through `openid-client`:
 * authorization code flow with PKCE, state and nonce. The three secrets of a flow travel in a
 * short-lived HttpOnly cookie signed with HMAC-SHA-256 (any node can finish a flow another node
 * started). The first sign-in creates the user (e-mail verified by the provider, no password);
 * later sign-ins find it by (issuer, subject). A local account with the same e-mail and no
 * provider link is linked to the provider's subject.
 */

export type OidcConfig = NonNullable<Config['auth']['oidc']>;

/** Name of the cookie holding a flow's state (path-limited to the OIDC routes). */
export const OIDC_STATE_COOKIE = 'pcrs_oidc';
export const OIDC_STATE_SECONDS = 600;

interface FlowState {
  state: string;
  nonce: string;
  verifier: string;
  /** Expiry (ms since the epoch). */
  exp: number;
}

const isLoopback = (u: URL) => u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

export class OidcSignin {
  private configuration: Promise<client.Configuration> | undefined;
  private readonly key: Buffer;

  constructor(
    private readonly service: AccountService,
    readonly config: OidcConfig,
    secret: string,
  ) {
    this.key = createHmac('sha256', 'pcrs-oidc-state').update(secret).digest();
  }

  get label(): string {
    return this.config.label;
  }

  /** The provider's metadata, discovered once (again after a failure). */
  private discover(): Promise<client.Configuration> {
    this.configuration ??= client
      .discovery(new URL(this.config.issuer), this.config.clientId, undefined, client.ClientSecretPost(this.config.clientSecret), {
        // Plain HTTP only for a provider on this machine (tests, development).
        ...(isLoopback(new URL(this.config.issuer)) ? { execute: [client.allowInsecureRequests] } : {}),
      })
      .catch((e: unknown) => {
        this.configuration = undefined;
        throw new UserError('oidc-unavailable', `The identity provider cannot be reached: ${(e as Error).message}`, { status: 502 });
      });
    return this.configuration;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  private seal(s: FlowState): string {
    const payload = Buffer.from(JSON.stringify(s)).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  private unseal(cookie: string | undefined): FlowState {
    const fail = () => new UserError('oidc-state', 'The sign-in flow expired or was not started here: start again.', { status: 400 });
    if (!cookie) throw fail();
    const [payload, mac] = cookie.split('.');
    if (!payload || !mac) throw fail();
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw fail();
    let s: FlowState;
    try {
      s = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as FlowState;
    } catch {
      throw fail();
    }
    if (typeof s.exp !== 'number' || s.exp < Date.now()) throw fail();
    return s;
  }

  /** The provider's authorization URL and the cookie value that the callback needs. */
  async start(redirectUri: string): Promise<{ url: string; cookie: string }> {
    const configuration = await this.discover();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: this.config.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, cookie: this.seal({ state, nonce, verifier, exp: Date.now() + OIDC_STATE_SECONDS * 1000 }) };
  }

  /** Finishes a flow: checks state, nonce and PKCE, finds or creates the user, opens a session. */
  async callback(currentUrl: URL, cookie: string | undefined, origin: Origin): Promise<{ user: User; session: NewSession; created: boolean }> {
    const flow = this.unseal(cookie);
    const configuration = await this.discover();
    let claims: Record<string, unknown>;
    let subject: string;
    try {
      const tokens = await client.authorizationCodeGrant(configuration, currentUrl, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
      const idClaims = tokens.claims();
      if (!idClaims) throw new Error('no ID token');
      subject = idClaims.sub;
      claims = { ...idClaims };
      if (claims[this.config.claims.email] === undefined || claims[this.config.claims.name] === undefined) {
        claims = { ...(await client.fetchUserInfo(configuration, tokens.access_token, subject)), ...claims };
      }
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError('oidc-failed', `The identity provider's answer was refused: ${(e as Error).message}`, { status: 400 });
    }
    const email = claims[this.config.claims.email];
    if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email)) throw new UserError('oidc-no-email', 'The identity provider gave no e-mail address.', { status: 400 });
    if (claims.email_verified === false) throw new UserError('email-not-verified', 'The identity provider says this e-mail address is not verified.', { status: 403 });
    const nameClaim = claims[this.config.claims.name];
    const displayName = (typeof nameClaim === 'string' && nameClaim.trim() ? nameClaim.trim() : email.split('@')[0] ?? email).slice(0, 200);
    const issuer = configuration.serverMetadata().issuer;
    const db = this.service.ctx.db;
    let created = false;
    let user = await store.findUserByOidc(db, issuer, subject);
    if (!user) {
      const byEmail = await store.findUserByEmail(db, email);
      if (byEmail) {
        if (byEmail.oidcSubject !== null) throw new UserError('oidc-conflict', 'This e-mail address is already linked to another identity at the provider.', { status: 409 });
        user = await store.updateUser(db, byEmail.id, { oidc: { issuer, subject }, emailVerified: true });
      } else {
        user = await store.insertUser(db, { email, displayName, emailVerified: true, oidc: { issuer, subject } });
        created = true;
        await this.service.ctx.audit.record({ id: `user:${user.id}`, userId: user.id }, { action: 'user.create', target: `user:${user.id}`, details: { email: user.email, via: 'oidc', issuer }, ...(origin.ip ? { ip: origin.ip } : {}) });
      }
    }
    if (!user) throw new UserError('oidc-failed', 'The account could not be found or created.', { status: 500 });
    if (user.disabled) throw new UserError('account-disabled', 'This account is disabled: contact an administrator.', { status: 403 });
    return { user, session: await this.service.openSession(user, origin, 'oidc'), created };
  }
}
