/**
 * The ObjectStore contract as a vitest suite, run against every adapter:
 *
 *   describeObjectStoreContract({ name: 'LocalObjectStore', create: (o) => new LocalObjectStore(…), … });
 *
 * Every test works under its own random prefix, so one backend namespace (a directory, a bucket)
 * serves the whole suite. Only for tests: it imports vitest.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../util/errors.js';
import { FaultyStore, InjectedFaultError } from './faulty-store.js';
import {
  ChecksumMismatchError,
  compareKeys,
  InvalidKeyError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  type ListEntry,
  type ObjectStore,
} from '../object-store.js';

export interface ContractStoreOptions {
  /** Keys per listing page (S3 MaxKeys), to exercise pagination. */
  listPageSize?: number;
  /** Multipart part size. */
  partSize?: number;
  /** Size above which copies go part by part. */
  multipartCopyThreshold?: number;
  copyPartSize?: number;
}

export interface ObjectStoreContractSubject {
  /** Suite title. */
  name: string;
  /** When set, the suite is registered but skipped, and this reason is shown in its title. */
  skip?: string | undefined;
  /** A store of the backend under test, with these tuning options (ignored where they mean nothing). */
  create(options: ContractStoreOptions): ObjectStore | Promise<ObjectStore>;
  /** `head().sha256` returns the digest computed by `put`. */
  keepsSha256: boolean;
  /** `head()` returns `contentType` and `metadata` given to `put`. */
  keepsMetadata: boolean;
  /** The store has `presignedGetUrl`. */
  presigned: boolean;
  /** Part size used for the multipart tests (the smallest the backend accepts, e.g. 5 MiB on S3). */
  partSize: number;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A stream of `data` in chunks of `chunkSize` bytes, as a network or file stream would deliver it. */
export function streamOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunkSize) yield data.subarray(i, i + chunkSize);
    })(),
  );
}

/** A stream that delivers `failAfter` bytes of `data` and then fails (a client that died mid-upload). */
export function brokenStreamOf(data: Buffer, failAfter: number, error = new Error('simulated crash mid-write')): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < failAfter; i += 64 * 1024) {
        yield data.subarray(i, Math.min(failAfter, i + 64 * 1024));
        await new Promise((r) => setImmediate(r));
      }
      throw error;
    })(),
  );
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

export async function collect(it: AsyncIterable<ListEntry>): Promise<ListEntry[]> {
  const out: ListEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** Keys that must be rejected everywhere (path traversal, ambiguity, control characters, reserved names). */
export const INVALID_KEYS: readonly string[] = [
  '',
  '/etc/passwd',
  '/abs/key',
  '..',
  '../escape.txt',
  '../../../../../../etc/passwd',
  'a/../../escape.txt',
  'a/b/..',
  'a/./b',
  '.',
  './a',
  'a//b',
  'a/',
  'a\\..\\..\\escape.txt',
  '..\\escape.txt',
  'a\u0000b',
  'a\nb',
  'a\rb',
  'a\tb',
  'a\u001bb',
  'a\u007fb',
  'a\u0085b',
  'a\u2028b',
  'lone\ud800surrogate',
  '.pcrs-tmp-1234',
  'a/.pcrs-tmp/x',
  `${'x'.repeat(256)}`,
  `${'abcdefgh/'.repeat(114)}x`,
];

export function describeObjectStoreContract(subject: ObjectStoreContractSubject): void {
  const title = subject.skip ? `${subject.name} — SKIPPED: ${subject.skip}` : subject.name;
  describe.skipIf(Boolean(subject.skip))(`ObjectStore contract: ${title}`, () => {
    let store: ObjectStore;
    let scratch: string;
    const MiB = 1024 * 1024;
    // 9 MiB + a bit: several stream chunks, more than one part of small multipart settings.
    const big = randomBytes(9 * MiB + 12345);
    const bigSha = sha256Hex(big);
    const run = `contract-${randomUUID().slice(0, 8)}/`;
    let n = 0;
    /** A fresh prefix per test. */
    const fresh = () => `${run}t${++n}/`;

    beforeAll(async () => {
      store = await subject.create({});
      scratch = await mkdtemp(join(tmpdir(), 'pcrs-contract-'));
    });
    afterAll(async () => {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    describe('put and get', () => {
      it('round-trips a multi-MB stream with the right SHA-256, computed while streaming', async () => {
        const key = `${fresh()}dalles/46-2025-0575-6374-LA93-0M05-RVB.tif`;
        const res = await store.put(key, streamOf(big), { contentType: 'image/tiff' });
        expect(res).toEqual({ key, bytes: big.length, sha256: bigSha });
        const back = await readAll(await store.get(key));
        expect(back.length).toBe(big.length);
        expect(sha256Hex(back)).toBe(bigSha);
        const head = await store.head(key);
        expect(head?.bytes).toBe(big.length);
        expect(head?.lastModified).toBeInstanceOf(Date);
        if (subject.keepsSha256) expect(head?.sha256).toBe(bigSha);
        else expect(head?.sha256).toBeUndefined();
      });

      it('gives the same digest for Buffer, Uint8Array, file and stream sources', async () => {
        const p = fresh();
        const data = randomBytes(300_000);
        const file = join(scratch, `src-${randomUUID()}`);
        await writeFile(file, data);
        const expected = { bytes: data.length, sha256: sha256Hex(data) };
        expect(await store.put(`${p}buffer`, data)).toEqual({ key: `${p}buffer`, ...expected });
        expect(await store.put(`${p}u8`, new Uint8Array(data))).toEqual({ key: `${p}u8`, ...expected });
        expect(await store.put(`${p}file`, { file })).toEqual({ key: `${p}file`, ...expected });
        expect(await store.put(`${p}stream`, streamOf(data, 1000))).toEqual({ key: `${p}stream`, ...expected });
        for (const k of ['buffer', 'u8', 'file', 'stream']) expect(sha256Hex(await readAll(await store.get(`${p}${k}`)))).toBe(expected.sha256);
      });

      it('stores an empty object', async () => {
        const key = `${fresh()}empty`;
        expect(await store.put(key, Buffer.alloc(0))).toEqual({ key, bytes: 0, sha256: sha256Hex('') });
        expect((await readAll(await store.get(key))).length).toBe(0);
        expect((await store.head(key))?.bytes).toBe(0);
      });

      it('replaces an existing object', async () => {
        const key = `${fresh()}x`;
        await store.put(key, Buffer.from('first version'));
        await store.put(key, Buffer.from('second'));
        expect((await readAll(await store.get(key))).toString()).toBe('second');
        expect((await store.head(key))?.bytes).toBe(6);
      });

      it('accepts a matching expectedSha256 (any case)', async () => {
        const key = `${fresh()}ok`;
        const data = randomBytes(70_000);
        const res = await store.put(key, streamOf(data), { expectedSha256: sha256Hex(data).toUpperCase() });
        expect(res.sha256).toBe(sha256Hex(data));
        if (subject.keepsSha256) expect((await store.head(key))?.sha256).toBe(sha256Hex(data));
      });

      it('rejects a malformed expectedSha256 before storing anything', async () => {
        const p = fresh();
        await expect(store.put(`${p}x`, Buffer.from('x'), { expectedSha256: 'abc' })).rejects.toMatchObject({ code: 'invalid-sha256' });
        expect(await collect(store.list(p))).toEqual([]);
      });

      it.each(['buffer', 'file', 'stream', 'big stream'] as const)('leaves nothing when expectedSha256 does not match (%s source)', async (kind) => {
        const p = fresh();
        const key = `${p}bad.tif`;
        const data = kind === 'big stream' ? big : randomBytes(100_000);
        const file = join(scratch, `src-${randomUUID()}`);
        if (kind === 'file') await writeFile(file, data);
        const source = kind === 'buffer' ? data : kind === 'file' ? { file } : streamOf(data);
        const wrong = sha256Hex('something else');
        const err = await store.put(key, source, { expectedSha256: wrong }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ChecksumMismatchError);
        expect(err).toMatchObject({ code: 'checksum-mismatch', expected: wrong, actual: sha256Hex(data) });
        expect(await store.head(key)).toBeNull();
        expect(await collect(store.list(p))).toEqual([]);
      });

      it('keeps the previous version when a replacement fails its checksum', async () => {
        const key = `${fresh()}keep`;
        await store.put(key, Buffer.from('good'));
        await expect(store.put(key, streamOf(randomBytes(50_000)), { expectedSha256: sha256Hex('nope') })).rejects.toBeInstanceOf(ChecksumMismatchError);
        expect((await readAll(await store.get(key))).toString()).toBe('good');
      });

      it('fails atomically when the source stream breaks halfway: no object, nothing listed, old version kept', async () => {
        const p = fresh();
        const crash = new Error('simulated crash mid-write');
        await expect(store.put(`${p}new.tif`, brokenStreamOf(big, 4 * MiB, crash))).rejects.toThrow('simulated crash mid-write');
        expect(await store.head(`${p}new.tif`)).toBeNull();
        await store.put(`${p}old.tif`, Buffer.from('old'));
        await expect(store.put(`${p}old.tif`, brokenStreamOf(big, 100_000, crash))).rejects.toThrow('simulated crash mid-write');
        expect((await readAll(await store.get(`${p}old.tif`))).toString()).toBe('old');
        expect((await collect(store.list(p))).map((e) => e.key)).toEqual([`${p}old.tif`]);
      });

      it('reports a missing source file as a UserError', async () => {
        const p = fresh();
        await expect(store.put(`${p}x`, { file: join(scratch, 'does-not-exist') })).rejects.toMatchObject({ code: 'source-not-found' });
        expect(await collect(store.list(p))).toEqual([]);
      });

      it('keeps one complete version under concurrent writes to the same key', async () => {
        const key = `${fresh()}race`;
        const versions = [randomBytes(200_000), randomBytes(300_000), randomBytes(100_000)];
        await Promise.all(versions.map((v) => store.put(key, streamOf(v, 7000))));
        const back = sha256Hex(await readAll(await store.get(key)));
        expect(versions.map((v) => sha256Hex(v))).toContain(back);
        expect((await collect(store.list(key))).length).toBe(1);
      });

      it.runIf(subject.keepsMetadata)('keeps content type and metadata', async () => {
        const key = `${fresh()}meta.tif`;
        await store.put(key, Buffer.from('x'), { contentType: 'image/tiff', metadata: { millesime: '2025', 'Source-Delivery': 'lot-46' } });
        const head = await store.head(key);
        expect(head?.contentType).toBe('image/tiff');
        expect(head?.metadata).toEqual({ millesime: '2025', 'source-delivery': 'lot-46' });
      });
    });

    describe('missing objects', () => {
      it('head → null, get/getRange/copy → ObjectNotFoundError, delete → no-op', async () => {
        const key = `${fresh()}missing.tif`;
        expect(await store.head(key)).toBeNull();
        await expect(store.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
        await expect(store.getRange(key, 0, 10)).rejects.toBeInstanceOf(ObjectNotFoundError);
        await expect(store.copy(key, `${key}.copy`)).rejects.toBeInstanceOf(ObjectNotFoundError);
        await expect(store.delete(key)).resolves.toBeUndefined();
        const err = await store.get(key).catch((e: unknown) => e);
        expect(isUserError(err)).toBe(true);
        expect(err).toMatchObject({ code: 'object-not-found', status: 404, key });
        expect((err as Error).message).toContain(key);
      });

      it('a folder of other objects is not an object', async () => {
        const p = fresh();
        await store.put(`${p}dir/file`, Buffer.from('x'));
        expect(await store.head(`${p}dir`)).toBeNull();
        await expect(store.get(`${p}dir`)).rejects.toBeInstanceOf(ObjectNotFoundError);
        await store.delete(`${p}dir`);
        expect(await store.head(`${p}dir/file`)).not.toBeNull();
      });
    });

    describe('range reads', () => {
      let key: string;
      const data = randomBytes(100_000);
      beforeAll(async () => {
        key = `${fresh()}range.bin`;
        await store.put(key, data);
      });

      it('reads the first byte, the last byte, a middle span and the whole object', async () => {
        expect(await store.getRange(key, 0, 1)).toEqual(data.subarray(0, 1));
        expect(await store.getRange(key, data.length - 1, 1)).toEqual(data.subarray(data.length - 1));
        expect(await store.getRange(key, 12_345, 4096)).toEqual(data.subarray(12_345, 12_345 + 4096));
        expect(await store.getRange(key, 0, data.length)).toEqual(data);
      });

      it('rejects a range past the end with a clear error', async () => {
        for (const [offset, length] of [
          [data.length, 1],
          [data.length + 1000, 10],
          [data.length - 10, 11],
          [0, data.length + 1],
        ] as const) {
          const err = await store.getRange(key, offset, length).catch((e: unknown) => e);
          expect(err, `range ${offset}+${length}`).toBeInstanceOf(RangeNotSatisfiableError);
          expect((err as Error).message).toMatch(/past the end/);
          expect(err).toMatchObject({ code: 'range-not-satisfiable', status: 416 });
        }
      });

      it('rejects nonsensical arguments as programming errors', async () => {
        await expect(store.getRange(key, -1, 10)).rejects.toBeInstanceOf(RangeError);
        await expect(store.getRange(key, 0, 0)).rejects.toBeInstanceOf(RangeError);
        await expect(store.getRange(key, 1.5, 10)).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('list', () => {
      it('lists exactly the keys under a prefix, in UTF-8 byte order, with sizes', async () => {
        const p = fresh();
        const names = ['a/x', 'a-b', 'a.b', 'a/y/z', 'b', 'é/1', 'z', 'a0', 'A'];
        for (const [i, name] of names.entries()) await store.put(`${p}${name}`, Buffer.alloc(i + 1, 1));
        await store.put(`${run}elsewhere/a/x`, Buffer.from('not listed'));
        const all = await collect(store.list(p));
        const expected = names.map((name) => `${p}${name}`).sort(compareKeys);
        expect(all.map((e) => e.key)).toEqual(expected);
        for (const e of all) {
          expect(e.bytes).toBe(names.indexOf(e.key.slice(p.length)) + 1);
          expect(e.lastModified).toBeInstanceOf(Date);
        }
        expect((await collect(store.list(`${p}a/`))).map((e) => e.key)).toEqual([`${p}a/x`, `${p}a/y/z`]);
        // A prefix is a plain string prefix, not only a folder.
        expect((await collect(store.list(`${p}a`))).map((e) => e.key)).toEqual([`${p}a-b`, `${p}a.b`, `${p}a/x`, `${p}a/y/z`, `${p}a0`]);
        expect((await collect(store.list(`${p}a/y/z`))).map((e) => e.key)).toEqual([`${p}a/y/z`]);
        expect(await collect(store.list(`${p}nothing-here/`))).toEqual([]);
        expect(await collect(store.list(`${p}nothing`))).toEqual([]);
      });

      it('pages through more keys than a listing page holds', async () => {
        const paged = await subject.create({ listPageSize: 3 });
        const p = fresh();
        const keys = Array.from({ length: 11 }, (_, i) => `${p}tiles/${String(i).padStart(3, '0')}.jpg`);
        await Promise.all(keys.map((k) => paged.put(k, Buffer.from(k))));
        expect((await collect(paged.list(p))).map((e) => e.key)).toEqual(keys);
        expect((await collect(paged.list(`${p}tiles/00`))).map((e) => e.key)).toEqual(keys.slice(0, 10));
      });

      it('rejects invalid prefixes', async () => {
        for (const bad of ['/abs', '../', 'a/../', 'a\\b', 'a\u0000', 'a//b', '.pcrs-tmp']) {
          await expect(collect(store.list(bad)), JSON.stringify(bad)).rejects.toBeInstanceOf(InvalidKeyError);
        }
      });
    });

    describe('copy and delete', () => {
      it('copies an object with its bytes and digest; the source stays', async () => {
        const p = fresh();
        const data = randomBytes(123_456);
        await store.put(`${p}src/a.tif`, data, { contentType: 'image/tiff', metadata: { m: '1' } });
        await store.copy(`${p}src/a.tif`, `${p}dst/deep/b.tif`);
        expect(sha256Hex(await readAll(await store.get(`${p}dst/deep/b.tif`)))).toBe(sha256Hex(data));
        expect(sha256Hex(await readAll(await store.get(`${p}src/a.tif`)))).toBe(sha256Hex(data));
        const head = await store.head(`${p}dst/deep/b.tif`);
        expect(head?.bytes).toBe(data.length);
        if (subject.keepsSha256) expect(head?.sha256).toBe(sha256Hex(data));
        if (subject.keepsMetadata) {
          expect(head?.contentType).toBe('image/tiff');
          expect(head?.metadata).toEqual({ m: '1' });
        }
        // Onto an existing object, and onto itself.
        await store.put(`${p}other`, Buffer.from('other'));
        await store.copy(`${p}other`, `${p}src/a.tif`);
        expect((await readAll(await store.get(`${p}src/a.tif`))).toString()).toBe('other');
        await store.copy(`${p}other`, `${p}other`);
        expect((await readAll(await store.get(`${p}other`))).toString()).toBe('other');
      });

      it('copies an object larger than the multipart-copy threshold', async () => {
        const s = await subject.create({ multipartCopyThreshold: subject.partSize, copyPartSize: subject.partSize });
        const p = fresh();
        await s.put(`${p}big`, big, { contentType: 'image/tiff', metadata: { campaign: 'x' } });
        await s.copy(`${p}big`, `${p}copy`);
        expect(sha256Hex(await readAll(await s.get(`${p}copy`)))).toBe(bigSha);
        const head = await s.head(`${p}copy`);
        expect(head?.bytes).toBe(big.length);
        if (subject.keepsSha256) expect(head?.sha256).toBe(bigSha);
        if (subject.keepsMetadata) expect(head?.metadata).toEqual({ campaign: 'x' });
      });

      it('deletes one object and nothing else', async () => {
        const p = fresh();
        await store.put(`${p}a/b/c`, Buffer.from('c'));
        await store.put(`${p}a/b/d`, Buffer.from('d'));
        await store.delete(`${p}a/b/c`);
        expect(await store.head(`${p}a/b/c`)).toBeNull();
        expect((await collect(store.list(p))).map((e) => e.key)).toEqual([`${p}a/b/d`]);
        await store.delete(`${p}a/b/d`);
        expect(await collect(store.list(p))).toEqual([]);
        // The key can be used again, also as a folder.
        await store.put(`${p}a/b`, Buffer.from('now an object'));
        expect((await store.head(`${p}a/b`))?.bytes).toBe(13);
      });
    });

    describe('keys', () => {
      it.each(INVALID_KEYS.map((k) => [JSON.stringify(k).slice(0, 60), k]))('rejects %s in every operation', async (_label, bad) => {
        const ok = `${fresh()}ok`;
        await store.put(ok, Buffer.from('x'));
        const calls: [string, () => Promise<unknown>][] = [
          ['put', () => store.put(bad, Buffer.from('evil'))],
          ['put stream', () => store.put(bad, streamOf(Buffer.from('evil')))],
          ['get', () => store.get(bad)],
          ['getRange', () => store.getRange(bad, 0, 1)],
          ['head', () => store.head(bad)],
          ['copy from', () => store.copy(bad, ok)],
          ['copy to', () => store.copy(ok, bad)],
          ['delete', () => store.delete(bad)],
        ];
        if (store.presignedGetUrl) calls.push(['presign', () => store.presignedGetUrl!(bad, 60)]);
        for (const [what, call] of calls) {
          const err = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, `${what} ${JSON.stringify(bad)}`).toBeInstanceOf(InvalidKeyError);
          expect(err).toMatchObject({ code: 'invalid-storage-key', status: 400 });
        }
        expect((await readAll(await store.get(ok))).toString()).toBe('x');
      });

      it('accepts unusual but valid keys (spaces, accents, URL-special characters)', async () => {
        const p = fresh();
        const keys = ['dalle 46 (copie).tif', 'Cahors/éèà ç.tif', 'a+b=c&d;e,f', '100%/x?y#z', 'x:y@z~!$\'*', '.hidden', '...', 'a..b', '日本/ß'];
        for (const k of keys) {
          const key = `${p}${k}`;
          await store.put(key, Buffer.from(k));
          expect((await readAll(await store.get(key))).toString(), k).toBe(k);
          expect(await store.getRange(key, 0, 1)).toEqual(Buffer.from(k).subarray(0, 1));
          await store.copy(key, `${key}.copy`);
          expect((await store.head(`${key}.copy`))?.bytes).toBe(Buffer.byteLength(k));
        }
        const listed = (await collect(store.list(p))).map((e) => e.key);
        expect(listed).toEqual([...keys.map((k) => `${p}${k}`), ...keys.map((k) => `${p}${k}.copy`)].sort(compareKeys));
      });
    });

    describe('multipart', () => {
      it('uploads sources larger than the part size (stream, stream with expected digest, file, buffer)', async () => {
        const s = await subject.create({ partSize: subject.partSize });
        const p = fresh();
        const data = big.length > 2 * subject.partSize ? big : randomBytes(2 * subject.partSize + 777);
        const digest = sha256Hex(data);
        const file = join(scratch, `big-${randomUUID()}`);
        await writeFile(file, data);
        const results = [
          await s.put(`${p}stream`, streamOf(data)),
          await s.put(`${p}expected`, streamOf(data), { expectedSha256: digest }),
          await s.put(`${p}file`, { file }),
          await s.put(`${p}buffer`, data),
        ];
        for (const r of results) {
          expect(r.bytes).toBe(data.length);
          expect(r.sha256).toBe(digest);
          expect(sha256Hex(await readAll(await s.get(r.key)))).toBe(digest);
          const head = await s.head(r.key);
          expect(head?.bytes).toBe(data.length);
          if (subject.keepsSha256) expect(head?.sha256).toBe(digest);
        }
        expect(await s.getRange(`${p}stream`, subject.partSize - 2, 4)).toEqual(data.subarray(subject.partSize - 2, subject.partSize + 2));
        expect((await collect(s.list(p))).map((e) => e.key)).toEqual([`${p}buffer`, `${p}expected`, `${p}file`, `${p}stream`]);
      });

      it('leaves nothing when a multipart source fails its checksum or breaks', async () => {
        const s = await subject.create({ partSize: subject.partSize });
        const p = fresh();
        await expect(s.put(`${p}bad`, streamOf(big), { expectedSha256: sha256Hex('x') })).rejects.toBeInstanceOf(ChecksumMismatchError);
        await expect(s.put(`${p}broken`, brokenStreamOf(big, big.length - 1000))).rejects.toThrow('simulated crash');
        expect(await collect(s.list(p))).toEqual([]);
      });
    });

    describe.runIf(subject.presigned)('presigned URLs', () => {
      it('serves the object without credentials until expiry', async () => {
        const key = `${fresh()}shared é.tif`;
        const data = randomBytes(5000);
        await store.put(key, data);
        const url = await store.presignedGetUrl!(key, 300);
        const res = await fetch(url);
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer())).toEqual(data);
        await expect(store.presignedGetUrl!(key, 0)).rejects.toBeInstanceOf(RangeError);
        await expect(store.presignedGetUrl!(key, 8 * 24 * 3600)).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('with FaultyStore', () => {
      it('fails exactly the N-th matching call, and nothing is stored by a failed put', async () => {
        const p = fresh();
        const faulty = new FaultyStore(store, { failOnCall: 2, ops: ['put'] });
        await faulty.put(`${p}1`, Buffer.from('1'));
        expect(await faulty.head(`${p}1`)).not.toBeNull(); // head does not count
        await expect(faulty.put(`${p}2`, Buffer.from('2'))).rejects.toBeInstanceOf(InjectedFaultError);
        await faulty.put(`${p}3`, Buffer.from('3'));
        expect((await collect(store.list(p))).map((e) => e.key)).toEqual([`${p}1`, `${p}3`]);
        expect(faulty.calls).toBe(3);
        expect(faulty.faults).toBe(1);
      });

      it('a put failing mid-stream leaves no object (atomicity through the real backend)', async () => {
        const p = fresh();
        const faulty = new FaultyStore(store, { failOnCall: 1, ops: ['put'], mode: 'mid-stream' });
        await expect(faulty.put(`${p}x`, big)).rejects.toBeInstanceOf(InjectedFaultError);
        expect(await store.head(`${p}x`)).toBeNull();
        expect(await collect(store.list(p))).toEqual([]);
      });

      it("'after' mode: the write happened but the caller saw an error (lost answer)", async () => {
        const p = fresh();
        const faulty = new FaultyStore(store, { failOnCall: 1, ops: ['put'], mode: 'after' });
        await expect(faulty.put(`${p}x`, Buffer.from('x'))).rejects.toBeInstanceOf(InjectedFaultError);
        expect((await store.head(`${p}x`))?.bytes).toBe(1);
      });

      it("'corrupt' mode flips a bit of what is read", async () => {
        const key = `${fresh()}x`;
        const data = randomBytes(10_000);
        await store.put(key, data);
        const faulty = new FaultyStore(store, { failOnCall: 1, ops: ['get', 'getRange'], mode: 'corrupt', times: 2 });
        expect(sha256Hex(await readAll(await faulty.get(key)))).not.toBe(sha256Hex(data));
        expect(await faulty.getRange(key, 0, 100)).not.toEqual(data.subarray(0, 100));
        expect(sha256Hex(await readAll(await faulty.get(key)))).toBe(sha256Hex(data));
      });
    });
  });
}
