import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../util/errors.js';
import { PACKAGE_VERSION } from '../util/package-info.js';
import type { AppContext } from '../context/app-context.js';
import type { Capability } from '../context/capability.js';

export interface HealthReport {
  status: 'ok' | 'degraded';
  version: string;
  territory: { code: string; name: string };
  db: { ok: boolean; engine: string; error?: string };
  /** Whether the data directory is usable (its path is for `pcrs doctor`, never a public answer). */
  storage: { ok: boolean; error?: string };
  catalog?: { datasets: number; versions: number; dalles: number; assets: number; storedBytes: number };
}

export async function healthReport(ctx: AppContext): Promise<HealthReport> {
  const report: HealthReport = {
    status: 'ok',
    version: PACKAGE_VERSION,
    territory: { code: ctx.config.territory.code, name: ctx.config.territory.name },
    db: { ok: true, engine: ctx.db.engine },
    storage: { ok: true },
  };
  try {
    report.catalog = await ctx.catalog.summary();
  } catch (e) {
    report.db = { ok: false, engine: ctx.db.engine, error: errorMessage(e) };
  }
  try {
    accessSync(ctx.config.dataDir, constants.R_OK | constants.W_OK);
    accessSync(path.join(ctx.config.dataDir, 'storage'), constants.R_OK | constants.W_OK);
  } catch (e) {
    report.storage = { ok: false, error: (e as NodeJS.ErrnoException).code ?? 'unusable' };
  }
  if (!report.db.ok || !report.storage.ok) report.status = 'degraded';
  return report;
}

export const healthCapability: Capability = {
  name: 'health',
  summary: 'GET /health: version, database and storage state, catalogue counts (for load balancers and monitoring)',
  http({ app }, ctx) {
    app.get('/health', { config: { access: 'public' }, schema: { tags: ['operations'], summary: 'Health of this node' } }, async (_request, reply) => {
      const report = await healthReport(ctx);
      return reply.code(report.status === 'ok' ? 200 : 503).header('cache-control', 'no-store').send(report);
    });
  },
};
