import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { AppContext } from '../../context/app-context.js';
import type { RouteApp } from '../../context/capability.js';
import { findDalleMaster, openMaster, parseRange, servesRange, type DalleMaster } from '../serving/dalle-download.js';

/**
 * The delivered dalle, byte for byte (the master), from object storage — or from its NAS copy when
 * the object storage has lost it. ETag = its SHA-256; a single byte range for resumed downloads.
 */
export function registerDalleDownload(app: RouteApp, ctx: AppContext): void {
  app.get(
    '/api/datasets/:dataset/versions/:version/dalles/:name/download',
    {
      config: { access: 'public', usage: 'download' },
      schema: {
        tags: ['downloads'],
        summary: 'Download a delivered dalle (the master, byte for byte; ranges, ETag = SHA-256)',
        params: z.object({ dataset: z.string().min(1).max(100), version: z.string().min(1).max(200), name: z.string().min(1).max(200) }),
      },
    },
    async (request, reply) => {
      const p = request.params;
      await ctx.access.checkRead(request.caller, { datasetId: p.dataset, version: p.version });
      const master = await findDalleMaster(ctx, p.dataset, p.version, p.name);
      // A permission's perimeter covers the dalle, or the dalle is not for this caller.
      if (request.caller.kind !== 'anonymous') await ctx.access.checkRead(request.caller, { datasetId: p.dataset, version: p.version, bbox: master.bbox });
      return sendMaster(ctx, request, reply, master, request.caller.kind === 'anonymous' ? 'public, max-age=86400' : 'private, max-age=86400');
    },
  );
}

/** A stored file as an HTTP answer gives it: its identity, and how to read all or one range of it. */
export interface SendableFile {
  sha256: string;
  filename: string;
  contentType: string;
  bytes: number;
  lastModified: Date | null;
  open(range?: { start: number; end: number }): Promise<Readable | Buffer>;
  /** Whether a range can be served (a master whose tier is only its NAS copy may not); the whole file otherwise. */
  servesRange?(range: { start: number; end: number }): boolean;
}

/**
 * Answers with a stored file, byte for byte: ETag = its SHA-256 (304 on If-None-Match), Repr-Digest,
 * one byte range (206, 416), HEAD with its length. The dalle download, the bulk publication tree
 * (masters and the vector PCRS per commune) answer through it.
 */
export async function sendFile(request: FastifyRequest, reply: FastifyReply, file: SendableFile, cacheControl: string): Promise<FastifyReply> {
  const etag = `"${file.sha256}"`;
  reply
    .header('etag', etag)
    .header('cache-control', cacheControl)
    .header('accept-ranges', 'bytes')
    .header('content-disposition', `attachment; filename="${file.filename}"`)
    .header('repr-digest', `sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`)
    .type(file.contentType);
  if (file.lastModified) reply.header('last-modified', file.lastModified.toUTCString());
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  const bytes = file.bytes;
  let range = parseRange(request.headers.range, bytes);
  if (range && range !== 'unsatisfiable' && file.servesRange && !file.servesRange(range)) range = null;
  if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${bytes}`).send();
  // Fastify's HEAD answer would say Content-Length: 0 for an empty payload; an empty stream keeps ours.
  if (request.method === 'HEAD') return reply.header('content-length', String(range ? range.end - range.start + 1 : bytes)).code(range ? 206 : 200).send(Readable.from([]));
  const body = await file.open(range ?? undefined);
  if (range) return reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${bytes}`).header('content-length', String(range.end - range.start + 1)).send(body);
  return reply.header('content-length', String(bytes)).send(body);
}

/** A master as `sendFile` answers it: from its tier, or its NAS copy when the tier lost it. */
export function sendMaster(ctx: Pick<AppContext, 'tiers'>, request: FastifyRequest, reply: FastifyReply, master: DalleMaster, cacheControl: string): Promise<FastifyReply> {
  return sendFile(
    request,
    reply,
    {
      sha256: master.sha256,
      filename: master.filename,
      contentType: master.contentType,
      bytes: master.asset.bytes,
      lastModified: master.asset.verifiedAt,
      open: (range) => openMaster(ctx.tiers, master.asset, range),
      servesRange: (range) => servesRange(ctx.tiers, master.asset, range),
    },
    cacheControl,
  );
}
