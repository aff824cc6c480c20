import type { Capability } from '../context/capability.js';
import { gmlCommand } from './cli.js';
import { registerVectorRoutes } from './http/routes.js';

/**
 * The vector PCRS (CNIG GML v2.0): streaming reader, XSD + CNIG rules, import into PostGIS,
 * OGC API Features, WFS 2.0, vector tiles and exports.
 */
export const vectorCapability: Capability = {
  name: 'vector',
  summary: 'Vector PCRS (CNIG GML v2.0): validation, import, OGC API Features, WFS, vector tiles, exports',
  http: (server, ctx) => registerVectorRoutes(server, ctx),
  commands: [gmlCommand],
};
