import type { Capability } from '../context/capability.js';
import { declarationsCommand } from './cli.js';
import { registerDeclarationRoutes } from './routes.js';
import { DeclarationService } from './service.js';
import { registerToUpdate } from './to-update-routes.js';

/**
 * Declarations (issue 11, first slice): errors, update requests, works and interventions on the
 * territory; moderators triage them (status, assignment, comments) and authors are e-mailed.
 */
export const declarationsCapability: Capability = {
  name: 'declarations',
  summary: 'Declarations (errors, update requests, works, interventions): create, triage, action log, author e-mails, list/export',
  http(server, ctx) {
    registerDeclarationRoutes(server.app, new DeclarationService(ctx));
    registerToUpdate(server, ctx);
  },
  commands: [declarationsCommand],
  configKeys: ['territory', 'mail', 'publicUrl', 'worksToUpdate'],
};
