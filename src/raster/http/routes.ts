import path from 'node:path';
import type { AppContext } from '../../context/app-context.js';
import type { CapabilityServer } from '../../context/capability.js';
import { PyramidReader } from '../pyramid/pyramid-reader.js';
import { RasterLayers } from '../serving/layers.js';
import type { StreamsContext } from '../serving/streams-context.js';
import { RasterTileService } from '../serving/tile-service.js';
import { registerDalleDownload } from './download.js';
import { registerWms } from './wms.js';
import { registerWmts } from './wmts.js';
import { registerXyzAndOgcTiles } from './xyz.js';

/**
 * Raster streams of the orthophoto from the hot pyramid: WMTS 1.0.0 (/wmts), WMS 1.3.0 (/wms),
 * XYZ + TileJSON (/tiles) and OGC API — Tiles (/ogc), one tile service shared by all; and the
 * per-dalle download of the masters.
 */
export function registerRasterRoutes(server: CapabilityServer, ctx: AppContext, reader = new PyramidReader(ctx.db, ctx.tiers.hot, { quality: ctx.config.pyramid.jpegQuality })): StreamsContext {
  const { app } = server;
  const s: StreamsContext = {
    app: ctx,
    layers: new RasterLayers(ctx.db, ctx.catalog),
    tiles: new RasterTileService(reader, {
      cacheDir: path.join(ctx.config.dataDir, 'cache'),
      pmCacheBytes: ctx.config.streams.pmCacheMB * 1024 * 1024,
      quality: ctx.config.pyramid.jpegQuality,
    }),
  };
  server.onClose(() => reader.close());
  const preflight = { config: { access: 'public' as const }, schema: { hide: true } };
  app.options('/wmts', preflight, corsPreflight);
  app.options('/wms', preflight, corsPreflight);
  app.options('/tiles/*', preflight, corsPreflight);
  registerWmts(app, s);
  registerWms(app, s);
  registerXyzAndOgcTiles(app, s, server.ogc);
  registerDalleDownload(app, ctx);
  return s;
}

async function corsPreflight(_request: unknown, reply: import('fastify').FastifyReply) {
  return reply
    .code(204)
    .header('access-control-allow-origin', '*')
    .header('access-control-allow-methods', 'GET, HEAD, OPTIONS')
    .header('access-control-allow-headers', 'Authorization, If-None-Match, apikey')
    .header('access-control-max-age', '86400')
    .send();
}
