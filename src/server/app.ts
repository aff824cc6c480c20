import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Catalog } from '../catalog/catalog.js';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import type { JobStore } from '../jobs/jobs.js';
import { PACKAGE_ROOT } from '../util/package-info.js';
import { registerCatalogRoutes } from './catalog-routes.js';
import { registerHealthRoutes } from './health.js';
import { OgcRegistry, registerOgcCommonRoutes } from '../ogc/ogc-api.js';
import type { AccessPolicy } from './access.js';
import { registerProblemHandlers } from './problem.js';
import { registerStorageRoutes } from '../tiers/routes.js';
import { registerVectorServices } from '../vector/routes.js';
import type { PyramidReader } from '../pyramid/pyramid-reader.js';
import { registerRasterStreams } from '../services/raster/index.js';

/** What request handlers need; built once per process by `createAppContext`. */
export interface AppContext {
  config: Config;
  db: Database;
  catalog: Catalog;
  jobs: JobStore;
  /** Who may read what (open data by default); see access.ts. */
  access?: AccessPolicy;
  /** Hot-pyramid reader shared by the raster streams (created from the hot tier when absent). */
  pyramid?: PyramidReader;
}

export const PORTAL_DIST = path.join(PACKAGE_ROOT, 'portal', 'dist');

export async function buildServer(ctx: AppContext, options: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger === false ? false : { level: ctx.config.logLevel },
    // Ids are short and sortable in logs; clients may pass their own for tracing.
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    trustProxy: true,
  });
  registerProblemHandlers(app);
  registerHealthRoutes(app, ctx);
  registerCatalogRoutes(app, ctx);
  // Storage tiers: usage/cost, fixity, cold archive restore (technical role; src/tiers, src/archive).
  registerStorageRoutes(app, ctx);
  // OGC API (/ogc): capabilities register their providers here (raster tiles, vector features).
  const ogc = new OgcRegistry();
  registerOgcCommonRoutes(app, ctx, ogc);
  // Vector PCRS: OGC API Features, WFS 2.0, vector tiles, exports (src/vector).
  registerVectorServices(app, ctx, ogc);
  // Raster streams: WMTS, WMS, XYZ/TileJSON, OGC API Tiles (src/services/raster).
  registerRasterStreams(app, ctx, ogc);
  if (existsSync(path.join(PORTAL_DIST, 'index.html'))) {
    await app.register(fastifyStatic, { root: PORTAL_DIST, prefix: '/', wildcard: false, index: ['index.html'] });
  } else {
    app.log.warn(`portal not built (${PORTAL_DIST} missing): run npm run build`);
  }
  return app;
}
