import type { Capability } from '../context/capability.js';
import { registerAttachmentRoutes } from './attachment-routes.js';
import { AttachmentService } from './attachments.js';
import { declarationsCommand } from './cli.js';
import { registerIntegrations } from './integrations.js';
import { registerDeclarationRoutes } from './routes.js';
import { DeclarationService } from './service.js';
import { registerToUpdate } from './to-update-routes.js';
import { registerWorkflowRoutes } from './workflow-routes.js';

/**
 * Declarations (issue 11): errors, update requests, works and interventions on the territory;
 * moderators triage them (status, assignment, comments, one or in bulk) and followers are e-mailed.
 */
export const declarationsCapability: Capability = {
  name: 'declarations',
  summary: 'Declarations (errors, update requests, works, interventions): create, triage (one or in bulk), action log, attachments, followers’ e-mails with unsubscribe links, anonymous declarations, works "to update" marks, DT-DICT import, Atom feed, webhooks, OGC API collection, statistics, list/export',
  async http(server, ctx) {
    const service = new DeclarationService(ctx);
    registerDeclarationRoutes(server.app, service);
    registerWorkflowRoutes(server, service);
    registerIntegrations(server, ctx, service);
    registerToUpdate(server, ctx);
    await registerAttachmentRoutes(server.app, new AttachmentService(ctx));
  },
  commands: [declarationsCommand],
  configKeys: ['territory', 'mail', 'publicUrl', 'declarations', 'secretKey', 'storage', 'worksToUpdate'],
};
