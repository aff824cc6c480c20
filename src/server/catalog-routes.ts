import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Dalle } from '../catalog/catalog.js';
import { UserError } from '../util/errors.js';
import type { AppContext } from './app.js';

/** Parses request input with a zod schema; failures become 400 problems naming the parameter. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what = 'query'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`).join('; ');
  throw new UserError('invalid-parameter', `Invalid ${what}: ${issues}`, { status: 400 });
}

const bboxParam = z
  .string()
  .transform((text, ctx) => {
    const parts = text.split(',').map((p) => Number(p.trim()));
    if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) {
      ctx.addIssue({ code: 'custom', message: 'must be four numbers xmin,ymin,xmax,ymax (Lambert-93 metres)' });
      return z.NEVER;
    }
    const [xmin, ymin, xmax, ymax] = parts as [number, number, number, number];
    if (xmin >= xmax || ymin >= ymax) {
      ctx.addIssue({ code: 'custom', message: 'needs xmin < xmax and ymin < ymax' });
      return z.NEVER;
    }
    return [xmin, ymin, xmax, ymax] as [number, number, number, number];
  });

export function dalleFeature(d: Dalle): Record<string, unknown> {
  const [xmin, ymin, xmax, ymax] = d.bbox;
  return {
    type: 'Feature',
    id: d.id,
    geometry: { type: 'Polygon', coordinates: [[[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax], [xmin, ymin]]] },
    properties: { name: d.name, size_m: d.sizeM, grid_col: d.gridCol, grid_row: d.gridRow, source_crs: d.sourceCrs, acquisition_date: d.acquisitionDate, state: d.state },
  };
}

export function registerCatalogRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/api/datasets', async () => ({ datasets: await ctx.catalog.listDatasets() }));

  app.get('/api/versions', async (request) => {
    const q = parseInput(z.object({ dataset: z.string().optional() }), request.query);
    return { versions: await ctx.catalog.listVersions(q.dataset) };
  });

  app.get('/api/datasets/:dataset/versions/:version', async (request) => {
    const p = parseInput(z.object({ dataset: z.string(), version: z.string() }), request.params, 'path');
    return ctx.catalog.getVersion(p.dataset, p.version);
  });

  app.get('/api/datasets/:dataset/versions/:version/dalles', async (request, reply) => {
    const p = parseInput(z.object({ dataset: z.string(), version: z.string() }), request.params, 'path');
    const q = parseInput(
      z.object({ bbox: bboxParam.optional(), limit: z.coerce.number().int().min(1).max(10_000).default(1000), offset: z.coerce.number().int().min(0).default(0) }),
      request.query,
    );
    const version = await ctx.catalog.getVersion(p.dataset, p.version);
    const dalles = await ctx.catalog.listDalles({ versionId: version.id, ...(q.bbox ? { bbox: q.bbox } : {}), limit: q.limit, offset: q.offset });
    return reply.type('application/geo+json').send({
      type: 'FeatureCollection',
      // RFC 7946 says WGS84; Lambert-93 is what PCRS users work in, so we say so explicitly.
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } },
      numberReturned: dalles.length,
      features: dalles.map(dalleFeature),
    });
  });

  app.get('/api/jobs', async (request) => {
    const q = parseInput(
      z.object({
        state: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
        kind: z.string().optional(),
        limit: z.coerce.number().int().min(1).max(500).default(50),
      }),
      request.query,
    );
    return { jobs: await ctx.jobs.list(q) };
  });

  app.get('/api/jobs/:id', async (request) => {
    const p = parseInput(z.object({ id: z.coerce.number().int().positive() }), request.params, 'path');
    return ctx.jobs.get(p.id);
  });
}
