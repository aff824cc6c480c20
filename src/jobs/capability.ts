import type { Capability } from '../context/capability.js';
import { registerJobRoutes } from './routes.js';

export const jobsCapability: Capability = {
  name: 'jobs',
  summary: 'Persistent, resumable background jobs with progress (ingest, pyramid, fixity, archive, restore…)',
  http: ({ app }, ctx) => registerJobRoutes(app, ctx),
};
