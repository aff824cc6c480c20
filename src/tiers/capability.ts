import type { Capability } from '../context/capability.js';
import { storageCommand } from './cli.js';
import { registerStorageRoutes } from './routes.js';
import { startVerifyScheduler } from './scheduler.js';
import { storageServices } from './services.js';

/**
 * The storage tiers kept safe: NAS mirror, fixity (scrubs, repair, append-only log), usage and
 * cost per tier; the scheduled scrub of a listening server.
 */
export const tiersCapability: Capability = {
  name: 'tiers',
  summary: 'Storage tiers: NAS sync, fixity scrubs and repair, usage and cost',
  http(server, ctx) {
    const services = storageServices(ctx);
    registerStorageRoutes(server.app, services);
    const schedule = ctx.config.storage.verifySchedule;
    if (schedule) server.onListen(() => startVerifyScheduler(services, schedule, ctx.log));
  },
  commands: [storageCommand],
  jobKinds: ['storage-verify', 'sync-nas'],
  configKeys: ['storage'],
};
