/**
 * Contributions in the formats partners have, and business data (issue 12):
 * - the reader refuses a zip whose entries climb out of their folder, hold a symbolic link or would
 *   inflate beyond the limits (nothing written outside), a Shapefile without its .prj, a text file
 *   named .gpkg;
 * - on PGlite and PostgreSQL over a listening server: the vector PCRS sent as a GeoPackage (what
 *   QGIS makes of a CNIG GML), a zipped Shapefile (DBF names cut to 10 characters) and a DXF (its
 *   CNIG values given for the whole file) is converted, validated by the GML validator and, accepted,
 *   published: the OGC API serves its objects with their provenance; refused files say why;
 * - business data sent as a GeoPackage becomes a restricted collection only its organisation reads
 *   (OGC API Features and vector tiles; others 403, anonymous 401), until it names a reader; another
 *   organisation cannot write into it, nor a business dataset take a PCRS dataset's id.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import { loadConfig } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { CAHORS_CENTRE, getScene } from '../demo/synthetic-scene.js';
import { writeDemoGml } from '../demo/vector.js';
import { buildServer } from '../server/app.js';
import { userWithKey } from '../test-support/access.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { ForeignFileError, readForeignVector } from './foreign-vector.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Writes a zip with Python's zipfile: entries `[name, content, unixMode?]` (content: text, or `zeros:N`). */
function pythonZip(out: string, entries: Array<[string, string, number?]>): void {
  const script = `
import sys, json, zipfile
out, entries = sys.argv[1], json.loads(sys.argv[2])
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    for name, content, mode in entries:
        data = bytes(int(content[6:])) if content.startswith('zeros:') else content.encode()
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        if mode: info.external_attr = mode << 16
        z.writestr(info, data)
`;
  execFileSync('python3', ['-c', script, out, JSON.stringify(entries.map(([n, c, m]) => [n, c, m ?? 0]))]);
}

const refusal = async (file: string, work: string, limits?: Parameters<typeof readForeignVector>[2]) => {
  try {
    await readForeignVector(file, work, limits);
  } catch (e) {
    if (e instanceof ForeignFileError) return e.rule;
    throw e;
  }
  return 'accepted';
};

const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-formats-'));
const gmlFile = path.join(dir, 'rue.gml');
const gpkgFile = path.join(dir, 'rue.gpkg');
const shpZip = path.join(dir, 'rue-shp.zip');
const shpNoPrj = path.join(dir, 'rue-sans-prj.zip');
const dxfFile = path.join(dir, 'rue.dxf');
const hydrants = path.join(dir, 'poteaux.gpkg');

beforeAll(async () => {
  await writeDemoGml(getScene({ seed: 46, centre: CAHORS_CENTRE }), [575_000, 6_373_400, 575_100, 6_373_500], gmlFile);
  // What QGIS (GDAL) makes of a CNIG GML: one GeoPackage layer per class, codes read as integers.
  execFileSync('ogr2ogr', ['-f', 'GPKG', gpkgFile, gmlFile]);
  const shp = path.join(dir, 'shp');
  mkdirSync(shp);
  execFileSync('ogr2ogr', ['-f', 'ESRI Shapefile', shp, gpkgFile]);
  const parts = (names: string[]) => names.flatMap((n) => ['.shp', '.shx', '.dbf', '.prj'].map((e) => `${n}${e}`));
  const zipOf = (out: string, files: string[]) => execFileSync('python3', ['-c', 'import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],"w",zipfile.ZIP_DEFLATED)\nfor f in sys.argv[3:]: z.write(sys.argv[2]+"/"+f,"pcrs/"+f)\nz.close()', out, shp, ...files]);
  zipOf(shpZip, parts(['LimiteVoiriePCRS', 'FacadePCRS', 'ArbrePCRS']));
  zipOf(shpNoPrj, parts(['LimiteVoiriePCRS']).filter((f) => !f.endsWith('.prj')));
  // A DXF: geometry only, its layer naming the class (without the PCRS suffix, as drawings do).
  const geom = execFileSync('ogrinfo', ['-ro', '-so', gpkgFile, 'LimiteVoiriePCRS']).toString().match(/Geometry Column = (\w+)/)?.[1] ?? 'geom';
  execFileSync('ogr2ogr', ['-f', 'DXF', dxfFile, gpkgFile, '-dialect', 'sqlite', '-sql', `SELECT ${geom}, 'LimiteVoirie' AS Layer FROM LimiteVoiriePCRS`]);
  // SDIS hydrants around Cahors, in WGS84 as a phone app records them.
  const points = Array.from({ length: 12 }, (_, i) => ({ type: 'Feature', properties: { numero: `PI-${100 + i}`, debit_m3h: 60 + i, type: i % 2 ? 'poteau' : 'bouche' }, geometry: { type: 'Point', coordinates: [1.4405 + i * 0.0002, 44.4475 + i * 0.0001] } }));
  writeFileSync(path.join(dir, 'poteaux.geojson'), JSON.stringify({ type: 'FeatureCollection', features: points }));
  execFileSync('ogr2ogr', ['-f', 'GPKG', hydrants, path.join(dir, 'poteaux.geojson'), '-nln', 'poteaux_incendie']);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('foreign vector files: what is refused before anything is read', () => {
  it('a zip whose entry climbs out (../), is absolute, or is a symbolic link is refused whole, nothing written outside', async () => {
    const work = path.join(dir, 'w1');
    const slip = path.join(dir, 'slip.zip');
    pythonZip(slip, [['a.shp', 'x'], ['../../evil.shp', 'owned']]);
    expect(await refusal(slip, work)).toBe('zip-unsafe-path');
    expect(existsSync(path.join(dir, 'evil.shp'))).toBe(false);
    expect(existsSync(path.join(work, 'unzipped', 'a.shp'))).toBe(false);
    const absolute = path.join(dir, 'abs.zip');
    pythonZip(absolute, [['/tmp/evil.shp', 'owned']]);
    expect(await refusal(absolute, path.join(dir, 'w2'))).toBe('zip-unsafe-path');
    const link = path.join(dir, 'link.zip');
    pythonZip(link, [['a.shp', '/etc/passwd', 0o120777]]);
    expect(await refusal(link, path.join(dir, 'w3'))).toBe('zip-symlink');
  });

  it('a zip bomb (an entry inflating 1000:1, or beyond the total) is refused before it is inflated', async () => {
    const bomb = path.join(dir, 'bomb.zip');
    pythonZip(bomb, [['a.dbf', 'zeros:20000000']]);
    expect(readFileSync(bomb).length).toBeLessThan(100_000);
    expect(await refusal(bomb, path.join(dir, 'w4'))).toBe('zip-bomb');
    expect(existsSync(path.join(dir, 'w4', 'unzipped', 'a.dbf'))).toBe(false);
    expect(await refusal(shpZip, path.join(dir, 'w5'), { maxTotalBytes: 1000, maxRatio: 200, maxEntries: 100 })).toBe('zip-bomb');
  });

  it('a Shapefile without its .prj, a text file named .gpkg: refused with what to do', async () => {
    expect(await refusal(shpNoPrj, path.join(dir, 'w6'))).toBe('shapefile-without-prj');
    const fake = path.join(dir, 'faux.gpkg');
    writeFileSync(fake, 'ceci n’est pas un GeoPackage');
    expect(await refusal(fake, path.join(dir, 'w7'))).toBe('unknown-format');
    expect(await refusal(shpZip, path.join(dir, 'w8'))).toBe('accepted');
  });
});

describe.each(ENGINES)('contributions in other formats, and business data, on $engine', ({ open }) => {
  let t: TestDatabase;
  let ctx: AppContext;
  let app: FastifyInstance;
  let base: string;
  let alice: string;
  let sdis: string;
  let moderator: string;

  beforeAll(async () => {
    t = await open();
    const config = loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR as string, PCRS_LOG_LEVEL: 'silent' });
    await new Catalog(t.db).ensureStandardDatasets('46');
    ctx = buildAppContext(config, t.db);
    app = await buildServer(ctx, { logger: false });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    alice = (await userWithKey(ctx, 'alice@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read', 'contributions:write'] })).key;
    sdis = (await userWithKey(ctx, 'bob@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['read', 'contributions:write'] })).key;
    moderator = (await userWithKey(ctx, 'moderateur@fdel46.fr', { platformRoles: ['moderator'], scopes: ['contributions:write'] })).key;
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    await t?.dispose();
  });

  const call = (key: string | null, method: string, url: string, body?: unknown) =>
    fetch(`${base}${url}`, { method, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });

  async function create(key: string, body: Record<string, unknown>): Promise<number> {
    const res = await call(key, 'POST', '/api/v1/contributions', body);
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { id: number }).id;
  }

  async function upload(key: string, id: number, name: string, file: string): Promise<void> {
    const data = readFileSync(file);
    const created = await fetch(`${base}/api/v1/contributions/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'tus-resumable': '1.0.0', 'upload-length': String(data.length), 'upload-metadata': `contribution ${b64(String(id))},filename ${b64(name)}` },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const res = await fetch(`${base}${created.headers.get('location')}`, { method: 'PATCH', headers: { authorization: `Bearer ${key}`, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: data });
    expect(res.status, await res.clone().text()).toBe(204);
  }

  type Settled = { state: string; files: Array<{ id: number; name: string; status: string; report: string }> };
  async function settled(key: string, id: number, until: (s: string) => boolean = (s) => s !== 'validating' && s !== 'draft'): Promise<Settled> {
    for (let i = 0; i < 900; i++) {
      const c = (await (await call(key, 'GET', `/api/v1/contributions/${id}`)).json()) as Settled;
      if (until(c.state)) return c;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`contribution ${id} did not settle`);
  }

  async function accept(id: number): Promise<void> {
    const res = await call(moderator, 'POST', `/api/v1/contributions/${id}/decision`, { decision: 'accept' });
    expect(res.status, await res.clone().text()).toBe(202);
    expect((await settled(moderator, id, (s) => s !== 'publishing')).state).toBe('accepted');
  }

  it('the vector PCRS as a GeoPackage, a zipped Shapefile and a DXF: converted, validated by the GML rules, published with provenance', async () => {
    const id = await create(alice, { kind: 'vector', title: 'Rue de la Barre (QGIS)', organisation: 'cahors', surveyedOn: '2026-10-20', producer: 'Service SIG de Cahors', attributeDefaults: { thematique: '03', qualiteCategorisation: '01', precisionPlanimetrique: '010' } });
    await upload(alice, id, 'rue.gpkg', gpkgFile);
    await upload(alice, id, 'rue-shp.zip', shpZip);
    await upload(alice, id, 'rue.dxf', dxfFile);
    await upload(alice, id, 'rue-sans-prj.zip', shpNoPrj);
    let c = await settled(alice, id);
    const status = Object.fromEntries(c.files.map((f) => [f.name, f.status]));
    expect(status).toMatchObject({ 'rue.gpkg': 'ok', 'rue-shp.zip': expect.stringMatching(/ok|warning/), 'rue.dxf': 'warning', 'rue-sans-prj.zip': 'rejected' });
    expect(c.state).toBe('invalid');
    const report = async (name: string) => (await (await call(alice, 'GET', c.files.find((f) => f.name === name)!.report)).json()) as { report: { valid: boolean; featuresByClass: Record<string, number>; conversion: { format: string; layers: Array<{ name: string; classes: Record<string, number> }> }; findings: Array<{ rule: string; message: string }> } };
    const gpkg = (await report('rue.gpkg')).report;
    expect(gpkg).toMatchObject({ valid: true, conversion: { format: 'gpkg' } });
    expect(gpkg.featuresByClass).toMatchObject({ LimiteVoiriePCRS: 2, FacadePCRS: 33, ArbrePCRS: 26 });
    expect((await report('rue-shp.zip')).report.featuresByClass).toEqual(gpkg.featuresByClass);
    const dxf = (await report('rue.dxf')).report;
    expect(dxf.featuresByClass).toEqual({ LimiteVoiriePCRS: 2 });
    expect(dxf.findings.map((f) => f.rule)).toContain('dxf-crs-assumed');
    const noPrj = (await report('rue-sans-prj.zip')).report;
    expect(noPrj.valid).toBe(false);
    expect(noPrj.findings[0]).toMatchObject({ rule: 'shapefile-without-prj' });
    expect(noPrj.findings[0]?.message).toMatch(/LimiteVoiriePCRS\.prj/);
    // No report names where the server keeps things (GDAL and xmllint quote paths).
    for (const f of c.files) expect(await (await call(alice, 'GET', f.report)).text()).not.toContain(ctx.config.dataDir);
    const text = await (await call(alice, 'GET', `${c.files.find((f) => f.name === 'rue.gpkg')!.report}?format=text`)).text();
    expect(text).toMatch(/^PCRS GML validation: rue\.gpkg\nResult: VALID/);
    expect(text).not.toContain(ctx.config.dataDir);

    // The refused file goes; the rest is accepted and published as the GML it was validated as.
    const without = await create(alice, { kind: 'vector', title: 'Rue de la Barre (GeoPackage)', organisation: 'cahors', surveyedOn: '2026-10-20', producer: 'Service SIG de Cahors' });
    await upload(alice, without, 'rue.gpkg', gpkgFile);
    c = await settled(alice, without);
    expect(c.state).toBe('valid');
    await accept(without);
    const items = (await (await call(null, 'GET', '/ogc/collections/ArbrePCRS/items?limit=100')).json()) as { numberMatched: number; features: Array<{ properties: { idObjet: string; version: string; provenance: { contribution: number; organisation: string } } }> };
    expect(items.numberMatched).toBe(26);
    expect(items.features[0]?.properties).toMatchObject({ version: `contribution-${without}`, provenance: { contribution: without, organisation: 'cahors' } });
    expect(items.features.map((f) => f.properties.idObjet)).toContain('ido_demo-ar-47');
  }, 240_000);

  it('business data as a GeoPackage: a restricted collection only its organisation reads (features and tiles), then the reader it names', async () => {
    const target = { dataset: 'sdis46-hydrants', title: 'Points d’eau incendie', visibility: 'restricted', readers: [] };
    // A PCRS dataset's id is not for business data; a business contribution names its dataset.
    expect((await call(sdis, 'POST', '/api/v1/contributions', { kind: 'business', title: 'x', organisation: 'sdis46', business: { ...target, dataset: 'vector' } })).status).toBe(409);
    expect((await call(sdis, 'POST', '/api/v1/contributions', { kind: 'business', title: 'x', organisation: 'sdis46' })).status).toBe(400);
    const id = await create(sdis, { kind: 'business', title: 'PEI du SDIS', organisation: 'sdis46', surveyedOn: '2026-11-01', business: target });
    await upload(sdis, id, 'poteaux.gpkg', hydrants);
    const c = await settled(sdis, id);
    expect(c.state).toBe('valid');
    const rep = (await (await call(sdis, 'GET', c.files[0]!.report)).json()) as { report: { format: string; layers: Array<{ name: string; features: number; fields: string[] }> } };
    expect(rep.report.format).toBe('gpkg');
    expect(rep.report.layers[0]).toMatchObject({ name: 'poteaux_incendie', features: 12 });
    expect(rep.report.layers[0]?.fields).toEqual(expect.arrayContaining(['numero', 'debit_m3h', 'type']));
    await accept(id);

    const collections = async (key: string | null) => ((await (await call(key, 'GET', '/ogc/collections')).json()) as { collections: Array<{ id: string }> }).collections.map((x) => x.id);
    expect(await collections(sdis)).toContain('sdis46-hydrants');
    expect(await collections(alice)).not.toContain('sdis46-hydrants');
    expect(await collections(null)).not.toContain('sdis46-hydrants');
    const items = await call(sdis, 'GET', '/ogc/collections/sdis46-hydrants/items?limit=50&crs=http://www.opengis.net/def/crs/EPSG/0/2154');
    expect(items.status, await items.clone().text()).toBe(200);
    const fc = (await items.json()) as { numberMatched: number; features: Array<{ properties: Record<string, unknown>; geometry: { coordinates: number[] } }> };
    expect(fc.numberMatched).toBe(12);
    expect(fc.features[0]?.properties).toMatchObject({ layer: 'poteaux_incendie', numero: 'PI-100', debit_m3h: 60, version: `contribution-${id}`, provenance: { organisation: 'sdis46' } });
    // Reprojected to Lambert-93 on arrival (Cahors is near x 575 000).
    expect(fc.features[0]?.geometry.coordinates[0]).toBeGreaterThan(574_000);
    expect(fc.features[0]?.geometry.coordinates[0]).toBeLessThan(577_000);
    expect((await call(sdis, 'GET', '/ogc/collections/sdis46-hydrants/items?numero=PI-105')).status).toBe(200);
    expect(((await (await call(sdis, 'GET', '/ogc/collections/sdis46-hydrants/items?numero=PI-105')).json()) as { numberMatched: number }).numberMatched).toBe(1);
    expect((await call(alice, 'GET', '/ogc/collections/sdis46-hydrants/items')).status).toBe(403);
    expect((await call(null, 'GET', '/ogc/collections/sdis46-hydrants/items')).status).toBe(401);
    // Vector tiles: the hydrants in the tile over Cahors at z16, with their attributes; nobody else.
    const [x, y] = [Math.floor(((1.4415 + 180) / 360) * 2 ** 16), Math.floor(((1 - Math.log(Math.tan((44.448 * Math.PI) / 180) + 1 / Math.cos((44.448 * Math.PI) / 180)) / Math.PI) / 2) * 2 ** 16)];
    const tile = await call(sdis, 'GET', `/tiles/business/sdis46-hydrants/WebMercatorQuad/16/${x}/${y}.mvt`);
    expect(tile.status).toBe(200);
    expect(tile.headers.get('cache-control')).toMatch(/^private/);
    const layer = new VectorTile(new PbfReader(Buffer.from(await tile.arrayBuffer()))).layers.pcrs;
    expect(layer?.length).toBeGreaterThan(0);
    expect(layer?.feature(0).properties).toMatchObject({ layer: 'poteaux_incendie' });
    expect((await call(alice, 'GET', `/tiles/business/sdis46-hydrants/WebMercatorQuad/16/${x}/${y}.mvt`)).status).toBe(403);
    const listed = (await (await call(sdis, 'GET', '/api/v1/business-datasets')).json()) as { datasets: Array<{ id: string; visibility: string; layers: Array<{ name: string; count: number }> }> };
    expect(listed.datasets).toEqual([expect.objectContaining({ id: 'sdis46-hydrants', visibility: 'restricted', layers: [{ name: 'poteaux_incendie', count: 12 }] })]);

    // Another organisation cannot write into it.
    const foreign = await call(alice, 'POST', '/api/v1/contributions', { kind: 'business', title: 'x', organisation: 'cahors', business: target });
    expect(foreign.status).toBe(403);
    // The owner names Cahors as a reader with its next delivery: Cahors reads it, the anonymous still not.
    const next = await create(sdis, { kind: 'business', title: 'PEI du SDIS, mise à jour', organisation: 'sdis46', business: { ...target, readers: ['cahors'] } });
    await upload(sdis, next, 'poteaux.gpkg', hydrants);
    expect((await settled(sdis, next)).state).toBe('valid');
    await accept(next);
    expect(await collections(alice)).toContain('sdis46-hydrants');
    const read = (await (await call(alice, 'GET', '/ogc/collections/sdis46-hydrants/items?limit=50')).json()) as { numberMatched: number; features: Array<{ properties: { version: string } }> };
    // The new version replaces the old one everywhere: 12 objects, not 24.
    expect(read.numberMatched).toBe(12);
    expect(read.features[0]?.properties.version).toBe(`contribution-${next}`);
    expect((await call(null, 'GET', '/ogc/collections/sdis46-hydrants/items')).status).toBe(401);
  }, 240_000);
});
