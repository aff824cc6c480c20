/**
 * Restore workflow of the cold tier, mirroring S3 archive classes:
 *
 *   request (API / CLI) → RestoreObject (202 Accepted; 409 RestoreAlreadyInProgress is "already
 *   asked"; 200 = a restored copy exists, its expiry is extended) → a job polls HEAD
 *   `x-amz-restore` (`ongoing-request="true"` … `ongoing-request="false", expiry-date="…"`) → the
 *   package is downloadable until the expiry (presigned URL, or streamed through the API) → the
 *   requester is notified (a `notifications` row and a log line; e-mail comes with accounts).
 *
 * A GET before the restore completes answers 409 `restore-required` / `restore-in-progress`,
 * never a 5xx. Objects in a readable class (STANDARD, a filesystem or tape mount) are available
 * at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import type { Asset } from '../catalog/catalog.js';
import type { Queryable } from '../db/database.js';
import { runJob, type RunJobOptions } from '../jobs/run-job.js';
import { ObjectNotRestoredError, type HeadResult } from '../storage/object-store.js';
import { UserError } from '../util/errors.js';
import type { StorageServices } from '../storage/tier-services.js';

export type RestoreState = 'requested' | 'in-progress' | 'available' | 'expired' | 'failed';

export interface RestoreRequest {
  id: number;
  assetId: number;
  location: string;
  requester: string;
  days: number;
  state: RestoreState;
  error: string | null;
  requestedAt: Date;
  checkedAt: Date | null;
  availableAt: Date | null;
  expiresAt: Date | null;
  notifiedAt: Date | null;
}

interface Row {
  id: number | string;
  asset_id: number | string;
  location: string;
  requester: string;
  days: number;
  state: RestoreState;
  error: string | null;
  requested_at: Date;
  checked_at: Date | null;
  available_at: Date | null;
  expires_at: Date | null;
  notified_at: Date | null;
}

const rowOf = (r: Row): RestoreRequest => ({
  id: Number(r.id),
  assetId: Number(r.asset_id),
  location: r.location,
  requester: r.requester,
  days: r.days,
  state: r.state,
  error: r.error,
  requestedAt: r.requested_at,
  checkedAt: r.checked_at,
  availableAt: r.available_at,
  expiresAt: r.expires_at,
  notifiedAt: r.notified_at,
});

const SELECT = 'SELECT r.*, a.location FROM restore_requests r JOIN assets a ON a.id = r.asset_id';

/** Storage classes whose objects cannot be read without a restore. */
export const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR_ARCHIVE', 'COLD_ARCHIVE']);

function isArchived(head: HeadResult): boolean {
  return head.storageClass !== undefined && ARCHIVE_CLASSES.has(head.storageClass.toUpperCase());
}

export async function getRestoreRequest(db: Queryable, id: number): Promise<RestoreRequest> {
  const { rows } = await db.query<Row>(`${SELECT} WHERE r.id = $1`, [id]);
  if (!rows[0]) throw new UserError('unknown-restore', `No restore request ${id}.`, { status: 404 });
  return rowOf(rows[0]);
}

export async function listRestoreRequests(db: Queryable, filter: { open?: boolean; assetId?: number } = {}): Promise<RestoreRequest[]> {
  const { rows } = await db.query<Row>(
    `${SELECT} WHERE ($1::boolean IS NOT TRUE OR r.state IN ('requested', 'in-progress')) AND ($2::bigint IS NULL OR r.asset_id = $2) ORDER BY r.id DESC LIMIT 500`,
    [filter.open ?? null, filter.assetId ?? null],
  );
  return rows.map(rowOf);
}

/** An archive package by catalogue id or by its key in the cold tier. */
export async function findPackage(services: StorageServices, ref: string | number): Promise<Asset> {
  const text = String(ref).trim();
  const asset = /^\d+$/.test(text) ? await services.assets.get(Number(text)) : await services.assets.find('cold', text);
  if (!asset || asset.kind !== 'archive-package' || asset.tier !== 'cold') {
    throw new UserError('unknown-package', `No archive package '${text}' in the cold tier.`, { status: 404, exitCode: 66, hint: 'List packages with `pcrs restore --list` or GET /api/archive/packages.' });
  }
  if (asset.state !== 'stored') throw new UserError('package-not-stored', `Archive package '${asset.location}' is ${asset.state}, not stored.`, { status: 409, hint: asset.state === 'pending' ? 'Its archiving has not finished: run the same `pcrs archive` command again to resume it.' : 'Run `pcrs storage verify --tier cold`.' });
  return asset;
}

export async function listPackages(services: StorageServices): Promise<Array<Asset & { restore: RestoreRequest | null }>> {
  const packages = (await services.catalog.assets.list({ tier: 'cold', kind: 'archive-package' })).filter((a) => a.state !== 'deleted');
  const out = [];
  for (const p of packages) out.push({ ...p, restore: (await listRestoreRequests(services.db, { assetId: p.id }))[0] ?? null });
  return out;
}

async function notify(services: StorageServices, request: RestoreRequest): Promise<void> {
  const until = request.expiresAt ? ` until ${request.expiresAt.toISOString()}` : '';
  const subject = `Archive package ${request.location} restored`;
  const body = `The archive package ${request.location} you asked for (restore request ${request.id}) can be downloaded${until}: GET /api/archive/packages/${request.assetId}/download`;
  await services.db.transaction(async (tx) => {
    const { rowCount } = await tx.query('UPDATE restore_requests SET notified_at = now() WHERE id = $1 AND notified_at IS NULL', [request.id]);
    if (rowCount === 0) return; // already notified (another node, a previous poll)
    await tx.query(`INSERT INTO notifications (recipient, kind, subject, body, payload) VALUES ($1, 'restore-available', $2, $3, $4::jsonb)`, [
      request.requester,
      subject,
      body,
      JSON.stringify({ restoreId: request.id, assetId: request.assetId, location: request.location, expiresAt: request.expiresAt }),
    ]);
  });
  services.log.info({ recipient: request.requester, restoreId: request.id }, `notification queued: ${subject}`);
}

async function update(db: Queryable, id: number, state: RestoreState, fields: { expiresAt?: Date | null; error?: string | null } = {}): Promise<void> {
  await db.query(
    `UPDATE restore_requests SET state = $2, checked_at = now(), error = $4,
       available_at = CASE WHEN $2 = 'available' THEN COALESCE(available_at, now()) ELSE available_at END,
       expires_at = COALESCE($3::timestamptz, expires_at) WHERE id = $1`,
    [id, state, fields.expiresAt ?? null, fields.error ?? null],
  );
}

/**
 * Asks for a restore of a package for `days` days. One open request per package: asking again
 * returns the open one (and S3's 409 RestoreAlreadyInProgress is not an error).
 */
export async function requestRestore(services: StorageServices, input: { package: string | number; days?: number; requester: string }): Promise<RestoreRequest> {
  const days = input.days ?? 7;
  if (!Number.isInteger(days) || days < 1 || days > 365) throw new UserError('usage', `--days must be a whole number of days between 1 and 365, got ${input.days}.`, { exitCode: 64 });
  if (!input.requester.trim()) throw new UserError('usage', 'A requester (who is notified) is required.', { exitCode: 64 });
  const asset = await findPackage(services, input.package);
  const openOne = async () =>
    (await listRestoreRequests(services.db, { assetId: asset.id })).find((r) => r.state === 'requested' || r.state === 'in-progress' || (r.state === 'available' && (!r.expiresAt || r.expiresAt > new Date())));
  const open = await openOne();
  if (open) return open;
  // The partial unique index admits one open request per package: a simultaneous request that
  // lost the race gets the winner's.
  const { rows } = await services.db.query<{ id: number | string }>(
    `INSERT INTO restore_requests (asset_id, requester, days) VALUES ($1, $2, $3)
     ON CONFLICT (asset_id) WHERE state IN ('requested', 'in-progress') DO NOTHING RETURNING id`,
    [asset.id, input.requester.trim(), days],
  );
  if (!rows[0]) {
    const winner = await openOne();
    if (winner) return winner;
    throw new UserError('restore-conflict', `Another restore request for ${asset.location} was being made at the same time; ask again.`, { status: 409 });
  }
  const id = Number(rows[0].id);
  const store = services.tiers.cold;
  const head = await store.head(asset.location);
  if (!head) {
    await update(services.db, id, 'failed', { error: 'the package is missing from the cold tier' });
    throw new UserError('package-missing', `The archive package ${asset.location} is missing from ${store.describe()}.`, { status: 409, hint: 'Run `pcrs storage verify --tier cold` and restore it from the original medium.' });
  }
  if (store.requestRestore && isArchived(head)) {
    try {
      await store.requestRestore(asset.location, days, 'Standard'); // already in progress (someone asked) is fine too
    } catch (e) {
      await update(services.db, id, 'failed', { error: e instanceof Error ? e.message : String(e) });
      throw e;
    }
    await update(services.db, id, 'in-progress');
    return checkRestore(services, id);
  }
  // A readable class or a filesystem/tape mount: nothing to wait for.
  await update(services.db, id, 'available');
  const request = await getRestoreRequest(services.db, id);
  await notify(services, request);
  return getRestoreRequest(services.db, id);
}

/** One poll: HEAD the package and move the request on (in-progress → available → expired). */
export async function checkRestore(services: StorageServices, id: number): Promise<RestoreRequest> {
  const request = await getRestoreRequest(services.db, id);
  if (request.state === 'failed' || request.state === 'expired') return request;
  const head = await services.tiers.cold.head(request.location);
  if (!head) {
    await update(services.db, id, 'failed', { error: 'the package is missing from the cold tier' });
  } else if (!isArchived(head)) {
    if (request.state !== 'available') await update(services.db, id, 'available');
  } else if (head.restore && !head.restore.ongoing) {
    if (head.restore.expiry && head.restore.expiry <= new Date()) await update(services.db, id, 'expired');
    else await update(services.db, id, 'available', { expiresAt: head.restore.expiry ?? null });
  } else if (request.state === 'available') {
    await update(services.db, id, 'expired'); // the restored copy went away
  } else {
    await update(services.db, id, 'in-progress');
  }
  const now = await getRestoreRequest(services.db, id);
  if (now.state === 'available' && !now.notifiedAt) await notify(services, now);
  return getRestoreRequest(services.db, id);
}

/** Polls a restore as a persistent job until it is available (or failed/expired). Resumable. */
export async function pollRestore(services: StorageServices, id: number, options: RunJobOptions & { intervalMs?: number } = {}): Promise<RestoreRequest> {
  const job = await services.jobs.findOrCreate('archive-restore', `archive-restore:${id}`, { restoreId: id });
  const interval = options.intervalMs ?? 15 * 60_000;
  return runJob<null, RestoreRequest>(
    services.jobs,
    job,
    async (ctx) => {
      for (let polls = 1; ; polls++) {
        const r = await checkRestore(services, id);
        await ctx.progress(r.state === 'available' ? 1 : 0, 1, `restore ${r.state} (${polls} poll${polls > 1 ? 's' : ''})`);
        if (r.state !== 'in-progress' && r.state !== 'requested') {
          if (r.state === 'failed') throw new UserError('restore-failed', `Restore ${id} failed: ${r.error ?? 'unknown error'}`);
          return r;
        }
        await sleep(interval, undefined, { signal: ctx.signal }).catch(() => undefined);
        if (ctx.signal.aborted) return r;
      }
    },
    options,
  );
}

/** Polls every open restore request once (the server's scheduler calls this). */
export async function pollOpenRestores(services: StorageServices): Promise<RestoreRequest[]> {
  const out = [];
  for (const r of await listRestoreRequests(services.db, { open: true })) out.push(await checkRestore(services, r.id));
  return out;
}

export type PackageDownload = { kind: 'url'; url: string; expiresAt: Date } | { kind: 'stream'; stream: Readable; bytes: number; sha256: string; filename: string };

/**
 * Opens a package for download. Before the restore is done: 409 `restore-required` (nobody asked)
 * or `restore-in-progress`, never a 5xx.
 */
export async function openPackageDownload(services: StorageServices, ref: string | number, options: { presign?: boolean } = {}): Promise<PackageDownload> {
  const asset = await findPackage(services, ref);
  const store = services.tiers.cold;
  const head = await store.head(asset.location);
  if (!head) throw new UserError('package-missing', `The archive package ${asset.location} is missing from the cold tier.`, { status: 409, hint: 'Run `pcrs storage verify --tier cold`.' });
  const notReadable = () => {
    const ongoing = head.restore?.ongoing === true;
    return ongoing
      ? new UserError('restore-in-progress', `The archive package ${asset.location} is being restored from the archive class; it is not downloadable yet.`, { status: 409, hint: 'S3 archive restores take hours (DEEP_ARCHIVE: up to 48 h). You will be notified; poll GET /api/archive/restores/{id}.' })
      : new UserError('restore-required', `The archive package ${asset.location} is in the archive storage class (${head.storageClass}); it must be restored before it can be downloaded.`, { status: 409, hint: `Request a restore: POST /api/archive/packages/${asset.id}/restore or \`pcrs restore ${asset.id} --days 7\`.` });
  };
  if (isArchived(head) && !(head.restore && !head.restore.ongoing)) throw notReadable();
  if (options.presign && store.presignedGetUrl) {
    const maxSeconds = head.restore?.expiry ? Math.floor((head.restore.expiry.getTime() - Date.now()) / 1000) : 3600;
    const seconds = Math.max(1, Math.min(3600, maxSeconds));
    return { kind: 'url', url: await store.presignedGetUrl(asset.location, seconds), expiresAt: new Date(Date.now() + seconds * 1000) };
  }
  try {
    const stream = await store.get(asset.location);
    return { kind: 'stream', stream, bytes: head.bytes, sha256: asset.sha256 as string, filename: asset.location.split('/').pop() as string };
  } catch (e) {
    if (e instanceof ObjectNotRestoredError) throw notReadable();
    throw e;
  }
}
