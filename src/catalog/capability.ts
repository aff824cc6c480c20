import type { Capability } from '../context/capability.js';
import { dallesCommand, versionsCommand } from './cli.js';
import { registerCatalogRoutes } from './routes.js';

export const catalogCapability: Capability = {
  name: 'catalog',
  summary: 'Datasets, versions (millésimes, updates), dalles and stored assets: the catalogue everything else reads',
  http: ({ app }, ctx) => registerCatalogRoutes(app, ctx),
  commands: [versionsCommand, dallesCommand],
  configKeys: ['territory'],
};
