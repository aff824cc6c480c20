/** HTTP services of the vector PCRS: OGC API Features (/ogc), WFS 2.0 (/wfs), vector tiles, exports. */
import type { AppContext } from '../../context/app-context.js';
import type { CapabilityServer } from '../../context/capability.js';
import { registerExportRoutes } from './export-routes.js';
import { registerMvtRoutes } from './mvt-routes.js';
import { registerOgcFeatureRoutes } from './ogc-features.js';
import { registerWfsRoutes } from './wfs.js';

export function registerVectorRoutes({ app, ogc }: CapabilityServer, ctx: AppContext): void {
  registerOgcFeatureRoutes(app, ctx, ogc);
  registerWfsRoutes(app, ctx);
  registerMvtRoutes(app, ctx);
  registerExportRoutes(app, ctx);
}
