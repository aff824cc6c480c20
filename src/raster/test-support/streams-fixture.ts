import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Catalog } from '../../catalog/catalog.js';
import { loadConfig, type Config } from '../../config/config.js';
import { ingestDelivery } from '../ingest/ingest.js';
import { ingestServices } from '../ingest/services.js';
import { buildAppContext, type AppContext } from '../../context/app-context.js';
import { buildServer } from '../../server/app.js';
import { freshPglite, type TestDatabase } from '../../test-support/db.js';
import { validDalle } from '../../test-support/imagery.js';
import { CAHORS_CENTRE, getScene } from '../../demo/synthetic-scene.js';
import { writeDemoGml } from '../../demo/vector.js';
import { importVersion } from '../../vector/test-support/vector-fixture.js';

/** 2×2 dalles of 200 m (version 2025) and one update dalle (maj-2026) over the north-east one. */
export const BASE_DALLES = [
  [575_000, 6_373_800],
  [575_200, 6_373_800],
  [575_000, 6_373_600],
  [575_200, 6_373_600],
] as const;
export const UPDATE_DALLE = [575_200, 6_373_800] as const;
/** Lambert-93 extent of the base version. */
export const BASE_BBOX = [575_000, 6_373_400, 575_400, 6_373_800] as const;

export interface StreamsFixture {
  t: TestDatabase;
  ctx: AppContext;
  config: Config;
  app: FastifyInstance;
  /** The 2025 dalle files (for gdalwarp references). */
  baseFiles: string[];
  delivery: string;
  /** Features per class of the vector version, when asked for. */
  vectorCounts: Record<string, number>;
  dispose(): Promise<void>;
}

/**
 * A fresh PGlite + data dir with the two versions ingested through the real ingest path, and a
 * server. `vector`: also the demo's vector PCRS of the same synthetic town over the base area
 * (version `demo`, published), its counts per class in `vectorCounts`. `open`: the database
 * (default a fresh PGlite; e.g. `freshPostgres` for the same fixture on PostgreSQL).
 */
export async function streamsFixture(env: Record<string, string> = {}, options: { vector?: boolean; open?: () => Promise<TestDatabase> } = {}): Promise<StreamsFixture> {
  const t = await (options.open ?? freshPglite)();
  const dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-streams-data-'));
  const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent', ...env });
  const catalog = new Catalog(t.db);
  await catalog.ensureStandardDatasets('46');
  const ctx: AppContext = buildAppContext(config, t.db);
  const delivery = mkdtempSync(path.join(tmpdir(), 'pcrs-streams-'));
  const baseDir = path.join(delivery, 'base');
  const updDir = path.join(delivery, 'update');
  mkdirSync(baseDir);
  mkdirSync(updDir);
  const baseFiles: string[] = [];
  for (const [xmin, ymax] of BASE_DALLES) baseFiles.push((await validDalle(baseDir, { xmin, ymax })).file);
  await validDalle(updDir, { xmin: UPDATE_DALLE[0], ymax: UPDATE_DALLE[1], seed: 7, year: 2026 });
  const services = ingestServices(ctx, { concurrency: 2 });
  await ingestDelivery(services, { dir: baseDir, datasetId: 'ortho', versionName: '2025', date: '2025-06-15', jobs: 2 });
  await ingestDelivery(services, { dir: updDir, datasetId: 'ortho', versionName: 'maj-2026', date: '2026-04-01', kind: 'update', jobs: 2 });
  let vectorCounts: Record<string, number> = {};
  if (options.vector) {
    const gml = path.join(delivery, 'demo.gml');
    await writeDemoGml(getScene({ seed: 46, centre: CAHORS_CENTRE }), [...BASE_BBOX], gml);
    const { results } = await importVersion(t.db, 'demo', [gml], { territoryBbox: config.territory.extent as [number, number, number, number] });
    vectorCounts = results[0]?.byClass ?? {};
  }
  const app = await buildServer(ctx, { logger: false });
  await app.ready();
  return {
    t,
    ctx,
    config,
    app,
    baseFiles,
    delivery,
    vectorCounts,
    async dispose() {
      await app.close();
      await t.dispose();
      rmSync(delivery, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
