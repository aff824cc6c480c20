// Ingest of one 1 km dalle (20 000² px, 5 cm): validate + checksum + master + pyramid (levels
// 22–6), against a bare `gdal_translate -of COG -co COMPRESS=JPEG` of the same dalle, same run.
// Also: pyramid size on disk vs that COG. Usage: npm run bench -- ingest  [PCRS_BENCH_RUNS=N]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Catalog } from '../dist/catalog/catalog.js';
import { loadConfig } from '../dist/config/config.js';
import { migrate } from '../dist/db/migrate.js';
import { openPglite } from '../dist/db/pglite.js';
import { generateDelivery } from '../dist/demo/delivery.js';
import { ingestDelivery } from '../dist/raster/ingest/ingest.js';
import { ingestServices } from '../dist/raster/ingest/services.js';
import { buildAppContext } from '../dist/context/app-context.js';

const runs = Number(process.env.PCRS_BENCH_RUNS ?? 2);
const quality = 85;
const work = mkdtempSync(path.join(tmpdir(), 'pcrs-bench-ingest-'));
const cache = path.join(tmpdir(), 'pcrs-bench-cache');

function du(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? du(p) : statSync(p).size;
  }
  return total;
}

function time(fn) {
  const t = process.hrtime.bigint();
  const r = fn();
  return r instanceof Promise ? r.then((v) => ({ v, s: Number(process.hrtime.bigint() - t) / 1e9 })) : { v: r, s: Number(process.hrtime.bigint() - t) / 1e9 };
}

try {
  // The test dalle is kept between runs of the benchmark (generating it takes ~20 s).
  mkdirSync(cache, { recursive: true });
  const [dalle] = await generateDelivery({ outDir: cache, year: 2025, bbox: [575000, 6373000, 576000, 6374000], dalleSize: 1000, seed: 46 });
  const source = dalle.file;
  console.log(`source: ${path.basename(source)} (${(statSync(source).size / 1e6).toFixed(1)} MB, 20000×20000 px)`);

  const results = [];
  for (let i = 0; i < runs; i++) {
    const cog = path.join(work, `ref-${i}.tif`);
    const ref = time(() => spawnSync('gdal_translate', ['-q', '-of', 'COG', '-co', 'COMPRESS=JPEG', '-co', `QUALITY=${quality}`, source, cog]));
    if (ref.v.status !== 0) throw new Error(`gdal_translate failed: ${ref.v.stderr}`);

    const dataDir = path.join(work, `data-${i}`);
    const delivery = path.join(work, `delivery-${i}`);
    mkdirSync(delivery, { recursive: true });
    spawnSync('ln', [source, path.join(delivery, path.basename(source))]); // same bytes, no copy
    const db = await openPglite(path.join(dataDir, 'db'));
    await migrate(db);
    const catalog = new Catalog(db);
    await catalog.ensureStandardDatasets('46');
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_JPEG_QUALITY: String(quality) });
    const ctx = buildAppContext(config, db);
    const ours = await time(() => ingestDelivery(ingestServices(ctx), { dir: delivery, datasetId: 'ortho', versionName: 'bench', jobs: 2 }));
    await db.close();
    if (ours.v.summary.ok !== 1) throw new Error(`ingest did not accept the dalle: ${JSON.stringify(ours.v.dalles[0])}`);
    const pyramidBytes = du(path.join(dataDir, 'storage', 'hot'));
    const cogBytes = statSync(cog).size;
    results.push({ ref: ref.s, ours: ours.s, ratio: ours.s / ref.s, pyramidBytes, cogBytes, sizeRatio: pyramidBytes / cogBytes, tiles: ours.v.pyramid?.tiles });
    console.log(
      `run ${i + 1}: gdal_translate COG ${ref.s.toFixed(1)} s | pcrs ingest ${ours.s.toFixed(1)} s | ratio ${(ours.s / ref.s).toFixed(2)}× | ` +
        `pyramid ${(pyramidBytes / 1e6).toFixed(1)} MB vs COG ${(cogBytes / 1e6).toFixed(1)} MB = ${(pyramidBytes / cogBytes).toFixed(2)}× | ${ours.v.pyramid?.tiles} tiles`,
    );
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cog, { force: true });
  }
  const best = results.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  const median = [...results].sort((a, b) => a.ratio - b.ratio)[Math.floor(results.length / 2)];
  console.log(`\ningest/COG time ratio: best ${best.ratio.toFixed(2)}×, median ${median.ratio.toFixed(2)}× (target ≤ 1.5×, goal ≤ 1.25×)`);
  console.log(`pyramid/COG size ratio: ${median.sizeRatio.toFixed(2)}× (goal ≤ 1.4×), JPEG quality ${quality} for both`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
