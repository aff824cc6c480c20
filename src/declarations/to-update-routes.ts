import { z } from 'zod';
import type { AppContext } from '../context/app-context.js';
import type { CapabilityServer } from '../context/capability.js';
import { marksToGeoJson, UpdateMarks } from './to-update.js';

/**
 * Works "to update": `GET /api/v1/declarations/to-update` (any signed-in caller) and, in a
 * listening server, the leased loop that marks the works that ended (to-update.ts).
 */
export function registerToUpdate(server: CapabilityServer, ctx: AppContext): void {
  const marks = new UpdateMarks(ctx);
  if (ctx.config.worksToUpdate.intervalMinutes > 0) server.onListen(() => marks.startLoop());

  server.app.get(
    '/api/v1/declarations/to-update',
    {
      config: { access: { signedIn: true } },
      schema: {
        tags: ['declarations'],
        summary: 'The areas and dalles that ended works (with a "travaux impactant le PCRS" theme) left to update, not consumed yet: a GeoJSON FeatureCollection in WGS84 with each area’s Lambert-93 bbox; filters dataset, version; paged by limit/offset',
        querystring: z.strictObject({
          dataset: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a dataset identifier').optional(),
          version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a version name').optional(),
          limit: z.coerce.number().int().min(1).max(10_000).default(1000),
          offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
        }),
      },
    },
    async (request, reply) => {
      const q = request.query;
      const { items, total } = await marks.list({ ...(q.dataset ? { dataset: q.dataset } : {}), ...(q.version ? { version: q.version } : {}), limit: q.limit, offset: q.offset });
      return reply.type('application/geo+json').send(marksToGeoJson(items, { numberMatched: total }));
    },
  );
}
