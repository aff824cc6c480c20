import { z } from 'zod';
import type { AppContext } from '../context/app-context.js';
import { SCOPES, type Caller } from '../context/access.js';
import type { RouteApp } from '../context/capability.js';
import { UserError } from '../util/errors.js';
import { AccessServices } from './services.js';
import type { ApiKey } from './store.js';

/**
 * /api/v1: the caller's API keys, permissions, visibility of datasets and versions. Bodies are
 * strict (an unknown field is a 400: no mass assignment), the user a key belongs to is always the
 * caller, never a field of the body.
 */
const SIGNED_IN = { signedIn: true } as const;
const PLATFORM_ADMIN = { roles: ['platform-admin'] } as const;

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be an organisation slug');
const datasetId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a dataset identifier');
const versionName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a version name');
const idParam = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

const keyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
  organisation: slug.optional(),
  expiresAt: date.optional(),
  allowedCidrs: z.array(z.string().max(64)).max(50).optional(),
  allowedReferers: z.array(z.string().min(1).max(300)).max(50).optional(),
});

const apiKeySchema = z.object({
  id: z.number(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.string()),
  organisationId: z.number().nullable(),
  expiresAt: z.string().nullable(),
  allowedCidrs: z.array(z.string()),
  allowedReferers: z.array(z.string()),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  requestCount: z.number(),
  revokedAt: z.string().nullable(),
});

const permissionSchema = z.object({
  id: z.number(),
  organisation: z.object({ id: z.number(), slug: z.string() }).nullable(),
  user: z.object({ id: z.number(), email: z.string() }).nullable(),
  dataset: z.string(),
  version: z.string().nullable(),
  perimeter: z.unknown(),
  validUntil: z.string().nullable(),
  charter: z.string().nullable(),
  grantedBy: z.number().nullable(),
  grantedAt: z.string(),
  revokedAt: z.string().nullable(),
});

function userOf(caller: Caller): number {
  if (caller.userId === undefined) throw new UserError('no-user', 'Keys belong to users: sign in, or use a key of yours.', { status: 403 });
  return caller.userId;
}

const keyOut = (k: ApiKey) => k;

export function registerAccessRoutes(app: RouteApp, ctx: AppContext): void {
  const services = new AccessServices(ctx);
  const tags = ['access'];

  app.get(
    '/api/v1/me/keys',
    { config: { access: SIGNED_IN }, schema: { tags, summary: 'My API keys (never their secret)', response: { 200: z.array(apiKeySchema) } } },
    async (request) => (await services.store.listKeys(userOf(request.caller))).map(keyOut),
  );

  app.post(
    '/api/v1/me/keys',
    { config: { access: SIGNED_IN }, schema: { tags, summary: 'Create an API key (the key is shown once, in this answer)', body: keyBody, response: { 201: apiKeySchema.extend({ key: z.string() }) } } },
    async (request, reply) => {
      const made = await services.createKey(request.caller, userOf(request.caller), request.body, request.ip);
      return reply.code(201).header('cache-control', 'no-store').send({ key: made.key, ...made.record });
    },
  );

  app.patch(
    '/api/v1/me/keys/:id',
    { config: { access: SIGNED_IN }, schema: { tags, summary: 'Rename one of my keys', params: idParam, body: z.strictObject({ name: z.string().trim().min(1).max(100) }), response: { 200: apiKeySchema } } },
    async (request) => services.renameKey(request.caller, userOf(request.caller), request.params.id, request.body.name, request.ip),
  );

  app.delete(
    '/api/v1/me/keys/:id',
    { config: { access: SIGNED_IN }, schema: { tags, summary: 'Revoke one of my keys (refused at once by every node)', params: idParam } },
    async (request, reply) => {
      await services.revokeKey(request.caller, request.params.id, userOf(request.caller), request.ip);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/permissions',
    { config: { access: SIGNED_IN }, schema: { tags, summary: 'Permissions: all (platform admins), else mine, my organisations\' and (organisation admins) my members\'', response: { 200: z.array(permissionSchema) } } },
    async (request) => services.listPermissions(request.caller),
  );

  app.post(
    '/api/v1/permissions',
    {
      config: { access: SIGNED_IN },
      schema: {
        tags,
        summary: 'Grant a permission (platform admins; organisation admins: a sub-permission to their members)',
        body: z.strictObject({
          organisation: slug.optional(),
          user: z.email().max(254).optional(),
          dataset: datasetId,
          version: versionName.optional(),
          perimeter: z.record(z.string(), z.unknown()).optional(),
          until: date.optional(),
          charter: z.string().min(1).max(2000).optional(),
        }),
        response: { 201: permissionSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await services.grantPermission(request.caller, request.body, request.ip)),
  );

  app.delete(
    '/api/v1/permissions/:id',
    { config: { access: SIGNED_IN }, schema: { tags, summary: 'Revoke a permission', params: idParam } },
    async (request, reply) => {
      await services.revokePermission(request.caller, request.params.id, request.ip);
      return reply.code(204).send();
    },
  );

  const visibility = z.enum(['public', 'restricted']);
  app.get(
    '/api/v1/datasets',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Datasets and versions with their visibility (only what the caller may read)',
        response: {
          200: z.array(
            z.object({
              id: z.string(),
              kind: z.string(),
              title: z.string(),
              visibility,
              versions: z.array(z.object({ name: z.string(), status: z.string(), visibility: visibility.nullable(), effectiveVisibility: visibility })),
            }),
          ),
        },
      },
    },
    async (request) => {
      const out = [];
      for (const d of await services.store.datasets()) {
        const versions = [];
        for (const v of d.versions) {
          if (!(await ctx.access.canRead(request.caller, { datasetId: d.id, version: v.name }))) continue;
          const effective = v.status !== 'published' ? 'restricted' : (v.visibility ?? d.visibility);
          versions.push({ ...v, effectiveVisibility: effective });
        }
        if (versions.length === 0 && !(await ctx.access.canRead(request.caller, { datasetId: d.id }))) continue;
        out.push({ ...d, versions });
      }
      return out;
    },
  );

  app.put(
    '/api/v1/datasets/:id/visibility',
    { config: { access: PLATFORM_ADMIN }, schema: { tags, summary: 'Set a dataset public or restricted (platform admins)', params: z.object({ id: datasetId }), body: z.strictObject({ visibility }) } },
    async (request, reply) => {
      await services.setVisibility(request.caller, request.params.id, null, request.body.visibility, request.ip);
      return reply.code(204).send();
    },
  );

  app.put(
    '/api/v1/datasets/:id/versions/:name/visibility',
    {
      config: { access: PLATFORM_ADMIN },
      schema: { tags, summary: "Set a version public, restricted, or back to its dataset's (null) (platform admins)", params: z.object({ id: datasetId, name: versionName }), body: z.strictObject({ visibility: visibility.nullable() }) },
    },
    async (request, reply) => {
      await services.setVisibility(request.caller, request.params.id, request.params.name, request.body.visibility, request.ip);
      return reply.code(204).send();
    },
  );
}
