import type { Capability } from '../context/capability.js';
import { permissionCommand, tokenCommand, visibilityCommand } from './cli.js';
import { registerAccessRoutes } from './routes.js';

/**
 * Identity and access: API keys, permissions, visibility of datasets and versions; its
 * PlatformAccessPolicy (policy.ts) is the context's default policy.
 */
export const accessCapability: Capability = {
  name: 'access',
  summary: 'API keys, permissions (perimeter, end date), visibility of datasets and versions',
  http(server, ctx) {
    registerAccessRoutes(server.app, ctx);
    // Writes the batched key counters and stops listening when the server closes.
    server.onClose(async () => {
      await ctx.access.close?.();
    });
  },
  commands: [tokenCommand, visibilityCommand, permissionCommand],
  configKeys: ['secretKey', 'auth'],
};
