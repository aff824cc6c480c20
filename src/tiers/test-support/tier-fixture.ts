/** Shared by the tier tests: a catalogue + four tier stores on local disk or on a real S3 (Ceph RGW). */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Catalog, type TierName } from '../../catalog/catalog.js';
import { loadConfig } from '../../config/config.js';
import { LocalObjectStore } from '../../storage/local-store.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { S3ObjectStore, s3ConfigFromEnv } from '../../storage/s3-store.js';
import { ENGINES, freshPglite, type TestDatabase } from '../../test-support/db.js';
import type { StorageServices } from '../../storage/tier-services.js';
import type { TierStores } from '../../storage/tiers.js';
import { buildAppContext } from '../../context/app-context.js';

export const S3_AVAILABLE = Boolean(process.env.S3_ENDPOINT && process.env.S3_ACCESS_KEY_ID);
export const BACKENDS: ReadonlyArray<'local' | 's3'> = S3_AVAILABLE ? ['local', 's3'] : ['local'];
/** Storage backend × catalogue engine combinations: local and S3 on PGlite, local on PostgreSQL when DATABASE_URL is set. */
export const SETUPS: ReadonlyArray<{ name: string; backend: 'local' | 's3'; engine: 'pglite' | 'postgres' }> = [
  ...BACKENDS.map((backend) => ({ name: `${backend} storage, PGlite`, backend, engine: 'pglite' as const })),
  ...ENGINES.filter((e) => e.engine === 'postgres').map(() => ({ name: 'local storage, PostgreSQL', backend: 'local' as const, engine: 'postgres' as const })),
];
if (!S3_AVAILABLE) console.warn('[tiers] S3_ENDPOINT not set: the tier tests run on local disk only (start Ceph RGW with scripts/ceph-rgw-up to run them on S3 too).');

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export interface TierFixture {
  t: TestDatabase;
  dataDir: string;
  services: StorageServices;
  backend: 'local' | 's3';
  dispose(): Promise<void>;
}

async function s3Stores(): Promise<{ stores: TierStores; dispose(): Promise<void> }> {
  const bucket = `pcrs-tiers-${process.pid}-${randomBytes(3).toString('hex')}`;
  const base = s3ConfigFromEnv(process.env, { bucket });
  const client = new S3Client({
    region: base.region,
    ...(base.endpoint ? { endpoint: base.endpoint } : {}),
    forcePathStyle: base.forcePathStyle ?? true,
    credentials: { accessKeyId: base.accessKeyId as string, secretAccessKey: base.secretAccessKey as string },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const make = (tier: TierName) => new S3ObjectStore({ ...base, prefix: `${tier}/`, partSize: 5 * 1024 * 1024 });
  const stores: TierStores = { cold: make('cold'), intermediate: make('intermediate'), nas: make('nas'), hot: make('hot') };
  return {
    stores,
    async dispose() {
      for (;;) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key as string }));
        if (keys.length === 0) break;
        await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
      }
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      for (const s of Object.values(stores)) (s as S3ObjectStore).destroy();
      client.destroy();
    },
  };
}

export async function tierFixture(backend: 'local' | 's3', env: Record<string, string> = {}, engine: 'pglite' | 'postgres' = 'pglite'): Promise<TierFixture> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pcrs-tiers-'));
  const t = engine === 'pglite' ? await freshPglite(dataDir) : await ENGINES.find((e) => e.engine === 'postgres')!.open();
  const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent', ...env });
  const catalog = new Catalog(t.db);
  await catalog.ensureStandardDatasets('46');
  let stores: TierStores;
  let disposeStores: () => Promise<void> = async () => undefined;
  if (backend === 's3') {
    const s = await s3Stores();
    stores = s.stores;
    disposeStores = s.dispose;
  } else {
    const local = (tier: TierName) => new LocalObjectStore({ root: path.join(dataDir, 'storage', tier), create: true });
    stores = { cold: local('cold'), intermediate: local('intermediate'), nas: local('nas'), hot: local('hot') };
  }
  const services: StorageServices = buildAppContext(config, t.db, { tiers: stores });
  return {
    t,
    dataDir,
    services,
    backend,
    async dispose() {
      await disposeStores().catch(() => undefined);
      await t.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Stores a master the way the ingest does (pending → put → verified → stored). */
export async function addMaster(services: StorageServices, key: string, body: Buffer, store: ObjectStore = services.tiers.intermediate): Promise<number> {
  const a = await services.catalog.assets.addPending({ kind: 'master', datasetId: 'ortho', tier: 'intermediate', location: key, bytes: body.length, sha256: sha256(body) });
  await store.put(key, body, { expectedSha256: sha256(body) });
  await services.catalog.assets.markStored(a.id, body.length, sha256(body));
  return a.id;
}

export async function readObject(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function listKeys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(prefix)) out.push(e.key);
  return out;
}
