/* global fetch */
// The cost of counting usage on tile serving (issue 15: "the overhead on tile serving stays under
// 5 %"): the same stored 2154_5cm JPEG tiles from `pcrs serve`, requested with an API key (the
// heaviest labels: organisation and key), by a server started with counting off (PCRS_USAGE=false,
// the reference) and one with counting on, alternately (off, on, off, on…), each after a warm-up.
// wrk (Debian package) on loopback, keep-alive; the server pinned to CPU 0 and wrk to CPU 1.
// Usage: npm run bench -- usage   [PCRS_BENCH_SECONDS=10] [PCRS_BENCH_CONNECTIONS=16] [PCRS_BENCH_ROUNDS=5] [DATABASE_URL=…]
//        [PCRS_BENCH_PROFILE=dir: the counting servers write V8 CPU profiles there]
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { AccessServices } from '../dist/access/services.js';
import { OPERATOR } from '../dist/context/access.js';
import { generateDelivery } from '../dist/demo/delivery.js';
import { TMS_2154_5CM, tileRange } from '../dist/grid/tile-matrix-set.js';
import { ingestDelivery } from '../dist/raster/ingest/ingest.js';
import { ingestServices } from '../dist/raster/ingest/services.js';
import { openBenchPlatform } from './bench-db.js';
import { cpuSeconds, pinned, requireTool, runWrk, sleep, twoCores, waitFor, wrkLine, wrkScript } from './wrk-support.js';

const seconds = Number(process.env.PCRS_BENCH_SECONDS ?? 10);
const connections = Number(process.env.PCRS_BENCH_CONNECTIONS ?? 16);
const rounds = Number(process.env.PCRS_BENCH_ROUNDS ?? 5);
const root = fileURLToPath(new URL('..', import.meta.url));
/** Directories to remove at the end. */
const work = [];
const cache = path.join(tmpdir(), 'pcrs-bench-cache', 'usage');
const BBOX = [575000, 6373200, 575400, 6373600]; // 4 dalles of 200 m
const children = [];
let dropDb = async () => undefined;

requireTool('usage', 'wrk', 'wrk');
if (twoCores) requireTool('usage', 'taskset', 'util-linux');
try {
  mkdirSync(cache, { recursive: true });
  await generateDelivery({ outDir: cache, year: 2025, bbox: BBOX, dalleSize: 200, seed: 46 });
  const { dataDir, benchDb, env: platformEnv, db, ctx } = await openBenchPlatform('usage');
  work.push(dataDir);
  if (benchDb) dropDb = benchDb.drop;
  console.log(`database: ${benchDb ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite'}; ${connections} connections, ${seconds} s per run, ${rounds} rounds, ${twoCores ? 'server on CPU 0, wrk on CPU 1' : 'one core: no pinning'}`);
  await ingestDelivery(ingestServices(ctx), { dir: cache, datasetId: 'ortho', versionName: '2025', date: '2025-06-15', jobs: 2 });
  // A member of an organisation and its key: counted under both labels.
  const org = await db.query(`INSERT INTO organisations (slug, name, kind) VALUES ('bench', 'Bench', 'company') RETURNING id`);
  const { rows } = await db.query(`INSERT INTO users (email, display_name, email_verified_at) VALUES ('bench@example.fr', 'bench', now()) RETURNING id`);
  await db.query(`INSERT INTO memberships (user_id, organisation_id, role, status) VALUES ($1, $2, 'member', 'active')`, [rows[0].id, org.rows[0].id]);
  const { key } = await new AccessServices(ctx).createKey(OPERATOR, Number(rows[0].id), { name: 'bench', scopes: ['read'] });
  await ctx.access.close?.();
  await db.close();

  const port = 18000 + Math.floor(Math.random() * 1000);
  const base = `http://127.0.0.1:${port}`;
  // The rate limiter stays on (its cost is part of serving) with budgets the load never reaches.
  const env = { ...process.env, ...platformEnv, PCRS_DEMO: 'false', PCRS_RATE_LIMIT_ANONYMOUS: '1000000000', PCRS_RATE_LIMIT_AUTHENTICATED: '1000000000' };
  const startServer = async (counting) => {
    const profile = counting && process.env.PCRS_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PCRS_BENCH_PROFILE}`] : [];
    const [cmd, args] = pinned(0, process.execPath, [...profile, path.join(root, 'bin', 'pcrs.js'), 'serve', '--port', String(port)]);
    const server = spawn(cmd, args, { env: { ...env, PCRS_USAGE: counting ? 'true' : 'false' }, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(server);
    const exited = new Promise((resolve) => server.on('close', resolve));
    await waitFor(`${base}/health`);
    const stop = async () => {
      server.kill('SIGTERM');
      await exited;
    };
    return Object.assign(stop, { pid: server.pid });
  };

  let stop = await startServer(false);
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
  await stop();
  console.log(`${paths.length} stored JPEG tiles (levels 22–16), requested with a key`);
  const bearer = wrkScript(dataDir, 'bearer', paths, '', { Authorization: `Bearer ${key}` });
  const results = { off: [], on: [] };
  for (let round = 0; round < rounds; round++) {
    for (const counting of [false, true]) {
      stop = await startServer(counting);
      runWrk(base, bearer, { seconds: 3, connections }); // warm-up (indexes, page cache, JIT)
      const cpu0 = cpuSeconds(stop.pid);
      const r = runWrk(base, bearer, { seconds, connections });
      // The server's CPU time per answer: steadier than req/s on a VM whose neighbours steal time.
      r.cpuMicros = ((cpuSeconds(stop.pid) - cpu0) * 1e6) / r.requests;
      await stop();
      results[counting ? 'on' : 'off'].push(r);
      console.log(`${wrkLine(`round ${round + 1}, counting ${counting ? 'on' : 'off'}`, r)}, server CPU ${r.cpuMicros.toFixed(1)} µs/answer`);
    }
  }
  const medianOf = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const median = (rs) => medianOf(rs.map((r) => r.rps));
  const off = median(results.off);
  const on = median(results.on);
  const cpuOff = medianOf(results.off.map((r) => r.cpuMicros));
  const cpuOn = medianOf(results.on.map((r) => r.cpuMicros));
  console.log(`throughput, counting on vs off (medians): ${on.toFixed(0)} / ${off.toFixed(0)} req/s = ${((on / off) * 100).toFixed(1)} %`);
  console.log(`server CPU per answer (medians): ${cpuOn.toFixed(1)} / ${cpuOff.toFixed(1)} µs: counting costs ${((cpuOn / cpuOff - 1) * 100).toFixed(1)} % (goal < 5 %)`);
  // The servers stopped gracefully: every request of the counting runs is in the tables.
  if (benchDb) {
    const c = new pg.Client({ connectionString: benchDb.url });
    await c.connect();
    const u = await c.query(`SELECT sum(requests)::bigint AS n FROM usage_daily WHERE service = 'wmts'`);
    await c.end();
    console.log(`wmts requests counted: ${u.rows[0]?.n} (warm-ups included; flushed in batches and at each stop)`);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  await sleep(1500);
  await dropDb().catch((e) => console.error(`could not drop the benchmark database: ${e.message}`));
  for (const dir of work) rmSync(dir, { recursive: true, force: true });
}
