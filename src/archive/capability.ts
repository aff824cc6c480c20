import type { Capability } from '../context/capability.js';
import { storageServices } from '../tiers/services.js';
import { archiveCommand, restoreCommand } from './cli.js';
import { startRestorePoller } from './poller.js';
import { registerArchiveRoutes } from './routes.js';

/**
 * The cold archive of raw aerotriangulation data: BagIt packages (RFC 8493), the S3 restore
 * workflow with notification of the requester, downloads of restored packages.
 */
export const archiveCapability: Capability = {
  name: 'archive',
  summary: 'Cold archive: BagIt packages of raw data, restore on request with notification, downloads',
  http(server, ctx) {
    const services = storageServices(ctx);
    registerArchiveRoutes(server.app, services);
    server.onListen(() => startRestorePoller(services, ctx.log));
  },
  commands: [archiveCommand, restoreCommand],
  jobKinds: ['archive', 'restore'],
};
