import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RouteApp } from '../../context/capability.js';
import { crsUri, transformBbox } from '../../grid/crs.js';
import { tileMatrixSetToOgcJson, TMS_WEB_MERCATOR_QUAD } from '../../grid/tile-matrix-set.js';
import type { OgcCollection, OgcProvider, OgcRegistry, OpenApiPart } from '../../ogc/registry.js';
import { baseUrl, linksWithApiKey } from '../../http/base-url.js';
import { UserError } from '../../util/errors.js';
import { checkRead, readableLayers, sendEmpty, sendTile, type StreamsContext } from './http.js';
import { coverageRange } from '../serving/layers.js';
import type { RasterLayer } from '../serving/layers.js';
import { OgcServiceError } from '../../ogc/ows-exception.js';
import { FORMAT_EXT, FORMAT_MIME, parseFormat, type TileFormat } from '../serving/tile-service.js';
import { findStreamTms, resolveTile, STREAM_TMS, type StreamTms } from '../serving/tms.js';

/** XYZ tiles, TileJSON 3.0 and OGC API — Tiles (map tilesets) over the same tile service. */

const json = 'application/json';
const REL_TILESETS_MAP = 'http://www.opengis.net/def/rel/ogc/1.0/tilesets-map';
const REL_TILING_SCHEME = 'http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme';
const REL_TILING_SCHEMES = 'http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes';

export const TILES_CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset',
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list',
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets',
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/jpeg',
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png',
  'http://www.opengis.net/spec/tms/2.0/conf/tilematrixset',
  'http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset',
];

/** Converts the OGC errors of tile addressing into the REST API's problem+json. */
function asUserError(e: unknown): unknown {
  if (e instanceof OgcServiceError) {
    const status = e.code === 'TileOutOfRange' || e.status === 404 || (e.locator === 'TileMatrix' && e.code !== 'MissingParameterValue') ? 404 : 400;
    return new UserError(e.code === 'TileOutOfRange' ? 'tile-out-of-range' : 'invalid-parameter', e.message, { status });
  }
  return e;
}

async function layerOr404(s: StreamsContext, id: string): Promise<RasterLayer> {
  try {
    return await s.layers.get(id);
  } catch {
    throw new UserError('unknown-layer', `No layer '${id.slice(0, 100)}'.`, { status: 404 });
  }
}

function tmsOr404(id: string): StreamTms {
  const st = findStreamTms(id);
  if (!st) throw new UserError('unknown-tile-matrix-set', `No tile matrix set '${id.slice(0, 60)}': 2154_5cm or WebMercatorQuad.`, { status: 404 });
  return st;
}

async function tile(s: StreamsContext, request: FastifyRequest, reply: FastifyReply, layerId: string, tmsId: string, z: string, row: string, col: string, format: TileFormat) {
  const layer = await layerOr404(s, layerId);
  const st = tmsOr404(tmsId);
  let t;
  try {
    t = resolveTile(st, layer, z, row, col, false);
  } catch (e) {
    throw asUserError(e);
  }
  if (!t.inCoverage) {
    // Even an empty tile of a restricted layer is for its readers only.
    await checkRead(s, request, layer);
    return sendEmpty(s, request, reply, layer);
  }
  return sendTile(s, request, reply, layer, st.tms, t.z, t.col, t.row, format);
}

function wgs84(layer: RasterLayer, s: StreamsContext): [number, number, number, number] {
  const b = layer.bbox ?? (s.app.config.territory.extent as unknown as [number, number, number, number]);
  return transformBbox('EPSG:2154', 'OGC:CRS84', b) as [number, number, number, number];
}

function tilesetMetadata(s: StreamsContext, layer: RasterLayer, st: StreamTms, base: string) {
  const ogcId = st.tms.id;
  const self = `${base}/collections/${encodeURIComponent(layer.id)}/map/tiles/${ogcId}`;
  const limits = [];
  for (let z = st.minZ; z <= st.maxZ; z++) {
    const r = coverageRange(layer, st.tms, z);
    if (r) limits.push({ tileMatrix: String(z), minTileRow: r.minRow, maxTileRow: r.maxRow, minTileCol: r.minCol, maxTileCol: r.maxCol });
  }
  const [w, so, e, n] = wgs84(layer, s);
  return {
    title: `${layer.title} — ${ogcId}`,
    dataType: 'map',
    crs: crsUri(st.tms.crs),
    ...(st.tms.uri ? { tileMatrixSetURI: st.tms.uri } : {}),
    tileMatrixSetLimits: limits,
    boundingBox: { lowerLeft: [w, so], upperRight: [e, n], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84' },
    links: [
      { rel: 'self', href: self, type: json, title: 'This tileset' },
      { rel: REL_TILING_SCHEME, href: `${base}/tileMatrixSets/${ogcId}`, type: json, title: `${ogcId} definition` },
      ...(['jpeg', 'png', 'webp'] as TileFormat[]).map((f) => ({
        rel: 'item',
        href: `${self}/{tileMatrix}/{tileRow}/{tileCol}?f=${FORMAT_EXT[f]}`,
        type: FORMAT_MIME[f],
        templated: true,
        title: `Tiles (${FORMAT_MIME[f]})`,
      })),
    ],
  };
}

/** The tile operations in the API definition at /ogc/api. */
function tilesOpenApi(): OpenApiPart {
  const path = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
  const ref = (n: string) => ({ $ref: `#/components/parameters/${n}` });
  const get = (summary: string, parameters: unknown[], content: string[] = ['application/json']) => ({
    get: { summary, parameters, responses: { '200': { description: summary, content: Object.fromEntries(content.map((c) => [c, {}])) }, '404': { description: 'Not found' } } },
  });
  return {
    parameters: {
      tileMatrixSetId: path('tileMatrixSetId', '2154_5cm or WebMercatorQuad'),
      tileMatrix: path('tileMatrix', 'Zoom level'),
      tileRow: path('tileRow', 'Row, from the top'),
      tileCol: path('tileCol', 'Column, from the left'),
    },
    paths: {
      '/tileMatrixSets': get('Tile matrix sets', []),
      '/tileMatrixSets/{tileMatrixSetId}': get('A tile matrix set', [ref('tileMatrixSetId')]),
      '/collections/{collectionId}/map/tiles': get('Tilesets of a raster layer', [ref('collectionId')]),
      '/collections/{collectionId}/map/tiles/{tileMatrixSetId}': get('A tileset (TileJSON-like metadata)', [ref('collectionId'), ref('tileMatrixSetId')]),
      '/collections/{collectionId}/map/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}': get(
        'A tile',
        [ref('collectionId'), ref('tileMatrixSetId'), ref('tileMatrix'), ref('tileRow'), ref('tileCol'), { name: 'f', in: 'query', required: false, style: 'form', explode: false, schema: { type: 'string', enum: ['jpeg', 'png', 'webp'] } }],
        ['image/jpeg', 'image/png', 'image/webp'],
      ),
    },
  };
}

export function rasterOgcProvider(s: StreamsContext): OgcProvider {
  return {
    conformance: TILES_CONFORMANCE,
    openapi: tilesOpenApi,
    landingLinks: (base) => [{ href: `${base}/tileMatrixSets`, rel: REL_TILING_SCHEMES, type: json, title: 'Tile matrix sets' }],
    async collections(request, base): Promise<OgcCollection[]> {
      return (await readableLayers(s, request)).map((layer) => ({
        id: layer.id,
        title: layer.title,
        description: layer.abstract,
        dataType: 'map',
        extent: { spatial: { bbox: [wgs84(layer, s)], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84' } },
        links: [
          { href: `${base}/collections/${encodeURIComponent(layer.id)}`, rel: 'self', type: json, title: layer.title },
          { href: `${base}/collections/${encodeURIComponent(layer.id)}/map/tiles`, rel: REL_TILESETS_MAP, type: json, title: 'Map tilesets' },
        ],
      }));
    },
  };
}

export function registerXyzAndOgcTiles(app: RouteApp, s: StreamsContext, ogc: OgcRegistry): void {
  ogc.register(rasterOgcProvider(s));
  const access = 'public' as const;
  const str = z.string().max(200);
  const config = { access };

  app.get('/tiles/:layer/:tms/:z/:x/:yext', { config: { ...config, usage: 'xyz' as const }, schema: { hide: true, params: z.object({ layer: str, tms: str, z: str, x: str, yext: str }) } }, async (request, reply) => {
    const { layer, tms, z: level, x, yext } = request.params;
    const m = /^([^.]*)\.([A-Za-z]+)$/.exec(yext ?? '');
    const format = m ? parseFormat(m[2]) : null;
    if (!m || !format) throw new UserError('invalid-format', 'The tile URL must end in {y}.jpeg, {y}.png or {y}.webp.', { status: 400 });
    return tile(s, request, reply, layer, tms, level, m[1] as string, x, format);
  });

  app.get('/tiles/:layer/tilejson.json', { config, schema: { hide: true, params: z.object({ layer: str }), querystring: z.looseObject({ format: str.optional(), apikey: str.optional() }) } }, async (request, reply) => {
    const layer = await layerOr404(s, request.params.layer);
    await checkRead(s, request, layer);
    const q = request.query;
    const format = parseFormat(typeof q.format === 'string' ? q.format : 'jpeg');
    if (!format) throw new UserError('invalid-format', 'format must be jpeg, png or webp.', { status: 400 });
    const base = baseUrl(request, s.app.config);
    const bounds = wgs84(layer, s);
    const key = typeof q.apikey === 'string' ? `?apikey=${encodeURIComponent(q.apikey)}` : '';
    reply.header('access-control-allow-origin', '*').header('cache-control', 'public, max-age=60');
    return {
      tilejson: '3.0.0',
      name: layer.id,
      description: layer.title,
      attribution: 'PCRS — Licence Ouverte / Etalab 2.0',
      scheme: 'xyz',
      tiles: [`${base}/tiles/${encodeURIComponent(layer.id)}/${TMS_WEB_MERCATOR_QUAD.id}/{z}/{x}/{y}.${FORMAT_EXT[format]}${key}`],
      minzoom: 0,
      maxzoom: 21,
      bounds,
      center: [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 16],
    };
  });

  app.get('/ogc/tileMatrixSets', { config, schema: { hide: true } }, async (request) => {
    const base = `${baseUrl(request, s.app.config)}/ogc`;
    return {
      links: [{ rel: 'self', href: `${base}/tileMatrixSets`, type: json }],
      tileMatrixSets: STREAM_TMS.map((st) => ({
        id: st.tms.id,
        title: st.tms.title,
        ...(st.tms.uri ? { uri: st.tms.uri } : {}),
        crs: crsUri(st.tms.crs),
        links: [{ rel: 'self', href: `${base}/tileMatrixSets/${st.tms.id}`, type: json, title: st.tms.title }],
      })),
    };
  });

  app.get('/ogc/tileMatrixSets/:tms', { config, schema: { hide: true, params: z.object({ tms: str }) } }, async (request) => {
    const st = tmsOr404(request.params.tms);
    return tileMatrixSetToOgcJson(st.tms);
  });

  app.get('/ogc/collections/:collectionId/map/tiles', { config, schema: { hide: true, params: z.object({ collectionId: str }) } }, async (request) => {
    const layer = await layerOr404(s, request.params.collectionId);
    await checkRead(s, request, layer);
    const base = `${baseUrl(request, s.app.config)}/ogc`;
    return linksWithApiKey(
      {
        links: [{ rel: 'self', href: `${base}/collections/${encodeURIComponent(layer.id)}/map/tiles`, type: json }],
        tilesets: STREAM_TMS.map((st) => tilesetMetadata(s, layer, st, base)),
      },
      request,
      base,
    );
  });

  app.get('/ogc/collections/:collectionId/map/tiles/:tms', { config, schema: { hide: true, params: z.object({ collectionId: str, tms: str }) } }, async (request) => {
    const p = request.params;
    const layer = await layerOr404(s, p.collectionId);
    await checkRead(s, request, layer);
    const base = `${baseUrl(request, s.app.config)}/ogc`;
    return linksWithApiKey(tilesetMetadata(s, layer, tmsOr404(p.tms), base), request, base);
  });

  const tileParams = z.object({ collectionId: str, tms: str, z: str, row: str, col: str });
  app.get('/ogc/collections/:collectionId/map/tiles/:tms/:z/:row/:col', { config, schema: { hide: true, params: tileParams, querystring: z.looseObject({ f: str.optional() }) } }, async (request, reply) => {
    const p = request.params;
    const q = request.query;
    let format: TileFormat | null = 'jpeg';
    if (typeof q.f === 'string') format = parseFormat(q.f);
    else {
      const accept = request.headers.accept ?? '';
      if (/image\/png/.test(accept) && !/image\/jpeg/.test(accept)) format = 'png';
      else if (/image\/webp/.test(accept) && !/image\/jpeg/.test(accept)) format = 'webp';
    }
    if (!format) throw new UserError('invalid-format', 'f must be jpeg, png or webp.', { status: 400 });
    return tile(s, request, reply, p.collectionId, p.tms, p.z, p.row, p.col, format);
  });
}
