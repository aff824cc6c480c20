import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';

/**
 * Vitest global setup: one migrated PGlite template per test run (creating a PGlite database with
 * PostGIS costs ~10 s of WASM work; copying the template costs milliseconds). Workers inherit the
 * path through the environment.
 */
export default async function setup(): Promise<() => void> {
  const root = mkdtempSync(path.join(tmpdir(), 'pcrs-pglite-template-'));
  const dir = path.join(root, 'db');
  const db = await openPglite(dir);
  await migrate(db);
  await db.close();
  process.env.PCRS_TEST_PGLITE_TEMPLATE = dir;
  return () => rmSync(root, { recursive: true, force: true });
}
