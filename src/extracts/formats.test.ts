/**
 * The extracts' derived contents on PGlite and PostgreSQL, over the streams fixture: ortho-cog (each
 * dalle a COG in JPEG at the hot tier's quality, same georeferencing as its master, cached for the
 * next extract), vector-gpkg and vector-dxf (as many objects as the GML), vectorClip=area (every
 * geometry within the area, the GML still valid against the CNIG XSD), the request hash telling
 * the variants apart, and unknown contents refused.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { buildServer } from '../server/app.js';
import { userWithKey } from '../test-support/access.js';
import { ENGINES } from '../test-support/db.js';
import { execTool } from '../util/exec.js';
import { validateGmlFile } from '../vector/gml/validate.js';
import { extractsCapability } from './capability.js';

const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
const rect = (x0: number, y0: number, x1: number, y1: number) => ({ type: 'Polygon' as const, coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]], crs: L93 });

interface GdalInfo {
  geoTransform: number[];
  coordinateSystem: { wkt: string };
  size: number[];
  bands: Array<{ overviews?: unknown[] }>;
  metadata: { IMAGE_STRUCTURE?: Record<string, string> };
}

async function gdalinfo(file: string): Promise<GdalInfo> {
  const r = await execTool('gdalinfo', ['-json', file]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as GdalInfo;
}

/** Layers of an OGR dataset with their feature counts and extents. */
async function ogrLayers(file: string): Promise<Array<{ name: string; count: number; extent: [number, number, number, number] | null }>> {
  const r = await execTool('ogrinfo', ['-ro', '-so', '-al', file]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split(/\nLayer name: /)
    .slice(1)
    .map((block) => {
      const e = /Extent: \(([-\d.e+]+), ([-\d.e+]+)\) - \(([-\d.e+]+), ([-\d.e+]+)\)/.exec(block);
      return {
        name: block.split('\n')[0]?.trim() ?? '',
        count: Number(/Feature Count: (\d+)/.exec(block)?.[1] ?? NaN),
        extent: e ? [Number(e[1]), Number(e[2]), Number(e[3]), Number(e[4])] : null,
      };
    });
}

describe.each(ENGINES)('extract formats on $engine', ({ engine, open }) => {
  let f: StreamsFixture;
  let ctx: AppContext;
  let app: FastifyInstance;
  let key: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-extract-formats-test-'));
  const withKey = (o: InjectOptions): InjectOptions => ({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    f = await streamsFixture({}, { vector: true, ...(engine === 'postgres' ? { open } : {}) });
    ctx = buildAppContext({ ...f.config, extracts: { keepDays: 7, maxBytes: 50e9, maxAreaKm2: 1000 } }, f.t.db);
    key = (await userWithKey(ctx, 'geometre@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read', 'downloads'] })).key;
    app = await buildServer(ctx, { logger: false, capabilities: [extractsCapability] });
    await app.ready();
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    await f?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function extract(body: Record<string, unknown>): Promise<{ id: number; out: string; state: Record<string, unknown> }> {
    const created = await app.inject(withKey({ method: 'POST', url: '/api/v1/extracts', payload: body }));
    expect([201, 202], created.body).toContain(created.statusCode);
    const id = created.json().id as number;
    let state: Record<string, unknown> = created.json();
    for (let i = 0; i < 1200 && state.state !== 'ready'; i++) {
      expect(state.state, JSON.stringify(state)).not.toBe('failed');
      await new Promise((r) => setTimeout(r, 100));
      state = (await app.inject(withKey({ url: `/api/v1/extracts/${id}` }))).json();
    }
    expect(state.state, JSON.stringify(state)).toBe('ready');
    const dl = await app.inject(withKey({ url: `/api/v1/extracts/${id}/download` }));
    expect(dl.statusCode).toBe(200);
    const file = path.join(dir, `${id}.zip`);
    writeFileSync(file, dl.rawPayload);
    const t = await execTool('unzip', ['-t', file]);
    expect(t.code, t.stdout).toBe(0);
    const out = path.join(dir, String(id));
    expect((await execTool('unzip', ['-q', file, '-d', out])).code).toBe(0);
    const check = await execTool('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: out });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    return { id, out, state };
  }

  const manifestNames = (out: string) => readFileSync(path.join(out, 'MANIFEST.sha256'), 'utf8').trim().split('\n').map((l) => l.split('  ')[1] as string);

  it('ortho-cog: each dalle a COG in JPEG (YCbCr) at the hot tier’s quality, georeferenced as its master, re-used by the next extract', async () => {
    const area = rect(575_050, 6_373_450, 575_250, 6_373_550);
    const { id, out } = await extract({ area: { geometry: area }, contents: ['ortho-cog', 'vector-gpkg', 'vector-dxf', 'vector-gml'] });
    const names = manifestNames(out);
    const cogs = names.filter((n) => n.startsWith('ortho-cog/') && n.endsWith('.tif'));
    expect(cogs).toHaveLength(2);
    expect(names.some((n) => n.startsWith('ortho/'))).toBe(false);
    expect(names).toEqual(expect.arrayContaining(['ortho-cog/mosaique.vrt', 'vecteur/pcrs.gml', 'vecteur/pcrs.gpkg', 'vecteur/pcrs.dxf', 'LICENCE.txt', 'LISEZMOI.txt']));
    for (const n of cogs) {
      const info = await gdalinfo(path.join(out, n));
      expect(info.metadata.IMAGE_STRUCTURE).toMatchObject({ LAYOUT: 'COG', COMPRESSION: 'YCbCr JPEG' });
      expect(info.bands[0]?.overviews?.length).toBeGreaterThan(0);
      const master = f.baseFiles.find((b) => path.basename(b, path.extname(b)) === path.basename(n, '.tif'));
      expect(master, n).toBeDefined();
      const m = await gdalinfo(master as string);
      expect(info.geoTransform).toEqual(m.geoTransform);
      expect(info.size).toEqual(m.size);
      expect(info.coordinateSystem.wkt).toBe(m.coordinateSystem.wkt);
    }
    const vrt = await gdalinfo(path.join(out, 'ortho-cog/mosaique.vrt'));
    expect(vrt.size).toEqual([8000, 4000]);
    const readme = readFileSync(path.join(out, 'LISEZMOI.txt'), 'utf8');
    expect(readme).toContain(`ortho-cog/ : les mêmes dalles en GeoTIFF optimisé pour le cloud (COG), compression JPEG qualité ${ctx.config.pyramid.jpegQuality}`);
    expect(readme).toContain('vecteur/pcrs.gpkg : GeoPackage');
    expect(readme).toContain('objets entiers touchant la zone');

    // The GeoPackage holds the GML's objects, a layer per CNIG class; the DXF opens.
    const report = await validateGmlFile(path.join(out, 'vecteur/pcrs.gml'));
    expect(report.valid).toBe(true);
    const layers = await ogrLayers(path.join(out, 'vecteur/pcrs.gpkg'));
    expect(layers.reduce((n, l) => n + l.count, 0)).toBe(report.featureCount);
    expect(layers.map((l) => l.name)).toEqual(expect.arrayContaining(Object.keys(f.vectorCounts).filter((c) => c !== 'AffleurantPCRS' && c !== 'AffleurantGeometriquePCRS').slice(0, 3)));
    expect(layers.every((l) => l.name.endsWith('PCRS'))).toBe(true);
    const dxf = await ogrLayers(path.join(out, 'vecteur/pcrs.dxf'));
    expect(dxf[0]?.count).toBeGreaterThan(0);

    // A second extract over one of the dalles re-uses its COG: same object, not made again.
    const before = (await ctx.db.query<{ location: string; sha256: string }>(`SELECT location, sha256 FROM extract_entries WHERE extract_id = $1 AND name LIKE 'ortho-cog/%.tif' ORDER BY name`, [id])).rows;
    const heads = await Promise.all(before.map((b) => ctx.tiers.intermediate.head(b.location)));
    const second = await extract({ area: { geometry: rect(575_050, 6_373_450, 575_150, 6_373_550) }, contents: ['ortho-cog'] });
    const after = (await ctx.db.query<{ location: string; sha256: string }>(`SELECT location, sha256 FROM extract_entries WHERE extract_id = $1 AND name LIKE 'ortho-cog/%.tif'`, [second.id])).rows;
    expect(after).toHaveLength(1);
    const i = before.findIndex((b) => b.location === after[0]?.location);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(after[0]?.sha256).toBe(before[i]?.sha256);
    expect((await ctx.tiers.intermediate.head(after[0]?.location as string))?.lastModified).toEqual(heads[i]?.lastModified);
    const cogFile = manifestNames(second.out).find((n) => n.endsWith('.tif')) as string;
    expect(createHash('sha256').update(readFileSync(path.join(second.out, cogFile))).digest('hex')).toBe(before[i]?.sha256);
    // No claim row is left once the plan is stored.
    expect((await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM extract_entries WHERE seq < 0 AND extract_id IN ($1, $2)`, [id, second.id])).rows[0]?.n).toBe(0);
  }, 300_000);

  it('vectorClip=area: every geometry within the area, the clipped GML valid against the CNIG XSD; the whole-object variant is another request', async () => {
    const [x0, y0, x1, y1] = [575_120, 6_373_480, 575_260, 6_373_620];
    const body = { area: { geometry: rect(x0, y0, x1, y1) }, contents: ['vector-gml', 'vector-gpkg', 'vector-dxf'] };
    const whole = await extract(body);
    const cut = await extract({ ...body, vectorClip: 'area' });
    expect(cut.state).toMatchObject({ vector: { clip: 'area' } });
    expect(cut.id).not.toBe(whole.id);
    expect(whole.state).toMatchObject({ vector: { clip: 'dalles' } });

    const report = await validateGmlFile(path.join(cut.out, 'vecteur/pcrs.gml'));
    expect(report.findings.filter((x) => x.severity === 'error')).toEqual([]);
    expect(report.valid).toBe(true);
    // validateGmlFile runs xmllint against the shipped CNIG XSDs (offline catalog) and the CNIG rules (idObjet unique…).
    expect(report.findings.some((x) => x.rule === 'xsd')).toBe(false);
    // Some objects were cut in several parts, each its own object.
    expect(readFileSync(path.join(cut.out, 'vecteur/pcrs.gml'), 'utf8')).toMatch(/gml:id="[^"]+\.p2"/);

    const eps = 1e-6;
    const cutLayers = await ogrLayers(path.join(cut.out, 'vecteur/pcrs.gpkg'));
    expect(cutLayers.reduce((n, l) => n + l.count, 0)).toBe(report.featureCount);
    for (const l of cutLayers) {
      if (!l.extent) continue;
      const [a, b, c, d] = l.extent;
      expect(a >= x0 - eps && b >= y0 - eps && c <= x1 + eps && d <= y1 + eps, `${l.name} ${l.extent.join(',')}`).toBe(true);
    }
    // Whole objects stick out of the area somewhere; cut ones never do.
    const wholeLayers = await ogrLayers(path.join(whole.out, 'vecteur/pcrs.gpkg'));
    expect(wholeLayers.some((l) => l.extent !== null && (l.extent[0] < x0 - 0.01 || l.extent[1] < y0 - 0.01 || l.extent[2] > x1 + 0.01 || l.extent[3] > y1 + 0.01))).toBe(true);
    const dxf = await execTool('ogrinfo', ['-ro', '-so', '-al', path.join(cut.out, 'vecteur/pcrs.dxf')]);
    expect(dxf.code, dxf.stderr).toBe(0);
    const e = /Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)/.exec(dxf.stdout);
    expect(Number(e?.[1])).toBeGreaterThanOrEqual(x0 - eps);
    expect(Number(e?.[4])).toBeLessThanOrEqual(y1 + eps);
    expect(readFileSync(path.join(cut.out, 'LISEZMOI.txt'), 'utf8')).toContain('découpés selon la zone');

    // The same request again is re-used; the other clip is not.
    const again = await app.inject(withKey({ method: 'POST', url: '/api/v1/extracts', payload: { ...body, vectorClip: 'area' } }));
    expect(again.statusCode).toBe(201);
    expect(again.json().reused).toBe(true);
    const cog = await app.inject(withKey({ method: 'POST', url: '/api/v1/extracts', payload: { ...body, contents: ['vector-gml'] } }));
    expect(cog.json().reused).toBe(false);
  }, 300_000);

  it('refuses an unknown content or clip with 400, before any work', async () => {
    const before = (await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM extracts`)).rows[0]?.n;
    for (const payload of [
      { area: { commune: '46042' }, contents: ['ortho-jpeg'] },
      { area: { commune: '46042' }, contents: ['vector-shp'] },
      { area: { commune: '46042' }, contents: ['vector-gml'], vectorClip: 'bbox' },
    ]) {
      const r = await app.inject(withKey({ method: 'POST', url: '/api/v1/extracts', payload }));
      expect(r.statusCode, r.body).toBe(400);
    }
    expect((await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM extracts`)).rows[0]?.n).toBe(before);
  });
});
