import type { Capability } from '../context/capability.js';
import { campaignsCommand } from './cli.js';
import { registerCampaignRoutes } from './routes.js';
import { CampaignService } from './service.js';

/**
 * Update campaigns (issue 14): the APLC orders the survey of an area — drawn, the "to update"
 * marks, communes, or dalles older than N years — whose expected dalles deliveries tick off.
 */
export const campaignsCapability: Capability = {
  name: 'campaigns',
  summary: 'Update campaigns: target area, expected dalles, status workflow and log, deliveries ticked off (pcrs ingest --campaign)',
  http(server, ctx) {
    registerCampaignRoutes(server.app, new CampaignService(ctx));
  },
  commands: [campaignsCommand],
};
