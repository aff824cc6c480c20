/**
 * Durable, atomic creation of one file: the one write path of the local object store and of the
 * pyramid (tiled TIFF) writer.
 *
 *   const f = await DurableFile.create(finalPath, { tempPath });   // new temporary file (O_EXCL)
 *   await f.write(buf, position) / f.writev(bufs, position) …      // positional, short writes retried
 *   await f.commit();   // fsync file → close → rename onto finalPath → fsync the directory
 *   await f.abort();    // on any failure: close and remove the temporary (idempotent)
 *
 * A crash (kill -9, power loss) leaves the old file or the complete new one at `finalPath`, plus
 * possibly the temporary, never a partial `finalPath`. The temporary lives in the destination
 * directory (a rename does not cross filesystems); its name is the caller's (the object store
 * hides it behind a reserved key segment, the TIFF writer uses `path.tmp-<random>`).
 *
 * Filesystem errors an operator can fix (disk full, quota, read-only, permissions, I/O error, too
 * many open files, missing directory) are thrown as `UserError`s with a hint (`mapFsError`); the
 * original error is their `cause` (`fsErrorCode` reads its code through that wrapping).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { UserError } from '../util/errors.js';

/** Where a filesystem error happened, for its message and hint. */
export interface FsErrorContext {
  /** What was being done, as a gerund: 'writing', 'reading', 'copying'… */
  action: string;
  /** The object / file name, when the error concerns one. */
  key?: string;
  /** The store or directory, as shown to the user (e.g. `file:///srv/pcrs/hot/`). */
  where: string;
  /** The directory to check / free / chown (named in the hints). */
  root: string;
}

/** errno code of a filesystem error, also when it was wrapped by `mapFsError` (as its `cause`). */
export function fsErrorCode(e: unknown): string | undefined {
  const err = (e instanceof UserError ? e.cause : e) as NodeJS.ErrnoException | undefined;
  return typeof err?.code === 'string' ? err.code : undefined;
}

/**
 * Turns filesystem errors that an operator can fix into UserErrors with a hint; returns anything
 * else (and UserErrors) unchanged.
 *
 * Statuses: 507 when space runs out, 503 for the other environment problems (read-only,
 * permissions, I/O errors, missing directory): the request is valid and the service can take it
 * again once the operator fixed the volume. (The TIFF writer used to answer 500 for some of them,
 * which the HTTP layer reserves for bugs.)
 */
export function mapFsError(e: unknown, ctx: FsErrorContext): unknown {
  if (e instanceof UserError) return e;
  const what = ctx.key === undefined ? ctx.where : `"${ctx.key}" in ${ctx.where}`;
  switch (fsErrorCode(e)) {
    case 'ENOSPC':
      return new UserError('storage-disk-full', `No space left on the device of ${ctx.where} while ${ctx.action} ${what}.`, {
        status: 507,
        hint: `Free space on the volume holding ${ctx.root} (df -h ${ctx.root}) or move it to a bigger volume, then retry.`,
        cause: e,
      });
    case 'EDQUOT':
      return new UserError('storage-quota-exceeded', `Disk quota exceeded while ${ctx.action} ${what}.`, {
        status: 507,
        hint: `Raise the quota of the user running pcrs on the volume holding ${ctx.root}, or free space.`,
        cause: e,
      });
    case 'EROFS':
      return new UserError('storage-read-only', `${ctx.where} is on a read-only filesystem (while ${ctx.action} ${what}).`, {
        status: 503,
        hint: `Remount the volume read-write (mount -o remount,rw …; check dmesg: a filesystem goes read-only after I/O errors) or point pcrs to a writable directory.`,
        cause: e,
      });
    case 'EACCES':
    case 'EPERM':
      return new UserError('storage-permission-denied', `Permission denied while ${ctx.action} ${what}.`, {
        status: 503,
        hint: `Give the user running pcrs (uid ${process.getuid?.() ?? '?'}) read and write access to ${ctx.root} and everything below it (chown -R / chmod).`,
        cause: e,
      });
    case 'EMFILE':
    case 'ENFILE':
      return new UserError('storage-too-many-open-files', `Too many open files while ${ctx.action} ${what}.`, {
        status: 503,
        hint: 'Raise the open-files limit of the pcrs service (ulimit -n, LimitNOFILE= in systemd).',
        cause: e,
      });
    case 'EIO':
      return new UserError('storage-io-error', `Input/output error while ${ctx.action} ${what}.`, {
        status: 503,
        hint: 'The disk or the network filesystem is failing: check dmesg, smartctl and the NAS, then run a fixity scrub.',
        cause: e,
      });
    default:
      return e;
  }
}

/**
 * fsync of a directory (after a rename or mkdir in it).
 *
 * EINVAL / ENOTSUP (EOPNOTSUPP) are tolerated here, and only here: some filesystems (network
 * mounts: CIFS, some NFS/FUSE setups) cannot fsync a directory at all, and the rename is then as
 * durable as they make it; failing would report an error for a file that is complete and in place.
 * The fsync of a FILE never tolerates them (its data would not be on disk), nor does this any other
 * error (EIO: the directory entry may be lost). The TIFF writer used to fail on such mounts.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } catch (e) {
    const code = fsErrorCode(e);
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
  } finally {
    await dh.close();
  }
}

/** At most this many buffers per writev (IOV_MAX is 1024 on Linux). */
const MAX_IOV = 1024;

export interface DurableFileOptions {
  /** Path of the temporary file; must be in the directory of the final path. Default `<path>.tmp-<random>`. */
  tempPath?: string;
  /** fsync the file and its directory (default true). Turn off only for scratch data. */
  fsync?: boolean;
  /** Context of the errors thrown (default: writing `<basename>` in `<dirname>`). */
  errorContext?: FsErrorContext;
}

type State = 'open' | 'committed' | 'aborted';

export class DurableFile {
  /** Where the file appears at `commit`. */
  readonly path: string;
  readonly tempPath: string;
  private readonly fsync: boolean;
  private readonly ctx: FsErrorContext;
  private fh: FileHandle | null;
  private state: State = 'open';
  /** Bumped when a write starts and when it ends; `syncedAt` is its value at the last complete fsync. */
  private version = 0;
  private inFlight = 0;
  private syncedAt = -1;

  private constructor(path: string, tempPath: string, fh: FileHandle, fsync: boolean, ctx: FsErrorContext) {
    this.path = path;
    this.tempPath = tempPath;
    this.fh = fh;
    this.fsync = fsync;
    this.ctx = ctx;
  }

  /**
   * Creates the temporary file (exclusively: an existing file is never reused), open for reading
   * and writing. A missing directory is `storage-dir-missing` (503).
   */
  static async create(path: string, options: DurableFileOptions = {}): Promise<DurableFile> {
    const dir = dirname(path);
    const tempPath = options.tempPath ?? `${path}.tmp-${randomBytes(6).toString('hex')}`;
    if (dirname(tempPath) !== dir) throw new Error(`DurableFile: temporary ${tempPath} is not in the directory of ${path}`);
    const ctx = options.errorContext ?? { action: 'writing', key: basename(path), where: dir, root: dir };
    let fh: FileHandle;
    try {
      fh = await open(tempPath, 'wx+', 0o666);
    } catch (e) {
      const code = fsErrorCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new UserError('storage-dir-missing', `Cannot create ${ctx.key === undefined ? path : `"${ctx.key}"`}: the directory ${dir} does not exist.`, {
          status: 503,
          hint: `Create the directory (mkdir -p ${dir}), mount the volume there, or fix the configured path.`,
          cause: e,
        });
      }
      throw mapFsError(e, ctx);
    }
    return new DurableFile(path, tempPath, fh, options.fsync ?? true, ctx);
  }

  /** The open temporary file, e.g. to read back what was written. Do not close it. */
  get handle(): FileHandle {
    if (!this.fh) throw new Error(`DurableFile: ${this.tempPath} is ${this.state}`);
    return this.fh;
  }

  /** The error thrown for `e` (mapped like the errors of this file's own operations). */
  mapError(e: unknown): unknown {
    return mapFsError(e, this.ctx);
  }

  /** Writes all of `buf` at `position`. */
  async write(buf: Uint8Array, position: number): Promise<void> {
    const fh = this.handle;
    this.startWrite();
    try {
      let done = 0;
      while (done < buf.length) {
        const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
        if (bytesWritten <= 0) throw new Error('write returned 0 bytes');
        done += bytesWritten;
      }
    } catch (e) {
      throw this.mapError(e);
    } finally {
      this.endWrite();
    }
  }

  /** Writes the buffers one after the other from `position`: one writev per 1024 buffers, no copy. */
  async writev(bufs: readonly Buffer[], position: number): Promise<void> {
    const fh = this.handle;
    this.startWrite();
    try {
      let queue = bufs;
      let pos = position;
      while (queue.length > 0) {
        const batch = queue.slice(0, MAX_IOV);
        let total = 0;
        for (const b of batch) total += b.length;
        const { bytesWritten } = await fh.writev(batch, pos);
        if (bytesWritten <= 0) throw new Error('writev wrote 0 bytes');
        pos += bytesWritten;
        if (bytesWritten === total) {
          queue = queue.slice(batch.length);
          continue;
        }
        // Short write (rare): requeue what is left of the batch.
        let skip = bytesWritten;
        const rest: Buffer[] = [];
        for (const b of batch) {
          if (skip >= b.length) skip -= b.length;
          else {
            rest.push(skip > 0 ? b.subarray(skip) : b);
            skip = 0;
          }
        }
        queue = rest.concat(queue.slice(batch.length));
      }
    } catch (e) {
      throw this.mapError(e);
    } finally {
      this.endWrite();
    }
  }

  private startWrite(): void {
    this.version++;
    this.inFlight++;
  }

  private endWrite(): void {
    this.version++;
    this.inFlight--;
  }

  /**
   * fsyncs the file's data now (e.g. while reading it back); `commit` then does not again unless
   * written since. Writes made to `tempPath` by other means (copyFile) must come before it.
   */
  async sync(): Promise<void> {
    const fh = this.handle;
    if (!this.fsync) return;
    // Covers the writes completed before it; not one still in flight.
    const covers = this.inFlight === 0 ? this.version : -1;
    try {
      await fh.sync();
    } catch (e) {
      throw this.mapError(e);
    }
    this.syncedAt = covers;
  }

  /**
   * Makes the file durable at `path`: fsync (unless done since the last write), close, rename over
   * `path` (replacing a file there), fsync of the directory, and of `alsoSyncDirs` after it (e.g.
   * the parents of directories created for the file, innermost first).
   *
   * A failure before the rename removes the temporary and leaves `path` untouched. A failure of a
   * directory fsync comes after the rename: the complete file is at `path`, its durability unknown.
   */
  async commit(options: { alsoSyncDirs?: readonly string[] } = {}): Promise<void> {
    const fh = this.handle;
    try {
      if (this.syncedAt !== this.version) await this.sync();
      this.fh = null;
      await fh.close();
      await rename(this.tempPath, this.path);
    } catch (e) {
      await this.abort();
      throw this.mapError(e);
    }
    this.state = 'committed';
    if (!this.fsync) return;
    try {
      await fsyncDirectory(dirname(this.path));
      for (const d of options.alsoSyncDirs ?? []) await fsyncDirectory(d);
    } catch (e) {
      throw this.mapError(e);
    }
  }

  /** Closes and removes the temporary file. Idempotent; a no-op after a commit. Never throws. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }
}
