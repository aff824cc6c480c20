import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../util/errors.js';
import { collect, describeObjectStoreContract, readAll, sha256Hex, streamOf } from './test-support/object-store.contract.js';
import { ObjectNotRestoredError } from './object-store.js';
import { parseRestoreHeader, S3ObjectStore, s3ConfigFromEnv, type S3ObjectStoreConfig } from './s3-store.js';
import { LocalHttpFake } from '../test-support/http-fake.js';

const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Always: pure functions and protocol-level behaviour against a small fake S3 (for what Ceph RGW 16
// cannot do: archive classes, RestoreObject states) and against a closed port.

describe('parseRestoreHeader', () => {
  it('parses the documented x-amz-restore values', () => {
    expect(parseRestoreHeader('ongoing-request="true"')).toEqual({ ongoing: true });
    expect(parseRestoreHeader('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"')).toEqual({
      ongoing: false,
      expiry: new Date(Date.UTC(2012, 11, 21)),
    });
    expect(parseRestoreHeader(undefined)).toBeUndefined();
    expect(parseRestoreHeader('')).toBeUndefined();
    expect(parseRestoreHeader('garbage')).toBeUndefined();
    expect(parseRestoreHeader('ongoing-request="false", expiry-date="not a date"')).toEqual({ ongoing: false });
  });
});

describe('s3ConfigFromEnv', () => {
  it('reads the S3_* variables', () => {
    expect(
      s3ConfigFromEnv({ S3_ENDPOINT: 'http://127.0.0.1:7480', S3_REGION: 'eu-west-3', S3_FORCE_PATH_STYLE: 'true', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' }, { bucket: 'b' }),
    ).toEqual({ endpoint: 'http://127.0.0.1:7480', region: 'eu-west-3', forcePathStyle: true, accessKeyId: 'k', secretAccessKey: 's', bucket: 'b' });
    expect(() => s3ConfigFromEnv({})).toThrow(UserError);
  });

  it('rejects half-given credentials and bad endpoints as configuration errors', () => {
    expect(() => new S3ObjectStore({ region: 'x', bucket: 'b', accessKeyId: 'k' })).toThrow(/together/);
    expect(() => new S3ObjectStore({ region: 'x', bucket: 'b', endpoint: '127.0.0.1:7480' })).toThrow(/Invalid S3 endpoint/);
    expect(() => new S3ObjectStore({ region: 'x', bucket: 'b', partSize: MiB })).toThrow(RangeError);
    expect(new S3ObjectStore({ region: 'x', bucket: 'b', prefix: '/pcrs/masters' }).describe()).toBe('s3://b/pcrs/masters/');
  });
});

interface FakeObject {
  body: Buffer;
  headers: Record<string, string>;
  /** Archive class object without a readable copy. */
  archived?: boolean;
}

/** A minimal path-style S3: enough for PutObject, multipart, Head/Get, Delete, with fault hooks. */
class FakeS3 extends LocalHttpFake {
  objects = new Map<string, FakeObject>();
  uploads = new Map<string, Map<number, Buffer>>();
  log: string[] = [];
  /** Return [status, code] to fail a request. */
  fail: ((what: string, attempt: number) => [number, string] | undefined) | undefined;
  private attempts = new Map<string, number>();

  private error(res: ServerResponse, status: number, code: string, method = 'GET'): void {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(method === 'HEAD' ? undefined : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message><RequestId>fake</RequestId></Error>`);
  }

  protected handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const [, bucket, ...rest] = u.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const q = u.searchParams;
    const method = req.method ?? 'GET';
    const what = `${method} ${q.has('partNumber') ? `part ${q.get('partNumber')}` : q.has('uploads') ? 'create' : q.has('uploadId') ? (method === 'POST' ? 'complete' : 'abort') : key}`;
    this.log.push(what);
    const attempt = (this.attempts.get(what) ?? 0) + 1;
    this.attempts.set(what, attempt);
    const injected = this.fail?.(what, attempt);
    if (injected) return this.error(res, injected[0], injected[1], method);
    if (bucket !== 'bucket') return this.error(res, 404, 'NoSuchBucket', method);

    if (method === 'POST' && q.has('uploads')) {
      const id = randomUUID();
      this.uploads.set(id, new Map());
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
      return;
    }
    if (method === 'PUT' && q.has('partNumber')) {
      this.uploads.get(q.get('uploadId')!)!.set(Number(q.get('partNumber')), body);
      res.writeHead(200, { etag: `"${sha256Hex(body).slice(0, 32)}"` });
      res.end();
      return;
    }
    if (method === 'POST' && q.has('uploadId')) {
      const parts = this.uploads.get(q.get('uploadId')!)!;
      const data = Buffer.concat([...parts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]));
      this.objects.set(key, { body: data, headers: {} });
      this.uploads.delete(q.get('uploadId')!);
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>"x-${parts.size}"</ETag></CompleteMultipartUploadResult>`);
      return;
    }
    if (method === 'DELETE' && q.has('uploadId')) {
      this.uploads.delete(q.get('uploadId')!);
      res.writeHead(204);
      res.end();
      return;
    }
    if (method === 'PUT') {
      const headers: Record<string, string> = {};
      for (const [h, v] of Object.entries(req.headers)) if (h.startsWith('x-amz-meta-') && typeof v === 'string') headers[h] = v;
      this.objects.set(key, { body, headers });
      res.writeHead(200, { etag: '"e"' });
      res.end();
      return;
    }
    if (method === 'DELETE') {
      this.objects.delete(key);
      res.writeHead(204);
      res.end();
      return;
    }
    const obj = this.objects.get(key);
    if (!obj) return this.error(res, 404, 'NoSuchKey', method);
    if (method === 'HEAD') {
      res.writeHead(200, { 'content-length': String(obj.body.length), 'last-modified': new Date().toUTCString(), ...obj.headers });
      res.end();
      return;
    }
    if (obj.archived) return this.error(res, 403, 'InvalidObjectState');
    res.writeHead(200, { 'content-length': String(obj.body.length) });
    res.end(obj.body);
  }
}

describe('S3ObjectStore at the protocol level (fake S3)', () => {
  const fake = new FakeS3();
  let store: S3ObjectStore;
  beforeAll(async () => {
    await fake.start();
    store = new S3ObjectStore({ endpoint: fake.url, region: 'us-east-1', bucket: 'bucket', forcePathStyle: true, accessKeyId: 'k', secretAccessKey: 's', partSize: 5 * MiB });
  });
  afterAll(async () => {
    store.destroy();
    await fake.stop();
  });

  it('reports archive storage class and restore state from HEAD', async () => {
    fake.objects.set('cold/ongoing.tar', { body: Buffer.alloc(10), headers: { 'x-amz-storage-class': 'DEEP_ARCHIVE', 'x-amz-restore': 'ongoing-request="true"' }, archived: true });
    fake.objects.set('cold/restored.tar', {
      body: Buffer.alloc(20),
      headers: { 'x-amz-storage-class': 'GLACIER', 'x-amz-restore': 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"', 'x-amz-meta-sha256': 'ab'.repeat(32) },
    });
    fake.objects.set('cold/standard', { body: Buffer.alloc(1), headers: {} });
    expect(await store.head('cold/ongoing.tar')).toMatchObject({ bytes: 10, storageClass: 'DEEP_ARCHIVE', restore: { ongoing: true } });
    expect(await store.head('cold/restored.tar')).toMatchObject({ bytes: 20, storageClass: 'GLACIER', sha256: 'ab'.repeat(32), restore: { ongoing: false, expiry: new Date('2012-12-21T00:00:00Z') } });
    const std = await store.head('cold/standard');
    expect(std?.storageClass).toBe('STANDARD');
    expect(std?.restore).toBeUndefined();
  });

  it('turns 403 InvalidObjectState (archived, not restored) into ObjectNotRestoredError', async () => {
    const err = await store.get('cold/ongoing.tar').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectNotRestoredError);
    expect(err).toMatchObject({ code: 'object-not-restored', key: 'cold/ongoing.tar' });
    expect((err as UserError).hint).toMatch(/restore/i);
    await expect(store.getRange('cold/ongoing.tar', 0, 1)).rejects.toBeInstanceOf(ObjectNotRestoredError);
  });

  it('retries a failed part and completes the upload', async () => {
    const data = randomBytes(12 * MiB);
    fake.log = [];
    fake.fail = (what, attempt) => (what === 'PUT part 2' && attempt === 1 ? [500, 'InternalError'] : undefined);
    try {
      const res = await store.put('retry/x.tif', data, {});
      expect(res.sha256).toBe(sha256Hex(data));
    } finally {
      fake.fail = undefined;
    }
    expect(fake.log.filter((l) => l === 'PUT part 2')).toHaveLength(2);
    expect(fake.objects.get('retry/x.tif')?.body.equals(data)).toBe(true);
    expect(fake.log.filter((l) => l.startsWith('PUT part'))).toHaveLength(4); // 3 parts + 1 retry
  });

  it('on a part that keeps failing: stops reading the source, aborts the upload, stores nothing', async () => {
    fake.log = [];
    let produced = 0;
    const total = 400 * MiB;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < total; i += MiB) {
          produced += MiB;
          yield Buffer.alloc(MiB, 7);
        }
      })(),
    );
    fake.fail = (what) => (what === 'PUT part 2' ? [403, 'AccessDenied'] : undefined);
    let err: unknown;
    try {
      err = await store.put('fail/x.tif', source, { expectedSha256: 'ab'.repeat(32) }).catch((e: unknown) => e);
    } finally {
      fake.fail = undefined;
    }
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'storage-access-denied' });
    expect(fake.log).toContain('DELETE abort');
    expect(fake.log).not.toContain('POST complete');
    expect(fake.objects.has('fail/x.tif')).toBe(false);
    expect(fake.uploads.size).toBe(0);
    expect(produced).toBeLessThan(total / 2);
  });

  it('maps credential and bucket errors with hints', async () => {
    fake.fail = (what) => (what === 'GET creds' ? [403, 'InvalidAccessKeyId'] : what === 'GET sig' ? [403, 'SignatureDoesNotMatch'] : what === 'GET skew' ? [403, 'RequestTimeTooSkewed'] : undefined);
    try {
      await expect(store.get('creds')).rejects.toMatchObject({ code: 'storage-credentials-rejected', hint: expect.stringContaining('S3_ACCESS_KEY_ID') });
      await expect(store.get('sig')).rejects.toMatchObject({ code: 'storage-credentials-rejected', hint: expect.stringContaining('S3_SECRET_ACCESS_KEY') });
      await expect(store.get('skew')).rejects.toMatchObject({ code: 'storage-clock-skew' });
    } finally {
      fake.fail = undefined;
    }
    const other = new S3ObjectStore({ endpoint: fake.url, region: 'us-east-1', bucket: 'nope', forcePathStyle: true, accessKeyId: 'k', secretAccessKey: 's' });
    await expect(other.get('x')).rejects.toMatchObject({ code: 'storage-bucket-missing' });
    // HEAD has no error body: the bucket is checked to tell "no such key" from "no such bucket".
    await expect(other.head('x')).rejects.toMatchObject({ code: 'storage-bucket-missing' });
    other.destroy();
  });
});

describe('S3ObjectStore with an unreachable endpoint', () => {
  it('fails every operation quickly with a UserError naming the endpoint', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const endpoint = `http://127.0.0.1:${port}`;
    const store = new S3ObjectStore({ endpoint, region: 'us-east-1', bucket: 'b', forcePathStyle: true, accessKeyId: 'k', secretAccessKey: 's' });
    const started = Date.now();
    const calls: [string, () => Promise<unknown>][] = [
      ['put', () => store.put('a', Buffer.from('x'))],
      ['put stream', () => store.put('a', streamOf(randomBytes(1000)))],
      ['get', () => store.get('a')],
      ['getRange', () => store.getRange('a', 0, 1)],
      ['head', () => store.head('a')],
      ['list', () => collect(store.list(''))],
      ['copy', () => store.copy('a', 'b')],
      ['delete', () => store.delete('a')],
    ];
    for (const [what, call] of calls) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(UserError);
      expect(err).toMatchObject({ code: 'storage-unreachable' });
      expect((err as UserError).message).toContain(endpoint);
      expect((err as UserError).hint).toMatch(/S3_ENDPOINT/);
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    store.destroy();
  });
});

// ---------------------------------------------------------------------------------------------
// Against a real S3 (Ceph RGW: `bash scripts/ceph-rgw-up`, then export the variables it prints).

const env = process.env;
const haveS3 = Boolean(env.S3_ENDPOINT && env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY);
const skipReason = haveS3 ? undefined : 'S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY not set (start Ceph RGW with `bash scripts/ceph-rgw-up` and export what it prints)';
if (!haveS3) console.warn(`s3-store.test: real S3 tests skipped: ${skipReason}`);

const bucket = `pcrs-test-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
function config(overrides: Partial<S3ObjectStoreConfig> = {}): S3ObjectStoreConfig {
  return s3ConfigFromEnv(env, { bucket, ...overrides });
}
let admin: S3Client;
const stores: S3ObjectStore[] = [];
function makeStore(overrides: Partial<S3ObjectStoreConfig> = {}): S3ObjectStore {
  const s = new S3ObjectStore(config(overrides));
  stores.push(s);
  return s;
}

async function emptyBucket(client: S3Client, name: string): Promise<void> {
  for (;;) {
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: name }));
    for (const u of uploads.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: name, Key: u.Key!, UploadId: u.UploadId! }));
    if (!uploads.IsTruncated) break;
  }
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: name, ...(token && { ContinuationToken: token }) }));
    await Promise.all((page.Contents ?? []).map((o) => client.send(new DeleteObjectCommand({ Bucket: name, Key: o.Key! }))));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

describe.skipIf(!haveS3)(`S3ObjectStore on a real S3${haveS3 ? ` (${env.S3_ENDPOINT}, fresh bucket ${bucket})` : ` — SKIPPED: ${skipReason}`}`, () => {
  beforeAll(async () => {
    admin = new S3Client({
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION || 'us-east-1',
      forcePathStyle: /^(1|true|yes)$/i.test(env.S3_FORCE_PATH_STYLE ?? ''),
      credentials: { accessKeyId: env.S3_ACCESS_KEY_ID!, secretAccessKey: env.S3_SECRET_ACCESS_KEY! },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    for (const s of stores) s.destroy();
    if (!admin) return;
    await emptyBucket(admin, bucket);
    await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
    admin.destroy();
  });

  describeObjectStoreContract({
    name: 'S3ObjectStore',
    create: (o) => makeStore({ prefix: 'contract/', ...o }),
    keepsSha256: true,
    keepsMetadata: true,
    presigned: true,
    partSize: 5 * MiB,
  });

  describe('S3 specifics', () => {
    it('stores our SHA-256 as x-amz-meta-sha256, also for multipart and for streams of unknown digest', async () => {
      const store = makeStore({ prefix: 'meta/', partSize: 5 * MiB });
      const data = randomBytes(11 * MiB + 5);
      const digest = sha256Hex(data);
      await store.put('stream.tif', streamOf(data));
      await store.put('small.tif', Buffer.from('small'));
      const raw = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta/stream.tif' }));
      expect(raw.Metadata?.sha256).toBe(digest);
      expect(raw.ETag).toMatch(/-3"$/); // a multipart upload of 3 parts: its ETag is not a digest of the file
      expect((await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta/small.tif' }))).Metadata?.sha256).toBe(sha256Hex('small'));
      // The temporary key of the stream upload is gone.
      const all = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'meta/' }));
      expect((all.Contents ?? []).map((o) => o.Key).sort()).toEqual(['meta/small.tif', 'meta/stream.tif']);
    });

    it('leaves no multipart upload and no temporary key after failed puts', async () => {
      const store = makeStore({ prefix: 'failed/', partSize: 5 * MiB });
      const data = randomBytes(11 * MiB);
      await expect(store.put('a', streamOf(data), { expectedSha256: sha256Hex('x') })).rejects.toMatchObject({ code: 'checksum-mismatch' });
      const broken = Readable.from(
        (async function* () {
          yield data.subarray(0, 6 * MiB);
          yield data.subarray(6 * MiB, 8 * MiB);
          throw new Error('client went away');
        })(),
      );
      await expect(store.put('b', broken)).rejects.toThrow('client went away');
      const uploads = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'failed/' }));
      expect(uploads.Uploads ?? []).toEqual([]);
      const objects = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'failed/' }));
      expect(objects.Contents ?? []).toEqual([]);
    });

    it('pages ListObjectsV2 with the configured page size', async () => {
      const store = makeStore({ prefix: 'paged/', listPageSize: 4 });
      const keys = Array.from({ length: 10 }, (_, i) => `k${String(i).padStart(2, '0')}`);
      await Promise.all(keys.map((k) => store.put(k, Buffer.from(k))));
      let listCalls = 0;
      store.client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'ListObjectsV2Command') listCalls++;
          return next(args);
        },
        { step: 'initialize', name: 'countLists' },
      );
      expect((await collect(store.list(''))).map((e) => e.key)).toEqual(keys);
      expect(listCalls).toBe(3);
    });

    it('isolates stores by prefix', async () => {
      const a = makeStore({ prefix: 'iso/a' });
      const b = makeStore({ prefix: 'iso/b/' });
      await a.put('x', Buffer.from('a'));
      await b.put('x', Buffer.from('b'));
      expect((await readAll(await a.get('x'))).toString()).toBe('a');
      expect((await collect(b.list(''))).map((e) => e.key)).toEqual(['x']);
      expect(a.objectKey('x')).toBe('iso/a/x');
      expect(a.describe()).toBe(`s3://${bucket}/iso/a/`);
    });

    it('keeps the storage class', async () => {
      const store = makeStore({ prefix: 'class/', storageClass: 'STANDARD' });
      await store.put('x', Buffer.from('x'));
      expect((await store.head('x'))?.storageClass).toBe('STANDARD');
    });

    it('wrong credentials → UserError with a clear message', async () => {
      const unknownKey = makeStore({ accessKeyId: 'no-such-key', secretAccessKey: 'whatever' });
      const wrongSecret = makeStore({ secretAccessKey: 'wrong-secret' });
      for (const s of [unknownKey, wrongSecret]) {
        for (const call of [() => s.put('x', Buffer.from('x')), () => s.get('x'), () => collect(s.list('')), () => s.head('x')]) {
          const err = await call().catch((e: unknown) => e);
          expect(err).toBeInstanceOf(UserError);
          expect((err as UserError).code).toMatch(/^storage-(credentials-rejected|access-denied)$/);
          expect((err as UserError).hint).toBeTruthy();
        }
      }
      await expect(unknownKey.get('x')).rejects.toMatchObject({ code: 'storage-credentials-rejected', message: expect.stringContaining('no-such-key') });
      await expect(wrongSecret.get('x')).rejects.toMatchObject({ code: 'storage-credentials-rejected', message: expect.stringContaining('secret key') });
    });

    it('missing bucket → UserError storage-bucket-missing on every operation', async () => {
      const store = makeStore({ bucket: `${bucket}-missing` });
      const calls: [string, () => Promise<unknown>][] = [
        ['put', () => store.put('a', Buffer.from('x'))],
        ['put stream', () => store.put('a', streamOf(randomBytes(1000)))],
        ['get', () => store.get('a')],
        ['getRange', () => store.getRange('a', 0, 1)],
        ['head', () => store.head('a')],
        ['list', () => collect(store.list(''))],
        ['copy', () => store.copy('a', 'b')],
      ];
      for (const [what, call] of calls) {
        const err = await call().catch((e: unknown) => e);
        expect(err, what).toBeInstanceOf(UserError);
        expect(err, what).toMatchObject({ code: 'storage-bucket-missing' });
        expect((err as UserError).message).toContain(`${bucket}-missing`);
      }
    });
  });
});
