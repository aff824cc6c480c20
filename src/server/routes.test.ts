import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CAPABILITIES } from '../capabilities.js';
import { loadConfig } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import type { Capability } from '../context/capability.js';
import { userWithKey } from '../test-support/access.js';
import { freshPglite, type TestDatabase } from '../test-support/db.js';
import { buildServer } from './app.js';


describe('the route table: every route says who may call it', () => {
  let t: TestDatabase;
  let ctx: AppContext;
  let app: Awaited<ReturnType<typeof buildServer>>;

  beforeAll(async () => {
    t = await freshPglite();
    mkdirSync(path.join(t.env.PCRS_DATA_DIR as string, 'storage'), { recursive: true });
    ctx = buildAppContext(loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR as string, PCRS_LOG_LEVEL: 'silent' }), t.db);
    await ctx.catalog.ensureStandardDatasets('46');
    app = await buildServer(ctx, { logger: false });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('every route of every capability declares an access need', () => {
    expect(app.routeTable.length).toBeGreaterThan(40);
    expect(app.routeTable.filter((r) => r.access === undefined)).toEqual([]);
    // the operator endpoints are not public
    const needOf = (method: string, url: string) => app.routeTable.find((r) => r.method === method && r.url === url)?.access;
    for (const [method, url] of [
      ['GET', '/api/jobs'],
      ['GET', '/api/jobs/:id'],
      ['GET', '/api/storage/usage'],
      ['POST', '/api/storage/verify'],
      ['GET', '/api/storage/fixity'],
      ['GET', '/api/archive/packages'],
      ['POST', '/api/archive/packages/:id/restore'],
      ['GET', '/api/archive/packages/:id/download'],
    ] as const) {
      expect(needOf(method, url), `${method} ${url}`).toMatchObject({ roles: expect.arrayContaining(['platform-admin']) });
    }
    expect(needOf('GET', '/wmts')).toBe('public');
  });

  it('a route without an access need stops the server at start, naming the route', async () => {
    const careless: Capability = {
      name: 'careless',
      summary: 'adds a route and forgets to say who may call it',
      http({ app: routes }) {
        routes.get('/api/careless', { schema: { querystring: z.object({}) } }, async () => ({ ok: true }));
      },
    };
    const server = await buildServer(ctx, { logger: false, capabilities: [...CAPABILITIES, careless] });
    await expect(server.ready()).rejects.toThrow(/GET \/api\/careless/);
  });

  it('operator endpoints answer only their roles: 401 anonymous, 403 other roles, 200 operator; no server path in public answers', async () => {
    const anonymous = await app.inject('/api/jobs');
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/problem\+json/);
    const member = await userWithKey(ctx, 'member@example.fr', { memberships: [{ org: 'fdel', role: 'member' }], scopes: ['read', 'admin'] });
    expect((await app.inject({ url: '/api/jobs', headers: { authorization: `Bearer ${member.key}` } })).statusCode).toBe(403);
    // the admin token is gone: its header is no credential at all
    expect((await app.inject({ url: '/api/jobs', headers: { 'x-pcrs-admin-token': 'operator-token-0123456789' } })).statusCode).toBe(401);
    const operator = await userWithKey(ctx, 'ops@example.fr', { platformRoles: ['platform-admin'], scopes: ['admin'] });
    const TOKEN_HEADERS = { authorization: `Bearer ${operator.key}` };
    await ctx.jobs.findOrCreate('ingest', 'k1', { dir: '/srv/secret/livraison' });
    const jobs = await app.inject({ url: '/api/jobs', headers: TOKEN_HEADERS });
    expect(jobs.statusCode).toBe(200);
    expect(jobs.json().jobs[0]).toMatchObject({ kind: 'ingest', state: 'queued' });
    // even operators get progress and results, not the parameters (server paths) of a job
    expect(jobs.body).not.toContain('/srv/secret');
    const health = await app.inject('/health');
    expect(health.statusCode).toBe(200);
    expect(health.body).not.toContain(ctx.config.dataDir);
    // a bad id is a 400 for an operator, never a stack
    const bad = await app.inject({ url: '/api/jobs/abc', headers: TOKEN_HEADERS });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ type: 'urn:pcrs:problem:invalid-parameter', detail: expect.stringMatching(/path: id/) });
  });

  it('a problem never echoes an API key from the URL', async () => {
    const res = await app.inject('/api/datasets/ortho/versions/nope?apikey=SECRET-KEY-123');
    // a malformed key is refused before the route runs
    expect(res.statusCode).toBe(401);
    expect(res.body).not.toContain('SECRET-KEY-123');
  });
});

describe('capability folders', () => {
  it('each capability has a distinct name and its commands have distinct names', () => {
    const names = CAPABILITIES.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    const commands = CAPABILITIES.flatMap((c) => (c.commands ?? []).map((x) => x.name));
    expect(new Set(commands).size).toBe(commands.length);
  });

  it('dist/ holds no test code', async () => {
    const { readdirSync, statSync } = await import('node:fs');
    const dist = path.resolve(import.meta.dirname, '../../dist');
    const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f)) : [path.join(d, f)]));
    const files = walk(dist).map((f) => path.relative(dist, f));
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => /(^|\/)test-support\/|\.test\.|\.contract\.|fixture/.test(f))).toEqual([]);
  });
});


describe('layering', () => {
  it('nothing under src/ imports src/server/ but the CLI entry (and tests)', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const src = path.resolve(import.meta.dirname, '..');
    const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f)) : [path.join(d, f)]));
    const offenders = walk(src)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes(`${path.sep}test-support${path.sep}`) && !f.startsWith(path.join(src, 'server') + path.sep) && f !== path.join(src, 'cli', 'main.ts'))
      .filter((f) => [...readFileSync(f, 'utf8').matchAll(/from '(\.[^']+)'/g)].some((m) => path.resolve(path.dirname(f), m[1] as string).startsWith(path.join(src, 'server') + path.sep)))
      .map((f) => path.relative(src, f));
    expect(offenders).toEqual([]);
  });
});
