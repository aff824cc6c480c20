import type { Capability } from '../context/capability.js';
import { startLeasedLoop } from '../jobs/leases.js';
import { errorMessage, UserError } from '../util/errors.js';
import { contributionsCommand } from './cli.js';
import { registerContributionRoutes } from './routes.js';
import { ContributionService, PUBLISH_JOB, VALIDATE_JOB } from './service.js';
import { STAGE_JOB } from './review.js';
import type { ContributionFile } from './store.js';

/**
 * Contributions (issue 12): partners send PCRS updates — orthophoto dalles, CNIG GML — for their
 * organisation through resumable uploads (tus); each finished file is hashed, stored in the
 * intermediate tier and validated in the background with the ingest's and the import's rules.
 */
export const contributionsCapability: Capability = {
  name: 'contributions',
  summary: 'Contributions of partners: resumable uploads (tus) of dalles and CNIG GML, validated in the background with the ingest and import rules',
  http(server, ctx) {
    const service = new ContributionService(ctx);
    const running = new Map<number, Promise<unknown>>();
    const stopping = new AbortController();
    const start = (f: Pick<ContributionFile, 'id'>) => {
      if (running.has(f.id)) return;
      const p = service
        .validate(f.id, { signal: stopping.signal })
        .catch((e: unknown) => {
          if (!(e instanceof UserError && (e.code === 'job-busy' || e.code === 'job-interrupted'))) ctx.log.warn({ err: errorMessage(e), file: f.id }, 'contribution file validation failed');
        })
        .finally(() => running.delete(f.id));
      running.set(f.id, p);
    };
    const publishing = new Map<number, Promise<unknown>>();
    const publish = (id: number) => {
      if (publishing.has(id)) return;
      const p = service
        .publish(id, { signal: stopping.signal })
        .catch((e: unknown) => {
          if (!(e instanceof UserError && (e.code === 'job-busy' || e.code === 'job-interrupted'))) ctx.log.warn({ err: errorMessage(e), contribution: id }, 'contribution publication failed');
        })
        .finally(() => publishing.delete(id));
      publishing.set(id, p);
    };
    const { store } = registerContributionRoutes(server.app, service, start, publish);
    // Validations a stopped process left unfinished, and uploads abandoned for too long: one node a minute.
    server.onListen(() =>
      startLeasedLoop(ctx.db, {
        name: 'contributions',
        everySeconds: 60,
        leaseSeconds: 300,
        log: ctx.log,
        async run() {
          for (const f of await service.store.pendingFiles()) start(f);
          for (const id of await service.store.publishing()) publish(id);
          await store.deleteExpired().catch((e: unknown) => ctx.log.warn({ err: errorMessage(e) }, 'contributions: expired uploads not deleted'));
          return true;
        },
      }),
    );
    server.onClose(async () => {
      stopping.abort();
      await Promise.allSettled([...running.values(), ...publishing.values()]);
    });
  },
  commands: [contributionsCommand],
  jobKinds: [VALIDATE_JOB, PUBLISH_JOB, STAGE_JOB],
  configKeys: ['contributions'],
};
