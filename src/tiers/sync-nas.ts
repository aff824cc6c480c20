/**
 * NAS backup copy: mirrors the intermediate tier to the nas tier, never destructively.
 *
 * For every stored asset of a kind that the placement policy copies to the NAS:
 *  - the NAS already holds it with the same SHA-256 (catalogue) and size (store) → nothing to do;
 *  - otherwise any different NAS object at that key is first moved to `.backup/YYYY-MM-DD/<key>`,
 *    then the object is copied with its SHA-256 checked on the way (a corrupted source is refused
 *    before anything is replaced), re-read from the NAS and hashed, and only then recorded as a
 *    stored nas asset.
 * NAS objects whose upstream asset was deleted (or never existed) are moved to the backup area.
 * Upstream assets that are missing or corrupted are *not* mirrored: the NAS copy is the good one.
 * Runs as a resumable job (checkpoint = last asset id).
 */
import type { Asset } from '../catalog/catalog.js';
import type { Job } from '../jobs/jobs.js';
import { runJob, type RunJobOptions } from '../jobs/run-job.js';
import { errorMessage, isUserError } from '../util/errors.js';
import { BACKUP_PREFIX, hashObject, moveAside, QUARANTINE_PREFIX, Throttle } from './fixity.js';
import { kindsCopied } from '../storage/placement.js';
import type { StorageServices } from '../storage/tier-services.js';

export interface SyncReport {
  /** Upstream assets considered. */
  considered: number;
  copied: number;
  unchanged: number;
  /** NAS objects moved to the backup area (replaced or deleted upstream), with where they went. */
  backedUp: Array<{ key: string; to: string; reason: 'changed-upstream' | 'deleted-upstream' }>;
  /** Upstream objects that could not be mirrored, with the reason. */
  failed: Array<{ key: string; error: string }>;
  bytesCopied: number;
}

interface Checkpoint {
  afterId: number;
  orphansDone: boolean;
  report: SyncReport;
}

function emptyReport(): SyncReport {
  return { considered: 0, copied: 0, unchanged: 0, backedUp: [], failed: [], bytesCopied: 0 };
}

async function mirrorOne(services: StorageServices, up: Asset, report: SyncReport, throttle: Throttle, signal?: AbortSignal): Promise<void> {
  const nas = services.tiers.nas;
  const key = up.location;
  const existing = await services.assets.find('nas', key);
  const head = await nas.head(key);
  if (head && existing && existing.state === 'stored' && existing.sha256 === up.sha256 && head.bytes === up.bytes) {
    report.unchanged++;
    return;
  }
  if (head) {
    // Something else is there: an older version, or a copy we cannot vouch for. Keep it, aside —
    // unless its bytes are exactly the ones we want (e.g. a copy interrupted before it was recorded).
    const same = head.bytes === up.bytes && (await hashObject(nas, key, throttle, signal)).sha256 === up.sha256;
    if (!same) {
      const to = await moveAside(nas, key, BACKUP_PREFIX);
      report.backedUp.push({ key, to, reason: 'changed-upstream' });
    }
  }
  const asset = await services.catalog.assets.addPending({ kind: up.kind, datasetId: up.datasetId, versionId: up.versionId, dalleId: up.dalleId, tier: 'nas', location: key, bytes: up.bytes, sha256: up.sha256, metadata: { copyOf: up.id } });
  if (!(await nas.head(key))) {
    const source = await services.tiers.intermediate.get(key);
    try {
      await nas.put(key, source, { expectedSha256: up.sha256 as string });
    } finally {
      source.destroy(); // a put that failed before reading must not leave the source open
    }
    report.bytesCopied += up.bytes;
  }
  const check = await hashObject(nas, key, throttle, signal);
  if (check.sha256 !== up.sha256 || check.bytes !== up.bytes) {
    await services.catalog.assets.setState(asset.id, 'corrupted');
    throw new Error(`the NAS copy does not match after writing (SHA-256 ${check.sha256}, ${check.bytes} bytes)`);
  }
  await services.catalog.assets.markStored(asset.id, check.bytes, check.sha256);
  report.copied++;
}

/** NAS objects with no live upstream asset go to the backup area (and their nas assets to 'deleted'). */
async function backupOrphans(services: StorageServices, report: SyncReport): Promise<void> {
  const nas = services.tiers.nas;
  const upstream = await services.assets.knownLocations('intermediate'); // every state but 'deleted'
  const orphans: string[] = [];
  for await (const e of nas.list('')) {
    if (e.key.startsWith(BACKUP_PREFIX) || e.key.startsWith(QUARANTINE_PREFIX)) continue;
    if (!upstream.has(e.key)) orphans.push(e.key);
  }
  for (const key of orphans) {
    const to = await moveAside(nas, key, BACKUP_PREFIX);
    report.backedUp.push({ key, to, reason: 'deleted-upstream' });
    const a = await services.assets.find('nas', key);
    if (a) await services.catalog.assets.setState(a.id, 'deleted');
  }
}

export async function syncJobFor(services: StorageServices): Promise<Job> {
  const open = (await services.jobs.list({ kind: 'storage-sync-nas', limit: 50 })).find((j) => j.state === 'queued' || j.state === 'running' || j.state === 'failed');
  if (open) return open;
  return services.jobs.findOrCreate('storage-sync-nas', `storage-sync-nas:${Date.now()}:${process.pid}`, {});
}

/** `pcrs storage sync-nas` as a persistent, resumable job. */
export async function runSyncNas(services: StorageServices, options: { bytesPerSecond?: number } = {}, run: RunJobOptions = {}): Promise<SyncReport & { jobId: number }> {
  const job = await syncJobFor(services);
  const kinds = kindsCopied('intermediate', 'nas');
  const report = await runJob<Checkpoint, SyncReport>(
    services.jobs,
    job,
    async (ctx) => {
      const cp: Checkpoint = ctx.checkpoint ?? { afterId: 0, orphansDone: false, report: emptyReport() };
      const throttle = new Throttle(options.bytesPerSecond);
      const total = await services.assets.count({ tier: 'intermediate', kinds, states: ['stored'] });
      for (;;) {
        if (ctx.signal.aborted) return cp.report;
        const page = await services.assets.page({ tier: 'intermediate', kinds, states: ['stored'] }, cp.afterId, 100);
        if (page.length === 0) break;
        for (const up of page) {
          if (ctx.signal.aborted) break;
          cp.report.considered++;
          try {
            await mirrorOne(services, up, cp.report, throttle, ctx.signal);
          } catch (e) {
            if (ctx.signal.aborted) break;
            // A tier that is down, full, or refuses our credentials fails the whole run (resumable)
            // with its own message, instead of one failure per object.
            if (isUserError(e) && e.code.startsWith('storage-')) throw e;
            cp.report.failed.push({ key: up.location, error: errorMessage(e) });
          }
          cp.afterId = up.id;
          await ctx.progress(cp.report.considered, total, up.location, cp);
        }
      }
      if (!cp.orphansDone) {
        await backupOrphans(services, cp.report);
        cp.orphansDone = true;
        await ctx.progress(total, total, 'done', cp);
      }
      return cp.report;
    },
    run,
  );
  return { ...report, jobId: job.id };
}

