/* global fetch */
// Tile serving with a key vs anonymous (issue 10: "within 10 % of anonymous serving"): the same
// stored 2154_5cm JPEG tiles from `pcrs serve`, requested
//   (1) anonymously, (2) with `Authorization: Bearer <key>`, (3) with `?apikey=<key>` (QGIS style),
//   and, on PostgreSQL, (4) with the key on the layer made restricted (`pcrs visibility set`),
// then anonymously again (noise check). wrk (Debian package) on loopback, keep-alive; the server
// is pinned to CPU 0 and wrk to CPU 1 (taskset) so that every run gets the same cores.
// Usage: npm run bench -- access   [PCRS_BENCH_SECONDS=10] [PCRS_BENCH_CONNECTIONS=16] [DATABASE_URL=…]
//        [PCRS_BENCH_PROFILE=dir: the server writes a V8 CPU profile there]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { AccessServices } from '../dist/access/services.js';
import { Catalog } from '../dist/catalog/catalog.js';
import { loadConfig } from '../dist/config/config.js';
import { OPERATOR } from '../dist/context/access.js';
import { buildAppContext } from '../dist/context/app-context.js';
import { migrate } from '../dist/db/migrate.js';
import { openPglite } from '../dist/db/pglite.js';
import { openPostgres } from '../dist/db/postgres.js';
import { generateDelivery } from '../dist/demo/delivery.js';
import { TMS_2154_5CM, tileRange } from '../dist/grid/tile-matrix-set.js';
import { ingestDelivery } from '../dist/raster/ingest/ingest.js';
import { ingestServices } from '../dist/raster/ingest/services.js';
import { createBenchDatabase } from './bench-db.js';
import { pinned, requireTool, runWrk, sleep, twoCores, waitFor, wrkLine, wrkScript } from './wrk-support.js';

const seconds = Number(process.env.PCRS_BENCH_SECONDS ?? 10);
const connections = Number(process.env.PCRS_BENCH_CONNECTIONS ?? 16);
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'pcrs-bench-access-'));
const cache = path.join(tmpdir(), 'pcrs-bench-cache', 'access');
const BBOX = [575000, 6373200, 575400, 6373600]; // 4 dalles of 200 m
const children = [];
let dropDb = async () => undefined;

requireTool('access', 'wrk', 'wrk');
if (twoCores) requireTool('access', 'taskset', 'util-linux');
try {
  mkdirSync(cache, { recursive: true });
  await generateDelivery({ outDir: cache, year: 2025, bbox: BBOX, dalleSize: 200, seed: 46 });
  const dataDir = path.join(work, 'data');
  const benchDb = await createBenchDatabase('access');
  const serverDbUrl = benchDb?.url ?? null;
  if (benchDb) dropDb = benchDb.drop;
  console.log(`database: ${serverDbUrl ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite'}; ${connections} connections, ${seconds} s per run, ${twoCores ? 'server on CPU 0, wrk on CPU 1' : 'one core: no pinning'}`);
  const db = serverDbUrl ? await openPostgres(serverDbUrl) : await openPglite(path.join(dataDir, 'db'));
  await migrate(db);
  await new Catalog(db).ensureStandardDatasets('46');
  const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'warn', ...(serverDbUrl ? { DATABASE_URL: serverDbUrl } : {}) });
  const ctx = buildAppContext(config, db);
  await ingestDelivery(ingestServices(ctx), { dir: cache, datasetId: 'ortho', versionName: '2025', date: '2025-06-15', jobs: 2 });
  // A technical user (reads restricted layers without a permission) and its key, made as the CLI makes them.
  const { rows } = await db.query(`INSERT INTO users (email, display_name, email_verified_at, platform_roles) VALUES ('bench@example.fr', 'bench', now(), '{technical}') RETURNING id`);
  const { key } = await new AccessServices(ctx).createKey(OPERATOR, Number(rows[0].id), { name: 'bench', scopes: ['read'] });
  await ctx.access.close?.();
  await db.close();

  const port = 18000 + Math.floor(Math.random() * 1000);
  const [cmd, args] = pinned(0, process.execPath, [...(process.env.PCRS_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PCRS_BENCH_PROFILE}`] : []), path.join(root, 'bin', 'pcrs.js'), 'serve', '--port', String(port)]);
  // The rate limiter stays on (its cost is part of serving) with budgets the load never reaches.
  const env = { ...process.env, PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'warn', PCRS_DEMO: 'false', PCRS_RATE_LIMIT_ANONYMOUS: '1000000000', PCRS_RATE_LIMIT_AUTHENTICATED: '1000000000', ...(serverDbUrl ? { DATABASE_URL: serverDbUrl } : {}) };
  const server = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(server);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/health`);

  // Every stored tile of levels 22–16 over the area.
  const paths = [];
  for (let z = 22; z >= 16; z--) {
    const r = tileRange(TMS_2154_5CM, z, BBOX);
    for (let row = r.minRow; row <= r.maxRow; row++) {
      for (let col = r.minCol; col <= r.maxCol; col++) {
        const p = `/wmts/1.0.0/PCRS.ORTHO.2025/normal/2154_5cm/${z}/${row}/${col}.jpeg`;
        const res = await fetch(base + p);
        await res.arrayBuffer();
        if (res.status === 200 && res.headers.get('content-type') === 'image/jpeg') paths.push(p);
      }
    }
  }
  console.log(`${paths.length} stored JPEG tiles (levels 22–16)`);
  const anon = wrkScript(work, 'anonymous', paths);
  const bearer = wrkScript(work, 'bearer', paths, '', { Authorization: `Bearer ${key}` });
  const query = wrkScript(work, 'apikey', paths, `?apikey=${encodeURIComponent(key)}`);
  runWrk(base, anon, { seconds, connections }); // warm-up (indexes, page cache, JIT)
  runWrk(base, bearer, { seconds, connections });
  const a1 = runWrk(base, anon, { seconds, connections });
  const b = runWrk(base, bearer, { seconds, connections });
  const q = runWrk(base, query, { seconds, connections });
  let restricted = null;
  if (serverDbUrl) {
    // The CLI's NOTIFY reaches the running server: the same tiles, now restricted, read with the key.
    execFileSync(process.execPath, [path.join(root, 'bin', 'pcrs.js'), 'visibility', 'set', 'ortho', 'restricted'], { env, stdio: 'ignore' });
    // NOTIFY is immediate; under load the server may take a moment to answer the next request.
    let status = 0;
    for (let i = 0; i < 50 && status !== 401; i++) {
      await sleep(200);
      const res = await fetch(base + paths[0]);
      await res.arrayBuffer();
      status = res.status;
    }
    if (status !== 401) throw new Error(`the layer did not become restricted (anonymous tile answered ${status})`);
    restricted = runWrk(base, bearer, { seconds, connections });
    execFileSync(process.execPath, [path.join(root, 'bin', 'pcrs.js'), 'visibility', 'set', 'ortho', 'public'], { env, stdio: 'ignore' });
    await sleep(500);
  }
  const a2 = runWrk(base, anon, { seconds, connections });
  console.log(wrkLine('anonymous', a1));
  console.log(wrkLine('Bearer key', b));
  console.log(wrkLine('?apikey= key', q));
  if (restricted) console.log(wrkLine('Bearer key, restricted', restricted));
  console.log(wrkLine('anonymous again', a2));
  const ref = Math.max(a1.rps, a2.rps);
  const ratio = (r) => `${((r.rps / ref) * 100).toFixed(1)} %`;
  console.log(`keyed serving vs anonymous (best anonymous run): Bearer ${ratio(b)}, ?apikey ${ratio(q)}${restricted ? `, restricted layer ${ratio(restricted)}` : ''} (goal ≥ 90 %)`);
  // The counters were batched: one flush per few seconds, not one write per tile.
  await sleep(6000);
  if (serverDbUrl) {
    const c = new pg.Client({ connectionString: serverDbUrl });
    await c.connect();
    const u = await c.query('SELECT request_count FROM api_keys');
    await c.end();
    console.log(`key request_count after the runs: ${u.rows[0]?.request_count} (flushed in batches)`);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  await sleep(1500);
  await dropDb().catch((e) => console.error(`could not drop the benchmark database: ${e.message}`));
  rmSync(work, { recursive: true, force: true });
}
