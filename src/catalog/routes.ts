import { z } from 'zod';
import type { AppContext } from '../context/app-context.js';
import type { RouteApp } from '../context/capability.js';
import type { Dalle } from './catalog.js';

/** `xmin,ymin,xmax,ymax` in Lambert-93 metres. */
export const bboxParam = z.string().transform((text, ctx) => {
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

const versionPath = z.object({ dataset: z.string().min(1).max(100), version: z.string().min(1).max(200) });

/** The catalogue, read-only: datasets, versions, the dalles of a version (GeoJSON). */
export function registerCatalogRoutes(app: RouteApp, ctx: AppContext): void {
  const tags = ['catalogue'];
  // Listings show only what the caller may read; one version or its dalles answer 401/403 otherwise.
  app.get('/api/datasets', { config: { access: 'public' }, schema: { tags, summary: 'Datasets' } }, async (request) => {
    const datasets = [];
    for (const d of await ctx.catalog.listDatasets()) if (await ctx.access.canRead(request.caller, { datasetId: d.id })) datasets.push(d);
    return { datasets };
  });

  app.get(
    '/api/versions',
    { config: { access: 'public' }, schema: { tags, summary: 'Versions (millésimes, updates)', querystring: z.object({ dataset: z.string().max(100).optional() }) } },
    async (request) => {
      const versions = [];
      for (const v of await ctx.catalog.listVersions(request.query.dataset)) if (await ctx.access.canRead(request.caller, { datasetId: v.datasetId, version: v.name })) versions.push(v);
      return { versions };
    },
  );

  app.get('/api/datasets/:dataset/versions/:version', { config: { access: 'public' }, schema: { tags, summary: 'One version', params: versionPath } }, async (request) => {
    await ctx.access.checkRead(request.caller, { datasetId: request.params.dataset, version: request.params.version });
    return ctx.catalog.getVersion(request.params.dataset, request.params.version);
  });

  app.get(
    '/api/datasets/:dataset/versions/:version/dalles',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'The dalles of a version, as GeoJSON in Lambert-93',
        params: versionPath,
        querystring: z.object({
          bbox: bboxParam.optional(),
          limit: z.coerce.number().int().min(1).max(10_000).default(1000),
          offset: z.coerce.number().int().min(0).default(0),
        }),
      },
    },
    async (request, reply) => {
      const { dataset, version: name } = request.params;
      const q = request.query;
      await ctx.access.checkRead(request.caller, { datasetId: dataset, version: name, ...(q.bbox ? { bbox: q.bbox } : {}) });
      const version = await ctx.catalog.getVersion(dataset, name);
      const dalles = await ctx.catalog.listDalles({ versionId: version.id, ...(q.bbox ? { bbox: q.bbox } : {}), limit: q.limit, offset: q.offset });
      return reply.type('application/geo+json').send({
        type: 'FeatureCollection',
        // RFC 7946 says WGS84; Lambert-93 is what PCRS users work in, so we say so explicitly.
        crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } },
        numberReturned: dalles.length,
        features: dalles.map(dalleFeature),
      });
    },
  );
}
