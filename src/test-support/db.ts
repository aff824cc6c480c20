import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';
import { openPostgres } from '../db/postgres.js';

/**
 * Databases for tests: embedded PGlite always, and a real PostgreSQL/PostGIS when DATABASE_URL is
 * set (CI). Each test database is fresh: PGlite is copied from a migrated template (creating one
 * costs ~10 s of WASM start-up), PostgreSQL gets a new database dropped afterwards.
 */
export interface TestDatabase {
  engine: 'pglite' | 'postgres';
  db: Database;
  /** For CLI subprocess tests: the env that points a `pcrs` process at this database. */
  env: Record<string, string>;
  dispose(): Promise<void>;
}

// Made once per run by global-setup.ts; built here only when a test file runs without it.
const TEMPLATE_DIR = process.env.PCRS_TEST_PGLITE_TEMPLATE ?? path.join(tmpdir(), `pcrs-pglite-template-${process.pid}`);

async function pgliteTemplate(): Promise<string> {
  if (!existsSync(path.join(TEMPLATE_DIR, 'PG_VERSION'))) {
    rmSync(TEMPLATE_DIR, { recursive: true, force: true });
    const db = await openPglite(TEMPLATE_DIR);
    await migrate(db);
    await db.close();
  }
  return TEMPLATE_DIR;
}

/** A fresh, migrated PGlite database in its own data dir (`${dataDir}/db`). */
export async function freshPglite(dataDir = mkdtempSync(path.join(tmpdir(), 'pcrs-test-'))): Promise<TestDatabase> {
  const template = await pgliteTemplate();
  const dir = path.join(dataDir, 'db');
  cpSync(template, dir, { recursive: true });
  const db = await openPglite(dir);
  return {
    engine: 'pglite',
    db,
    env: { PCRS_DATA_DIR: dataDir },
    async dispose() {
      await db.close().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const POSTGRES_URL = process.env.DATABASE_URL;

/** A fresh PostgreSQL database (needs DATABASE_URL with CREATEDB rights), migrated unless told not to. */
export async function freshPostgres(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  if (!POSTGRES_URL) throw new Error('DATABASE_URL is not set');
  const name = `pcrs_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const db = await openPostgres(url.toString());
  if (options.migrate !== false) await migrate(db);
  return {
    engine: 'postgres',
    db,
    env: { DATABASE_URL: url.toString() },
    async dispose() {
      await db.close().catch(() => undefined);
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** The engines to run a catalogue test on: PGlite, plus PostgreSQL when DATABASE_URL is set. */
export const ENGINES: ReadonlyArray<{ engine: 'pglite' | 'postgres'; open: () => Promise<TestDatabase> }> = [
  { engine: 'pglite', open: () => freshPglite() },
  ...(POSTGRES_URL ? [{ engine: 'postgres' as const, open: () => freshPostgres() }] : []),
];
