import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/catalog.js';
import { loadConfig } from '../../config/config.js';
import { PyramidCatalog } from '../pyramid/pyramid-catalog.js';
import { buildServer } from '../../server/app.js';
import { PyramidReader } from '../pyramid/pyramid-reader.js';
import { buildAppContext, type AppContext } from '../../context/app-context.js';
import { freshPglite, type TestDatabase } from '../../test-support/db.js';
import { validDalle } from '../../test-support/imagery.js';
import { openTier } from '../../storage/tiers.js';
import { sha256File } from '../../util/hash.js';
import { ingestDelivery } from './ingest.js';
import { ingestServices } from './services.js';

const env = process.env;
const haveS3 = Boolean(env.S3_ENDPOINT && env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY);
const bucket = `pcrs-ingest-${process.pid}-${Date.now().toString(36)}`;

describe.skipIf(!haveS3)(`ingest with masters and pyramid on a real S3${haveS3 ? ` (${env.S3_ENDPOINT})` : ' — SKIPPED: S3_ENDPOINT not set (see scripts/ceph-rgw-up)'}`, () => {
  let t: TestDatabase;
  let ctx: AppContext;
  let admin: S3Client;
  let delivery: string;

  beforeAll(async () => {
    admin = new S3Client({
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION || 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: env.S3_ACCESS_KEY_ID as string, secretAccessKey: env.S3_SECRET_ACCESS_KEY as string },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    t = await freshPglite();
    const s3 = { type: 's3' as const, endpoint: env.S3_ENDPOINT, region: env.S3_REGION || 'us-east-1', bucket, forcePathStyle: true, accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY };
    const config = loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR, PCRS_LOG_LEVEL: 'silent' }, { storage: { intermediate: { ...s3, prefix: 'masters' }, hot: { ...s3, prefix: 'hot' } } });
    const catalog = new Catalog(t.db);
    await catalog.ensureStandardDatasets('46');
    ctx = buildAppContext(config, t.db);
    delivery = mkdtempSync(path.join(tmpdir(), 'pcrs-s3-delivery-'));
  });

  afterAll(async () => {
    await t?.dispose();
    rmSync(delivery, { recursive: true, force: true });
    if (!admin) return;
    const page = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
    await Promise.all((page.Contents ?? []).map((o) => admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key as string }))));
    await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
    admin.destroy();
  });

  it('stores verified masters with their SHA-256 in S3 and builds the pyramid there, readable by range requests', async () => {
    for (const xmin of [575_000, 575_200]) await validDalle(delivery, { xmin, ymax: 6_374_000 });
    const report = await ingestDelivery(ingestServices(ctx, { concurrency: 2 }), { dir: delivery, datasetId: 'ortho', versionName: 's3' });
    expect(report.summary.ok, JSON.stringify(report.dalles)).toBe(2);

    const masters = openTier(ctx.config, 'intermediate');
    for (const d of report.dalles) {
      const head = await masters.head(d.master as string);
      expect(head?.sha256).toBe((await sha256File(path.join(delivery, d.file))).sha256);
    }
    const version = await ctx.catalog.getVersion('ortho', 's3');
    const pyramid = await new PyramidCatalog(t.db).list(version.id);
    expect(pyramid.some((f) => f.family === 'overview')).toBe(true);
    const hot = openTier(ctx.config, 'hot');
    for (const f of pyramid) expect((await hot.head(f.key))?.sha256).toBe(f.sha256);

    const reader = new PyramidReader(t.db, hot, { quality: 85 });
    const tile = await reader.currentTile('ortho', 22, Math.floor(575_100 / 12.8), Math.floor((12_000_000 - 6_373_900) / 12.8));
    expect(tile?.mask).toBe('full');
    expect(tile?.jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const span8 = 12.8 * 2 ** (22 - 8); // level-8 tile size in metres: from the overview file
    expect(await reader.versionTile(version.id, 8, Math.floor(575_100 / span8), Math.floor((12_000_000 - 6_373_900) / span8))).not.toBeNull();
    await reader.close();

    // The dalle download streams the master from S3 (whole, and a small range).
    const app = await buildServer(ctx, { logger: false });
    try {
      const d = report.dalles[0]!;
      const original = readFileSync(path.join(delivery, d.file));
      const name = path.basename(d.file).replace(/\.tif$/, '');
      const url = `/api/datasets/ortho/versions/s3/dalles/${name}/download`;
      const whole = await app.inject(url);
      expect(whole.statusCode).toBe(200);
      expect(whole.rawPayload.equals(original)).toBe(true);
      const part = await app.inject({ url, headers: { range: 'bytes=10-19' } });
      expect(part.statusCode).toBe(206);
      expect(part.rawPayload.equals(original.subarray(10, 20))).toBe(true);
    } finally {
      await app.close();
    }
  }, 300_000);
});
