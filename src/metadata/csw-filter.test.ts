import { describe, expect, it } from 'vitest';
import { OgcServiceError } from '../ogc/ows-exception.js';
import { likeRegExp, parseCql, parseOgcFilter, type Queryables } from './csw-filter.js';
import { parseKvpRequest, parseXmlRequest } from './csw.js';
import { parseXmlElement } from './xml-dom.js';

const q: Queryables = { text: { anytext: 'Orthophotographie PCRS — millésime 2025 (50% des dalles)', title: 'Ortho 2025', abstract: '', subject: 'Ortho-imagerie', identifier: 'pcrs-46.ortho.2025', type: 'dataset', format: 'GeoJSON' }, bbox: [1.42, 44.44, 1.44, 44.46] };
const OGC = 'xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml"';
const filter = (body: string) => parseOgcFilter(parseXmlElement(`<ogc:Filter ${OGC}>${body}</ogc:Filter>`));
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof OgcServiceError ? `${e.code}@${e.locator ?? ''}` : String(e);
  }
  return 'no error';
};

describe('CSW constraints', () => {
  it('LIKE patterns: wildcards, single characters, escapes, case-insensitive, whole value', () => {
    expect(likeRegExp('%MILLÉSIME%').test(q.text.anytext as string)).toBe(true);
    expect(likeRegExp('Ortho ____').test('Ortho 2025')).toBe(true);
    expect(likeRegExp('Ortho').test('Ortho 2025')).toBe(false);
    expect(likeRegExp('%50\\% des%').test(q.text.anytext as string)).toBe(true);
    expect(likeRegExp('%50\\% x%').test(q.text.anytext as string)).toBe(false);
    expect(likeRegExp('a.c(').test('abc(')).toBe(false);
  });

  it('CQL: LIKE/ILIKE/= on text queryables joined by AND; anything else is refused', () => {
    expect(parseCql("AnyText LIKE '%pcrs%'")(q)).toBe(true);
    expect(parseCql("csw:AnyText ilike '%PCRS%' AND dc:type = 'dataset'")(q)).toBe(true);
    expect(parseCql("apiso:Title LIKE '%vecteur%'")(q)).toBe(false);
    expect(parseCql("AnyText LIKE '%l''ortho%'")({ ...q, text: { ...q.text, anytext: "de l'ortho" } })).toBe(true);
    expect(code(() => parseCql("AnyText LIKE '%a%' OR Title LIKE 'b'"))).toBe('InvalidParameterValue@constraint');
    expect(code(() => parseCql("Modified > '2020-01-01'"))).toBe('InvalidParameterValue@constraint');
    expect(code(() => parseCql("Creator LIKE 'x'"))).toBe('InvalidParameterValue@constraint');
  });

  it('Filter 1.1: PropertyIsLike with its own wildcards, EqualTo, BBOX in both axis orders, And/Or/Not', () => {
    const like = (lit: string) => `<ogc:PropertyIsLike wildCard="*" singleChar="#" escapeChar="!"><ogc:PropertyName>csw:AnyText</ogc:PropertyName><ogc:Literal>${lit}</ogc:Literal></ogc:PropertyIsLike>`;
    expect(filter(like('*millésime 20##*'))(q)).toBe(true);
    expect(filter(like('*vecteur*'))(q)).toBe(false);
    expect(filter(`<ogc:Not>${like('*vecteur*')}</ogc:Not>`)(q)).toBe(true);
    const eq = '<ogc:PropertyIsEqualTo><ogc:PropertyName>dc:identifier</ogc:PropertyName><ogc:Literal>pcrs-46.ortho.2025</ogc:Literal></ogc:PropertyIsEqualTo>';
    expect(filter(`<ogc:And>${eq}${like('*pcrs*')}</ogc:And>`)(q)).toBe(true);
    expect(filter(`<ogc:Or>${like('*x*')}${like('*y*')}</ogc:Or>`)(q)).toBe(false);
    const bbox = (srs: string, lo: string, hi: string) => `<ogc:BBOX><ogc:PropertyName>ows:BoundingBox</ogc:PropertyName><gml:Envelope srsName="${srs}"><gml:lowerCorner>${lo}</gml:lowerCorner><gml:upperCorner>${hi}</gml:upperCorner></gml:Envelope></ogc:BBOX>`;
    expect(filter(bbox('EPSG:4326', '1.43 44.45', '2 45'))(q)).toBe(true);
    expect(filter(bbox('urn:ogc:def:crs:EPSG::4326', '44.45 1.43', '45 2'))(q)).toBe(true);
    expect(filter(bbox('urn:ogc:def:crs:EPSG::4326', '1.43 44.45', '2 45'))(q)).toBe(false);
    expect(code(() => filter(bbox('EPSG:2154', '0 0', '1 1')))).toBe('InvalidParameterValue@constraint');
    expect(code(() => filter('<ogc:PropertyIsGreaterThan><ogc:PropertyName>Modified</ogc:PropertyName><ogc:Literal>2020</ogc:Literal></ogc:PropertyIsGreaterThan>'))).toBe('InvalidParameterValue@constraint');
    expect(code(() => parseOgcFilter(parseXmlElement('<Filter/>')))).toBe('InvalidParameterValue@constraint');
  });

  it('XML requests: no DOCTYPE, no unknown entity, well-formed only', () => {
    expect(code(() => parseXmlElement('<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>'))).toBe('NoApplicableCode@');
    expect(code(() => parseXmlElement('<a>&ext;</a>'))).toBe('NoApplicableCode@');
    expect(code(() => parseXmlElement('<a><b></a>'))).toBe('NoApplicableCode@');
    expect(parseXmlElement('<a x="1"><b>t &amp; u</b></a>').children[0]?.text).toBe('t & u');
  });

  it('requests: defaults of the standard, limits and errors with their locators', () => {
    const kvp = (s: string) => parseKvpRequest(new Map(Object.entries(Object.fromEntries(new URLSearchParams(s))).map(([k, v]) => [k.toUpperCase(), v])));
    expect(kvp('service=CSW&version=2.0.2&request=GetRecords')).toMatchObject({ resultType: 'hits', elementSet: 'summary', startPosition: 1, maxRecords: 10, typeNames: ['csw:Record'] });
    expect(kvp('service=CSW&version=2.0.2&request=GetRecords&maxRecords=99999')).toMatchObject({ maxRecords: 1000 });
    expect(code(() => kvp('service=CSW&version=2.0.2&request=GetRecords&resultType=validate'))).toBe('OptionNotSupported@resultType');
    expect(code(() => kvp('service=CSW&version=2.0.2&request=GetRecords&elementSetName=huge'))).toBe('InvalidParameterValue@ElementSetName');
    expect(code(() => kvp('service=CSW&version=2.0.2&request=GetRecords&constraint=x'))).toBe('MissingParameterValue@CONSTRAINTLANGUAGE');
    expect(code(() => kvp('service=WMS&request=GetCapabilities'))).toBe('InvalidParameterValue@service');
    expect(code(() => kvp('request=GetCapabilities&acceptVersions=3.0.0'))).toBe('VersionNegotiationFailed@AcceptVersions');
    expect(code(() => kvp('service=CSW&version=2.0.2&request=GetRecordById'))).toBe('MissingParameterValue@Id');
    expect(code(() => parseXmlRequest('<GetRecords/>'))).toBe('InvalidParameterValue@request');
    expect(code(() => parseXmlRequest('<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2"/>'))).toBe('MissingParameterValue@Query');
  });
});
