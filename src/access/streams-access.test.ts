import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../context/access.js';
import { tileAt, TMS_2154_5CM } from '../grid/tile-matrix-set.js';
import { BASE_BBOX, streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { userWithKey } from '../test-support/access.js';
import { AccessServices } from './services.js';

/**
 * A restricted orthophoto over the real streams (ingested pyramid): anonymous callers neither read
 * nor see it, a key reads it by every way QGIS and scripts send keys, and a contractor's key stops
 * at its works area and at its end date.
 */
let f: StreamsFixture;
// A level-22 tile in the north-west 2025 dalle (575 000–575 200, 6 373 600–6 373 800), one in the south-east dalle.
const IN = { z: 22, col: 44922, row: 439547 };
const SE = tileAt(TMS_2154_5CM, 22, 575_300, 6_373_500) as { z: number; col: number; row: number };
const rest = (t: { z: number; col: number; row: number }, layer = 'PCRS.ORTHO.2025') => `/wmts/1.0.0/${layer}/normal/2154_5cm/${t.z}/${t.row}/${t.col}.jpeg`;
const ogcTile = (t: { z: number; col: number; row: number }) => `/ogc/collections/PCRS.ORTHO.2025/map/tiles/2154_5cm/${t.z}/${t.row}/${t.col}?f=jpeg`;
const get = (url: string, headers: Record<string, string> = {}) => f.app.inject({ method: 'GET', url, headers });
const keys: Record<'tech' | 'reader' | 'contractor', { key: string; userId: number }> = {} as never;
let contractorPermission = 0;

beforeAll(async () => {
  f = await streamsFixture();
  const services = new AccessServices(f.ctx);
  await services.setVisibility(OPERATOR, 'ortho', null, 'restricted');
  keys.tech = await userWithKey(f.ctx, 'tech@aplc.fr', { platformRoles: ['technical'], scopes: ['read'] });
  keys.reader = await userWithKey(f.ctx, 'lecteur@example.fr', { scopes: ['read'] });
  keys.contractor = await userWithKey(f.ctx, 'geometre@bureau.fr', { memberships: [{ org: 'fdel', role: 'contractor' }], scopes: ['read'] });
  // its works area: inside the north-west dalle, in Lambert-93
  const works = {
    type: 'Polygon',
    crs: { type: 'name', properties: { name: 'EPSG:2154' } },
    coordinates: [[[575_010, 6_373_610], [575_190, 6_373_610], [575_190, 6_373_790], [575_010, 6_373_790], [575_010, 6_373_610]]],
  };
  const until = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  contractorPermission = (await services.grantPermission(OPERATOR, { user: 'geometre@bureau.fr', dataset: 'ortho', perimeter: works, until })).id;
}, 300_000);

afterAll(async () => {
  await f?.dispose();
});

describe('a restricted orthophoto', () => {
  it('is neither readable nor listed for anonymous callers', async () => {
    const tile = await get(rest(IN));
    expect(tile.statusCode).toBe(401);
    expect(tile.body).toContain('ExceptionReport');
    expect((await get(ogcTile(IN))).statusCode).toBe(401);
    expect((await get('/tiles/PCRS.ORTHO.2025/WebMercatorQuad/20/524112/373290.jpeg')).statusCode).toBe(401);
    expect((await get('/tiles/PCRS.ORTHO/tilejson.json')).statusCode).toBe(401);
    const caps = await get('/wmts?SERVICE=WMTS&REQUEST=GetCapabilities');
    expect(caps.statusCode).toBe(200);
    expect(caps.body).not.toContain('PCRS.ORTHO');
    expect(caps.headers['cache-control']).toMatch(/public/);
    expect((await get('/wms?SERVICE=WMS&REQUEST=GetCapabilities')).body).not.toContain('<Name>PCRS.ORTHO');
    expect(JSON.stringify((await get('/ogc/collections')).json())).not.toContain('PCRS.ORTHO');
    expect((await get('/api/datasets')).json().datasets.map((d: { id: string }) => d.id)).not.toContain('ortho');
    expect((await get('/api/versions?dataset=ortho')).json().versions).toEqual([]);
    const map = await get(`/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO&STYLES=&CRS=EPSG:2154&BBOX=${BASE_BBOX.join(',')}&WIDTH=64&HEIGHT=64&FORMAT=image/png`);
    expect(map.statusCode).toBe(401);
  });

  it('is read with a key sent as Bearer, as the apikey header or as the apikey parameter, whose capabilities keep the key in every URL', async () => {
    const { key } = keys.tech;
    for (const [url, headers] of [
      [rest(IN), { authorization: `Bearer ${key}` }],
      [rest(IN), { apikey: key }],
      [`${rest(IN)}?apikey=${key}`, {}],
      [`/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=PCRS.ORTHO&STYLE=normal&FORMAT=image/jpeg&TILEMATRIXSET=2154_5cm&TILEMATRIX=${IN.z}&TILEROW=${IN.row}&TILECOL=${IN.col}&apikey=${key}`, {}],
    ] as const) {
      const r = await get(url, headers);
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['content-type']).toBe('image/jpeg');
      expect(String(r.headers['cache-control'])).toMatch(/^private/);
    }
    const caps = await get(`/wmts?SERVICE=WMTS&REQUEST=GetCapabilities&apikey=${key}`);
    expect(caps.body).toContain('<ows:Identifier>PCRS.ORTHO.2025</ows:Identifier>');
    expect(caps.body).toContain(`/wmts?apikey=${key}&amp;`);
    expect(caps.body).toContain(`{TileCol}.jpeg?apikey=${key}"`);
    expect(caps.body).toContain(`WMTSCapabilities.xml?apikey=${key}"`);
    expect(caps.headers['cache-control']).toMatch(/private/);
    // a capabilities document asked with a Bearer key lists the layers but adds no key to URLs
    const bearerCaps = await get('/wmts/1.0.0/WMTSCapabilities.xml', { authorization: `Bearer ${key}` });
    expect(bearerCaps.body).toContain('PCRS.ORTHO.2025');
    expect(bearerCaps.body).not.toContain('apikey=');
    const wms = await get(`/wms?SERVICE=WMS&REQUEST=GetCapabilities&apikey=${key}`);
    expect(wms.body).toContain('<Name>PCRS.ORTHO.2025</Name>');
    expect(wms.body).toContain(`/wms?apikey=${key}&amp;`);
    const tilejson = await get(`/tiles/PCRS.ORTHO/tilejson.json?apikey=${key}`);
    expect(tilejson.statusCode).toBe(200);
    expect(tilejson.json().tiles[0]).toContain(`?apikey=${key}`);
    const collections = await get(`/ogc/collections?apikey=${key}`);
    const ortho = collections.json().collections.find((c: { id: string }) => c.id === 'PCRS.ORTHO.2025');
    expect(ortho.links.every((l: { href: string }) => l.href.includes(`apikey=${key}`))).toBe(true);
    const tilesets = await get(`/ogc/collections/PCRS.ORTHO.2025/map/tiles/2154_5cm?apikey=${key}`);
    expect(tilesets.json().links.find((l: { rel: string }) => l.rel === 'item').href).toContain(`?f=jpeg&apikey=${key}`);
  });

  it('answers 403 no-permission to a key without a permission, and does not list the layer for it', async () => {
    const r = await get(ogcTile(IN), { authorization: `Bearer ${keys.reader.key}` });
    expect(r.statusCode).toBe(403);
    expect(r.json().type).toBe('urn:pcrs:problem:no-permission');
    expect((await get(`/wmts?SERVICE=WMTS&REQUEST=GetCapabilities&apikey=${keys.reader.key}`)).body).not.toContain('PCRS.ORTHO');
  });

  it("stops a contractor's key outside its works area (403 outside-perimeter) and after its end date (403 permission-expired)", async () => {
    const auth = { authorization: `Bearer ${keys.contractor.key}` };
    expect((await get(rest(IN), auth)).statusCode).toBe(200);
    expect((await get(ogcTile(IN), auth)).statusCode).toBe(200);
    const out = await get(ogcTile(SE), auth);
    expect(out.statusCode).toBe(403);
    expect(out.json()).toMatchObject({ type: 'urn:pcrs:problem:outside-perimeter', detail: expect.stringContaining(`permission ${contractorPermission}`) });
    const outWmts = await get(rest(SE), auth);
    expect(outWmts.statusCode).toBe(403);
    expect(outWmts.body).toMatch(/outside the perimeter/);
    // WMS maps too: inside the works area, and over the whole delivery (which reaches outside it… and touches it: allowed), and far away
    const wmsMap = (bbox: readonly number[]) => get(`/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO.2025&STYLES=&CRS=EPSG:2154&BBOX=${bbox.join(',')}&WIDTH=32&HEIGHT=32&FORMAT=image/png`, auth);
    expect((await wmsMap([575_050, 6_373_650, 575_100, 6_373_700])).statusCode).toBe(200);
    expect((await wmsMap([575_250, 6_373_450, 575_350, 6_373_550])).statusCode).toBe(403);
    // dalle downloads: the dalle of its works area, not the others
    const dalles = (await get('/api/datasets/ortho/versions/2025/dalles', { authorization: `Bearer ${keys.tech.key}` })).json<{ features: Array<{ properties: { name: string }; geometry: { coordinates: number[][][] } }> }>().features;
    const nameAt = (x: number, y: number) => dalles.find((d) => d.geometry.coordinates[0]?.[0]?.[0] === x && d.geometry.coordinates[0]?.[2]?.[1] === y)?.properties.name;
    const nw = nameAt(575_000, 6_373_800);
    const se = nameAt(575_200, 6_373_600);
    expect(nw && se).toBeTruthy();
    const dl = await get(`/api/datasets/ortho/versions/2025/dalles/${nw}/download`, auth);
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['cache-control']).toMatch(/^private/);
    const dlOut = await get(`/api/datasets/ortho/versions/2025/dalles/${se}/download`, auth);
    expect(dlOut.statusCode).toBe(403);
    expect(dlOut.json().type).toBe('urn:pcrs:problem:outside-perimeter');
    expect((await get(`/api/datasets/ortho/versions/2025/dalles/${nw}/download`)).statusCode).toBe(401);
    // the layer is listed for it (it may read part of it)
    expect((await get(`/wmts?SERVICE=WMTS&REQUEST=GetCapabilities&apikey=${keys.contractor.key}`)).body).toContain('PCRS.ORTHO.2025');
    await f.t.db.query("UPDATE permissions SET valid_until = now() - interval '1 hour' WHERE id = $1", [contractorPermission]);
    await f.ctx.access.invalidate({ all: true });
    const expired = await get(ogcTile(IN), auth);
    expect(expired.statusCode).toBe(403);
    expect(expired.json().type).toBe('urn:pcrs:problem:permission-expired');
  });

  it('is public again at once when made public', async () => {
    await new AccessServices(f.ctx).setVisibility(OPERATOR, 'ortho', null, 'public');
    expect((await get(rest(IN))).statusCode).toBe(200);
    // a version can still be restricted on its own, which restricts the current layer too
    await new AccessServices(f.ctx).setVisibility(OPERATOR, 'ortho', 'maj-2026', 'restricted');
    expect((await get(rest(IN))).statusCode).toBe(200);
    expect((await get(rest(IN, 'PCRS.ORTHO'))).statusCode).toBe(401);
    const caps = (await get('/wmts?SERVICE=WMTS&REQUEST=GetCapabilities')).body;
    expect(caps).toContain('<ows:Identifier>PCRS.ORTHO.2025</ows:Identifier>');
    expect(caps).not.toContain('<ows:Identifier>PCRS.ORTHO.maj-2026</ows:Identifier>');
  });
});
