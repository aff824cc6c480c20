import type { Capability } from '../context/capability.js';
import { declarationsCommand } from './cli.js';
import { registerIntegrations } from './integrations.js';
import { registerDeclarationRoutes } from './routes.js';
import { DeclarationService } from './service.js';

/**
 * Declarations (issue 11, first slice): errors, update requests, works and interventions on the
 * territory; moderators triage them (status, assignment, comments) and authors are e-mailed.
 */
export const declarationsCapability: Capability = {
  name: 'declarations',
  summary: 'Declarations (errors, update requests, works, interventions): create, triage, action log, author e-mails, list/export',
  http(server, ctx) {
    registerDeclarationRoutes(server.app, new DeclarationService(ctx));
    registerIntegrations(server, ctx, new DeclarationService(ctx));
  },
  commands: [declarationsCommand],
  configKeys: ['territory', 'mail', 'publicUrl', 'declarations', 'secretKey'],
};
