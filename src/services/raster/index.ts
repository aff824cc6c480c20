import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { OgcRegistry } from '../../ogc/ogc-api.js';
import { PyramidReader } from '../../pyramid/pyramid-reader.js';
import type { AppContext } from '../../server/app.js';
import { openTier } from '../../tiers/tiers.js';
import type { StreamsContext } from './http.js';
import { RasterLayers } from './layers.js';
import { RasterTileService } from './tile-service.js';
import { registerWms } from './wms.js';
import { registerWmts } from './wmts.js';
import { registerXyzAndOgcTiles } from './xyz.js';

export { CURRENT_LAYER } from './layers.js';

/**
 * Raster streams of the orthophoto from the hot pyramid: WMTS 1.0.0 (/wmts), WMS 1.3.0 (/wms),
 * XYZ + TileJSON (/tiles) and OGC API — Tiles (/ogc). One tile service shared by all.
 */
export function registerRasterStreams(app: FastifyInstance, ctx: AppContext, ogc: OgcRegistry): StreamsContext {
  const reader = ctx.pyramid ?? new PyramidReader(ctx.db, openTier(ctx.config, 'hot'), { quality: ctx.config.pyramid.jpegQuality });
  const s: StreamsContext = {
    app: ctx,
    layers: new RasterLayers(ctx.db, ctx.catalog),
    tiles: new RasterTileService(reader, {
      cacheDir: path.join(ctx.config.dataDir, 'cache'),
      pmCacheBytes: ctx.config.streams.pmCacheMB * 1024 * 1024,
      quality: ctx.config.pyramid.jpegQuality,
    }),
  };
  if (!ctx.pyramid) app.addHook('onClose', async () => reader.close());
  app.options('/wmts', corsPreflight);
  app.options('/wms', corsPreflight);
  app.options('/tiles/*', corsPreflight);
  registerWmts(app, s);
  registerWms(app, s);
  registerXyzAndOgcTiles(app, s, ogc);
  return s;
}

async function corsPreflight(_request: unknown, reply: import('fastify').FastifyReply) {
  return reply
    .code(204)
    .header('access-control-allow-origin', '*')
    .header('access-control-allow-methods', 'GET, HEAD, OPTIONS')
    .header('access-control-allow-headers', 'Authorization, If-None-Match')
    .header('access-control-max-age', '86400')
    .send();
}
