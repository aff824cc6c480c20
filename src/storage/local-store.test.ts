import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../util/errors.js';
import { LocalObjectStore, mapFsError } from './local-store.js';
import { brokenStreamOf, collect, describeObjectStoreContract, INVALID_KEYS, readAll, sha256Hex, streamOf } from './test-support/object-store.contract.js';
import { InvalidKeyError } from './object-store.js';

const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pcrs-local-store-'));
  roots.push(dir);
  return dir;
}
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

/** Every file under dir, relative, including hidden temporaries. */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

let contractRoot: string;
beforeAll(async () => {
  contractRoot = await freshRoot();
});
describeObjectStoreContract({
  name: 'LocalObjectStore',
  create: () => new LocalObjectStore({ root: contractRoot }),
  keepsSha256: false,
  keepsMetadata: false,
  presigned: false,
  partSize: 5 * 1024 * 1024,
});

describe('LocalObjectStore specifics', () => {
  it('adopts a finished file of the same disk by moving it into place (no copy), replacing an object of that key; refuses keys that leave the root', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    const body = randomBytes(300_000);
    const outside = join(root, '.staging-upload');
    await writeFile(outside, body);
    const inode = (await stat(outside)).ino;
    expect(await store.adopt('contributions/7/u1/place.gml', outside)).toEqual({ key: 'contributions/7/u1/place.gml', bytes: body.length });
    await expect(stat(outside)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(store.pathOf('contributions/7/u1/place.gml'))).ino).toBe(inode);
    expect(await readAll(await store.get('contributions/7/u1/place.gml'))).toEqual(body);
    // Over an existing object: replaced whole.
    await writeFile(outside, Buffer.from('v2'));
    await store.adopt('contributions/7/u1/place.gml', outside);
    expect((await readAll(await store.get('contributions/7/u1/place.gml'))).toString()).toBe('v2');
    await writeFile(outside, Buffer.from('x'));
    await expect(store.adopt('../evil', outside)).rejects.toBeInstanceOf(InvalidKeyError);
    expect(await allFiles(root)).toEqual(['.staging-upload', 'contributions/7/u1/place.gml']);
  });

  it('stores an object as the plain file <root>/<key>, with no sidecar', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    await store.put('46/2025/a.tif', Buffer.from('tiff'));
    expect(await allFiles(root)).toEqual(['46/2025/a.tif']);
    expect(store.describe()).toBe(`file://${root}/`);
    expect((await store.head('46/2025/a.tif'))?.sha256).toBeUndefined();
  });

  it('cannot be made to write outside its root (path traversal)', async () => {
    const outer = await freshRoot();
    const root = join(outer, 'root');
    await mkdir(root);
    const store = new LocalObjectStore(root);
    for (const bad of INVALID_KEYS) {
      await expect(store.put(bad, Buffer.from('evil')), JSON.stringify(bad)).rejects.toBeInstanceOf(InvalidKeyError);
      expect(() => store.pathOf(bad)).toThrow(InvalidKeyError);
    }
    expect(await allFiles(outer)).toEqual([]);
    expect(await readdir(outer)).toEqual(['root']);
  });

  it('leaves no temporary file behind when a write breaks halfway', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    const data = randomBytes(3 * 1024 * 1024);
    await store.put('a/old.tif', Buffer.from('old'));
    await expect(store.put('a/old.tif', brokenStreamOf(data, 2 * 1024 * 1024))).rejects.toThrow('simulated crash');
    await expect(store.put('a/new.tif', brokenStreamOf(data, 1024 * 1024))).rejects.toThrow('simulated crash');
    await expect(store.put('a/sum.tif', streamOf(data), { expectedSha256: sha256Hex('x') })).rejects.toMatchObject({ code: 'checksum-mismatch' });
    expect(await allFiles(root)).toEqual(['a/old.tif']);
    expect((await readAll(await store.get('a/old.tif'))).toString()).toBe('old');
  });

  it('hides temporaries of a killed writer from list and removes stale ones', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    await store.put('a/x.tif', Buffer.from('x'));
    // What `kill -9` during a put leaves behind.
    const orphan = join(root, 'a', '.pcrs-tmp-0d9f5c1e-orphan');
    await writeFile(orphan, 'partial');
    const fresh = join(root, 'a', '.pcrs-tmp-still-being-written');
    await writeFile(fresh, 'partial');
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(orphan, old, old);
    expect((await collect(store.list(''))).map((e) => e.key)).toEqual(['a/x.tif']);
    expect(await store.removeStaleTemporaries()).toBe(1);
    expect(await allFiles(root)).toEqual(['a/.pcrs-tmp-still-being-written', 'a/x.tif']);
    expect(await store.removeStaleTemporaries(0)).toBe(1);
    expect(await allFiles(root)).toEqual(['a/x.tif']);
  });

  it('has a staging directory inside the root that list never shows, for files renamed into place', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    const staging = store.stagingDir();
    expect(dirname(staging)).toBe(root);
    await mkdir(staging);
    await writeFile(join(staging, 'x.tif'), 'staged');
    expect(await collect(store.list(''))).toEqual([]);
    await mkdir(dirname(store.localPath('a/x.tif')));
    await rename(join(staging, 'x.tif'), store.localPath('a/x.tif'));
    expect((await collect(store.list(''))).map((e) => e.key)).toEqual(['a/x.tif']);
  });

  it('skips files whose names are no valid keys, and symbolic links', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    await store.put('ok', Buffer.from('ok'));
    await writeFile(join(root, 'bad\\name'), 'x');
    await writeFile(join(root, 'bad\nname'), 'x');
    execFileSync('ln', ['-s', '/etc', join(root, 'link')]);
    expect((await collect(store.list(''))).map((e) => e.key)).toEqual(['ok']);
  });

  it('removes folders left empty by delete, and keeps the root', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    await store.put('a/b/c/d.tif', Buffer.from('d'));
    await store.put('a/e.tif', Buffer.from('e'));
    await store.delete('a/b/c/d.tif');
    expect(await readdir(join(root, 'a'))).toEqual(['e.tif']);
    await store.delete('a/e.tif');
    expect(await readdir(root)).toEqual([]);
    expect((await stat(root)).isDirectory()).toBe(true);
  });

  it('survives concurrent puts and deletes in the same folder', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      ops.push(store.put(`x/y/${i}`, Buffer.from(String(i))).then(() => (i % 2 ? store.delete(`x/y/${i}`) : undefined)));
    }
    await Promise.all(ops);
    expect((await collect(store.list('x/'))).length).toBe(20);
  });

  it('reports a key that is both an object and a folder as a conflict', async () => {
    const store = new LocalObjectStore(await freshRoot());
    await store.put('a/b', Buffer.from('object'));
    await expect(store.put('a/b/c', Buffer.from('x'))).rejects.toMatchObject({ code: 'storage-key-conflict', status: 409 });
    await store.put('d/e/f', Buffer.from('x'));
    await expect(store.put('d/e', Buffer.from('x'))).rejects.toMatchObject({ code: 'storage-key-conflict' });
    await expect(store.copy('a/b', 'd/e')).rejects.toMatchObject({ code: 'storage-key-conflict' });
    expect((await collect(store.list(''))).map((e) => e.key)).toEqual(['a/b', 'd/e/f']);
  });

  it('refuses a missing root (an unmounted volume) unless asked to create it', async () => {
    const root = join(await freshRoot(), 'nas', 'pcrs');
    const store = new LocalObjectStore(root);
    const err = await store.put('a', Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'storage-root-missing' });
    expect((err as UserError).message).toContain(root);
    expect((err as UserError).hint).toMatch(/mount/);
    await expect(collect(store.list(''))).rejects.toMatchObject({ code: 'storage-root-missing' });
    const creating = new LocalObjectStore({ root, create: true });
    await creating.put('a', Buffer.from('x'));
    // The first store checks again and now finds the root.
    expect((await store.head('a'))?.bytes).toBe(1);
  });

  it('maps filesystem errors an operator can fix to UserErrors with hints', () => {
    const ctx = { action: 'writing', key: 'a.tif', where: 'file:///srv/hot/', root: '/srv/hot' };
    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(mapFsError(errno('ENOSPC'), ctx)).toMatchObject({ code: 'storage-disk-full', status: 507, hint: expect.stringContaining('df -h /srv/hot') });
    expect(mapFsError(errno('EROFS'), ctx)).toMatchObject({ code: 'storage-read-only', hint: expect.stringContaining('remount') });
    expect(mapFsError(errno('EACCES'), ctx)).toMatchObject({ code: 'storage-permission-denied', hint: expect.stringContaining('/srv/hot') });
    expect(mapFsError(errno('EPERM'), ctx)).toMatchObject({ code: 'storage-permission-denied' });
    expect(mapFsError(errno('EDQUOT'), ctx)).toMatchObject({ code: 'storage-quota-exceeded' });
    expect(mapFsError(errno('EMFILE'), ctx)).toMatchObject({ code: 'storage-too-many-open-files' });
    expect(mapFsError(errno('EIO'), ctx)).toMatchObject({ code: 'storage-io-error' });
    const other = errno('EWHATEVER');
    expect(mapFsError(other, ctx)).toBe(other);
  });
});

// Real full and read-only filesystems: small tmpfs mounts (needs root; skipped otherwise).
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
if (!mountable) console.warn('local-store.test: real ENOSPC/EROFS tests skipped (they mount small tmpfs filesystems and need root)');

describe.skipIf(!mountable)(`LocalObjectStore on a full or read-only filesystem${mountable ? '' : ' — SKIPPED: needs root to mount tmpfs'}`, () => {
  const mounts: string[] = [];
  async function mountTmpfs(options: string): Promise<string> {
    const dir = await freshRoot();
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    mounts.push(dir);
    return dir;
  }
  afterAll(() => {
    for (const m of mounts) execFileSync('umount', ['-l', m]);
  });

  it('disk full → UserError storage-disk-full, no partial file and no temporary left', async () => {
    const root = await mountTmpfs('size=1m');
    const store = new LocalObjectStore(root);
    await store.put('small', Buffer.from('fits'));
    const err = await store.put('big.tif', streamOf(randomBytes(3 * 1024 * 1024))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'storage-disk-full', status: 507 });
    expect((err as UserError).message).toContain('big.tif');
    expect((err as UserError).hint).toContain(root);
    expect(await allFiles(root)).toEqual(['small']);
  });

  it('read-only filesystem → UserError storage-read-only; reads still work', async () => {
    const root = await mountTmpfs('size=1m');
    const store = new LocalObjectStore(root);
    await store.put('a/x', Buffer.from('x'));
    execFileSync('mount', ['-o', 'remount,ro', root]);
    const err = await store.put('a/y', Buffer.from('y')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'storage-read-only' });
    expect((err as UserError).hint).toMatch(/remount/);
    await expect(store.put('new/dir/y', Buffer.from('y'))).rejects.toMatchObject({ code: 'storage-read-only' });
    expect((await readAll(await store.get('a/x'))).toString()).toBe('x');
    await expect(store.delete('a/x')).rejects.toMatchObject({ code: 'storage-read-only' });
  });
});
