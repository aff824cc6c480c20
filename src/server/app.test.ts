import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import { loadConfig } from '../config/config.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { buildServer } from './app.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';

describe.each(ENGINES)('HTTP server on $engine', ({ open }) => {
  let t: TestDatabase;
  let ctx: AppContext;
  let app: Awaited<ReturnType<typeof buildServer>>;
  let dataDir: string;

  beforeAll(async () => {
    t = await open();
    dataDir = t.env.PCRS_DATA_DIR ?? (await import('node:fs')).mkdtempSync('/tmp/pcrs-srv-');
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' });
    const catalog = new Catalog(t.db);
    await catalog.ensureStandardDatasets('46');
    const v = await catalog.ensureVersion({ datasetId: 'ortho', name: '2025', acquisitionDate: '2025-06-01' });
    await catalog.upsertDalle({ versionId: v.id, name: '46-2025-0575-6374-LA93-0M05-RVB', sizeM: 1000, gridCol: 575, gridRow: 6374, bbox: [575000, 6373000, 576000, 6374000], state: 'registered' });
    // published: versions still ingesting are restricted (issue 10)
    await catalog.setVersionStatus(v.id, 'published');
    await catalog.ensureVersion({ datasetId: 'ortho', name: '2026', acquisitionDate: '2026-06-01' });
    ctx = buildAppContext(config, t.db);
    app = await buildServer(ctx, { logger: false });
  });
  afterAll(async () => {
    await app?.close();
    await t.dispose();
  });

  it('GET /health reports ok with version, db and storage', async () => {
    const res = await app.inject('/health');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ status: 'ok', db: { ok: true }, storage: { ok: true }, territory: { code: '46' } });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.catalog.dalles).toBe(1);
  });

  it('lists versions and a version’s dalles as GeoJSON, filtered by bbox', async () => {
    const versions = (await app.inject('/api/versions?dataset=ortho')).json();
    // the 2026 version, not published yet, is for those who may read restricted data only
    expect(versions.versions).toHaveLength(1);
    expect((await app.inject('/api/datasets/ortho/versions/2026/dalles')).statusCode).toBe(401);
    expect(versions.versions[0]).toMatchObject({ name: '2025', dalleCount: 1, coverageKm2: 1 });
    const inside = await app.inject('/api/datasets/ortho/versions/2025/dalles?bbox=575500,6373500,575600,6373600');
    expect(inside.headers['content-type']).toMatch(/application\/geo\+json/);
    expect(inside.json().features[0].properties.name).toBe('46-2025-0575-6374-LA93-0M05-RVB');
    const outside = await app.inject('/api/datasets/ortho/versions/2025/dalles?bbox=600000,6300000,600100,6300100');
    expect(outside.json().features).toHaveLength(0);
  });

  it('answers bad input with RFC 7807 problem+json, never a stack', async () => {
    const bad = await app.inject('/api/datasets/ortho/versions/2025/dalles?bbox=1,2,3');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.json()).toMatchObject({ status: 400, type: 'urn:pcrs:problem:invalid-parameter' });
    expect(bad.json().detail).toMatch(/bbox/);
    const missing = await app.inject('/api/datasets/ortho/versions/1999/dalles');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().detail).toMatch(/no version '1999'/);
    const nowhere = await app.inject('/no/such/thing');
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.json().type).toBe('urn:pcrs:problem:not-found');
    const job = await app.inject('/api/jobs/abc');
    expect(job.statusCode).toBe(401); // operators only, before any parsing
    expect(JSON.stringify(job.json())).not.toMatch(/at .*\.ts:\d+/);
  });

  it('reports degraded (503) when the storage directory is not writable', async () => {
    if (process.getuid?.() === 0) {
      // root bypasses permissions: remove the directory instead.
      const { rmSync } = await import('node:fs');
      rmSync(path.join(dataDir, 'storage'), { recursive: true });
    } else chmodSync(path.join(dataDir, 'storage'), 0o500);
    const res = await app.inject('/health');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: 'degraded', storage: { ok: false } });
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    chmodSync(path.join(dataDir, 'storage'), 0o755);
  });
});
