import { z } from 'zod';
import type { RouteApp } from '../context/capability.js';
import type { AppContext } from '../context/app-context.js';
import { baseUrl, withApiKey } from '../http/base-url.js';
import { changesAtom, changesSince, historyAt, MAX_CHANGES } from './service.js';

/** A date (YYYY-MM-DD, midnight UTC) or an instant (ISO 8601 with its offset). */
export const instant = z
  .string()
  .max(40)
  .refine((s) => /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(s) && !Number.isNaN(Date.parse(s)), 'must be a date YYYY-MM-DD or an ISO 8601 instant with its offset');

export function registerChangeRoutes(app: RouteApp, ctx: AppContext): void {
  app.get(
    '/api/v1/changes',
    {
      config: { access: 'public' },
      schema: {
        tags: ['changes'],
        summary:
          'The changes feed: dalles and vector areas published since a date (oldest first), each with its download link — to sync a GIS with only what changed. JSON, or Atom with format=atom or Accept: application/atom+xml',
        querystring: z.strictObject({
          since: instant,
          until: instant.optional(),
          limit: z.coerce.number().int().min(1).max(MAX_CHANGES).default(MAX_CHANGES),
          format: z.enum(['json', 'atom']).optional(),
          apikey: z.string().max(200).optional(),
        }),
      },
    },
    async (request, reply) => {
      const q = request.query;
      const page = await changesSince(ctx, request.caller, { since: q.since, until: q.until ?? null, limit: q.limit, base: baseUrl(request, ctx.config) });
      for (const item of page.items) item.download = withApiKey(item.download, request);
      const atom = q.format === 'atom' || (q.format === undefined && /application\/atom\+xml/.test(request.headers.accept ?? ''));
      reply.header('cache-control', 'no-cache').header('vary', 'accept');
      if (atom) return reply.type('application/atom+xml; charset=utf-8').send(changesAtom(page, `${baseUrl(request, ctx.config)}${request.url}`));
      return page;
    },
  );

  app.get(
    '/api/v1/history',
    {
      config: { access: 'public' },
      schema: {
        tags: ['changes'],
        summary: 'The history of a point: every version of the orthophoto and of the vector PCRS that covered it (date, campaign, contribution), newest first, the one shown now marked current. x, y in Lambert-93, or lon, lat with crs=EPSG:4326',
        querystring: z.strictObject({
          x: z.coerce.number().finite(),
          y: z.coerce.number().finite(),
          crs: z.enum(['EPSG:2154', 'EPSG:4326']).default('EPSG:2154'),
          apikey: z.string().max(200).optional(),
        }),
      },
    },
    async (request) => historyAt(ctx, request.caller, request.query),
  );
}
