import { z } from 'zod';
import type { AppContext } from '../context/app-context.js';
import type { RouteApp } from '../context/capability.js';
import type { Job } from './jobs.js';

/** Operators only: job parameters name server files and internal state. */
const OPERATORS = { roles: ['platform-admin', 'technical'] } as const;

/** What a job says about itself over HTTP: progress and outcome, never its parameters or checkpoint. */
export function publicJob(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    progress: { done: job.progressDone, total: job.progressTotal, message: job.progressMessage, etaSeconds: job.etaSeconds },
    result: job.result,
    error: job.error,
    attempts: job.attempts,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  };
}

export function registerJobRoutes(app: RouteApp, ctx: AppContext): void {
  const tags = ['jobs'];
  app.get(
    '/api/jobs',
    {
      config: { access: OPERATORS },
      schema: {
        tags,
        summary: 'Background jobs, newest first (operators)',
        querystring: z.object({
          state: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
          kind: z.string().max(100).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
      },
    },
    async (request) => ({ jobs: (await ctx.jobs.list(request.query)).map(publicJob) }),
  );

  app.get(
    '/api/jobs/:id',
    { config: { access: OPERATORS }, schema: { tags, summary: 'One job: progress, ETA, result (operators)', params: z.object({ id: z.coerce.number().int().positive() }) } },
    async (request) => publicJob(await ctx.jobs.get(request.params.id)),
  );
}
