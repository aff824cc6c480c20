import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AccessServices } from '../../access/services.js';
import { loadConfig, type Config } from '../../config/config.js';
import { OPERATOR } from '../../context/access.js';
import { buildAppContext, type AppContext } from '../../context/app-context.js';
import { CAHORS_CENTRE, getScene } from '../../demo/synthetic-scene.js';
import { writeDemoGml } from '../../demo/vector.js';
import { runJob } from '../../jobs/run-job.js';
import { buildServer } from '../../server/app.js';
import type { TestDatabase } from '../../test-support/db.js';
import { importVersion } from '../../vector/test-support/vector-fixture.js';

/**
 * A catalogue to publish, made through the catalogue's own API (no GDAL: the metadata only reads
 * the catalogue): orthophoto millésime 2025 (4 dalles of 200 m with stored masters and an ingest
 * job), an update maj-2026 (1 dalle), a restricted millésime 2019 (1 dalle), and the demo's vector
 * PCRS imported through the real GML import (version demo).
 */
export const DALLES_2025 = [
  [575_000, 6_373_800],
  [575_200, 6_373_800],
  [575_000, 6_373_600],
  [575_200, 6_373_600],
] as const;
export const BBOX_2025 = [575_000, 6_373_400, 575_400, 6_373_800] as const;

export interface MetadataFixture {
  t: TestDatabase;
  ctx: AppContext;
  config: Config;
  app: FastifyInstance;
  dataDir: string;
  /** SHA-256 of each stored master by `version/name`. */
  masters: Map<string, { sha256: string; bytes: number }>;
  dispose(): Promise<void>;
}

const dalleName = (year: number, xmin: number, ymax: number) => `46-${year}-${String(xmin / 100).padStart(5, '0')}-${String(ymax / 100).padStart(5, '0')}-LA93-0M05-RVB`;

export async function metadataFixture(open: () => Promise<TestDatabase>, options: { server?: boolean } = {}): Promise<MetadataFixture> {
  const t = await open();
  const dataDir = t.env.PCRS_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'pcrs-metadata-'));
  const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent', PCRS_CONFIG: '', PCRS_METADATA_CONTACT_EMAIL: 'pcrs@example.fr' });
  const ctx = buildAppContext(config, t.db);
  await ctx.catalog.ensureStandardDatasets('46');
  const masters = new Map<string, { sha256: string; bytes: number }>();

  const version = async (name: string, date: string, kind: 'full' | 'update', cells: ReadonlyArray<readonly [number, number]>) => {
    const v = await ctx.catalog.ensureVersion({ datasetId: 'ortho', name, acquisitionDate: date, kind });
    for (const [xmin, ymax] of cells) {
      const dname = dalleName(Number(date.slice(0, 4)), xmin, ymax);
      const d = await ctx.catalog.upsertDalle({
        versionId: v.id,
        name: dname,
        sizeM: 200,
        gridCol: xmin / 200,
        gridRow: ymax / 200,
        bbox: [xmin, ymax - 200, xmin + 200, ymax],
        acquisitionDate: date,
        state: 'published',
      });
      const bytes = Buffer.concat([Buffer.from('II*\0'), randomBytes(2048)]);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const location = `ortho/${name}/masters/${dname}.tif`;
      await ctx.tiers.intermediate.put(location, bytes);
      const a = await ctx.assets.addPending({ kind: 'master', datasetId: 'ortho', versionId: v.id, dalleId: d.id, tier: 'intermediate', location, bytes: bytes.length, sha256 });
      await ctx.assets.markStored(a.id, bytes.length, sha256);
      masters.set(`${name}/${dname}`, { sha256, bytes: bytes.length });
    }
    const job = await ctx.jobs.findOrCreate('ingest', `ingest:ortho:${name}:test`, { dir: `/livraisons/${name}`, dataset: 'ortho', version: name, replace: false });
    await runJob(ctx.jobs, job, async () => ({ summary: { files: cells.length + 1, ok: cells.length, warning: 0, rejected: 1, skipped: 0, ignored: 0 } }));
    await ctx.catalog.setVersionStatus(v.id, 'published');
    return v;
  };
  await version('2019-prive', '2019-05-02', 'full', [[575_000, 6_373_800]]);
  await version('2025', '2025-06-15', 'full', DALLES_2025);
  await version('maj-2026', '2026-04-01', 'update', [[575_200, 6_373_800]]);
  await new AccessServices(ctx).setVisibility(OPERATOR, 'ortho', '2019-prive', 'restricted');

  const gml = path.join(dataDir, 'demo.gml');
  await writeDemoGml(getScene({ seed: 46, centre: CAHORS_CENTRE }), [...BBOX_2025], gml);
  await importVersion(t.db, 'demo', [gml], { territoryBbox: config.territory.extent as [number, number, number, number] });

  let app: FastifyInstance | null = null;
  if (options.server !== false) {
    app = await buildServer(ctx, { logger: false });
    await app.ready();
  }
  return {
    t,
    ctx,
    config,
    app: app as FastifyInstance,
    dataDir,
    masters,
    async dispose() {
      await app?.close();
      await ctx.access.close?.();
      await t.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
