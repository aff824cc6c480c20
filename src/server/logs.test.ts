import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CAPABILITIES } from '../capabilities.js';
import { loadConfig } from '../config/config.js';
import { ANONYMOUS, type AccessPolicy, type Caller, type Role, type Scope } from '../context/access.js';
import { buildAppContext } from '../context/app-context.js';
import type { Capability } from '../context/capability.js';
import { createLogger, redactUrl } from '../context/logger.js';
import { freshPglite, type TestDatabase } from '../test-support/db.js';
import { UserError } from '../util/errors.js';
import { buildServer } from './app.js';

/** Distinct, unguessable secret values: none may appear in any log line. */
const secret = (what: string) => `${what}_${randomBytes(12).toString('hex')}`;
const S = {
  bearer: secret('bearerkey'),
  badBearer: secret('badbearer'),
  queryKey: secret('querykey'),
  encodedQueryKey: secret('encquerykey'),
  headerKey: secret('headerkey'),
  cookie: secret('sessioncookie'),
  password: secret('password'),
  token: secret('token'),
  nestedPassword: secret('nestedpassword'),
  csrf: secret('csrf'),
  currentPassword: secret('currentpassword'),
};

const KEY_CALLER: Caller = Object.freeze({ kind: 'key', id: 'key:9', label: 'key 9', roles: new Set<Role>(), scopes: new Set<Scope>(['read']), keyId: 9 });

/** Stands in for the access branch's policy: one known key, any other refused. */
const policy: AccessPolicy = {
  async identify(credentials) {
    if (credentials.apiKey === undefined) return ANONYMOUS;
    if ([S.bearer, S.queryKey, S.headerKey, S.encodedQueryKey].includes(credentials.apiKey)) return KEY_CALLER;
    throw new UserError('invalid-key', 'Unknown API key.', { status: 401 });
  },
  async checkRead() {},
  async canRead() {
    return true;
  },
  async invalidate() {},
};

/**
 * Routes as careless as a handler may be: one logs what it received (body included), one fails
 * with an unexpected error after reading the body.
 */
const careless: Capability = {
  name: 'careless',
  summary: 'logs its input',
  http({ app }) {
    app.post('/api/v1/echo', { config: { access: 'public' }, schema: { body: z.record(z.string(), z.unknown()) } }, async (request) => {
      request.log.info({ body: request.body, query: request.query, headers: request.headers }, 'received');
      return { ok: true };
    });
    app.post('/api/v1/crash', { config: { access: 'public' }, schema: { body: z.record(z.string(), z.unknown()) } }, async (request) => {
      const err = Object.assign(new Error('boom'), { body: request.body });
      throw err;
    });
  },
};

describe('credentials never reach the logs', () => {
  let t: TestDatabase;
  let app: Awaited<ReturnType<typeof buildServer>>;
  const lines: string[] = [];

  beforeAll(async () => {
    t = await freshPglite();
    mkdirSync(path.join(t.env.PCRS_DATA_DIR as string, 'storage'), { recursive: true });
    const config = loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR as string, PCRS_LOG_LEVEL: 'trace', PCRS_DEMO: 'false' });
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const log = createLogger(config, { stream });
    const ctx = buildAppContext(config, t.db, { access: policy, log });
    app = await buildServer(ctx, { capabilities: [...CAPABILITIES, careless] });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('keys (Bearer, query, header), session cookies, CSRF tokens, passwords and tokens in bodies: in no log line', async () => {
    const responses = [
      await app.inject({ url: '/api/versions?dataset=ortho', headers: { authorization: `Bearer ${S.bearer}` } }),
      await app.inject({ url: '/api/versions?dataset=ortho', headers: { authorization: `Bearer ${S.badBearer}` } }),
      await app.inject({ url: `/wmts?SERVICE=WMTS&REQUEST=GetCapabilities&apikey=${S.queryKey}` }),
      await app.inject({ url: `/api/versions?dataset=ortho&APIKEY=${S.queryKey}` }),
      // a parameter name percent-encoded is still the apikey parameter for the server
      await app.inject({ url: `/api/versions?dataset=ortho&api%6Bey=${S.encodedQueryKey}` }),
      await app.inject({ url: `/no/such/page?apikey=${S.queryKey}` }),
      await app.inject({ url: '/api/versions?dataset=ortho', headers: { apikey: S.headerKey } }),
      await app.inject({ url: '/api/versions?dataset=ortho', headers: { cookie: `pcrs_session=${S.cookie}`, 'x-csrf-token': S.csrf } }),
      await app.inject({
        method: 'POST',
        url: `/api/v1/echo?token=${S.token}`,
        headers: { cookie: `pcrs_session=${S.cookie}`, 'x-csrf-token': S.csrf, authorization: `Bearer ${S.bearer}` },
        payload: { email: 'someone@example.org', password: S.password, token: S.token, user: { password: S.nestedPassword }, change: { password: { current: S.currentPassword, new: S.password } } },
      }),
      await app.inject({ method: 'POST', url: '/api/v1/crash', headers: { apikey: S.headerKey }, payload: { password: S.password, token: S.token } }),
      // invalid input: the validation failure is logged too
      await app.inject({ method: 'POST', url: `/api/v1/echo?apikey=${S.queryKey}`, headers: { 'content-type': 'application/json' }, payload: `{"password":"${S.password}"` }),
    ];
    expect(responses.map((r) => r.statusCode)).toEqual([200, 401, 200, 200, 200, 404, 200, 200, 200, 500, 400]);
    // the server did log these requests (the test would prove nothing otherwise)…
    const text = lines.join("\n");
    expect(lines.length).toBeGreaterThan(20);
    expect(text).toContain('"msg":"incoming request"');
    expect(text).toContain('"msg":"received"');
    expect(text).toMatch(/"url":"\/wmts\?SERVICE=WMTS&REQUEST=GetCapabilities&apikey=\[Redacted\]"/);
    expect(text).toMatch(/"password":"\[Redacted\]"/);
    expect(text).toContain('someone@example.org');
    // …and no secret is in any line
    for (const [what, value] of Object.entries(S)) {
      const leaking = lines.filter((line) => line.includes(value));
      expect(leaking, `${what} leaked`).toEqual([]);
    }
  });

  it('redactUrl removes secret query values whatever the case or encoding of their names', () => {
    expect(redactUrl('/wmts?apikey=abc&LAYER=x')).toBe('/wmts?apikey=[Redacted]&LAYER=x');
    expect(redactUrl('/x?ApiKey=abc')).toBe('/x?ApiKey=[Redacted]');
    expect(redactUrl('/x?api%6Bey=abc&y=1')).toBe('/x?api%6Bey=[Redacted]&y=1');
    expect(redactUrl('/x?token=abc&access_token=def&api_key=ghi')).toBe('/x?token=[Redacted]&access_token=[Redacted]&api_key=[Redacted]');
    expect(redactUrl('/x?a=1&b=apikey=2')).toBe('/x?a=1&b=apikey=2');
    expect(redactUrl('/x')).toBe('/x');
  });
});
