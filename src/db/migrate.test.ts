import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, freshPostgres, POSTGRES_URL, type TestDatabase } from '../test-support/db.js';
import { loadMigrations, migrate } from './migrate.js';
import { openPglite } from './pglite.js';

describe.each(ENGINES)('migrations on $engine', ({ open }) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await open();
  });
  afterAll(() => t.dispose());

  it('created every catalogue table with PostGIS geometry and spatial index', async () => {
    const { rows } = await t.db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    const names = rows.map((r) => r.table_name);
    for (const table of ['assets', 'dalles', 'datasets', 'jobs', 'schema_migrations', 'versions']) expect(names).toContain(table);
    const geom = await t.db.query<{ type: string; srid: number }>(`SELECT type, srid FROM geometry_columns WHERE f_table_name = 'dalles'`);
    expect(geom.rows).toEqual([{ type: 'POLYGON', srid: 2154 }]);
    const idx = await t.db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = 'dalles_footprint_gix'`);
    expect(idx.rows[0]?.indexdef).toMatch(/USING gist \(footprint\)/);
  });

  it('is idempotent: a second run applies nothing', async () => {
    const outcome = await migrate(t.db);
    expect(outcome.applied).toEqual([]);
    expect(outcome.alreadyApplied).toBe(loadMigrations().length);
  });

  it('refuses to run when an applied migration file was edited', async () => {
    const edited = loadMigrations().map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited`, checksum: 'x'.repeat(64) } : m));
    await expect(migrate(t.db, edited)).rejects.toThrow(/was modified after it was applied/);
  });

  it('rolls back a failing migration entirely and records nothing', async () => {
    const bad = [...loadMigrations(), { version: 9999, name: 'broken', sql: 'CREATE TABLE half_done (id int); SELECT no_such_function();', checksum: 'b'.repeat(64) }];
    await expect(migrate(t.db, bad)).rejects.toThrow(/no_such_function/);
    const tables = await t.db.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'`);
    expect(tables.rowCount).toBe(0);
    const recorded = await t.db.query('SELECT 1 FROM schema_migrations WHERE version = 9999');
    expect(recorded.rowCount).toBe(0);
  });

  it('enforces catalogue constraints (bad hashes, unknown tiers)', async () => {
    await t.db.query(`INSERT INTO datasets (id, kind, title, territory) VALUES ('ortho-x', 'orthophoto', 'x', '46') ON CONFLICT DO NOTHING`);
    await expect(
      t.db.query(`INSERT INTO assets (kind, dataset_id, tier, location, bytes, sha256) VALUES ('master', 'ortho-x', 'hot', 'a', 1, 'not-a-hash')`),
    ).rejects.toThrow();
    await expect(t.db.query(`INSERT INTO assets (kind, dataset_id, tier, location, bytes) VALUES ('master', 'ortho-x', 'lukewarm', 'b', 1)`)).rejects.toThrow();
  });
});

describe.skipIf(!POSTGRES_URL)('migration lock on PostgreSQL', () => {
  it('two concurrent migrators apply each migration exactly once', async () => {
    const t = await freshPostgres({ migrate: false });
    try {
      const second = await (await import('./postgres.js')).openPostgres(t.env.DATABASE_URL as string);
      const [a, b] = await Promise.all([migrate(t.db), migrate(second)]);
      await second.close();
      expect(a.applied.length + b.applied.length).toBe(loadMigrations().length);
      expect(Math.min(a.applied.length, b.applied.length)).toBe(0);
    } finally {
      await t.dispose();
    }
  });
});

describe('embedded database lock', () => {
  it('a second opener of the same directory gets a clear "in use" error only while the owner lives', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-lock-'));
    try {
      mkdirSync(dir, { recursive: true });
      // A lock file left by a live foreign process (our parent) blocks…
      writeFileSync(path.join(dir, 'pcrs.lock'), `${process.ppid}\npcrs serve\n`);
      await expect(openPglite(dir)).rejects.toThrow(/in use by process/);
      // …one left by a dead process (kill -9) is taken over.
      writeFileSync(path.join(dir, 'pcrs.lock'), `999999999\npcrs serve\n`);
      const db = await openPglite(dir);
      await db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
