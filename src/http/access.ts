import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { ANONYMOUS, requireNeed, type AccessNeed, type AccessPolicy, type Caller, type Credentials } from '../context/access.js';
import { UserError } from '../util/errors.js';

/** Name of the session cookie (HttpOnly, SameSite=Lax, Secure unless configured off). */
export const SESSION_COOKIE = 'pcrs_session';

/**
 * The one access step of the server: an `onRequest` hook works out who the caller is (from the
 * request's credentials, through the context's AccessPolicy) and checks the need the route
 * declared in `config.access`. Handlers read `request.caller` and ask the policy about the
 * resources they answer with (`ctx.access.checkRead(request.caller, …)`).
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs; every route declares it (the server refuses one that does not). */
    access?: AccessNeed;
    /** OGC service whose exception format errors of this route take (else problem+json). */
    ows?: 'wms' | 'wmts' | 'wfs' | 'csw';
  }
  interface FastifyRequest {
    /** Who sends the request (anonymous when no credential was presented). */
    caller: Caller;
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/**
 * Credentials of a request. API keys come as `Authorization: Bearer`, an `apikey` header, or the
 * `apikey` query parameter (Géoplateforme convention, what QGIS users paste into URLs).
 */
export function credentialsOf(request: FastifyRequest): Credentials {
  const out: Credentials = { ip: request.ip };
  const auth = firstHeader(request.headers.authorization);
  const q = request.query as Record<string, unknown> | undefined;
  const fromQuery = q?.apikey ?? q?.APIKEY ?? q?.ApiKey;
  const key = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : (firstHeader(request.headers.apikey) ?? (typeof fromQuery === 'string' ? fromQuery : undefined));
  if (key) out.apiKey = key;
  const referer = firstHeader(request.headers.referer);
  if (referer !== undefined) out.referer = referer;
  const session = request.cookies?.[SESSION_COOKIE];
  if (session) out.session = session;
  const csrf = firstHeader(request.headers['x-csrf-token']);
  if (csrf !== undefined) out.csrfToken = csrf;
  return out;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cookies ride along with cross-site requests; keys and bearer tokens do not. A write made with a
 * session cookie must therefore carry the session's synchronizer token (X-CSRF-Token), which a
 * foreign page cannot read.
 */
export function checkCsrf(method: string, caller: Caller, credentials: Credentials): void {
  if (SAFE_METHODS.has(method) || !caller.session) return;
  const given = Buffer.from(credentials.csrfToken ?? '');
  const expected = Buffer.from(caller.session.csrfToken);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new UserError('csrf', 'This write comes with a session cookie but without its X-CSRF-Token header.', {
      status: 403,
      hint: 'Send the csrfToken of GET /api/v1/auth/session as the X-CSRF-Token header, or use an API key.',
    });
  }
}

/** Routes a plugin adds (static files, API docs) get this need unless they declare one. */
export function declareAccessForPlugin(app: FastifyInstance, need: AccessNeed): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    route.config = { ...(route.config ?? {}), access: route.config?.access ?? need };
  });
}

/** One route of the server and the access need it declared. */
export interface RouteRecord {
  method: string;
  url: string;
  access: AccessNeed | undefined;
}

/**
 * Installs the access step and keeps the route table. A route that declares no access need stops
 * the server at start (`ready()`), naming the route: nobody can add an endpoint without saying who
 * may call it.
 */
export function registerAccessHook(app: FastifyInstance, policy: AccessPolicy, table: RouteRecord[]): void {
  const seen: RouteOptions[] = [];
  app.decorateRequest('caller', null as unknown as Caller);
  // Plugins' own hooks may still declare a need after this one ran: read the config at ready time.
  app.addHook('onRoute', (route: RouteOptions) => void seen.push(route));
  app.addHook('onReady', async () => {
    table.length = 0;
    for (const route of seen) {
      for (const method of Array.isArray(route.method) ? route.method : [route.method]) table.push({ method, url: route.url, access: route.config?.access });
    }
    const undeclared = table.filter((r) => r.access === undefined);
    if (undeclared.length > 0) {
      throw new Error(`Routes without an access need (config.access): ${undeclared.map((r) => `${r.method} ${r.url}`).join(', ')}. Say who may call them.`);
    }
  });
  app.addHook('onRequest', async (request) => {
    request.caller = ANONYMOUS;
    const credentials = credentialsOf(request);
    request.caller = await policy.identify(credentials);
    checkCsrf(request.method, request.caller, credentials);
    // Unmatched URLs (404) have no route config: nothing to check.
    requireNeed(request.caller, request.routeOptions.config?.access ?? 'public');
  });
}
