/**
 * Fixity: re-read stored objects, compare with the catalogue's SHA-256 and size, log every check
 * in the append-only `fixity_log` (and optionally a JSONL file), report exactly what is ok,
 * missing, corrupted or unlisted, and with `repair` restore bad copies from a good copy in another
 * tier (nas ↔ intermediate), rebuild hot pyramid files from the masters, quarantine unlisted
 * objects — then re-verify what was repaired. Runs as a resumable job (checkpoint = last asset id).
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Asset, TierName } from '../catalog/catalog.js';
import { TIER_NAMES } from '../config/config.js';
import type { Job } from '../jobs/jobs.js';
import { runJob, type RunJobOptions } from '../jobs/run-job.js';
import { ObjectNotFoundError, ObjectNotRestoredError, type ObjectStore } from '../storage/object-store.js';
import { errorMessage, UserError } from '../util/errors.js';
import { tiersOf } from '../storage/placement.js';
import type { StorageServices } from '../storage/tier-services.js';

/** Areas of a store that are ours but not assets: NAS backups of replaced objects, quarantined unlisted objects. */
export const BACKUP_PREFIX = '.backup/';
export const QUARANTINE_PREFIX = '.quarantine/';

export type Outcome = 'ok' | 'missing' | 'corrupted' | 'unlisted' | 'repaired' | 'repair-failed' | 'quarantined';

export interface FixityFinding {
  tier: TierName;
  location: string;
  assetId: number | null;
  outcome: Outcome;
  detail?: string;
}

export interface FixityReport {
  tiers: TierName[];
  samplePercent: number;
  repair: boolean;
  checked: number;
  ok: number;
  missing: number;
  corrupted: number;
  unlisted: number;
  repaired: number;
  repairFailed: number;
  bytesRead: number;
  /** Every object that was not ok, and what repair did about it. */
  findings: FixityFinding[];
  /** True when nothing is left bad (all ok, or all repaired). */
  clean: boolean;
}

export interface VerifyOptions {
  tiers?: TierName[];
  /** Percentage of the catalogued objects read (default 100). Unlisted objects are always searched for. */
  samplePercent?: number;
  repair?: boolean;
  /** Read throttle (bytes per second). */
  bytesPerSecond?: number;
  /** Also append every check to this JSONL file. */
  jsonlPath?: string;
}

interface Checkpoint {
  tierIndex: number;
  afterId: number;
  unlistedDone: boolean;
  report: FixityReport;
}

/** Sleeps so that reading stays under `bytesPerSecond` on average. */
export class Throttle {
  private readonly started = Date.now();
  private bytes = 0;
  constructor(private readonly bytesPerSecond: number | undefined) {}
  async consume(n: number, signal?: AbortSignal): Promise<void> {
    if (!this.bytesPerSecond) return;
    this.bytes += n;
    const due = (this.bytes / this.bytesPerSecond) * 1000 - (Date.now() - this.started);
    if (due > 5) await sleep(due, undefined, signal ? { signal } : {}).catch(() => undefined);
  }
}

/** SHA-256 and size of a stored object, read through the throttle. */
export async function hashObject(store: ObjectStore, key: string, throttle?: Throttle, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = await store.get(key);
  try {
    for await (const chunk of stream) {
      const b = chunk as Buffer;
      hash.update(b);
      bytes += b.length;
      await throttle?.consume(b.length, signal);
      if (signal?.aborted) throw new UserError('interrupted', 'interrupted');
    }
  } finally {
    stream.destroy();
  }
  return { sha256: hash.digest('hex'), bytes };
}

type CheckResult = { outcome: 'ok' | 'missing' | 'corrupted'; method: 'read' | 'head'; actualSha256?: string; actualBytes?: number; detail?: string };

/** Checks one catalogued object against its SHA-256 and size. Archived objects (not readable) are checked by HEAD. */
export async function checkObject(store: ObjectStore, asset: Asset, throttle?: Throttle, signal?: AbortSignal): Promise<CheckResult> {
  try {
    const got = await hashObject(store, asset.location, throttle, signal);
    if (got.bytes !== asset.bytes) return { outcome: 'corrupted', method: 'read', actualSha256: got.sha256, actualBytes: got.bytes, detail: `size ${got.bytes} bytes, catalogue says ${asset.bytes}` };
    if (asset.sha256 !== null && got.sha256 !== asset.sha256) return { outcome: 'corrupted', method: 'read', actualSha256: got.sha256, actualBytes: got.bytes, detail: `SHA-256 ${got.sha256}, catalogue says ${asset.sha256}` };
    return { outcome: 'ok', method: 'read', actualSha256: got.sha256, actualBytes: got.bytes };
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return { outcome: 'missing', method: 'read', detail: 'object absent from the store' };
    if (e instanceof ObjectNotRestoredError) {
      // Archive class (DEEP_ARCHIVE…): only the metadata can be checked without a restore.
      const head = await store.head(asset.location);
      if (!head) return { outcome: 'missing', method: 'head', detail: 'object absent from the store' };
      if (head.bytes !== asset.bytes) return { outcome: 'corrupted', method: 'head', actualBytes: head.bytes, detail: `size ${head.bytes} bytes, catalogue says ${asset.bytes}` };
      if (head.sha256 && asset.sha256 && head.sha256 !== asset.sha256) return { outcome: 'corrupted', method: 'head', actualSha256: head.sha256, detail: 'x-amz-meta-sha256 differs from the catalogue' };
      return { outcome: 'ok', method: 'head', actualBytes: head.bytes, ...(head.sha256 ? { actualSha256: head.sha256 } : {}), detail: 'archived: size and stored SHA-256 checked by HEAD' };
    }
    throw e;
  }
}

function emptyReport(tiers: TierName[], samplePercent: number, repair: boolean): FixityReport {
  return { tiers, samplePercent, repair, checked: 0, ok: 0, missing: 0, corrupted: 0, unlisted: 0, repaired: 0, repairFailed: 0, bytesRead: 0, findings: [], clean: true };
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

class FixityLog {
  constructor(
    private readonly services: StorageServices,
    private readonly jobId: number | null,
    private readonly jsonlPath: string | undefined,
  ) {}
  async write(entry: { tier: TierName; location: string; assetId: number | null; outcome: Outcome; method: 'read' | 'head' | 'list' | 'repair'; expectedSha256?: string | null; actualSha256?: string; expectedBytes?: number; actualBytes?: number; detail?: string }): Promise<void> {
    await this.services.db.query(
      `INSERT INTO fixity_log (job_id, tier, location, asset_id, outcome, method, expected_sha256, actual_sha256, expected_bytes, actual_bytes, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [this.jobId, entry.tier, entry.location, entry.assetId, entry.outcome, entry.method, entry.expectedSha256 ?? null, entry.actualSha256 ?? null, entry.expectedBytes ?? null, entry.actualBytes ?? null, entry.detail ?? null],
    );
    if (this.jsonlPath) {
      await mkdir(path.dirname(this.jsonlPath), { recursive: true });
      await appendFile(this.jsonlPath, `${JSON.stringify({ at: new Date().toISOString(), jobId: this.jobId, ...entry })}\n`);
    }
  }
}

/** Copies a good copy of `asset` from another tier over the bad one, verified on the way and after. */
async function repairFromCopy(services: StorageServices, asset: Asset): Promise<string> {
  const others = tiersOf(asset.kind).filter((t) => t !== asset.tier);
  const tried: string[] = [];
  for (const tier of others) {
    if (!asset.sha256 || !(await services.assets.hasStoredCopy(tier, asset.location, asset.sha256))) {
      tried.push(`${tier}: no catalogued good copy`);
      continue;
    }
    const from = services.tiers[tier];
    try {
      // expectedSha256: a bad "good copy" is refused before anything is replaced.
      const source = await from.get(asset.location);
      try {
        await services.tiers[asset.tier].put(asset.location, source, { expectedSha256: asset.sha256 as string });
      } finally {
        source.destroy();
      }
      return tier;
    } catch (e) {
      tried.push(`${tier}: ${errorMessage(e)}`);
    }
  }
  throw new UserError('repair-no-good-copy', `no good copy to repair from (${tried.join('; ') || 'the placement policy keeps no other copy of this kind'})`);
}

/** Moves an object to `<area><date>/<key>` (copy, then delete): never destroys anything. */
export async function moveAside(store: ObjectStore, key: string, area: string, date = today()): Promise<string> {
  const target = `${area}${date}/${key}`;
  await store.copy(key, target);
  await store.delete(key);
  return target;
}

async function verifyTier(services: StorageServices, tier: TierName, cp: Checkpoint, options: Required<Pick<VerifyOptions, 'samplePercent' | 'repair'>> & VerifyOptions, log: FixityLog, throttle: Throttle, save: (message: string) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const store = services.tiers[tier];
  const report = cp.report;
  const finding = (f: FixityFinding) => {
    report.findings.push(f);
  };
  let lastSave = Date.now();
  for (;;) {
    if (signal?.aborted) return;
    const page = await services.assets.page({ tier, states: ['stored', 'missing', 'corrupted'] }, cp.afterId, 200);
    if (page.length === 0) break;
    for (const asset of page) {
      if (signal?.aborted) return;
      if (options.samplePercent < 100 && Math.random() * 100 >= options.samplePercent) {
        cp.afterId = asset.id;
        continue;
      }
      let result: CheckResult;
      try {
        result = await checkObject(store, asset, throttle, signal);
      } catch (e) {
        if (signal?.aborted) return;
        throw e;
      }
      cp.afterId = asset.id;
      report.checked++;
      report.bytesRead += result.method === 'read' ? (result.actualBytes ?? 0) : 0;
      await log.write({ tier, location: asset.location, assetId: asset.id, outcome: result.outcome, method: result.method, expectedSha256: asset.sha256, expectedBytes: asset.bytes, ...(result.actualSha256 ? { actualSha256: result.actualSha256 } : {}), ...(result.actualBytes !== undefined ? { actualBytes: result.actualBytes } : {}), ...(result.detail ? { detail: result.detail } : {}) });
      if (result.outcome === 'ok') {
        report.ok++;
        await services.assets.markVerified(asset.id);
        continue;
      }
      report[result.outcome]++;
      await services.catalog.assets.setState(asset.id, result.outcome);
      const f: FixityFinding = { tier, location: asset.location, assetId: asset.id, outcome: result.outcome, ...(result.detail ? { detail: result.detail } : {}) };
      finding(f);
      if (options.repair) await repairAsset(services, asset, f, log, throttle, signal);
      // Checkpoint at least every second: a kill -9 redoes at most a second of reading.
      if (Date.now() - lastSave > 1000) {
        lastSave = Date.now();
        await save(`${tier}: ${report.checked} checked`);
      }
    }
    await save(`${tier}: ${report.checked} checked`);
  }
  if (signal?.aborted) return;
  if (!cp.unlistedDone) {
    const known = await services.assets.knownLocations(tier);
    for await (const entry of store.list('')) {
      if (entry.key.startsWith(BACKUP_PREFIX) || entry.key.startsWith(QUARANTINE_PREFIX) || known.has(entry.key)) continue;
      report.unlisted++;
      await log.write({ tier, location: entry.key, assetId: null, outcome: 'unlisted', method: 'list', actualBytes: entry.bytes, detail: 'object in the store that the catalogue does not know' });
      const f: FixityFinding = { tier, location: entry.key, assetId: null, outcome: 'unlisted', detail: `${entry.bytes} bytes, not in the catalogue` };
      finding(f);
      if (options.repair) {
        try {
          const target = await moveAside(store, entry.key, QUARANTINE_PREFIX);
          report.repaired++;
          f.outcome = 'quarantined';
          f.detail = `moved to ${target}`;
          await log.write({ tier, location: entry.key, assetId: null, outcome: 'quarantined', method: 'repair', detail: `moved to ${target}` });
        } catch (e) {
          report.repairFailed++;
          f.detail = `could not quarantine: ${errorMessage(e)}`;
        }
      }
    }
    cp.unlistedDone = true;
  }
}

async function repairAsset(services: StorageServices, asset: Asset, f: FixityFinding, log: FixityLog, throttle: Throttle, signal?: AbortSignal): Promise<void> {
  let target: Asset | null = asset;
  let how: string;
  try {
    if (asset.kind === 'pyramid' && services.rebuildPyramidFile) {
      target = await services.rebuildPyramidFile(asset, signal);
      if (!target) throw new UserError('repair-rebuild-failed', 'the pyramid file could not be rebuilt (no stored masters under it)');
      how = target.location === asset.location ? 'rebuilt from the masters' : `rebuilt from the masters as ${target.location}`;
    } else {
      const from = await repairFromCopy(services, asset);
      how = `copied from the ${from} tier`;
    }
    // Re-verify what the repair wrote.
    const fresh = (await services.assets.get(target.id)) ?? target;
    const again = await checkObject(services.tiers[fresh.tier], fresh, throttle, signal);
    if (again.outcome !== 'ok') throw new UserError('repair-unverified', `the repaired copy does not verify (${again.detail ?? again.outcome})`);
    await services.assets.markVerified(fresh.id);
    f.outcome = 'repaired';
    f.detail = `${f.detail ? `${f.detail}; ` : ''}${how}, re-verified`;
    await log.write({ tier: fresh.tier, location: fresh.location, assetId: fresh.id, outcome: 'repaired', method: 'repair', expectedSha256: fresh.sha256, actualSha256: again.actualSha256 as string, expectedBytes: fresh.bytes, actualBytes: again.actualBytes as number, detail: how });
  } catch (e) {
    f.outcome = 'repair-failed';
    f.detail = `${f.detail ? `${f.detail}; ` : ''}repair failed: ${errorMessage(e)}`;
    await log.write({ tier: asset.tier, location: asset.location, assetId: asset.id, outcome: 'repair-failed', method: 'repair', detail: errorMessage(e) });
  }
}

function finish(report: FixityReport): FixityReport {
  report.repaired = report.findings.filter((f) => f.outcome === 'repaired' || f.outcome === 'quarantined').length;
  report.repairFailed = report.findings.filter((f) => f.outcome === 'repair-failed').length;
  report.clean = report.findings.every((f) => f.outcome === 'repaired' || f.outcome === 'quarantined');
  return report;
}

function normalise(options: VerifyOptions): { tiers: TierName[]; samplePercent: number; repair: boolean; bytesPerSecond?: number } {
  const tiers = options.tiers && options.tiers.length > 0 ? options.tiers : [...TIER_NAMES];
  for (const t of tiers) if (!(TIER_NAMES as readonly string[]).includes(t)) throw new UserError('usage', `Unknown tier '${t}': use one of ${TIER_NAMES.join(', ')}.`, { exitCode: 64 });
  const samplePercent = options.samplePercent ?? 100;
  if (!(samplePercent > 0 && samplePercent <= 100)) throw new UserError('usage', `--sample must be a percentage in ]0, 100], got ${samplePercent}.`, { exitCode: 64 });
  if (options.bytesPerSecond !== undefined && !(options.bytesPerSecond > 0)) throw new UserError('usage', `the read throttle must be a positive number of bytes per second.`, { exitCode: 64 });
  return { tiers, samplePercent, repair: options.repair ?? false, ...(options.bytesPerSecond ? { bytesPerSecond: options.bytesPerSecond } : {}) };
}

/** JSON with sorted keys (jsonb does not keep the key order). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

/** The verify job to run: an unfinished one with the same parameters (resume) or a new one. */
export async function verifyJobFor(services: StorageServices, options: VerifyOptions): Promise<Job> {
  const params = normalise(options);
  const key = canonical(params);
  const open = (await services.jobs.list({ kind: 'storage-verify', limit: 200 })).find((j) => (j.state === 'queued' || j.state === 'running' || j.state === 'failed') && canonical(j.params) === key);
  if (open) return open;
  return services.jobs.findOrCreate('storage-verify', `storage-verify:${Date.now()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`, params);
}

/** Verifies (and repairs) as a persistent job; an interrupted run continues where it stopped. */
export async function runVerify(services: StorageServices, options: VerifyOptions = {}, run: RunJobOptions & { job?: Job } = {}): Promise<FixityReport & { jobId: number }> {
  const params = normalise(options);
  const job = run.job ?? (await verifyJobFor(services, options));
  const report = await runJob<Checkpoint, FixityReport>(
    services.jobs,
    job,
    async (ctx) => {
      const cp: Checkpoint = ctx.checkpoint ?? { tierIndex: 0, afterId: 0, unlistedDone: false, report: emptyReport(params.tiers, params.samplePercent, params.repair) };
      const log = new FixityLog(services, job.id, options.jsonlPath);
      const throttle = new Throttle(params.bytesPerSecond);
      const save = (message: string) => ctx.progress(cp.tierIndex, params.tiers.length, message, cp);
      while (cp.tierIndex < params.tiers.length) {
        const tier = params.tiers[cp.tierIndex] as TierName;
        await verifyTier(services, tier, cp, { ...options, ...params }, log, throttle, save, ctx.signal);
        if (ctx.signal.aborted) {
          await save('interrupted');
          return finish(cp.report);
        }
        cp.tierIndex++;
        cp.afterId = 0;
        cp.unlistedDone = false;
        await save(`${tier} done`);
      }
      return finish(cp.report);
    },
    run,
  );
  return { ...report, jobId: job.id };
}

/** Latest entries of the fixity log (API, CLI). */
export async function fixityLog(services: Pick<StorageServices, 'db'>, options: { limit?: number; outcome?: Outcome } = {}): Promise<Array<Record<string, unknown>>> {
  const { rows } = await services.db.query(
    `SELECT id, checked_at, job_id, tier, location, asset_id, outcome, method, expected_sha256, actual_sha256, expected_bytes, actual_bytes, detail
     FROM fixity_log WHERE ($1::text IS NULL OR outcome = $1) ORDER BY id DESC LIMIT $2`,
    [options.outcome ?? null, options.limit ?? 100],
  );
  return rows;
}
