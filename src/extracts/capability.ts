import type { Capability } from '../context/capability.js';
import { startLeasedLoop } from '../jobs/leases.js';
import { errorMessage, UserError } from '../util/errors.js';
import { extractCommand } from './cli.js';
import { registerExtractRoutes } from './routes.js';
import { EXTRACT_JOB, ExtractService } from './service.js';

/**
 * Extracts by area (issue 13): ZIPs of orthophoto masters and vector PCRS over a drawn area, a
 * commune or an EPCI, computed on the fly from a plan, resumable, re-used, expired after N days.
 */
export const extractsCapability: Capability = {
  name: 'extracts',
  summary: 'Extracts by area (drawn, commune, EPCI): orthophoto masters and CNIG GML in one ZIP computed on the fly, resumable, re-used, expiring',
  http(server, ctx) {
    const service = new ExtractService(ctx);
    // Extracts this process is building, stopped at a safe point (and resumable) when it closes.
    const running = new Map<number, Promise<unknown>>();
    const stopping = new AbortController();
    const start = (id: number) => {
      if (running.has(id)) return;
      const p = service
        .run(id, { signal: stopping.signal })
        .catch((e: unknown) => {
          if (!(e instanceof UserError && (e.code === 'job-busy' || e.code === 'job-interrupted'))) ctx.log.warn({ err: errorMessage(e), extract: id }, 'extract failed');
        })
        .finally(() => running.delete(id));
      running.set(id, p);
    };
    registerExtractRoutes(server.app, service, start);
    // Expiry, and extracts left queued or running by a node that died: one node a minute.
    server.onListen(() =>
      startLeasedLoop(ctx.db, {
        name: 'extracts',
        everySeconds: 60,
        leaseSeconds: 300,
        log: ctx.log,
        async run() {
          await service.expire();
          // Another live process building one answers job-busy, which start() ignores.
          for (const e of await service.store.unfinished()) start(e.id);
          return true;
        },
      }),
    );
    server.onClose(async () => {
      stopping.abort();
      await Promise.allSettled([...running.values()]);
    });
  },
  commands: [extractCommand],
  jobKinds: [EXTRACT_JOB],
  configKeys: ['extracts', 'territory', 'publicUrl'],
};
