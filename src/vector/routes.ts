/** HTTP services of the vector PCRS: OGC API Features (/ogc), WFS 2.0 (/wfs), vector tiles, exports. */
import type { FastifyInstance } from 'fastify';
import type { OgcRegistry } from '../ogc/ogc-api.js';
import type { AppContext } from '../server/app.js';
import { registerExportRoutes } from './export-routes.js';
import { registerMvtRoutes } from './mvt.js';
import { registerOgcFeatureRoutes } from './ogc-features.js';
import { registerWfsRoutes } from './wfs.js';

export function registerVectorServices(app: FastifyInstance, ctx: AppContext, ogc: OgcRegistry): void {
  registerOgcFeatureRoutes(app, ctx, ogc);
  registerWfsRoutes(app, ctx);
  registerMvtRoutes(app, ctx);
  registerExportRoutes(app, ctx);
}
