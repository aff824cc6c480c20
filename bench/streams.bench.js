/* global setTimeout, setInterval, clearInterval, fetch, Buffer */
// Raster streams under load, against references measured in the same run:
//  (a) native 2154_5cm JPEG tiles from `pcrs serve` vs nginx serving the same tile bytes as static
//      files (both one process/worker, keep-alive, autocannon on loopback) → throughput ratio, p99;
//  (b) WebMercatorQuad tiles rendered on the fly with an empty PM cache → tiles/s;
//  (c) WMS GetMap 256² and 1024² vs MapServer (Debian cgi-mapserver, FastCGI behind nginx) reading
//      the source dalles through a tile index → throughput ratio, and PSNR between the two maps;
//  (d) RSS of the server under load (PostgreSQL when DATABASE_URL is set, else embedded PGlite).
// Usage: npm run bench -- streams   [PCRS_BENCH_SECONDS=10] [PCRS_BENCH_CONNECTIONS=16] [DATABASE_URL=…]
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import sharp from 'sharp';
import { Catalog } from '../dist/catalog/catalog.js';
import { loadConfig } from '../dist/config/config.js';
import { transformBbox } from '../dist/grid/crs.js';
import { TMS_2154_5CM, TMS_WEB_MERCATOR_QUAD, tileRange } from '../dist/grid/tile-matrix-set.js';
import { migrate } from '../dist/db/migrate.js';
import { openPglite } from '../dist/db/pglite.js';
import { openPostgres } from '../dist/db/postgres.js';
import { generateDelivery } from '../dist/demo/delivery.js';
import { ingestDelivery } from '../dist/raster/ingest/ingest.js';
import { ingestServices } from '../dist/raster/ingest/services.js';
import { buildAppContext } from '../dist/context/app-context.js';

const seconds = Number(process.env.PCRS_BENCH_SECONDS ?? 10);
const connections = Number(process.env.PCRS_BENCH_CONNECTIONS ?? 16);
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'pcrs-bench-streams-'));
chmodSync(work, 0o755); // nginx workers run as an unprivileged user
const cache = path.join(tmpdir(), 'pcrs-bench-cache', 'streams');
const BBOX = [575000, 6373000, 575600, 6373600]; // 9 dalles of 200 m
const children = [];
let dropDb = async () => undefined;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** CPU time (user + system, ms) of a process so far. */
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};
const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

async function waitFor(url) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

/** autocannon over a list of paths, each connection taking the next one. */
function load(base, paths, options = {}) {
  let i = 0;
  return autocannon({
    url: base,
    connections,
    ...(options.amount ? { amount: options.amount } : { duration: seconds }),
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] }) }],
  });
}

function summary(name, r) {
  return `${name}: ${r.requests.average.toFixed(0)} req/s, latency p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms max ${r.latency.max} ms, ${(r.throughput.average / 1e6).toFixed(1)} MB/s, non-2xx ${r.non2xx}, errors ${r.errors}`;
}

/** `amount` requests, timed to the last response (autocannon notices the end only on its 1 s tick). */
async function timedLoad(base, paths, amount) {
  const t0 = process.hrtime.bigint();
  let tLast = t0;
  const instance = load(base, paths, { amount });
  instance.on('response', () => (tLast = process.hrtime.bigint()));
  const result = await instance;
  return { result, rate: amount / (Number(tLast - t0) / 1e9) };
}

async function fetchImage(url) {
  const r = await fetch(url);
  if (r.status !== 200 || r.headers.get('content-type') !== 'image/jpeg') throw new Error(`${url}: ${r.status} ${r.headers.get('content-type')} ${(await r.text()).slice(0, 300)}`);
  return sharp(Buffer.from(await r.arrayBuffer())).removeAlpha().raw().toBuffer();
}

function psnr(a, b) {
  if (a.length !== b.length) throw new Error(`images differ in size: ${a.length} vs ${b.length}`);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

/**
 * MapServer as it is deployed for orthophotos: `mapserv` (Debian cgi-mapserver 8) as FastCGI
 * processes, one per core (spawn-fcgi), behind nginx; one raster layer over a `gdaltindex` tile
 * index of the source dalles, bilinear resampling, JPEG quality 90 as ours. Null (and a hint) when
 * the packages are missing.
 */
async function startMapServer(httpPort) {
  const mapserv = '/usr/lib/cgi-bin/mapserv';
  const have = (cmd) => { try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; } };
  if (!existsSync(mapserv) || !have('spawn-fcgi') || !have('nginx') || !have('gdaltindex')) {
    console.log('(c) skipped: MapServer reference needs `apt-get install cgi-mapserver spawn-fcgi nginx-light gdal-bin`');
    return null;
  }
  const dir = path.join(work, 'mapserver');
  mkdirSync(dir, { recursive: true });
  const sources = readdirSync(cache).filter((f) => f.endsWith('.tif')).map((f) => path.join(cache, f));
  execFileSync('gdaltindex', [path.join(dir, 'index.shp'), ...sources], { stdio: 'ignore' });
  writeFileSync(
    path.join(dir, 'pcrs.map'),
    `MAP
  NAME "pcrs"
  EXTENT ${BBOX.join(' ')}
  SIZE 256 256
  MAXSIZE 4096
  PROJECTION "init=epsg:2154" END
  OUTPUTFORMAT NAME "jpeg" DRIVER "AGG/JPEG" MIMETYPE "image/jpeg" IMAGEMODE RGB EXTENSION "jpg" FORMATOPTION "QUALITY=90" END
  WEB METADATA "wms_enable_request" "*" "wms_srs" "EPSG:2154 EPSG:3857 EPSG:4326" "wms_title" "pcrs" "wms_onlineresource" "http://127.0.0.1:${httpPort}/mapserv?" END END
  LAYER
    NAME "ortho"
    TYPE RASTER
    STATUS ON
    TILEINDEX "${path.join(dir, 'index.shp')}"
    PROJECTION "init=epsg:2154" END
    PROCESSING "RESAMPLE=BILINEAR"
    METADATA "wms_title" "ortho" END
  END
END
`,
  );
  // MapServer 8 reads its settings from a config file; MS_MAPFILE makes `map=` unnecessary.
  writeFileSync(path.join(dir, 'mapserver.conf'), `CONFIG\n  ENV\n    MS_MAPFILE "${path.join(dir, 'pcrs.map')}"\n    MS_MAP_PATTERN "^${dir}/"\n  END\nEND\n`);
  const sockets = [0, 1].map((i) => path.join(dir, `mapserv-${i}.sock`));
  for (const sock of sockets) {
    // -n: spawn-fcgi execs mapserv in the foreground (one process per socket), so we can stop it.
    const p = spawn('spawn-fcgi', ['-n', '-s', sock, '-M', '0666', '--', mapserv], { env: { ...process.env, MAPSERVER_CONFIG_FILE: path.join(dir, 'mapserver.conf') }, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(p);
  }
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
  events { worker_connections 1024; }
  http { access_log off; keepalive_requests 100000;
    client_body_temp_path ${dir}/ncb; proxy_temp_path ${dir}/np; fastcgi_temp_path ${dir}/nf; uwsgi_temp_path ${dir}/nu; scgi_temp_path ${dir}/ns;
    upstream mapserv { ${sockets.map((s) => `server unix:${s};`).join(' ')} }
    server { listen 127.0.0.1:${httpPort};
      location /mapserv { fastcgi_pass mapserv; fastcgi_param QUERY_STRING $query_string; fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param CONTENT_TYPE $content_type; fastcgi_param CONTENT_LENGTH $content_length; fastcgi_param SCRIPT_NAME $fastcgi_script_name;
        fastcgi_param SERVER_NAME $server_name; fastcgi_param SERVER_PORT $server_port; fastcgi_param SERVER_PROTOCOL $server_protocol;
        fastcgi_param REQUEST_URI $request_uri; fastcgi_param HTTP_HOST $http_host; } } }\n`,
  );
  const nginx = spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(nginx);
  const base = `http://127.0.0.1:${httpPort}`;
  await waitFor(`${base}/mapserv?SERVICE=WMS&REQUEST=GetCapabilities`);
  return { base };
}

try {
  mkdirSync(cache, { recursive: true });
  await generateDelivery({ outDir: cache, year: 2025, bbox: BBOX, dalleSize: 200, seed: 46 });
  const dataDir = path.join(work, 'data');
  // The database the server runs on: a fresh PostgreSQL database when DATABASE_URL is set (as in
  // production), else the embedded PGlite of the demo (which alone takes ~1 GB of RSS).
  let serverDbUrl = null;
  if (process.env.DATABASE_URL) {
    const name = `pcrs_bench_streams_${process.pid}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    serverDbUrl = url.toString();
    dropDb = async () => {
      const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  console.log(`database: ${serverDbUrl ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite'}`);
  const db = serverDbUrl ? await openPostgres(serverDbUrl) : await openPglite(path.join(dataDir, 'db'));
  await migrate(db);
  const catalog = new Catalog(db);
  await catalog.ensureStandardDatasets('46');
  const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'warn', ...(serverDbUrl ? { DATABASE_URL: serverDbUrl } : {}) });
  const report = await ingestDelivery(ingestServices(buildAppContext(config, db)), { dir: cache, datasetId: 'ortho', versionName: '2025', date: '2025-06-15', jobs: 2 });
  await db.close();
  console.log(`ingested ${report.summary.ok} dalles (${BBOX.join(', ')})`);

  // Our server: one process, as `pcrs serve` runs it.
  const port = 18000 + Math.floor(Math.random() * 1000);
  const nodeArgs = (process.env.PCRS_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = spawn(process.execPath, [...nodeArgs, path.join(root, 'bin', 'pcrs.js'), 'serve', '--port', String(port)], {
    // Rate limits on (their cost is measured) with budgets the load never reaches: 429s would be cheap answers.
    env: { ...process.env, PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'warn', PCRS_DEMO: 'false', PCRS_RATE_LIMIT_ANONYMOUS: '1000000000', PCRS_RATE_LIMIT_AUTHENTICATED: '1000000000', ...(serverDbUrl ? { DATABASE_URL: serverDbUrl } : {}) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(server);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/health`);
  const idleRss = rssMb(server.pid);

  // PCRS_BENCH_ONLY=pm: phase (b) alone; =wms: phase (c) alone (after `npm run build`).
  const only = process.env.PCRS_BENCH_ONLY;
  const run = (phase) => !only || only === phase;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(server.pid))), 200);
  if (!only) {
    // Native tiles: every stored tile of levels 22–15 over the area, fetched once to feed nginx the same bytes.
    const paths = [];
    const www = path.join(work, 'www');
    for (let z = 22; z >= 15; z--) {
      const r = tileRange(TMS_2154_5CM, z, BBOX);
      for (let row = r.minRow; row <= r.maxRow; row++) {
        for (let col = r.minCol; col <= r.maxCol; col++) {
          const p = `/wmts/1.0.0/PCRS.ORTHO.2025/normal/2154_5cm/${z}/${row}/${col}.jpeg`;
          const res = await fetch(base + p);
          if (res.status !== 200 || res.headers.get('content-type') !== 'image/jpeg') continue;
          const body = Buffer.from(await res.arrayBuffer());
          mkdirSync(path.dirname(path.join(www, p)), { recursive: true });
          writeFileSync(path.join(www, p), body);
          paths.push(p);
        }
      }
    }
    console.log(`${paths.length} stored JPEG tiles (levels 22–15)`);

    // nginx: same files, one worker, sendfile, open_file_cache (its production setting for tiles), keep-alive, access log off.
    const nginxPort = port + 1;
    const conf = path.join(work, 'nginx.conf');
    writeFileSync(
      conf,
      `worker_processes 1; daemon off; pid ${work}/nginx.pid; error_log ${work}/nginx-error.log;
  events { worker_connections 1024; }
  http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000; types { image/jpeg jpeg; }
    open_file_cache max=10000 inactive=60s; open_file_cache_valid 60s;
    client_body_temp_path ${work}/ncb; proxy_temp_path ${work}/np; fastcgi_temp_path ${work}/nf; uwsgi_temp_path ${work}/nu; scgi_temp_path ${work}/ns;
    server { listen 127.0.0.1:${nginxPort}; root ${www}; etag on; } }\n`,
    );
    const nginx = spawn('nginx', ['-c', conf, '-p', work], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(nginx);
    await waitFor(`http://127.0.0.1:${nginxPort}${paths[0]}`);

    // Warm both (file indexes, page cache), then measure nginx, ours, nginx again (noise check).
    await load(base, paths, { amount: paths.length * 2 });
    await load(`http://127.0.0.1:${nginxPort}`, paths, { amount: paths.length * 2 });
    const ng1 = await load(`http://127.0.0.1:${nginxPort}`, paths);
    const ours = await load(base, paths);
    const ng2 = await load(`http://127.0.0.1:${nginxPort}`, paths);
    console.log(summary('nginx static   ', ng1));
    console.log(summary('pcrs WMTS REST ', ours));
    console.log(summary('nginx again    ', ng2));
    const ngBest = Math.max(ng1.requests.average, ng2.requests.average);
    console.log(`(a) native 2154 JPEG tiles: ${(ours.requests.average / ngBest).toFixed(2)}× nginx (target ≥ 0.35×, goal ≥ 0.5×), p99 ${ours.latency.p99} ms (target < 10 ms)`);

    // 304s: If-None-Match answered from the cached index.
    const etags = [];
    for (const p of paths.slice(0, 200)) etags.push([p, (await fetch(base + p)).headers.get('etag')]);
    let k = 0;
    const nm = await autocannon({
      url: base,
      connections,
      duration: Math.max(3, seconds / 2),
      requests: [{ setupRequest: (req) => { const [p, e] = etags[k++ % etags.length]; return { ...req, path: p, headers: { 'if-none-match': e } }; } }],
    });
    console.log(summary('pcrs 304s      ', nm));
  }

  const pm = [];
  if (run('pm')) {
    // (b) PM tiles, uncached: every PM tile of z19–21 over the area, each requested once, empty PM cache.
    rmSync(path.join(dataDir, 'cache', 'pm'), { recursive: true, force: true });
    const merc = transformBbox('EPSG:2154', 'EPSG:3857', [BBOX[0] + 20, BBOX[1] + 20, BBOX[2] - 20, BBOX[3] - 20]);
    for (const z of [21, 20, 19]) {
      const r = tileRange(TMS_WEB_MERCATOR_QUAD, z, merc);
      for (let row = r.minRow; row <= r.maxRow; row++) for (let col = r.minCol; col <= r.maxCol; col++) pm.push(`/tiles/PCRS.ORTHO.2025/WebMercatorQuad/${z}/${col}/${row}.jpeg`);
    }
    const t0 = process.hrtime.bigint();
    const cpu0 = cpuMs(server.pid);
    const benchCpu0 = process.cpuUsage();
    // Timed to the last response: autocannon only notices the end of an `amount` run on its 1 s tick.
    let tLast = t0;
    const pmInstance = load(base, pm, { amount: pm.length });
    pmInstance.on('response', () => (tLast = process.hrtime.bigint()));
    const pmRun = await pmInstance;
    const pmSeconds = Number(tLast - t0) / 1e9;
    const serverCpu = cpuMs(server.pid) - cpu0;
    const benchCpu = process.cpuUsage(benchCpu0);
    peakRss = Math.max(peakRss, rssMb(server.pid));
    console.log(summary('pcrs PM render ', pmRun));
    console.log(`(b) PM tiles uncached: ${pm.length} distinct tiles z19–21 in ${pmSeconds.toFixed(2)} s = ${(pm.length / pmSeconds).toFixed(0)} tiles/s (target ≥ 300 on 2 cores)`);
    // CPU per tile is what a quieter or bigger machine divides: 2 cores / (server + load generator CPU per tile).
    console.log(`    server CPU ${(serverCpu / pm.length).toFixed(2)} ms/tile (${(serverCpu / 10 / pmSeconds).toFixed(0)}% of one core), load generator ${((benchCpu.user + benchCpu.system) / 1000 / pm.length).toFixed(2)} ms/tile`);
  }
  if (run('wms')) {
    // (c) WMS GetMap in Lambert-93 at places spread over the area, 256² and 1024², 10 cm/px (pyramid
    // level 21, bilinear), against MapServer reading the source dalles, in the same run.
    const mapserver = await startMapServer(port + 2);
    for (const size of [256, 1024]) {
      const span = size * 0.1;
      const places = [];
      for (let n = 0; n < 500; n++) {
        const x = BBOX[0] + ((n * 7919) % 1000) / 1000 * (BBOX[2] - BBOX[0] - span);
        const y = BBOX[1] + ((n * 104729) % 1000) / 1000 * (BBOX[3] - BBOX[1] - span);
        places.push(`SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&STYLES=&CRS=EPSG:2154&BBOX=${x},${y},${x + span},${y + span}&WIDTH=${size}&HEIGHT=${size}&FORMAT=image/jpeg`);
      }
      const ourUrls = places.map((q) => `/wms?${q}&LAYERS=PCRS.ORTHO.2025`);
      const amount = size === 256 ? 500 : 150;
      const w = await timedLoad(base, ourUrls, amount);
      peakRss = Math.max(peakRss, rssMb(server.pid));
      console.log(summary(`pcrs WMS ${size}²`.padEnd(15), w.result) + `; ${w.rate.toFixed(1)} maps/s to the last response`);
      if (!mapserver) continue;
      const msUrls = places.map((q) => `/mapserv?${q}&LAYERS=ortho`);
      const ms1 = await timedLoad(mapserver.base, msUrls, amount);
      const ours2 = await timedLoad(base, ourUrls, amount);
      const ms2 = await timedLoad(mapserver.base, msUrls, amount);
      console.log(summary(`MapServer ${size}²`.padEnd(15), ms1.result) + `; ${ms1.rate.toFixed(1)} maps/s`);
      console.log(summary(`pcrs again`.padEnd(15), ours2.result) + `; ${ours2.rate.toFixed(1)} maps/s`);
      console.log(summary(`MapServer again`.padEnd(15), ms2.result) + `; ${ms2.rate.toFixed(1)} maps/s`);
      // Same picture? PSNR between the two servers' maps of a few places (both bilinear from 5 cm data).
      const psnrs = [];
      for (const k of [0, 97, 251]) psnrs.push(await psnr(await fetchImage(base + ourUrls[k]), await fetchImage(mapserver.base + msUrls[k])));
      const oursBest = Math.max(w.rate, ours2.rate);
      const msBest = Math.max(ms1.rate, ms2.rate);
      console.log(`(c) WMS GetMap ${size}²: ${(oursBest / msBest).toFixed(2)}× MapServer (goal ≥ 1×): ${oursBest.toFixed(1)} vs ${msBest.toFixed(1)} maps/s (best runs); PSNR ours vs MapServer ${psnrs.map((v) => v.toFixed(1)).join(', ')} dB`);
    }
  }
  if (!only) {
    const pmCached = await load(base, pm);
    peakRss = Math.max(peakRss, rssMb(server.pid));
    console.log(summary('pcrs PM cached ', pmCached));
  }
  clearInterval(sampler);
  peakRss = Math.max(peakRss, rssMb(server.pid));
  console.log(`(d) server RSS peak under load: ${peakRss.toFixed(0)} MB (target < 400 MB); ${idleRss.toFixed(0)} MB idle after start`);
} finally {
  for (const c of children) c.kill('SIGTERM');
  await sleep(1500);
  await dropDb().catch((e) => console.error(`could not drop the benchmark database: ${e.message}`));
  rmSync(work, { recursive: true, force: true });
}
