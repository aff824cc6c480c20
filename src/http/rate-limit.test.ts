import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CAPABILITIES } from '../capabilities.js';
import { loadConfig, type Config } from '../config/config.js';
import { ANONYMOUS, type AccessPolicy, type Caller, type Role, type Scope } from '../context/access.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import type { Capability } from '../context/capability.js';
import { buildServer } from '../server/app.js';
import { freshPglite, type TestDatabase } from '../test-support/db.js';
import { freePort } from '../test-support/net.js';
import { UserError } from '../util/errors.js';

/**
 * A stand-in for the platform's access policy (it comes from the access branch): the Bearer key
 * `good-key-7` is the API key 7, any other key is refused, no key is anonymous.
 */
const KEY_CALLER: Caller = Object.freeze({ kind: 'key', id: 'key:7', label: 'key 7', roles: new Set<Role>(), scopes: new Set<Scope>(['read']), keyId: 7, userId: 3 });
const stubPolicy: AccessPolicy = {
  async identify(credentials) {
    if (credentials.apiKey === undefined) return ANONYMOUS;
    if (credentials.apiKey === 'good-key-7') return KEY_CALLER;
    throw new UserError('invalid-key', 'Unknown API key.', { status: 401 });
  },
  async checkRead() {},
  async canRead() {
    return true;
  },
  async invalidate() {},
};

/** A cheap route to count requests with. */
const ping: Capability = {
  name: 'ping',
  summary: 'test route',
  http({ app }) {
    app.get('/api/ping', { config: { access: 'public' }, schema: { querystring: z.object({}) } }, async () => ({ ok: true }));
  },
};

const KEY = { authorization: 'Bearer good-key-7' };

describe('rate limits', () => {
  let t: TestDatabase;
  let base: Config;
  const contexts: AppContext[] = [];

  beforeAll(async () => {
    t = await freshPglite();
    mkdirSync(path.join(t.env.PCRS_DATA_DIR as string, 'storage'), { recursive: true });
    base = loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR as string, PCRS_LOG_LEVEL: 'silent', PCRS_DEMO: 'false' });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  async function server(rateLimit: Partial<Config['rateLimit']>) {
    const ctx = buildAppContext({ ...base, rateLimit: { ...base.rateLimit, ...rateLimit } }, t.db, { access: stubPolicy });
    contexts.push(ctx);
    const app = await buildServer(ctx, { logger: false, capabilities: [...CAPABILITIES, ping] });
    await app.ready();
    return app;
  }

  it('anonymous callers are counted per IP: over the budget, 429 problem+json with Retry-After; another IP is not affected', async () => {
    const app = await server({ anonymousPerMinute: 3, authenticatedPerMinute: 5 });
    try {
      for (let i = 0; i < 3; i++) {
        const ok = await app.inject('/api/ping');
        expect(ok.statusCode).toBe(200);
        expect(ok.headers['x-ratelimit-limit']).toBe('3');
        expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i));
      }
      const over = await app.inject('/api/ping');
      expect(over.statusCode).toBe(429);
      expect(over.headers['content-type']).toMatch(/application\/problem\+json/);
      const retryAfter = Number(over.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(over.json()).toMatchObject({ status: 429, type: 'urn:pcrs:problem:rate-limited', instance: '/api/ping' });
      expect(over.json().hint).toMatch(/API key/);
      // the budget is per caller over every route, unmatched URLs included
      expect((await app.inject('/no/such/thing')).statusCode).toBe(429);
      // another IP has its own counter
      expect((await app.inject({ url: '/api/ping', remoteAddress: '198.51.100.20' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('an API key is counted on its own budget, not on its IP’s; a refused key is a 401, not a 429', async () => {
    const app = await server({ anonymousPerMinute: 2, authenticatedPerMinute: 4 });
    try {
      for (let i = 0; i < 2; i++) expect((await app.inject('/api/ping')).statusCode).toBe(200);
      expect((await app.inject('/api/ping')).statusCode).toBe(429);
      // same IP, with a key: its own (larger) budget
      for (let i = 0; i < 4; i++) {
        const ok = await app.inject({ url: '/api/ping', headers: KEY });
        expect(ok.statusCode).toBe(200);
        expect(ok.headers['x-ratelimit-limit']).toBe('4');
      }
      const over = await app.inject({ url: '/api/ping', headers: KEY });
      expect(over.statusCode).toBe(429);
      expect(over.json().hint).not.toMatch(/API key/);
      // the key's counter follows the key from any IP
      expect((await app.inject({ url: '/api/ping', headers: KEY, remoteAddress: '198.51.100.30' })).statusCode).toBe(429);
      // and the anonymous counter of that other IP is untouched by the key's requests
      expect((await app.inject({ url: '/api/ping', remoteAddress: '198.51.100.30' })).statusCode).toBe(200);
      expect((await app.inject({ url: '/api/ping', headers: { authorization: 'Bearer wrong' }, remoteAddress: '198.51.100.31' })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('on an OGC service route (WMTS KVP, WMS), the 429 is the service’s exception report', async () => {
    const app = await server({ anonymousPerMinute: 1 });
    try {
      expect((await app.inject('/api/ping')).statusCode).toBe(200);
      const wmts = await app.inject('/wmts?SERVICE=WMTS&REQUEST=GetCapabilities');
      expect(wmts.statusCode).toBe(429);
      expect(Number(wmts.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(wmts.headers['content-type']).toMatch(/application\/xml/);
      expect(wmts.body).toContain('<ExceptionReport xmlns="http://www.opengis.net/ows/1.1"');
      expect(wmts.body).toContain('exceptionCode="NoApplicableCode"');
      expect(wmts.body).toMatch(/Too many requests/);
      const wms = await app.inject('/wms?SERVICE=WMS&REQUEST=GetCapabilities');
      expect(wms.statusCode).toBe(429);
      expect(wms.body).toContain('<ServiceExceptionReport');
    } finally {
      await app.close();
    }
  });

  it('rateLimit.enabled false: no limit, no rate-limit headers', async () => {
    const app = await server({ enabled: false, anonymousPerMinute: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await app.inject('/api/ping');
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-ratelimit-limit']).toBeUndefined();
      }
      expect((await app.inject('/no/such/thing')).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('is configured from the environment too', () => {
    const config = loadConfig({ PCRS_DATA_DIR: '/tmp/x', PCRS_RATE_LIMIT: 'false', PCRS_RATE_LIMIT_ANONYMOUS: '5', PCRS_RATE_LIMIT_AUTHENTICATED: '50', PCRS_REDIS_URL: 'redis://10.0.0.5:6379/2' });
    expect(config.rateLimit).toEqual({ enabled: false, anonymousPerMinute: 5, authenticatedPerMinute: 50, redisUrl: 'redis://10.0.0.5:6379/2' });
    expect(() => loadConfig({ PCRS_DATA_DIR: '/tmp/x', PCRS_REDIS_URL: 'http://10.0.0.5' })).toThrow(/redisUrl/);
  });

  describe('shared across nodes through Redis', () => {
    let redis: ChildProcess | undefined;
    let port = 0;

    beforeAll(async () => {
      port = await freePort();
      redis = spawn(process.env.REDIS_SERVER ?? 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      let failed: Error | undefined;
      redis.once('error', (e) => (failed = e));
      await waitForPort(port, () => failed);
    });
    afterAll(async () => {
      if (redis && redis.exitCode === null) {
        const exited = new Promise((resolve) => redis?.once('exit', resolve));
        redis.kill('SIGTERM');
        await exited;
      }
    });

    it('two server instances with one Redis share each counter', async () => {
      const redisUrl = `redis://127.0.0.1:${port}`;
      const a = await server({ anonymousPerMinute: 3, authenticatedPerMinute: 3, redisUrl });
      const b = await server({ anonymousPerMinute: 3, authenticatedPerMinute: 3, redisUrl });
      try {
        const ip = '203.0.113.77';
        expect((await a.inject({ url: '/api/ping', remoteAddress: ip })).statusCode).toBe(200);
        expect((await b.inject({ url: '/api/ping', remoteAddress: ip })).statusCode).toBe(200);
        expect((await a.inject({ url: '/api/ping', remoteAddress: ip })).headers['x-ratelimit-remaining']).toBe('0');
        const over = await b.inject({ url: '/api/ping', remoteAddress: ip });
        expect(over.statusCode).toBe(429);
        expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        // keys too, and separately from their IP
        for (const app of [a, b, a]) expect((await app.inject({ url: '/api/ping', headers: KEY, remoteAddress: ip })).statusCode).toBe(200);
        expect((await b.inject({ url: '/api/ping', headers: KEY })).statusCode).toBe(429);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('a Redis that goes away does not stop the service: requests pass, uncounted', async () => {
      const app = await server({ anonymousPerMinute: 1, redisUrl: `redis://127.0.0.1:${port}` });
      try {
        expect((await app.inject({ url: '/api/ping', remoteAddress: '203.0.113.88' })).statusCode).toBe(200);
        const exited = new Promise((resolve) => redis?.once('exit', resolve));
        redis?.kill('SIGTERM');
        await exited;
        const started = Date.now();
        const res = await app.inject({ url: '/api/ping', remoteAddress: '203.0.113.88' });
        expect(res.statusCode).toBe(200);
        expect(Date.now() - started).toBeLessThan(3000);
      } finally {
        await app.close();
      }
    });
  });
});

async function waitForPort(port: number, failure: () => Error | undefined, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failed = failure();
    if (failed) throw new Error(`redis-server could not be started (apt-get install redis-server): ${failed.message}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
