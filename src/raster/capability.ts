import type { Capability } from '../context/capability.js';
import { ingestCommand } from './cli.js';
import { registerRasterRoutes } from './http/routes.js';

/**
 * The orthophoto: ingest of deliveries (validation, masters, pyramid), the hot pyramid and its
 * reader, TIFF reading/writing, rendering, and the streams (WMTS, WMS, XYZ, OGC API Tiles) and
 * dalle downloads over it.
 */
export const rasterCapability: Capability = {
  name: 'raster',
  summary: 'Orthophoto: ingest, hot pyramid, WMTS/WMS/XYZ/OGC API Tiles, dalle downloads',
  http: (server, ctx) => void registerRasterRoutes(server, ctx),
  commands: [ingestCommand],
  jobKinds: ['ingest'],
  configKeys: ['pyramid', 'streams', 'wms'],
};
