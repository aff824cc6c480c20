import type { Capability } from '../context/capability.js';
import { licencesCommand } from './cli.js';
import { registerLicenceRoutes } from './routes.js';
import { LicenceService } from './service.js';

/**
 * Licence and charter (issue 13, item 3): the Licence Ouverte 2.0 for open data, the usage charter
 * for restricted data; acceptances recorded per user or anonymous browser; extracts of restricted
 * data need the charter accepted.
 */
export const licencesCapability: Capability = {
  name: 'licences',
  summary: 'Licence Ouverte 2.0 and usage charter: texts, versions, acceptances by user or browser, charter required for restricted extracts',
  http(server, ctx) {
    registerLicenceRoutes(server.app, ctx, new LicenceService(ctx));
  },
  commands: [licencesCommand],
  configKeys: ['licences'],
};
