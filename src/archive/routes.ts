import { z } from 'zod';
import type { RouteApp } from '../context/capability.js';
import type { StorageServices } from '../storage/tier-services.js';
import { UserError } from '../util/errors.js';
import { getRestoreRequest, listPackages, openPackageDownload, requestRestore } from './restore.js';

/** Raw data is for technical users (APLC, IGN, OpenIG) and platform admins (DESIGN.md §2). */
const TECHNICAL = { roles: ['platform-admin', 'technical'] } as const;
const RESTORERS = { roles: ['platform-admin', 'technical'], scope: 'archive:restore' } as const;

const packageParam = z.object({ id: z.string().min(1).max(1000) });

/**
 * The cold archive over HTTP: packages, restore requests (the requester is the authenticated
 * caller, who is notified when the package is readable), downloads of restored packages.
 */
export function registerArchiveRoutes(app: RouteApp, services: StorageServices): void {
  const tags = ['archive'];
  app.get('/api/archive/packages', { config: { access: TECHNICAL }, schema: { tags, summary: 'Archive packages of the cold tier, with their restore state (technical)' } }, async () => listPackages(services));

  app.post(
    '/api/archive/packages/:id/restore',
    {
      config: { access: RESTORERS, usage: 'restore' },
      schema: {
        tags,
        summary: 'Ask for a package to be restored from the archive class (technical)',
        params: packageParam,
        body: z.object({ days: z.number().int().min(1).max(365).default(7) }).default({ days: 7 }),
      },
    },
    async (request, reply) => {
      const r = await requestRestore(services, { package: request.params.id, days: request.body.days, requester: request.caller.label });
      return reply.code(r.state === 'available' ? 200 : 202).header('location', `/api/archive/restores/${r.id}`).send(r);
    },
  );

  app.get(
    '/api/archive/restores/:id',
    { config: { access: TECHNICAL }, schema: { tags, summary: 'One restore request (technical)', params: z.object({ id: z.string().max(20) }) } },
    async (request) => {
      const id = Number(request.params.id);
      if (!Number.isInteger(id)) throw new UserError('unknown-restore', 'Restore ids are numbers.', { status: 404 });
      return getRestoreRequest(services.db, id);
    },
  );

  app.get(
    '/api/archive/packages/:id/download',
    {
      config: { access: RESTORERS },
      schema: { tags, summary: 'Download a restored package (or a presigned URL) (technical)', params: packageParam, querystring: z.object({ presign: z.enum(['true', 'false', '1', '0']).optional() }) },
    },
    async (request, reply) => {
      const presign = request.query.presign === 'true' || request.query.presign === '1';
      const dl = await openPackageDownload(services, request.params.id, { presign });
      if (dl.kind === 'url') return { url: dl.url, expiresAt: dl.expiresAt };
      return reply
        .header('content-type', 'application/x-tar')
        .header('content-length', String(dl.bytes))
        .header('content-disposition', `attachment; filename="${dl.filename}"`)
        .header('x-pcrs-sha256', dl.sha256)
        .send(dl.stream);
    },
  );
}
