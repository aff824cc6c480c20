/**
 * Communes and EPCI on PGlite and PostgreSQL: the reference loaded from the package on first use,
 * search (accents, "st", INSEE and postal codes, LIKE metacharacters), outlines imported from an
 * ADMIN EXPRESS-like GeoPackage by the CLI (other départements, unknown codes, several layers, a
 * Shapefile without .prj, a file that is not vector data), the EPCI outline as the union of its
 * communes', and the demo's synthetic outlines.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { openPglite } from '../db/pglite.js';
import type { Database } from '../db/database.js';
import { ensureDemoCommunes } from '../demo/communes.js';
import { DEMO_DELIVERY } from '../demo/delivery.js';
import { buildServer } from '../server/app.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { execTool } from '../util/exec.js';
import { communesCapability } from './capability.js';
import { referenceOf, searchableName } from './reference.js';

const rect = (x0: number, y0: number, x1: number, y1: number) => ({ type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] });
const feature = (props: Record<string, unknown>, geometry: unknown) => ({ type: 'Feature', properties: props, geometry });

/** An ADMIN EXPRESS-like GeoPackage (layers commune and epci) in Lambert-93. */
async function adminExpressLike(dir: string): Promise<string> {
  const communes = {
    type: 'FeatureCollection',
    crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } },
    features: [
      feature({ INSEE_COM: '46042', NOM: 'Cahors', INSEE_DEP: '46' }, rect(572_000, 6_371_000, 577_000, 6_376_000)),
      feature({ INSEE_COM: '46224', NOM: 'Pradines', INSEE_DEP: '46' }, rect(568_000, 6_371_000, 572_000, 6_376_000)),
      // A bow-tie: made valid on the way in.
      feature({ INSEE_COM: '46007', NOM: 'Arcambal', INSEE_DEP: '46' }, { type: 'Polygon', coordinates: [[[577_000, 6_371_000], [580_000, 6_374_000], [580_000, 6_371_000], [577_000, 6_374_000], [577_000, 6_371_000]]] }),
      // Corrèze, inside the Lot's rectangular extent: skipped.
      feature({ INSEE_COM: '19031', NOM: 'Brive-la-Gaillarde', INSEE_DEP: '19' }, rect(590_000, 6_430_000, 595_000, 6_435_000)),
      // A code the reference does not know.
      feature({ INSEE_COM: '46999', NOM: 'Nulle-Part', INSEE_DEP: '46' }, rect(560_000, 6_360_000, 561_000, 6_361_000)),
      // Outside the territory's extent: not even read.
      feature({ INSEE_COM: '75056', NOM: 'Paris', INSEE_DEP: '75' }, rect(650_000, 6_860_000, 655_000, 6_865_000)),
    ],
  };
  const src = path.join(dir, 'communes.geojson');
  writeFileSync(src, JSON.stringify(communes));
  const gpkg = path.join(dir, 'ADMIN-EXPRESS.gpkg');
  await execTool('ogr2ogr', ['-f', 'GPKG', gpkg, src, '-nln', 'commune', '-nlt', 'MULTIPOLYGON'], { check: true });
  writeFileSync(src, JSON.stringify({ ...communes, features: [feature({ CODE_SIREN: '200023737' }, rect(568_000, 6_371_000, 577_000, 6_376_000))] }));
  await execTool('ogr2ogr', ['-f', 'GPKG', '-update', gpkg, src, '-nln', 'epci', '-nlt', 'MULTIPOLYGON'], { check: true });
  return gpkg;
}

describe('searchableName', () => {
  it('drops accents, case, hyphens and apostrophes, and spells out st/ste', () => {
    expect(searchableName('Saint-Céré')).toBe('saint cere');
    expect(searchableName('St Céré')).toBe('saint cere');
    expect(searchableName('Ste-Alauzie')).toBe('sainte alauzie');
    expect(searchableName("L'Hospitalet")).toBe('l hospitalet');
    expect(searchableName('  MERCUÈS ')).toBe('mercues');
  });
});

describe.each(ENGINES)('communes on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let dataDir: string;
  let db: Database;
  let ctx: AppContext;
  let app: FastifyInstance;
  let gpkg: string;
  const pcrs = (...args: string[]) => runPcrs(t, dataDir, args);
  let total: number;

  beforeAll(async () => {
    t = await open();
    total = (await referenceOf('46')).communes.length;
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-communes-'));
    gpkg = await adminExpressLike(mkdtempSync(path.join(tmpdir(), 'pcrs-communes-src-')));
    // The CLI runs first (PGlite: one process owns the data dir at a time), then the server.
    if (engine === 'pglite') await t.db.close();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    if (engine === 'pglite') await db?.close().catch(() => undefined);
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(path.dirname(gpkg), { recursive: true, force: true });
  });

  it('pcrs communes import: outlines of the territory’s known communes, with what was skipped and why', async () => {
    const several = await pcrs('communes', 'import', gpkg, '--layer', 'nope');
    expect(several.code).toBe(2);
    expect(several.stderr).toContain("no layer 'nope'");
    expect(several.stderr).toContain('commune, epci');

    const run = await pcrs('communes', 'import', gpkg, '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { layer: string; read: number; updated: number; otherDepartement: number; unknown: string[]; stillMissing: Array<{ insee: string }> };
    expect(report).toMatchObject({ layer: 'commune', read: 5, updated: 3, otherDepartement: 1, unknown: ['46999'] });
    expect(report.stillMissing).toHaveLength(total - 3);
    expect(report.stillMissing.map((c) => c.insee)).not.toContain('46042');

    const listed = await pcrs('communes', 'list', '--missing', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as unknown[]).length).toBe(total - 3);

    const table = await pcrs('communes', 'list');
    expect(table.stdout).toMatch(/46042\s+Cahors\s+CA du Grand Cahors\s+\d+\s+ADMIN-EXPRESS\.gpkg/);
  }, 120_000);

  it('pcrs communes import refuses what it cannot read, with exit 2 and the reason, and changes nothing', async () => {
    const dir = path.dirname(gpkg);
    const notVector = path.join(dir, 'photo.gpkg');
    writeFileSync(notVector, 'not a geopackage at all');
    const bad = await pcrs('communes', 'import', notVector);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('GDAL cannot read photo.gpkg');
    expect(bad.stderr).not.toContain(dir);

    await execTool('ogr2ogr', ['-f', 'ESRI Shapefile', path.join(dir, 'noprj.shp'), gpkg, 'commune'], { check: true });
    unlinkSync(path.join(dir, 'noprj.prj'));
    const noPrj = await pcrs('communes', 'import', path.join(dir, 'noprj.shp'));
    expect(noPrj.code).toBe(2);
    expect(noPrj.stderr).toContain('.prj');

    const noField = await pcrs('communes', 'import', gpkg, '--layer', 'epci');
    expect(noField.code).toBe(2);
    expect(noField.stderr).toContain('--insee-field');

    expect((await pcrs('communes', 'import', path.join(dir, 'missing.gpkg'))).code).toBe(2);
    expect((await pcrs('communes', 'frobnicate')).code).toBe(64);
    const still = await pcrs('communes', 'list', '--missing', '--json');
    expect((JSON.parse(still.stdout) as unknown[]).length).toBe(total - 3);
  }, 120_000);

  describe('over HTTP', () => {
    beforeAll(async () => {
      db = engine === 'pglite' ? await openPglite(path.join(dataDir, 'db')) : t.db;
      ctx = buildAppContext(loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' }), db);
      app = await buildServer(ctx, { logger: false, capabilities: [communesCapability] });
      await app.ready();
    }, 60_000);

    it('searches by name without accents or hyphens, "st" for saint, by INSEE or postal code; the most populated first', async () => {
      const names = async (q: string) => (await app.inject({ url: `/api/v1/communes?q=${encodeURIComponent(q)}` })).json().communes.map((c: { name: string }) => c.name) as string[];
      const cahors = (await app.inject({ url: '/api/v1/communes?q=cahors' })).json().communes[0];
      expect(cahors).toMatchObject({ insee: '46042', name: 'Cahors', departement: '46', epci: { siren: '200023737', name: 'CA du Grand Cahors' }, postalCodes: ['46000'], outlineSource: 'ADMIN-EXPRESS.gpkg', bboxLambert93: [572_000, 6_371_000, 577_000, 6_376_000] });
      expect(cahors.population).toBeGreaterThan(15_000);
      expect(cahors.bbox[0]).toBeGreaterThan(1.3);
      expect(cahors.bbox[2]).toBeLessThan(1.6);
      expect((await names('st cere'))[0]).toBe('Saint-Céré');
      expect((await names('SAINT-CÉRÉ'))[0]).toBe('Saint-Céré');
      expect(await names('mercues')).toEqual(['Mercuès']);
      expect((await names('46042'))[0]).toBe('Cahors');
      expect(await names('46090')).toEqual(expect.arrayContaining(['Pradines', 'Arcambal', 'Mercuès']));
      // LIKE metacharacters are literal.
      expect(await names('%')).toEqual([]);
      expect(await names('_ahors')).toEqual([]);
      const all = await app.inject({ url: '/api/v1/communes?limit=1000' });
      expect(all.json().communes).toHaveLength(total);
      expect((await app.inject({ url: `/api/v1/communes?q=${'x'.repeat(101)}` })).statusCode).toBe(400);
      expect((await app.inject({ url: '/api/v1/communes?q=a&limit=5000' })).statusCode).toBe(400);
    });

    it('answers a commune and an EPCI as GeoJSON Features in WGS84 or Lambert-93; 404 and 400 otherwise', async () => {
      const l93 = await app.inject({ url: '/api/v1/communes/46042?crs=EPSG:2154' });
      expect(l93.statusCode).toBe(200);
      expect(l93.json()).toMatchObject({ type: 'Feature', id: '46042', geometry: { type: 'MultiPolygon' }, properties: { name: 'Cahors' } });
      expect(l93.json().geometry.coordinates[0][0]).toContainEqual([572_000, 6_371_000]);
      const wgs = (await app.inject({ url: '/api/v1/communes/46042' })).json();
      const [lon, lat] = wgs.geometry.coordinates[0][0][0] as [number, number];
      expect(lon).toBeGreaterThan(1.3);
      expect(lat).toBeGreaterThan(44.3);
      // The bow-tie was made valid: two triangles of 2.25 km² each.
      const arcambal = (await app.inject({ url: '/api/v1/communes/46007?crs=EPSG:2154' })).json();
      expect(arcambal.geometry.coordinates).toHaveLength(2);
      const withoutOutline = (await app.inject({ url: '/api/v1/communes/46102' })).json();
      expect(withoutOutline).toMatchObject({ geometry: null, properties: { name: 'Figeac', bbox: null } });
      expect((await app.inject({ url: '/api/v1/communes/75056' })).statusCode).toBe(404);
      expect((await app.inject({ url: '/api/v1/communes/46042;DROP' })).statusCode).toBe(400);

      const epcis = (await app.inject({ url: '/api/v1/epcis' })).json().epcis as Array<{ siren: string; communes: Array<{ insee: string }>; bboxLambert93: number[] | null }>;
      expect(epcis.length).toBeGreaterThanOrEqual(8);
      const grandCahors = epcis.find((e) => e.siren === '200023737');
      expect(grandCahors?.communes.map((c) => c.insee)).toEqual(expect.arrayContaining(['46042', '46224', '46007']));
      expect(grandCahors?.bboxLambert93).toEqual([568_000, 6_371_000, 580_000, 6_376_000]);
      const union = (await app.inject({ url: '/api/v1/epcis/200023737?crs=EPSG:2154' })).json();
      expect(union).toMatchObject({ type: 'Feature', id: '200023737', properties: { name: 'CA du Grand Cahors', kind: 'CA' } });
      const area = await db.query<{ a: number }>(`SELECT ST_Area(ST_SetSRID(ST_GeomFromGeoJSON($1::text), 2154)) AS a`, [JSON.stringify(union.geometry)]);
      // Cahors 25 km² + Pradines 20 km² + Arcambal's two triangles 4.5 km².
      expect(Number(area.rows[0]?.a)).toBeCloseTo(49_500_000, -3);
      expect((await app.inject({ url: '/api/v1/epcis/123456789' })).statusCode).toBe(404);
    });

    it('the demo draws synthetic outlines only where no outline was imported', async () => {
      const before = await ensureDemoCommunes(ctx, DEMO_DELIVERY.bbox);
      expect(before.created).toBe(false);
      await db.query(`UPDATE communes SET geom = NULL, geom_source = NULL`);
      const made = await ensureDemoCommunes(ctx, DEMO_DELIVERY.bbox);
      expect(made.created).toBe(true);
      const { rows } = await db.query<{ insee: string }>(
        `SELECT insee FROM communes WHERE geom_source = 'synthetic-demo' AND ST_Contains(geom, ST_MakeEnvelope($1, $2, $3, $4, 2154))`,
        [...DEMO_DELIVERY.bbox],
      );
      expect(rows.map((r) => r.insee)).toEqual(['46042']);
      const overlaps = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM communes a JOIN communes b ON a.insee < b.insee AND ST_Overlaps(a.geom, b.geom)`);
      expect(overlaps.rows[0]?.n).toBe(0);
      expect((await db.query(`SELECT 1 FROM communes WHERE geom IS NOT NULL`)).rows).toHaveLength(6);
    });
  });
});
