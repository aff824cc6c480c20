import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.js';
import type { Database, Session } from './database.js';

/** `migrations/` at the package root (same relative path from src/db and dist/db). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** Arbitrary constant identifying "the pcrs migration lock" among advisory locks. */
const MIGRATION_LOCK_ID = 4_605_202_154;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => /^\d{3,}_[a-z0-9_-]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      const [num, ...rest] = file.replace(/\.sql$/, '').split('_');
      return { version: Number(num), name: rest.join('_'), sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
  migrations.forEach((m, i) => {
    if (i > 0 && m.version === migrations[i - 1]?.version) throw new Error(`Two migrations share the number ${m.version}`);
  });
  return migrations;
}

export interface MigrationOutcome {
  applied: Migration[];
  alreadyApplied: number;
}

async function appliedMigrations(session: Session): Promise<Map<number, string>> {
  await session.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version bigint PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  // Databases created before timestamped names (YYYYMMDDHHMM does not fit an integer) get bigint.
  const { rows: columns } = await session.query<{ data_type: string }>(
    "SELECT data_type FROM information_schema.columns WHERE table_name = 'schema_migrations' AND column_name = 'version' AND table_schema = current_schema()",
  );
  if (columns[0]?.data_type === 'integer') await session.query('ALTER TABLE schema_migrations ALTER COLUMN version TYPE bigint');
  // bigint comes back as text from node-postgres: read it as text everywhere, then as a number.
  const { rows } = await session.query<{ version: string; checksum: string }>('SELECT version::text AS version, checksum FROM schema_migrations');
  return new Map(rows.map((r) => [Number(r.version), r.checksum]));
}

/**
 * Applies pending migrations, each in its own transaction, under a session-level advisory lock so
 * that two processes starting together never migrate at once (the second waits, then finds
 * nothing to do). An applied migration whose file changed is an error, never silently re-run.
 */
export async function migrate(db: Database, migrations = loadMigrations()): Promise<MigrationOutcome> {
  return db.withSession(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      const applied = await appliedMigrations(session);
      for (const m of migrations) {
        const checksum = applied.get(m.version);
        if (checksum !== undefined && checksum !== m.checksum) {
          throw new UserError('migration-changed', `Migration ${m.version}_${m.name} was modified after it was applied to ${db.describe()}.`, {
            hint: 'Never edit an applied migration: restore the file and add a new migration instead.',
            exitCode: 65,
          });
        }
      }
      const pending = migrations.filter((m) => !applied.has(m.version));
      for (const m of pending) {
        await session.transaction(async (tx) => {
          await tx.exec(m.sql);
          await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
        });
      }
      return { applied: pending, alreadyApplied: migrations.length - pending.length };
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  });
}
