import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { UserError } from '../util/errors.js';
import type { Database, Queryable, QueryResult, Session, SqlParam } from './database.js';

// int8 (bigint ids, byte counts) as JS numbers: our values stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
// numeric as number (progress ratios, costs).
pg.types.setTypeParser(1700, (v) => Number(v));
// date as 'YYYY-MM-DD' text, never shifted by the local time zone.
pg.types.setTypeParser(1082, (v) => v);

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

async function run<Row>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly SqlParam[]): Promise<QueryResult<Row>> {
  const result = await client.query(sql, params as unknown[] | undefined);
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
}

async function copy(client: pg.PoolClient, target: string, data: Uint8Array): Promise<void> {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  await pipeline(Readable.from([bytes], { objectMode: false }), client.query(copyFromStdin(`COPY ${target} FROM STDIN WITH (FORMAT binary)`)));
}

function queryableOf(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    query: (sql, params) => run(client, sql, params),
    exec: async (sql) => {
      await client.query(sql);
    },
    async copyFrom(target, data) {
      if (!(client instanceof pg.Pool)) return copy(client, target, data);
      const c = await client.connect();
      try {
        await copy(c, target, data);
      } finally {
        c.release();
      }
    },
  };
}

function sessionOf(client: pg.PoolClient): Session {
  const session: Session = {
    ...queryableOf(client),
    async transaction(fn) {
      await client.query('BEGIN');
      try {
        const value = await fn(queryableOf(client));
        await client.query('COMMIT');
        return value;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    },
  };
  return session;
}

export async function openPostgres(url: string, options: { max?: number } = {}): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, connectionTimeoutMillis: 5000 });
  // A broken idle connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new UserError('database-unreachable', `Cannot connect to the database ${redactUrl(url)}: ${(e as Error).message}`, {
      hint: 'Check DATABASE_URL and that PostgreSQL is running (pg_ctlcluster 15 main start), or unset DATABASE_URL to use the embedded database.',
      exitCode: 69,
      status: 503,
    });
  }
  const withSession = async <T>(fn: (session: Session) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await fn(sessionOf(client));
    } finally {
      client.release();
    }
  };
  const listeners = new Set<() => Promise<void>>();
  return {
    engine: 'postgres',
    describe: () => redactUrl(url),
    ...queryableOf(pool),
    transaction: (fn) => withSession((s) => s.transaction(fn)),
    withSession,
    async listen(channel, handler, onGap) {
      const stop = await listenOn(url, channel, handler, onGap);
      const remove = async () => {
        listeners.delete(remove);
        await stop();
      };
      listeners.add(remove);
      return remove;
    },
    async close() {
      await Promise.all([...listeners].map((stop) => stop()));
      await pool.end();
    },
  };
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * LISTEN on a dedicated connection (outside the pool: it is held for the life of the process).
 * A lost connection is reopened after a short pause; `onGap` tells the listener that it may have
 * missed notifications meanwhile.
 */
async function listenOn(url: string, channel: string, handler: (payload: string) => void, onGap?: () => void): Promise<() => Promise<void>> {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | null = null;
  const open = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    c.on('notification', (n) => {
      if (n.channel === channel) handler(n.payload ?? '');
    });
    const lost = () => {
      if (client !== c) return;
      client = null;
      c.end().catch(() => undefined);
      if (stopped) return;
      onGap?.();
      retry = setTimeout(() => {
        retry = null;
        open().catch(lost);
      }, 1000);
      retry.unref();
    };
    c.on('error', lost);
    c.on('end', lost);
    client = c;
    await c.connect();
    await c.query(`LISTEN ${quoteIdent(channel)}`);
    if (stopped) await c.end().catch(() => undefined);
  };
  await open();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    const c = client;
    client = null;
    await c?.end().catch(() => undefined);
  };
}
