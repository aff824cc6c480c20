/**
 * The scheduled fixity scrub of the serve process, every `storage.verifySchedule.intervalHours`.
 * Several nodes may run `pcrs serve`; a lease (jobs/leases.ts) makes exactly one of them scrub per
 * period.
 */
import type { Config } from '../config/config.js';
import type { Logger } from '../context/logger.js';
import { startLeasedLoop } from '../jobs/leases.js';
import type { StorageServices } from '../storage/tier-services.js';
import { runVerify } from './fixity.js';

type Schedule = NonNullable<Config['storage']['verifySchedule']>;

/** Starts the scheduler; the returned function stops it (an ongoing scrub checkpoints and is resumed later). */
export function startVerifyScheduler(services: StorageServices, schedule: Schedule, log: Logger, options: { tickMs?: number } = {}): () => Promise<void> {
  return startLeasedLoop(services.db, {
    name: 'storage-verify',
    everySeconds: schedule.intervalHours * 3600,
    leaseSeconds: 600,
    ...(options.tickMs ? { tickMs: options.tickMs } : {}),
    log,
    run: async (signal) => {
      log.info('scheduled fixity scrub: starting');
      const r = await runVerify(
        services,
        { ...(schedule.tiers ? { tiers: schedule.tiers } : {}), samplePercent: schedule.sample, repair: schedule.repair, ...(schedule.bytesPerSecond ? { bytesPerSecond: schedule.bytesPerSecond } : {}) },
        { signal },
      );
      const msg = `scheduled fixity scrub (job ${r.jobId}): ${r.checked} checked, ${r.ok} ok, ${r.missing} missing, ${r.corrupted} corrupted, ${r.unlisted} unlisted, ${r.repaired} repaired`;
      if (r.clean) log.info(msg);
      else log.warn(`${msg} — NOT CLEAN, see GET /api/storage/fixity`);
      return true;
    },
  });
}
