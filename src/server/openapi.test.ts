import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CAPABILITIES } from '../capabilities.js';
import { loadConfig } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import type { Capability } from '../context/capability.js';
import { DOCS_PREFIX, OPENAPI_URL } from '../http/openapi.js';
import { freshPglite, type TestDatabase } from '../test-support/db.js';
import { PACKAGE_VERSION } from '../util/package-info.js';
import { buildServer } from './app.js';

/** A capability added later, one route with zod schemas and one without any schema. */
const later: Capability = {
  name: 'later',
  summary: 'routes added after this test was written',
  http({ app }) {
    app.post(
      '/api/v1/later/:id',
      {
        config: { access: { roles: ['platform-admin'], scope: 'admin' } },
        schema: {
          tags: ['later'],
          summary: 'A route with schemas',
          params: z.object({ id: z.coerce.number().int() }),
          body: z.strictObject({ name: z.string().min(1), kind: z.enum(['a', 'b']) }),
          response: { 200: z.object({ id: z.number(), name: z.string() }) },
        },
      },
      async (request) => ({ id: request.params.id, name: request.body.name }),
    );
    app.get('/api/v1/later-bare', { config: { access: 'public' } }, async () => ({ ok: true }));
  },
};

type Operation = { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown; responses?: Record<string, unknown>; security?: unknown[]; description?: string };
type Doc = { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, Record<string, string>> } };

/** Fastify's `/a/:id` as OpenAPI's `/a/{id}` (and a wildcard `*` as @fastify/swagger writes it, `{*}`). */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*/g, '{*}');
}

describe('OpenAPI 3.1 at /api/openapi.json, docs at /api/docs', () => {
  let t: TestDatabase;
  let ctx: AppContext;
  let app: Awaited<ReturnType<typeof buildServer>>;
  let doc: Doc;

  beforeAll(async () => {
    t = await freshPglite();
    mkdirSync(path.join(t.env.PCRS_DATA_DIR as string, 'storage'), { recursive: true });
    ctx = buildAppContext(loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR as string, PCRS_LOG_LEVEL: 'silent' }), t.db);
    app = await buildServer(ctx, { logger: false, capabilities: [...CAPABILITIES, later] });
    await app.ready();
    const res = await app.inject(OPENAPI_URL);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    doc = res.json();
  });
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('is a valid OpenAPI 3.1 document named and versioned after the package', async () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'pcrs-platform', version: PACKAGE_VERSION });
    const result = await validate(structuredClone(doc) as never);
    const errors = result.valid ? [] : result.errors;
    expect(errors, JSON.stringify(errors, null, 1).slice(0, 2000)).toEqual([]);
    expect(result.valid).toBe(true);
    // the validator does catch a broken document (an operation without its responses)
    const broken = structuredClone(doc);
    broken.paths['/api/versions'] = { get: { parameters: [{ name: 'x', in: 'nowhere' }] } };
    expect((await validate(broken as never)).valid).toBe(false);
  });

  it('lists every route of the route table under /api, with or without a schema', () => {
    const api = app.routeTable.filter((r) => r.url.startsWith('/api') && !r.url.startsWith(DOCS_PREFIX) && r.method !== 'HEAD');
    expect(api.length).toBeGreaterThan(10);
    const missing = api.filter((r) => doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()] === undefined).map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual([]);
    expect(doc.paths['/api/v1/later-bare']?.get).toBeDefined();
    // the docs' own files are not API operations
    expect(Object.keys(doc.paths).filter((p) => p.startsWith(DOCS_PREFIX))).toEqual([]);
  });

  it('describes a route from its zod schemas: path parameters, body, response, tags', () => {
    const op = doc.paths['/api/v1/later/{id}']?.post;
    expect(op).toBeDefined();
    expect(op?.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'id', in: 'path' })]));
    expect(JSON.stringify(op?.requestBody)).toMatch(/"kind".*"enum":\["a","b"\]/);
    expect(JSON.stringify(op?.requestBody)).toMatch(/"additionalProperties":false/);
    expect(op?.responses?.['200']).toBeDefined();
    // query parameters of an existing route come from its schema too
    const dalles = doc.paths['/api/datasets/{dataset}/versions/{version}/dalles']?.get ?? Object.entries(doc.paths).find(([p]) => p.endsWith('/dalles'))?.[1].get;
    expect(dalles?.parameters?.map((p) => p.name)).toContain('bbox');
  });

  it('names the credentials the access step accepts, and each protected route’s need', () => {
    expect(doc.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      apiKeyHeader: { type: 'apiKey', in: 'header', name: 'apikey' },
      apiKeyQuery: { type: 'apiKey', in: 'query', name: 'apikey' },
      session: { type: 'apiKey', in: 'cookie', name: 'pcrs_session' },
    });
    const protectedOp = doc.paths['/api/v1/later/{id}']?.post;
    expect(protectedOp?.security).toHaveLength(4);
    expect(protectedOp?.description).toMatch(/platform-admin.*scope `admin`/);
    const jobs = doc.paths['/api/jobs']?.get;
    expect(jobs?.security).toBeDefined();
    expect(doc.paths['/api/versions']?.get?.security).toBeUndefined();
  });

  it('OGC services are left to their own descriptions (capabilities, /ogc/api)', () => {
    expect(Object.keys(doc.paths).filter((p) => /^\/(wms|wmts|wfs)\b/.test(p))).toEqual([]);
  });

  it('serves browsable docs at /api/docs, public', async () => {
    const res = await app.inject(`${DOCS_PREFIX}/`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toMatch(/swagger-ui/i);
    const init = await app.inject(`${DOCS_PREFIX}/static/swagger-initializer.js`);
    expect(init.statusCode).toBe(200);
  });
});
