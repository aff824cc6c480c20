import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteApp } from '../../context/capability.js';
import sharp, { type Sharp } from 'sharp';
import { hasLatLonAxisOrder, parseCrs, SUPPORTED_CRS, transformBbox, transformPoint, type CrsCode } from '../../grid/crs.js';
import { baseUrl, withApiKey } from '../../http/base-url.js';
import { dallesAt, featureInfoHtml, featureInfoJson } from '../serving/feature-info.js';
import { cacheControl, capabilitiesCache, checkRead, readableLayers, sendDocument, type StreamsContext } from './http.js';
import { isVersioned, type RasterLayer } from '../serving/layers.js';
import { kvp } from '../../http/ows.js';
import { OgcServiceError } from '../../ogc/ows-exception.js';
import { xmlEscape } from '../../util/xml.js';
import { affineJob, planRender } from '../serving/render.js';
import { FORMAT_MIME } from '../serving/tile-service.js';

/** WMS 1.3.0 (and 1.1.1 for old clients) over the pyramid: GetCapabilities, GetMap, GetFeatureInfo. */

const MAP_FORMATS = ['image/jpeg', 'image/png'] as const;
/** A map of this many pixels counts as one render (a PM tile is far less): a 4096² map takes them all and runs alone. */
const MAP_PIXELS_PER_RENDER_UNIT = 1024 * 1024;
const INFO_FORMATS = ['application/json', 'text/html'];

const wmsCrsName = (c: CrsCode) => (c === 'OGC:CRS84' ? 'CRS:84' : c);
const num = (n: number) => String(Number(n.toPrecision(12)));

export async function wmsCapabilities(s: StreamsContext, base: string, request?: FastifyRequest): Promise<string> {
  // Only the layers the caller may read; URLs keep the caller's apikey parameter.
  const layers = request ? await readableLayers(s, request) : await s.layers.list();
  const territory = s.app.config.territory.extent as unknown as [number, number, number, number];
  const max = s.app.config.wms.maxSize;
  const href = xmlEscape(request ? withApiKey(`${base}/wms?`, request) : `${base}/wms?`);
  const dcp = `<DCPType><HTTP><Get><OnlineResource xlink:type="simple" xlink:href="${href}"/></Get></HTTP></DCPType>`;
  const bboxes = (b: readonly [number, number, number, number]) => {
    const g = transformBbox('EPSG:2154', 'OGC:CRS84', b);
    return (
      `<EX_GeographicBoundingBox><westBoundLongitude>${num(g[0])}</westBoundLongitude><eastBoundLongitude>${num(g[2])}</eastBoundLongitude><southBoundLatitude>${num(g[1])}</southBoundLatitude><northBoundLatitude>${num(g[3])}</northBoundLatitude></EX_GeographicBoundingBox>` +
      `<BoundingBox CRS="EPSG:2154" minx="${num(b[0])}" miny="${num(b[1])}" maxx="${num(b[2])}" maxy="${num(b[3])}"/>` +
      `<BoundingBox CRS="EPSG:4326" minx="${num(g[1])}" miny="${num(g[0])}" maxx="${num(g[3])}" maxy="${num(g[2])}"/>` +
      `<BoundingBox CRS="CRS:84" minx="${num(g[0])}" miny="${num(g[1])}" maxx="${num(g[2])}" maxy="${num(g[3])}"/>`
    );
  };
  const layerXml = (l: RasterLayer) =>
    `      <Layer queryable="1" opaque="0"><Name>${xmlEscape(l.id)}</Name><Title>${xmlEscape(l.title)}</Title><Abstract>${xmlEscape(l.abstract)}</Abstract>` +
    bboxes((l.bbox ?? territory) as [number, number, number, number]) +
    '<Style><Name>normal</Name><Title>Données brutes</Title></Style><MaxScaleDenominator>25000000</MaxScaleDenominator></Layer>\n';
  const t = s.app.config.territory;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<WMS_Capabilities version="1.3.0" xmlns="http://www.opengis.net/wms" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
    'xsi:schemaLocation="http://www.opengis.net/wms http://schemas.opengis.net/wms/1.3.0/capabilities_1_3_0.xsd">\n' +
    `  <Service><Name>WMS</Name><Title>PCRS ${xmlEscape(t.name)} (${xmlEscape(t.code)}) — WMS</Title><Abstract>Orthophotographie PCRS 5 cm. Licence Ouverte / Etalab 2.0.</Abstract>` +
    `<OnlineResource xlink:type="simple" xlink:href="${xmlEscape(request ? withApiKey(`${base}/wms`, request) : `${base}/wms`)}"/><Fees>none</Fees><AccessConstraints>Licence Ouverte / Etalab 2.0</AccessConstraints><LayerLimit>16</LayerLimit><MaxWidth>${max}</MaxWidth><MaxHeight>${max}</MaxHeight></Service>\n` +
    '  <Capability>\n    <Request>\n' +
    `      <GetCapabilities><Format>text/xml</Format>${dcp}</GetCapabilities>\n` +
    `      <GetMap>${MAP_FORMATS.map((f) => `<Format>${f}</Format>`).join('')}${dcp}</GetMap>\n` +
    `      <GetFeatureInfo>${INFO_FORMATS.map((f) => `<Format>${f}</Format>`).join('')}${dcp}</GetFeatureInfo>\n` +
    '    </Request>\n    <Exception><Format>XML</Format></Exception>\n' +
    `    <Layer><Title>PCRS ${xmlEscape(t.name)}</Title>` +
    SUPPORTED_CRS.map((c) => `<CRS>${wmsCrsName(c)}</CRS>`).join('') +
    bboxes(territory) +
    '\n' +
    layers.map(layerXml).join('') +
    '    </Layer>\n  </Capability>\n</WMS_Capabilities>\n'
  );
}

interface MapRequest {
  version: '1.3.0' | '1.1.1';
  layers: RasterLayer[];
  crs: CrsCode;
  /** BBOX in x/y (easting/longitude first) order. */
  bbox: [number, number, number, number];
  width: number;
  height: number;
}

async function parseMapRequest(s: StreamsContext, q: Map<string, string>, layersParam: string): Promise<MapRequest> {
  const version = q.get('VERSION') ?? q.get('WMTVER');
  if (!version) throw new OgcServiceError('MissingParameterValue', 'Parameter VERSION is missing.', 'VERSION');
  if (version !== '1.3.0' && version !== '1.1.1') throw new OgcServiceError('InvalidParameterValue', `VERSION must be 1.3.0 (or 1.1.1), got '${version.slice(0, 20)}'.`, 'VERSION');
  const names = q.get(layersParam);
  if (!names) throw new OgcServiceError('MissingParameterValue', `Parameter ${layersParam} is missing.`, layersParam);
  const list = names.split(',');
  if (list.length > 16) throw new OgcServiceError('InvalidParameterValue', 'At most 16 layers per request.', layersParam);
  const layers: RasterLayer[] = [];
  for (const n of list) layers.push(await s.layers.get(n, layersParam, 'LayerNotDefined', 400));
  const styles = q.get('STYLES');
  if (styles) {
    for (const st of styles.split(',')) {
      if (st !== '' && st !== 'normal' && st !== 'default') throw new OgcServiceError('StyleNotDefined', `Unknown style '${st.slice(0, 40)}': the style is 'normal'.`, 'STYLES');
    }
  }
  const crsKey = version === '1.3.0' ? 'CRS' : 'SRS';
  const crsText = q.get(crsKey) ?? q.get(version === '1.3.0' ? 'SRS' : 'CRS');
  if (!crsText) throw new OgcServiceError('MissingParameterValue', `Parameter ${crsKey} is missing.`, crsKey);
  let crs: CrsCode;
  try {
    crs = parseCrs(crsText);
  } catch {
    throw new OgcServiceError(version === '1.3.0' ? 'InvalidCRS' : 'InvalidSRS', `CRS '${crsText.slice(0, 60)}' is not offered: ${SUPPORTED_CRS.map(wmsCrsName).join(', ')}.`, crsKey);
  }
  const bboxText = q.get('BBOX');
  if (!bboxText) throw new OgcServiceError('MissingParameterValue', 'Parameter BBOX is missing.', 'BBOX');
  const parts = bboxText.split(',');
  const n = parts.map((p) => (/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(p) ? Number(p) : NaN));
  if (n.length !== 4 && n.length !== 5) throw new OgcServiceError('InvalidParameterValue', 'BBOX must be minx,miny,maxx,maxy.', 'BBOX');
  if (!n.slice(0, 4).every((v) => Number.isFinite(v))) throw new OgcServiceError('InvalidParameterValue', 'BBOX must hold four numbers.', 'BBOX');
  let [a, b, c, d] = n as [number, number, number, number];
  if (version === '1.3.0' && hasLatLonAxisOrder(crs)) [a, b, c, d] = [b, a, d, c];
  if (!(a < c) || !(b < d)) throw new OgcServiceError('InvalidParameterValue', 'BBOX minimum must be less than maximum on both axes.', 'BBOX');
  const max = s.app.config.wms.maxSize;
  const size = (key: 'WIDTH' | 'HEIGHT') => {
    const v = q.get(key);
    if (!v) throw new OgcServiceError('MissingParameterValue', `Parameter ${key} is missing.`, key);
    if (!/^\d{1,6}$/.test(v) || Number(v) < 1) throw new OgcServiceError('InvalidParameterValue', `${key} must be a positive integer.`, key);
    if (Number(v) > max) throw new OgcServiceError('InvalidParameterValue', `${key} ${v} exceeds the maximum ${max}.`, key);
    return Number(v);
  };
  return { version, layers, crs, bbox: [a, b, c, d], width: size('WIDTH'), height: size('HEIGHT') };
}

/** The map's extent in Lambert-93 (perimeter checks); the whole territory when it cannot be projected. */
function mapBbox2154(m: MapRequest): readonly [number, number, number, number] {
  if (m.crs === 'EPSG:2154') return m.bbox;
  try {
    return transformBbox(m.crs, 'EPSG:2154', m.bbox) as [number, number, number, number];
  } catch {
    return [-Infinity, -Infinity, Infinity, Infinity];
  }
}

function parseColour(text: string | undefined): { r: number; g: number; b: number } {
  const m = text ? /^(?:0x|#)([0-9a-f]{6})$/i.exec(text.trim()) : null;
  if (text && !m) throw new OgcServiceError('InvalidParameterValue', 'BGCOLOR must be 0xRRGGBB.', 'BGCOLOR');
  const v = m ? parseInt(m[1] as string, 16) : 0xffffff;
  return { r: (v >> 16) & 255, g: (v >> 8) & 255, b: v & 255 };
}

async function getMap(s: StreamsContext, request: FastifyRequest, reply: FastifyReply, q: Map<string, string>) {
  const m = await parseMapRequest(s, q, 'LAYERS');
  const formatText = q.get('FORMAT');
  if (!formatText) throw new OgcServiceError('MissingParameterValue', 'Parameter FORMAT is missing.', 'FORMAT');
  const format = formatText.split(';')[0]?.trim().toLowerCase();
  if (format !== 'image/jpeg' && format !== 'image/png') throw new OgcServiceError('InvalidFormat', `Format '${formatText.slice(0, 40)}' is not offered: image/jpeg, image/png.`, 'FORMAT');
  const transparentText = (q.get('TRANSPARENT') ?? 'FALSE').toUpperCase();
  if (transparentText !== 'TRUE' && transparentText !== 'FALSE') throw new OgcServiceError('InvalidParameterValue', 'TRANSPARENT must be TRUE or FALSE.', 'TRANSPARENT');
  const bg = parseColour(q.get('BGCOLOR'));
  for (const l of m.layers) await checkRead(s, request, l, mapBbox2154(m));
  const [xmin, ymin, xmax, ymax] = m.bbox;
  const sx = (xmax - xmin) / m.width;
  const sy = (ymax - ymin) / m.height;
  const toL93 = (px: number, py: number) => transformPoint(m.crs, 'EPSG:2154', [xmin + px * sx, ymax - py * sy]);
  const encode = (img: Sharp) => (format === 'image/jpeg' ? img.jpeg({ quality: 90 }) : img.png({ compressionLevel: 4 })).toBuffer();
  const { body, path, ms } = await s.tiles.renders.run(async () => {
    const started = performance.now();
    let body: Buffer | null = null;
    let path: 'affine' | 'per-pixel' = 'affine';
    // One layer over an area it fully covers, in a CRS that is affine over the map (always for
    // EPSG:2154, for the others over street-scale maps): one affine resampling of the source mosaic.
    const coarse = m.layers.length === 1 ? planRender(m.width, m.height, toL93, 'closest', Math.ceil(Math.max(m.width, m.height) / 2)) : null;
    if (coarse && affineJob(coarse)) {
      const rgb = await s.tiles.affineRgb(m.layers[0] as RasterLayer, coarse);
      if (rgb) {
        body = await encode(sharp(rgb, { raw: { width: m.width, height: m.height, channels: 3 } }));
      }
    }
    if (!body) {
      // General path: per-pixel sampling with coverage, layers painted in order.
      path = 'per-pixel';
      const plan = planRender(m.width, m.height, toL93, 'closest');
      let out: Buffer | null = null;
      if (plan) {
        for (const layer of m.layers) {
          const r = await s.tiles.renderArea(layer, plan);
          if (!r) continue;
          if (!out) out = r.rgba;
          else for (let p = 3; p < out.length; p += 4) if ((r.rgba[p] as number) === 255) r.rgba.copy(out, p - 3, p - 3, p + 1);
        }
      }
      let img = sharp(out ?? Buffer.alloc(m.width * m.height * 4), { raw: { width: m.width, height: m.height, channels: 4 } });
      if (format === 'image/jpeg' || transparentText === 'FALSE') img = img.flatten({ background: bg });
      body = await encode(img);
    }
    return { body: body as Buffer, path, ms: performance.now() - started };
  }, (m.width * m.height) / MAP_PIXELS_PER_RENDER_UNIT);
  return reply
    .header('access-control-allow-origin', '*')
    .header('cache-control', m.layers.every(isVersioned) ? cacheControl(m.layers[0] as RasterLayer) : 'public, max-age=300')
    .header('server-timing', `render;desc="${path}";dur=${ms.toFixed(1)}`)
    .type(format === 'image/jpeg' ? FORMAT_MIME.jpeg : FORMAT_MIME.png)
    .send(body);
}

async function getFeatureInfo(s: StreamsContext, request: FastifyRequest, reply: FastifyReply, q: Map<string, string>) {
  const m = await parseMapRequest(s, q, 'QUERY_LAYERS');
  const infoText = q.get('INFO_FORMAT') ?? 'text/html';
  const fmt = infoText.split(';')[0]?.trim().toLowerCase();
  if (fmt !== 'application/json' && fmt !== 'text/html') throw new OgcServiceError('InvalidFormat', `INFO_FORMAT '${infoText.slice(0, 40)}' is not offered: application/json, text/html.`, 'INFO_FORMAT');
  const [ik, jk] = m.version === '1.3.0' ? ['I', 'J'] : ['X', 'Y'];
  const iText = q.get(ik as string);
  const jText = q.get(jk as string);
  if (!iText) throw new OgcServiceError('MissingParameterValue', `Parameter ${ik} is missing.`, ik);
  if (!jText) throw new OgcServiceError('MissingParameterValue', `Parameter ${jk} is missing.`, jk);
  if (!/^\d{1,6}$/.test(iText) || Number(iText) >= m.width || !/^\d{1,6}$/.test(jText) || Number(jText) >= m.height) {
    throw new OgcServiceError('InvalidPoint', `${ik}/${jk} must be a pixel of the ${m.width}×${m.height} map.`, ik);
  }
  const layer = m.layers[0] as RasterLayer;
  await checkRead(s, request, layer, mapBbox2154(m));
  const [xmin, ymin, xmax, ymax] = m.bbox;
  let p: [number, number];
  try {
    p = transformPoint(m.crs, 'EPSG:2154', [xmin + ((Number(iText) + 0.5) * (xmax - xmin)) / m.width, ymax - ((Number(jText) + 0.5) * (ymax - ymin)) / m.height]);
  } catch {
    throw new OgcServiceError('InvalidPoint', 'The point has no position in Lambert-93.', ik);
  }
  const dalles = await dallesAt(s, layer, p[0], p[1], baseUrl(request, s.app.config));
  reply.header('access-control-allow-origin', '*').header('cache-control', 'public, max-age=60');
  if (fmt === 'text/html') return reply.type('text/html; charset=utf-8').send(featureInfoHtml(layer, dalles));
  return reply.type('application/json').send(featureInfoJson(layer, p[0], p[1], dalles));
}

export function registerWms(app: RouteApp, s: StreamsContext): void {
  app.get('/wms', { config: { access: 'public', ows: 'wms', usage: 'wms' }, schema: { hide: true } }, async (request, reply) => {
    const q = kvp(request.query);
    const req = q.get('REQUEST');
    if (!req) throw new OgcServiceError('MissingParameterValue', 'Parameter REQUEST is missing.', 'REQUEST');
    const service = q.get('SERVICE');
    if (req === 'GetCapabilities' || req === 'capabilities') {
      if (!service) throw new OgcServiceError('MissingParameterValue', 'Parameter SERVICE is missing.', 'SERVICE');
      if (service.toUpperCase() !== 'WMS') throw new OgcServiceError('InvalidParameterValue', `SERVICE must be WMS, got '${service.slice(0, 20)}'.`, 'SERVICE');
      // Version negotiation (WMS 1.3.0 §6.2.4): whatever is asked, we answer 1.3.0.
      return sendDocument(request, reply, await wmsCapabilities(s, baseUrl(request, s.app.config), request), 'text/xml; charset=utf-8', capabilitiesCache(request));
    }
    if (service !== undefined && service.toUpperCase() !== 'WMS') throw new OgcServiceError('InvalidParameterValue', `SERVICE must be WMS, got '${service.slice(0, 20)}'.`, 'SERVICE');
    if (req === 'GetMap' || req === 'map') return await getMap(s, request, reply, q);
    if (req === 'GetFeatureInfo' || req === 'feature_info') return await getFeatureInfo(s, request, reply, q);
    throw new OgcServiceError('OperationNotSupported', `Request '${req.slice(0, 40)}' is not supported: GetCapabilities, GetMap, GetFeatureInfo.`, 'REQUEST');
  });
}
