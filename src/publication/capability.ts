import type { Capability } from '../context/capability.js';
import { startLeasedLoop } from '../jobs/leases.js';
import { errorMessage, UserError } from '../util/errors.js';
import { publicationCommand } from './cli.js';
import { registerPublicationRoutes } from './routes.js';
import { PublicationService } from './service.js';
import { VECTOR_PUBLICATION_JOB } from './vector.js';

/**
 * Bulk publication (issue 13, item 4): `/telechargement/`, a static-looking tree of every published
 * orthophoto version anyone may read — one file per dalle served from its tier, SHA256SUMS,
 * LICENCE.txt, index pages — and of the vector PCRS, one CNIG GML file per commune, that `wget -m`
 * and HTTP mirrors copy.
 */
export const publicationCapability: Capability = {
  name: 'publication',
  summary: 'Bulk download tree /telechargement/: one file per dalle (the masters, from their tiers), the vector PCRS per commune, SHA256SUMS, licence, index pages',
  http(server, ctx) {
    const service = new PublicationService(ctx);
    registerPublicationRoutes(server.app, service);
    // The vector files follow the data: one node checks every ten minutes whether the published
    // vector or the commune outlines changed, and builds the new files (the old stay served until then).
    server.onListen(() =>
      startLeasedLoop(ctx.db, {
        name: 'publication-vector',
        everySeconds: 600,
        leaseSeconds: 3600,
        log: ctx.log,
        async run(signal) {
          try {
            const r = await service.vector.build({ signal });
            if (r.stamp && !r.reused) ctx.log.info({ files: r.files }, 'publication: vector PCRS per commune built');
            return true;
          } catch (e) {
            if (!(e instanceof UserError && (e.code === 'job-busy' || e.code === 'job-interrupted'))) ctx.log.warn({ err: errorMessage(e) }, 'publication: the vector PCRS per commune could not be built');
            return false;
          }
        },
      }),
    );
  },
  commands: [publicationCommand],
  jobKinds: [VECTOR_PUBLICATION_JOB],
};
