import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { AccessNeed } from '../context/access.js';
import type { RouteApp } from '../context/capability.js';
import { publicJob } from '../jobs/routes.js';
import { parseRange } from '../raster/serving/dalle-download.js';
import { errorMessage } from '../util/errors.js';
import type { ExtractService } from './service.js';
import { EXTRACT_CONTENTS, type ExtractRecord } from './store.js';

/**
 * /api/v1/extracts: ask for an extract (202, or 201 when the same content is ready already), follow
 * it (JSON, or server-sent events), list mine, download the ZIP (resumable with Range, ETag = its
 * content hash). Only the requester (and platform admins) see an extract: others get 404.
 */

const tags = ['extracts'];
const DOWNLOAD: AccessNeed = { signedIn: true, scope: 'downloads' };

const position = z.array(z.number().finite()).min(2).max(3);
const ring = z.array(position).min(4).max(20_000);
const crsMember = z.strictObject({ type: z.literal('name'), properties: z.strictObject({ name: z.string().min(1).max(100) }) }).optional();
const areaSchema = z.union([
  z.strictObject({
    geometry: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('Polygon'), coordinates: z.array(ring).min(1).max(100), crs: crsMember }),
      z.strictObject({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(ring).min(1).max(100)).min(1).max(100), crs: crsMember }),
    ]),
  }),
  z.strictObject({ commune: z.string().regex(/^([0-9]{5}|2[AB][0-9]{3})$/i, 'must be an INSEE code') }),
  z.strictObject({ epci: z.string().regex(/^[0-9]{9}$/, 'must be a SIREN number') }),
  z.strictObject({ declaration: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) }),
]);
const versionName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a version name');
const createBody = z.strictObject({
  area: areaSchema,
  contents: z.array(z.enum(EXTRACT_CONTENTS)).min(1).max(EXTRACT_CONTENTS.length),
  /** `dalles` (default): whole vector objects touching the area; `area`: cut to the area. */
  vectorClip: z.enum(['area', 'dalles']).optional(),
  orthoVersion: versionName.optional(),
  vectorVersion: versionName.optional(),
});
const idParams = z.strictObject({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

function out(e: ExtractRecord) {
  return {
    id: e.id,
    state: e.state,
    area: e.request.area,
    contents: e.request.contents,
    ortho: e.request.ortho,
    vector: e.request.vector,
    zipBytes: e.zipBytes,
    entryCount: e.entryCount,
    error: e.error,
    createdAt: e.createdAt,
    readyAt: e.readyAt,
    expiresAt: e.expiresAt,
    download: e.state === 'ready' ? `/api/v1/extracts/${e.id}/download` : null,
  };
}

const filename = (e: ExtractRecord) => `pcrs-extrait-${e.id}-${(e.request.area.code ?? 'zone').replace(/[^\w-]/g, '')}.zip`;

export function registerExtractRoutes(app: RouteApp, service: ExtractService, startInBackground: (id: number) => void): void {
  app.post(
    '/api/v1/extracts',
    {
      config: { access: DOWNLOAD },
      schema: {
        tags,
        summary: 'Ask for an extract over an area (a GeoJSON polygon in WGS84 or EPSG:2154, a commune, an EPCI, a declaration’s footprint): orthophoto masters and/or COGs (JPEG at the tiles’ quality), the vector PCRS as CNIG GML, GeoPackage and/or DXF (whole objects, or cut to the area), as one ZIP',
        body: createBody,
      },
    },
    async (request, reply) => {
      const { extract, reused } = await service.create(request.caller, request.body);
      if (!reused) startInBackground(extract.id);
      return reply.code(reused ? 201 : 202).header('location', `/api/v1/extracts/${extract.id}`).send({ ...out(extract), reused });
    },
  );

  app.get(
    '/api/v1/extracts',
    { config: { access: DOWNLOAD }, schema: { tags, summary: 'My extracts, newest first', querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) }) } },
    async (request) => ({ extracts: (await service.store.listFor(request.caller.id, request.caller.userId ?? null, request.query.limit)).map(out) }),
  );

  app.get('/api/v1/extracts/:id', { config: { access: DOWNLOAD }, schema: { tags, summary: 'One extract: state, progress, download link', params: idParams } }, async (request) => {
    const e = await service.getFor(request.caller, request.params.id);
    const job = e.jobId !== null && e.state !== 'ready' ? publicJob(await service.ctx.jobs.get(e.jobId)) : null;
    return { ...out(e), progress: job?.progress ?? null };
  });

  app.get(
    '/api/v1/extracts/:id/events',
    { config: { access: DOWNLOAD }, schema: { tags, summary: 'Progress of an extract as server-sent events (progress, then ready or failed)', params: idParams } },
    async (request, reply) => {
      const first = await service.getFor(request.caller, request.params.id);
      streamEvents(reply, async () => {
        const e = await service.get(first.id);
        const job = e.jobId !== null ? publicJob(await service.ctx.jobs.get(e.jobId)) : null;
        return { event: e.state === 'ready' || e.state === 'failed' || e.state === 'expired' ? e.state : 'progress', data: { ...out(e), progress: job?.progress ?? null }, last: e.state !== 'queued' && e.state !== 'running' };
      });
      return reply;
    },
  );

  app.get(
    '/api/v1/extracts/:id/download',
    { config: { access: DOWNLOAD }, schema: { tags, summary: 'The ZIP (computed on the fly; Range to resume; ETag = content hash)', params: idParams } },
    async (request, reply) => {
      const e = await service.getFor(request.caller, request.params.id);
      const zip = await service.open(e);
      const etag = `"${e.contentHash ?? ''}-${zip.size}"`;
      reply.header('etag', etag).header('accept-ranges', 'bytes').header('content-type', 'application/zip').header('content-disposition', `attachment; filename="${filename(e)}"`);
      const ifRange = request.headers['if-range'];
      const range = ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, zip.size) : null;
      if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${zip.size}`).send();
      if (request.method === 'HEAD') return reply.header('content-length', zip.size).send();
      const { start, end } = range ?? { start: 0, end: zip.size - 1 };
      if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${zip.size}`);
      reply.header('content-length', end - start + 1);
      await service.ctx.audit.record(request.caller, { action: 'extract.download', target: `extract:${e.id}`, details: { start, end }, ip: request.ip });
      return reply.send(zipStream(zip.read(start, end), (err) => request.log.warn({ err: errorMessage(err), extract: e.id }, 'extract download stopped')));
    },
  );
}

/** The generator as a stream; when the client goes away the stream is destroyed and the tiers are no longer read. */
function zipStream(chunks: AsyncGenerator<Buffer>, onError: (e: unknown) => void): Readable {
  const stream = Readable.from(chunks, { objectMode: false, highWaterMark: 1 << 20 });
  stream.on('error', onError);
  return stream;
}

/** Server-sent events: polls `next` every second (any node can answer: the state is in the database) until it says last. */
function streamEvents(reply: FastifyReply, next: () => Promise<{ event: string; data: unknown; last: boolean }>): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  let id = 0;
  const tick = async () => {
    if (closed) return;
    try {
      const { event, data, last } = await next();
      res.write(`id: ${++id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (last) {
        res.end();
        return;
      }
    } catch (e) {
      reply.log.warn({ err: errorMessage(e) }, 'extract events stopped');
      res.write(`event: error\ndata: ${JSON.stringify({ message: 'The progress could not be read; reload the page.' })}\n\n`);
      res.end();
      return;
    }
    setTimeout(() => void tick(), 1000);
  };
  void tick();
}
