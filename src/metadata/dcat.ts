import { inspireThemeUri, type Config, type MetadataLink, type MetadataRecord } from './records.js';
import { el, text, XML_DECLARATION } from './xml.js';

/**
 * DCAT-AP (with the GeoDCAT-AP properties udata reads) from the metadata records: one
 * dcat:Catalog, one dcat:Dataset per dataset (its series record), whose distributions are the
 * streams and downloads of the dataset and of each published version the caller may read. One
 * small graph, written as RDF/XML and as JSON-LD (an inline @context: no remote context to fetch).
 */

export const PREFIXES = {
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  rdfs: 'http://www.w3.org/2000/01/rdf-schema#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  dcat: 'http://www.w3.org/ns/dcat#',
  dct: 'http://purl.org/dc/terms/',
  foaf: 'http://xmlns.com/foaf/0.1/',
  vcard: 'http://www.w3.org/2006/vcard/ns#',
  locn: 'http://www.w3.org/ns/locn#',
  gsp: 'http://www.opengis.net/ont/geosparql#',
  owl: 'http://www.w3.org/2002/07/owl#',
} as const;

type Prefixed = `${keyof typeof PREFIXES}:${string}`;
export interface Literal {
  value: string;
  lang?: string;
  datatype?: Prefixed;
}
export interface Node {
  /** An IRI; absent for a blank node (written nested). */
  id?: string;
  type: Prefixed;
  props: Array<[Prefixed, Value]>;
}
export type Value = Literal | { iri: string } | Node;

const fr = (value: string): Literal => ({ value, lang: 'fr' });
const date = (value: string): Literal => ({ value, datatype: 'xsd:date' });
const iri = (value: string) => ({ iri: value });
const isLiteral = (v: Value): v is Literal => 'value' in v;
const isIri = (v: Value): v is { iri: string } => 'iri' in v;

const ACCESS_RIGHTS = 'http://publications.europa.eu/resource/authority/access-right/';
const SERVICE_TYPES: Record<string, string> = {
  'OGC:WMTS': 'http://www.opengis.net/def/serviceType/ogc/wmts',
  'OGC:WMS': 'http://www.opengis.net/def/serviceType/ogc/wms',
  'OGC:WFS': 'http://www.opengis.net/def/serviceType/ogc/wfs',
  'OGC API - Features': 'http://www.opengis.net/doc/IS/ogcapi-features-1/1.0',
  'OGC API - Tiles': 'http://www.opengis.net/doc/IS/ogcapi-tiles-1/1.0',
};

function wktPolygon(b: readonly number[]): string {
  const [w, s, e, n] = b as [number, number, number, number];
  return `POLYGON((${w} ${s},${e} ${s},${e} ${n},${w} ${n},${w} ${s}))`;
}

function distribution(datasetIri: string, r: MetadataRecord, l: MetadataLink, n: number): Node {
  const props: Node['props'] = [
    ['dct:title', fr(l.description)],
    ['dcat:accessURL', iri(l.url)],
    ...(l.function === 'download' ? ([['dcat:downloadURL', iri(l.url)]] as Node['props']) : []),
    ['dct:format', { value: l.format }],
    ['dcat:mediaType', iri(`https://www.iana.org/assignments/media-types/${l.mediaType}`)],
    ['dct:license', r.licence.url ? iri(r.licence.url) : { type: 'dct:LicenseDocument', props: [['rdfs:label', fr(r.licence.title)]] }],
    ['dct:rights', { type: 'dct:RightsStatement', props: [['rdfs:label', fr(r.licence.title)]] }],
  ];
  const service = SERVICE_TYPES[l.protocol];
  if (service) props.push(['dct:conformsTo', iri(service)]);
  if (r.version) props.push(['owl:versionInfo', { value: r.version }]);
  return { id: `${datasetIri}/distribution/${n}`, type: 'dcat:Distribution', props };
}

/** The graph: the catalogue node first, then its datasets. */
export function dcatGraph(records: readonly MetadataRecord[], config: Config, base: string): Node[] {
  const c = config.metadata.contact;
  const t = config.territory;
  const publisher: Node = { type: 'foaf:Agent', props: [['foaf:name', { value: c.organisation }], ...(c.url ? ([['foaf:homepage', iri(c.url)]] as Node['props']) : [])] };
  const contact: Node = {
    type: 'vcard:Organization',
    props: [['vcard:fn', { value: c.organisation }], ...(c.email ? ([['vcard:hasEmail', iri(`mailto:${c.email}`)]] as Node['props']) : []), ...(c.url ? ([['vcard:hasURL', iri(c.url)]] as Node['props']) : [])],
  };
  const datasets: Node[] = [];
  for (const r of records.filter((x) => x.level === 'series')) {
    const id = `${base}/metadata/dataset/${r.id}`;
    const versions = records.filter((v) => v.parentId === r.id);
    let n = 0;
    const distributions = [...r.links.map((l) => distribution(id, r, l, ++n)), ...versions.flatMap((v) => v.links.map((l) => distribution(id, v, l, ++n)))];
    const props: Node['props'] = [
      ['dct:identifier', { value: r.id }],
      ['dct:title', fr(r.title)],
      ['dct:description', fr(r.abstract)],
      ...r.keywords.map((k): [Prefixed, Value] => ['dcat:keyword', fr(k)]),
      ...r.themes.map((th): [Prefixed, Value] => ['dcat:theme', iri(inspireThemeUri(th))]),
      ['dct:language', iri('http://publications.europa.eu/resource/authority/language/FRA')],
      ['dct:publisher', publisher],
      ['dcat:contactPoint', contact],
      ['dct:accessRights', iri(`${ACCESS_RIGHTS}${r.public ? 'PUBLIC' : 'RESTRICTED'}`)],
      ['dct:conformsTo', iri('http://www.opengis.net/def/crs/EPSG/0/2154')],
      ['foaf:page', iri(`${base}/metadata/iso/${r.datasetId}.xml`)],
      ['dct:provenance', { type: 'dct:ProvenanceStatement', props: [['rdfs:label', fr(r.lineage)]] }],
      ...(r.resolutionM !== null ? ([['dcat:spatialResolutionInMeters', { value: String(r.resolutionM), datatype: 'xsd:decimal' }]] as Node['props']) : []),
      ...(r.dates.publication ? ([['dct:issued', date(r.dates.publication)]] as Node['props']) : []),
      ['dct:modified', date(r.metadataDate)],
      ...versions.map((v): [Prefixed, Value] => ['owl:versionInfo', { value: v.version as string }]),
      ...distributions.map((d): [Prefixed, Value] => ['dcat:distribution', d]),
    ];
    if (r.bboxWgs84) {
      const b = r.bboxWgs84;
      props.push([
        'dct:spatial',
        {
          type: 'dct:Location',
          props: [
            ['dcat:bbox', { value: wktPolygon(b), datatype: 'gsp:wktLiteral' }],
            ['locn:geometry', { value: JSON.stringify({ type: 'Polygon', coordinates: [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]] }), datatype: 'gsp:geoJSONLiteral' }],
            ['rdfs:label', fr(r.place)],
          ],
        },
      ]);
    }
    if (r.temporal.start || r.temporal.end) {
      props.push(['dct:temporal', { type: 'dct:PeriodOfTime', props: [...(r.temporal.start ? ([['dcat:startDate', date(r.temporal.start)]] as Node['props']) : []), ...(r.temporal.end ? ([['dcat:endDate', date(r.temporal.end)]] as Node['props']) : [])] }]);
    }
    datasets.push({ id, type: 'dcat:Dataset', props });
  }
  const modified = records.map((r) => r.metadataDate).sort().pop();
  const catalog: Node = {
    id: `${base}/metadata/catalog`,
    type: 'dcat:Catalog',
    props: [
      ['dct:title', fr(`PCRS ${t.name} (${t.code}) — données ouvertes du Plan de Corps de Rue Simplifié`)],
      ['dct:description', fr('Orthophotographie 5 cm et levé vectoriel CNIG du PCRS : jeux de données, versions, flux et téléchargements.')],
      ['dct:publisher', publisher],
      ['dct:language', iri('http://publications.europa.eu/resource/authority/language/FRA')],
      ['foaf:homepage', iri(`${base}/`)],
      ...(modified ? ([['dct:modified', date(modified)]] as Node['props']) : []),
      ...datasets.map((d): [Prefixed, Value] => ['dcat:dataset', iri(d.id as string)]),
    ],
  };
  return [catalog, ...datasets];
}

const expand = (p: Prefixed) => {
  const [prefix, local] = p.split(':') as [keyof typeof PREFIXES, string];
  return `${PREFIXES[prefix]}${local}`;
};

function rdfNode(node: Node, top: boolean): string {
  const props = node.props.map(([p, v]) => {
    if (isLiteral(v)) return el(p, { 'xml:lang': v.lang, 'rdf:datatype': v.datatype ? expand(v.datatype) : undefined }, text(v.value));
    if (isIri(v)) return el(p, { 'rdf:resource': v.iri });
    return el(p, {}, rdfNode(v, false));
  });
  return el(node.type, top || node.id ? { 'rdf:about': node.id } : {}, props);
}

export function dcatRdfXml(records: readonly MetadataRecord[], config: Config, base: string): string {
  const ns = Object.fromEntries(Object.entries(PREFIXES).map(([p, u]) => [`xmlns:${p}`, u]));
  return `${XML_DECLARATION}${el('rdf:RDF', ns, dcatGraph(records, config, base).map((n) => rdfNode(n, true)))}\n`;
}

function jsonNode(node: Node): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(node.id ? { '@id': node.id } : {}), '@type': node.type };
  for (const [p, v] of node.props) {
    const value = isLiteral(v) ? { '@value': v.value, ...(v.lang ? { '@language': v.lang } : {}), ...(v.datatype ? { '@type': v.datatype } : {}) } : isIri(v) ? { '@id': v.iri } : jsonNode(v);
    const prev = out[p];
    out[p] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

export function dcatJsonLd(records: readonly MetadataRecord[], config: Config, base: string): Record<string, unknown> {
  return { '@context': { ...PREFIXES }, '@graph': dcatGraph(records, config, base).map(jsonNode) };
}
