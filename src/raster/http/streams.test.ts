import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transformBbox, transformPoint } from '../../grid/crs.js';
import { tileAt, tileBbox, TMS_2154_5CM, TMS_WEB_MERCATOR_QUAD } from '../../grid/tile-matrix-set.js';
import { PyramidReader } from '../pyramid/pyramid-reader.js';
import { LocalObjectStore } from '../../storage/local-store.js';
import { openTier } from '../../storage/tiers.js';
import { psnr } from '../../test-support/gdal.js';
import { BASE_BBOX, streamsFixture, type StreamsFixture } from '../test-support/streams-fixture.js';

let f: StreamsFixture;
let reader: PyramidReader;
// A level-22 tile inside the north-west 2025 dalle (575 000–575 200, 6 373 600–6 373 800), outside the update.
const IN = { z: 22, col: 44922, row: 439547 };
// A level-22 tile straddling the west edge of the coverage (x = 575 000).
const EDGE = { z: 22, col: 44921, row: 439547 };
// A level-22 tile inside the update (north-east dalle).
const UPD = tileAt(TMS_2154_5CM, 22, 575_300, 6_373_700) as { z: number; col: number; row: number };

const get = (url: string, headers: Record<string, string> = {}) => f.app.inject({ method: 'GET', url, headers });
const kvpTile = (o: Record<string, string | number>) =>
  `/wmts?${new URLSearchParams({ SERVICE: 'WMTS', REQUEST: 'GetTile', VERSION: '1.0.0', LAYER: 'PCRS.ORTHO.2025', STYLE: 'normal', FORMAT: 'image/jpeg', TILEMATRIXSET: '2154_5cm', TILEMATRIX: String(IN.z), TILEROW: String(IN.row), TILECOL: String(IN.col), ...Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)])) })}`;

beforeAll(async () => {
  f = await streamsFixture();
  reader = new PyramidReader(f.t.db, openTier(f.config, 'hot'), { quality: 85 });
}, 300_000);

afterAll(async () => {
  await reader?.close();
  await f?.dispose();
});

describe('WMTS', () => {
  it('serves capabilities (KVP and REST, gzip) with every layer, both sets and limits from the coverage', async () => {
    const kvp = await get('/wmts?SERVICE=WMTS&REQUEST=GetCapabilities');
    expect(kvp.statusCode).toBe(200);
    expect(kvp.headers['content-type']).toMatch(/xml/);
    const rest = await get('/wmts/1.0.0/WMTSCapabilities.xml', { 'accept-encoding': 'gzip' });
    expect(rest.headers['content-encoding']).toBe('gzip');
    const xml = gunzipSync(rest.rawPayload).toString();
    expect(xml).toBe(kvp.body);
    for (const id of ['PCRS.ORTHO', 'PCRS.ORTHO.2025', 'PCRS.ORTHO.maj-2026']) expect(xml).toContain(`<ows:Identifier>${id}</ows:Identifier>`);
    expect(xml).toContain('<ows:Identifier>2154_5cm</ows:Identifier>');
    expect(xml).toContain('<ows:Identifier>PM</ows:Identifier>');
    expect(xml).toContain('<ows:SupportedCRS>urn:ogc:def:crs:EPSG::2154</ows:SupportedCRS>');
    // Level-22 limits of the 2025 layer: exactly the tiles touching 575 000–575 400 × 6 373 400–6 373 800.
    const nw = tileAt(TMS_2154_5CM, 22, BASE_BBOX[0], BASE_BBOX[3] - 0.01)!;
    const se = tileAt(TMS_2154_5CM, 22, BASE_BBOX[2] - 0.01, BASE_BBOX[1])!;
    const layer2025 = xml.split('<Layer>').find((l) => l.includes('<ows:Identifier>PCRS.ORTHO.2025</ows:Identifier>'))!;
    expect(layer2025).toContain(`<TileMatrixLimits><TileMatrix>22</TileMatrix><MinTileRow>${nw.row}</MinTileRow><MaxTileRow>${se.row}</MaxTileRow><MinTileCol>${nw.col}</MinTileCol><MaxTileCol>${se.col}</MaxTileCol></TileMatrixLimits>`);
    expect(layer2025).toContain('template="http://localhost:80/wmts/1.0.0/PCRS.ORTHO.2025/{Style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.jpeg"');
    // Structure: one Contents, TileMatrix 6–22 for 2154_5cm and 0–21 for PM.
    expect(xml.match(/<TileMatrix><ows:Identifier>/g)).toHaveLength(17 + 22);
  });

  it('passes stored JPEG tiles through byte for byte, KVP and REST, with a strong ETag and 304s', async () => {
    const stored = await reader.versionTile((await f.ctx.catalog.getVersion('ortho', '2025')).id, IN.z, IN.col, IN.row);
    const r = await get(kvpTile({}));
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('image/jpeg');
    expect(r.rawPayload.equals(stored!.jpeg)).toBe(true);
    expect(r.headers.etag).toBe(stored!.etag);
    expect(r.headers['cache-control']).toMatch(/immutable/);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    const rest = await get(`/wmts/1.0.0/PCRS.ORTHO.2025/normal/2154_5cm/${IN.z}/${IN.row}/${IN.col}.jpeg`);
    expect(rest.rawPayload.equals(stored!.jpeg)).toBe(true);
    const nm = await get(kvpTile({}), { 'if-none-match': String(r.headers.etag) });
    expect(nm.statusCode).toBe(304);
    expect(nm.rawPayload.length).toBe(0);
    // Current layer: same bytes where only 2025 exists, short caching.
    const cur = await get(kvpTile({ LAYER: 'PCRS.ORTHO' }));
    expect(cur.rawPayload.equals(stored!.jpeg)).toBe(true);
    expect(cur.headers['cache-control']).toMatch(/max-age=300/);
  });

  it('the current layer shows the update where it exists; versions stay addressable', async () => {
    const a = await get(kvpTile({ LAYER: 'PCRS.ORTHO', TILEROW: UPD.row, TILECOL: UPD.col }));
    const old = await get(kvpTile({ LAYER: 'PCRS.ORTHO.2025', TILEROW: UPD.row, TILECOL: UPD.col }));
    const upd = await get(kvpTile({ LAYER: 'PCRS.ORTHO.maj-2026', TILEROW: UPD.row, TILECOL: UPD.col }));
    expect(a.rawPayload.equals(upd.rawPayload)).toBe(true);
    expect(a.rawPayload.equals(old.rawPayload)).toBe(false);
  });

  it('PNG and WebP carry the coverage mask as alpha', async () => {
    for (const [fmt, type] of [['image/png', 'png'], ['image/webp', 'webp']] as const) {
      const r = await get(kvpTile({ FORMAT: fmt, TILEROW: EDGE.row, TILECOL: EDGE.col }));
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe(fmt);
      const meta = await sharp(r.rawPayload).metadata();
      expect(meta.format).toBe(type);
      const alpha = (await sharp(r.rawPayload).stats()).channels[3]!;
      expect(alpha.min).toBe(0);
      expect(alpha.max).toBe(255);
      expect(r.headers.etag).toMatch(new RegExp(`-${type}"$`));
    }
  });

  it('renders PM tiles from the 2154 pyramid, caches them on disk by content and answers 304s', async () => {
    const c = transformPoint('EPSG:2154', 'EPSG:3857', [575_100, 6_373_700]);
    const t = tileAt(TMS_WEB_MERCATOR_QUAD, 19, c[0], c[1])!;
    const url = `/wmts/1.0.0/PCRS.ORTHO.2025/normal/PM/19/${t.row}/${t.col}.png`;
    const r = await get(url);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('image/png');
    const img = await sharp(r.rawPayload).raw().toBuffer({ resolveWithObject: true });
    expect(img.info.width).toBe(256);
    // The cache file is written behind the response.
    const cached = () => (existsSync(path.join(f.config.dataDir, 'cache', 'pm')) ? readdirSync(path.join(f.config.dataDir, 'cache', 'pm'), { recursive: true }).filter((x) => String(x).endsWith('.png')) : []);
    for (let i = 0; i < 50 && cached().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(cached().length).toBeGreaterThan(0);
    const again = await get(url);
    expect(again.headers.etag).toBe(r.headers.etag);
    expect(again.rawPayload.equals(r.rawPayload)).toBe(true);
    expect((await get(url, { 'if-none-match': String(r.headers.etag) })).statusCode).toBe(304);
    // The rendered PM tile matches a WMS-free reference: the same area warped by us in 3857 from level-22 tiles.
    const bbox = tileBbox(TMS_WEB_MERCATOR_QUAD, 19, t.col, t.row);
    const wms = await get(`/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO.2025&STYLES=&CRS=EPSG:3857&BBOX=${bbox.join(',')}&WIDTH=256&HEIGHT=256&FORMAT=image/png&TRANSPARENT=TRUE`);
    expect(wms.statusCode).toBe(200);
    expect(await psnr(r.rawPayload, wms.rawPayload)).toBeGreaterThan(30);
  });

  it('answers GetFeatureInfo with the dalles under the pixel (JSON and HTML, KVP and REST)', async () => {
    const r = await get(kvpTile({ REQUEST: 'GetFeatureInfo', I: 10, J: 10, INFOFORMAT: 'application/json', LAYER: 'PCRS.ORTHO', TILEROW: UPD.row, TILECOL: UPD.col }));
    expect(r.statusCode).toBe(200);
    const fc = r.json() as { features: Array<{ properties: { name: string; version: string; shown: boolean; download: string } }> };
    expect(fc.features.map((x) => x.properties.version)).toEqual(['maj-2026', '2025']);
    expect(fc.features[0]!.properties.shown).toBe(true);
    expect(fc.features[0]!.properties.name).toMatch(/^46-2026-0575.*LA93-0M05-RVB/);
    const html = await get(`/wmts/1.0.0/PCRS.ORTHO.2025/normal/2154_5cm/${IN.z}/${IN.row}/${IN.col}/5/5.html`);
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toContain('46-2025-');
  });

  it('the download link gives the delivered dalle byte for byte (ETag, ranges), from the NAS copy if object storage lost it', async () => {
    const r = await get(kvpTile({ REQUEST: 'GetFeatureInfo', I: 10, J: 10, INFOFORMAT: 'application/json', LAYER: 'PCRS.ORTHO.2025' }));
    const info = (r.json() as { features: Array<{ properties: { name: string; download: string } }> }).features[0]!.properties;
    const url = new URL(info.download);
    const original = readFileSync(f.baseFiles.find((p) => path.basename(p) === `${info.name}.tif`)!);
    const dl = await get(url.pathname);
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-type']).toBe('image/tiff');
    expect(dl.headers['content-disposition']).toBe(`attachment; filename="${info.name}.tif"`);
    expect(dl.rawPayload.equals(original)).toBe(true);
    const sha = createHash('sha256').update(original).digest();
    expect(dl.headers.etag).toBe(`"${sha.toString('hex')}"`);
    expect(dl.headers['repr-digest']).toBe(`sha-256=:${sha.toString('base64')}:`);
    expect((await get(url.pathname, { 'if-none-match': dl.headers.etag as string })).statusCode).toBe(304);
    const part = await get(url.pathname, { range: 'bytes=100-199' });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${original.length}`);
    expect(part.rawPayload.equals(original.subarray(100, 200))).toBe(true);
    expect((await get(url.pathname, { range: `bytes=${original.length}-` })).statusCode).toBe(416);
    const unknown = await get(url.pathname.replace(info.name, '46-2025-09999-69999-LA93-0M05-RVB'));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/problem\+json/);
    // Object storage lost it, the NAS copy answers.
    const master = (await f.ctx.catalog.assets.list({ kind: 'master', state: 'stored' })).find((a) => a.location.endsWith(`${info.name}.tif`))!;
    const intermediate = openTier(f.config, 'intermediate') as LocalObjectStore;
    const nas = openTier(f.config, 'nas') as LocalObjectStore;
    mkdirSync(path.dirname(nas.pathOf(master.location)), { recursive: true });
    renameSync(intermediate.pathOf(master.location), nas.pathOf(master.location));
    try {
      const fromNas = await get(url.pathname);
      expect(fromNas.statusCode).toBe(200);
      expect(fromNas.rawPayload.equals(original)).toBe(true);
    } finally {
      renameSync(nas.pathOf(master.location), intermediate.pathOf(master.location));
    }
  });
});

describe('XYZ, TileJSON, OGC API Tiles', () => {
  it('serves XYZ tiles in both sets and a transparent tile outside the coverage', async () => {
    const r = await get(`/tiles/PCRS.ORTHO.2025/2154_5cm/${IN.z}/${IN.col}/${IN.row}.jpeg`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('image/jpeg');
    const empty = await get('/tiles/PCRS.ORTHO/WebMercatorQuad/10/3/3.png');
    expect(empty.statusCode).toBe(200);
    expect((await sharp(empty.rawPayload).stats()).channels[3]!.max).toBe(0);
    expect((await get('/tiles/PCRS.ORTHO/WebMercatorQuad/10/3000/3.png')).statusCode).toBe(404);
    expect((await get('/tiles/NOPE/WebMercatorQuad/10/3/3.png')).statusCode).toBe(404);
    expect((await get('/tiles/PCRS.ORTHO/WebMercatorQuad/10/3/3.gif')).statusCode).toBe(400);
  });

  it('TileJSON 3.0 per layer', async () => {
    const tj = (await get('/tiles/PCRS.ORTHO.2025/tilejson.json')).json() as Record<string, unknown>;
    expect(tj.tilejson).toBe('3.0.0');
    expect(tj.tiles).toEqual(['http://localhost:80/tiles/PCRS.ORTHO.2025/WebMercatorQuad/{z}/{x}/{y}.jpeg']);
    const b = tj.bounds as number[];
    expect(b[0]).toBeCloseTo(transformBbox('EPSG:2154', 'OGC:CRS84', BASE_BBOX)[0], 6);
    expect(tj.maxzoom).toBe(21);
  });

  it('OGC API Tiles: conformance, tile matrix sets, collection tilesets, tiles', async () => {
    const conf = (await get('/ogc/conformance')).json() as { conformsTo: string[] };
    expect(conf.conformsTo).toContain('http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core');
    const sets = (await get('/ogc/tileMatrixSets')).json() as { tileMatrixSets: Array<{ id: string }> };
    expect(sets.tileMatrixSets.map((x) => x.id)).toEqual(['2154_5cm', 'WebMercatorQuad']);
    const tms = (await get('/ogc/tileMatrixSets/2154_5cm')).json() as { id: string; crs: string; tileMatrices: unknown[] };
    expect(tms.id).toBe('2154_5cm');
    expect(tms.tileMatrices).toHaveLength(23);
    const cols = (await get('/ogc/collections')).json() as { collections: Array<{ id: string; links: Array<{ rel: string; href: string }> }> };
    const c = cols.collections.find((x) => x.id === 'PCRS.ORTHO.2025')!;
    const tilesLink = c.links.find((l) => l.rel === 'http://www.opengis.net/def/rel/ogc/1.0/tilesets-map')!;
    const tilesets = (await get(new URL(tilesLink.href).pathname)).json() as { tilesets: Array<{ links: Array<{ rel: string; href: string }>; tileMatrixSetLimits: unknown[] }> };
    expect(tilesets.tilesets).toHaveLength(2);
    const item = tilesets.tilesets[0]!.links.find((l) => l.rel === 'item')!.href;
    const url = new URL(item.replace('{tileMatrix}', String(IN.z)).replace('{tileRow}', String(IN.row)).replace('{tileCol}', String(IN.col)));
    const tile = await get(url.pathname + url.search);
    expect(tile.statusCode).toBe(200);
    expect(tile.headers['content-type']).toBe('image/jpeg');
    expect((await get('/ogc/collections/PCRS.ORTHO.2025/map/tiles/2154_5cm/22/1/1')).statusCode).toBe(200);
    expect((await get('/ogc/collections/PCRS.ORTHO.2025/map/tiles/2154_5cm/23/1/1')).statusCode).toBe(404);
  });
});

describe('WMS 1.3.0', () => {
  const map = (o: Record<string, string | number>) =>
    `/wms?${new URLSearchParams({ SERVICE: 'WMS', VERSION: '1.3.0', REQUEST: 'GetMap', LAYERS: 'PCRS.ORTHO.2025', STYLES: '', CRS: 'EPSG:2154', BBOX: tileBbox(TMS_2154_5CM, IN.z, IN.col, IN.row).join(','), WIDTH: '256', HEIGHT: '256', FORMAT: 'image/png', ...Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)])) })}`;

  it('capabilities list the layers, CRSs and the size limit', async () => {
    const r = await get('/wms?SERVICE=WMS&REQUEST=GetCapabilities');
    expect(r.statusCode).toBe(200);
    for (const s of ['<Name>PCRS.ORTHO.2025</Name>', '<CRS>EPSG:2154</CRS>', '<CRS>EPSG:3857</CRS>', '<CRS>EPSG:4326</CRS>', '<CRS>EPSG:3945</CRS>', '<MaxWidth>4096</MaxWidth>']) expect(r.body).toContain(s);
  });

  it('GetMap on a level-22 tile bbox reproduces the tile; EPSG:4326 uses lat/lon order; CC zones work', async () => {
    const stored = await reader.versionTile((await f.ctx.catalog.getVersion('ortho', '2025')).id, IN.z, IN.col, IN.row);
    const r = await get(map({}));
    expect(r.statusCode).toBe(200);
    expect(await psnr(r.rawPayload, stored!.jpeg)).toBeGreaterThan(45);
    const geo = transformBbox('EPSG:2154', 'EPSG:4326', [575_050, 6_373_650, 575_150, 6_373_750]);
    const latlon = await get(map({ CRS: 'EPSG:4326', BBOX: [geo[1], geo[0], geo[3], geo[2]].join(','), TRANSPARENT: 'TRUE' }));
    expect((await sharp(latlon.rawPayload).stats()).channels[3]!.min).toBe(255);
    const lonlat = await get(map({ CRS: 'EPSG:4326', BBOX: geo.join(','), TRANSPARENT: 'TRUE' }));
    expect((await sharp(lonlat.rawPayload).stats()).channels[3]!.max).toBe(0);
    const cc = transformBbox('EPSG:2154', 'EPSG:3945', [575_050, 6_373_650, 575_150, 6_373_750]);
    const ccr = await get(map({ CRS: 'EPSG:3945', BBOX: cc.join(','), FORMAT: 'image/jpeg', WIDTH: 512, HEIGHT: 512 }));
    expect(ccr.statusCode).toBe(200);
    expect((await sharp(ccr.rawPayload).metadata()).width).toBe(512);
  });

  it('GetMap renders inside the coverage by one affine resampling, at its edge per pixel, and both agree', async () => {
    // 10 cm/px (level 21), not aligned on the pyramid's pixels. A lies inside the 2025 coverage;
    // B is twice as wide and starts 1.25 m west of the coverage edge (x = 575 000): A is B's columns 128–383.
    const y: [number, number] = [6_373_650.7, 6_373_676.3];
    const a = await get(map({ BBOX: [575_010.3, y[0], 575_035.9, y[1]].join(','), TRANSPARENT: 'TRUE' }));
    const b = await get(map({ BBOX: [574_997.5, y[0], 575_048.7, y[1]].join(','), WIDTH: 512, TRANSPARENT: 'TRUE' }));
    expect(a.headers['server-timing']).toMatch(/^render;desc="affine";dur=/);
    expect(b.headers['server-timing']).toMatch(/^render;desc="per-pixel";dur=/);
    const middle = await sharp(b.rawPayload).extract({ left: 128, top: 0, width: 256, height: 256 }).png().toBuffer();
    expect(await psnr(a.rawPayload, middle)).toBeGreaterThan(45);
    const west = await sharp(await sharp(b.rawPayload).extract({ left: 0, top: 0, width: 24, height: 256 }).png().toBuffer()).stats();
    expect(west.channels[3]!.max).toBe(0); // outside the coverage: transparent
    expect((await sharp(a.rawPayload).stats()).channels[3]?.min ?? 255).toBe(255); // opaque (RGB, or RGBA all 255)
  });

  it('GetFeatureInfo returns the dalle under the pixel', async () => {
    const r = await get(map({ REQUEST: 'GetFeatureInfo', QUERY_LAYERS: 'PCRS.ORTHO.2025', I: 1, J: 1, INFO_FORMAT: 'application/json' }));
    expect(r.statusCode).toBe(200);
    expect((r.json() as { features: unknown[] }).features).toHaveLength(1);
  });
});

describe('bad input: OGC exceptions, 4xx, never 5xx', () => {
  const cases: Array<[string, number, string, 'wmts' | 'wms']> = [
    [kvpTile({ LAYER: 'NOPE' }), 400, 'InvalidParameterValue', 'wmts'],
    [kvpTile({ STYLE: 'fancy' }), 400, 'InvalidParameterValue', 'wmts'],
    [kvpTile({ FORMAT: 'image/gif' }), 400, 'InvalidParameterValue', 'wmts'],
    [kvpTile({ TILEMATRIXSET: 'EPSG:4326' }), 400, 'InvalidParameterValue', 'wmts'],
    [kvpTile({ TILEMATRIX: '23' }), 400, 'InvalidParameterValue', 'wmts'],
    [kvpTile({ TILEROW: '99999999' }), 400, 'TileOutOfRange', 'wmts'],
    [kvpTile({ TILECOL: '-1' }), 400, 'TileOutOfRange', 'wmts'],
    [kvpTile({ TILECOL: '1' }), 400, 'TileOutOfRange', 'wmts'],
    [kvpTile({ TILECOL: 'abc' }), 400, 'InvalidParameterValue', 'wmts'],
    [kvpTile({ VERSION: '2.0.0' }), 400, 'InvalidParameterValue', 'wmts'],
    ['/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=PCRS.ORTHO', 400, 'MissingParameterValue', 'wmts'],
    ['/wmts?SERVICE=WMTS', 400, 'MissingParameterValue', 'wmts'],
    ['/wmts?SERVICE=WMTS&REQUEST=Delete', 400, 'OperationNotSupported', 'wmts'],
    ['/wmts/1.0.0/PCRS.ORTHO/normal/2154_5cm/22/1/1.gif', 400, 'InvalidParameterValue', 'wmts'],
    ['/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=NOPE&STYLES=&CRS=EPSG:2154&BBOX=0,0,1,1&WIDTH=10&HEIGHT=10&FORMAT=image/png', 400, 'LayerNotDefined', 'wms'],
    ['/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO&STYLES=&CRS=EPSG:27572&BBOX=0,0,1,1&WIDTH=10&HEIGHT=10&FORMAT=image/png', 400, 'InvalidCRS', 'wms'],
    ['/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO&STYLES=&CRS=EPSG:2154&BBOX=0,0,1&WIDTH=10&HEIGHT=10&FORMAT=image/png', 400, 'InvalidParameterValue', 'wms'],
    ['/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO&STYLES=&CRS=EPSG:2154&BBOX=1,0,0,1&WIDTH=10&HEIGHT=10&FORMAT=image/png', 400, 'InvalidParameterValue', 'wms'],
    ['/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO&STYLES=&CRS=EPSG:2154&BBOX=0,0,1,1&WIDTH=5000&HEIGHT=10&FORMAT=image/png', 400, 'InvalidParameterValue', 'wms'],
    ['/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO&STYLES=&CRS=EPSG:2154&BBOX=0,0,1,1&WIDTH=10&HEIGHT=10&FORMAT=image/gif', 400, 'InvalidFormat', 'wms'],
    ['/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO&STYLES=fancy&CRS=EPSG:2154&BBOX=0,0,1,1&WIDTH=10&HEIGHT=10&FORMAT=image/png', 400, 'StyleNotDefined', 'wms'],
    ['/wms?SERVICE=WMS&VERSION=9.9.9&REQUEST=GetMap&LAYERS=PCRS.ORTHO', 400, 'InvalidParameterValue', 'wms'],
    ['/wms?SERVICE=WMS&REQUEST=GetMap&LAYERS=PCRS.ORTHO', 400, 'MissingParameterValue', 'wms'],
  ];
  it.each(cases)('%s → %i %s', async (url, status, code, kind) => {
    const r = await get(url);
    expect(r.statusCode).toBe(status);
    if (kind === 'wmts') expect(r.body).toMatch(new RegExp(`<ExceptionReport[^>]*>[\\s\\S]*exceptionCode="${code}"`));
    else expect(r.body).toMatch(new RegExp(`<ServiceExceptionReport[^>]*>[\\s\\S]*code="${code}"`));
  });

  it('survives 10 000 random and malformed requests without a single 5xx', async () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
    const values = ['', '0', '-1', '1', '22', '6', '21', '256', '4096', '4097', '99999999999', '1e308', 'NaN', 'abc', '%00', '%ZZ', '..', 'é', 'PCRS.ORTHO', 'PCRS.ORTHO.2025', 'ORTHO', '2154_5cm', 'PM', 'WebMercatorQuad', 'image/jpeg', 'image/png', 'image/webp', 'normal', 'EPSG:2154', 'EPSG:3857', 'EPSG:4326', 'CRS:84', 'EPSG:3945', '1.0.0', '1.3.0', '1.1.1', 'GetTile', 'GetMap', 'GetCapabilities', 'GetFeatureInfo', 'WMTS', 'WMS', '575000,6373400,575400,6373800', '0,0,1,1', '1,2,3', 'a,b,c,d', '44.4,1.4,44.5,1.5', String(IN.col), String(IN.row), 'application/json', 'text/html', 'x'.repeat(3000)];
    const keys = ['SERVICE', 'REQUEST', 'VERSION', 'LAYER', 'LAYERS', 'QUERY_LAYERS', 'STYLE', 'STYLES', 'FORMAT', 'TILEMATRIXSET', 'TILEMATRIX', 'TILEROW', 'TILECOL', 'CRS', 'SRS', 'BBOX', 'WIDTH', 'HEIGHT', 'I', 'J', 'INFOFORMAT', 'INFO_FORMAT', 'TRANSPARENT', 'BGCOLOR', 'f', 'apikey', 'service', 'request'];
    const paths = () => {
      const seg = () => encodeURIComponent(pick(values)).slice(0, 200);
      switch (Math.floor(rnd() * 8)) {
        case 0:
          return `/wmts/1.0.0/${seg()}/${seg()}/${seg()}/${seg()}/${seg()}/${seg()}.${pick(['jpeg', 'png', 'webp', 'gif', ''])}`;
        case 1:
          return `/tiles/${seg()}/${seg()}/${seg()}/${seg()}/${seg()}.${pick(['jpeg', 'png', 'webp', 'x'])}`;
        case 2:
          return `/ogc/collections/${seg()}/map/tiles/${seg()}/${seg()}/${seg()}/${seg()}`;
        case 3:
          return `/wmts/1.0.0/${seg()}/${seg()}/${seg()}/${seg()}/${seg()}/${seg()}/${seg()}/${seg()}.json`;
        case 4:
          return pick(['/wmts', '/wms']) + '?' + pick(['%', '&&&', '=', 'SERVICE', 'a=%E0%A4%A', 'BBOX=%%%']);
        default: {
          const n = 1 + Math.floor(rnd() * 12);
          const q: string[] = [];
          for (let i = 0; i < n; i++) q.push(`${pick(keys)}=${encodeURIComponent(pick(values))}`);
          return `${pick(['/wmts', '/wms', '/wms', '/wmts'])}?${q.join('&')}`;
        }
      }
    };
    const statuses = new Map<number, number>();
    const bad: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const url = paths();
      const r = await f.app.inject({ method: 'GET', url });
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      if (r.statusCode >= 500 && bad.length < 5) bad.push(`${r.statusCode} ${url}: ${r.body.slice(0, 300)}`);
    }
    expect(bad).toEqual([]);
    expect((await get('/health')).statusCode).toBeLessThan(600);
    expect([...statuses.keys()].some((s) => s === 200)).toBe(true);
  }, 120_000);
});

