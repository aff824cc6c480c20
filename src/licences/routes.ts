import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RouteApp } from '../context/capability.js';
import type { AppContext } from '../context/app-context.js';
import type { LicenceService } from './service.js';
import type { Acceptor } from './store.js';

/**
 * /api/v1/licences: the licence and the charter (texts, versions, what the caller accepted), and
 * the acceptance. A signed-in caller is recorded by user; an anonymous browser by a random cookie
 * (`pcrs_browser`, HttpOnly, a year) of which only the SHA-256 is stored.
 */

const tags = ['licences'];
export const BROWSER_COOKIE = 'pcrs_browser';
const COOKIE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const browserHash = (cookie: string) => createHash('sha256').update(cookie).digest('hex');

export function registerLicenceRoutes(app: RouteApp, ctx: AppContext, service: LicenceService): void {
  const known = (request: FastifyRequest): Acceptor | null => {
    if (request.caller.userId !== undefined) return { userId: request.caller.userId };
    const cookie = request.cookies[BROWSER_COOKIE];
    return cookie !== undefined && COOKIE_PATTERN.test(cookie) ? { browserHash: browserHash(cookie) } : null;
  };
  const browser = (request: FastifyRequest, reply: FastifyReply): Acceptor => {
    const who = known(request);
    if (who) return who;
    const cookie = randomBytes(32).toString('base64url');
    reply.setCookie(BROWSER_COOKIE, cookie, { httpOnly: true, sameSite: 'lax', secure: ctx.config.auth.cookieSecure, path: '/', maxAge: 365 * 24 * 3600 });
    return { browserHash: browserHash(cookie) };
  };

  app.get(
    '/api/v1/licences',
    { config: { access: 'public' }, schema: { tags, summary: 'The Licence Ouverte 2.0 (open data) and the usage charter (restricted data): texts, versions, and when the caller (user or browser) accepted them' } },
    async (request, reply) => reply.header('cache-control', 'no-store').send({ licences: await service.view(known(request)) }),
  );

  app.post(
    '/api/v1/licences/acceptances',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Accept the current version of the licence or of the charter (a user, or an anonymous browser by its cookie); 409 when the version is no longer the current one',
        body: z.strictObject({ licence: z.enum(['licence-ouverte', 'charter']), version: z.string().min(1).max(40) }),
      },
    },
    async (request, reply) => {
      const who = browser(request, reply);
      const accepted = await service.accept(request.caller, who, request.body.licence, request.body.version, request.ip);
      return reply.code(201).header('cache-control', 'no-store').send(accepted);
    },
  );
}
