import path from 'node:path';
import { Readable } from 'node:stream';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyError, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccessNeed } from '../context/access.js';
import type { RouteApp } from '../context/capability.js';
import { baseUrl } from '../http/base-url.js';
import { publicJob } from '../jobs/routes.js';
import { parseRange } from '../raster/serving/dalle-download.js';
import { errorMessage, UserError } from '../util/errors.js';
import { AREA_FILE_CONTENT_TYPES, AREA_LIMITS, MAX_AREA_FILE_BYTES, tooLargeAreaFile } from './area-file.js';
import { ExtractUrls, fileContentType, formatUrlList } from './delivery.js';
import type { ExtractService } from './service.js';
import { EXTRACT_CONTENTS, type ExtractRecord } from './store.js';

/**
 * /api/v1/extracts: ask for an extract (202, or 201 when the same content is ready already), follow
 * it (JSON, or server-sent events), list mine, download the ZIP (resumable with Range, ETag = its
 * content hash). Only the requester (and platform admins) see an extract: others get 404.
 * Also: an area file (GeoJSON, KML, GeoPackage) turned into the area to ask with, and, for the
 * extracts asked with `delivery: 'urls'`, the list of signed URLs and the files they name.
 */

const tags = ['extracts'];
const DOWNLOAD: AccessNeed = { signedIn: true, scope: 'downloads' };

const position = z.array(z.number().finite()).min(2).max(3);
const ring = z.array(position).min(4).max(AREA_LIMITS.positionsPerRing);
const crsMember = z.strictObject({ type: z.literal('name'), properties: z.strictObject({ name: z.string().min(1).max(100) }) }).optional();
const areaSchema = z.union([
  z.strictObject({
    geometry: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('Polygon'), coordinates: z.array(ring).min(1).max(AREA_LIMITS.ringsPerPolygon), crs: crsMember }),
      z.strictObject({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(ring).min(1).max(AREA_LIMITS.ringsPerPolygon)).min(1).max(AREA_LIMITS.polygons), crs: crsMember }),
    ]),
  }),
  z.strictObject({ commune: z.string().regex(/^([0-9]{5}|2[AB][0-9]{3})$/i, 'must be an INSEE code') }),
  z.strictObject({ epci: z.string().regex(/^[0-9]{9}$/, 'must be a SIREN number') }),
  z.strictObject({ declaration: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) }),
  z.strictObject({ organisation: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be an organisation slug') }),
]);
const versionName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a version name');
const createBody = z.strictObject({
  area: areaSchema,
  contents: z.array(z.enum(EXTRACT_CONTENTS)).min(1).max(EXTRACT_CONTENTS.length),
  /** `dalles` (default): whole vector objects touching the area; `area`: cut to the area. */
  vectorClip: z.enum(['area', 'dalles']).optional(),
  orthoVersion: versionName.optional(),
  vectorVersion: versionName.optional(),
  delivery: z.enum(['zip', 'urls']).default('zip'),
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
    delivery: e.request.delivery ?? 'zip',
    download: e.state === 'ready' ? `/api/v1/extracts/${e.id}/download` : null,
    urls: e.state === 'ready' && e.request.delivery === 'urls' ? `/api/v1/extracts/${e.id}/urls` : null,
  };
}

const filename = (e: ExtractRecord) => `pcrs-extrait-${e.id}-${(e.request.area.code ?? 'zone').replace(/[^\w-]/g, '')}.zip`;

export function registerExtractRoutes(app: RouteApp, service: ExtractService, startInBackground: (id: number) => void): void {
  const urls = new ExtractUrls(service);
  app.post(
    '/api/v1/extracts',
    {
      config: { access: DOWNLOAD, usage: 'extract' },
      schema: {
        tags,
        summary: 'Ask for an extract over an area (a GeoJSON polygon in WGS84 or EPSG:2154 — an uploaded file’s, from POST /api/v1/extracts/areas —, a commune, an EPCI, a declaration’s footprint, your organisation’s perimeter): orthophoto masters and/or COGs (JPEG at the tiles’ quality), the vector PCRS as CNIG GML, GeoPackage and/or DXF (whole objects or cut to the area), as one ZIP, or also as signed URLs (delivery urls)',
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
    { config: { access: DOWNLOAD, usage: 'download' }, schema: { tags, summary: 'The ZIP (computed on the fly; Range to resume; ETag = content hash)', params: idParams } },
    async (request, reply) => {
      const e = await service.getFor(request.caller, request.params.id);
      const zip = await service.open(e);
      const etag = `"${e.contentHash ?? ''}-${zip.size}"`;
      reply.header('etag', etag).header('accept-ranges', 'bytes').header('content-type', 'application/zip').header('content-disposition', `attachment; filename="${filename(e)}"`);
      const ifRange = request.headers['if-range'];
      const range = ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, zip.size) : null;
      if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${zip.size}`).send();
      if (request.method === 'HEAD') return reply.header('content-length', zip.size).send(emptyBody());
      const { start, end } = range ?? { start: 0, end: zip.size - 1 };
      if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${zip.size}`);
      reply.header('content-length', end - start + 1);
      await service.ctx.audit.record(request.caller, { action: 'extract.download', target: `extract:${e.id}`, details: { start, end }, ip: request.ip });
      return reply.send(zipStream(zip.read(start, end), (err) => request.log.warn({ err: errorMessage(err), extract: e.id }, 'extract download stopped')));
    },
  );

  // An area file, as a raw body (any of its content types) or one multipart/form-data file part: its own scope and parsers.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser([...AREA_FILE_CONTENT_TYPES], { parseAs: 'buffer', bodyLimit: MAX_AREA_FILE_BYTES }, (_request, body, done) => done(null, body));
    await scope.register(fastifyMultipart, { limits: { fileSize: MAX_AREA_FILE_BYTES, files: 1, fields: 5, fieldSize: 1024, parts: 6, headerPairs: 50 }, throwFileSizeLimit: true });
    // The parsers' own refusals, said as the platform says them (the app's handler answers).
    scope.setErrorHandler((error: FastifyError) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.code === 'FST_REQ_FILE_TOO_LARGE') throw tooLargeAreaFile();
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') throw new UserError('unsupported-area-file', `Send the area file as the body (Content-Type ${AREA_FILE_CONTENT_TYPES.join(', ')}) or as multipart/form-data.`, { status: 415 });
      throw error;
    });
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/api/v1/extracts/areas',
      {
        config: { access: DOWNLOAD },
        schema: {
          tags,
          summary: 'An area file (GeoJSON, KML or GeoPackage, told from its bytes; at most 5 MiB) as the Lambert-93 MultiPolygon to ask an extract with',
          description:
            'The body is the file (Content-Type application/geo+json, application/vnd.google-earth.kml+xml, application/geopackage+sqlite3 or application/octet-stream), or multipart/form-data with one file part. Polygons only, reprojected to EPSG:2154 and unioned; a KML with a DOCTYPE is refused. Answers { format, polygons, geometry, km2, bbox }: pass `geometry` as `area: { geometry }` to POST /api/v1/extracts.',
          consumes: [...AREA_FILE_CONTENT_TYPES, 'multipart/form-data'],
        },
      },
      async (request) => {
        let data: Buffer;
        if (request.isMultipart()) {
          const part = await request.file();
          if (!part) throw new UserError('invalid-upload', 'No file in the request: send the area file as the body, or as one multipart/form-data file part.', { status: 400 });
          data = await part.toBuffer();
        } else if (Buffer.isBuffer(request.body)) data = request.body;
        else throw new UserError('invalid-upload', 'Send the area file as the request body.', { status: 400 });
        return service.uploadedArea(data);
      },
    );
  });

  app.get(
    '/api/v1/extracts/:id/urls',
    {
      config: { access: DOWNLOAD },
      schema: {
        tags,
        summary: 'For an extract asked with delivery urls: one signed URL per file, with size and SHA-256 (text: for wget -i; aria2: for aria2c -i; json)',
        params: idParams,
        querystring: z.strictObject({ format: z.enum(['text', 'aria2', 'json']).default('text') }),
      },
    },
    async (request, reply) => {
      const files = await urls.list(request.caller, request.params.id, baseUrl(request, service.ctx.config));
      const { contentType, body } = formatUrlList(files, request.query.format);
      await service.ctx.audit.record(request.caller, { action: 'extract.urls', target: `extract:${request.params.id}`, details: { files: files.length }, ip: request.ip });
      return reply.header('content-type', contentType).header('cache-control', 'private, no-store').send(body);
    },
  );

  app.get(
    '/api/v1/extracts/:id/files/:seq/*',
    {
      // The signature is the authorisation: no session, no key (wget, aria2c).
      config: { access: 'public', usage: 'download' },
      schema: {
        tags,
        summary: 'One file of an extract, by its signed URL (from /urls): Range, HEAD, ETag = its SHA-256; 403 bad signature, 410 expired',
        params: z.strictObject({ id: idParams.shape.id, seq: z.coerce.number().int().min(0).max(1_000_000), '*': z.string().min(1).max(1000) }),
        querystring: z.object({ expires: z.string().max(20).optional(), sig: z.string().max(200).optional() }),
      },
    },
    async (request, reply) => {
      const { id, seq } = request.params;
      const { entry, source } = await urls.file(id, seq, request.params['*'], request.query.expires, request.query.sig);
      const etag = `"${entry.sha256}"`;
      reply
        .header('etag', etag)
        .header('accept-ranges', 'bytes')
        .header('content-type', fileContentType(entry.name))
        .header('content-disposition', `attachment; filename="${path.basename(entry.name)}"`)
        .header('cache-control', 'private, max-age=3600');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      const ifRange = request.headers['if-range'];
      const range = ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, entry.bytes) : null;
      if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${entry.bytes}`).send();
      if (request.method === 'HEAD') return reply.header('content-length', entry.bytes).send(emptyBody());
      if (entry.bytes === 0) return reply.header('content-length', 0).send(Buffer.alloc(0));
      const { start, end } = range ?? { start: 0, end: entry.bytes - 1 };
      if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${entry.bytes}`);
      reply.header('content-length', end - start + 1);
      const body = await source.open(start, end);
      if (!Buffer.isBuffer(body)) body.on('error', (err) => request.log.warn({ err: errorMessage(err), extract: id, seq }, 'extract file stopped'));
      return reply.send(body);
    },
  );
}

/**
 * The body of a HEAD answer: Fastify's HEAD route sets Content-Length: 0 for an empty payload, but
 * keeps the route's own header for a stream (which it drains: this one is empty).
 */
const emptyBody = () => Readable.from([]);

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
