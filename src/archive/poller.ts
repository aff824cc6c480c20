import type { Logger } from '../context/logger.js';
import { startLeasedLoop } from '../jobs/leases.js';
import type { StorageServices } from '../storage/tier-services.js';
import { pollOpenRestores } from './restore.js';

/**
 * Polls the open restore requests of a listening server every `pollSeconds` (a lease makes one node
 * of several do it), so requesters are notified without anyone asking. Returns its stop.
 */
export function startRestorePoller(services: StorageServices, log: Logger, options: { tickMs?: number; pollSeconds?: number } = {}): () => Promise<void> {
  return startLeasedLoop(services.db, {
    name: 'restore-poll',
    everySeconds: options.pollSeconds ?? 300,
    leaseSeconds: 120,
    ...(options.tickMs ? { tickMs: options.tickMs } : {}),
    log,
    run: async () => {
      await pollOpenRestores(services);
      return true;
    },
  });
}
