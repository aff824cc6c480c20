import type { Capability } from '../context/capability.js';
import { registerOgcCommonRoutes } from './routes.js';

export const ogcCapability: Capability = {
  name: 'ogc',
  summary: 'OGC API common part (/ogc): landing page, OpenAPI 3.0 definition, conformance, the collections the other capabilities provide',
  http: ({ app, ogc }, ctx) => registerOgcCommonRoutes(app, ctx, ogc),
};
