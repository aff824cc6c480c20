import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultyStore } from '../storage/test-support/faulty-store.js';
import { S3ObjectStore, s3ConfigFromEnv } from '../storage/s3-store.js';
import { UserError } from '../util/errors.js';
import { runVerify } from './fixity.js';
import pino from 'pino';
import { acquireLease, releaseLease } from '../jobs/leases.js';
import { startVerifyScheduler } from './scheduler.js';
import { runSyncNas } from './sync-nas.js';
import { addMaster, S3_AVAILABLE, tierFixture, type TierFixture } from './test-support/tier-fixture.js';

describe('tier operations when a store is down, full or refuses us', () => {
  let f: TierFixture;
  beforeAll(async () => {
    f = await tierFixture('local');
    for (let i = 0; i < 3; i++) await addMaster(f.services, `ortho/2025/masters/M${i}.tif`, randomBytes(4000));
  }, 60_000);
  afterAll(() => f?.dispose());

  it('unreachable S3: verify fails with a clear message, the job stays resumable and completes once S3 is back', async () => {
    const real = f.services.tiers.intermediate;
    f.services.tiers.intermediate = new S3ObjectStore({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'pcrs', forcePathStyle: true, accessKeyId: 'k', secretAccessKey: 's', maxAttempts: 1 });
    try {
      await expect(runVerify(f.services, { tiers: ['intermediate'] })).rejects.toThrow(/Cannot reach the S3 endpoint http:\/\/127.0.0.1:1/);
    } finally {
      f.services.tiers.intermediate = real;
    }
    const failed = (await f.services.jobs.list({ kind: 'storage-verify' }))[0]!;
    expect(failed.state).toBe('failed');
    // nothing was marked bad because a store could not be reached
    expect((await f.services.catalog.assets.list({ tier: 'intermediate', state: 'stored' })).length).toBe(3);
    const r = await runVerify(f.services, { tiers: ['intermediate'] });
    expect(r.jobId).toBe(failed.id);
    expect(r).toMatchObject({ ok: 3, clean: true });
  });

  it('slow S3 (accepts connections, never answers): verify gives up after the socket timeout with a clear message', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket)); // never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const real = f.services.tiers.intermediate;
    f.services.tiers.intermediate = new S3ObjectStore({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', bucket: 'pcrs', forcePathStyle: true, accessKeyId: 'k', secretAccessKey: 's', maxAttempts: 1, socketTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expect(runVerify(f.services, { tiers: ['intermediate'] })).rejects.toThrow(/Cannot reach the S3 endpoint .*timed out|timed out/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      f.services.tiers.intermediate = real;
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
    expect((await runVerify(f.services, { tiers: ['intermediate'] })).clean).toBe(true);
  });

  it('a full NAS disk stops sync-nas with the disk-full message; nothing is recorded as stored; the next run completes', async () => {
    const real = f.services.tiers.nas;
    const full = new UserError('storage-disk-full', 'No space left on the device of file:///mnt/nas/ while writing.', { status: 507 });
    f.services.tiers.nas = new FaultyStore(real, { failOnCall: 2, ops: ['put'], error: full, times: Infinity });
    try {
      await expect(runSyncNas(f.services)).rejects.toThrow(/No space left/);
    } finally {
      f.services.tiers.nas = real;
    }
    expect((await f.services.catalog.assets.list({ tier: 'nas', state: 'stored' })).length).toBe(1);
    // the same job resumes after the copy it had finished: its report covers both runs
    const r = await runSyncNas(f.services);
    expect(r).toMatchObject({ considered: 3, copied: 3, failed: [] });
    expect((await f.services.catalog.assets.list({ tier: 'nas', state: 'stored' })).length).toBe(3);
  });

  it.skipIf(!S3_AVAILABLE)('wrong credentials and a missing bucket on a real S3 (Ceph RGW): clear messages', async () => {
    const base = s3ConfigFromEnv(process.env, { bucket: 'pcrs-no-such-bucket-for-tests' });
    const real = f.services.tiers.nas;
    try {
      f.services.tiers.nas = new S3ObjectStore({ ...base, maxAttempts: 1 });
      await expect(runVerify(f.services, { tiers: ['nas'] })).rejects.toThrow(/bucket "pcrs-no-such-bucket-for-tests" does not exist/);
      f.services.tiers.nas = new S3ObjectStore({ ...base, secretAccessKey: 'wrong-secret', maxAttempts: 1 });
      await expect(runVerify(f.services, { tiers: ['nas'] })).rejects.toThrow(/signature|access key/i);
    } finally {
      f.services.tiers.nas = real;
    }
  });
});

describe('scheduled scrubs: one node at a time (DB lease)', () => {
  let f: TierFixture;
  beforeAll(async () => {
    f = await tierFixture('local');
    await addMaster(f.services, 'ortho/2025/masters/S.tif', randomBytes(2000));
  }, 60_000);
  afterAll(() => f?.dispose());

  it('exactly one owner gets the lease per period', async () => {
    expect(await acquireLease(f.services.db, 'test', 3600, 60, 'node-a:1')).toBe(true);
    expect(await acquireLease(f.services.db, 'test', 3600, 60, 'node-b:2')).toBe(false);
    await releaseLease(f.services.db, 'test', true, 'node-a:1');
    expect(await acquireLease(f.services.db, 'test', 3600, 60, 'node-b:2')).toBe(false); // ran less than an hour ago
    expect(await acquireLease(f.services.db, 'test', 0, 60, 'node-b:2')).toBe(true);
  });

  it('the serve-side scheduler runs a scrub and records it; a second scheduler does not run it again', async () => {
    const logs: string[] = [];
    // the scheduler logs through the context's pino logger: capture its lines
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push((JSON.parse(line) as { msg: string }).msg) });
    const stopA = startVerifyScheduler(f.services, { intervalHours: 1, sample: 100, repair: false }, log, { tickMs: 100 });
    for (let i = 0; i < 100 && !logs.some((l) => l.includes('scheduled fixity scrub (job')); i++) await new Promise((r) => setTimeout(r, 100));
    await stopA();
    expect(logs.find((l) => l.includes('scheduled fixity scrub (job'))).toMatch(/1 checked, 1 ok, 0 missing/);
    const stopB = startVerifyScheduler(f.services, { intervalHours: 1, sample: 100, repair: false }, log, { tickMs: 50 });
    await new Promise((r) => setTimeout(r, 400));
    await stopB();
    expect((await f.services.jobs.list({ kind: 'storage-verify' })).length).toBe(1);
  });
});
