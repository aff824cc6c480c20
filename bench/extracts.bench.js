#!/usr/bin/env node
// Extract download: the ZIP of an extract over N masters (PCRS_BENCH_EXTRACT_GB, default 5 GB of
// 200 MB files), streamed by `pcrs serve` to `curl -o /dev/null`, against `cat` of the same master
// files to /dev/null — the same bytes read from the same (warm) page cache. The server is pinned to
// CPU 0 and the client (curl, cat) to CPU 1. The server's RSS is sampled every 100 ms during the
// download: it must stay flat (the ZIP is computed, never built). Goal (issue 13): ≥ 0.8× cat.
// Reference: nginx (one worker, sendfile, pinned to CPU 0 like the server) serving the same master
// files to curl on CPU 1 — the ceiling of an HTTP download over loopback on this machine, which is
// what tells whether the ZIP's path or HTTP itself is the limit.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessServices } from '../dist/access/services.js';
import { OPERATOR } from '../dist/context/access.js';
import { ExtractService } from '../dist/extracts/service.js';
import { openBenchPlatform } from './bench-db.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const gigabytes = Number(process.env.PCRS_BENCH_EXTRACT_GB ?? 5);
const fileBytes = 200 * 1024 * 1024;
const files = Math.max(1, Math.round((gigabytes * 1e9) / fileBytes));
const runs = Number(process.env.PCRS_BENCH_RUNS ?? 3);
const port = 18_400 + (process.pid % 500);
const twoCores = cpus().length >= 2;
const pinned = (core, cmd, args) => (twoCores ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args]);

function seconds(cmd, args) {
  const [c, a] = pinned(1, cmd, args);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c, a, { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status})`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** The same as seconds(), without blocking this process (its RSS sampler keeps running). */
async function timedAsync(cmd, args) {
  const [c, a] = pinned(1, cmd, args);
  const t0 = process.hrtime.bigint();
  const child = spawn(c, a, { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${cmd} failed (${code})`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function writeRandomFile(file, bytes) {
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  const chunk = randomBytes(4 << 20);
  for (let done = 0; done < bytes; done += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, bytes - done));
    hash.update(part);
    if (!out.write(part)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

const { dataDir, benchDb, env, db, ctx } = await openBenchPlatform('extracts');
let server;
let nginx;
try {
  console.log(`${files} masters of ${fileBytes / 2 ** 20} MiB (${((files * fileBytes) / 1e9).toFixed(1)} GB), ${runs} runs, ${benchDb ? 'PostgreSQL' : 'PGlite'}, ${twoCores ? 'server on CPU 0, client on CPU 1' : 'one core'}`);
  const { rows } = await db.query(`INSERT INTO versions (dataset_id, name, status, acquisition_date) VALUES ('ortho', 'bench', 'published', '2025-06-15') RETURNING id`);
  const versionId = Number(rows[0].id);
  const masters = [];
  for (let i = 0; i < files; i++) {
    const x = 570_000 + 200 * i;
    const name = `46-2025-0${x / 100}-63740-LA93-0M05-RVB.tif`;
    const key = `ortho/bench/${name}`;
    const file = ctx.tiers.intermediate.localPath(key);
    execFileSync('mkdir', ['-p', path.dirname(file)]);
    const sha256 = await writeRandomFile(file, fileBytes);
    const d = await db.query(
      `INSERT INTO dalles (version_id, name, size_m, grid_col, grid_row, footprint, state) VALUES ($1, $2, 200, $3, 31870, ST_MakeEnvelope($4, 6373800, $5, 6374000, 2154), 'published') RETURNING id`,
      [versionId, name, x / 200, x, x + 200],
    );
    await db.query(`INSERT INTO assets (kind, dataset_id, version_id, dalle_id, tier, location, bytes, sha256, state) VALUES ('master', 'ortho', $1, $2, 'intermediate', $3, $4, $5, 'stored')`, [versionId, Number(d.rows[0].id), key, fileBytes, sha256]);
    masters.push(file);
  }
  const service = new ExtractService(ctx);
  const area = { type: 'Polygon', crs: { type: 'name', properties: { name: 'EPSG:2154' } }, coordinates: [[[570_000, 6_373_800], [570_000 + 200 * files, 6_373_800], [570_000 + 200 * files, 6_374_000], [570_000, 6_374_000], [570_000, 6_373_800]]] };
  const t0 = Date.now();
  const { extract } = await service.create(OPERATOR, { area: { geometry: area }, contents: ['ortho-master'] });
  const ready = await service.run(extract.id);
  console.log(`extract planned in ${((Date.now() - t0) / 1000).toFixed(1)} s (each master read once: SHA-256 checked, CRC-32 taken); ZIP ${(ready.zipBytes / 1e9).toFixed(2)} GB`);
  const user = await db.query(`INSERT INTO users (email, display_name, email_verified_at, platform_roles) VALUES ('bench@example.fr', 'bench', now(), '{platform-admin}') RETURNING id`);
  const { key } = await new AccessServices(ctx).createKey(OPERATOR, Number(user.rows[0].id), { name: 'bench', scopes: ['downloads'] });
  await ctx.access.close?.();
  await db.close();

  const [cmd, args] = pinned(0, process.execPath, [path.join(root, 'bin/pcrs.js'), 'serve', '--port', String(port), '--host', '127.0.0.1']);
  server = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}/api/v1/extracts/${ready.id}/download`;
  for (let i = 0; i < 300; i++) {
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${key}`, '-r', '0-0', url], { encoding: 'utf8' });
    if (r.stdout === '206') break;
    await sleep(200);
  }
  // nginx serving the same files: the masters, one after the other on one connection.
  const nginxPort = port + 1;
  const tierRoot = path.dirname(ctx.tiers.intermediate.localPath('x'));
  const ngDir = path.join(dataDir, 'nginx');
  execFileSync('mkdir', ['-p', ngDir]);
  writeFileSync(
    path.join(ngDir, 'nginx.conf'),
    `worker_processes 1; daemon off; pid ${ngDir}/nginx.pid; error_log ${ngDir}/error.log;
  events { worker_connections 64; }
  http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${ngDir}/cb; proxy_temp_path ${ngDir}/p; fastcgi_temp_path ${ngDir}/f; uwsgi_temp_path ${ngDir}/u; scgi_temp_path ${ngDir}/s;
    server { listen 127.0.0.1:${nginxPort}; root ${tierRoot}; } }\n`,
  );
  const [ngCmd, ngArgs] = pinned(0, 'nginx', ['-c', path.join(ngDir, 'nginx.conf'), '-p', ngDir]);
  nginx = spawn(ngCmd, ngArgs, { stdio: ['ignore', 'ignore', 'inherit'] });
  const nginxCurl = ['-s', '-f', ...masters.flatMap((m) => ['-o', '/dev/null', `http://127.0.0.1:${nginxPort}/${path.relative(tierRoot, m)}`])];
  for (let i = 0; i < 50 && spawnSync('curl', ['-s', '-f', '-o', '/dev/null', '-r', '0-0', `http://127.0.0.1:${nginxPort}/${path.relative(tierRoot, masters[0])}`]).status !== 0; i++) await sleep(100);
  const rss = () => Number(execFileSync('ps', ['-o', 'rss=', '-p', String(server.pid)], { encoding: 'utf8' }).trim()) * 1024;
  const curl = ['-s', '-f', '-o', '/dev/null', '-H', `Authorization: Bearer ${key}`, url];
  // Two cases. Cold: the masters are not in memory (the usual case: terabytes of masters, an extract
  // asked once), evicted before each measure with `dd iflag=nocache count=0` (POSIX_FADV_DONTNEED,
  // no root needed) — both sides read the disk. Warm: every byte in the page cache, where `cat`
  // copies at memory speed and any HTTP download is bounded by loopback TCP (the nginx column).
  spawnSync('sync'); // dirty pages cannot be evicted
  const evict = () => {
    for (const m of masters) spawnSync('dd', [`if=${m}`, 'iflag=nocache', 'count=0', 'status=none']);
  };
  const warm = () => seconds('cat', masters);
  const quoted = masters.map((m) => `'${m.replaceAll("'", "'\\''")}'`).join(' ');
  const pipeSeconds = () => seconds('sh', ['-c', `taskset -c 0 cat ${quoted} | taskset -c 1 cat > /dev/null`]);
  warm();
  seconds('curl', curl); // JIT of the server
  seconds('curl', nginxCurl);
  const gbs = (bytes, s) => `${(bytes / s / 1e9).toFixed(2)} GB/s`;
  const results = { cold: [], warm: [] };
  for (const mode of ['cold', 'warm']) {
    for (let r = 0; r < runs; r++) {
      const prepare = mode === 'cold' ? evict : warm;
      prepare();
      const c = seconds('cat', masters);
      prepare();
      // The same bytes through a pipe from a process on CPU 0 to one on CPU 1: any byte that crosses
      // processes (as a download does) pays this copy, which cat to /dev/null never makes.
      const p = pipeSeconds();
      prepare();
      const samples = [];
      const sampler = setInterval(() => samples.push(rss()), 100);
      const before = rss();
      const z = await timedAsync('curl', curl);
      clearInterval(sampler);
      prepare();
      const n = seconds('curl', nginxCurl);
      const peak = Math.max(before, ...samples);
      results[mode].push({ cat: c, pipe: p, zip: z, nginx: n, rssBefore: before, rssPeak: peak });
      console.log(
        `${mode} run ${r + 1}: cat ${c.toFixed(2)} s (${gbs(files * fileBytes, c)}), cat | cat ${p.toFixed(2)} s (${gbs(files * fileBytes, p)}), nginx ${n.toFixed(2)} s (${gbs(files * fileBytes, n)}), ZIP download ${z.toFixed(2)} s (${gbs(ready.zipBytes, z)}) → ${(c / z).toFixed(2)}× cat, ${(n / z).toFixed(2)}× nginx (nginx itself ${(c / n).toFixed(2)}× cat); server RSS ${(before / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(0)} MiB`,
      );
    }
  }
  const all = [...results.cold, ...results.warm];
  for (const mode of ['cold', 'warm']) {
    const median = (f) => results[mode].map(f).sort((a, b) => a - b)[Math.floor(results[mode].length / 2)].toFixed(2);
    console.log(`${mode}: median ${median((r) => r.cat / r.zip)}× cat (goal ≥ 0.8×), ${median((r) => r.pipe / r.zip)}× cat | cat, ${median((r) => r.nginx / r.zip)}× nginx; nginx ${median((r) => r.cat / r.nginx)}× cat`);
  }
  console.log(`RSS growth at most ${(Math.max(...all.map((r) => r.rssPeak - r.rssBefore)) / 2 ** 20).toFixed(0)} MiB over ${(ready.zipBytes / 2 ** 30).toFixed(1)} GiB`);
} finally {
  nginx?.kill('SIGTERM');
  server?.kill('SIGTERM');
  if (server) await once(server, 'exit').catch(() => undefined);
  await benchDb?.drop().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
}
