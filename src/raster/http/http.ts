import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { transformBbox } from '../../grid/crs.js';
import { tileBbox, type TileMatrixSet } from '../../grid/tile-matrix-set.js';
import { isVersioned, type RasterLayer } from '../serving/layers.js';
import type { StreamsContext } from '../serving/streams-context.js';
import type { TileFormat } from '../serving/tile-service.js';
import { noteUsage } from '../../http/usage.js';

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

/** Throws 401/403 unless the caller may read the layer (over `bbox`, Lambert-93, when given: perimeters). */
export function checkRead(s: StreamsContext, request: FastifyRequest, layer: RasterLayer, bbox?: readonly [number, number, number, number]): Promise<void> {
  return s.app.access.checkRead(request.caller, { datasetId: layer.datasetId, ...(layer.version ? { version: layer.version.name } : {}), ...(bbox ? { bbox } : {}) });
}

/** The layers the caller may read: capabilities, TileJSON and OGC collections list only these. */
export async function readableLayers(s: StreamsContext, request: FastifyRequest): Promise<RasterLayer[]> {
  const out: RasterLayer[] = [];
  for (const layer of await s.layers.list()) {
    if (await s.app.access.canRead(request.caller, { datasetId: layer.datasetId, ...(layer.version ? { version: layer.version.name } : {}) })) out.push(layer);
  }
  return out;
}

/** Capabilities differ by caller once restricted layers exist: shared caches may keep only anonymous ones. */
export function capabilitiesCache(request: FastifyRequest): string {
  return request.caller.kind === 'anonymous' ? 'public, max-age=60' : 'private, max-age=60';
}

/** Lambert-93 extent of a tile, for perimeter checks. */
export function tileBbox2154(tms: TileMatrixSet, z: number, col: number, row: number): readonly [number, number, number, number] {
  const b = tileBbox(tms, z, col, row);
  return tms.crs === 'EPSG:2154' ? b : (transformBbox(tms.crs, 'EPSG:2154', b, 2) as [number, number, number, number]);
}

/**
 * Answers a tile: ETag from the cached indexes first (304 without reading the tile), then the
 * bytes. Empty areas: the cached transparent PNG (200) or 404, as configured.
 */
export async function sendTile(s: StreamsContext, request: FastifyRequest, reply: FastifyReply, layer: RasterLayer, tms: TileMatrixSet, z: number, col: number, row: number, format: TileFormat): Promise<FastifyReply> {
  // Anonymous callers hold no permission, so no perimeter: the tile's extent matters for the others only.
  await checkRead(s, request, layer, request.caller.kind === 'anonymous' ? undefined : tileBbox2154(tms, z, col, row));
  noteUsage(request, { layer: layer.id, tile: { tms, z, col, row } });
  reply.header('access-control-allow-origin', '*');
  reply.header('access-control-expose-headers', 'ETag');
  // Restricted tiles are per caller: no shared cache may hand them to someone else.
  const cache = request.caller.kind === 'anonymous' ? cacheControl(layer) : cacheControl(layer).replace('public', 'private');
  const etag = await s.tiles.tileEtag(layer, tms, z, col, row, format);
  if (etag) {
    reply.header('etag', etag).header('cache-control', cache);
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
