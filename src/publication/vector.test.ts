/**
 * The vector PCRS per commune in the bulk publication tree, on PGlite and PostgreSQL, over a
 * listening server and the streams fixture's vector PCRS (the demo town, imported through the real
 * GML import): one CNIG GML file per commune whose outline the data touches, valid against the CNIG
 * XSD, holding exactly the objects that touch the commune; `wget -m -np` copies the folder and
 * `sha256sum -c SHA256SUMS` accepts it; the build is a job, re-used while nothing changes, rebuilt
 * when an outline changes (older builds pruned from the tier); the CLI builds and says the state;
 * restricted vector data is not published.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReference } from '../communes/import.js';
import { CommuneStore } from '../communes/store.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { buildServer } from '../server/app.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES } from '../test-support/db.js';
import { execTool } from '../util/exec.js';
import { validateGmlFile } from '../vector/gml/validate.js';
import { publicationCapability } from './capability.js';
import { VectorPublication } from './vector.js';

const square = (x0: number, y0: number, x1: number, y1: number) => JSON.stringify({ type: 'MultiPolygon', coordinates: [[[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]] });
// The demo vector covers the streams fixture's base area, 575 000–575 400 × 6 373 400–6 373 800.
const CAHORS = square(575_000, 6_373_400, 575_200, 6_373_800);
const PRADINES = square(575_200, 6_373_400, 575_400, 6_373_800);
const FAR = square(560_000, 6_390_000, 561_000, 6_391_000);

describe.each(ENGINES)('vector PCRS per commune in the bulk tree on $engine', ({ engine, open }) => {
  let f: StreamsFixture;
  let ctx: AppContext;
  let app: FastifyInstance;
  let base: string;
  let vector: VectorPublication;
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-publication-vector-'));
  const get = (p: string, headers: Record<string, string> = {}) => fetch(`${base}${p}`, { headers, redirect: 'manual' });
  const setOutline = (insee: string, geojson: string) => ctx.db.transaction((tx) => new CommuneStore(ctx.db).setOutline(tx, insee, geojson, 'test'));
  /** Distinct idObjet of the current vector objects touching an outline, as the database has them. */
  const touching = async (geojson: string) =>
    (
      await ctx.db.query<{ n: number }>(
        `SELECT count(DISTINCT id_objet)::int AS n FROM vector_features WHERE ST_Intersects(geometry, ST_SetSRID(ST_GeomFromGeoJSON($1), 2154))`,
        [geojson],
      )
    ).rows[0]?.n ?? 0;

  beforeAll(async () => {
    f = await streamsFixture({}, { vector: true, ...(engine === 'postgres' ? { open } : {}) });
    ctx = buildAppContext(f.config, f.t.db);
    await loadReference(ctx);
    app = await buildServer(ctx, { logger: false, capabilities: [publicationCapability] });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    vector = new VectorPublication(ctx);
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    await f?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('nothing is published before a build; the build makes one valid GML per commune the data touches, which wget -m copies and SHA256SUMS checks', async () => {
    // No outline yet: nothing to build, nothing listed.
    expect(await vector.build()).toEqual({ stamp: null, files: 0, reused: false });
    expect(await (await get('/telechargement/')).text()).not.toContain('href="vecteur/"');
    expect((await get('/telechargement/vecteur/')).status).toBe(404);
    await setOutline('46042', CAHORS);
    await setOutline('46224', PRADINES);
    await setOutline('46102', FAR);

    const steps: string[] = [];
    const built = await vector.build({ onProgress: (_d, _t, m) => m && steps.push(m) });
    expect(built).toMatchObject({ files: 2, reused: false });
    expect(steps).toEqual(expect.arrayContaining(['Cahors (46042)', 'Pradines (46224)', 'done']));
    expect(steps.join()).not.toContain('46102');
    const job = (await ctx.jobs.list({ kind: 'publication.vector' }))[0];
    expect(job).toMatchObject({ state: 'succeeded' });

    expect(await (await get('/telechargement/')).text()).toContain('href="vecteur/"');
    const out = path.join(dir, 'mirror');
    const wget = await execTool('wget', ['-q', '-m', '-np', '-nH', '-e', 'robots=off', '-P', out, `${base}/telechargement/vecteur/`], { timeoutMs: 120_000 });
    expect(wget.code, wget.stderr).toBe(0);
    const folder = path.join(out, 'telechargement', 'vecteur');
    expect(readdirSync(folder).sort()).toEqual(['46042-cahors.gml', '46224-pradines.gml', 'LICENCE.txt', 'SHA256SUMS', 'index.html']);
    const check = await execTool('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: folder });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout.trim().split('\n')).toHaveLength(2);
    expect(readFileSync(path.join(folder, 'LICENCE.txt'), 'utf8')).toContain('LICENCE OUVERTE');
    for (const [file, outline] of [['46042-cahors.gml', CAHORS], ['46224-pradines.gml', PRADINES]] as const) {
      const report = await validateGmlFile(path.join(folder, file));
      expect(report.findings.filter((x) => x.severity === 'error'), file).toEqual([]);
      expect(report.valid).toBe(true);
      // Exactly the objects touching the commune, whole.
      expect(report.featureCount, file).toBe(await touching(outline));
      expect(report.featureCount).toBeGreaterThan(0);
    }
    const index = readFileSync(path.join(folder, 'index.html'), 'utf8');
    expect(index).toMatch(/href="46042-cahors\.gml">46042-cahors\.gml \(\d+ objets\)/);
  }, 240_000);

  it('a file: Range 206 with the right bytes, ETag = SHA-256 and 304; unknown names and traversal are 404s', async () => {
    const whole = await get('/telechargement/vecteur/46042-cahors.gml');
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toContain('application/gml+xml');
    const bytes = Buffer.from(await whole.arrayBuffer());
    const etag = whole.headers.get('etag') as string;
    const part = await get('/telechargement/vecteur/46042-cahors.gml', { range: 'bytes=100-299' });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 300))).toBe(true);
    expect((await get('/telechargement/vecteur/46042-cahors.gml', { 'if-none-match': etag })).status).toBe(304);
    for (const p of ['/telechargement/vecteur/46102-figeac.gml', '/telechargement/vecteur/..%2F..%2Fetc%2Fpasswd', '/telechargement/vecteur/46042-cahors.GML']) {
      const res = await get(p);
      expect(res.status, p).toBe(404);
      expect(await res.text()).not.toMatch(/\/tmp|\/work|publication\/vecteur\//);
    }
  });

  it('re-used while nothing changes; an outline change rebuilds (the old files served until then), and builds before the previous one are pruned from the tier', async () => {
    const first = await vector.current();
    expect(await vector.build()).toMatchObject({ reused: true, stamp: first?.stamp });
    const firstFiles = await vector.files(first!.stamp);

    await setOutline('46042', square(575_000, 6_373_400, 575_100, 6_373_800));
    const second = await vector.build();
    expect(second).toMatchObject({ reused: false, files: 2 });
    expect(second.stamp).not.toBe(first?.stamp);
    // The previous build is kept (a mirror may be copying it), the newest is served.
    for (const file of firstFiles) expect(await ctx.tiers.intermediate.head(file.location)).not.toBeNull();
    const served = await (await get('/telechargement/vecteur/SHA256SUMS')).text();
    const newest = await vector.files(second.stamp as string);
    expect(served).toBe(newest.map((x) => `${x.sha256}  ${x.name}\n`).join(''));

    await setOutline('46042', CAHORS);
    await vector.build();
    for (const file of firstFiles) expect(await ctx.tiers.intermediate.head(file.location)).toBeNull();
    expect(await vector.files(first!.stamp)).toEqual([]);
  }, 240_000);

  it('the CLI builds and says what is published', async () => {
    const build = await runPcrs(f.t, f.config.dataDir, ['publication', 'vector-build']);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toContain('2 communes published under /telechargement/vecteur/ (already up to date).');
    const status = await runPcrs(f.t, f.config.dataDir, ['publication', 'status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ vector: { communes: 2, upToDate: true }, orthophoto: [{ dataset: 'ortho' }] });
    const bad = await runPcrs(f.t, f.config.dataDir, ['publication', 'frobnicate']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('unknown sub-command');
  }, 120_000);

  it('restricted vector data is not published: absent from the index, 404s, no build', async () => {
    await ctx.db.query(`UPDATE datasets SET visibility = 'restricted' WHERE id = 'vector'`);
    await ctx.access.invalidate({ all: true });
    try {
      expect(await (await get('/telechargement/')).text()).not.toContain('href="vecteur/"');
      for (const p of ['/telechargement/vecteur/', '/telechargement/vecteur/SHA256SUMS', '/telechargement/vecteur/46042-cahors.gml']) expect((await get(p)).status, p).toBe(404);
      expect(await vector.build()).toEqual({ stamp: null, files: 0, reused: false });
    } finally {
      await ctx.db.query(`UPDATE datasets SET visibility = 'public' WHERE id = 'vector'`);
      await ctx.access.invalidate({ all: true });
    }
    expect((await get('/telechargement/vecteur/')).status).toBe(200);
  });
});
