/**
 * WFS 2.0.0 (KVP GET) for the vector PCRS, for QGIS 3.22 and GDAL: GetCapabilities,
 * DescribeFeatureType (a flat application schema: one feature type per CNIG class, simple
 * properties; structured values as JSON text), GetFeature with TYPENAMES, BBOX, COUNT/STARTINDEX
 * paging, RESULTTYPE=hits, SRSNAME, outputFormat GML 3.2 (default) or application/json.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Bbox } from '../../grid/bbox.js';
import { crsUrn, parseCrs, transformBbox, type CrsCode } from '../../grid/crs.js';
import { WHOLE_AREA } from '../../context/access.js';
import type { AppContext } from '../../context/app-context.js';
import type { RouteApp } from '../../context/capability.js';
import { kvp } from '../../http/ows.js';
import { OgcServiceError } from '../../ogc/ows-exception.js';
import { xmlEscape } from '../../util/xml.js';
import { baseUrl, withApiKey } from '../../http/base-url.js';
import { pcrsClass, type PcrsPropertyDef, type PcrsValue } from '../gml/pcrs-model.js';
import { GeomWriter, type Geo } from '../gml-writer.js';
import { bboxTo2154, featureJson, outputSrid, vectorVersions } from './ogc-features.js';
import { VECTOR_DATASET } from '../store.js';
import { classSummaries, countFeatures, queryFeatures, type FeatureQuery } from '../store.js';

export const WFS_NS = 'http://cnig.gouv.fr/pcrs/wfs';
const GML_FORMAT = 'application/gml+xml; version=3.2';
const JSON_FORMATS = ['application/json', 'json', 'geojson', 'application/geo+json'];
const WFS_CRS: readonly CrsCode[] = ['EPSG:2154', 'EPSG:4326', 'EPSG:3857'];
const MAX_COUNT = 10_000;

const XSD_TYPE: Record<string, string> = { string: 'xsd:string', date: 'xsd:string', double: 'xsd:double', integer: 'xsd:integer', code: 'xsd:string', reference: 'xsd:string' };
const GEOM_TYPE: Record<string, string> = {
  Point: 'gml:PointPropertyType',
  Curve: 'gml:CurvePropertyType',
  Polygon: 'gml:SurfacePropertyType',
  Surface: 'gml:SurfacePropertyType',
  MultiPoint: 'gml:MultiPointPropertyType',
  MultiCurve: 'gml:MultiCurvePropertyType',
  MultiSurface: 'gml:MultiSurfacePropertyType',
  Geometry: 'gml:GeometryPropertyType',
};

/** The flat properties of a class in WFS (the CNIG properties, then gmlId and sourceCrs). */
function flatProperties(cls: string): PcrsPropertyDef[] {
  const def = pcrsClass(cls);
  return [...(def?.properties ?? []).map((p) => (p.multiple ? { ...p, type: 'string' as const } : p)), { name: 'gmlId', type: 'string', required: false }, { name: 'sourceCrs', type: 'string', required: false }];
}

function typeNames(text: string | undefined, known: string[]): string[] {
  if (!text) throw new OgcServiceError('MissingParameterValue', 'TYPENAMES is required.', 'TYPENAMES');
  const names = text
    .replace(/[()]/g, '')
    .split(',')
    .map((t) => t.trim().replace(/^.*:/, ''))
    .filter(Boolean);
  for (const n of names) if (!known.includes(n)) throw new OgcServiceError('InvalidParameterValue', `Unknown feature type '${n}'.`, 'TYPENAMES');
  return names;
}

function wfsCrs(text: string | undefined): CrsCode {
  if (!text) return 'EPSG:2154';
  let c: CrsCode;
  try {
    c = parseCrs(text);
  } catch {
    throw new OgcServiceError('InvalidParameterValue', `Unsupported CRS ${text}.`, 'SRSNAME');
  }
  if (c === 'OGC:CRS84') return 'EPSG:4326';
  if (!WFS_CRS.includes(c)) throw new OgcServiceError('InvalidParameterValue', `Unsupported CRS ${text}.`, 'SRSNAME');
  return c;
}

function simpleValue(v: PcrsValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (!Array.isArray(v) && typeof v.href === 'string' && Object.keys(v).length === 1) return v.href;
  return JSON.stringify(v);
}

async function capabilities(ctx: AppContext, request: FastifyRequest): Promise<string> {
  const url = `${baseUrl(request, ctx.config)}/wfs`;
  const classes = await classSummaries(ctx.db, { datasetId: VECTOR_DATASET });
  const op = (name: string, extra = '') =>
    `<ows:Operation name="${name}"><ows:DCP><ows:HTTP><ows:Get xlink:href="${xmlEscape(withApiKey(`${url}?`, request))}"/></ows:HTTP></ows:DCP>${extra}</ows:Operation>`;
  const constraint = (name: string, value: string) => `<ows:Constraint name="${name}"><ows:NoValues/><ows:DefaultValue>${value}</ows:DefaultValue></ows:Constraint>`;
  const types = classes
    .map((c) => {
      const wgs = c.bbox ? transformBbox('EPSG:2154', 'OGC:CRS84', c.bbox) : null;
      return (
        `<wfs:FeatureType><wfs:Name>pcrs:${c.class}</wfs:Name><wfs:Title>${c.class}</wfs:Title><wfs:Abstract>${c.count} objet(s) ${c.class} (PCRS CNIG v2.0, version courante)</wfs:Abstract>` +
        `<wfs:DefaultCRS>${crsUrn('EPSG:2154')}</wfs:DefaultCRS><wfs:OtherCRS>${crsUrn('EPSG:4326')}</wfs:OtherCRS><wfs:OtherCRS>${crsUrn('EPSG:3857')}</wfs:OtherCRS>` +
        `<wfs:OutputFormats><wfs:Format>${GML_FORMAT}</wfs:Format><wfs:Format>application/json</wfs:Format></wfs:OutputFormats>` +
        (wgs ? `<ows:WGS84BoundingBox><ows:LowerCorner>${wgs[0]} ${wgs[1]}</ows:LowerCorner><ows:UpperCorner>${wgs[2]} ${wgs[3]}</ows:UpperCorner></ows:WGS84BoundingBox>` : '') +
        `</wfs:FeatureType>`
      );
    })
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<wfs:WFS_Capabilities version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:ows="http://www.opengis.net/ows/1.1" ` +
    `xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:fes="http://www.opengis.net/fes/2.0" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:pcrs="${WFS_NS}">` +
    `<ows:ServiceIdentification><ows:Title>PCRS vecteur — ${xmlEscape(ctx.config.territory.name)}</ows:Title><ows:Abstract>Plan de Corps de Rue Simplifié, levé vectoriel CNIG v2.0 (version courante).</ows:Abstract>` +
    `<ows:ServiceType>WFS</ows:ServiceType><ows:ServiceTypeVersion>2.0.0</ows:ServiceTypeVersion><ows:Fees>NONE</ows:Fees><ows:AccessConstraints>Licence Ouverte / Etalab 2.0</ows:AccessConstraints></ows:ServiceIdentification>` +
    `<ows:OperationsMetadata>${op('GetCapabilities')}${op('DescribeFeatureType')}` +
    op('GetFeature', `<ows:Parameter name="outputFormat"><ows:AllowedValues><ows:Value>${GML_FORMAT}</ows:Value><ows:Value>application/json</ows:Value></ows:AllowedValues></ows:Parameter>`) +
    `${constraint('ImplementsBasicWFS', 'TRUE')}${constraint('KVPEncoding', 'TRUE')}${constraint('ImplementsResultPaging', 'TRUE')}` +
    `<ows:Constraint name="CountDefault"><ows:NoValues/><ows:DefaultValue>${MAX_COUNT}</ows:DefaultValue></ows:Constraint></ows:OperationsMetadata>` +
    `<wfs:FeatureTypeList>${types}</wfs:FeatureTypeList>` +
    `<fes:Filter_Capabilities><fes:Conformance>${['ImplementsQuery', 'ImplementsAdHocQuery', 'ImplementsResourceId', 'ImplementsMinSpatialFilter']
      .map((c) => `<fes:Constraint name="${c}"><ows:NoValues/><ows:DefaultValue>${c === 'ImplementsResourceId' ? 'FALSE' : 'TRUE'}</ows:DefaultValue></fes:Constraint>`)
      .join('')}</fes:Conformance>` +
    `<fes:Spatial_Capabilities><fes:GeometryOperands><fes:GeometryOperand name="gml:Envelope"/></fes:GeometryOperands><fes:SpatialOperators><fes:SpatialOperator name="BBOX"/></fes:SpatialOperators></fes:Spatial_Capabilities>` +
    `</fes:Filter_Capabilities></wfs:WFS_Capabilities>\n`
  );
}

function describe(names: string[]): string {
  const types = names
    .map((cls) => {
      const def = pcrsClass(cls);
      const props = flatProperties(cls)
        .map((p) => `<xsd:element name="${p.name}" type="${XSD_TYPE[p.type] ?? 'xsd:string'}" minOccurs="0" nillable="true"/>`)
        .join('');
      const geom = def?.geometry ? `<xsd:element name="geometrie" type="${GEOM_TYPE[def.geometry.kind] ?? 'gml:GeometryPropertyType'}" minOccurs="0" nillable="true"/>` : '';
      return (
        `<xsd:complexType name="${cls}Type"><xsd:complexContent><xsd:extension base="gml:AbstractFeatureType"><xsd:sequence>${props}${geom}</xsd:sequence></xsd:extension></xsd:complexContent></xsd:complexType>` +
        `<xsd:element name="${cls}" type="pcrs:${cls}Type" substitutionGroup="gml:AbstractFeature"/>`
      );
    })
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:pcrs="${WFS_NS}" ` +
    `targetNamespace="${WFS_NS}" elementFormDefault="qualified" version="2.0">` +
    `<xsd:import namespace="http://www.opengis.net/gml/3.2" schemaLocation="http://schemas.opengis.net/gml/3.2.1/gml.xsd"/>${types}</xsd:schema>\n`
  );
}

async function getFeature(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, p: Record<string, string | undefined>, known: string[]): Promise<string> {
  const names = typeNames(p.TYPENAMES ?? p.TYPENAME, known);
  const countText = p.COUNT ?? p.MAXFEATURES;
  const count = countText === undefined ? MAX_COUNT : Number(countText);
  const start = p.STARTINDEX === undefined ? 0 : Number(p.STARTINDEX);
  if (!Number.isInteger(count) || count < 0) throw new OgcServiceError('InvalidParameterValue', 'COUNT must be a non-negative integer.', 'COUNT');
  if (!Number.isInteger(start) || start < 0) throw new OgcServiceError('InvalidParameterValue', 'STARTINDEX must be a non-negative integer.', 'STARTINDEX');
  const srs = wfsCrs(p.SRSNAME);
  let bbox: Bbox | undefined;
  if (p.BBOX) {
    const parts = p.BBOX.split(',');
    const crs = parts.length === 5 || parts.length === 7 ? wfsCrs(parts.pop()) : 'EPSG:2154';
    try {
      bbox = bboxTo2154(parts.map(Number), crs);
    } catch (e) {
      throw new OgcServiceError('InvalidParameterValue', (e as Error).message, 'BBOX');
    }
  }
  if (p.FILTER) {
    if (bbox) throw new OgcServiceError('InvalidParameterValue', 'BBOX and FILTER are mutually exclusive.', 'FILTER');
    bbox = filterBbox(p.FILTER);
  }
  // A permission's perimeter limits the area asked (no BBOX: the whole dataset).
  await ctx.access.checkRead(request.caller, { datasetId: VECTOR_DATASET, bbox: bbox ? (bbox as unknown as [number, number, number, number]) : WHOLE_AREA });
  const format = (p.OUTPUTFORMAT ?? GML_FORMAT).toLowerCase();
  const asJson = JSON_FORMATS.includes(format);
  if (!asJson && !format.includes('gml') && !format.includes('xml')) throw new OgcServiceError('InvalidParameterValue', `Unsupported outputFormat ${p.OUTPUTFORMAT}.`, 'OUTPUTFORMAT');
  const hits = (p.RESULTTYPE ?? '').toLowerCase() === 'hits';
  const base: Omit<FeatureQuery, 'class'> = { datasetId: VECTOR_DATASET, ...(bbox ? { bbox } : {}) };

  let matched = 0;
  const counts: number[] = [];
  for (const cls of names) {
    const n = await countFeatures(ctx.db, { ...base, class: cls });
    counts.push(n);
    matched += n;
  }
  const features: Array<{ cls: string; f: Awaited<ReturnType<typeof queryFeatures>>[number] }> = [];
  if (!hits) {
    let skip = start;
    let left = Math.min(count, MAX_COUNT);
    for (let i = 0; i < names.length && left > 0; i++) {
      const n = counts[i] as number;
      if (skip >= n) {
        skip -= n;
        continue;
      }
      const cls = names[i] as string;
      const page = await queryFeatures(ctx.db, { ...base, class: cls, offset: skip, limit: left, outSrid: outputSrid(srs), latLon: srs === 'EPSG:4326', decimals: srs === 'EPSG:4326' ? 9 : 3 });
      skip = 0;
      left -= page.length;
      for (const f of page) features.push({ cls, f });
    }
  }
  const stamp = new Date().toISOString();
  if (asJson) {
    const versions = await vectorVersions(ctx);
    reply.type('application/json; charset=utf-8');
    return `{"type":"FeatureCollection","numberMatched":${matched},"numberReturned":${features.length},"timeStamp":"${stamp}","features":[${features.map((x) => featureJson(x.f, versions)).join(',')}]}`;
  }
  reply.type(`${GML_FORMAT}; charset=utf-8`);
  const url = `${baseUrl(request, ctx.config)}/wfs`;
  const schemaLoc = `${WFS_NS} ${url}?SERVICE=WFS&VERSION=2.0.0&REQUEST=DescribeFeatureType&TYPENAMES=${names.map((n) => `pcrs:${n}`).join(',')}`;
  const head =
    `<?xml version="1.0" encoding="UTF-8"?>\n<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:pcrs="${WFS_NS}" ` +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opengis.net/wfs/2.0 http://schemas.opengis.net/wfs/2.0/wfs.xsd ${xmlEscape(schemaLoc)}" ` +
    `numberMatched="${matched}" numberReturned="${features.length}" timeStamp="${stamp}"`;
  if (features.length === 0) return `${head}/>\n`;
  const srsName = crsUrn(srs);
  const members = features.map(({ cls, f }) => {
    const id = `${cls}.${f.id}`;
    const values: Record<string, PcrsValue> = { ...f.attributes, gmlId: f.gmlId, sourceCrs: f.sourceCrs };
    let body = '';
    for (const prop of flatProperties(cls)) {
      const v = simpleValue(values[prop.name]);
      if (v !== null) body += `<pcrs:${prop.name}>${xmlEscape(v)}</pcrs:${prop.name}>`;
    }
    if (f.geometry) body += `<pcrs:geometrie>${new GeomWriter(id, srsName).write(JSON.parse(f.geometry) as Geo, null)}</pcrs:geometrie>`;
    return `<wfs:member><pcrs:${cls} gml:id="${xmlEscape(id)}">${body}</pcrs:${cls}></wfs:member>\n`;
  });
  return `${head}>\n${members.join('')}</wfs:FeatureCollection>\n`;
}

/**
 * The one filter this service evaluates: a (possibly And-wrapped) `fes:BBOX` with a
 * `gml:Envelope` (what GDAL and QGIS send for a spatial extent). Anything else is refused rather
 * than silently ignored.
 */
export function filterBbox(filter: string): Bbox {
  const text = filter.replace(/\s+/g, ' ');
  const bboxEl = /<(?:\w+:)?BBOX\b[\s\S]*?<\/(?:\w+:)?BBOX>/.exec(text);
  const others = text.replace(bboxEl?.[0] ?? '', '').replace(/<\/?(?:\w+:)?(?:Filter|And)\b[^>]*>/g, '').trim();
  if (!bboxEl || others !== '') throw new OgcServiceError('InvalidParameterValue', 'Only a fes:BBOX filter (gml:Envelope) is supported.', 'FILTER');
  const env = /<(?:\w+:)?Envelope\b([^>]*)>\s*<(?:\w+:)?lowerCorner>([^<]+)<\/(?:\w+:)?lowerCorner>\s*<(?:\w+:)?upperCorner>([^<]+)<\/(?:\w+:)?upperCorner>/.exec(bboxEl[0]);
  if (!env) throw new OgcServiceError('InvalidParameterValue', 'fes:BBOX needs a gml:Envelope with lowerCorner and upperCorner.', 'FILTER');
  const srs = /srsName="([^"]+)"/.exec(env[1] ?? '')?.[1];
  const lo = (env[2] ?? '').trim().split(' ').map(Number);
  const hi = (env[3] ?? '').trim().split(' ').map(Number);
  try {
    return bboxTo2154([lo[0] as number, lo[1] as number, hi[0] as number, hi[1] as number], wfsCrs(srs));
  } catch (e) {
    if (e instanceof OgcServiceError) throw e;
    throw new OgcServiceError('InvalidParameterValue', (e as Error).message, 'FILTER');
  }
}

export function registerWfsRoutes(app: RouteApp, ctx: AppContext): void {
  app.get('/wfs', { config: { access: 'public', ows: 'wfs', usage: 'wfs' }, schema: { hide: true } }, async (request, reply) => {
    const p: Record<string, string | undefined> = Object.fromEntries(kvp(request.query));
    await ctx.access.checkRead(request.caller, { datasetId: VECTOR_DATASET });
    const req = (p.REQUEST ?? '').toLowerCase();
    if (p.SERVICE && p.SERVICE.toUpperCase() !== 'WFS') throw new OgcServiceError('InvalidParameterValue', 'SERVICE must be WFS.', 'SERVICE');
    if (req === 'getcapabilities') return reply.type('application/xml; charset=utf-8').send(await capabilities(ctx, request));
    const known = (await classSummaries(ctx.db, { datasetId: VECTOR_DATASET })).map((c) => c.class);
    if (req === 'describefeaturetype') {
      const names = p.TYPENAMES ?? p.TYPENAME ? typeNames(p.TYPENAMES ?? p.TYPENAME, known) : known;
      return reply.type('application/xml; charset=utf-8').send(describe(names));
    }
    if (req === 'getfeature') return reply.send(await getFeature(ctx, request, reply, p, known));
    throw new OgcServiceError(p.REQUEST ? 'OperationNotSupported' : 'MissingParameterValue', 'REQUEST must be GetCapabilities, DescribeFeatureType or GetFeature.', 'REQUEST');
  });
}
