import type { Capability } from '../context/capability.js';
import { communesCommand } from './cli.js';
import { registerCommuneRoutes } from './routes.js';

/**
 * Communes and EPCI of the territory (issue 13): the reference from @etalab/decoupage-administratif,
 * outlines from ADMIN EXPRESS, search and outlines over HTTP for go-to-commune and extracts.
 */
export const communesCapability: Capability = {
  name: 'communes',
  summary: 'Communes and EPCI of the territory: reference (names, INSEE codes, EPCI, population), ADMIN EXPRESS outlines, search',
  http(server, ctx) {
    registerCommuneRoutes(server.app, ctx);
  },
  commands: [communesCommand],
  configKeys: ['territory'],
};
