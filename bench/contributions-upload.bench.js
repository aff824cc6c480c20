#!/usr/bin/env node
// Contribution upload: a file of PCRS_BENCH_UPLOAD_GB (default 1) sent to a contribution with the
// tus protocol (creation, then one PATCH of the whole file with curl; the PATCH's answer comes once
// the server has stored the file in the intermediate tier with its SHA-256), against a plain
// `curl -T` PUT of the same file to nginx (one worker, WebDAV PUT) writing into the same disk —
// the reference of issue 12: ≥ 0.8× that PUT. Server and nginx pinned to CPU 0, curl to CPU 1.
import { spawn, spawnSync } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessServices } from '../dist/access/services.js';
import { OPERATOR } from '../dist/context/access.js';
import { ContributionService } from '../dist/contributions/service.js';
import { openBenchPlatform } from './bench-db.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bytes = Math.round(Number(process.env.PCRS_BENCH_UPLOAD_GB ?? 1) * 1e9);
const runs = Number(process.env.PCRS_BENCH_RUNS ?? 3);
const port = 18_900 + (process.pid % 500);
const twoCores = cpus().length >= 2;
const pinned = (core, cmd, args) => (twoCores ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args]);

function curl(args) {
  const [c, a] = pinned(1, 'curl', ['-s', '--http1.1', '-H', 'Expect:', ...args]);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c, a, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`curl failed (${r.status}): ${r.stderr}`);
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, out: r.stdout };
}

async function writeRandomFile(file, size) {
  const out = createWriteStream(file);
  const chunk = randomBytes(4 << 20);
  for (let done = 0; done < size; done += chunk.length) if (!out.write(chunk.subarray(0, Math.min(chunk.length, size - done)))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

const { dataDir, benchDb, env, db, ctx } = await openBenchPlatform('upload');
let server;
let nginx;
try {
  const org = await db.query(`INSERT INTO organisations (slug, name, kind) VALUES ('bench', 'Bench', 'commune') RETURNING id`);
  const user = await db.query(`INSERT INTO users (email, display_name, email_verified_at) VALUES ('bench@example.fr', 'bench', now()) RETURNING id`);
  await db.query(`INSERT INTO memberships (user_id, organisation_id, role, status) VALUES ($1, $2, 'member', 'active')`, [user.rows[0].id, org.rows[0].id]);
  const { key } = await new AccessServices(ctx).createKey(OPERATOR, Number(user.rows[0].id), { name: 'bench', scopes: ['contributions:write'] });
  const contribution = await new ContributionService(ctx).create(OPERATOR, { kind: 'raster', title: 'bench', organisation: 'bench' });
  await ctx.access.close?.();
  await db.close();
  const file = path.join(dataDir, 'upload.bin');
  await writeRandomFile(file, bytes);
  console.log(`one file of ${(bytes / 1e9).toFixed(2)} GB, ${runs} runs, ${benchDb ? 'PostgreSQL' : 'PGlite'}, ${twoCores ? 'server and nginx on CPU 0, curl on CPU 1' : 'one core'}`);

  // PCRS_BENCH_PROFILE_DIR: the server writes a CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.PCRS_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PCRS_BENCH_PROFILE_DIR}`] : [];
  const [cmd, args] = pinned(0, process.execPath, [...profile, path.join(root, 'bin/pcrs.js'), 'serve', '--port', String(port), '--host', '127.0.0.1']);
  server = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 300; i++) {
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/health`], { encoding: 'utf8' });
    if (r.stdout === '200') break;
    await sleep(200);
  }
  // nginx writing PUT bodies into the same disk (its temporary file renamed into place).
  const ngDir = path.join(dataDir, 'nginx');
  const putRoot = path.join(dataDir, 'put');
  mkdirSync(ngDir, { recursive: true });
  mkdirSync(putRoot, { recursive: true });
  chmodSync(putRoot, 0o777);
  chmodSync(ngDir, 0o777);
  const nginxPort = port + 1;
  writeFileSync(
    path.join(ngDir, 'nginx.conf'),
    `worker_processes 1; daemon off; pid ${ngDir}/nginx.pid; error_log ${ngDir}/error.log;
  events { worker_connections 64; }
  http { access_log off; client_body_temp_path ${ngDir}/cb; proxy_temp_path ${ngDir}/p; fastcgi_temp_path ${ngDir}/f; uwsgi_temp_path ${ngDir}/u; scgi_temp_path ${ngDir}/s;
    server { listen 127.0.0.1:${nginxPort}; root ${putRoot}; client_max_body_size 0; location / { dav_methods PUT; create_full_put_path on; } } }\n`,
  );
  const [ngCmd, ngArgs] = pinned(0, 'nginx', ['-c', path.join(ngDir, 'nginx.conf')]);
  nginx = spawn(ngCmd, ngArgs, { stdio: ['ignore', 'ignore', 'inherit'] });
  await sleep(500);

  const auth = ['-H', `Authorization: Bearer ${key}`];
  const b64 = (s) => Buffer.from(s).toString('base64');
  const results = [];
  // Between timings: the disk's write-back done (neither side pays for the other's dirty pages), and
  // the server idle (the validation hashes each file after its 204: not while nginx is timed).
  const settle = async () => {
    for (let i = 0; i < 600; i++) {
      const c = curl(['-s', ...auth, `http://127.0.0.1:${port}/api/v1/contributions/${contribution.id}`]);
      if (!/"status":"pending"/.test(c.out) && !/"state":"validating"/.test(c.out)) break;
      await sleep(200);
    }
    spawnSync('sync');
  };
  for (let r = 0; r < runs; r++) {
    await settle();
    const put = curl(['-o', '/dev/null', '-w', '%{http_code}', '-T', file, `http://127.0.0.1:${nginxPort}/run-${r}.bin`]);
    if (!/^20[14]$/.test(put.out)) throw new Error(`nginx PUT answered ${put.out}`);
    // tus: creation (not timed), then the whole file in one PATCH, answered once stored with its SHA-256.
    const created = curl(['-D', '-', '-o', '/dev/null', ...auth, '-X', 'POST', '-H', 'Tus-Resumable: 1.0.0', '-H', `Upload-Length: ${bytes}`, '-H', `Upload-Metadata: contribution ${b64(String(contribution.id))},filename ${b64(`run-${r}.tif`)}`, `http://127.0.0.1:${port}/api/v1/contributions/uploads`]);
    const location = /^location: (\S+)/im.exec(created.out)?.[1];
    if (!location) throw new Error(`no upload created: ${created.out}`);
    spawnSync('sync');
    const patch = curl(['-o', '/dev/null', '-w', '%{http_code}', ...auth, '-X', 'PATCH', '-H', 'Tus-Resumable: 1.0.0', '-H', 'Upload-Offset: 0', '-H', 'Content-Type: application/offset+octet-stream', '-T', file, `http://127.0.0.1:${port}${location}`]);
    if (patch.out !== '204') throw new Error(`PATCH answered ${patch.out}`);
    results.push({ put: put.seconds, tus: patch.seconds });
    const gbs = (s) => `${(bytes / 1e9 / s).toFixed(2)} GB/s`;
    console.log(`run ${r + 1}: curl PUT to nginx ${put.seconds.toFixed(2)} s (${gbs(put.seconds)}), tus upload ${patch.seconds.toFixed(2)} s (${gbs(patch.seconds)}) → ${(put.seconds / patch.seconds).toFixed(2)}× the PUT`);
    rmSync(path.join(putRoot, `run-${r}.bin`), { force: true });
  }
  const ratios = results.map((x) => x.put / x.tus).sort((a, b) => a - b);
  console.log(`tus upload / curl PUT: ${ratios.map((x) => x.toFixed(2)).join(', ')} (median ${ratios[Math.floor(ratios.length / 2)].toFixed(2)}×; goal ≥ 0.8×)`);
} finally {
  server?.kill('SIGTERM');
  nginx?.kill('SIGTERM');
  if (server) await once(server, 'exit').catch(() => undefined);
  await benchDb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
