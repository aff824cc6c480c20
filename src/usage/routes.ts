import { z } from 'zod';
import type { RouteApp } from '../context/capability.js';
import { GROUPS } from './store.js';
import { MAX_AREA_CELLS, statsToCsv, type UsageService } from './service.js';

const day = z.string().max(10).regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const list = (item: z.ZodString) =>
  z
    .string()
    .max(2000)
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).max(100));

const organisation = z.object({ id: z.number(), slug: z.string().nullable(), name: z.string(), deleted: z.boolean() }).nullable();
const key = z.object({ id: z.number(), name: z.string(), prefix: z.string().nullable(), deleted: z.boolean() }).nullable();
const statsResponse = z.object({
  from: z.string(),
  to: z.string(),
  granularity: z.enum(['day', 'month']),
  groupBy: z.array(z.enum(GROUPS)),
  scope: z.enum(['all', 'own']),
  rows: z.array(
    z.object({
      day: z.string().optional(),
      month: z.string().optional(),
      organisation: organisation.optional(),
      key: key.optional(),
      layer: z.string().optional(),
      service: z.string().optional(),
      status: z.string().optional(),
      requests: z.number(),
      bytes: z.number(),
    }),
  ),
  totals: z.object({ requests: z.number(), bytes: z.number() }),
});

export function registerUsageRoutes(app: RouteApp, service: UsageService): void {
  app.get(
    '/api/v1/stats',
    {
      config: { access: { signedIn: true } },
      schema: {
        tags: ['usage'],
        summary:
          'Usage statistics: requests and bytes served per day or month × organisation × key × layer × service × HTTP status class, over a period (default: the last 30 days). Platform administrators see everything, others their organisations and their own keys. CSV with format=csv',
        querystring: z.strictObject({
          from: day.optional(),
          to: day.optional(),
          group_by: z.string().max(200).optional().describe(`Comma-separated: ${GROUPS.join(', ')}`),
          organisation: list(z.string().max(63)).optional(),
          key: list(z.string().regex(/^\d{1,15}$/)).optional(),
          service: list(z.string().max(40)).optional(),
          layer: list(z.string().max(100)).optional(),
          format: z.enum(['json', 'csv']).default('json'),
          apikey: z.string().max(200).optional(),
        }),
        // JSON, or the CSV text (format=csv; Fastify sends a string as it is).
        response: { 200: z.union([statsResponse, z.string()]) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const answer = await service.stats(request.caller, {
        from: q.from,
        to: q.to,
        groupBy: q.group_by,
        organisations: q.organisation,
        keys: q.key?.map(Number),
        services: q.service,
        layers: q.layer,
      });
      reply.header('cache-control', 'private, no-cache');
      if (q.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="statistiques-${answer.from}-${answer.to}.csv"`)
          .send(statsToCsv(answer));
      }
      return answer;
    },
  );

  app.get(
    '/api/v1/stats/areas',
    {
      config: { access: { signedIn: true } },
      schema: {
        tags: ['usage'],
        summary: 'Where the PCRS is used: tile requests per 1 km Lambert-93 cell over a period (busiest first), for a heat map',
        querystring: z.strictObject({ from: day.optional(), to: day.optional(), limit: z.coerce.number().int().min(1).max(MAX_AREA_CELLS).default(MAX_AREA_CELLS), apikey: z.string().max(200).optional() }),
        response: {
          200: z.object({
            from: z.string(),
            to: z.string(),
            cellSize: z.number(),
            crs: z.string(),
            cells: z.array(z.object({ cellX: z.number(), cellY: z.number(), requests: z.number(), bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]) })),
          }),
        },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'private, no-cache');
      return service.areas(request.caller, request.query.from, request.query.to, request.query.limit);
    },
  );
}
