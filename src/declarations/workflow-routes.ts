import type { FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccessNeed, Caller } from '../context/access.js';
import type { CapabilityServer } from '../context/capability.js';
import { baseUrl } from '../http/base-url.js';
import { rateLimitKey } from '../http/rate-limit.js';
import { UserError } from '../util/errors.js';
import { AnonymousDeclarations, CONFIRM_HOURS } from './anonymous.js';
import { bulkTriage, MAX_BULK_IDS } from './bulk.js';
import { STATUSES, toLambert93 } from './model.js';
import { geometry, idParams, out, text } from './routes.js';
import { toWgs84, type DeclarationService, type Origin } from './service.js';

/**
 * The declarations workflow routes (issue 11): subscriptions to a declaration and to areas,
 * one-click unsubscribe links, anonymous error declarations confirmed by e-mail, and bulk triage.
 */

const tags = ['declarations'];
const WRITE: AccessNeed = { signedIn: true, scope: 'declarations:write' };
const READ: AccessNeed = { signedIn: true };
const MODERATE: AccessNeed = { roles: ['moderator', 'platform-admin'], scope: 'declarations:write' };

const polygon = z.strictObject({
  type: z.literal('Polygon'),
  coordinates: z.array(z.array(z.array(z.number().finite()).min(2).max(3)).min(4).max(5000)).min(1).max(100),
});
// Not strict: a mail gateway that appends its own parameters to links must not break them.
const unsubscribeQuery = z.object({ token: z.string().min(1).max(200) });
const positiveId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** The user a subscription belongs to: the caller's (API keys act for their user). */
function userOf(caller: Caller): number {
  if (caller.userId === undefined) throw new UserError('not-a-user', 'Subscriptions belong to users: sign in, or use a key of a user.', { status: 400 });
  return caller.userId;
}

const unsubscribedPage = (kind: 'd' | 'a') => `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Désabonnement / Unsubscribed</title></head>
<body><main>
<h1>Désabonnement enregistré</h1><p>Vous ne recevrez plus de messages sur ${kind === 'd' ? 'cette déclaration' : 'les déclarations de cette zone'}.</p>
<h1 lang="en">Unsubscribed</h1><p lang="en">You will no longer receive messages about ${kind === 'd' ? 'this declaration' : 'declarations in this area'}.</p>
</main></body></html>
`;

export function registerWorkflowRoutes(server: CapabilityServer, service: DeclarationService): void {
  const app = server.app;
  const config = service.ctx.config;
  const followers = service.followers;
  const anonymous = new AnonymousDeclarations(service);
  const origin = (request: FastifyRequest): Origin => ({ base: baseUrl(request, config), ip: request.ip });
  server.onListen(() => anonymous.startPurge(service.ctx.log));

  app.put(
    '/api/v1/declarations/:id/subscription',
    { config: { access: WRITE }, schema: { tags, summary: 'Follow a declaration: an e-mail on each of its changes (each with an unsubscribe link)', params: idParams } },
    async (request) => {
      const userId = userOf(request.caller);
      const d = await service.store.get(request.params.id);
      if (!d) throw new UserError('not-found', `There is no declaration ${request.params.id}.`, { status: 404 });
      await followers.subscribe(service.ctx.db, d.id, userId);
      return { declarationId: d.id, subscribed: true };
    },
  );

  app.delete(
    '/api/v1/declarations/:id/subscription',
    { config: { access: WRITE }, schema: { tags, summary: 'Stop following a declaration', params: idParams } },
    async (request) => {
      const userId = userOf(request.caller);
      if (!(await service.store.get(request.params.id))) throw new UserError('not-found', `There is no declaration ${request.params.id}.`, { status: 404 });
      await followers.unsubscribe(request.params.id, userId);
      return { declarationId: request.params.id, subscribed: false };
    },
  );

  const areaOut = (a: Awaited<ReturnType<typeof followers.areas>>[number]) => ({ id: a.id, name: a.name, geometry: toWgs84(a.geometry), geometryLambert93: a.geometry, createdAt: a.createdAt });

  app.get('/api/v1/declarations/area-subscriptions', { config: { access: READ }, schema: { tags, summary: 'The areas the caller follows' } }, async (request) => ({
    areas: (await followers.areas(userOf(request.caller))).map(areaOut),
  }));

  app.post(
    '/api/v1/declarations/area-subscriptions',
    {
      config: { access: WRITE },
      schema: {
        tags,
        summary: 'Follow an area (a GeoJSON Polygon in WGS84, inside the territory): an e-mail for each new declaration there and each change of one',
        body: z.strictObject({ name: text(100), geometry: polygon }),
      },
    },
    async (request, reply) => {
      const userId = userOf(request.caller);
      const geometryL93 = toLambert93(request.body.geometry, config.territory.extent);
      const validity = await service.store.validity(geometryL93);
      if (!validity.valid) throw new UserError('invalid-geometry', `The area is not a valid polygon: ${validity.reason}.`, { status: 400, hint: 'A polygon must not cross itself; rings must be closed.' });
      const area = await followers.addArea(userId, request.body.name, geometryL93);
      return reply.code(201).header('location', `/api/v1/declarations/area-subscriptions/${area.id}`).send(areaOut(area));
    },
  );

  app.delete(
    '/api/v1/declarations/area-subscriptions/:id',
    { config: { access: WRITE }, schema: { tags, summary: 'Stop following an area', params: idParams } },
    async (request, reply) => {
      await followers.removeArea(userOf(request.caller), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/declarations/unsubscribe',
    { config: { access: 'public' }, schema: { tags, summary: 'One-click unsubscribe (the link of every declarations e-mail): HTML for a browser, else JSON', querystring: unsubscribeQuery } },
    async (request, reply) => {
      const done = await followers.unsubscribeByToken(request.query.token);
      if (/\btext\/html\b/.test(request.headers.accept ?? '')) return reply.type('text/html; charset=utf-8').send(unsubscribedPage(done.kind));
      return { unsubscribed: true, subscription: done.kind === 'd' ? 'declaration' : 'area' };
    },
  );

  // RFC 8058: mail clients POST "List-Unsubscribe=One-Click" (form-encoded) to the same URL.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/api/v1/declarations/unsubscribe',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: 'One-click unsubscribe (RFC 8058 List-Unsubscribe-Post): the token in the query, body List-Unsubscribe=One-Click or none',
          querystring: unsubscribeQuery,
          body: z.union([z.strictObject({ 'List-Unsubscribe': z.literal('One-Click') }), z.strictObject({})]).nullish(),
        },
      },
      async (request) => {
        const done = await followers.unsubscribeByToken(request.query.token);
        return { unsubscribed: true, subscription: done.kind === 'd' ? 'declaration' : 'area' };
      },
    );
  });

  app.post(
    '/api/v1/declarations/anonymous',
    {
      config: {
        access: 'public',
        // Tight, per IP, counted apart from the global budget (http/rate-limit.ts): a robot cannot flood mailboxes.
        rateLimit: {
          max: config.declarations.anonymousPerHour,
          timeWindow: 3_600_000,
          keyGenerator: rateLimitKey,
          errorResponseBuilder: (_request, context) =>
            new UserError('rate-limited', `Too many anonymous declarations from your address: ${context.max} per hour; retry in ${Math.max(1, Math.ceil(context.ttl / 1000))} s.`, {
              status: 429,
              hint: 'Sign in to declare without this limit.',
            }),
        },
      },
      schema: {
        tags,
        summary: `Declare an error without an account (when declarations.anonymous is on): 202, then a confirmation link by e-mail (valid ${CONFIRM_HOURS} h); the declaration exists once confirmed`,
        body: z.strictObject({
          type: z.literal('error', { error: 'anonymous declarations are of type error only: sign in for the others' }),
          title: text(200),
          description: text(10000),
          geometry,
          email: z.email().max(254),
          website: z.string().max(2000).optional(),
        }),
      },
    },
    async (request, reply) => {
      await anonymous.submit(request.body, origin(request));
      return reply.code(202).send({
        status: 'pending-confirmation',
        message: `Un e-mail de confirmation a été envoyé ; la déclaration sera enregistrée quand son lien sera ouvert (dans les ${CONFIRM_HOURS} h). / A confirmation e-mail was sent; the declaration is recorded once its link is opened (within ${CONFIRM_HOURS} h).`,
      });
    },
  );

  app.post(
    '/api/v1/declarations/anonymous/confirm',
    { config: { access: 'public' }, schema: { tags, summary: 'Confirm an anonymous declaration with the token of its e-mail link: 201 with the declaration (200 when already confirmed)', body: z.strictObject({ token: z.string().min(1).max(200) }) } },
    async (request, reply) => {
      const { declaration: d, created } = await anonymous.confirm(request.body.token, origin(request));
      return reply.code(created ? 201 : 200).send({ ...out(d), actions: d.actions, dalles: d.dalles });
    },
  );

  app.post(
    '/api/v1/declarations/bulk',
    {
      config: { access: MODERATE },
      schema: {
        tags,
        summary: `Bulk triage (moderators): a status change, an assignment and/or a comment on up to ${MAX_BULK_IDS} declarations, each with its own result`,
        body: z.strictObject({
          ids: z.array(positiveId).min(1).max(MAX_BULK_IDS),
          status: z.strictObject({ status: z.enum(STATUSES), reason: text(10000).optional(), duplicateOf: positiveId.optional() }).optional(),
          assign: z.strictObject({ userId: positiveId.nullable().optional(), organisation: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be an organisation slug').nullable().optional() }).optional(),
          comment: text(10000).optional(),
        }),
      },
    },
    async (request) => ({ results: await bulkTriage(service, request.caller, request.body, origin(request), service.ctx.log) }),
  );
}
