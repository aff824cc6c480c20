/**
 * Filesystem adapter of `ObjectStore`: the hot tier on local disk and the NAS mirror.
 *
 * An object `a/b/c.tif` is the regular file `<root>/a/b/c.tif`; nothing else is stored.
 *
 * Writes are atomic and durable: the bytes go to a temporary file in the destination directory
 * (`.pcrs-tmp-<uuid>`, a reserved name that keys cannot use and `list` never shows), are hashed
 * while written, fsync'ed, renamed over the final name, and the directory is fsync'ed (as are
 * directories created for it). A crash leaves either the old object or the new one, plus possibly a
 * temporary file that `removeStaleTemporaries()` cleans up.
 *
 * SHA-256 is NOT kept beside the objects (no sidecar, no xattr): `put` returns it and the catalogue
 * stores it (it must anyway, per asset and tier, for fixity). Reasons: the hot pyramid has millions
 * of small files and a sidecar per file would double inodes, directory entries and fsyncs; a
 * sidecar can disagree with its file after a crash or a manual copy (the catalogue is the one
 * reference to verify against); xattrs are lost by many NAS protocols and copy tools. So
 * `head().sha256` is `undefined` here; `contentType`, `metadata` and `storageClass` are not kept
 * either. Archive packages that must describe themselves carry BagIt manifests (a later part).
 *
 * Deletions are not fsync'ed (a crash may bring a deleted object back, which a scrub reports as an
 * orphan); empty parent directories are removed. Symbolic links inside the root are followed by
 * `get`/`head` but skipped by `list`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { constants as fsConstants } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { UserError } from '../util/errors.js';
import { isProcessAlive } from '../util/process.js';
import { DurableFile, fsErrorCode, fsyncDirectory, mapFsError } from './durable-file.js';
import {
  checkRangeArgs,
  normalizeSha256,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  RESERVED_SEGMENT_PREFIX,
  validateKey,
  validatePrefix,
  type HeadResult,
  type ListEntry,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type PutSource,
} from './object-store.js';
import { HashingSource } from './source.js';

export interface LocalObjectStoreOptions {
  /** Directory holding the objects. */
  root: string;
  /** Create `root` when it does not exist. Default false: a missing root usually means an unmounted volume. */
  create?: boolean;
  /** fsync files and directories on writes (default true). Turn off only for scratch data. */
  fsync?: boolean;
}

const READ_CHUNK = 1 << 20;
const STAT_BATCH = 64;

/** Re-exported: the mapping lives with the durable write path (`durable-file.ts`). */
export { mapFsError };

export class LocalObjectStore implements ObjectStore {
  /** Absolute path of the root directory. */
  readonly root: string;
  private readonly create: boolean;
  private readonly fsync: boolean;
  private rootChecked: Promise<void> | undefined;

  constructor(options: LocalObjectStoreOptions | string) {
    const o = typeof options === 'string' ? { root: options } : options;
    if (!o.root) throw new UserError('storage-root-missing', 'No root directory configured for the local storage.', { status: 503 });
    this.root = resolve(o.root);
    this.create = o.create ?? false;
    this.fsync = o.fsync ?? true;
  }

  describe(): string {
    return pathToFileURL(this.root + sep).href;
  }

  localPath(key: string): string {
    return this.pathOf(key);
  }

  /** `<root>/.pcrs-tmp-staging`: a reserved name, so never listed and never a key. */
  stagingDir(): string {
    return join(this.root, `${RESERVED_SEGMENT_PREFIX}-staging`);
  }

  /** Absolute path of a key. The key is validated; the result is always strictly inside the root. */
  pathOf(key: string): string {
    validateKey(key);
    const p = join(this.root, ...key.split('/'));
    if (!p.startsWith(this.root + sep)) throw new Error(`BUG: key ${JSON.stringify(key)} escapes the root`); // validateKey makes this impossible
    return p;
  }

  private ctx(action: string, key?: string) {
    return { action, key, where: this.describe(), root: this.root };
  }

  private ensureRoot(): Promise<void> {
    this.rootChecked ??= this.checkRoot().catch((e: unknown) => {
      this.rootChecked = undefined; // check again next time (the volume may get mounted)
      throw e;
    });
    return this.rootChecked;
  }

  private async checkRoot(): Promise<void> {
    try {
      const st = await stat(this.root);
      if (!st.isDirectory()) {
        throw new UserError('storage-root-not-a-directory', `Storage root ${this.root} is not a directory.`, { status: 503, hint: 'Point this tier to a directory.' });
      }
    } catch (e) {
      if (fsErrorCode(e) !== 'ENOENT') throw mapFsError(e, this.ctx('opening'));
      if (!this.create) {
        throw new UserError('storage-root-missing', `Storage root ${this.root} does not exist.`, {
          status: 503,
          hint: `Create it (mkdir -p ${this.root}), mount the volume (NAS) there, or fix the configured path.`,
          cause: e,
        });
      }
      try {
        await mkdir(this.root, { recursive: true });
      } catch (e2) {
        throw mapFsError(e2, this.ctx('creating'));
      }
    }
  }

  private keyConflict(key: string, cause: unknown): UserError {
    return new UserError('storage-key-conflict', `Cannot store "${key}" in ${this.describe()}: a parent of it is an object, or it is a folder of other objects.`, {
      status: 409,
      hint: 'On a filesystem a key cannot be both an object and a folder (e.g. "a/b" and "a/b/c"). Choose another key.',
      cause,
    });
  }

  /**
   * Creates the directory of `finalPath` and a new temporary file in it. Retries when a concurrent
   * delete removed the (empty) directory in between. Returns the first directory it created.
   */
  private async createTemp(key: string, finalPath: string, action: string): Promise<{ file: DurableFile; created: string | undefined }> {
    const dir = dirname(finalPath);
    let created: string | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        created = (await this.mkdirs(dir)) ?? created;
      } catch (e) {
        if (fsErrorCode(e) === 'ENOTDIR' || fsErrorCode(e) === 'EEXIST') throw this.keyConflict(key, e);
        throw e;
      }
      try {
        const file = await DurableFile.create(finalPath, {
          tempPath: join(dir, `${TEMP_OWNER_PREFIX}${randomUUID()}`),
          fsync: this.fsync,
          errorContext: this.ctx(action, key),
        });
        return { file, created };
      } catch (e) {
        if (fsErrorCode(e) === 'ENOENT' && attempt < 5) continue;
        throw e;
      }
    }
  }

  /**
   * `mkdir -p` below the root, returning the first directory it created. (Node's recursive mkdir
   * reports ENOENT instead of the real cause, e.g. EROFS, when a parent is missing.)
   */
  private async mkdirs(dir: string): Promise<string | undefined> {
    try {
      await mkdir(dir);
      return dir;
    } catch (e) {
      const code = fsErrorCode(e);
      if (code === 'EEXIST') {
        if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
        return undefined;
      }
      if (code !== 'ENOENT' || dir === this.root || !dir.startsWith(this.root + sep)) throw e;
      const first = await this.mkdirs(dirname(dir));
      try {
        await mkdir(dir);
      } catch (e2) {
        if (fsErrorCode(e2) !== 'EEXIST') throw e2; // created concurrently: fine
        return first;
      }
      return first ?? dir;
    }
  }

  /**
   * Renames the temporary over the object and makes that durable: the directory, then every
   * directory above it up to the parent of the first one created for it.
   */
  private async commit(key: string, file: DurableFile, created: string | undefined): Promise<void> {
    const parents: string[] = [];
    if (created !== undefined) {
      const top = dirname(created);
      for (let dir = dirname(file.path); dir !== top && dir.startsWith(this.root); ) {
        dir = dirname(dir);
        parents.push(dir);
      }
    }
    try {
      await file.commit({ alsoSyncDirs: parents });
    } catch (e) {
      const code = fsErrorCode(e);
      if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') throw this.keyConflict(key, e);
      throw e;
    }
  }

  async put(key: string, source: PutSource, opts: PutOptions = {}): Promise<PutResult> {
    const finalPath = this.pathOf(key);
    const expected = opts.expectedSha256 === undefined ? undefined : normalizeSha256(opts.expectedSha256);
    await this.ensureRoot();
    const src = await HashingSource.open(source, key, expected);
    let file: DurableFile | undefined;
    let sourceFailed = false;
    try {
      const t = await this.createTemp(key, finalPath, 'writing');
      file = t.file;
      const chunks = src[Symbol.asyncIterator]();
      for (let pos = 0; ; ) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (e) {
          sourceFailed = true; // the source's own error (or a checksum mismatch): not a storage problem
          throw e;
        }
        if (next.done) break;
        await file.write(next.value, pos);
        pos += next.value.length;
      }
      await this.commit(key, file, t.created);
      const { bytes, sha256 } = src.result();
      return { key, bytes, sha256 };
    } catch (e) {
      src.destroy();
      await file?.abort();
      throw sourceFailed ? e : mapFsError(e, this.ctx('writing', key));
    }
  }

  /**
   * Moves a finished file of the same filesystem into the store as `key`, without copying it: the
   * file fsync'ed, renamed into place (atomic: a reader sees no object, or all of it), its directory
   * (and those created for it) fsync'ed. The file is gone from where it was. Throws with code EXDEV
   * when it is on another filesystem: the caller then `put`s it.
   */
  async adopt(key: string, file: string): Promise<{ key: string; bytes: number }> {
    const finalPath = this.pathOf(key);
    await this.ensureRoot();
    const dir = dirname(finalPath);
    let created: string | undefined;
    try {
      created = await this.mkdirs(dir);
    } catch (e) {
      if (fsErrorCode(e) === 'ENOTDIR' || fsErrorCode(e) === 'EEXIST') throw this.keyConflict(key, e);
      throw mapFsError(e, this.ctx('adopting', key));
    }
    const fh = await open(file, 'r');
    let bytes: number;
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'EISDIR' });
      bytes = st.size;
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(file, finalPath);
    } catch (e) {
      if (fsErrorCode(e) === 'EXDEV') throw e;
      throw mapFsError(e, this.ctx('adopting', key));
    }
    if (this.fsync) {
      // The directory now names the file; the directories made for it are named by their parents.
      const stop = created === undefined ? dir : dirname(created);
      for (let d = dir; ; d = dirname(d)) {
        await fsyncDirectory(d);
        if (d === stop || !d.startsWith(this.root)) break;
      }
    }
    return { key, bytes };
  }

  /** Opens an object for reading, or throws ObjectNotFoundError. */
  private async openObject(key: string): Promise<{ fh: FileHandle; size: number }> {
    const p = this.pathOf(key);
    await this.ensureRoot();
    let fh: FileHandle | undefined;
    try {
      fh = await open(p, 'r');
      const st = await fh.stat();
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
      return { fh, size: st.size };
    } catch (e) {
      await fh?.close().catch(() => undefined);
      const code = fsErrorCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new ObjectNotFoundError(key, this.describe(), { cause: e });
      throw mapFsError(e, this.ctx('reading', key));
    }
  }

  async get(key: string): Promise<Readable> {
    const { fh } = await this.openObject(key);
    return fh.createReadStream({ highWaterMark: READ_CHUNK, autoClose: true });
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    checkRangeArgs(offset, length);
    const { fh, size } = await this.openObject(key);
    try {
      if (offset + length > size) throw new RangeNotSatisfiableError(key, offset, length, size);
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) throw new RangeNotSatisfiableError(key, offset, length, offset + got); // truncated meanwhile
        got += bytesRead;
      }
      return buf;
    } catch (e) {
      throw mapFsError(e, this.ctx('reading', key));
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  async head(key: string): Promise<HeadResult | null> {
    const p = this.pathOf(key);
    await this.ensureRoot();
    try {
      const st = await stat(p);
      if (!st.isFile()) return null;
      return { bytes: st.size, lastModified: st.mtime };
    } catch (e) {
      const code = fsErrorCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw mapFsError(e, this.ctx('reading', key));
    }
  }

  async *list(prefix: string): AsyncIterable<ListEntry> {
    validatePrefix(prefix);
    await this.ensureRoot();
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut + 1);
    const namePrefix = prefix.slice(cut + 1);
    const dirAbs = dirKey === '' ? this.root : join(this.root, ...dirKey.slice(0, -1).split('/'));
    yield* this.walk(dirAbs, dirKey, namePrefix);
  }

  private async *walk(dirAbs: string, keyPrefix: string, namePrefix: string): AsyncGenerator<ListEntry> {
    let entries;
    try {
      entries = await readdir(dirAbs, { withFileTypes: true });
    } catch (e) {
      const code = fsErrorCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw mapFsError(e, this.ctx('listing'));
    }
    const items = entries
      .filter((d) => d.name.startsWith(namePrefix) && !d.name.startsWith(RESERVED_SEGMENT_PREFIX) && (d.isFile() || d.isDirectory()))
      .filter((d) => {
        try {
          validateKey(keyPrefix + d.name); // names made outside pcrs that are no valid keys are not objects
          return true;
        } catch {
          return false;
        }
      })
      // Order of full keys: a folder "a" sorts as "a/" so that "a-b" (0x2d) comes before "a/x" (0x2f).
      .map((d) => ({ name: d.name, isDir: d.isDirectory(), sortKey: Buffer.from(d.isDirectory() ? `${d.name}/` : d.name, 'utf8') }))
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));

    for (let i = 0; i < items.length; ) {
      const item = items[i]!;
      if (item.isDir) {
        yield* this.walk(join(dirAbs, item.name), `${keyPrefix}${item.name}/`, '');
        i++;
        continue;
      }
      // Stat a run of consecutive files concurrently, keeping the order.
      let j = i;
      while (j < items.length && j - i < STAT_BATCH && !items[j]!.isDir) j++;
      const batch = items.slice(i, j);
      const stats = await Promise.all(
        batch.map((f) =>
          stat(join(dirAbs, f.name)).catch((e: unknown) => {
            if (fsErrorCode(e) === 'ENOENT') return undefined; // deleted meanwhile
            throw mapFsError(e, this.ctx('listing'));
          }),
        ),
      );
      for (let k = 0; k < batch.length; k++) {
        const st = stats[k];
        if (st?.isFile()) yield { key: keyPrefix + batch[k]!.name, bytes: st.size, lastModified: st.mtime };
      }
      i = j;
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const fromPath = this.pathOf(fromKey);
    const toPath = this.pathOf(toKey);
    await this.ensureRoot();
    // Existence check first, for a clear error (and a no-op copy onto itself).
    const { fh: srcFh } = await this.openObject(fromKey);
    await srcFh.close();
    if (fromPath === toPath) return;
    let file: DurableFile | undefined;
    try {
      const t = await this.createTemp(toKey, toPath, 'copying');
      file = t.file;
      const tmp = file.tempPath;
      try {
        // Reflink where the filesystem can (btrfs, XFS), a plain copy otherwise. (Into the
        // temporary by its path; commit fsyncs it through the descriptor it holds.)
        await copyFile(fromPath, tmp, fsConstants.COPYFILE_FICLONE);
      } catch (e) {
        if (fsErrorCode(e) === 'ENOENT' && (await lstat(tmp).then(() => true, () => false))) throw new ObjectNotFoundError(fromKey, this.describe(), { cause: e });
        throw e;
      }
      await this.commit(toKey, file, t.created);
    } catch (e) {
      await file?.abort();
      throw mapFsError(e, this.ctx('copying', toKey));
    }
  }

  async delete(key: string): Promise<void> {
    const p = this.pathOf(key);
    await this.ensureRoot();
    try {
      await unlink(p);
    } catch (e) {
      const code = fsErrorCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return; // nothing to delete (a folder is no object)
      if (code === 'EPERM' && (await stat(p).then((s) => s.isDirectory(), () => false))) return;
      throw mapFsError(e, this.ctx('deleting', key));
    }
    // Remove parent folders left empty (a concurrent put into them retries, see createTemp).
    let dir = dirname(p);
    while (dir !== this.root && dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty (or gone, or not ours to remove)
      }
      dir = dirname(dir);
    }
  }

  /**
   * Removes temporary files left by writes that crashed (kill -9, power loss): those of dead
   * processes of this host at once, others once last modified more than `olderThanMs` ago
   * (default one day, so running writes are never touched). `prefix` limits the walk to a folder.
   * Returns how many were removed. (See `ObjectStore.removeStaleTemporaries`.)
   */
  async removeStaleTemporaries(olderThanMs = 24 * 3600 * 1000, prefix = ''): Promise<number> {
    await this.ensureRoot();
    const limit = Date.now() - olderThanMs;
    let removed = 0;
    const visit = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (fsErrorCode(e) === 'ENOENT') return;
        throw mapFsError(e, this.ctx('cleaning'));
      }
      for (const d of entries) {
        const p = join(dir, d.name);
        if (d.isDirectory()) await visit(p);
        else if (d.isFile() && d.name.startsWith(RESERVED_SEGMENT_PREFIX)) {
          const st = await stat(p).catch(() => undefined);
          if (st && (st.mtimeMs < limit || isOrphanTemporary(d.name))) {
            await unlink(p).then(() => removed++, () => undefined);
          }
        }
      }
    };
    await visit(prefix ? join(this.root, ...validatePrefix(prefix).split('/').filter(Boolean)) : this.root);
    return removed;
  }
}

/**
 * Temporary files are named `.pcrs-tmp-<host>-<pid>-<uuid>`: a temporary of a process of this host
 * that no longer exists (kill -9) is an orphan, removable at once whatever its age. (Another
 * host's temporaries on a shared NAS are left to the age rule.)
 */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const TEMP_OWNER_PREFIX = `${RESERVED_SEGMENT_PREFIX}-${HOST_TAG}-${process.pid}-`;

export function isOrphanTemporary(name: string): boolean {
  const m = new RegExp(`^${RESERVED_SEGMENT_PREFIX.replace(/[.]/g, '\\.')}-([0-9a-f]{8})-(\\d+)-`).exec(name);
  if (!m || m[1] !== HOST_TAG) return false;
  const pid = Number(m[2]);
  return pid !== process.pid && !isProcessAlive(pid);
}
