import type { Capability } from '../context/capability.js';
import { declarationsCommand } from './cli.js';
import { registerDeclarationRoutes } from './routes.js';
import { DeclarationService } from './service.js';
import { registerWorkflowRoutes } from './workflow-routes.js';

/**
 * Declarations (issue 11): errors, update requests, works and interventions on the territory;
 * moderators triage them (status, assignment, comments, one or in bulk) and followers are e-mailed.
 */
export const declarationsCapability: Capability = {
  name: 'declarations',
  summary: 'Declarations (errors, update requests, works, interventions): create, triage (one or in bulk), action log, followers’ e-mails with unsubscribe links, anonymous declarations, list/export',
  http(server, ctx) {
    const service = new DeclarationService(ctx);
    registerDeclarationRoutes(server.app, service);
    registerWorkflowRoutes(server, service);
  },
  commands: [declarationsCommand],
  configKeys: ['territory', 'mail', 'publicUrl', 'declarations', 'secretKey'],
};
