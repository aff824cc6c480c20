import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { CAPABILITIES } from '../capabilities.js';
import type { AppContext } from '../context/app-context.js';
import type { Capability, CapabilityServer, RouteApp } from '../context/capability.js';
import { declareAccessForPlugin, registerAccessHook, type RouteRecord } from '../http/access.js';
import { registerOpenApi } from '../http/openapi.js';
import { registerProblemHandlers } from '../http/problem.js';
import { registerRateLimit } from '../http/rate-limit.js';
import { OgcRegistry } from '../ogc/registry.js';
import { PACKAGE_ROOT } from '../util/package-info.js';

export const PORTAL_DIST = path.join(PACKAGE_ROOT, 'portal', 'dist');

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the server with its declared access need (the route table). */
    routeTable: readonly RouteRecord[];
  }
}

/**
 * The server: Fastify with zod schemas, the problem/OWS error handlers, the access hook, then each
 * capability of `CAPABILITIES` in order, then the portal's static files. Nothing here knows what a
 * capability does.
 */
export async function buildServer(ctx: AppContext, options: { logger?: boolean; capabilities?: readonly Capability[] } = {}): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast only bridges two declarations of one type.
    ...(options.logger === false ? { logger: false } : { loggerInstance: ctx.log as FastifyBaseLogger }),
    // Ids are short and sortable in logs; clients may pass their own for tracing.
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Only the configured proxies may tell the client's address (API-key CIDRs, per-IP rate limits).
    trustProxy: ctx.config.trustProxy,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Rate limits hook every route added after them, and run after the access step (see the module).
  const limitNotFound = await registerRateLimit(app, ctx.config.rateLimit);
  registerProblemHandlers(app, limitNotFound);
  const routes: RouteRecord[] = [];
  app.decorate('routeTable', routes);
  // Session cookies are read by the access step (http/access.ts), set by the accounts capability.
  await app.register(fastifyCookie);
  registerAccessHook(app, ctx.access, routes);
  // Before the capabilities: the OpenAPI document collects routes as they are added.
  await registerOpenApi(app);

  const ogc = new OgcRegistry();
  const starters: Array<() => (() => Promise<void>) | void> = [];
  const stops: Array<() => Promise<void>> = [];
  const server: CapabilityServer = {
    app: app.withTypeProvider() as unknown as RouteApp,
    ogc,
    onListen: (start) => starters.push(start),
    onClose: (fn) => void app.addHook('onClose', async () => fn()),
  };
  for (const capability of options.capabilities ?? CAPABILITIES) await capability.http?.(server, ctx);
  // Background work runs only in a listening server (pcrs serve), never under app.inject() in tests.
  app.addHook('onListen', async () => {
    for (const start of starters) {
      const stop = start();
      if (stop) stops.push(stop);
    }
  });
  app.addHook('onClose', async () => {
    await Promise.all(stops.map((stop) => stop()));
  });

  if (existsSync(path.join(PORTAL_DIST, 'index.html'))) {
    await app.register(async (portal) => {
      declareAccessForPlugin(portal, 'public');
      portal.addHook('onRoute', (route) => void (route.config = { ...(route.config ?? {}), usage: 'portal' }));
      await portal.register(fastifyStatic, { root: PORTAL_DIST, prefix: '/', wildcard: false, index: ['index.html'] });
    });
  } else {
    app.log.warn('portal not built (portal/dist missing): run npm run build');
  }
  return app;
}
