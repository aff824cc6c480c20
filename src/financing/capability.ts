import type { Capability } from '../context/capability.js';
import { financingCommand } from './cli.js';
import { registerFinancingRoutes } from './routes.js';
import { FinancingService } from './service.js';

/**
 * The financing plan (issue 15, items 3–5): amounts entered by the commission, campaign budgets,
 * measured storage, contributions in kind and usage, shared among partners by allocation keys.
 */
export const financingCapability: Capability = {
  name: 'financing',
  summary: 'The financing plan: six lines from entered amounts, campaign budgets and measurements; allocation keys; partners’ shares and balances',
  http(server, ctx) {
    registerFinancingRoutes(server.app, new FinancingService(ctx), ctx.config.territory.name);
  },
  commands: [financingCommand],
  configKeys: ['financing'],
};
