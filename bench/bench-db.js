// Shared by the benches: a throwaway PostgreSQL database when DATABASE_URL is set (as in
// production), else null (the bench then runs on the embedded PGlite).
import pg from 'pg';

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
