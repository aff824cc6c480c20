import type { FastifyInstance } from 'fastify';
import { listPackages, getRestoreRequest, openPackageDownload, requestRestore } from '../archive/restore.js';
import type { TierName } from '../catalog/catalog.js';
import { TIER_NAMES } from '../config/config.js';
import type { AppContext } from '../server/app.js';
import { errorMessage, UserError } from '../util/errors.js';
import { requireTechnicalRole } from './admin.js';
import { fixityLog, runVerify, verifyJobFor } from './fixity.js';
import { startVerifyScheduler } from './scheduler.js';
import { storageServices, type StorageServices } from './services.js';
import { measureUsage, usageHistory } from './usage.js';

function tiersParam(text: unknown): TierName[] | undefined {
  if (text === undefined || text === '') return undefined;
  const tiers = String(text).split(',').map((t) => t.trim());
  for (const t of tiers) if (!(TIER_NAMES as readonly string[]).includes(t)) throw new UserError('invalid-tier', `Unknown tier '${t}': use ${TIER_NAMES.join(', ')}.`, { status: 400 });
  return tiers as TierName[];
}

/**
 * Storage API (technical role: see admin.ts): usage and cost, fixity runs and log, archive
 * packages with their restore workflow. Also starts the scheduled fixity scrub when configured.
 */
export function registerStorageRoutes(app: FastifyInstance, ctx: AppContext, services: StorageServices = storageServices(ctx)): void {
  const runningHere = new Set<number>();
  const guard = (request: Parameters<typeof requireTechnicalRole>[1]) => requireTechnicalRole(ctx.config, request);

  app.get('/api/storage/usage', async (request) => {
    guard(request);
    const q = request.query as { snapshot?: string; history?: string };
    const report = await measureUsage(services, { snapshot: q.snapshot !== 'false' });
    return { ...report, history: await usageHistory(ctx.db, Number(q.history ?? 90) || 90) };
  });

  app.post('/api/storage/verify', async (request, reply) => {
    guard(request);
    const body = (request.body ?? {}) as { tiers?: string | string[]; sample?: number; repair?: boolean; bytesPerSecond?: number };
    const tiers = tiersParam(Array.isArray(body.tiers) ? body.tiers.join(',') : body.tiers);
    const options = { ...(tiers ? { tiers } : {}), ...(body.sample !== undefined ? { samplePercent: Number(body.sample) } : {}), repair: body.repair === true, ...(body.bytesPerSecond ? { bytesPerSecond: Number(body.bytesPerSecond) } : {}) };
    const job = await verifyJobFor(services, options);
    // Runs in the background; progress and the report are on GET /api/jobs/{id}. The same request
    // again while it runs points at the same job (never two runs of one job in this process).
    if (!runningHere.has(job.id)) {
      runningHere.add(job.id);
      runVerify(services, options, { job })
        .catch((e: unknown) => request.log.warn(`fixity job ${job.id}: ${errorMessage(e)}`))
        .finally(() => runningHere.delete(job.id));
    }
    return reply.code(202).header('location', `/api/jobs/${job.id}`).send({ jobId: job.id, status: `/api/jobs/${job.id}` });
  });

  app.get('/api/storage/fixity', async (request) => {
    guard(request);
    const q = request.query as { limit?: string; outcome?: string };
    return fixityLog(services, { limit: Math.min(1000, Number(q.limit ?? 100) || 100), ...(q.outcome ? { outcome: q.outcome as never } : {}) });
  });

  app.get('/api/archive/packages', async (request) => {
    guard(request);
    return listPackages(services);
  });

  app.post('/api/archive/packages/:id/restore', async (request, reply) => {
    const { requester } = guard(request);
    const body = (request.body ?? {}) as { days?: number; requester?: string };
    const r = await requestRestore(services, { package: (request.params as { id: string }).id, days: body.days === undefined ? 7 : Number(body.days), requester: body.requester ?? requester });
    return reply.code(r.state === 'available' ? 200 : 202).header('location', `/api/archive/restores/${r.id}`).send(r);
  });

  app.get('/api/archive/restores/:id', async (request) => {
    guard(request);
    const id = Number((request.params as { id: string }).id);
    if (!Number.isInteger(id)) throw new UserError('unknown-restore', 'Restore ids are numbers.', { status: 404 });
    return getRestoreRequest(ctx.db, id);
  });

  app.get('/api/archive/packages/:id/download', async (request, reply) => {
    guard(request);
    const q = request.query as { presign?: string };
    const dl = await openPackageDownload(services, (request.params as { id: string }).id, { presign: q.presign === 'true' || q.presign === '1' });
    if (dl.kind === 'url') return { url: dl.url, expiresAt: dl.expiresAt };
    return reply
      .header('content-type', 'application/x-tar')
      .header('content-length', String(dl.bytes))
      .header('content-disposition', `attachment; filename="${dl.filename}"`)
      .header('x-pcrs-sha256', dl.sha256)
      .send(dl.stream);
  });

  // Only a listening server (pcrs serve) runs background work; app.inject() in tests does not.
  let stop: (() => Promise<void>) | undefined;
  app.addHook('onListen', async () => {
    stop = startVerifyScheduler(services, ctx.config.storage.verifySchedule, app.log);
  });
  app.addHook('onClose', async () => {
    await stop?.();
  });
}
