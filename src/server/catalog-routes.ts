import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Asset, Dalle } from '../catalog/catalog.js';
import { LocalObjectStore } from '../storage/local-store.js';
import { ObjectNotFoundError, type ObjectStore } from '../storage/object-store.js';
import { openTiers, type TierStores } from '../tiers/tiers.js';
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
  // Stores of the tiers, opened on the first download and reused (an S3 client per request would
  // cost a connection pool each time).
  let tiers: TierStores | undefined;
  const stores = () => (tiers ??= openTiers(ctx.config));
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

  // The delivered dalle, byte for byte (the master), from object storage — or from its NAS copy
  // when the object storage has lost it. ETag = its SHA-256; a single byte range for resumed downloads.
  app.get('/api/datasets/:dataset/versions/:version/dalles/:name/download', async (request, reply) => {
    const p = parseInput(z.object({ dataset: z.string(), version: z.string(), name: z.string().min(1).max(200) }), request.params, 'path');
    await ctx.access?.checkRead(request, { datasetId: p.dataset, version: p.version });
    const version = await ctx.catalog.getVersion(p.dataset, p.version);
    const dalle = await ctx.catalog.getDalleByName(version.id, p.name);
    if (!dalle) throw new UserError('unknown-dalle', `No dalle '${p.name}' in version ${p.version} of ${p.dataset}.`, { status: 404, hint: `List them: GET /api/datasets/${p.dataset}/versions/${p.version}/dalles?bbox=…` });
    const master = (await ctx.catalog.listAssets({ dalleId: dalle.id, kind: 'master', state: 'stored' }))[0];
    if (!master?.sha256) throw new UserError('dalle-not-stored', `The dalle ${p.name} has no verified master to download yet.`, { status: 404 });
    const etag = `"${master.sha256}"`;
    const filename = master.location.split('/').pop() ?? `${p.name}.tif`;
    reply
      .header('etag', etag)
      .header('cache-control', 'public, max-age=86400')
      .header('accept-ranges', 'bytes')
      .header('content-disposition', `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"`)
      .header('repr-digest', `sha-256=:${Buffer.from(master.sha256, 'hex').toString('base64')}:`)
      .type(filename.toLowerCase().endsWith('.jp2') ? 'image/jp2' : 'image/tiff');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    let range = parseRange(request.headers.range, master.bytes);
    // Object storage answers ranges as buffers: large ones get the whole file instead (allowed by HTTP).
    if (range && range !== 'unsatisfiable' && !(stores()[master.tier] instanceof LocalObjectStore) && range.end - range.start >= 16 << 20) range = null;
    if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${master.bytes}`).send();
    const body = await openMaster(stores(), master, range ?? undefined);
    if (range) return reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${master.bytes}`).header('content-length', String(range.end - range.start + 1)).send(body);
    return reply.header('content-length', String(master.bytes)).send(body);
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

/** A single `bytes=a-b` / `a-` / `-n` range, null without (or with an ignored multi-range) header. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

/** The master's bytes from its tier, else from the tier that keeps its copy (the NAS). */
async function openMaster(tiers: TierStores, master: Asset, range?: { start: number; end: number }): Promise<Readable> {
  const open = async (store: ObjectStore): Promise<Readable> => {
    if (!range) return store.get(master.location);
    if (store instanceof LocalObjectStore) {
      const path = store.pathOf(master.location);
      const stream = createReadStream(path, { start: range.start, end: range.end });
      await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new ObjectNotFoundError(master.location, store.describe()) : e)));
      return stream;
    }
    return Readable.from([await store.getRange(master.location, range.start, range.end - range.start + 1)]);
  };
  try {
    return await open(tiers[master.tier]);
  } catch (e) {
    if (!(e instanceof ObjectNotFoundError)) throw e;
    return open(tiers.nas);
  }
}
