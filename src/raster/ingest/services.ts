import { cpus } from 'node:os';
import path from 'node:path';
import type { AppContext } from '../../context/app-context.js';
import { buildVersionPyramid, fileId } from '../pyramid/build-version.js';
import { primaryTier } from '../../storage/placement.js';
import type { IngestServices } from './ingest.js';

/** Ingest wired to the configured tiers by the placement policy: masters → intermediate, pyramid → hot. */
export function ingestServices(ctx: AppContext, options: { concurrency?: number } = {}): IngestServices {
  const tiers = ctx.tiers;
  const concurrency = options.concurrency ?? ctx.config.pyramid.concurrency ?? Math.max(1, cpus().length);
  return {
    config: ctx.config,
    db: ctx.db,
    catalog: ctx.catalog,
    jobs: ctx.jobs,
    masters: tiers[primaryTier('master')],
    buildPyramid: (request, job) =>
      buildVersionPyramid(
        { db: ctx.db, catalog: ctx.catalog, masters: tiers[primaryTier('master')], hot: tiers[primaryTier('pyramid')], scratchDir: path.join(ctx.config.dataDir, 'tmp') },
        request.version,
        request.dalles,
        {
          quality: ctx.config.pyramid.jpegQuality,
          concurrency,
          signal: job.signal,
          progress: job.progress,
          ...(job.done ? { done: job.done } : {}),
          ...(job.onFileDone ? { onFileDone: job.onFileDone } : {}),
        },
      ),
  };
}

export { fileId };
