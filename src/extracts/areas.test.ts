/**
 * Areas from files and from an organisation's perimeter, end to end on PGlite and PostgreSQL over
 * the streams fixture: a KML (WGS84), a GeoPackage (made here by ogr2ogr, in Web Mercator) and a
 * GeoJSON (two overlapping polygons in Lambert-93) uploaded to /api/v1/extracts/areas give the
 * Lambert-93 area that POST /api/v1/extracts turns into a ZIP of the right masters; an XXE KML, a
 * point file, an oversized body, a bow-tie, a file outside the territory are refused; an
 * organisation's perimeter serves its members and nobody else. `pcrs extract` reads the same files.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessStore } from '../access/store.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { buildServer } from '../server/app.js';
import { ensureOrganisation, userWithKey } from '../test-support/access.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES } from '../test-support/db.js';
import { execTool } from '../util/exec.js';
import { MAX_AREA_FILE_BYTES } from './area-file.js';
import { extractsCapability } from './capability.js';

const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
type Box = [number, number, number, number];
const ring = ([x0, y0, x1, y1]: Box) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
const rect = (b: Box) => ({ type: 'Polygon' as const, coordinates: [ring(b)], crs: L93 });
/** The south-west dalle and a bit of its east neighbour (two masters). */
const TWO_DALLES: Box = [575_050, 6_373_450, 575_250, 6_373_550];

/** A box's outline in WGS84 (longitude, latitude), by PostGIS. */
async function wgs84Ring(ctx: AppContext, b: Box): Promise<number[][]> {
  const { rows } = await ctx.db.query<{ g: string }>(`SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($1::text), 2154), 4326), 9) AS g`, [JSON.stringify({ type: 'Polygon', coordinates: [ring(b)] })]);
  return (JSON.parse(rows[0]?.g as string) as { coordinates: number[][][] }).coordinates[0] as number[][];
}

const kmlOf = (placemarks: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Zone</name>${placemarks}</Document></kml>\n`;
const kmlPolygon = (r: number[][]) => `<Placemark><name>zone</name><Polygon><outerBoundaryIs><LinearRing><coordinates>${r.map((p) => `${p[0]},${p[1]},0`).join(' ')}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>`;

/** A GeoPackage made by GDAL from a GeoJSON (Lambert-93 in, `srs` out). */
async function gpkgOf(dir: string, name: string, geojson: unknown, srs = 'EPSG:3857'): Promise<Buffer> {
  const src = path.join(dir, `${name}.geojson`);
  const out = path.join(dir, `${name}.gpkg`);
  writeFileSync(src, JSON.stringify(geojson));
  const r = await execTool('ogr2ogr', ['-f', 'GPKG', out, src, '-t_srs', srs, '-nln', 'zone']);
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(out);
}

describe.each(ENGINES)('extract areas on $engine', ({ engine, open }) => {
  let f: StreamsFixture;
  let ctx: AppContext;
  let app: FastifyInstance;
  let key: string;
  let otherKey: string;
  let adminKey: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-extract-areas-'));
  const withKey = (k: string, o: InjectOptions): InjectOptions => ({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${k}` } });
  const upload = (body: Buffer | string, contentType: string, k = key) => app.inject(withKey(k, { method: 'POST', url: '/api/v1/extracts/areas', payload: body, headers: { 'content-type': contentType } }));

  beforeAll(async () => {
    f = await streamsFixture({}, { ...(engine === 'postgres' ? { open } : {}) });
    ctx = buildAppContext({ ...f.config, extracts: { keepDays: 7, maxBytes: 50e9, maxAreaKm2: 1000 } }, f.t.db);
    key = (await userWithKey(ctx, 'geometre@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read', 'downloads'] })).key;
    otherKey = (await userWithKey(ctx, 'autre@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['read', 'downloads'] })).key;
    adminKey = (await userWithKey(ctx, 'admin@fdel.fr', { platformRoles: ['platform-admin'], scopes: ['downloads', 'admin'] })).key;
    // Cahors holds two permissions: one over the south-west dalle, one (revoked) elsewhere.
    const access = new AccessStore(ctx.db);
    const cahors = await ensureOrganisation(ctx, 'cahors', 'commune');
    await access.grantPermission({ organisationId: cahors, userId: null, datasetId: 'ortho', versionName: null, perimeterEwkt: 'SRID=2154;MULTIPOLYGON(((575010 6373410,575190 6373410,575190 6373590,575010 6373590,575010 6373410)))', validUntil: null, charter: null, grantedBy: null });
    const revoked = await access.grantPermission({ organisationId: cahors, userId: null, datasetId: 'vector', versionName: null, perimeterEwkt: 'SRID=2154;MULTIPOLYGON(((575210 6373610,575390 6373610,575390 6373790,575210 6373790,575210 6373610)))', validUntil: null, charter: null, grantedBy: null });
    await access.revokePermission(revoked);
    await ensureOrganisation(ctx, 'lot-numerique');
    app = await buildServer(ctx, { logger: false, capabilities: [extractsCapability] });
    await app.ready();
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    await f?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Asks with this area, waits for ready, answers the names of the masters in the ZIP's manifest. */
  async function mastersOf(area: unknown, k = key): Promise<{ masters: string[]; state: Record<string, unknown> }> {
    const created = await app.inject(withKey(k, { method: 'POST', url: '/api/v1/extracts', payload: { area, contents: ['ortho-master'] } }));
    expect([201, 202], created.body).toContain(created.statusCode);
    let state: Record<string, unknown> = created.json();
    for (let i = 0; i < 600 && state.state !== 'ready'; i++) {
      expect(state.state).not.toBe('failed');
      await new Promise((r) => setTimeout(r, 100));
      state = (await app.inject(withKey(k, { url: `/api/v1/extracts/${String(state.id)}` }))).json();
    }
    const zip = path.join(dir, `extract-${String(state.id)}.zip`);
    writeFileSync(zip, (await app.inject(withKey(k, { url: `/api/v1/extracts/${String(state.id)}/download` }))).rawPayload);
    const out = path.join(dir, `extract-${String(state.id)}`);
    expect((await execTool('unzip', ['-q', zip, '-d', out])).code).toBe(0);
    const manifest = readFileSync(path.join(out, 'MANIFEST.sha256'), 'utf8');
    expect((await execTool('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: out })).code).toBe(0);
    return { masters: manifest.split('\n').filter((l) => l.endsWith('.tif')).map((l) => l.split('  ')[1] as string).sort(), state };
  }

  it('a KML, a GeoPackage and a GeoJSON upload each give the area of the same two masters', async () => {
    const drawn = await mastersOf({ geometry: rect(TWO_DALLES) });
    expect(drawn.masters).toHaveLength(2);

    const kml = await upload(kmlOf(kmlPolygon(await wgs84Ring(ctx, TWO_DALLES))), 'application/vnd.google-earth.kml+xml');
    expect(kml.statusCode, kml.body).toBe(200);
    expect(kml.json()).toMatchObject({ format: 'kml', polygons: 1, geometry: { type: 'MultiPolygon', crs: L93 } });
    expect(kml.json().km2).toBeCloseTo(0.02, 4);
    expect((await mastersOf({ geometry: kml.json().geometry })).masters).toEqual(drawn.masters);

    // A GeoPackage in Web Mercator, sent as multipart/form-data with a misleading name.
    const gpkg = await gpkgOf(dir, 'zone', { type: 'FeatureCollection', crs: L93, features: [{ type: 'Feature', properties: { nom: 'zone' }, geometry: { type: 'Polygon', coordinates: [ring(TWO_DALLES)] } }] });
    const boundary = '----pcrs-area';
    const multipart = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="zone.kml"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      gpkg,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const fromGpkg = await upload(multipart, `multipart/form-data; boundary=${boundary}`);
    expect(fromGpkg.statusCode, fromGpkg.body).toBe(200);
    expect(fromGpkg.json()).toMatchObject({ format: 'gpkg', polygons: 1 });
    expect(fromGpkg.json().km2).toBeCloseTo(0.02, 3);
    expect((await mastersOf({ geometry: fromGpkg.json().geometry })).masters).toEqual(drawn.masters);
    // The same bytes as a raw body: the same answer.
    expect((await upload(gpkg, 'application/geopackage+sqlite3')).json().geometry).toEqual(fromGpkg.json().geometry);

    // Two overlapping Lambert-93 polygons: unioned into one.
    const [x0, y0, x1, y1] = TWO_DALLES;
    const two = { type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } }, features: [[x0, y0, x0 + 120, y1], [x0 + 80, y0, x1, y1]].map((b) => ({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [ring(b as Box)] } })) };
    const geojson = await upload(JSON.stringify(two), 'application/geo+json');
    expect(geojson.statusCode, geojson.body).toBe(200);
    expect(geojson.json()).toMatchObject({ format: 'geojson', polygons: 2 });
    expect(geojson.json().geometry.coordinates).toHaveLength(1);
    expect(geojson.json().km2).toBeCloseTo(0.02, 6);
    expect(geojson.json().bbox).toEqual(TWO_DALLES);
    expect((await mastersOf({ geometry: geojson.json().geometry })).masters).toEqual(drawn.masters);
  }, 180_000);

  it('refuses an XXE KML, points, lines, oversized and unknown files, bow-ties and areas outside the territory', async () => {
    const square = await wgs84Ring(ctx, TWO_DALLES);
    const xxe = `<?xml version="1.0"?>\n<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>&xxe;</name>${kmlPolygon(square)}</Document></kml>`;
    const refused = await upload(xxe, 'application/vnd.google-earth.kml+xml');
    expect(refused.statusCode).toBe(400);
    expect(refused.json().type).toBe('urn:pcrs:problem:unsafe-xml');
    expect(refused.body).not.toContain('root:');
    const points = await upload(JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: square[0] } }] }), 'application/geo+json');
    expect(points.statusCode).toBe(400);
    expect(points.json()).toMatchObject({ type: 'urn:pcrs:problem:not-a-polygon', detail: expect.stringContaining('1 point') });
    const line = await upload(kmlOf(`<Placemark><LineString><coordinates>${square.map((p) => p.join(',')).join(' ')}</coordinates></LineString></Placemark>`), 'application/octet-stream');
    expect(line.json()).toMatchObject({ type: 'urn:pcrs:problem:not-a-polygon', detail: expect.stringContaining('1 line') });
    const pointsGpkg = await gpkgOf(dir, 'points', { type: 'FeatureCollection', crs: L93, features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [575_100, 6_373_500] } }] });
    expect((await upload(pointsGpkg, 'application/octet-stream')).json().type).toBe('urn:pcrs:problem:not-a-polygon');

    const big = Buffer.alloc(MAX_AREA_FILE_BYTES + 1, 0x20);
    const tooBig = await upload(big, 'application/geo+json');
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().type).toBe('urn:pcrs:problem:area-file-too-large');
    const boundary = '----pcrs-big';
    const bigPart = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.geojson"\r\n\r\n`), big, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    expect((await upload(bigPart, `multipart/form-data; boundary=${boundary}`)).statusCode).toBe(413);

    expect((await upload(Buffer.from('\x89PNG\r\n\x1a\n0000'), 'application/octet-stream')).statusCode).toBe(415);
    expect((await upload('zone', 'text/plain')).statusCode).toBe(415);
    const bowtie = { type: 'Polygon', crs: L93, coordinates: [[[575_000, 6_373_400], [575_400, 6_373_800], [575_400, 6_373_400], [575_000, 6_373_800], [575_000, 6_373_400]]] };
    const crossed = await upload(JSON.stringify(bowtie), 'application/geo+json');
    expect(crossed.statusCode).toBe(400);
    expect(crossed.json().type).toBe('urn:pcrs:problem:invalid-area');
    const far = await upload(JSON.stringify(rect([100_000, 6_000_000, 100_100, 6_000_100])), 'application/geo+json');
    expect(far.json().type).toBe('urn:pcrs:problem:outside-territory');
    expect((await app.inject({ method: 'POST', url: '/api/v1/extracts/areas', payload: JSON.stringify(rect(TWO_DALLES)), headers: { 'content-type': 'application/geo+json' } })).statusCode).toBe(401);
  }, 120_000);

  it('an organisation’s perimeter: the union of its live permissions, for its members (and admins) only', async () => {
    const mine = await mastersOf({ organisation: 'cahors' });
    expect(mine.state).toMatchObject({ area: { kind: 'organisation', code: 'cahors', label: 'périmètre de CAHORS' } });
    // Only the south-west dalle: the revoked permission's perimeter is not part of it.
    expect(mine.masters).toHaveLength(1);
    expect((await mastersOf({ organisation: 'cahors' }, adminKey)).masters).toEqual(mine.masters);
    const ask = (org: string, k: string) => app.inject(withKey(k, { method: 'POST', url: '/api/v1/extracts', payload: { area: { organisation: org }, contents: ['ortho-master'] } }));
    const stranger = await ask('cahors', otherKey);
    expect(stranger.statusCode).toBe(403);
    expect(stranger.json().type).toBe('urn:pcrs:problem:not-a-member');
    const none = await ask('sdis46', otherKey);
    expect(none.statusCode).toBe(400);
    expect(none.json().type).toBe('urn:pcrs:problem:no-perimeter');
    expect((await ask('nowhere', adminKey)).json().type).toBe('urn:pcrs:problem:unknown-organisation');
    expect((await ask('lot-numerique', adminKey)).json().type).toBe('urn:pcrs:problem:no-perimeter');
  }, 120_000);
});

describe.each(ENGINES)('pcrs extract --area FILE / --organisation on $engine', ({ engine, open }) => {
  let f: StreamsFixture;
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-extract-areas-cli-'));
  let kml: string;
  beforeAll(async () => {
    f = await streamsFixture({}, { ...(engine === 'postgres' ? { open } : {}) });
    const cahors = await ensureOrganisation(f.ctx, 'cahors', 'commune');
    await new AccessStore(f.ctx.db).grantPermission({ organisationId: cahors, userId: null, datasetId: 'ortho', versionName: null, perimeterEwkt: 'SRID=2154;MULTIPOLYGON(((575010 6373410,575190 6373410,575190 6373590,575010 6373590,575010 6373410)))', validUntil: null, charter: null, grantedBy: null });
    kml = path.join(dir, 'zone.kml');
    writeFileSync(kml, kmlOf(kmlPolygon(await wgs84Ring(f.ctx, TWO_DALLES))));
    writeFileSync(path.join(dir, 'zone.gpkg'), await gpkgOf(dir, 'zone-src', { type: 'FeatureCollection', crs: L93, features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [ring(TWO_DALLES)] } }] }, 'EPSG:2154'));
    await f.app.close();
    if (engine === 'pglite') await f.t.db.close();
  }, 240_000);
  afterAll(async () => {
    await f?.dispose().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a KML and a GeoPackage as the upload route does; takes an organisation; refuses a point file', async () => {
    for (const file of [kml, path.join(dir, 'zone.gpkg')]) {
      const out = path.join(dir, `${path.basename(file)}.zip`);
      const run = await runPcrs(f.t, f.config.dataDir, ['extract', '--area', file, '--content', 'ortho-master', '-o', out, '--json']);
      expect(run.code, run.stderr).toBe(0);
      const list = await execTool('unzip', ['-Z1', out]);
      expect(list.stdout.split('\n').filter((l) => l.endsWith('.tif'))).toHaveLength(2);
    }
    const byOrg = await runPcrs(f.t, f.config.dataDir, ['extract', '--organisation', 'cahors', '--content', 'ortho-master', '-o', path.join(dir, 'org.zip'), '--json']);
    expect(byOrg.code, byOrg.stderr).toBe(0);
    expect(JSON.parse(byOrg.stdout)).toMatchObject({ area: { kind: 'organisation', code: 'cahors' } });
    const point = path.join(dir, 'point.geojson');
    writeFileSync(point, JSON.stringify({ type: 'Point', coordinates: [1.44, 44.45] }));
    const refused = await runPcrs(f.t, f.config.dataDir, ['extract', '--area', point, '--content', 'ortho-master', '-o', path.join(dir, 'x.zip')]);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain('polygons only');
  }, 180_000);

  it('--delivery urls writes the list of signed URLs (aria2c’s format here); refuses without a public URL', async () => {
    const list = path.join(dir, 'list.aria2');
    const args = ['extract', '--area', kml, '--content', 'ortho-master', '--delivery', 'urls', '--format', 'aria2', '-o', list, '--json'];
    expect((await runPcrs(f.t, f.config.dataDir, args)).code).toBe(78);
    process.env.PCRS_PUBLIC_URL = 'https://pcrs.example.fr/';
    try {
      const run = await runPcrs(f.t, f.config.dataDir, args);
      expect(run.code, run.stderr).toBe(0);
      const summary = JSON.parse(run.stdout) as { id: number; files: number };
      const lines = readFileSync(list, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(summary.files * 3);
      for (let i = 0; i < lines.length; i += 3) {
        expect(lines[i]).toMatch(new RegExp(`^https://pcrs\\.example\\.fr/api/v1/extracts/${summary.id}/files/\\d+/[\\w./-]+\\?expires=\\d+&sig=[\\w-]{43}$`));
        expect(lines[i + 1]).toMatch(/^ {2}out=[\w./-]+$/);
        expect(lines[i + 2]).toMatch(/^ {2}checksum=sha-256=[0-9a-f]{64}$/);
      }
      expect(lines.filter((l) => l.startsWith('  out=ortho/') && l.endsWith('.tif'))).toHaveLength(2);
    } finally {
      delete process.env.PCRS_PUBLIC_URL;
    }
  }, 120_000);
});
