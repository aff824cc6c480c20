import { z } from 'zod';
import type { RouteApp } from '../context/capability.js';
import { TIER_NAMES } from '../config/config.js';
import type { StorageServices } from '../storage/tier-services.js';
import { errorMessage } from '../util/errors.js';
import { fixityLog, runVerify, verifyJobFor, type Outcome } from './fixity.js';
import { measureUsage, usageHistory } from './usage.js';

/** Technical users and platform admins (DESIGN.md §2): storage state names objects and costs. */
export const TECHNICAL = { roles: ['platform-admin', 'technical'] } as const;

const OUTCOMES = ['ok', 'missing', 'corrupted', 'unlisted', 'repaired', 'repair-failed', 'quarantined'] as const satisfies readonly Outcome[];
const booleanText = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Storage API: usage and cost per tier, fixity runs and their append-only log. */
export function registerStorageRoutes(app: RouteApp, services: StorageServices): void {
  const runningHere = new Set<number>();
  const tags = ['storage'];

  app.get(
    '/api/storage/usage',
    {
      config: { access: TECHNICAL },
      schema: {
        tags,
        summary: 'Bytes, objects and monthly cost per tier and dataset, with history (technical)',
        querystring: z.object({ snapshot: booleanText.default(true), history: z.coerce.number().int().min(1).max(3650).default(90) }),
      },
    },
    async (request) => {
      const report = await measureUsage(services, { snapshot: request.query.snapshot });
      return { ...report, history: await usageHistory(services.db, request.query.history) };
    },
  );

  app.post(
    '/api/storage/verify',
    {
      config: { access: TECHNICAL },
      schema: {
        tags,
        summary: 'Start a fixity run (background job; progress on GET /api/jobs/{id}) (technical)',
        body: z
          .object({
            tiers: z.union([z.array(z.enum(TIER_NAMES)), z.string().transform((t, c) => parseTiers(t, c))]).optional(),
            sample: z.number().gt(0).max(100).optional(),
            repair: z.boolean().default(false),
            bytesPerSecond: z.number().int().positive().optional(),
          })
          .default({ repair: false }),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const options = { ...(b.tiers ? { tiers: b.tiers } : {}), ...(b.sample !== undefined ? { samplePercent: b.sample } : {}), repair: b.repair, ...(b.bytesPerSecond ? { bytesPerSecond: b.bytesPerSecond } : {}) };
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
    },
  );

  app.get(
    '/api/storage/fixity',
    {
      config: { access: TECHNICAL },
      schema: {
        tags,
        summary: 'The fixity log, newest first (technical)',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), outcome: z.enum(OUTCOMES).optional() }),
      },
    },
    async (request) => fixityLog(services, { limit: request.query.limit, ...(request.query.outcome ? { outcome: request.query.outcome } : {}) }),
  );
}

function parseTiers(text: string, ctx: z.RefinementCtx): Array<(typeof TIER_NAMES)[number]> {
  const tiers = text.split(',').map((t) => t.trim());
  const unknown = tiers.filter((t) => !(TIER_NAMES as readonly string[]).includes(t));
  if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `unknown tier '${unknown[0]}': use ${TIER_NAMES.join(', ')}` });
  return tiers as Array<(typeof TIER_NAMES)[number]>;
}
