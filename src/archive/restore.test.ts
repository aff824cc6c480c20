/**
 * The restore workflow at the protocol level. Ceph RGW 16 (our real S3 in tests) has no archive
 * storage classes and no RestoreObject, so these tests run against a local HTTP endpoint that
 * answers exactly the documented S3 responses: GET of an archived object → 403 InvalidObjectState;
 * POST ?restore → 202 Accepted, then 409 RestoreAlreadyInProgress while it runs, 200 once a
 * restored copy exists; HEAD → x-amz-storage-class and x-amz-restore (`ongoing-request="true"`,
 * then `ongoing-request="false", expiry-date="…"`).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import { loadConfig } from '../config/config.js';
import { buildServer } from '../server/app.js';
import { LocalObjectStore } from '../storage/local-store.js';
import { S3ObjectStore } from '../storage/s3-store.js';
import { freshPglite, type TestDatabase } from '../test-support/db.js';
import { runVerify } from '../tiers/fixity.js';
import { archiveDirectory } from './archive.js';
import { checkRestore, openPackageDownload, pollRestore, requestRestore } from './restore.js';
import { LocalHttpFake } from '../test-support/http-fake.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { userWithKey } from '../test-support/access.js';

interface FakeObject {
  body: Buffer;
  meta: Record<string, string>;
  storageClass: string;
  restore?: { ongoing: boolean; expiry?: Date };
}

/** Path-style S3 answering the documented archive-class responses. */
class ArchiveS3 extends LocalHttpFake {
  objects = new Map<string, FakeObject>();
  log: string[] = [];

  /** The archive finished restoring: readable until `expiry`. */
  complete(key: string, expiry: Date): void {
    this.objects.get(key)!.restore = { ongoing: false, expiry };
  }

  private error(res: ServerResponse, status: number, code: string, method: string): void {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(method === 'HEAD' ? undefined : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message><RequestId>fake</RequestId></Error>`);
  }

  private readable(o: FakeObject): boolean {
    return o.storageClass === 'STANDARD' || (o.restore !== undefined && !o.restore.ongoing);
  }

  protected handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const [, bucket, ...rest] = u.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const method = req.method ?? 'GET';
    this.log.push(`${method} ${key}${u.searchParams.has('restore') ? '?restore' : ''}`);
    if (bucket !== 'cold') return this.error(res, 404, 'NoSuchBucket', method);
    if (key === '') {
      res.writeHead(200);
      res.end();
      return;
    }
    if (method === 'PUT') {
      const meta: Record<string, string> = {};
      for (const [h, v] of Object.entries(req.headers)) if (h.startsWith('x-amz-meta-') && typeof v === 'string') meta[h.slice('x-amz-meta-'.length)] = v;
      const storageClass = (req.headers['x-amz-storage-class'] as string | undefined) ?? 'STANDARD';
      const copySource = req.headers['x-amz-copy-source'] as string | undefined;
      if (copySource) {
        const from = this.objects.get(decodeURIComponent(copySource.replace(/^\/?cold\//, '')));
        if (!from) return this.error(res, 404, 'NoSuchKey', method);
        if (!this.readable(from)) return this.error(res, 403, 'InvalidObjectState', method);
        this.objects.set(key, { body: from.body, meta, storageClass });
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>"c"</ETag><LastModified>${new Date().toISOString()}</LastModified></CopyObjectResult>`);
        return;
      }
      this.objects.set(key, { body, meta, storageClass });
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
    const o = this.objects.get(key);
    if (!o) return this.error(res, 404, 'NoSuchKey', method);
    if (method === 'POST' && u.searchParams.has('restore')) {
      expect(body.toString()).toMatch(/<Days>\d+<\/Days>/);
      if (o.restore?.ongoing) return this.error(res, 409, 'RestoreAlreadyInProgress', method);
      if (o.restore && !o.restore.ongoing) {
        res.writeHead(200);
        res.end();
        return;
      }
      o.restore = { ongoing: true };
      res.writeHead(202);
      res.end();
      return;
    }
    const headers: Record<string, string> = { 'content-length': String(o.body.length), 'last-modified': new Date().toUTCString(), 'x-amz-storage-class': o.storageClass };
    for (const [k, v] of Object.entries(o.meta)) headers[`x-amz-meta-${k}`] = v;
    if (o.restore) headers['x-amz-restore'] = o.restore.ongoing ? 'ongoing-request="true"' : `ongoing-request="false", expiry-date="${o.restore.expiry!.toUTCString()}"`;
    if (method === 'HEAD') {
      res.writeHead(200, headers);
      res.end();
      return;
    }
    if (method === 'GET') {
      if (!this.readable(o)) return this.error(res, 403, 'InvalidObjectState', method);
      res.writeHead(200, headers);
      res.end(o.body);
      return;
    }
    this.error(res, 501, 'NotImplemented', method);
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('restore workflow against the documented S3 archive-class responses (local fake: Ceph 16 has no RestoreObject)', () => {
  const s3 = new ArchiveS3();
  let t: TestDatabase;
  let dataDir: string;
  let services: AppContext;
  let app: FastifyInstance;
  const body = randomBytes(50_000);
  const packages: Record<string, number> = {};
  // a technical user's key for the operator endpoints (admin for the role routes, archive:restore for restores)
  let AUTH: Record<string, string> = {};

  beforeAll(async () => {
    await s3.start();
    dataDir = mkdtempSync(path.join(tmpdir(), 'pcrs-restore-'));
    t = await freshPglite(dataDir);
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' });
    const catalog = new Catalog(t.db);
    await catalog.ensureStandardDatasets('46');
    const cold = new S3ObjectStore({ endpoint: s3.url, region: 'us-east-1', bucket: 'cold', forcePathStyle: true, accessKeyId: 'k', secretAccessKey: 's', maxAttempts: 1 });
    const local = (n: string) => new LocalObjectStore({ root: path.join(dataDir, n), create: true });
    services = buildAppContext(config, t.db, { tiers: { cold, intermediate: local('i'), nas: local('n'), hot: local('h') } });
    for (const name of ['2019', '2020', '2021', '2022']) {
      const key = `raw-at/${name}/raw-at-${name}.bag.tar`;
      s3.objects.set(key, { body, meta: { sha256: sha(body) }, storageClass: 'DEEP_ARCHIVE' });
      const a = await catalog.assets.addPending({ kind: 'archive-package', datasetId: 'raw-at', tier: 'cold', location: key, bytes: body.length, sha256: sha(body), storageClass: 'DEEP_ARCHIVE' });
      await catalog.assets.markStored(a.id, body.length, sha(body));
      packages[name] = a.id;
    }
    const tech = await userWithKey(services, 'tech@example.fr', { platformRoles: ['technical'], scopes: ['admin', 'archive:restore'] });
    AUTH = { authorization: `Bearer ${tech.key}` };
    // the real server, with the fake S3 as its cold tier
    app = await buildServer(services, { logger: false });
    await app.ready();
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await s3.stop();
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('GET before any restore: 409 restore-required with what to do, never a 5xx', async () => {
    await expect(openPackageDownload(services, packages['2019']!)).rejects.toMatchObject({ code: 'restore-required', status: 409 });
    const res = await app.inject({ method: 'GET', url: `/api/archive/packages/${packages['2019']}/download`, headers: AUTH });
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({ type: 'urn:pcrs:problem:restore-required', status: 409, hint: expect.stringMatching(/restore/) });
  });

  it('request → 202 RestoreObject → polling HEAD x-amz-restore → available until expiry → requester notified → downloadable', async () => {
    // the requester is the authenticated caller, never a header or field the client chooses
    const res = await app.inject({ method: 'POST', url: `/api/archive/packages/${packages['2019']}/restore`, headers: { ...AUTH, 'x-pcrs-requester': 'someone-else@example.fr' }, payload: { days: 5 } });
    expect(res.statusCode).toBe(202);
    const request = res.json<{ id: number; state: string; requester: string }>();
    expect(request).toMatchObject({ state: 'in-progress', requester: 'tech@example.fr' });
    expect(s3.log).toContain('POST raw-at/2019/raw-at-2019.bag.tar?restore');
    // during the restore: a clear 409 "in progress"
    await expect(openPackageDownload(services, packages['2019']!)).rejects.toMatchObject({ code: 'restore-in-progress', status: 409 });
    // asking again while it runs: the same request, no second RestoreObject
    const again = await requestRestore(services, { package: packages['2019']!, requester: 'admin' });
    expect(again.id).toBe(request.id);
    expect(s3.log.filter((l) => l.endsWith('?restore'))).toHaveLength(1);

    const expiry = new Date(Math.floor(Date.now() / 1000 + 5 * 86400) * 1000);
    setTimeout(() => s3.complete('raw-at/2019/raw-at-2019.bag.tar', expiry), 150);
    const done = await pollRestore(services, request.id, { intervalMs: 50 });
    expect(done).toMatchObject({ state: 'available', expiresAt: expiry });
    expect(done.notifiedAt).not.toBeNull();
    expect(s3.log.filter((l) => l === 'HEAD raw-at/2019/raw-at-2019.bag.tar').length).toBeGreaterThanOrEqual(2);
    const n = await t.db.query<{ recipient: string; kind: string }>('SELECT recipient, kind FROM notifications');
    expect(n.rows).toEqual([{ recipient: 'tech@example.fr', kind: 'restore-available' }]);

    const dl = await app.inject({ method: 'GET', url: `/api/archive/packages/${packages['2019']}/download`, headers: AUTH });
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['x-pcrs-sha256']).toBe(sha(body));
    expect(sha(dl.rawPayload)).toBe(sha(body));
    const presigned = await app.inject({ method: 'GET', url: `/api/archive/packages/${packages['2019']}/download?presign=1`, headers: AUTH });
    const { url } = presigned.json<{ url: string }>();
    expect(url).toContain('X-Amz-Signature=');
    expect(sha(Buffer.from(await (await fetch(url)).arrayBuffer()))).toBe(sha(body));
    // a second poll does not notify twice
    await checkRestore(services, request.id);
    expect((await t.db.query('SELECT * FROM notifications')).rows).toHaveLength(1);
  });

  it('409 RestoreAlreadyInProgress from S3 (someone else asked) is "in progress", not an error', async () => {
    s3.objects.get('raw-at/2020/raw-at-2020.bag.tar')!.restore = { ongoing: true };
    const r = await requestRestore(services, { package: 'raw-at/2020/raw-at-2020.bag.tar', days: 1, requester: 'aplc@example.fr' });
    expect(r.state).toBe('in-progress');
  });

  it('simultaneous requests for one package make one request and one RestoreObject', async () => {
    const key = 'raw-at/2022/raw-at-2022.bag.tar';
    const all = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((who) => requestRestore(services, { package: packages['2022']!, requester: `${who}@example.fr` })));
    expect(new Set(all.map((r) => r.id)).size).toBe(1);
    const rows = await t.db.query('SELECT id FROM restore_requests WHERE asset_id = $1', [packages['2022']!]);
    expect(rows.rows).toHaveLength(1);
    expect(s3.log.filter((l) => l === `POST ${key}?restore`)).toHaveLength(1);
  });

  it('an expired restored copy is reported as expired and no longer downloadable', async () => {
    const key = 'raw-at/2021/raw-at-2021.bag.tar';
    const r = await requestRestore(services, { package: packages['2021']!, days: 1, requester: 'x@example.fr' });
    s3.complete(key, new Date(Date.now() + 86400_000));
    expect((await checkRestore(services, r.id)).state).toBe('available');
    delete s3.objects.get(key)!.restore; // S3 removed the restored copy after expiry-date
    expect((await checkRestore(services, r.id)).state).toBe('expired');
    await expect(openPackageDownload(services, packages['2021']!)).rejects.toMatchObject({ status: 409 });
  });

  it('fixity of archived packages without a restore: size and stored SHA-256 by HEAD', async () => {
    const r = await runVerify(services, { tiers: ['cold'] });
    expect(r).toMatchObject({ checked: 4, ok: 4, clean: true });
    s3.objects.get('raw-at/2020/raw-at-2020.bag.tar')!.body = body.subarray(0, 10);
    const bad = await runVerify(services, { tiers: ['cold'] });
    expect(bad.findings).toEqual([expect.objectContaining({ outcome: 'corrupted', location: 'raw-at/2020/raw-at-2020.bag.tar' })]);
  });

  it('technical endpoints answer technical users only: 401 without a key, 403 for a member, 403 naming the scope a key lacks', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/archive/packages' })).statusCode).toBe(401);
    const member = await userWithKey(services, 'member@example.fr', { memberships: [{ org: 'fdel', role: 'member' }], scopes: ['read', 'admin', 'archive:restore'] });
    expect((await app.inject({ method: 'GET', url: '/api/archive/packages', headers: { authorization: `Bearer ${member.key}` } })).statusCode).toBe(403);
    const readOnly = await userWithKey(services, 'tech-read@example.fr', { platformRoles: ['technical'], scopes: ['read'] });
    const noScope = await app.inject({ method: 'GET', url: '/api/archive/packages', headers: { authorization: `Bearer ${readOnly.key}` } });
    expect(noScope.statusCode).toBe(403);
    expect(noScope.json()).toMatchObject({ type: 'urn:pcrs:problem:missing-scope', detail: expect.stringContaining("'admin'") });
    const adminOnly = await userWithKey(services, 'tech-admin@example.fr', { platformRoles: ['technical'], scopes: ['admin'] });
    const noRestore = await app.inject({ method: 'POST', url: `/api/archive/packages/${packages['2022']}/restore`, headers: { authorization: `Bearer ${adminOnly.key}` }, payload: { days: 1 } });
    expect(noRestore.statusCode).toBe(403);
    expect(noRestore.json().detail).toContain("'archive:restore'");
    const ok = await app.inject({ method: 'GET', url: '/api/archive/packages', headers: AUTH });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toHaveLength(4);
    // a fixity run through the API: 202 + a job, whose result is the report
    const started = await app.inject({ method: 'POST', url: '/api/storage/verify', headers: AUTH, payload: { tiers: ['cold'] } });
    expect(started.statusCode).toBe(202);
    const { jobId } = started.json<{ jobId: number }>();
    let job = await services.jobs.get<unknown, unknown, { corrupted: number; ok: number }>(jobId);
    for (let i = 0; i < 100 && job.state !== 'succeeded' && job.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = await services.jobs.get(jobId);
    }
    expect(job.state).toBe('succeeded');
    expect(job.result).toMatchObject({ ok: 3, corrupted: 1 }); // the package truncated above
    const log = await app.inject({ method: 'GET', url: '/api/storage/fixity?outcome=corrupted', headers: AUTH });
    expect(log.json<Array<{ location: string }>>()[0]?.location).toBe('raw-at/2020/raw-at-2020.bag.tar');
    // and the real server has them, with usage measured from the configured (local) tiers
    const server = await buildServer(buildAppContext(services.config, t.db), { logger: false });
    try {
      expect((await server.inject({ method: 'GET', url: '/api/storage/usage' })).statusCode).toBe(401);
      const usage = await server.inject({ method: 'GET', url: '/api/storage/usage', headers: AUTH });
      expect(usage.statusCode).toBe(200);
      expect(usage.json()).toMatchObject({ currency: 'EUR', tiers: expect.any(Array), history: expect.any(Array) });
    } finally {
      await server.close();
    }
  });

  it('pcrs archive into a DEEP_ARCHIVE bucket: uploaded in the archive class, verified by HEAD (size + SHA-256), then restore required', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-raw-deep-'));
    try {
      writeFileSync(path.join(dir, 'IMG_9.tif'), randomBytes(70_000));
      const cold = new S3ObjectStore({ endpoint: s3.url, region: 'us-east-1', bucket: 'cold', forcePathStyle: true, accessKeyId: 'k', secretAccessKey: 's', maxAttempts: 1, storageClass: 'DEEP_ARCHIVE' });
      const r = await archiveDirectory({ ...services, tiers: { ...services.tiers, cold } }, { dir, version: '2018' });
      expect(r).toMatchObject({ verification: 'head', storageClass: 'DEEP_ARCHIVE', key: 'raw-at/2018/raw-at-2018.bag.tar' });
      const stored = s3.objects.get(r.key)!;
      expect(stored.storageClass).toBe('DEEP_ARCHIVE');
      expect(sha(stored.body)).toBe(r.sha256);
      expect(stored.meta.sha256).toBe(r.sha256);
      expect([...s3.objects.keys()].filter((k) => k.includes('.pcrs-tmp'))).toEqual([]); // the temporary upload is gone
      await expect(openPackageDownload(services, r.assetId)).rejects.toMatchObject({ code: 'restore-required' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a listening server polls open restores by itself and notifies the requester', async () => {
    const key = 'raw-at/2020/raw-at-2020.bag.tar';
    const open = (await t.db.query<{ id: number }>(`SELECT r.id FROM restore_requests r JOIN assets a ON a.id = r.asset_id WHERE a.location = $1 AND r.state = 'in-progress'`, [key])).rows[0]!;
    s3.complete(key, new Date(Date.now() + 86400_000));
    const server = await buildServer(services, { logger: false });
    await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      let state = '';
      for (let i = 0; i < 100 && state !== 'available'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        state = (await checkRestoreState(Number(open.id))) ?? '';
      }
      expect(state).toBe('available');
      const n = await t.db.query<{ recipient: string }>(`SELECT recipient FROM notifications WHERE payload->>'location' = $1`, [key]);
      expect(n.rows).toEqual([{ recipient: 'aplc@example.fr' }]);
    } finally {
      await server.close();
    }
  });

  async function checkRestoreState(id: number): Promise<string | undefined> {
    return (await t.db.query<{ state: string }>('SELECT state FROM restore_requests WHERE id = $1', [id])).rows[0]?.state;
  }
});
