import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import { OgcServiceError } from '../ogc/ows-exception.js';
import { UserError } from '../util/errors.js';

/**
 * Rate limits (issue 10): a budget per caller and per minute, counted over every route together.
 *
 * - Authenticated callers (API key, session, operator) are counted by their identity (`key:7`,
 *   `user:12`), whatever IP they come from, against `rateLimit.authenticatedPerMinute`.
 * - Anonymous callers are counted by IP (`ip:203.0.113.9`; an IPv6 address by its /64) against the
 *   lower `rateLimit.anonymousPerMinute`.
 * - Counters live in Redis when `rateLimit.redisUrl` (PCRS_REDIS_URL) is set, so every node of a
 *   cluster shares them; otherwise each process counts on its own.
 * - Over the budget: 429 with `Retry-After` (seconds), as problem+json on the REST API and as the
 *   service's exception report on OGC routes (`config.ows`), which is what GIS clients read.
 *
 * The limiter runs as a route-level `onRequest` hook; Fastify runs route-level hooks after the
 * instance's, hence after the access step (http/access.ts) has set `request.caller`. A request the
 * access step refuses (unknown key: 401) is therefore not counted here: rejecting it is cheaper
 * than counting it, and the keys themselves are unguessable.
 */

/** The counter a request is charged to. */
export function rateLimitKey(request: FastifyRequest): string {
  const caller = request.caller;
  if (caller && caller.kind !== 'anonymous') return caller.id;
  return `ip:${normalizeIP(request.ip)}`;
}

/** Requests per minute allowed to the counter `key`. */
function budget(config: Config['rateLimit'], key: string): number {
  return key.startsWith('ip:') ? config.anonymousPerMinute : config.authenticatedPerMinute;
}

/** The error thrown over the budget; the problem handler shapes it (problem+json or OWS). */
function limitError(request: FastifyRequest, retryAfterSeconds: number, max: number): Error {
  const message = `Too many requests: ${max} per minute allowed${request.caller?.kind === 'anonymous' ? ' without an API key' : ''}; retry in ${retryAfterSeconds} s.`;
  if (request.routeOptions.config?.ows) return new OgcServiceError('NoApplicableCode', message, undefined, 429);
  return new UserError('rate-limited', message, {
    status: 429,
    hint: request.caller?.kind === 'anonymous' ? 'Wait for the Retry-After delay, or send an API key: authenticated callers have a larger budget.' : 'Wait for the Retry-After delay.',
  });
}

/**
 * Installs the rate limits on `app` (before the routes are added: the plugin hooks every route
 * added after it). Returns the handler that also limits unmatched URLs (404s), for the not-found
 * handler's `preHandler`, or undefined when rate limits are off.
 */
export async function registerRateLimit(app: FastifyInstance, config: Config['rateLimit']): Promise<preHandlerAsyncHookHandler | undefined> {
  if (!config.enabled) return undefined;
  let redis: Redis | undefined;
  if (config.redisUrl) {
    redis = new Redis(config.redisUrl, {
      // A Redis that is down must not hold every request: fail fast and let the request through
      // (skipOnError below) rather than queue it.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 1000,
      lazyConnect: true,
    });
    redis.on('error', (err: Error) => app.log.warn({ err }, 'rate limit: Redis unavailable, requests are not counted'));
    const client = redis;
    app.addHook('onReady', async () => {
      // Wait (a little) for the connection so that the first requests are counted on every node.
      await client.connect().catch((err: unknown) => app.log.warn({ err }, 'rate limit: cannot connect to Redis; requests are not counted until it answers'));
    });
    app.addHook('onClose', async () => {
      await client.quit().catch(() => client.disconnect());
    });
  }
  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: 60_000,
    keyGenerator: rateLimitKey,
    max: (_request, key) => budget(config, key),
    ...(redis ? { redis, nameSpace: 'pcrs:rate:' } : {}),
    // Counting is a service to the cluster, not a condition of serving: a Redis failure lets requests through.
    skipOnError: true,
    errorResponseBuilder: (request, context) => limitError(request, Math.max(1, Math.ceil(context.ttl / 1000)), context.max),
  });
  return app.rateLimit();
}
