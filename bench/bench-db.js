// Shared by the benches: a throwaway PostgreSQL database when DATABASE_URL is set (as in
// production), else null (the bench then runs on the embedded PGlite).
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Catalog } from '../dist/catalog/catalog.js';
import { loadConfig } from '../dist/config/config.js';
import { buildAppContext } from '../dist/context/app-context.js';
import { migrate } from '../dist/db/migrate.js';
import { openPglite } from '../dist/db/pglite.js';
import { openPostgres } from '../dist/db/postgres.js';

/** Creates `pcrs_bench_<name>_<pid>`; returns its URL and the function that drops it, or null without DATABASE_URL. */
export async function createBenchDatabase(name) {
  if (!process.env.DATABASE_URL) return null;
  const db = `pcrs_bench_${name}_${process.pid}`;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/${db}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * A throwaway platform for a bench: a data directory (readable by nginx workers), its database
 * (PostgreSQL with DATABASE_URL, else PGlite) migrated with the standard datasets, the app context,
 * and the environment a `pcrs serve` child needs to run on them.
 */
export async function openBenchPlatform(name) {
  const dataDir = mkdtempSync(path.join(tmpdir(), `pcrs-bench-${name}-`));
  chmodSync(dataDir, 0o755); // nginx workers run as an unprivileged user
  const benchDb = await createBenchDatabase(name);
  const env = { PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'warn', PCRS_CONFIG: '', ...(benchDb ? { DATABASE_URL: benchDb.url } : {}) };
  const config = loadConfig(env);
  const db = benchDb ? await openPostgres(benchDb.url) : await openPglite(path.join(dataDir, 'db'));
  await migrate(db);
  const ctx = buildAppContext(config, db);
  await new Catalog(db).ensureStandardDatasets('46');
  return { dataDir, benchDb, env, db, ctx };
}
