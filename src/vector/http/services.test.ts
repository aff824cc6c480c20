import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/config.js';
import { transformPoint } from '../../grid/crs.js';
import { tileAt, TMS_2154_5CM, TMS_WEB_MERCATOR_QUAD } from '../../grid/tile-matrix-set.js';
import { buildAppContext, type AppContext } from '../../context/app-context.js';
import { buildServer } from '../../server/app.js';
import { ENGINES, type TestDatabase } from '../../test-support/db.js';
import { gdal } from '../../test-support/gdal.js';
import { execTool } from '../../util/exec.js';
import { validateGmlFile } from '../gml/validate.js';
import { countsByClass } from '../store.js';
import { fixture, importVersion, LYON_BBOX, LYON_FILES } from '../test-support/vector-fixture.js';

describe.each(ENGINES)('vector services ($engine)', ({ open }) => {
  let t: TestDatabase;
  let app: Awaited<ReturnType<typeof buildServer>>;
  let url: string;
  let counts: Record<string, number>;
  let total: number;
  let sample: [number, number];
  beforeAll(async () => {
    t = await open();
    const dataDir = t.env.PCRS_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'pcrs-vsrv-'));
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' });
    const { versionId } = await importVersion(t.db, 'lyon', LYON_FILES.map(fixture));
    counts = await countsByClass(t.db, { versionId });
    total = Object.values(counts).reduce((a, b) => a + b, 0);
    const p = await t.db.query<{ x: number; y: number }>(`SELECT ST_X(ST_StartPoint(geometry)) AS x, ST_Y(ST_StartPoint(geometry)) AS y FROM vector_features WHERE class = 'LimiteVoiriePCRS' LIMIT 1`);
    sample = [p.rows[0]?.x as number, p.rows[0]?.y as number];
    const ctx: AppContext = buildAppContext(config, t.db);
    app = await buildServer(ctx, { logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('OGC API: the landing page links an OpenAPI 3.0 definition whose paging limit and filters match the service', async () => {
    const landing = (await app.inject('/ogc')).json() as { links: Array<{ rel: string; type?: string; href: string }> };
    // QGIS' OAPIF provider refuses a landing page without exactly this link.
    const desc = landing.links.find((l) => l.rel === 'service-desc');
    expect(desc?.type).toBe('application/vnd.oai.openapi+json;version=3.0');
    const res = await app.inject(new URL(desc!.href).pathname);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/vnd\.oai\.openapi\+json; ?version="?3\.0/);
    const api = res.json() as { openapi: string; paths: Record<string, { get: { parameters: Array<Record<string, unknown>> } }>; components: { parameters: Record<string, { schema: { maximum?: number } }> } };
    expect(api.openapi).toMatch(/^3\.0\./);
    expect(api.components.parameters.limit?.schema.maximum).toBe(10_000);
    // Every $ref resolves inside the document.
    const refs = JSON.stringify(api).match(/"\$ref":"#\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const r of new Set(refs)) {
      const target = (r.slice(10, -1).split('/') as string[]).reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], api);
      expect(target, r).toBeDefined();
    }
    // The CNIG attributes of a class are its filters, and a filter given there works.
    const lvPath = api.paths['/collections/LimiteVoiriePCRS/items'];
    expect(lvPath?.get.parameters.some((p) => p.name === 'thematique')).toBe(true);
    const filtered = (await app.inject('/ogc/collections/LimiteVoiriePCRS/items?limit=1&thematique=99')).json() as { numberMatched: number };
    expect(filtered.numberMatched).toBe(0);
    for (const p of ['/', '/conformance', '/collections', '/collections/{collectionId}/items', '/tileMatrixSets']) expect(api.paths[p], p).toBeDefined();
    const conf = (await app.inject('/ogc/conformance')).json() as { conformsTo: string[] };
    expect(conf.conformsTo).toContain('http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30');
  });

  it('OGC API Features: conformance, collections with extents, items with bbox, paging, filters, CRS', async () => {
    const conf = (await app.inject('/ogc/conformance')).json() as { conformsTo: string[] };
    expect(conf.conformsTo).toEqual(expect.arrayContaining(['http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core', 'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs']));
    const cols = (await app.inject('/ogc/collections')).json() as { collections: Array<{ id: string; extent: { spatial: { bbox: number[][] } } }> };
    const lv = cols.collections.find((c) => c.id === 'LimiteVoiriePCRS');
    expect(lv?.extent.spatial.bbox[0]?.[0]).toBeCloseTo(4.8, 0); // Lyon, CRS84
    const page1 = (await app.inject('/ogc/collections/LimiteVoiriePCRS/items?limit=5')).json();
    expect(page1).toMatchObject({ type: 'FeatureCollection', numberMatched: counts.LimiteVoiriePCRS, numberReturned: 5 });
    const next = page1.links.find((l: { rel: string }) => l.rel === 'next');
    expect(next.href).toMatch(/offset=5/);
    const lon = page1.features[0].geometry.coordinates[0][0];
    expect(lon).toBeGreaterThan(4.7);
    expect(lon).toBeLessThan(5);
    const page2 = (await app.inject(new URL(next.href).pathname + new URL(next.href).search)).json();
    expect(page2.links.some((l: { rel: string }) => l.rel === 'prev')).toBe(true);
    expect(page2.features[0].id).not.toBe(page1.features[0].id);
    // crs=EPSG:2154 and EPSG:4326 (lat/lon) with the Content-Crs header.
    const l93 = await app.inject('/ogc/collections/LimiteVoiriePCRS/items?limit=1&crs=http://www.opengis.net/def/crs/EPSG/0/2154');
    expect(l93.headers['content-crs']).toBe('<http://www.opengis.net/def/crs/EPSG/0/2154>');
    expect(l93.json().features[0].geometry.coordinates[0][0]).toBeGreaterThan(800000);
    const ll = (await app.inject('/ogc/collections/LimiteVoiriePCRS/items?limit=1&crs=EPSG:4326')).json();
    expect(ll.features[0].geometry.coordinates[0][0]).toBeGreaterThan(45);
    // bbox in Lambert-93 around one vertex; property filter; datetime.
    const [x, y] = sample;
    const inBox = (await app.inject(`/ogc/collections/LimiteVoiriePCRS/items?bbox=${x - 1},${y - 1},${x + 1},${y + 1}&bbox-crs=EPSG:2154&limit=100`)).json();
    expect(inBox.numberMatched).toBeGreaterThan(0);
    expect(inBox.numberMatched).toBeLessThan(counts.LimiteVoiriePCRS as number);
    const [lo, la] = transformPoint('EPSG:2154', 'OGC:CRS84', [x, y]);
    const inBox84 = (await app.inject(`/ogc/collections/LimiteVoiriePCRS/items?bbox=${lo - 1e-5},${la - 1e-5},${lo + 1e-5},${la + 1e-5}`)).json();
    expect(inBox84.numberMatched).toBe(inBox.numberMatched);
    const them = (await app.inject('/ogc/collections/LimiteVoiriePCRS/items?thematique=03&limit=1')).json();
    expect(them.numberMatched).toBeGreaterThan(0);
    expect((await app.inject('/ogc/collections/LimiteVoiriePCRS/items?thematique=99&limit=1')).json().numberMatched).toBe(0);
    expect((await app.inject('/ogc/collections/LimiteVoiriePCRS/items?datetime=2100-01-01/..')).json().numberMatched).toBe(0);
    const one = (await app.inject(`/ogc/collections/LimiteVoiriePCRS/items/${page1.features[0].id}`)).json();
    expect(one.properties.idObjet).toBe(page1.features[0].properties.idObjet);
    expect((await app.inject('/ogc/collections/LimiteVoiriePCRS/items?crs=EPSG:27572')).statusCode).toBe(400);
    // GML items: a CNIG PCRS v2.0 document that validates.
    const gml = await app.inject('/ogc/collections/LimiteVoiriePCRS/items?f=gml&limit=1000');
    expect(gml.headers['content-type']).toMatch(/^application\/gml\+xml/);
    const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-ogc-gml-'));
    const file = path.join(dir, 'items.gml');
    (await import('node:fs')).writeFileSync(file, gml.body);
    const rep = await validateGmlFile(file, { territoryBbox: LYON_BBOX });
    expect(rep.valid, JSON.stringify(rep.findings.slice(0, 3))).toBe(true);
    expect(rep.featuresByClass).toEqual({ LimiteVoiriePCRS: counts.LimiteVoiriePCRS });
    expect((await app.inject('/ogc/collections/Nope/items')).statusCode).toBe(404);
  });

  it("GDAL's OAPIF driver reads the collections with the stored counts", async () => {
    const out = await gdal('ogrinfo', ['-ro', '-so', '-al', `OAPIF:${url}/ogc`]);
    for (const [cls, n] of Object.entries(counts)) {
      if (cls === 'AffleurantPCRS' || cls === 'AffleurantGeometriquePCRS') continue; // no geometry: still listed
      expect(out, cls).toMatch(new RegExp(`Layer name: ${cls}\\n[\\s\\S]*?Feature Count: ${n}\\n`));
    }
    // Reading every feature through the paging links.
    const all = await gdal('ogrinfo', ['-ro', '-al', '-q', `OAPIF:${url}/ogc`, 'ArbrePCRS']);
    expect((all.match(/OGRFeature\(ArbrePCRS\)/g) ?? []).length).toBe(counts.ArbrePCRS);
  });

  it("WFS 2.0: GetCapabilities, DescribeFeatureType, GetFeature (GML 3.2, JSON, BBOX, paging) and GDAL's WFS driver", async () => {
    const caps = await app.inject('/wfs?SERVICE=WFS&REQUEST=GetCapabilities');
    expect(caps.body).toMatch(/<wfs:Name>pcrs:LimiteVoiriePCRS<\/wfs:Name>/);
    const dft = await app.inject('/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=DescribeFeatureType&TYPENAMES=pcrs:ArbrePCRS');
    expect(dft.body).toMatch(/name="ArbrePCRS"/);
    const hits = await app.inject('/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=pcrs:ArbrePCRS&RESULTTYPE=hits');
    expect(hits.body).toMatch(new RegExp(`numberMatched="${counts.ArbrePCRS}"`));
    const page = await app.inject('/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=pcrs:ArbrePCRS&COUNT=2&STARTINDEX=1');
    expect(page.body).toMatch(/numberReturned="2"/);
    expect(page.body).toMatch(/<gml:Point gml:id="[^"]+" srsName="urn:ogc:def:crs:EPSG::2154" srsDimension="3">/);
    const [x, y] = sample;
    const json = (await app.inject(`/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=pcrs:LimiteVoiriePCRS&BBOX=${x - 1},${y - 1},${x + 1},${y + 1}&OUTPUTFORMAT=application/json`)).json();
    expect(json.numberMatched).toBeGreaterThan(0);
    expect(json.numberMatched).toBeLessThan(counts.LimiteVoiriePCRS as number);
    expect((await app.inject('/wfs?SERVICE=WFS&REQUEST=GetFeature&TYPENAMES=pcrs:Nope')).body).toMatch(/ExceptionReport/);

    const out = await gdal('ogrinfo', ['-ro', '-so', '-al', `WFS:${url}/wfs`]);
    for (const cls of ['LimiteVoiriePCRS', 'ArbrePCRS', 'HabillageLignesPCRS']) {
      expect(out, cls).toMatch(new RegExp(`Layer name: pcrs:${cls}\\n[\\s\\S]*?Feature Count: ${counts[cls]}\\n`));
    }
    // A spatial filter: GDAL sends a fes:BBOX FILTER.
    const spat = await gdal('ogrinfo', ['-ro', '-so', `WFS:${url}/wfs`, 'pcrs:LimiteVoiriePCRS', '-spat', String(x - 1), String(y - 1), String(x + 1), String(y + 1)]);
    expect(spat).toMatch(new RegExp(`Feature Count: ${json.numberMatched}\\n`));
    const filtered = await app.inject(
      `/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=pcrs:LimiteVoiriePCRS&RESULTTYPE=hits&FILTER=${encodeURIComponent(
        `<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0" xmlns:gml="http://www.opengis.net/gml/3.2"><fes:BBOX><fes:ValueReference>geometrie</fes:ValueReference><gml:Envelope srsName="urn:ogc:def:crs:EPSG::2154"><gml:lowerCorner>${x - 1} ${y - 1}</gml:lowerCorner><gml:upperCorner>${x + 1} ${y + 1}</gml:upperCorner></gml:Envelope></fes:BBOX></fes:Filter>`,
      )}`,
    );
    expect(filtered.body).toMatch(new RegExp(`numberMatched="${json.numberMatched}"`));
    expect((await app.inject('/wfs?SERVICE=WFS&REQUEST=GetFeature&TYPENAMES=pcrs:ArbrePCRS&FILTER=%3CFilter%3E%3CPropertyIsEqualTo%2F%3E%3C%2FFilter%3E')).body).toMatch(/InvalidParameterValue/);
    const feats = await gdal('ogrinfo', ['-ro', '-al', '-q', `WFS:${url}/wfs`, 'pcrs:ArbrePCRS']);
    expect((feats.match(/OGRFeature\(pcrs:ArbrePCRS\)/g) ?? []).length).toBe(counts.ArbrePCRS);
    expect(feats).toMatch(/POINT Z \(/);
  });

  it('vector tiles in 2154_5cm and WebMercatorQuad, and the default style', async () => {
    const [x, y] = sample;
    for (const [tms, pt] of [
      [TMS_2154_5CM, [x, y]],
      [TMS_WEB_MERCATOR_QUAD, transformPoint('EPSG:2154', 'EPSG:3857', [x, y])],
    ] as const) {
      const z = tms === TMS_2154_5CM ? 16 : 17;
      const tile = tileAt(tms, z, pt[0], pt[1]);
      expect(tile).not.toBeNull();
      const res = await app.inject(`/tiles/vector/${tms.id}/${z}/${tile?.col}/${tile?.row}.mvt`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/vnd.mapbox-vector-tile');
      const vt = new VectorTile(new PbfReader(res.rawPayload));
      const layer = vt.layers.pcrs;
      expect(layer?.length).toBeGreaterThan(0);
      const f = layer?.feature(0);
      expect(f?.properties.class).toBeTruthy();
      const geom = f?.loadGeometry().flat() ?? [];
      expect(geom.every((p) => p.x >= -64 && p.x <= 4096 + 64 && p.y >= -64 && p.y <= 4096 + 64)).toBe(true);
    }
    const style = (await app.inject('/tiles/vector/style.json')).json();
    expect(style.version).toBe(8);
    expect(style.sources.pcrs.tiles[0]).toMatch(/\/tiles\/vector\/WebMercatorQuad\/\{z\}\/\{x\}\/\{y\}\.mvt$/);
    expect((await app.inject('/tiles/vector/2154_5cm/3/0/0.mvt')).statusCode).toBe(200);
    expect((await app.inject('/tiles/vector/nope/3/0/0.mvt')).statusCode).toBe(400);
  });

  it('export endpoint: GML that validates, GeoPackage', async () => {
    const [x, y] = sample;
    const res = await app.inject(`/api/vector/export?format=gml&bbox=${x - 50},${y - 50},${x + 50},${y + 50}`);
    expect(res.statusCode).toBe(200);
    const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-vexp-'));
    const file = path.join(dir, 'a.gml');
    (await import('node:fs')).writeFileSync(file, res.rawPayload);
    const report = await validateGmlFile(file, { territoryBbox: LYON_BBOX });
    expect(report.valid).toBe(true);
    expect(report.featureCount).toBeGreaterThan(0);
    expect(report.featureCount).toBeLessThan(total);
    const gpkg = await app.inject({ method: 'POST', url: '/api/vector/export', payload: { format: 'gpkg', polygon: { type: 'Polygon', coordinates: [[[x - 50, y - 50], [x + 50, y - 50], [x + 50, y + 50], [x - 50, y - 50]]] } } });
    expect(gpkg.statusCode).toBe(200);
    const gp = path.join(dir, 'a.gpkg');
    (await import('node:fs')).writeFileSync(gp, gpkg.rawPayload);
    const info = await execTool('ogrinfo', ['-ro', '-so', gp]);
    expect(info.stdout).toMatch(/LimiteVoiriePCRS/);
    expect((await app.inject('/api/vector/export?format=xls&bbox=0,0,1,1')).statusCode).toBe(400);
  });
});
