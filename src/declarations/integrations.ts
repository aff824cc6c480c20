import { z } from 'zod';
import type { AccessNeed } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import type { CapabilityServer } from '../context/capability.js';
import { registerFeedRoutes } from './feed.js';
import { registerOgcCollection } from './ogc.js';
import type { DeclarationService } from './service.js';
import { registerStatsRoutes } from './stats.js';
import { EVENT_TYPES, WebhookService } from './webhooks.js';

/**
 * What lets other software follow the declarations: the Atom feed (feed.ts), webhooks (here and
 * webhooks.ts, their delivery loop started when the server listens), the OGC API Features
 * collection (ogc.ts), and the statistics (stats.ts).
 */

const tags = ['declarations'];
/** Webhooks are the moderators' (and platform admins'). */
const MANAGE: AccessNeed = { roles: ['moderator', 'platform-admin'], scope: 'declarations:write' };
const idParams = z.strictObject({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

export function registerIntegrations(server: CapabilityServer, ctx: AppContext, service: DeclarationService): void {
  const { app } = server;
  registerFeedRoutes(app, ctx, service);
  registerStatsRoutes(app, ctx);
  registerOgcCollection(app, server.ogc, ctx);

  const webhooks = new WebhookService(ctx, service);
  server.onListen(() => webhooks.startLoop());

  app.post(
    '/api/v1/declarations/webhooks',
    {
      config: { access: MANAGE },
      schema: {
        tags,
        summary: 'Register a webhook (moderators): every action is POSTed to the URL, signed (X-PCRS-Signature: sha256=HMAC of "<timestamp>.<body>"); the secret is in this answer only',
        body: z.strictObject({
          url: z.string().trim().min(1).max(2000),
          events: z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length).optional(),
        }),
      },
    },
    async (request, reply) => {
      const created = await webhooks.create(request.caller, request.body, request.ip);
      return reply.code(201).header('cache-control', 'no-store').header('location', `/api/v1/declarations/webhooks/${created.id}`).send(created);
    },
  );

  app.get('/api/v1/declarations/webhooks', { config: { access: MANAGE }, schema: { tags, summary: 'The webhooks (moderators), with their state, cursor and last error; never their secrets' } }, async () => ({
    webhooks: await webhooks.list(),
  }));

  app.get('/api/v1/declarations/webhooks/:id', { config: { access: MANAGE }, schema: { tags, summary: 'One webhook (moderators)', params: idParams } }, async (request) => webhooks.get(request.params.id));

  app.delete('/api/v1/declarations/webhooks/:id', { config: { access: MANAGE }, schema: { tags, summary: 'Delete a webhook and its delivery log (moderators)', params: idParams } }, async (request, reply) => {
    await webhooks.delete(request.caller, request.params.id, request.ip);
    return reply.code(204).send();
  });

  app.post(
    '/api/v1/declarations/webhooks/:id/resume',
    { config: { access: MANAGE }, schema: { tags, summary: 'Resume a failing (paused) webhook: the event it failed at is tried again, nothing is skipped (moderators)', params: idParams } },
    async (request) => webhooks.resume(request.caller, request.params.id, request.ip),
  );

  app.get(
    '/api/v1/declarations/webhooks/:id/deliveries',
    {
      config: { access: MANAGE },
      schema: {
        tags,
        summary: 'The delivery log of a webhook, newest first: event id, attempt, HTTP status or error, duration, time, next retry (moderators)',
        params: idParams,
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100), before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional() }),
      },
    },
    async (request) => ({ deliveries: await webhooks.deliveries(request.params.id, request.query) }),
  );
}
