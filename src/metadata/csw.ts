import { OgcServiceError } from '../ogc/ows-exception.js';
import { parseCql, parseOgcFilter, type Predicate, type Queryables } from './csw-filter.js';
import { isoElement } from './iso.js';
import { INSPIRE_THEMES, type Config, type MetadataRecord } from './records.js';
import { child, children, parseXmlElement } from './xml-dom.js';
import { el, leaf, XML_DECLARATION } from './xml.js';

/**
 * A minimal CSW 2.0.2 (OGC 07-006r1, HTTP binding) over the metadata records: GetCapabilities,
 * GetRecords (hits/results, csw:Record in brief/summary/full or gmd:MD_Metadata, paging, CQL or
 * Filter 1.1 constraints, see csw-filter.ts) and GetRecordById, in KVP (GET) and XML (POST).
 * Errors are OWS 1.0 ExceptionReports with the standard codes (the route answers them).
 */

export const CSW_NS = 'http://www.opengis.net/cat/csw/2.0.2';
export const GMD_NS = 'http://www.isotc211.org/2005/gmd';
const OWS_NS = 'http://www.opengis.net/ows';
const NAMESPACES = {
  'xmlns:csw': CSW_NS,
  'xmlns:dc': 'http://purl.org/dc/elements/1.1/',
  'xmlns:dct': 'http://purl.org/dc/terms/',
  'xmlns:ows': OWS_NS,
  'xmlns:ogc': 'http://www.opengis.net/ogc',
  'xmlns:gml': 'http://www.opengis.net/gml',
  'xmlns:xlink': 'http://www.w3.org/1999/xlink',
  'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
};

export type ElementSet = 'brief' | 'summary' | 'full';
export type OutputSchema = typeof CSW_NS | typeof GMD_NS;

export type CswRequest =
  | { request: 'GetCapabilities' }
  | {
      request: 'GetRecords';
      typeNames: string[];
      outputSchema: OutputSchema;
      resultType: 'hits' | 'results';
      elementSet: ElementSet;
      startPosition: number;
      maxRecords: number;
      constraint: Predicate | null;
    }
  | { request: 'GetRecordById'; ids: string[]; outputSchema: OutputSchema; elementSet: ElementSet };

const TYPE_NAMES = ['csw:Record', 'gmd:MD_Metadata'];
export const MAX_RECORDS = 1000;

const invalid = (locator: string, message: string) => new OgcServiceError('InvalidParameterValue', message, locator);
const missing = (locator: string) => new OgcServiceError('MissingParameterValue', `Parameter ${locator} is missing.`, locator);

function outputSchemaOf(v: string | undefined): OutputSchema {
  if (v === undefined || v === '' || v === CSW_NS || v === 'csw:Record') return CSW_NS;
  if (v === GMD_NS || v === 'gmd:MD_Metadata' || v === 'http://www.isotc211.org/2005/gmd/') return GMD_NS;
  throw invalid('outputSchema', `Unsupported outputSchema '${v.slice(0, 100)}': ${CSW_NS} or ${GMD_NS}.`);
}

function elementSetOf(v: string | undefined): ElementSet {
  const s = (v ?? 'summary').trim().toLowerCase();
  if (s === 'brief' || s === 'summary' || s === 'full') return s;
  throw invalid('ElementSetName', `Unsupported ElementSetName '${(v ?? '').slice(0, 40)}': brief, summary or full.`);
}

function typeNamesOf(v: string | undefined): string[] {
  const names = (v ?? 'csw:Record').split(/[\s,]+/).filter(Boolean);
  for (const n of names) {
    const local = n.split(':').pop();
    if (!TYPE_NAMES.some((t) => t.split(':')[1] === local)) throw invalid('typeNames', `Unsupported typeNames '${n.slice(0, 60)}': csw:Record or gmd:MD_Metadata.`);
  }
  return names;
}

function intOf(locator: string, v: string | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined || v.trim() === '') return def;
  if (!/^\d{1,9}$/.test(v.trim())) throw invalid(locator, `${locator} must be a whole number, got '${v.slice(0, 20)}'.`);
  const n = Number(v);
  if (n < min) throw invalid(locator, `${locator} must be at least ${min}.`);
  return Math.min(n, max);
}

function resultTypeOf(v: string | undefined): 'hits' | 'results' {
  const s = (v ?? 'hits').trim();
  if (s === 'hits' || s === 'results') return s;
  if (s === 'validate') throw new OgcServiceError('OptionNotSupported', 'resultType validate is not supported: hits or results.', 'resultType');
  throw invalid('resultType', `Unsupported resultType '${s.slice(0, 20)}': hits or results.`);
}

function outputFormatOf(v: string | undefined): void {
  if (v !== undefined && v !== '' && !/^(application|text)\/xml\b/.test(v)) throw invalid('outputFormat', `Unsupported outputFormat '${v.slice(0, 60)}': application/xml.`);
}

function checkServiceVersion(service: string | undefined, version: string | undefined): void {
  if (!service) throw missing('service');
  if (service.toUpperCase() !== 'CSW') throw invalid('service', `service must be CSW, got '${service.slice(0, 20)}'.`);
  if (!version) throw missing('version');
  if (version !== '2.0.2') throw invalid('version', `version must be 2.0.2, got '${version.slice(0, 20)}'.`);
}

/** A KVP request (parameter names upper-cased, see http/ows.ts `kvp`). */
export function parseKvpRequest(q: Map<string, string>): CswRequest {
  const request = q.get('REQUEST');
  if (!request) throw missing('request');
  if (request === 'GetCapabilities') {
    const service = q.get('SERVICE');
    if (service !== undefined && service.toUpperCase() !== 'CSW') throw invalid('service', `service must be CSW, got '${service.slice(0, 20)}'.`);
    const accept = q.get('ACCEPTVERSIONS');
    if (accept && !accept.split(',').map((v) => v.trim()).includes('2.0.2')) throw new OgcServiceError('VersionNegotiationFailed', 'Only version 2.0.2 is offered.', 'AcceptVersions');
    return { request };
  }
  if (request !== 'GetRecords' && request !== 'GetRecordById') {
    throw new OgcServiceError('OperationNotSupported', `Request '${request.slice(0, 40)}' is not supported: GetCapabilities, GetRecords, GetRecordById.`, 'request');
  }
  checkServiceVersion(q.get('SERVICE'), q.get('VERSION'));
  outputFormatOf(q.get('OUTPUTFORMAT'));
  if (request === 'GetRecordById') {
    const id = q.get('ID');
    if (!id) throw missing('Id');
    return { request, ids: id.split(',').map((s) => s.trim()).filter(Boolean), outputSchema: outputSchemaOf(q.get('OUTPUTSCHEMA')), elementSet: elementSetOf(q.get('ELEMENTSETNAME')) };
  }
  if (q.get('ELEMENTNAME')) throw new OgcServiceError('OptionNotSupported', 'ElementName is not supported: use ElementSetName.', 'ElementName');
  let constraint: Predicate | null = null;
  const text = q.get('CONSTRAINT');
  if (text !== undefined && text.trim() !== '') {
    const lang = q.get('CONSTRAINTLANGUAGE');
    if (!lang) throw missing('CONSTRAINTLANGUAGE');
    if (lang.toUpperCase() === 'CQL_TEXT') constraint = parseCql(text);
    else if (lang.toUpperCase() === 'FILTER') constraint = parseOgcFilter(parseXmlElement(text));
    else throw invalid('CONSTRAINTLANGUAGE', `Unsupported CONSTRAINTLANGUAGE '${lang.slice(0, 20)}': CQL_TEXT or FILTER.`);
  }
  return {
    request,
    typeNames: typeNamesOf(q.get('TYPENAMES')),
    outputSchema: outputSchemaOf(q.get('OUTPUTSCHEMA')),
    resultType: resultTypeOf(q.get('RESULTTYPE')),
    elementSet: elementSetOf(q.get('ELEMENTSETNAME')),
    startPosition: intOf('startPosition', q.get('STARTPOSITION'), 1, 1),
    maxRecords: intOf('maxRecords', q.get('MAXRECORDS'), 10, 0, MAX_RECORDS),
    constraint,
  };
}

/** An XML request body (POST). */
export function parseXmlRequest(body: string): CswRequest {
  const root = parseXmlElement(body);
  if (root.uri !== CSW_NS) throw invalid('request', `Unsupported request element '${root.local}' (namespace ${root.uri || 'none'}): csw:GetCapabilities, csw:GetRecords or csw:GetRecordById.`);
  if (root.local === 'GetCapabilities') return { request: 'GetCapabilities' };
  if (root.local !== 'GetRecords' && root.local !== 'GetRecordById') throw new OgcServiceError('OperationNotSupported', `Request '${root.local}' is not supported: GetCapabilities, GetRecords, GetRecordById.`, 'request');
  checkServiceVersion(root.attrs.service, root.attrs.version);
  outputFormatOf(root.attrs.outputFormat);
  if (root.local === 'GetRecordById') {
    const ids = children(root, 'Id').map((e) => e.text.trim()).filter(Boolean);
    if (ids.length === 0) throw missing('Id');
    return { request: 'GetRecordById', ids, outputSchema: outputSchemaOf(root.attrs.outputSchema), elementSet: elementSetOf(child(root, 'ElementSetName')?.text) };
  }
  const query = child(root, 'Query');
  if (!query) throw missing('Query');
  if (child(query, 'ElementName')) throw new OgcServiceError('OptionNotSupported', 'ElementName is not supported: use ElementSetName.', 'ElementName');
  if (child(root, 'DistributedSearch')) throw new OgcServiceError('OptionNotSupported', 'Distributed search is not supported.', 'DistributedSearch');
  let constraint: Predicate | null = null;
  const c = child(query, 'Constraint');
  if (c) {
    const filter = child(c, 'Filter');
    const cql = child(c, 'CqlText');
    if (filter) constraint = parseOgcFilter(filter);
    else if (cql) constraint = parseCql(cql.text);
    else throw invalid('constraint', 'csw:Constraint needs an ogc:Filter or a csw:CqlText.');
  }
  return {
    request: 'GetRecords',
    typeNames: typeNamesOf(query.attrs.typeNames),
    outputSchema: outputSchemaOf(root.attrs.outputSchema),
    resultType: resultTypeOf(root.attrs.resultType),
    elementSet: elementSetOf(child(query, 'ElementSetName')?.text),
    startPosition: intOf('startPosition', root.attrs.startPosition, 1, 1),
    maxRecords: intOf('maxRecords', root.attrs.maxRecords, 10, 0, MAX_RECORDS),
    constraint,
  };
}

// ---- answers -----------------------------------------------------------------------------

export function queryables(r: MetadataRecord): Queryables {
  const subject = [...r.keywords, ...r.themes.map((t) => INSPIRE_THEMES[t].fr), ...r.topics].join(' ');
  const format = [...new Set(r.links.map((l) => l.format))].join(' ');
  const text = { title: r.title, abstract: r.abstract, subject, identifier: r.id, type: r.level, format };
  return { text: { ...text, anytext: [r.id, r.title, r.abstract, subject, r.lineage, r.place, r.licence.title, r.datasetId, r.version ?? '', format].join(' \n ') }, bbox: r.bboxWgs84 };
}

const dc = (name: string, value: string, attrs: Record<string, string> = {}) => leaf(`dc:${name}`, value, attrs);
const dct = (name: string, value: string, attrs: Record<string, string> = {}) => leaf(`dct:${name}`, value, attrs);

function owsBbox(r: MetadataRecord): string | null {
  const b = r.bboxWgs84;
  if (!b) return null;
  // EPSG:4326 as an URN: latitude first (OGC axis order), as catalogues (pycsw, GeoNetwork) write it.
  return el('ows:BoundingBox', { crs: 'urn:ogc:def:crs:EPSG::4326' }, leaf('ows:LowerCorner', `${b[1]} ${b[0]}`), leaf('ows:UpperCorner', `${b[3]} ${b[2]}`));
}

/** A record in the csw:Record schema (brief, summary or full). */
export function dublinCore(r: MetadataRecord, set: ElementSet, publisher: string): string {
  const head = [dc('identifier', r.id), dc('title', r.title), dc('type', r.level)];
  if (set === 'brief') return el('csw:BriefRecord', {}, head, owsBbox(r));
  const subjects = [...r.themes.map((t) => INSPIRE_THEMES[t].fr), ...r.keywords, ...r.topics].map((s) => dc('subject', s));
  const formats = [...new Set(r.links.map((l) => l.format))].map((f) => dc('format', f));
  const relation = r.parentId ? [dc('relation', r.parentId)] : [];
  if (set === 'summary') return el('csw:SummaryRecord', {}, head, subjects, formats, relation, dct('modified', r.metadataDate), dct('abstract', r.abstract), owsBbox(r));
  return el(
    'csw:Record',
    {},
    head,
    subjects,
    formats,
    relation,
    dct('modified', r.metadataDate),
    dct('abstract', r.abstract),
    r.dates.publication ? dc('date', r.dates.publication) : null,
    r.temporal.start || r.temporal.end ? dct('temporal', `${r.temporal.start ?? ''}/${r.temporal.end ?? ''}`) : null,
    dc('language', 'fre'),
    dc('rights', r.licence.url ? `${r.licence.title} (${r.licence.url})` : r.licence.title),
    dct('accessRights', r.public ? 'Pas de restriction d’accès public' : 'Accès restreint'),
    dc('publisher', publisher),
    dct('spatial', 'EPSG:2154'),
    dct('source', r.lineage),
    r.links.map((l) => dct('references', l.url, { scheme: l.protocol })),
    owsBbox(r),
  );
}

function recordXml(r: MetadataRecord, schema: OutputSchema, set: ElementSet, config: Config): string {
  // Each ISO record declares its own namespaces: its `gml` is GML 3.2, the answer's is GML 3.1 (CSW 2.0.2).
  return schema === GMD_NS ? isoElement(r, config) : dublinCore(r, set, config.metadata.contact.organisation);
}

export function getRecordsResponse(req: Extract<CswRequest, { request: 'GetRecords' }>, records: readonly MetadataRecord[], config: Config, now = new Date()): string {
  const matched = req.constraint ? records.filter((r) => (req.constraint as Predicate)(queryables(r))) : [...records];
  const start = req.startPosition - 1;
  const page = req.resultType === 'hits' ? [] : matched.slice(start, start + req.maxRecords);
  const next = req.resultType === 'hits' ? (matched.length > 0 ? 1 : 0) : start + page.length < matched.length ? start + page.length + 1 : 0;
  return (
    XML_DECLARATION +
    el(
      'csw:GetRecordsResponse',
      { ...NAMESPACES, version: '2.0.2', 'xsi:schemaLocation': `${CSW_NS} http://schemas.opengis.net/csw/2.0.2/CSW-discovery.xsd` },
      el('csw:SearchStatus', { timestamp: now.toISOString() }),
      el(
        'csw:SearchResults',
        { numberOfRecordsMatched: matched.length, numberOfRecordsReturned: page.length, nextRecord: next, recordSchema: req.outputSchema, elementSet: req.elementSet },
        page.map((r) => recordXml(r, req.outputSchema, req.elementSet, config)),
      ),
    ) +
    '\n'
  );
}

export function getRecordByIdResponse(req: Extract<CswRequest, { request: 'GetRecordById' }>, records: readonly MetadataRecord[], config: Config): string {
  const byId = new Map(records.map((r) => [r.id, r]));
  const found = req.ids.map((id) => byId.get(id)).filter((r): r is MetadataRecord => r !== undefined);
  return XML_DECLARATION + el('csw:GetRecordByIdResponse', NAMESPACES, found.map((r) => recordXml(r, req.outputSchema, req.elementSet, config))) + '\n';
}

const value = (v: string) => leaf('ows:Value', v);
const param = (name: string, values: string[]) => el('ows:Parameter', { name }, values.map(value));

export function capabilities(config: Config, url: string): string {
  const c = config.metadata.contact;
  const t = config.territory;
  const dcp = el('ows:DCP', {}, el('ows:HTTP', {}, el('ows:Get', { 'xlink:href': url }), el('ows:Post', { 'xlink:href': url })));
  const schemas = param('outputSchema', [CSW_NS, GMD_NS]);
  const sets = param('ElementSetName', ['brief', 'summary', 'full']);
  return (
    XML_DECLARATION +
    el(
      'csw:Capabilities',
      { ...NAMESPACES, version: '2.0.2', 'xsi:schemaLocation': `${CSW_NS} http://schemas.opengis.net/csw/2.0.2/CSW-discovery.xsd` },
      el(
        'ows:ServiceIdentification',
        {},
        leaf('ows:Title', `PCRS ${t.name} (${t.code}) — catalogue de métadonnées (CSW)`),
        leaf('ows:Abstract', 'Métadonnées ISO 19115/19139 (INSPIRE) du Plan de Corps de Rue Simplifié : orthophotographie 5 cm et levé vectoriel CNIG, par jeu de données et par version.'),
        el('ows:Keywords', {}, ['PCRS', 'métadonnées', 'INSPIRE', 'CSW', t.name].map((k) => leaf('ows:Keyword', k))),
        leaf('ows:ServiceType', 'CSW'),
        leaf('ows:ServiceTypeVersion', '2.0.2'),
        leaf('ows:Fees', 'none'),
        leaf('ows:AccessConstraints', 'none'),
      ),
      el(
        'ows:ServiceProvider',
        {},
        leaf('ows:ProviderName', c.organisation),
        c.url ? el('ows:ProviderSite', { 'xlink:href': c.url }) : null,
        el(
          'ows:ServiceContact',
          {},
          c.individual ? leaf('ows:IndividualName', c.individual) : null,
          el(
            'ows:ContactInfo',
            {},
            c.phone ? el('ows:Phone', {}, leaf('ows:Voice', c.phone)) : null,
            el('ows:Address', {}, c.address ? leaf('ows:DeliveryPoint', c.address) : null, leaf('ows:City', c.city), leaf('ows:PostalCode', c.postalCode), leaf('ows:Country', c.country), c.email ? leaf('ows:ElectronicMailAddress', c.email) : null),
          ),
          leaf('ows:Role', 'pointOfContact'),
        ),
      ),
      el(
        'ows:OperationsMetadata',
        {},
        el('ows:Operation', { name: 'GetCapabilities' }, dcp, param('sections', ['ServiceIdentification', 'ServiceProvider', 'OperationsMetadata', 'Filter_Capabilities'])),
        el(
          'ows:Operation',
          { name: 'GetRecords' },
          dcp,
          param('resultType', ['hits', 'results']),
          param('outputFormat', ['application/xml']),
          schemas,
          param('typeNames', TYPE_NAMES),
          param('CONSTRAINTLANGUAGE', ['FILTER', 'CQL_TEXT']),
          sets,
          el('ows:Constraint', { name: 'SupportedISOQueryables' }, ['AnyText', 'Title', 'Abstract', 'Subject', 'Identifier', 'Type', 'Format'].map(value)),
        ),
        el('ows:Operation', { name: 'GetRecordById' }, dcp, schemas, param('outputFormat', ['application/xml']), sets),
        param('service', ['CSW']),
        param('version', ['2.0.2']),
      ),
      el(
        'ogc:Filter_Capabilities',
        {},
        el(
          'ogc:Spatial_Capabilities',
          {},
          el('ogc:GeometryOperands', {}, leaf('ogc:GeometryOperand', 'gml:Envelope')),
          el('ogc:SpatialOperators', {}, el('ogc:SpatialOperator', { name: 'BBOX' })),
        ),
        el(
          'ogc:Scalar_Capabilities',
          {},
          el('ogc:LogicalOperators'),
          el('ogc:ComparisonOperators', {}, leaf('ogc:ComparisonOperator', 'EqualTo'), leaf('ogc:ComparisonOperator', 'Like')),
        ),
        el('ogc:Id_Capabilities', {}, el('ogc:EID'), el('ogc:FID')),
      ),
    ) +
    '\n'
  );
}

