import { mkdirSync } from 'node:fs';
import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import { postgis } from '@electric-sql/pglite-postgis';
import { UserError } from '../util/errors.js';
import type { Database, Queryable, QueryResult, SqlParam } from './database.js';
import { acquireDirectoryLock } from './dir-lock.js';

// Same value conventions as the pg adapter (see postgres.ts).
const parsers = {
  [types.INT8]: (v: string) => Number(v),
  [types.NUMERIC]: (v: string) => Number(v),
  [types.DATE]: (v: string) => v,
};

function queryableOf(db: PGlite | Transaction): Queryable {
  return {
    query: (sql, params) => run(db, sql, params),
    exec: async (sql) => {
      await db.exec(sql);
    },
    // PGlite reads COPY data from a Blob it exposes as the file '/dev/blob'.
    copyFrom: async (target, data) => {
      await db.query(`COPY ${target} FROM '/dev/blob' WITH (FORMAT binary)`, [], { blob: new Blob([data]) });
    },
  };
}

async function run<Row>(db: PGlite | Transaction, sql: string, params?: readonly SqlParam[]): Promise<QueryResult<Row>> {
  const result = await db.query<Row>(sql, params as unknown[] | undefined, { parsers });
  return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
}

/**
 * Embedded PostgreSQL (WASM) with PostGIS. One process owns the data directory at a time: a lock
 * file says who, so a second `pcrs` command gets a clear message instead of corrupting the files.
 */
export async function openPglite(dir: string): Promise<Database> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UserError('data-dir-unwritable', `Cannot create the embedded database directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: 'Set PCRS_DATA_DIR to a writable directory.',
      exitCode: 73,
    });
  }
  const lock = acquireDirectoryLock(dir);
  let db: PGlite;
  try {
    db = await PGlite.create({ dataDir: dir, extensions: { postgis } });
  } catch (e) {
    lock.release();
    throw new UserError('database-unreadable', `Cannot open the embedded database in ${dir}: ${(e as Error).message}`, { exitCode: 74 });
  }
  return {
    engine: 'pglite',
    describe: () => `embedded PGlite at ${dir}`,
    ...queryableOf(db),
    transaction: (fn) => db.transaction((tx) => fn(queryableOf(tx))),
    // PGlite is a single connection: the database itself is the session.
    withSession: (fn) => fn({ ...queryableOf(db), transaction: (inner) => db.transaction((tx) => inner(queryableOf(tx))) }),
    // One process owns an embedded database: its own NOTIFYs are all there is to hear.
    async listen(channel, handler) {
      const stop = await db.listen(channel, handler);
      return async () => {
        await stop().catch(() => undefined);
      };
    },
    async close() {
      try {
        await db.close();
      } finally {
        lock.release();
      }
    },
  };
}
