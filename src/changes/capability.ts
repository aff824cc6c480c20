import type { Capability } from '../context/capability.js';
import { changesCommand } from './cli.js';
import { registerChangeRoutes } from './routes.js';

/** The changes feed (issue 14): what was published since a date, for GIS to sync only that. */
export const changesCapability: Capability = {
  name: 'changes',
  summary: 'The changes feed: dalles and vector areas published since a date, with download links (JSON, Atom, pcrs changes)',
  http(server, ctx) {
    registerChangeRoutes(server.app, ctx);
  },
  commands: [changesCommand],
};
