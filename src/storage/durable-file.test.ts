import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UserError } from '../util/errors.js';
import { DurableFile, fsErrorCode, fsyncDirectory, mapFsError } from './durable-file.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code });

let root: string;
/** The prototype of node's FileHandle, to inject failures into write/writev/sync. */
let proto: FileHandle;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pcrs-durable-file-'));
  const fh = await open(root, 'r');
  proto = Object.getPrototypeOf(fh) as FileHandle;
  await fh.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

let n = 0;
function freshDir(): string {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
}

async function isDirectory(fh: FileHandle): Promise<boolean> {
  return (await fh.stat()).isDirectory();
}

/** Makes FileHandle.sync fail with `code` on directories ('dir') or on regular files ('file'); counts the calls. */
function failSync(on: 'dir' | 'file', code: string): { calls: () => number } {
  const original = proto.sync;
  let calls = 0;
  vi.spyOn(proto, 'sync').mockImplementation(async function (this: FileHandle) {
    calls++;
    if ((await isDirectory(this)) === (on === 'dir')) throw errno(code);
    return original.call(this);
  });
  return { calls: () => calls };
}

describe('DurableFile', () => {
  it('writes at positions (writev in batches of 1024 buffers), commits by rename and leaves no temporary', async () => {
    const dir = freshDir();
    const path = join(dir, 'out.bin');
    writeFileSync(path, 'old content');
    const f = await DurableFile.create(path);
    expect(f.tempPath.startsWith(`${path}.tmp-`)).toBe(true);
    const bufs = Array.from({ length: 2500 }, (_, i) => Buffer.from([i & 0xff, i >> 8]));
    await f.writev(bufs, 4);
    await f.write(Buffer.from('HEAD'), 0);
    expect(readFileSync(path, 'utf8')).toBe('old content'); // nothing visible before commit
    await f.commit();
    expect(readFileSync(path)).toEqual(Buffer.concat([Buffer.from('HEAD'), ...bufs]));
    expect(readdirSync(dir)).toEqual(['out.bin']);
    await f.abort(); // a no-op after commit
    expect(existsSync(path)).toBe(true);
  });

  it('completes short writes (writev and write)', async () => {
    const dir = freshDir();
    const path = join(dir, 'short.bin');
    type AnyFn = (this: FileHandle, ...args: unknown[]) => unknown;
    const originalWritev = proto.writev as unknown as AnyFn;
    const originalWrite = proto.write as unknown as AnyFn;
    // Each call writes only a few bytes: the first 3 bytes of the first buffer, or 2 bytes.
    vi.spyOn(proto, 'writev').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
      const [bufs, position] = args as [Buffer[], number];
      return originalWritev.call(this, [(bufs[0] as Buffer).subarray(0, 3)], position);
    } as unknown as typeof proto.writev);
    vi.spyOn(proto, 'write').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
      const [buf, offset, length, position] = args as [Buffer, number, number, number];
      return originalWrite.call(this, buf, offset, Math.min(length, 2), position);
    } as unknown as typeof proto.write);
    const f = await DurableFile.create(path);
    const data = [Buffer.from('abcdefgh'), Buffer.from('ij'), Buffer.from('klmnopqrstu')];
    await f.writev(data, 0);
    await f.write(Buffer.from('VWXYZ'), 21);
    vi.restoreAllMocks();
    await f.commit();
    expect(readFileSync(path, 'utf8')).toBe('abcdefghijklmnopqrstuVWXYZ');
  });

  it('refuses a temporary outside the final directory, and reports a missing directory as storage-dir-missing (503)', async () => {
    const dir = freshDir();
    await expect(DurableFile.create(join(dir, 'a'), { tempPath: join(root, 'elsewhere.tmp') })).rejects.toThrow(/not in the directory/);
    const err = await DurableFile.create(join(dir, 'missing', 'a')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'storage-dir-missing', status: 503 });
    expect(fsErrorCode(err)).toBe('ENOENT');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('write error (disk full): UserError storage-disk-full 507; abort leaves no temporary and the old file untouched', async () => {
    const dir = freshDir();
    const path = join(dir, 'full.bin');
    writeFileSync(path, 'previous');
    vi.spyOn(proto, 'writev').mockRejectedValue(errno('ENOSPC'));
    vi.spyOn(proto, 'write').mockRejectedValue(errno('EDQUOT'));
    const f = await DurableFile.create(path);
    const err = await f.writev([Buffer.from('x')], 0).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'storage-disk-full', status: 507 });
    expect((err as UserError).message).toContain('"full.bin"');
    expect((err as UserError).hint).toContain(`df -h ${dir}`);
    await expect(f.write(Buffer.from('x'), 0)).rejects.toMatchObject({ code: 'storage-quota-exceeded', status: 507 });
    await f.abort();
    await f.abort(); // idempotent
    expect(readdirSync(dir)).toEqual(['full.bin']);
    expect(readFileSync(path, 'utf8')).toBe('previous');
    expect(() => f.handle).toThrow(/aborted/);
  });

  it('fsync of the file failing (even EINVAL) fails the commit: no temporary, no new file', async () => {
    const dir = freshDir();
    const path = join(dir, 'nosync.bin');
    writeFileSync(path, 'previous');
    const f = await DurableFile.create(path);
    await f.write(Buffer.from('new'), 0);
    failSync('file', 'EINVAL');
    await expect(f.commit()).rejects.toMatchObject({ code: 'EINVAL' });
    expect(readdirSync(dir)).toEqual(['nosync.bin']);
    expect(readFileSync(path, 'utf8')).toBe('previous');
  });

  it('rename failure: the error is thrown, the temporary removed, the target left as it was', async () => {
    const dir = freshDir();
    const path = join(dir, 'target');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'x');
    const f = await DurableFile.create(path);
    await f.write(Buffer.from('data'), 0);
    const err = await f.commit().catch((e: unknown) => e);
    expect(['EISDIR', 'ENOTEMPTY', 'EEXIST']).toContain(fsErrorCode(err));
    expect(readdirSync(dir)).toEqual(['target']);
    expect(readdirSync(path)).toEqual(['inside']);
    await f.abort();
  });

  it('a rename refused as EROFS/EACCES becomes storage-read-only / storage-permission-denied (503)', async () => {
    const path = join(freshDir(), 'x');
    const f = await DurableFile.create(path, { errorContext: { action: 'copying', key: 'a/x', where: 'file:///srv/nas/', root: '/srv/nas' } });
    expect(f.mapError(errno('EROFS'))).toMatchObject({ code: 'storage-read-only', status: 503 });
    expect(f.mapError(errno('EACCES'))).toMatchObject({ code: 'storage-permission-denied', status: 503, message: expect.stringContaining('copying "a/x" in file:///srv/nas/') });
    await f.abort();
  });

  it('directory fsync unsupported (EINVAL, ENOTSUP) is tolerated: the commit succeeds', async () => {
    for (const code of ['EINVAL', 'ENOTSUP']) {
      const dir = freshDir();
      const path = join(dir, 'nfs.bin');
      const f = await DurableFile.create(path);
      await f.write(Buffer.from(code), 0);
      const syncs = failSync('dir', code);
      await f.commit();
      expect(syncs.calls()).toBe(2); // the file, then the directory
      vi.restoreAllMocks();
      expect(readFileSync(path, 'utf8')).toBe(code);
      expect(readdirSync(dir)).toEqual(['nfs.bin']);
    }
  });

  it('any other directory fsync error fails the commit (after the rename: the complete file is in place)', async () => {
    const dir = freshDir();
    const path = join(dir, 'eio.bin');
    const f = await DurableFile.create(path);
    await f.write(Buffer.from('data'), 0);
    failSync('dir', 'EIO');
    await expect(f.commit()).rejects.toMatchObject({ code: 'storage-io-error', status: 503 });
    vi.restoreAllMocks();
    expect(readFileSync(path, 'utf8')).toBe('data');
    expect(readdirSync(dir)).toEqual(['eio.bin']);
    await f.abort(); // does not remove the committed file
    expect(existsSync(path)).toBe(true);
  });

  it('fsyncDirectory tolerates EINVAL/ENOTSUP only', async () => {
    failSync('dir', 'EINVAL');
    await fsyncDirectory(root);
    vi.restoreAllMocks();
    failSync('dir', 'EIO');
    await expect(fsyncDirectory(root)).rejects.toMatchObject({ code: 'EIO' });
  });

  it('commit does not fsync again after sync() unless written since; also syncs directories asked for; fsync: false never syncs', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'sub'));
    const calls: string[] = [];
    const original = proto.sync;
    vi.spyOn(proto, 'sync').mockImplementation(async function (this: FileHandle) {
      calls.push((await isDirectory(this)) ? 'dir' : 'file');
      return original.call(this);
    });
    const a = await DurableFile.create(join(dir, 'sub', 'a'));
    await a.write(Buffer.from('a'), 0);
    await a.sync();
    await a.commit({ alsoSyncDirs: [dir] });
    expect(calls).toEqual(['file', 'dir', 'dir']);

    calls.length = 0;
    const b = await DurableFile.create(join(dir, 'b'));
    await a.abort();
    await b.sync();
    await b.write(Buffer.from('b'), 0); // written after the sync: commit syncs again
    await b.commit();
    expect(calls).toEqual(['file', 'file', 'dir']);

    calls.length = 0;
    const c = await DurableFile.create(join(dir, 'c')); // nothing written (e.g. filled by copyFile): still synced
    writeFileSync(c.tempPath, 'copied');
    await c.commit();
    expect(calls).toEqual(['file', 'dir']);
    expect(readFileSync(join(dir, 'c'), 'utf8')).toBe('copied');

    calls.length = 0;
    const d = await DurableFile.create(join(dir, 'd'), { fsync: false });
    await d.write(Buffer.from('d'), 0);
    await d.sync();
    await d.commit({ alsoSyncDirs: [dir] });
    expect(calls).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['b', 'c', 'd', 'sub']);
  });
});

describe('mapFsError / fsErrorCode', () => {
  const ctx = { action: 'writing', key: 'a.tif', where: 'file:///srv/hot/', root: '/srv/hot' };
  it('maps what an operator can fix, with hints, and nothing else', () => {
    expect(mapFsError(errno('ENOSPC'), ctx)).toMatchObject({ code: 'storage-disk-full', status: 507, hint: expect.stringContaining('df -h /srv/hot') });
    expect(mapFsError(errno('EDQUOT'), ctx)).toMatchObject({ code: 'storage-quota-exceeded', status: 507 });
    expect(mapFsError(errno('EROFS'), ctx)).toMatchObject({ code: 'storage-read-only', status: 503 });
    expect(mapFsError(errno('EPERM'), ctx)).toMatchObject({ code: 'storage-permission-denied', status: 503 });
    expect(mapFsError(errno('ENFILE'), ctx)).toMatchObject({ code: 'storage-too-many-open-files', status: 503 });
    expect(mapFsError(errno('EIO'), ctx)).toMatchObject({ code: 'storage-io-error', status: 503 });
    const other = errno('EISDIR');
    expect(mapFsError(other, ctx)).toBe(other);
    const user = new UserError('x', 'y');
    expect(mapFsError(user, ctx)).toBe(user);
  });
  it('reads the errno code through the wrapping', () => {
    expect(fsErrorCode(mapFsError(errno('ENOSPC'), ctx))).toBe('ENOSPC');
    expect(fsErrorCode(errno('ENOENT'))).toBe('ENOENT');
    expect(fsErrorCode(new UserError('storage-disk-full', 'no cause'))).toBeUndefined();
    expect(fsErrorCode('string')).toBeUndefined();
  });
});

// A real full filesystem: a small tmpfs (needs root; skipped otherwise).
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    const probe = execFileSync('mktemp', ['-d', '/tmp/pcrs-mount-probe-XXXXXX']).toString().trim();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
      execFileSync('umount', [probe], { stdio: 'ignore' });
      return true;
    } finally {
      execFileSync('rmdir', [probe]);
    }
  } catch {
    return false;
  }
}
const mountable = canMount();

describe.skipIf(!mountable)(`DurableFile on a full filesystem${mountable ? '' : ' — SKIPPED: needs root to mount tmpfs'}`, () => {
  let mnt: string | undefined;
  afterAll(() => {
    if (mnt) {
      execFileSync('umount', ['-l', mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
  it('ENOSPC → storage-disk-full; abort leaves only the old file', async () => {
    mnt = mkdtempSync(join(tmpdir(), 'pcrs-durable-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    const path = join(mnt, 'big.bin');
    writeFileSync(path, 'old');
    const f = await DurableFile.create(path);
    const chunk = randomBytes(256 * 1024);
    const err = await f.writev([chunk, chunk, chunk, chunk, chunk, chunk], 0).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'storage-disk-full', status: 507 });
    await f.abort();
    expect(readdirSync(mnt)).toEqual(['big.bin']);
    expect(readFileSync(path, 'utf8')).toBe('old');
  });
});
