import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Catalog, Dalle, Version } from '../../catalog/catalog.js';
import type { Config } from '../../config/config.js';
import type { Database } from '../../db/database.js';
import { dalleKey } from '../../grid/dalle-grid.js';
import type { JobStore } from '../../jobs/jobs.js';
import { runJob, type JobContext } from '../../jobs/run-job.js';
import { readRasterInfo, type RasterInfo } from '../raster-info.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { execTool } from '../../util/exec.js';
import { sha256File } from '../../util/hash.js';
import { mapPool } from '../../util/pool.js';
import type { PyramidFileRef } from '../pyramid/layout.js';
import { discoverDelivery, type DeliveryFile } from './discover.js';
import { formatIngestReport, type DalleReport, type IngestReport } from './report.js';
import { DEFAULT_VALIDATION, validateDalle, type DalleValidation, type ValidationOptions } from './validate-dalle.js';
import { primaryTier } from '../../storage/placement.js';

export interface IngestServices {
  config: Config;
  db: Database;
  catalog: Catalog;
  jobs: JobStore;
  /** Where masters go (the intermediate tier). */
  masters: ObjectStore;
  /** Builds the pyramid for the dalles accepted by this ingest (the pyramid stage). */
  buildPyramid?: (
    input: PyramidRequest,
    ctx: {
      signal: AbortSignal;
      progress: (done: number, total: number, message?: string) => Promise<void>;
      /** Pyramid files finished by an interrupted run (skipped). */
      done?: ReadonlySet<string>;
      onFileDone?: (ref: PyramidFileRef) => Promise<void>;
    },
  ) => Promise<PyramidOutcome>;
}

export interface PyramidRequest {
  version: Version;
  /** Dalles accepted in this run: the pyramid files they touch are (re)built. */
  dalles: Dalle[];
}

export interface PyramidOutcome {
  filesBuilt: number;
  tiles: number;
  bytes: number;
}

export interface IngestOptions {
  dir: string;
  datasetId: string;
  versionName: string;
  /** Acquisition date YYYY-MM-DD. */
  date?: string;
  kind?: 'full' | 'update';
  /** Dalles processed in parallel. */
  jobs?: number;
  /** Re-ingest dalles already in the version. */
  replace?: boolean;
  pixelSizeTolerance?: number;
  gridTolerance?: number;
  onProgress?: (done: number, total: number | null, message?: string) => void;
  signal?: AbortSignal;
  /** Where the report files go (default `${dataDir}/reports`). */
  reportDir?: string;
  /** Publish the version once a dalle went in (default true; a campaign's version waits for the campaign). */
  publish?: boolean;
}

interface IngestCheckpoint {
  /** rel path → outcome of the dalles already handled. */
  done: Record<string, DalleReport>;
  /** Pyramid files already built (`family:col:row`). */
  pyramidFiles?: string[];
  pyramidDone?: boolean;
}

/**
 * Decodes the last block of the raster (bottom-right corner): a truncated or corrupted file fails
 * here, before anything is registered. (The pyramid build decodes every pixel later.)
 */
async function checkLastBlock(info: RasterInfo): Promise<void> {
  const [bw, bh] = info.blockSize ?? [256, 256];
  const w = Math.min(bw, info.width);
  const h = Math.min(bh, info.height);
  const left = info.width - w;
  const top = info.height - h;
  const { code, stderr } = await execTool('gdal_translate', ['-q', '-srcwin', String(left), String(top), String(w), String(h), '-of', 'MEM', info.path, '/dev/null'], { timeoutMs: 120_000 });
  if (code !== 0 || /ERROR/.test(stderr)) throw new Error(stderr.replace(/^ERROR \d+: /gm, '').trim().split('\n')[0] || `gdal_translate exited with ${code}`);
}

async function inspect(file: DeliveryFile, services: IngestServices, options: IngestOptions, year: number): Promise<{ info: RasterInfo | null; validation: DalleValidation }> {
  return inspectRaster(file.path, file.bytes, {
    territory: services.config.territory,
    year,
    pixelSizeTolerance: options.pixelSizeTolerance ?? DEFAULT_VALIDATION.pixelSizeTolerance,
    gridTolerance: options.gridTolerance ?? DEFAULT_VALIDATION.gridTolerance,
  });
}

/**
 * A raster file as the ingest sees it: what GDAL reads of it (and whether its last block decodes),
 * checked against the dalle rules. The one way a dalle is validated — by the operator's ingest and
 * by a partner's contribution.
 */
export async function inspectRaster(path: string, bytes: number, options: ValidationOptions): Promise<{ info: RasterInfo | null; validation: DalleValidation }> {
  let info: RasterInfo | null = null;
  let readError: unknown;
  if (bytes > 0) {
    try {
      info = await readRasterInfo(path);
      await checkLastBlock(info);
    } catch (e) {
      if ((e as UserError).code === 'tool-missing') throw e;
      readError = e;
    }
  }
  return { info, validation: validateDalle(path, bytes, info, readError, options) };
}

function yearOf(options: IngestOptions): number {
  const fromDate = options.date ? Number(options.date.slice(0, 4)) : NaN;
  if (Number.isInteger(fromDate)) return fromDate;
  const fromName = /(19|20)\d\d/.exec(options.versionName)?.[0];
  return fromName ? Number(fromName) : new Date().getFullYear();
}

export function masterKey(datasetId: string, versionName: string, canonicalName: string, sourceExt: string): string {
  return `${datasetId}/${versionName}/masters/${canonicalName.replace(/\.(tiff?|jp2)$/i, '')}${sourceExt.toLowerCase()}`;
}

/**
 * Ingests a delivery: discovers dalles, validates each with GDAL, stores the checksummed master,
 * registers the dalle, then builds the pyramid for what was accepted. Runs as a persistent job:
 * re-running the same command after a crash resumes where it stopped (per-dalle checkpoints; the
 * catalogue only calls a dalle registered once its master is stored and verified).
 */
export async function ingestDelivery(services: IngestServices, options: IngestOptions): Promise<IngestReport> {
  const { catalog } = services;
  const delivery = await discoverDelivery(options.dir);
  const version = await catalog.ensureVersion({
    datasetId: options.datasetId,
    name: options.versionName,
    acquisitionDate: options.date ?? null,
    kind: options.kind ?? 'full',
  });
  const year = yearOf(options);
  const fingerprint = createHash('sha256')
    .update(JSON.stringify(delivery.files.map((f) => [f.rel, f.bytes, Math.round(f.mtimeMs)])))
    .update(options.replace ? 'replace' : '')
    .digest('hex')
    .slice(0, 16);
  const job = await services.jobs.findOrCreate('ingest', `ingest:${options.datasetId}:${options.versionName}:${delivery.root}:${fingerprint}`, {
    dir: delivery.root,
    dataset: options.datasetId,
    version: options.versionName,
    replace: options.replace ?? false,
  });
  const started = new Date();

  const report = await runJob<IngestCheckpoint, IngestReport>(
    services.jobs,
    job,
    async (ctx: JobContext<IngestCheckpoint>) => {
      const checkpoint: IngestCheckpoint = ctx.checkpoint ?? { done: {} };
      const total = delivery.files.length;
      let done = Object.keys(checkpoint.done).length;
      await ctx.progress(done, total, 'validating dalles', checkpoint);

      // Duplicates inside the delivery: the first file (path order) of a grid cell wins. Cells are
      // only known after validation, so claims are made as results arrive, in path order.
      const todo = delivery.files.filter((f) => !checkpoint.done[f.rel]);
      const inspected = await mapPool(todo, options.jobs ?? 2, async (file) => {
        if (ctx.signal.aborted) return null;
        const result = await inspect(file, services, options, year);
        return { file, ...result };
      });
      const cellOwner = new Map<string, string>();
      for (const r of Object.values(checkpoint.done)) if (r.cell && r.status !== 'rejected' && r.status !== 'skipped') cellOwner.set(r.cell, r.file);

      const toStore: Array<{ file: DeliveryFile; validation: DalleValidation }> = [];
      for (const item of inspected) {
        if (!item) continue;
        const { file, validation } = item;
        const cell = validation.ref ? `${validation.sourceCrs}:${dalleKey(validation.ref)}` : undefined;
        const base: DalleReport = { file: file.rel, bytes: file.bytes, status: validation.status, findings: validation.findings, ...(cell ? { cell } : {}), ...(validation.canonicalName ? { name: validation.canonicalName } : {}) };
        if (validation.status === 'rejected') {
          checkpoint.done[file.rel] = base;
          continue;
        }
        const owner = cell ? cellOwner.get(cell) : undefined;
        if (cell && owner && owner !== file.rel) {
          checkpoint.done[file.rel] = {
            ...base,
            status: 'rejected',
            findings: [...validation.findings, { severity: 'error', rule: 'duplicate-in-delivery', message: `Same dalle as ${owner} in this delivery (${validation.canonicalName}); only the first one is ingested.` }],
          };
          continue;
        }
        if (cell) cellOwner.set(cell, file.rel);
        toStore.push({ file, validation });
      }
      done = Object.keys(checkpoint.done).length;
      await ctx.progress(done, total, 'storing masters', checkpoint);

      // Temporaries of masters whose writer was killed (this job owns the version's masters now).
      await services.masters.removeStaleTemporaries?.(undefined, `${options.datasetId}/${version.name}/`);
      const accepted: Dalle[] = [];
      await mapPool(toStore, options.jobs ?? 2, async ({ file, validation }) => {
        if (ctx.signal.aborted) return;
        const outcome = await storeAndRegister(services, version, file, validation, options, job.id);
        checkpoint.done[file.rel] = outcome.report;
        if (outcome.dalle) accepted.push(outcome.dalle);
        done++;
        await ctx.progress(done, total, `${outcome.report.status}: ${file.rel}`, checkpoint);
      });
      if (ctx.signal.aborted) return emptyReport();

      // Dalles accepted by an earlier, interrupted run of this job still need their pyramid.
      for (const r of Object.values(checkpoint.done)) {
        if ((r.status === 'ok' || r.status === 'warning') && r.dalleId && !accepted.some((d) => d.id === r.dalleId)) {
          const again = (await catalog.listDalles({ versionId: version.id })).find((d) => d.id === r.dalleId);
          if (again) accepted.push(again);
        }
      }
      let pyramid: PyramidOutcome | undefined;
      if (services.buildPyramid && accepted.length > 0 && !checkpoint.pyramidDone) {
        const built = new Set(checkpoint.pyramidFiles ?? []);
        // One progress scale for the whole job: the dalles, then the pyramid files.
        const last = { done: total, total };
        pyramid = await services.buildPyramid(
          { version, dalles: accepted },
          {
            signal: ctx.signal,
            progress: (d, t, m) => {
              last.done = total + d;
              last.total = total + t;
              return ctx.progress(last.done, last.total, `pyramid: ${m ?? ''}`);
            },
            done: built,
            onFileDone: async (ref) => {
              built.add(`${ref.family}:${ref.col}:${ref.row}`);
              checkpoint.pyramidFiles = [...built];
              await ctx.progress(last.done + 1, last.total, `pyramid file ${ref.col},${ref.row} done`, checkpoint);
            },
          },
        );
        if (ctx.signal.aborted) return emptyReport();
        checkpoint.pyramidDone = true;
        await ctx.progress(last.total, last.total, 'pyramid built', checkpoint);
      }
      if (options.publish !== false && (accepted.length > 0 || Object.values(checkpoint.done).some((r) => r.status === 'skipped'))) await catalog.setVersionStatus(version.id, 'published');
      return buildReport(delivery.files.map((f) => checkpoint.done[f.rel]).filter((r): r is DalleReport => !!r), delivery.ignored, pyramid);
    },
    { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) },
  );

  function emptyReport(): IngestReport {
    return buildReport([], delivery.ignored, undefined);
  }

  function buildReport(dalles: DalleReport[], ignored: string[], pyramid: PyramidOutcome | undefined): IngestReport {
    const count = (s: DalleReport['status']) => dalles.filter((d) => d.status === s).length;
    return {
      dataset: options.datasetId,
      version: options.versionName,
      delivery: delivery.root,
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      jobId: job.id,
      summary: { files: dalles.length, ok: count('ok'), warning: count('warning'), rejected: count('rejected'), skipped: count('skipped'), ignored: ignored.length },
      dalles,
      ignored,
      ...(pyramid ? { pyramid } : {}),
      reportFiles: [],
    };
  }

  // Reports: JSON for machines, text for people, beside each other.
  const dir = options.reportDir ?? path.join(services.config.dataDir, 'reports');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const base = path.join(dir, `ingest-${options.datasetId}-${options.versionName}-${stamp}`);
  const withFiles = { ...report, reportFiles: [`${base}.json`, `${base}.txt`] };
  await writeFile(`${base}.json`, JSON.stringify(withFiles, null, 2));
  await writeFile(`${base}.txt`, formatIngestReport(withFiles));
  return withFiles;
}

/**
 * Stores the master (pending → stored after verification) and registers the dalle, or skips it
 * when the version already has it (unless replace). A failure here rejects this dalle only.
 */
async function storeAndRegister(
  services: IngestServices,
  version: Version,
  file: DeliveryFile,
  validation: DalleValidation,
  options: IngestOptions,
  jobId: number,
): Promise<{ report: DalleReport; dalle?: Dalle }> {
  const { catalog, masters } = services;
  const ref = validation.ref;
  const sourceCrs = validation.sourceCrs ?? 'EPSG:2154';
  const cell = ref ? `${sourceCrs}:${dalleKey(ref)}` : undefined;
  const report: DalleReport = { file: file.rel, bytes: file.bytes, status: validation.status, findings: [...validation.findings], ...(cell ? { cell } : {}), ...(validation.canonicalName ? { name: validation.canonicalName } : {}) };
  if (!ref || !validation.bbox2154 || !validation.canonicalName) throw new Error('BUG: accepted dalle without grid reference');
  try {
    const { sha256, bytes } = await sha256File(file.path);
    report.sha256 = sha256;
    const existing = await catalog.findDalle(version.id, sourceCrs, ref.size, ref.col, ref.row);
    if (existing && existing.state !== 'pending' && !options.replace) {
      const stored = (await catalog.assets.list({ dalleId: existing.id, kind: 'master', state: 'stored' }))[0];
      const owner = await services.db.query<{ job: string | null }>(`SELECT validation->>'jobId' AS job FROM dalles WHERE id = $1`, [existing.id]);
      if (stored?.sha256 === sha256 && owner.rows[0]?.job === String(jobId)) {
        // Registered by this very job before it was interrupted: done, not a duplicate.
        report.dalleId = existing.id;
        report.master = stored.location;
        return { report, dalle: existing };
      }
      report.status = 'skipped';
      report.dalleId = existing.id;
      report.findings.push({
        severity: 'warning',
        rule: 'already-ingested',
        message: stored?.sha256 === sha256 ? `Already ingested in version ${version.name} (identical file); skipped.` : `Version ${version.name} already has this dalle (a different file); skipped — use --replace to replace it.`,
      });
      return { report };
    }
    const ext = path.extname(file.path) || '.tif';
    const key = masterKey(options.datasetId, version.name, validation.canonicalName, ext);
    // 1. the dalle row, invisible ('pending') until its master is verified
    const dalle = await catalog.upsertDalle({
      versionId: version.id,
      name: validation.canonicalName.replace(/\.(tiff?|jp2)$/i, ''),
      sizeM: ref.size,
      gridCol: ref.col,
      gridRow: ref.row,
      bbox: validation.bbox2154,
      ...(validation.footprintRing ? { footprintRing: validation.footprintRing } : {}),
      sourceCrs,
      acquisitionDate: options.date ?? null,
      state: 'pending',
      validation: { file: file.rel, status: validation.status, findings: validation.findings, jobId },
    });
    // 2. the master: pending asset, bytes written with their SHA-256 checked on the way, then re-read
    const asset = await catalog.assets.addPending({ kind: 'master', datasetId: options.datasetId, versionId: version.id, dalleId: dalle.id, tier: primaryTier('master'), location: key, bytes, sha256 });
    await masters.put(key, { file: file.path }, { expectedSha256: sha256, contentType: ext.toLowerCase() === '.jp2' ? 'image/jp2' : 'image/tiff' });
    const verify = await verifyStored(masters, key);
    if (verify.sha256 !== sha256 || verify.bytes !== bytes) {
      await catalog.assets.setState(asset.id, 'corrupted');
      throw new Error(`the stored master ${key} does not match the original after writing (SHA-256 ${verify.sha256} ≠ ${sha256})`);
    }
    // 3. both become real together
    await services.db.transaction(async (tx) => {
      const c = catalog.with(tx);
      await c.assets.markStored(asset.id, bytes, sha256);
      await tx.query(`UPDATE dalles SET state = 'registered', updated_at = now() WHERE id = $1`, [dalle.id]);
    });
    report.dalleId = dalle.id;
    report.master = key;
    return { report, dalle: { ...dalle, state: 'registered' } };
  } catch (e) {
    if ((e as UserError).code === 'tool-missing') throw e;
    report.status = 'rejected';
    report.findings.push({ severity: 'error', rule: 'storage', message: `Could not store the master: ${errorMessage(e)}` });
    return { report };
  }
}

/** Re-reads a stored object and hashes it: "stored" means read back and matching. */
async function verifyStored(store: ObjectStore, key: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await store.get(key)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
