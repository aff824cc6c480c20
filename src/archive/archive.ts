/**
 * `pcrs archive <dir> --dataset raw-at --version V`: packs a folder of raw data (stereo
 * preparation, aerotriangulation) as a BagIt bag serialized as one tar, streams it to the cold
 * tier (S3 archive storage class, or a filesystem/tape mount), verifies it, registers it.
 *
 * The catalogue row is 'pending' until the stored package has been verified: re-read and hashed
 * (SHA-256 of the whole tar = the one computed while uploading) and the bag validated (every
 * manifest entry); an archive class that cannot be read back at once (DEEP_ARCHIVE) is checked by
 * HEAD (size + our x-amz-meta-sha256). Runs as a persistent job: re-running the same command
 * after a crash resumes (re-verifies an uploaded package, or re-packs it); an archived version is
 * never packed twice.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { runJob, type RunJobOptions } from '../jobs/run-job.js';
import { ObjectNotRestoredError, type ObjectStore } from '../storage/object-store.js';
import { UserError } from '../util/errors.js';
import { primaryTier } from '../storage/placement.js';
import type { StorageServices } from '../storage/tier-services.js';
import { bagTarStream, collectPayload, verifyBagTar } from './bagit.js';

export interface ArchiveOptions {
  dir: string;
  datasetId?: string;
  version: string;
  /** S3 storage class of the package (default: the cold tier's configured class). */
  storageClass?: string;
  /** bag-info.txt Source-Organization (default: the territory's name). */
  organisation?: string;
  description?: string;
}

export interface ArchiveResult {
  assetId: number;
  tier: 'cold';
  where: string;
  key: string;
  bytes: number;
  sha256: string;
  payloadFiles: number;
  payloadBytes: number;
  storageClass: string | null;
  /** How the stored package was verified: read back and validated, or only by HEAD (archive class). */
  verification: 'read' | 'head';
  alreadyArchived?: boolean;
}

interface Checkpoint {
  uploaded?: { bytes: number; sha256: string; payloadFiles: number; payloadBytes: number };
}

export function packageKey(datasetId: string, version: string): string {
  return `${datasetId}/${version}/${datasetId}-${version}.bag.tar`;
}

/** Verifies a stored package: read + SHA-256 + bag validation, or HEAD when archived. */
export async function verifyStoredPackage(store: ObjectStore, key: string, expected: { bytes: number; sha256: string }): Promise<{ method: 'read' | 'head'; storageClass: string | null }> {
  const head = await store.head(key);
  if (!head) throw new UserError('archive-verify-failed', `The package ${key} is not in ${store.describe()} after uploading it.`);
  if (head.bytes !== expected.bytes) throw new UserError('archive-verify-failed', `The stored package ${key} has ${head.bytes} bytes, ${expected.bytes} were sent.`);
  let stream;
  try {
    stream = await store.get(key);
  } catch (e) {
    if (!(e instanceof ObjectNotRestoredError)) throw e;
    if (head.sha256 && head.sha256 !== expected.sha256) throw new UserError('archive-verify-failed', `The stored package ${key} has SHA-256 ${head.sha256} in its metadata, ${expected.sha256} was sent.`);
    return { method: 'head', storageClass: head.storageClass ?? null };
  }
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const bag = await verifyBagTar(stream.pipe(hashing));
  const sha256 = hash.digest('hex');
  if (sha256 !== expected.sha256) throw new UserError('archive-verify-failed', `The stored package ${key} reads back with SHA-256 ${sha256}, ${expected.sha256} was sent.`);
  if (!bag.valid) throw new UserError('archive-verify-failed', `The stored package ${key} is not a valid bag: ${bag.problems.slice(0, 5).join('; ')}`);
  return { method: 'read', storageClass: head.storageClass ?? null };
}

export async function archiveDirectory(services: StorageServices, options: ArchiveOptions, run: RunJobOptions = {}): Promise<ArchiveResult> {
  const datasetId = options.datasetId ?? 'raw-at';
  const tier = primaryTier('archive-package');
  if (tier !== 'cold') throw new Error('BUG: archive packages are placed in the cold tier');
  const store = services.tiers.cold;
  const version = await services.catalog.ensureVersion({ datasetId, name: options.version, ...(options.description ? { description: options.description } : {}) });
  const key = packageKey(datasetId, version.name);
  const existing = await services.assets.find('cold', key);
  if (existing && existing.state === 'stored') {
    const m: { payloadFiles?: number; payloadBytes?: number; verification?: 'read' | 'head' } = await services.assets.metadata(existing.id);
    return {
      assetId: existing.id,
      tier: 'cold',
      where: store.describe(),
      key,
      bytes: existing.bytes,
      sha256: existing.sha256 as string,
      payloadFiles: m.payloadFiles ?? 0,
      payloadBytes: m.payloadBytes ?? 0,
      storageClass: existing.storageClass,
      verification: m.verification ?? 'read',
      alreadyArchived: true,
    };
  }
  const payload = await collectPayload(options.dir);
  const payloadBytes = payload.reduce((s, f) => s + f.bytes, 0);
  const job = await services.jobs.findOrCreate('archive', `archive:${datasetId}:${version.name}`, { dir: options.dir, datasetId, version: version.name });
  return runJob<Checkpoint, ArchiveResult>(
    services.jobs,
    job,
    async (ctx) => {
      const storageClass = options.storageClass;
      const metadata = { bagName: `${datasetId}-${version.name}`, source: options.dir, payloadFiles: payload.length, payloadBytes };
      const asset = await services.catalog.assets.addPending({ kind: 'archive-package', datasetId, versionId: version.id, tier: 'cold', location: key, bytes: 0, storageClass: storageClass ?? null, metadata });
      let uploaded = ctx.checkpoint?.uploaded;
      if (uploaded) {
        const head = await store.head(key);
        if (!head || head.bytes !== uploaded.bytes) uploaded = undefined; // the upload did not complete: pack again
      }
      if (!uploaded) {
        // This job owns the package key: temporaries beside it are left-overs of a killed run.
        await store.removeStaleTemporaries?.(undefined, key.slice(0, key.lastIndexOf('/') + 1));
        const { stream } = bagTarStream(metadata.bagName, payload, {
          baggingDate: new Date().toISOString().slice(0, 10),
          fields: {
            'Source-Organization': options.organisation ?? services.config.territory.name,
            'External-Identifier': `${datasetId}/${version.name}`,
            'Internal-Sender-Identifier': options.dir,
            'Bag-Software-Agent': 'pcrs (https://www.rfc-editor.org/rfc/rfc8493)',
            ...(options.description ? { 'External-Description': options.description } : {}),
          },
        });
        let sent = 0;
        const counting = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            sent += chunk.length;
            ctx.progress(sent, payloadBytes, `packing and uploading ${key}`).catch(() => undefined);
            cb(null, chunk);
          },
        });
        stream.on('error', (e) => counting.destroy(e));
        ctx.signal.addEventListener('abort', () => stream.destroy(new UserError('interrupted', 'archive interrupted')), { once: true });
        const put = await store.put(key, stream.pipe(counting), { contentType: 'application/x-tar', metadata: { 'bagit-payload-oxum': `${payloadBytes}.${payload.length}` }, ...(storageClass ? { storageClass } : {}) });
        uploaded = { bytes: put.bytes, sha256: put.sha256, payloadFiles: payload.length, payloadBytes };
        await ctx.progress(payloadBytes, payloadBytes, 'uploaded; verifying', { uploaded });
      }
      const verified = await verifyStoredPackage(store, key, uploaded);
      await services.db.transaction(async (tx) => {
        await services.catalog.with(tx).assets.markStored(asset.id, uploaded.bytes, uploaded.sha256);
        await services.catalog.with(tx).assets.recordStorageDetails(asset.id, { storageClass: verified.storageClass, metadata: { verification: verified.method } });
        await tx.query(
          `INSERT INTO fixity_log (job_id, tier, location, asset_id, outcome, method, expected_sha256, actual_sha256, expected_bytes, actual_bytes, detail)
           VALUES ($1, 'cold', $2, $3, 'ok', $4, $5, $5, $6, $6, 'archived')`,
          [job.id, key, asset.id, verified.method, uploaded.sha256, uploaded.bytes],
        );
      });
      return {
        assetId: asset.id,
        tier: 'cold',
        where: store.describe(),
        key,
        bytes: uploaded.bytes,
        sha256: uploaded.sha256,
        payloadFiles: uploaded.payloadFiles,
        payloadBytes: uploaded.payloadBytes,
        storageClass: verified.storageClass ?? storageClass ?? null,
        verification: verified.method,
      };
    },
    run,
  );
}
