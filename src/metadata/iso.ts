import type { Bbox } from '../grid/bbox.js';
import { INSPIRE_THEMES, inspireThemeUri, type Config, type MetadataRecord } from './records.js';
import { el, leaf, XML_DECLARATION } from './xml.js';

/**
 * ISO 19115/19139 (gmd:MD_Metadata) records following the INSPIRE metadata technical guidelines
 * (v2.0): GEMET INSPIRE theme keywords with their thesaurus citation, limitations on public access
 * and conditions of use as `gmx:Anchor`s, EPSG:2154 as reference system, WGS84 bounding box,
 * temporal extent, lineage, resolution, conformity to Regulation 1089/2010 (not evaluated), and
 * the streams and downloads as online resources. Valid against the ISO 19139 schemas shipped in
 * resources/pcrs/schemas (xmllint, offline).
 */

export const ISO_NAMESPACES = {
  gmd: 'http://www.isotc211.org/2005/gmd',
  gco: 'http://www.isotc211.org/2005/gco',
  gmx: 'http://www.isotc211.org/2005/gmx',
  gml: 'http://www.opengis.net/gml/3.2',
  xlink: 'http://www.w3.org/1999/xlink',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

/** The schema to validate records against (relative to resources/pcrs/schemas): gmx includes gmd and gco. */
export const ISO_SCHEMA = 'opengis/iso/19139/20070417/gmx/gmx.xsd';

const CODELISTS = 'http://standards.iso.org/iso/19139/resources/gmxCodelists.xml';
const cs = (name: string, value: string) => el(name, {}, leaf('gco:CharacterString', value));
const code = (name: string, list: string, value: string) => el(`gmd:${name}`, {}, leaf(`gmd:${list}`, value, { codeList: `${CODELISTS}#${list}`, codeListValue: value }));
const anchor = (name: string, href: string, value: string) => el(name, {}, leaf('gmx:Anchor', value, { 'xlink:href': href }));
const gdate = (date: string, type: 'creation' | 'publication' | 'revision') =>
  el('gmd:date', {}, el('gmd:CI_Date', {}, el('gmd:date', {}, leaf('gco:Date', date)), code('dateType', 'CI_DateTypeCode', type)));
const language = (lang: string) => el('gmd:language', {}, leaf('gmd:LanguageCode', lang, { codeList: 'http://www.loc.gov/standards/iso639-2/', codeListValue: lang }));

function contact(config: Config, wrapper: string, role: string): string {
  const c = config.metadata.contact;
  return el(
    wrapper,
    {},
    el(
      'gmd:CI_ResponsibleParty',
      {},
      c.individual ? cs('gmd:individualName', c.individual) : null,
      cs('gmd:organisationName', c.organisation),
      el(
        'gmd:contactInfo',
        {},
        el(
          'gmd:CI_Contact',
          {},
          c.phone ? el('gmd:phone', {}, el('gmd:CI_Telephone', {}, cs('gmd:voice', c.phone))) : null,
          el(
            'gmd:address',
            {},
            el(
              'gmd:CI_Address',
              {},
              c.address ? cs('gmd:deliveryPoint', c.address) : null,
              cs('gmd:city', c.city),
              cs('gmd:postalCode', c.postalCode),
              cs('gmd:country', c.country),
              c.email ? cs('gmd:electronicMailAddress', c.email) : null,
            ),
          ),
          c.url ? el('gmd:onlineResource', {}, el('gmd:CI_OnlineResource', {}, el('gmd:linkage', {}, leaf('gmd:URL', c.url)))) : null,
        ),
      ),
      code('role', 'CI_RoleCode', role),
    ),
  );
}

const decimal = (name: string, n: number) => el(name, {}, leaf('gco:Decimal', n));

function bboxXml(b: Bbox): string {
  return el(
    'gmd:geographicElement',
    {},
    el('gmd:EX_GeographicBoundingBox', {}, decimal('gmd:westBoundLongitude', b[0]), decimal('gmd:eastBoundLongitude', b[2]), decimal('gmd:southBoundLatitude', b[1]), decimal('gmd:northBoundLatitude', b[3])),
  );
}

function temporalXml(r: MetadataRecord): string | null {
  const { start, end } = r.temporal;
  if (!start && !end) return null;
  const pos = (name: string, v: string | null) => (v ? leaf(name, v) : el(name, { indeterminatePosition: 'unknown' }));
  return el(
    'gmd:temporalElement',
    {},
    el('gmd:EX_TemporalExtent', {}, el('gmd:extent', {}, el('gml:TimePeriod', { 'gml:id': `tp-${r.id.replace(/[^A-Za-z0-9_.-]/g, '_')}` }, pos('gml:beginPosition', start), pos('gml:endPosition', end)))),
  );
}

/** A WMS GetMap of the record's extent, as the browse graphic (orthophoto only). */
function overviewUrl(r: MetadataRecord): string | null {
  const wms = r.links.find((l) => l.protocol === 'OGC:WMS');
  if (!wms || !r.bbox2154) return null;
  const [xmin, ymin, xmax, ymax] = r.bbox2154;
  const w = 512;
  const h = Math.max(1, Math.min(2048, Math.round((w * (ymax - ymin)) / (xmax - xmin))));
  return `${wms.url.split('?')[0]}?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=${encodeURIComponent(wms.name)}&STYLES=&CRS=EPSG:2154&BBOX=${[xmin, ymin, xmax, ymax].join(',')}&WIDTH=${w}&HEIGHT=${h}&FORMAT=image/jpeg`;
}

function constraintsXml(r: MetadataRecord): string {
  const access = r.public
    ? anchor('gmd:otherConstraints', 'http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/noLimitations', 'Pas de restriction d’accès public')
    : cs('gmd:otherConstraints', 'Accès restreint : données réservées aux détenteurs d’une autorisation (clé d’API ou compte de la plateforme).');
  const use = r.licence.url ? anchor('gmd:otherConstraints', r.licence.url, r.licence.title) : cs('gmd:otherConstraints', r.licence.title);
  return (
    el('gmd:resourceConstraints', {}, el('gmd:MD_LegalConstraints', {}, code('accessConstraints', 'MD_RestrictionCode', 'otherRestrictions'), access)) +
    el('gmd:resourceConstraints', {}, el('gmd:MD_LegalConstraints', {}, cs('gmd:useLimitation', r.licence.title), code('useConstraints', 'MD_RestrictionCode', 'otherRestrictions'), use))
  );
}

function keywordsXml(r: MetadataRecord): string {
  const themes = r.themes.length
    ? el(
        'gmd:descriptiveKeywords',
        {},
        el(
          'gmd:MD_Keywords',
          {},
          r.themes.map((t) => anchor('gmd:keyword', inspireThemeUri(t), INSPIRE_THEMES[t].fr)),
          code('type', 'MD_KeywordTypeCode', 'theme'),
          el(
            'gmd:thesaurusName',
            {},
            el('gmd:CI_Citation', {}, anchor('gmd:title', 'http://www.eionet.europa.eu/gemet/inspire_themes', 'GEMET - INSPIRE themes, version 1.0'), gdate('2008-06-01', 'publication')),
          ),
        ),
      )
    : '';
  const free = el('gmd:descriptiveKeywords', {}, el('gmd:MD_Keywords', {}, r.keywords.map((k) => cs('gmd:keyword', k)), code('type', 'MD_KeywordTypeCode', 'theme')));
  const place = el('gmd:descriptiveKeywords', {}, el('gmd:MD_Keywords', {}, cs('gmd:keyword', r.place), code('type', 'MD_KeywordTypeCode', 'place')));
  return themes + free + place;
}

function distributionXml(r: MetadataRecord): string {
  const formats = [...new Set(r.links.map((l) => l.format))];
  if (formats.length === 0 && r.links.length === 0) return '';
  return el(
    'gmd:distributionInfo',
    {},
    el(
      'gmd:MD_Distribution',
      {},
      (formats.length ? formats : ['inconnu']).map((f) => el('gmd:distributionFormat', {}, el('gmd:MD_Format', {}, cs('gmd:name', f), el('gmd:version', { 'gco:nilReason': 'unknown' })))),
      r.links.length
        ? el(
            'gmd:transferOptions',
            {},
            el(
              'gmd:MD_DigitalTransferOptions',
              {},
              r.links.map((l) =>
                el(
                  'gmd:onLine',
                  {},
                  el(
                    'gmd:CI_OnlineResource',
                    {},
                    el('gmd:linkage', {}, leaf('gmd:URL', l.url)),
                    cs('gmd:protocol', l.protocol),
                    cs('gmd:name', l.name),
                    cs('gmd:description', l.description),
                    code('function', 'CI_OnLineFunctionCode', l.function),
                  ),
                ),
              ),
            ),
          )
        : null,
    ),
  );
}

const CONFORMITY_TITLE =
  'Règlement (UE) n° 1089/2010 de la Commission du 23 novembre 2010 portant modalités d’application de la directive 2007/2/CE du Parlement européen et du Conseil en ce qui concerne l’interopérabilité des séries et des services de données géographiques';

/** The body of one record (a `gmd:MD_Metadata` element, no XML declaration): CSW answers embed it. */
export function isoElement(r: MetadataRecord, config: Config): string {
  const ns = Object.fromEntries(Object.entries(ISO_NAMESPACES).map(([p, u]) => [`xmlns:${p}`, u]));
  const scope = r.level === 'series' ? 'series' : 'dataset';
  const overview = overviewUrl(r);
  const dates = [r.dates.creation ? gdate(r.dates.creation, 'creation') : null, r.dates.publication ? gdate(r.dates.publication, 'publication') : null, r.dates.revision ? gdate(r.dates.revision, 'revision') : null];
  if (!dates.some(Boolean)) dates.push(gdate(r.metadataDate, 'creation'));
  return el(
    'gmd:MD_Metadata',
    { ...ns, 'xsi:schemaLocation': `${ISO_NAMESPACES.gmd} http://schemas.opengis.net/iso/19139/20070417/gmd/gmd.xsd` },
    cs('gmd:fileIdentifier', r.id),
    language('fre'),
    code('characterSet', 'MD_CharacterSetCode', 'utf8'),
    r.parentId ? cs('gmd:parentIdentifier', r.parentId) : null,
    code('hierarchyLevel', 'MD_ScopeCode', scope),
    contact(config, 'gmd:contact', 'pointOfContact'),
    el('gmd:dateStamp', {}, leaf('gco:Date', r.metadataDate)),
    cs('gmd:metadataStandardName', 'ISO 19115:2003/19139'),
    cs('gmd:metadataStandardVersion', '1.0'),
    el(
      'gmd:referenceSystemInfo',
      {},
      el('gmd:MD_ReferenceSystem', {}, el('gmd:referenceSystemIdentifier', {}, el('gmd:RS_Identifier', {}, anchor('gmd:code', 'http://www.opengis.net/def/crs/EPSG/0/2154', 'EPSG:2154'), cs('gmd:codeSpace', 'EPSG')))),
    ),
    el(
      'gmd:identificationInfo',
      {},
      el(
        'gmd:MD_DataIdentification',
        {},
        el(
          'gmd:citation',
          {},
          el('gmd:CI_Citation', {}, cs('gmd:title', r.title), dates, el('gmd:identifier', {}, el('gmd:RS_Identifier', {}, cs('gmd:code', r.resourceCode), cs('gmd:codeSpace', r.resourceCodeSpace)))),
        ),
        cs('gmd:abstract', r.abstract),
        code('status', 'MD_ProgressCode', r.level === 'series' ? 'onGoing' : 'completed'),
        contact(config, 'gmd:pointOfContact', 'pointOfContact'),
        el('gmd:resourceMaintenance', {}, el('gmd:MD_MaintenanceInformation', {}, code('maintenanceAndUpdateFrequency', 'MD_MaintenanceFrequencyCode', r.level === 'series' ? 'asNeeded' : 'notPlanned'))),
        overview
          ? el('gmd:graphicOverview', {}, el('gmd:MD_BrowseGraphic', {}, cs('gmd:fileName', overview), cs('gmd:fileDescription', 'Aperçu (WMS)'), cs('gmd:fileType', 'image/jpeg')))
          : null,
        keywordsXml(r),
        constraintsXml(r),
        el('gmd:spatialRepresentationType', {}, leaf('gmd:MD_SpatialRepresentationTypeCode', r.kind === 'vector' ? 'vector' : 'grid', { codeList: `${CODELISTS}#MD_SpatialRepresentationTypeCode`, codeListValue: r.kind === 'vector' ? 'vector' : 'grid' })),
        r.resolutionM !== null ? el('gmd:spatialResolution', {}, el('gmd:MD_Resolution', {}, el('gmd:distance', {}, leaf('gco:Distance', r.resolutionM, { uom: 'm' })))) : null,
        language('fre'),
        code('characterSet', 'MD_CharacterSetCode', 'utf8'),
        r.topics.map((t) => el('gmd:topicCategory', {}, leaf('gmd:MD_TopicCategoryCode', t))),
        r.bboxWgs84 || r.temporal.start || r.temporal.end ? el('gmd:extent', {}, el('gmd:EX_Extent', {}, r.bboxWgs84 ? bboxXml(r.bboxWgs84) : null, temporalXml(r))) : null,
      ),
    ),
    distributionXml(r),
    el(
      'gmd:dataQualityInfo',
      {},
      el(
        'gmd:DQ_DataQuality',
        {},
        el('gmd:scope', {}, el('gmd:DQ_Scope', {}, code('level', 'MD_ScopeCode', scope))),
        el(
          'gmd:report',
          {},
          el(
            'gmd:DQ_DomainConsistency',
            {},
            el(
              'gmd:result',
              {},
              el(
                'gmd:DQ_ConformanceResult',
                {},
                el('gmd:specification', {}, el('gmd:CI_Citation', {}, anchor('gmd:title', 'http://data.europa.eu/eli/reg/2010/1089', CONFORMITY_TITLE), gdate('2010-12-08', 'publication'))),
                cs('gmd:explanation', 'Non évalué : le PCRS suit le standard CNIG PCRS v2.0 et non les spécifications de données INSPIRE.'),
                el('gmd:pass', { 'gco:nilReason': 'unknown' }),
              ),
            ),
          ),
        ),
        el('gmd:lineage', {}, el('gmd:LI_Lineage', {}, cs('gmd:statement', r.lineage))),
      ),
    ),
  );
}

/** A whole ISO 19139 document. */
export function isoDocument(r: MetadataRecord, config: Config): string {
  return `${XML_DECLARATION}${isoElement(r, config)}\n`;
}
