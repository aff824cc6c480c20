import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RouteApp } from '../../context/capability.js';
import { transformBbox, transformPoint, crsUrn } from '../../grid/crs.js';
import { tileBbox } from '../../grid/tile-matrix-set.js';
import { baseUrl, withApiKey } from '../../http/base-url.js';
import { dallesAt, featureInfoHtml, featureInfoJson } from '../serving/feature-info.js';
import { capabilitiesCache, checkRead, readableLayers, sendDocument, sendTile, type StreamsContext } from './http.js';
import { coverageRange } from '../serving/layers.js';
import type { RasterLayer } from '../serving/layers.js';
import { kvp } from '../../http/ows.js';
import { OgcServiceError } from '../../ogc/ows-exception.js';
import { xmlEscape } from '../../util/xml.js';
import { FORMAT_EXT, FORMAT_MIME, parseFormat, type TileFormat } from '../serving/tile-service.js';
import { findStreamTms, resolveTile, STREAM_TMS, type StreamTms } from '../serving/tms.js';

/** WMTS 1.0.0, KVP and RESTful, after the Géoplateforme's conventions (style `normal`, TMS `2154_5cm` and `PM`). */
export const WMTS_STYLE = 'normal';
const FORMATS: TileFormat[] = ['jpeg', 'png', 'webp'];
const INFO_FORMATS = ['application/json', 'text/html'];

function num(n: number): string {
  return String(Number(n.toPrecision(15)));
}

/** A `<TileMatrixSet>` of the capabilities: its levels as the streams offer them. */
export function tileMatrixSetXml(st: StreamTms): string {
  const matrices: string[] = [];
  for (let z = st.minZ; z <= st.maxZ; z++) {
    const tm = st.tms.tileMatrices[z];
    if (!tm) continue;
    matrices.push(
      `      <TileMatrix><ows:Identifier>${z}</ows:Identifier><ScaleDenominator>${tm.scaleDenominator}</ScaleDenominator><TopLeftCorner>${num(tm.pointOfOrigin[0])} ${num(tm.pointOfOrigin[1])}</TopLeftCorner>` +
        `<TileWidth>${tm.tileWidth}</TileWidth><TileHeight>${tm.tileHeight}</TileHeight><MatrixWidth>${tm.matrixWidth}</MatrixWidth><MatrixHeight>${tm.matrixHeight}</MatrixHeight></TileMatrix>\n`,
    );
  }
  const wkss = st.tms.wellKnownScaleSet ? `      <WellKnownScaleSet>urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible</WellKnownScaleSet>\n` : '';
  return `    <TileMatrixSet>\n      <ows:Title>${xmlEscape(st.tms.title)}</ows:Title>\n      <ows:Identifier>${st.wmtsId}</ows:Identifier>\n      <ows:SupportedCRS>${crsUrn(st.tms.crs)}</ows:SupportedCRS>\n${wkss}${matrices.join('')}    </TileMatrixSet>\n`;
}

/** The capabilities document (layers, TileMatrixSetLimits from the real coverage, both sets). */
export async function wmtsCapabilities(s: StreamsContext, base: string, request?: FastifyRequest): Promise<string> {
  // Only the layers the caller may read; URLs keep the caller's apikey parameter.
  const layers = request ? await readableLayers(s, request) : await s.layers.list();
  const key = (url: string) => (request ? withApiKey(url, request) : url);
  const territory = s.app.config.territory.extent as unknown as [number, number, number, number];
  const op = (name: string) =>
    `    <ows:Operation name="${name}"><ows:DCP><ows:HTTP><ows:Get xlink:href="${xmlEscape(key(`${base}/wmts?`))}"><ows:Constraint name="GetEncoding"><ows:AllowedValues><ows:Value>KVP</ows:Value></ows:AllowedValues></ows:Constraint></ows:Get>` +
    `<ows:Get xlink:href="${xmlEscape(base)}/wmts/1.0.0/"><ows:Constraint name="GetEncoding"><ows:AllowedValues><ows:Value>RESTful</ows:Value></ows:AllowedValues></ows:Constraint></ows:Get></ows:HTTP></ows:DCP></ows:Operation>\n`;
  const layerXml = (layer: RasterLayer) => {
    const bbox = layer.bbox ?? territory;
    const wgs = transformBbox('EPSG:2154', 'OGC:CRS84', bbox);
    const links = STREAM_TMS.map((st) => {
      const limits: string[] = [];
      for (let z = st.minZ; z <= st.maxZ; z++) {
        const r = coverageRange(layer, st.tms, z);
        if (r) limits.push(`<TileMatrixLimits><TileMatrix>${z}</TileMatrix><MinTileRow>${r.minRow}</MinTileRow><MaxTileRow>${r.maxRow}</MaxTileRow><MinTileCol>${r.minCol}</MinTileCol><MaxTileCol>${r.maxCol}</MaxTileCol></TileMatrixLimits>`);
      }
      return `      <TileMatrixSetLink><TileMatrixSet>${st.wmtsId}</TileMatrixSet>${limits.length ? `<TileMatrixSetLimits>${limits.join('')}</TileMatrixSetLimits>` : ''}</TileMatrixSetLink>\n`;
    }).join('');
    const rest = `${base}/wmts/1.0.0/${layer.id}/{Style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}`;
    return (
      '    <Layer>\n' +
      `      <ows:Title>${xmlEscape(layer.title)}</ows:Title>\n      <ows:Abstract>${xmlEscape(layer.abstract)}</ows:Abstract>\n` +
      `      <ows:WGS84BoundingBox><ows:LowerCorner>${num(wgs[0])} ${num(wgs[1])}</ows:LowerCorner><ows:UpperCorner>${num(wgs[2])} ${num(wgs[3])}</ows:UpperCorner></ows:WGS84BoundingBox>\n` +
      `      <ows:Identifier>${xmlEscape(layer.id)}</ows:Identifier>\n` +
      `      <Style isDefault="true"><ows:Title>Données brutes</ows:Title><ows:Identifier>${WMTS_STYLE}</ows:Identifier></Style>\n` +
      FORMATS.map((f) => `      <Format>${FORMAT_MIME[f]}</Format>\n`).join('') +
      INFO_FORMATS.map((f) => `      <InfoFormat>${f}</InfoFormat>\n`).join('') +
      links +
      FORMATS.map((f) => `      <ResourceURL format="${FORMAT_MIME[f]}" resourceType="tile" template="${xmlEscape(key(`${rest}.${FORMAT_EXT[f]}`))}"/>\n`).join('') +
      `      <ResourceURL format="application/json" resourceType="FeatureInfo" template="${xmlEscape(key(`${rest}/{J}/{I}.json`))}"/>\n` +
      `      <ResourceURL format="text/html" resourceType="FeatureInfo" template="${xmlEscape(key(`${rest}/{J}/{I}.html`))}"/>\n` +
      '    </Layer>\n'
    );
  };
  const t = s.app.config.territory;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:gml="http://www.opengis.net/gml" ' +
    'xsi:schemaLocation="http://www.opengis.net/wmts/1.0 http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd" version="1.0.0">\n' +
    '  <ows:ServiceIdentification>\n' +
    `    <ows:Title>PCRS ${xmlEscape(t.name)} (${xmlEscape(t.code)}) — WMTS</ows:Title>\n` +
    '    <ows:Abstract>Orthophotographie PCRS 5 cm (Plan de Corps de Rue Simplifié). Licence Ouverte / Etalab 2.0.</ows:Abstract>\n' +
    '    <ows:Keywords><ows:Keyword>PCRS</ows:Keyword><ows:Keyword>orthophotographie</ows:Keyword></ows:Keywords>\n' +
    '    <ows:ServiceType>OGC WMTS</ows:ServiceType>\n    <ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>\n' +
    '    <ows:Fees>none</ows:Fees>\n    <ows:AccessConstraints>Licence Ouverte / Etalab 2.0</ows:AccessConstraints>\n' +
    '  </ows:ServiceIdentification>\n' +
    `  <ows:ServiceProvider><ows:ProviderName>PCRS ${xmlEscape(t.name)}</ows:ProviderName><ows:ServiceContact/></ows:ServiceProvider>\n` +
    '  <ows:OperationsMetadata>\n' +
    op('GetCapabilities') +
    op('GetTile') +
    op('GetFeatureInfo') +
    '  </ows:OperationsMetadata>\n' +
    '  <Contents>\n' +
    layers.map(layerXml).join('') +
    STREAM_TMS.map(tileMatrixSetXml).join('') +
    '  </Contents>\n' +
    `  <ServiceMetadataURL xlink:href="${xmlEscape(key(`${base}/wmts/1.0.0/WMTSCapabilities.xml`))}"/>\n` +
    '</Capabilities>\n'
  );
}

interface TileParams {
  layer?: string | undefined;
  style?: string | undefined;
  format?: string | undefined;
  tms?: string | undefined;
  z?: string | undefined;
  row?: string | undefined;
  col?: string | undefined;
}

async function resolveTileRequest(s: StreamsContext, p: TileParams, formatKind: 'mime' | 'ext') {
  if (!p.layer) throw new OgcServiceError('MissingParameterValue', 'Parameter LAYER is missing.', 'LAYER');
  const layer = await s.layers.get(p.layer, 'LAYER');
  if (p.style === undefined) throw new OgcServiceError('MissingParameterValue', 'Parameter STYLE is missing.', 'STYLE');
  if (p.style !== WMTS_STYLE && p.style !== 'default' && p.style !== '') throw new OgcServiceError('InvalidParameterValue', `Unknown style '${p.style.slice(0, 40)}': the style is '${WMTS_STYLE}'.`, 'STYLE');
  if (!p.format) throw new OgcServiceError('MissingParameterValue', 'Parameter FORMAT is missing.', 'FORMAT');
  const format = parseFormat(p.format);
  if (!format || (formatKind === 'mime' && !p.format.includes('/'))) throw new OgcServiceError('InvalidParameterValue', `Format '${p.format.slice(0, 40)}' is not offered: image/jpeg, image/png, image/webp.`, 'FORMAT');
  if (!p.tms) throw new OgcServiceError('MissingParameterValue', 'Parameter TILEMATRIXSET is missing.', 'TILEMATRIXSET');
  const st = findStreamTms(p.tms);
  if (!st) throw new OgcServiceError('InvalidParameterValue', `Unknown TileMatrixSet '${p.tms.slice(0, 40)}': 2154_5cm or PM.`, 'TILEMATRIXSET');
  const t = resolveTile(st, layer, p.z, p.row, p.col, true);
  return { layer, format, st, ...t };
}

async function featureInfo(s: StreamsContext, request: FastifyRequest, reply: FastifyReply, p: TileParams, iText: string | undefined, jText: string | undefined, infoFormat: string | undefined) {
  const r = await resolveTileRequest(s, p, 'mime');
  if (iText === undefined || iText === '') throw new OgcServiceError('MissingParameterValue', 'Parameter I is missing.', 'I');
  if (jText === undefined || jText === '') throw new OgcServiceError('MissingParameterValue', 'Parameter J is missing.', 'J');
  if (!/^\d{1,3}$/.test(iText) || Number(iText) > 255) throw new OgcServiceError('PointIJOutOfRange', `I '${iText.slice(0, 20)}' is outside 0–255.`, 'I');
  if (!/^\d{1,3}$/.test(jText) || Number(jText) > 255) throw new OgcServiceError('PointIJOutOfRange', `J '${jText.slice(0, 20)}' is outside 0–255.`, 'J');
  if (!infoFormat) throw new OgcServiceError('MissingParameterValue', 'Parameter INFOFORMAT is missing.', 'INFOFORMAT');
  const fmt = infoFormat.split(';')[0]?.trim().toLowerCase();
  if (fmt !== 'application/json' && fmt !== 'text/html') throw new OgcServiceError('InvalidParameterValue', `InfoFormat '${infoFormat.slice(0, 40)}' is not offered: application/json, text/html.`, 'INFOFORMAT');
  const bbox = tileBbox(r.st.tms, r.z, r.col, r.row);
  await checkRead(s, request, r.layer, r.st.tms.crs === 'EPSG:2154' ? bbox : transformBbox(r.st.tms.crs, 'EPSG:2154', bbox));
  const cell = (bbox[2] - bbox[0]) / 256;
  const [x, y] = transformPoint(r.st.tms.crs, 'EPSG:2154', [bbox[0] + (Number(iText) + 0.5) * cell, bbox[3] - (Number(jText) + 0.5) * cell]);
  const dalles = await dallesAt(s, r.layer, x, y, baseUrl(request, s.app.config));
  reply.header('access-control-allow-origin', '*').header('cache-control', 'public, max-age=60');
  if (fmt === 'text/html') return reply.type('text/html; charset=utf-8').send(featureInfoHtml(r.layer, dalles));
  return reply.type('application/json').send(featureInfoJson(r.layer, x, y, dalles));
}

export function registerWmts(app: RouteApp, s: StreamsContext): void {
  const options = { config: { access: 'public' as const, ows: 'wmts' as const, usage: 'wmts' as const }, schema: { hide: true } };
  const str = z.string().max(200);
  const capabilities = async (request: FastifyRequest, reply: FastifyReply) =>
    sendDocument(request, reply, await wmtsCapabilities(s, baseUrl(request, s.app.config), request), 'application/xml; charset=utf-8', capabilitiesCache(request));

  app.get('/wmts', options, async (request, reply) => {
    const q = kvp(request.query);
    const service = q.get('SERVICE');
    const req = q.get('REQUEST');
    if (!req) throw new OgcServiceError('MissingParameterValue', 'Parameter REQUEST is missing.', 'REQUEST');
    if (req === 'GetCapabilities') {
      if (service !== undefined && service.toUpperCase() !== 'WMTS') throw new OgcServiceError('InvalidParameterValue', `SERVICE must be WMTS, got '${service.slice(0, 20)}'.`, 'SERVICE');
      const accept = q.get('ACCEPTVERSIONS');
      if (accept && !accept.split(',').map((v) => v.trim()).includes('1.0.0')) throw new OgcServiceError('VersionNegotiationFailed', 'Only version 1.0.0 is offered.', 'AcceptVersions');
      return await capabilities(request, reply);
    }
    if (req !== 'GetTile' && req !== 'GetFeatureInfo') throw new OgcServiceError('OperationNotSupported', `Request '${req.slice(0, 40)}' is not supported: GetCapabilities, GetTile, GetFeatureInfo.`, 'REQUEST', 400);
    if (!service) throw new OgcServiceError('MissingParameterValue', 'Parameter SERVICE is missing.', 'SERVICE');
    if (service.toUpperCase() !== 'WMTS') throw new OgcServiceError('InvalidParameterValue', `SERVICE must be WMTS, got '${service.slice(0, 20)}'.`, 'SERVICE');
    const version = q.get('VERSION');
    if (!version) throw new OgcServiceError('MissingParameterValue', 'Parameter VERSION is missing.', 'VERSION');
    if (version !== '1.0.0') throw new OgcServiceError('InvalidParameterValue', `VERSION must be 1.0.0, got '${version.slice(0, 20)}'.`, 'VERSION');
    const p: TileParams = { layer: q.get('LAYER'), style: q.get('STYLE'), format: q.get('FORMAT'), tms: q.get('TILEMATRIXSET'), z: q.get('TILEMATRIX'), row: q.get('TILEROW'), col: q.get('TILECOL') };
    if (req === 'GetTile') {
      const r = await resolveTileRequest(s, p, 'mime');
      return await sendTile(s, request, reply, r.layer, r.st.tms, r.z, r.col, r.row, r.format);
    }
    return await featureInfo(s, request, reply, p, q.get('I'), q.get('J'), q.get('INFOFORMAT'));
  });

  app.get('/wmts/1.0.0/WMTSCapabilities.xml', options, async (request, reply) => {
    return await capabilities(request, reply);
  });

  const tileParams = z.object({ layer: str, style: str, tms: str, z: str, row: str, colext: str });
  app.get('/wmts/1.0.0/:layer/:style/:tms/:z/:row/:colext', { ...options, schema: { hide: true, params: tileParams } }, async (request, reply) => {
    const { layer, style, tms, z, row, colext } = request.params;
    const m = /^([^.]*)\.([A-Za-z]+)$/.exec(colext ?? '');
    if (!m) throw new OgcServiceError('InvalidParameterValue', 'The tile URL must end in {TileCol}.{jpeg|png|webp}.', 'FORMAT');
    const r = await resolveTileRequest(s, { layer, style, tms, z, row, col: m[1], format: m[2] }, 'ext');
    return await sendTile(s, request, reply, r.layer, r.st.tms, r.z, r.col, r.row, r.format);
  });

  const infoParams = z.object({ layer: str, style: str, tms: str, z: str, row: str, col: str, j: str, iext: str });
  app.get('/wmts/1.0.0/:layer/:style/:tms/:z/:row/:col/:j/:iext', { ...options, schema: { hide: true, params: infoParams } }, async (request, reply) => {
    const { layer, style, tms, z, row, col, j, iext } = request.params;
    const m = /^([^.]*)\.(json|html)$/.exec(iext ?? '');
    if (!m) throw new OgcServiceError('InvalidParameterValue', 'The FeatureInfo URL must end in {I}.json or {I}.html.', 'INFOFORMAT');
    return await featureInfo(s, request, reply, { layer, style, tms, z, row, col, format: 'image/jpeg' }, m[1], j, m[2] === 'json' ? 'application/json' : 'text/html');
  });
}
