// Import of a large CNIG PCRS GML into PostgreSQL/PostGIS: `pcrs gml import` (streaming XSD +
// CNIG rule validation and insert in one pass, one transaction) against `ogr2ogr -f PostgreSQL`
// of the same file into the same database, same run. Reports features/s and peak RSS of each.
// Usage: npm run bench -- gml-import   [PCRS_BENCH_GML_MB=100] [PCRS_BENCH_RUNS=2]
//        [DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { writeSyntheticPcrsFile } from '../dist/vector/gml/synthetic.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const mb = Number(process.env.PCRS_BENCH_GML_MB ?? 100);
const runs = Number(process.env.PCRS_BENCH_RUNS ?? 2);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = 'pcrs_bench_gml';
const cache = path.join(tmpdir(), 'pcrs-bench-cache');

async function admin(sql) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Runs a command under /usr/bin/time: wall seconds and peak RSS (MB). */
function measure(cmd, args, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '__TIME__ %e %M', cmd, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const m = /__TIME__ ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`);
  return { s: Number(m[1]), rssMb: Number(m[2]) / 1024, stdout: r.stdout };
}

mkdirSync(cache, { recursive: true });
const file = path.join(cache, `synthetic-${mb}MB.gml`);
let features;
if (!existsSync(file)) {
  const w = await writeSyntheticPcrsFile(file, mb * 1e6, 46);
  features = w.features;
} else {
  const r = spawnSync('grep', ['-c', '<featureMember>', file], { encoding: 'utf8' });
  features = Number(r.stdout.trim());
}
console.log(`source: ${path.basename(file)} (${(statSync(file).size / 1e6).toFixed(1)} MB, ${features} features)`);

await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin(`CREATE DATABASE ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const dbUrl = url.toString();
const pgConn = `PG:host=${url.hostname} port=${url.port || 5432} user=${decodeURIComponent(url.username)} dbname=${dbName}${url.password ? ` password=${decodeURIComponent(url.password)}` : ''}`;
// Migrate once (not timed).
measure(process.execPath, [path.join(root, 'bin/pcrs.js'), 'migrate'], { DATABASE_URL: dbUrl, PCRS_LOG_LEVEL: 'silent' });

const rows = [];
try {
  for (let i = 0; i < runs; i++) {
    // Reference: GDAL reads the GML (building its .gfs schema on the first pass) and COPYs into PostGIS.
    rmSync(file.replace(/\.gml$/, '.gfs'), { force: true });
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    await c.query(`CREATE SCHEMA IF NOT EXISTS ogr_${i}`);
    await c.end();
    const ref = measure('ogr2ogr', ['-f', 'PostgreSQL', pgConn, file, '-lco', `SCHEMA=ogr_${i}`, '-lco', 'SPATIAL_INDEX=GIST', '-overwrite', '--config', 'PG_USE_COPY', 'YES'], {});
    // Ours: the CLI as users run it (validation included).
    const ours = measure(process.execPath, [path.join(root, 'bin/pcrs.js'), 'gml', 'import', file, '--version', `bench-${i}-${Date.now()}`, '--json'], { DATABASE_URL: dbUrl, PCRS_LOG_LEVEL: 'silent' });
    const result = JSON.parse(ours.stdout);
    const imported = result.results[0];
    if (imported.status !== 'imported' || imported.features !== features) throw new Error(`import ${imported.status}: ${imported.reason ?? ''} (${imported.features} features)`);
    rows.push({ ref, ours });
    console.log(
      `run ${i + 1}: ogr2ogr ${ref.s.toFixed(1)} s (${Math.round(features / ref.s)} f/s, ${ref.rssMb.toFixed(0)} MB RSS) · ` +
        `pcrs gml import ${ours.s.toFixed(1)} s (${Math.round(features / ours.s)} f/s, ${ours.rssMb.toFixed(0)} MB RSS) · speed ratio ${(ref.s / ours.s).toFixed(2)}×`,
    );
  }
} finally {
  rmSync(file.replace(/\.gml$/, '.gfs'), { force: true });
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
}
const best = (k) => Math.min(...rows.map((r) => r[k].s));
console.log(
  `best: ogr2ogr ${best('ref').toFixed(1)} s, ours ${best('ours').toFixed(1)} s → ours is ${(best('ref') / best('ours')).toFixed(2)}× ogr2ogr's speed ` +
    `(peak RSS ours ${Math.max(...rows.map((r) => r.ours.rssMb)).toFixed(0)} MB vs ogr2ogr ${Math.max(...rows.map((r) => r.ref.rssMb)).toFixed(0)} MB)`,
);
