import type { Capability } from '../context/capability.js';
import { errorMessage, UserError } from '../util/errors.js';
import { campaignsCommand } from './cli.js';
import { registerCampaignRoutes } from './routes.js';
import { CampaignService, CHECK_JOB } from './service.js';

/**
 * Update campaigns (issue 14): the APLC orders the survey of an area — drawn, the "to update"
 * marks, communes, or dalles older than N years — whose expected dalles deliveries tick off.
 */
export const campaignsCapability: Capability = {
  name: 'campaigns',
  summary: 'Update campaigns: target area, expected dalles, status workflow and log, deliveries ticked off (pcrs ingest --campaign)',
  http(server, ctx) {
    const service = new CampaignService(ctx);
    const running = new Map<string, Promise<unknown>>();
    const stopping = new AbortController();
    registerCampaignRoutes(server.app, service, (caller, slug) => {
      if (running.has(slug)) return;
      const p = service
        .check(caller, slug, { signal: stopping.signal })
        .catch((e: unknown) => {
          if (!(e instanceof UserError && (e.code === 'job-busy' || e.code === 'job-interrupted'))) ctx.log.warn({ err: errorMessage(e), campaign: slug }, 'campaign check failed');
        })
        .finally(() => running.delete(slug));
      running.set(slug, p);
    }, ctx.config);
    server.onClose(async () => {
      stopping.abort();
      await Promise.allSettled([...running.values()]);
    });
  },
  commands: [campaignsCommand],
  jobKinds: [CHECK_JOB],
  configKeys: ['campaigns'],
};
