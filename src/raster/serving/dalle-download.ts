import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Asset } from '../../catalog/catalog.js';
import type { AppContext } from '../../context/app-context.js';
import { ObjectNotFoundError, type ObjectStore } from '../../storage/object-store.js';
import type { TierStores } from '../../storage/tiers.js';
import { UserError } from '../../util/errors.js';

/** A byte range, both ends included. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A single `bytes=a-b` / `a-` / `-n` range, null without (or with an ignored multi-range) header. */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

export interface DalleMaster {
  asset: Asset;
  sha256: string;
  filename: string;
  contentType: string;
  /** Lambert-93 extent of the dalle (permission perimeters). */
  bbox: readonly [number, number, number, number];
}

/** The verified master of a dalle of a version, or a 404 saying what is missing. */
export async function findDalleMaster(ctx: Pick<AppContext, 'catalog'>, dataset: string, versionName: string, name: string): Promise<DalleMaster> {
  const version = await ctx.catalog.getVersion(dataset, versionName);
  const dalle = await ctx.catalog.getDalleByName(version.id, name);
  if (!dalle) throw new UserError('unknown-dalle', `No dalle '${name}' in version ${versionName} of ${dataset}.`, { status: 404, hint: `List them: GET /api/datasets/${dataset}/versions/${versionName}/dalles?bbox=…` });
  const master = (await ctx.catalog.assets.list({ dalleId: dalle.id, kind: 'master', state: 'stored' }))[0];
  if (!master?.sha256) throw new UserError('dalle-not-stored', `The dalle ${name} has no verified master to download yet.`, { status: 404 });
  const filename = (master.location.split('/').pop() ?? `${name}.tif`).replace(/[^\w.-]/g, '_');
  return { asset: master, sha256: master.sha256, filename, contentType: filename.toLowerCase().endsWith('.jp2') ? 'image/jp2' : 'image/tiff', bbox: dalle.bbox };
}

/** Object storage answers ranges as buffers: above this, a range request gets the whole file (allowed by HTTP). */
const MAX_BUFFERED_RANGE = 16 << 20;

/** Whether a range of this size is served as a range from this master's tier. */
export function servesRange(tiers: TierStores, master: Asset, range: ByteRange): boolean {
  return tiers[master.tier].localPath !== undefined || range.end - range.start < MAX_BUFFERED_RANGE;
}

/** The master's bytes from its tier, else from the tier that keeps its copy (the NAS). */
export async function openMaster(tiers: TierStores, master: Asset, range?: ByteRange): Promise<Readable> {
  const open = async (store: ObjectStore): Promise<Readable> => {
    if (!range) return store.get(master.location);
    const file = store.localPath?.(master.location);
    if (file !== undefined) {
      const stream = createReadStream(file, { start: range.start, end: range.end });
      await new Promise<void>((resolve, reject) =>
        stream.once('open', () => resolve()).once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new ObjectNotFoundError(master.location, store.describe()) : e)),
      );
      return stream;
    }
    return Readable.from([await store.getRange(master.location, range.start, range.end - range.start + 1)]);
  };
  try {
    return await open(tiers[master.tier]);
  } catch (e) {
    if (!(e instanceof ObjectNotFoundError)) throw e;
    return open(tiers.nas);
  }
}
