import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessNeed } from '../context/access.js';
import type { RouteApp } from '../context/capability.js';
import { transformBbox } from '../grid/crs.js';
import { baseUrl } from '../http/base-url.js';
import { UserError } from '../util/errors.js';
import { DECLARATION_TYPES, STATUSES, THEMES, type Status } from './model.js';
import { toWgs84, type DeclarationDetail, type DeclarationService, type Origin } from './service.js';
import type { Declaration, ListFilter } from './store.js';

/**
 * /api/v1/declarations: create, read (with the action log and the dalles touched), list with
 * filters, comment, change status (moderators), assign (moderators). Bodies are strict objects:
 * the author, its organisation's membership and every "who" come from the caller. Text fields are
 * stored and answered as given, as JSON strings: HTML or script in them is text, never markup
 * (whoever displays them must escape, as the portal does).
 */

const tags = ['declarations'];
const WRITE: AccessNeed = { signedIn: true, scope: 'declarations:write' };
const READ: AccessNeed = { signedIn: true };
const MODERATE: AccessNeed = { roles: ['moderator', 'platform-admin'], scope: 'declarations:write' };

const finite = z.number().finite();
const position = z.array(finite).min(2).max(3);
const crsMember = z.strictObject({ type: z.literal('name'), properties: z.strictObject({ name: z.string().min(1).max(100) }) }).optional();
const MAX_VERTICES = 5000;
export const geometry = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('Point'), coordinates: position, crs: crsMember }),
  z.strictObject({ type: z.literal('LineString'), coordinates: z.array(position).min(2).max(MAX_VERTICES), crs: crsMember }),
  z.strictObject({ type: z.literal('Polygon'), coordinates: z.array(z.array(position).min(4).max(MAX_VERTICES)).min(1).max(100), crs: crsMember }),
]);
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD').refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString().startsWith(s), 'must be a real date');
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be an organisation slug');
export const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

const createBody = z.strictObject({
  type: z.enum(DECLARATION_TYPES),
  title: text(200),
  description: text(10000),
  geometry,
  layer: z
    .strictObject({
      dataset: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a dataset identifier'),
      version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a version name').optional(),
    })
    .nullable()
    .optional(),
  organisation: slug.optional(),
  works: z
    .strictObject({
      dtDictRef: z.string().trim().min(1).max(64).optional(),
      plannedStart: date.optional(),
      plannedEnd: date.optional(),
      themes: z.array(z.enum(THEMES, { error: `must be one of the theme codes ${THEMES.join(', ')}` })).max(THEMES.length).optional(),
    })
    .refine((w) => !w.plannedStart || !w.plannedEnd || w.plannedEnd >= w.plannedStart, { message: 'the planned end must not be before the planned start', path: ['plannedEnd'] })
    .optional(),
});

export const idParams = z.strictObject({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

const csv = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .max(200)
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.enum(values)).min(1));

const number = String.raw`-?\d+(\.\d+)?`;
export const listQuery = z.strictObject({
  bbox: z
    .string()
    .regex(new RegExp(`^${number},${number},${number},${number}$`), 'must be xmin,ymin,xmax,ymax')
    .transform((s) => s.split(',').map(Number) as [number, number, number, number])
    .refine(([a, b, c, d]) => a < c && b < d, 'must have xmin < xmax and ymin < ymax')
    .optional(),
  'bbox-crs': z.enum(['EPSG:4326', 'EPSG:2154']).optional(),
  status: csv(STATUSES).optional(),
  type: csv(DECLARATION_TYPES).optional(),
  theme: z.enum(THEMES).optional(),
  updated_since: z.iso.datetime({ offset: true }).or(date).optional(),
  organisation: slug.optional(),
  author: z.literal('me', { error: 'must be me (your own declarations)' }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

/** The store's filter from the list's query (also the Atom feed's): bbox in Lambert-93, paging. */
export function listFilterOf(q: Omit<z.infer<typeof listQuery>, 'author'>): ListFilter {
  const bbox = q.bbox ? ((q['bbox-crs'] ?? 'EPSG:4326') === 'EPSG:2154' ? q.bbox : transformBbox('OGC:CRS84', 'EPSG:2154', q.bbox)) : undefined;
  return {
    ...(bbox ? { bbox } : {}),
    ...(q.status ? { statuses: q.status as Status[] } : {}),
    ...(q.type ? { types: q.type } : {}),
    ...(q.theme ? { theme: q.theme } : {}),
    ...(q.updated_since ? { updatedSince: new Date(q.updated_since) } : {}),
    ...(q.organisation ? { organisationSlug: q.organisation } : {}),
    limit: q.limit,
    offset: q.offset,
  };
}

/** A declaration as answered: geometry in WGS84 (RFC 7946) and in Lambert-93. */
export function out(d: Declaration) {
  const { geometry: l93, ...rest } = d;
  return { ...rest, geometry: toWgs84(l93), geometryLambert93: l93 };
}

/** A declaration's detail as answered: with its action log, the dalles and vector objects it touches, its attachments. */
function detail(d: DeclarationDetail) {
  return { ...out(d), actions: d.actions, dalles: d.dalles, vectorObjects: d.vectorObjects, attachments: d.attachments };
}

export function registerDeclarationRoutes(app: RouteApp, service: DeclarationService): void {
  const config = service.ctx.config;
  const origin = (request: FastifyRequest): Origin => ({ base: baseUrl(request, config), ip: request.ip });

  app.post(
    '/api/v1/declarations',
    { config: { access: WRITE, usage: 'declaration' }, schema: { tags, summary: 'Declare an error, an update request, works or an intervention (geometry in WGS84, or EPSG:2154 / a CC zone by its crs member)', body: createBody } },
    async (request, reply) => {
      const created = await service.create(request.caller, request.body, origin(request));
      return reply.code(201).header('location', `/api/v1/declarations/${created.id}`).send(detail(created));
    },
  );

  app.get(
    '/api/v1/declarations',
    { config: { access: READ }, schema: { tags, summary: 'Declarations, most recently updated first: filters bbox (WGS84, or bbox-crs=EPSG:2154), status, type, theme, updated_since, organisation (author’s), author=me (the caller’s own); paged by limit/offset', querystring: listQuery } },
    async (request) => {
      const q = request.query;
      if (q.author === 'me' && request.caller.userId === undefined) throw new UserError('not-a-user', 'author=me lists the declarations of a user: sign in, or use a key of a user.', { status: 400 });
      const { items, total } = await service.list({
        ...listFilterOf(q),
        ...(q.author === 'me' && request.caller.userId !== undefined ? { authorUserId: request.caller.userId } : {}),
      });
      return { total, limit: q.limit, offset: q.offset, declarations: items.map(out) };
    },
  );

  app.get('/api/v1/declarations/:id', { config: { access: READ }, schema: { tags, summary: 'One declaration, its action log and the dalles it touches', params: idParams } }, async (request) => {
    const d = await service.read(request.params.id);
    return { ...detail(d), subscribed: await service.followers.isSubscribed(d.id, request.caller.userId) };
  });

  app.post(
    '/api/v1/declarations/:id/comments',
    { config: { access: WRITE }, schema: { tags, summary: 'Comment on a declaration (its author is e-mailed)', params: idParams, body: z.strictObject({ text: text(10000) }) } },
    async (request, reply) => {
      const d = await service.comment(request.caller, request.params.id, request.body.text, origin(request));
      return reply.code(201).send(detail(d));
    },
  );

  app.post(
    '/api/v1/declarations/:id/status',
    {
      config: { access: MODERATE },
      schema: {
        tags,
        summary: 'Change the status (moderators): submitted → acknowledged → in-progress → resolved | rejected | duplicate (a reason on every closing), reopen → submitted',
        params: idParams,
        body: z.strictObject({ status: z.enum(STATUSES), reason: text(10000).optional(), duplicateOf: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional() }),
      },
    },
    async (request) => {
      const d = await service.changeStatus(request.caller, request.params.id, request.body, origin(request));
      return detail(d);
    },
  );

  app.post(
    '/api/v1/declarations/:id/assign',
    {
      config: { access: MODERATE },
      schema: {
        tags,
        summary: 'Assign a declaration to a user and/or an organisation (moderators; null unassigns)',
        params: idParams,
        body: z.strictObject({ userId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullable().optional(), organisation: slug.nullable().optional(), text: text(10000).optional() }),
      },
    },
    async (request) => {
      const d = await service.assign(request.caller, request.params.id, request.body, origin(request));
      return detail(d);
    },
  );
}
