import type { Capability } from '../context/capability.js';
import { registerPublicationRoutes } from './routes.js';
import { PublicationService } from './service.js';

/**
 * Bulk publication (issue 13, item 4): `/telechargement/`, a static-looking tree of every published
 * orthophoto version anyone may read — one file per dalle served from its tier, SHA256SUMS,
 * LICENCE.txt, index pages — that `wget -m` and HTTP mirrors copy.
 */
export const publicationCapability: Capability = {
  name: 'publication',
  summary: 'Bulk download tree /telechargement/: one file per dalle (the masters, from their tiers), SHA256SUMS, licence, index pages',
  http(server, ctx) {
    registerPublicationRoutes(server.app, new PublicationService(ctx));
  },
};
