import type { Logger } from '../context/logger.js';
import { acquireLease, releaseLease } from '../jobs/leases.js';
import type { StorageServices } from '../storage/tier-services.js';
import { errorMessage } from '../util/errors.js';
import { pollOpenRestores } from './restore.js';

/**
 * Polls the open restore requests of a listening server every `pollSeconds` (a lease makes one node
 * of several do it), so requesters are notified without anyone asking. Returns its stop.
 */
export function startRestorePoller(services: StorageServices, log: Logger, options: { tickMs?: number; pollSeconds?: number } = {}): () => Promise<void> {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      if (await acquireLease(services.db, 'restore-poll', options.pollSeconds ?? 300, 120)) {
        try {
          await pollOpenRestores(services);
        } finally {
          await releaseLease(services.db, 'restore-poll', true);
        }
      }
    } catch (e) {
      if (!stopped) log.warn(`restore poller: ${errorMessage(e)}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => {
    running = tick();
  }, options.tickMs ?? 60_000);
  timer.unref();
  running = tick();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running.catch(() => undefined);
  };
}
