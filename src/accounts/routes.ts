import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessNeed } from '../context/access.js';
import type { RouteApp } from '../context/capability.js';
import { baseUrl } from '../http/base-url.js';
import { SESSION_COOKIE } from '../http/access.js';
import { UserError } from '../util/errors.js';
import { OIDC_STATE_COOKIE, OIDC_STATE_SECONDS, type OidcSignin } from './oidc.js';
import { PASSWORD_MAX, PASSWORD_MIN } from './passwords.js';
import { LockedError, type AccountService, type Origin } from './service.js';
import type { NewSession } from './sessions.js';
import { LANGUAGES, ORG_KINDS, ORG_ROLES, PLATFORM_ROLES, type NewOrganisation } from './store.js';

/**
 * The accounts API under /api/v1: sign-up, verification, sign-in/out, password reset, OpenID
 * Connect, profile, organisations, memberships, users and the audit log. Bodies are strict
 * objects (an unknown field — `roles`, `platformRoles` on /me — is a 400: no mass assignment).
 */

const tags = ['accounts'];
const PUBLIC: AccessNeed = 'public';
const SIGNED_IN: AccessNeed = { signedIn: true };
/** Admin acts: any signed-in caller (the handler checks the organisation), keys need the admin scope. */
const ADMINISTERING: AccessNeed = { signedIn: true, scope: 'admin' };
const PLATFORM_ADMIN: AccessNeed = { roles: ['platform-admin'], scope: 'admin' };

const email = z.string().trim().max(254).pipe(z.email());
const password = z.string().min(PASSWORD_MIN).max(PASSWORD_MAX);
const displayName = z.string().trim().min(1).max(200);
const token = z.string().min(1).max(200);
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes');
const slugParams = z.strictObject({ slug });
const memberParams = z.strictObject({ slug, userId: z.coerce.number().int().positive().max(2 ** 53) });
const domain = z.string().trim().toLowerCase().regex(/^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/, 'an e-mail domain such as cahors.fr');
const position = z.array(z.number()).min(2).max(3);
const ring = z.array(position).min(4);
const area = z.strictObject({
  type: z.enum(['Polygon', 'MultiPolygon']),
  coordinates: z.union([z.array(ring).min(1), z.array(z.array(ring).min(1)).min(1)]),
  crs: z.strictObject({ type: z.literal('name'), properties: z.strictObject({ name: z.string().max(100) }) }).optional(),
});
const orgFields = {
  name: z.string().trim().min(1).max(200),
  kind: z.enum(ORG_KINDS),
  siren: z.string().regex(/^[0-9]{9}$/, '9 digits').nullable().optional(),
  insee: z.string().regex(/^([0-9]{5}|2[AB][0-9]{3}|[0-9]{9})$/, 'a commune INSEE code (5 characters) or an EPCI SIREN (9 digits)').nullable().optional(),
  emailDomains: z.array(domain).max(50).optional(),
  area: area.nullable().optional(),
};

function areaOf(a: z.infer<typeof area> | null | undefined): NewOrganisation['area'] | undefined {
  if (a === undefined) return undefined;
  if (a === null) return null;
  const name = a.crs?.properties.name ?? 'EPSG:4326';
  let srid: 4326 | 2154;
  if (/(^|[^0-9])2154$/.test(name)) srid = 2154;
  else if (/(^|[^0-9])(4326|CRS84)$/.test(name)) srid = 4326;
  else throw new UserError('invalid-area', `Unsupported CRS '${name}' for the area: use WGS84 (no crs) or EPSG:2154.`, { status: 400 });
  return { geojson: JSON.stringify({ type: a.type, coordinates: a.coordinates }), srid };
}

const message = z.object({ message: z.string() });
const callbackParam = z.string().max(4096).optional();
/** What a provider sends back (others pass through: openid-client reads the whole URL). */
const callbackQuery = z.object({ code: callbackParam, state: callbackParam, iss: callbackParam, session_state: callbackParam, error: callbackParam, error_description: callbackParam });

export interface AccountsRoutesOptions {
  service: AccountService;
  oidc: OidcSignin | undefined;
}

export function registerAccountRoutes(app: RouteApp, { service, oidc }: AccountsRoutesOptions): void {
  const { config } = service.ctx;
  const origin = (request: FastifyRequest): Origin => ({ base: baseUrl(request, config), ip: request.ip, userAgent: request.headers['user-agent'] });
  const cookieOptions = (maxAgeSeconds: number) => ({ httpOnly: true, sameSite: 'lax' as const, secure: config.auth.cookieSecure, path: '/', maxAge: maxAgeSeconds });
  const setSessionCookie = (reply: FastifyReply, session: NewSession) => reply.setCookie(SESSION_COOKIE, session.token, cookieOptions(config.auth.sessionTtlHours * 3600));
  const clearSessionCookie = (reply: FastifyReply) => reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: config.auth.cookieSecure });
  const userIdOf = (request: FastifyRequest): number => {
    const id = request.caller.userId;
    if (id === undefined) throw new UserError('forbidden', 'This needs a user account.', { status: 403 });
    return id;
  };

  // ---------------------------------------------------------------- session and sign-in

  app.get('/api/v1/auth/session', { config: { access: PUBLIC }, schema: { tags, summary: 'Who is signed in, the CSRF token of the session, and how one signs in here' } }, async (request, reply) => {
    const caller = request.caller;
    const user = caller.userId !== undefined ? await service.me(caller.userId) : null;
    // The session slides on the server; refresh the cookie's life with it.
    const cookie = request.cookies[SESSION_COOKIE];
    if (caller.session && cookie) reply.setCookie(SESSION_COOKIE, cookie, cookieOptions(config.auth.sessionTtlHours * 3600));
    return reply.header('cache-control', 'no-store').send({ user, csrfToken: caller.session?.csrfToken ?? null, signup: config.auth.signup, oidc: oidc ? { label: oidc.label } : null });
  });

  app.post(
    '/api/v1/auth/signup',
    { config: { access: PUBLIC }, schema: { tags, summary: 'Create an account; a verification link is e-mailed (same answer whether the address exists)', body: z.strictObject({ email, password, displayName, language: z.enum(LANGUAGES).optional() }), response: { 202: message } } },
    async (request, reply) => {
      await service.signup(request.body, origin(request));
      return reply.code(202).send({ message: 'Si cette adresse peut être utilisée, un e-mail de confirmation vient d’y être envoyé. / If this address can be used, a confirmation e-mail was just sent to it.' });
    },
  );

  app.post('/api/v1/auth/verify', { config: { access: PUBLIC }, schema: { tags, summary: 'Confirm an e-mail address with the token of the link', body: z.strictObject({ token }), response: { 200: message } } }, async (request) => {
    await service.verify(request.body.token);
    return { message: 'Adresse confirmée : vous pouvez vous connecter. / Address confirmed: you can sign in.' };
  });

  app.post(
    '/api/v1/auth/signin',
    { config: { access: PUBLIC }, schema: { tags, summary: 'Sign in with e-mail and password: sets the session cookie', body: z.strictObject({ email: z.string().max(254), password: z.string().max(PASSWORD_MAX) }) } },
    async (request, reply) => {
      try {
        const previous = request.cookies[SESSION_COOKIE];
        const { user, session } = await service.signin(request.body, origin(request));
        if (previous) await service.signout(previous, request.ip);
        setSessionCookie(reply, session);
        return reply.header('cache-control', 'no-store').send({ user: await service.me(user.id), csrfToken: session.csrfToken });
      } catch (e) {
        if (e instanceof LockedError) reply.header('retry-after', String(e.retryAfterSeconds));
        throw e;
      }
    },
  );

  app.post('/api/v1/auth/signout', { config: { access: PUBLIC }, schema: { tags, summary: 'End this session (clears the cookie)' } }, async (request, reply) => {
    await service.signout(request.cookies[SESSION_COOKIE], request.ip);
    clearSessionCookie(reply);
    return reply.code(204).send();
  });

  app.post('/api/v1/auth/signout-everywhere', { config: { access: SIGNED_IN }, schema: { tags, summary: 'End every session of the signed-in user' } }, async (request, reply) => {
    await service.signoutEverywhere(request.caller, request.ip);
    clearSessionCookie(reply);
    return reply.code(204).send();
  });

  app.post(
    '/api/v1/auth/password/forgot',
    { config: { access: PUBLIC }, schema: { tags, summary: 'E-mail a password reset link (same answer whether the address exists)', body: z.strictObject({ email }), response: { 202: message } } },
    async (request, reply) => {
      await service.forgot(request.body.email, origin(request));
      return reply.code(202).send({ message: 'Si un compte utilise cette adresse, un lien de réinitialisation vient d’y être envoyé. / If an account uses this address, a reset link was just sent to it.' });
    },
  );

  app.post('/api/v1/auth/password/reset', { config: { access: PUBLIC }, schema: { tags, summary: 'Choose a new password with the token of the link (ends every session)', body: z.strictObject({ token, password }), response: { 200: message } } }, async (request) => {
    await service.reset(request.body.token, request.body.password, origin(request));
    return { message: 'Mot de passe changé : vous pouvez vous connecter. / Password changed: you can sign in.' };
  });

  // ---------------------------------------------------------------- OpenID Connect

  const oidcCookiePath = '/api/v1/auth/oidc';
  app.get('/api/v1/auth/oidc/start', { config: { access: PUBLIC }, schema: { tags, summary: 'Sign in with the configured OpenID Connect provider (redirects to it)' } }, async (request, reply) => {
    if (!oidc) throw new UserError('oidc-not-configured', 'No OpenID Connect provider is configured here.', { status: 404 });
    const { url, cookie } = await oidc.start(`${baseUrl(request, config)}/api/v1/auth/oidc/callback`);
    reply.setCookie(OIDC_STATE_COOKIE, cookie, { ...cookieOptions(OIDC_STATE_SECONDS), path: oidcCookiePath });
    return reply.header('cache-control', 'no-store').redirect(url, 302);
  });

  app.get(
    '/api/v1/auth/oidc/callback',
    { config: { access: PUBLIC }, schema: { tags, summary: 'Where the provider sends the user back: opens a session, redirects to the portal', querystring: callbackQuery } },
    async (request, reply) => {
      if (!oidc) throw new UserError('oidc-not-configured', 'No OpenID Connect provider is configured here.', { status: 404 });
      const base = baseUrl(request, config);
      reply.clearCookie(OIDC_STATE_COOKIE, { path: oidcCookiePath });
      try {
        // base + path (publicUrl may have a path prefix, which new URL(path, base) would drop).
        const { session } = await oidc.callback(new URL(`${base}${request.url}`), request.cookies[OIDC_STATE_COOKIE], origin(request));
        setSessionCookie(reply, session);
        return reply.header('cache-control', 'no-store').redirect(`${base}/#/compte`, 302);
      } catch (e) {
        const code = e instanceof UserError ? e.code : 'oidc-failed';
        request.log.warn({ err: e instanceof Error ? e.message : String(e), code }, 'OpenID Connect sign-in refused');
        return reply.header('cache-control', 'no-store').redirect(`${base}/#/connexion?erreur=${encodeURIComponent(code)}`, 302);
      }
    },
  );

  // ---------------------------------------------------------------- profile

  app.get('/api/v1/me', { config: { access: SIGNED_IN }, schema: { tags, summary: 'The signed-in user, its roles and organisations' } }, async (request) => service.me(userIdOf(request)));

  app.patch(
    '/api/v1/me',
    {
      config: { access: SIGNED_IN },
      schema: { tags, summary: 'Change one’s display name, language or password (roles only through admin routes)', body: z.strictObject({ displayName: displayName.optional(), language: z.enum(LANGUAGES).optional(), password: z.strictObject({ current: z.string().max(PASSWORD_MAX), new: password }).optional() }) },
    },
    async (request) => service.updateMe(request.caller, request.body, origin(request)),
  );

  // ---------------------------------------------------------------- organisations and members

  app.get('/api/v1/organisations', { config: { access: SIGNED_IN }, schema: { tags, summary: 'Organisations (suggested: true when the user’s e-mail domain is one of theirs)' } }, async (request) => service.listOrganisations(request.caller));

  app.post(
    '/api/v1/organisations',
    { config: { access: PLATFORM_ADMIN }, schema: { tags, summary: 'Create an organisation (platform admin)', body: z.strictObject({ slug, ...orgFields }) } },
    async (request, reply) => {
      const { area: a, ...rest } = request.body;
      const areaValue = areaOf(a);
      const org = await service.createOrganisation(request.caller, { ...rest, ...(areaValue ? { area: areaValue } : {}) }, request.ip);
      return reply.code(201).header('location', `/api/v1/organisations/${org.slug}`).send(org);
    },
  );

  app.get('/api/v1/organisations/:slug', { config: { access: SIGNED_IN }, schema: { tags, summary: 'One organisation', params: slugParams } }, async (request) => service.getOrganisation(request.params.slug));

  app.patch(
    '/api/v1/organisations/:slug',
    { config: { access: ADMINISTERING }, schema: { tags, summary: 'Change an organisation (its org-admins, platform admins)', params: slugParams, body: z.strictObject({ ...orgFields, name: orgFields.name.optional(), kind: orgFields.kind.optional() }) } },
    async (request) => {
      const { area: a, ...rest } = request.body;
      const areaValue = areaOf(a);
      return service.updateOrganisation(request.caller, request.params.slug, { ...rest, ...(areaValue !== undefined ? { area: areaValue } : {}) }, request.ip);
    },
  );

  app.post(
    '/api/v1/organisations/:slug/membership-requests',
    { config: { access: SIGNED_IN }, schema: { tags, summary: 'Ask to join an organisation (its admins are e-mailed)', params: slugParams, body: z.strictObject({ message: z.string().trim().max(2000).optional() }).nullable().optional() } },
    async (request, reply) => {
      await service.requestMembership(request.caller, request.params.slug, request.body?.message, origin(request));
      return reply.code(201).send({ message: 'Demande envoyée. / Request sent.' });
    },
  );

  app.get('/api/v1/organisations/:slug/members', { config: { access: ADMINISTERING }, schema: { tags, summary: 'Members and pending requests (its org-admins, platform admins)', params: slugParams } }, async (request) => {
    const members = await service.members(request.caller, request.params.slug);
    return members.map((m) => ({ userId: m.userId, email: m.email, displayName: m.displayName, role: m.role, status: m.status, message: m.message, requestedAt: m.requestedAt, decidedAt: m.decidedAt }));
  });

  app.post(
    '/api/v1/organisations/:slug/members/:userId/decision',
    { config: { access: ADMINISTERING }, schema: { tags, summary: 'Accept or refuse a membership request (the user is e-mailed)', params: memberParams, body: z.strictObject({ decision: z.enum(['accept', 'refuse']), role: z.enum(ORG_ROLES).optional() }) } },
    async (request) => service.decide(request.caller, request.params.slug, request.params.userId, request.body, origin(request)),
  );

  app.patch(
    '/api/v1/organisations/:slug/members/:userId',
    { config: { access: ADMINISTERING }, schema: { tags, summary: 'Change a member’s role', params: memberParams, body: z.strictObject({ role: z.enum(ORG_ROLES) }) } },
    async (request) => service.setMemberRole(request.caller, request.params.slug, request.params.userId, request.body.role, request.ip),
  );

  app.delete('/api/v1/organisations/:slug/members/:userId', { config: { access: SIGNED_IN }, schema: { tags, summary: 'Remove a member (or leave the organisation)', params: memberParams } }, async (request, reply) => {
    await service.removeMember(request.caller, request.params.slug, request.params.userId, request.ip);
    return reply.code(204).send();
  });

  // ---------------------------------------------------------------- users and audit (platform admins)

  app.get('/api/v1/users', { config: { access: PLATFORM_ADMIN }, schema: { tags, summary: 'Every user with roles and organisations (platform admin)' } }, async () => {
    const users = await service.listUsers();
    return users.map(({ passwordHash, oidcSubject, ...u }) => ({ ...u, hasPassword: passwordHash !== null, oidc: oidcSubject !== null }));
  });

  app.patch(
    '/api/v1/users/:id',
    { config: { access: PLATFORM_ADMIN }, schema: { tags, summary: 'Set a user’s platform roles, disable or enable it (platform admin)', params: z.strictObject({ id: z.coerce.number().int().positive().max(2 ** 53) }), body: z.strictObject({ platformRoles: z.array(z.enum(PLATFORM_ROLES)).max(3).optional(), disabled: z.boolean().optional() }) } },
    async (request) => {
      const { passwordHash, oidcSubject, ...u } = await service.patchUser(request.caller, request.params.id, request.body, request.ip);
      return { ...u, hasPassword: passwordHash !== null, oidc: oidcSubject !== null };
    },
  );

  app.get(
    '/api/v1/audit',
    {
      config: { access: PLATFORM_ADMIN },
      schema: {
        tags,
        summary: 'The audit log by actor, action (or prefix ending with a dot) and period, newest first (platform admin)',
        querystring: z.strictObject({
          actor: z.coerce.number().int().positive().max(2 ** 53).optional(),
          action: z.string().regex(/^[a-z][a-z.-]{0,63}$/, 'an action such as auth.signin, or a prefix such as auth.').optional(),
          from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
          to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
          before: z.coerce.number().int().positive().max(2 ** 53).optional(),
          limit: z.coerce.number().int().min(1).max(1000).optional(),
        }),
      },
    },
    async (request) => {
      const q = request.query;
      return service.ctx.audit.query({
        ...(q.actor !== undefined ? { actorUserId: q.actor } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.from !== undefined ? { from: new Date(q.from) } : {}),
        ...(q.to !== undefined ? { to: new Date(q.to) } : {}),
        ...(q.before !== undefined ? { before: q.before } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      });
    },
  );
}
