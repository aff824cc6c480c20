import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TileMatrixSet } from '../../grid/tile-matrix-set.js';
import { isVersioned, type RasterLayer } from '../serving/layers.js';
import type { StreamsContext } from '../serving/streams-context.js';
import type { TileFormat } from '../serving/tile-service.js';

export type { StreamsContext };

/** Versioned layers never change (immutable paths): a year, immutable. "Current" changes on publication. */
export function cacheControl(layer: RasterLayer): string {
  return isVersioned(layer) ? 'public, max-age=31536000, immutable' : 'public, max-age=300, stale-while-revalidate=60';
}

/** True when If-None-Match names this strong ETag (or is `*`). */
export function matchesIfNoneMatch(request: FastifyRequest, etag: string): boolean {
  const inm = request.headers['if-none-match'];
  if (!inm) return false;
  return inm
    .split(',')
    .map((s) => s.trim().replace(/^W\//, ''))
    .some((s) => s === etag || s === '*');
}

export function checkRead(s: StreamsContext, request: FastifyRequest, layer: RasterLayer): Promise<void> {
  return s.app.access.checkRead(request.caller, { datasetId: layer.datasetId, ...(layer.version ? { version: layer.version.name } : {}) });
}

/**
 * Answers a tile: ETag from the cached indexes first (304 without reading the tile), then the
 * bytes. Empty areas: the cached transparent PNG (200) or 404, as configured.
 */
export async function sendTile(s: StreamsContext, request: FastifyRequest, reply: FastifyReply, layer: RasterLayer, tms: TileMatrixSet, z: number, col: number, row: number, format: TileFormat): Promise<FastifyReply> {
  await checkRead(s, request, layer);
  reply.header('access-control-allow-origin', '*');
  reply.header('access-control-expose-headers', 'ETag');
  const etag = await s.tiles.tileEtag(layer, tms, z, col, row, format);
  if (etag) {
    reply.header('etag', etag).header('cache-control', cacheControl(layer));
    if (matchesIfNoneMatch(request, etag)) return reply.code(304).send();
    const tile = await s.tiles.tile(layer, tms, z, col, row, format);
    if (tile) return reply.header('etag', tile.etag).type(tile.contentType).send(tile.body);
  }
  return sendEmpty(s, request, reply, layer);
}

export async function sendEmpty(s: StreamsContext, request: FastifyRequest, reply: FastifyReply, layer: RasterLayer): Promise<FastifyReply> {
  reply.header('access-control-allow-origin', '*');
  if (s.app.config.streams.emptyTile === '404') return reply.code(404).header('cache-control', cacheControl(layer)).type('text/plain').send('no data here\n');
  const etag = '"empty-256"';
  reply.header('etag', etag).header('cache-control', cacheControl(layer));
  if (matchesIfNoneMatch(request, etag)) return reply.code(304).send();
  return reply.type('image/png').send(await s.tiles.emptyPng());
}

/** Sends an XML/JSON document, gzipped when the client accepts it (capabilities compress ~10×). */
export function sendDocument(request: FastifyRequest, reply: FastifyReply, body: string, type: string, cache = 'public, max-age=60'): FastifyReply {
  reply.header('access-control-allow-origin', '*').header('cache-control', cache).header('vary', 'Accept-Encoding').type(type);
  const ae = request.headers['accept-encoding'];
  if (typeof ae === 'string' && /\bgzip\b/.test(ae) && body.length > 1024) return reply.header('content-encoding', 'gzip').send(gzipSync(body));
  return reply.send(body);
}
