import { readFileSync } from 'node:fs';
import path from 'node:path';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { AccessNeed } from '../context/access.js';
import { PACKAGE_ROOT, PACKAGE_VERSION } from '../util/package-info.js';
import { declareAccessForPlugin, SESSION_COOKIE } from './access.js';

/**
 * The REST API's description: OpenAPI 3.1 at `GET /api/openapi.json`, generated from the zod
 * schemas every route declares (`schema: { params, querystring, body, response, tags, summary }`),
 * and browsable at `/api/docs` (Swagger UI). Every route appears, with or without a schema, except
 * those that hide themselves (`schema.hide`): the OGC services (WMS, WMTS, WFS: KVP described by
 * their own capabilities documents; OGC API: its own OpenAPI at `/ogc/api`) and the docs' own files.
 * A route that needs a credential carries the security schemes the access step accepts and its need
 * in its description.
 */

export const OPENAPI_URL = '/api/openapi.json';
export const DOCS_PREFIX = '/api/docs';

/** Security schemes: what `credentialsOf` (http/access.ts) reads. */
const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'API key as `Authorization: Bearer pcrs_…`.' },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'apikey', description: 'API key in the `apikey` header.' },
  apiKeyQuery: { type: 'apiKey', in: 'query', name: 'apikey', description: 'API key as the `apikey` query parameter (what GIS clients paste into URLs).' },
  session: {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: 'Session cookie set by `POST /api/v1/auth/signin`; writes also need the `X-CSRF-Token` header (csrfToken of `GET /api/v1/auth/session`).',
  },
} as const;

const ANY_CREDENTIAL = Object.keys(SECURITY_SCHEMES).map((name) => ({ [name]: [] }));

function describeNeed(need: AccessNeed): string {
  if (need === 'public') return 'Public.';
  const scope = need.scope ? `; an API key needs the scope \`${need.scope}\`` : '';
  if ('roles' in need) return `Needs one of the roles ${need.roles.map((r) => `\`${r}\``).join(', ')}${scope}.`;
  return `Needs a signed-in caller or an API key${scope}.`;
}

function packageDescription(): { title: string; description: string } {
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string; description?: string };
  return { title: pkg.name, description: pkg.description ?? '' };
}

/**
 * Registers the document generator (before any route: it collects routes as they are added) and
 * the two documentation endpoints.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  const { title, description } = packageDescription();
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title,
        version: PACKAGE_VERSION,
        description: `${description}\n\nErrors are RFC 9457 problem+json. Rate limits: 429 with Retry-After. OGC services (WMS, WMTS, WFS) are described by their capabilities documents; OGC API by /ogc/api.`,
      },
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform(input) {
      const out = jsonSchemaTransform(input);
      const need = input.route.config?.access;
      if (need === undefined) return out;
      // A route without any schema still appears (with its need), as a route added later would.
      const schema = (out.schema ?? {}) as FastifySchema & { description?: string; security?: unknown; hide?: boolean };
      if (schema.hide) return out;
      const note = describeNeed(need);
      return {
        url: out.url,
        schema: {
          ...schema,
          description: schema.description ? `${schema.description}\n\n${note}` : note,
          ...(need === 'public' ? {} : { security: ANY_CREDENTIAL }),
        },
      };
    },
    transformObject: jsonSchemaTransformObject,
  });
  app.get(OPENAPI_URL, { config: { access: 'public' }, schema: { tags: ['api'], summary: 'This API’s OpenAPI 3.1 description' } }, async (_request, reply) => {
    return reply.header('cache-control', 'no-cache').send(app.swagger());
  });
  await app.register(async (docs) => {
    declareAccessForPlugin(docs, 'public');
    await docs.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX, uiConfig: { deepLinking: true }, transformSpecificationClone: true });
  });
}
