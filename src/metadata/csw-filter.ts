import type { Bbox } from '../grid/bbox.js';
import { OgcServiceError } from '../ogc/ows-exception.js';
import type { XmlElement } from './xml-dom.js';

/**
 * The constraints the CSW understands, as a predicate over a record's queryables:
 * - CQL text: `AnyText LIKE '%x%'` (also ILIKE, any text queryable, `AND` between such terms);
 * - OGC Filter 1.1: PropertyIsLike and PropertyIsEqualTo on a text queryable, BBOX on
 *   ows:BoundingBox, And/Or/Not of these.
 * Anything else is an InvalidParameterValue (locator `constraint`), never silently ignored.
 */

export interface Queryables {
  /** Text queryables by lower-case name without prefix: anytext, title, abstract, subject, identifier, type, format. */
  text: Record<string, string>;
  /** WGS84 [west, south, east, north]. */
  bbox: Bbox | null;
}

export type Predicate = (q: Queryables) => boolean;

const TEXT_QUERYABLES = new Set(['anytext', 'title', 'abstract', 'subject', 'identifier', 'type', 'format', 'keyword', 'organisationname', 'resourcelanguage']);
const ALIASES: Record<string, string> = { keyword: 'subject', organisationname: 'anytext', resourcelanguage: 'anytext' };

const bad = (message: string) => new OgcServiceError('InvalidParameterValue', message, 'constraint');

/** `csw:AnyText`, `apiso:Title`, `dc:title` → `anytext`, `title`. */
function queryable(name: string): string {
  const local = name.trim().split(':').pop()?.toLowerCase() ?? '';
  if (!TEXT_QUERYABLES.has(local)) throw bad(`Unsupported queryable '${name.slice(0, 60)}': AnyText, Title, Abstract, Subject, Identifier, Type, Format.`);
  return ALIASES[local] ?? local;
}

/** A LIKE pattern as a case-insensitive RegExp matching the whole value. */
export function likeRegExp(pattern: string, wildCard = '%', singleChar = '_', escapeChar = '\\'): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === escapeChar && i + 1 < pattern.length) {
      out += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (c === wildCard) out += '[\\s\\S]*';
    else if (c === singleChar) out += '[\\s\\S]';
    else out += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 'iu');
}

// ---- CQL -------------------------------------------------------------------------------------

const CQL_TERM = /^\s*([A-Za-z_][\w]*(?::[A-Za-z_][\w]*)?)\s+(I?LIKE|=)\s+'((?:[^']|'')*)'\s*/i;

export function parseCql(cql: string): Predicate {
  if (cql.length > 2000) throw bad('The CQL constraint is too long.');
  const terms: Predicate[] = [];
  let rest = cql;
  for (;;) {
    const m = CQL_TERM.exec(rest);
    if (!m) throw bad(`Unsupported CQL constraint '${cql.slice(0, 100)}': use AnyText LIKE '%word%' (terms joined by AND).`);
    const field = queryable(m[1] as string);
    const value = (m[3] as string).replace(/''/g, "'");
    const re = (m[2] as string) === '=' ? likeRegExp(value, '\u0000', '\u0000', '\u0000') : likeRegExp(value);
    terms.push((q) => re.test(q.text[field] ?? ''));
    rest = rest.slice(m[0].length);
    if (rest.trim() === '') break;
    const and = /^AND\s+/i.exec(rest);
    if (!and) throw bad(`Unsupported CQL constraint '${cql.slice(0, 100)}': only AND joins terms.`);
    rest = rest.slice(and[0].length);
  }
  return (q) => terms.every((t) => t(q));
}

// ---- OGC Filter 1.1 ------------------------------------------------------------------------

const OGC_NS = 'http://www.opengis.net/ogc';
const elementChildren = (e: XmlElement) => e.children;
const textOf = (e: XmlElement | undefined, what: string): string => {
  if (!e) throw bad(`${what} is missing.`);
  return e.text.trim();
};

/** Lon/lat order of an envelope's corners, from its srsName. */
function lonLatOrder(srsName: string | undefined): boolean {
  if (!srsName) return true;
  const s = srsName.toLowerCase();
  if (s.includes('crs84')) return true;
  if (/^urn:(x-)?ogc:def:crs:epsg:[\d.]*:4326$/.test(s) || s === 'http://www.opengis.net/def/crs/epsg/0/4326') return false;
  if (s === 'epsg:4326' || s === 'http://www.opengis.net/gml/srs/epsg.xml#4326') return true;
  throw bad(`Unsupported srsName '${srsName.slice(0, 80)}' in BBOX: use EPSG:4326 or CRS84.`);
}

function envelope(e: XmlElement): Bbox {
  const env = e.children.find((c) => c.local === 'Envelope');
  if (!env) throw bad('BBOX needs a gml:Envelope.');
  const corner = (name: string) => {
    const c = env.children.find((x) => x.local === name);
    const nums = (c?.text ?? '').trim().split(/\s+/).map(Number);
    if (nums.length !== 2 || nums.some((n) => !Number.isFinite(n))) throw bad(`BBOX: gml:${name} must hold two numbers.`);
    return nums as [number, number];
  };
  const lo = corner('lowerCorner');
  const hi = corner('upperCorner');
  return lonLatOrder(env.attrs.srsName) ? [lo[0], lo[1], hi[0], hi[1]] : [lo[1], lo[0], hi[1], hi[0]];
}

function filterNode(e: XmlElement): Predicate {
  if (e.uri !== OGC_NS) throw bad(`Unsupported filter element '${e.local}'.`);
  switch (e.local) {
    case 'And':
    case 'Or': {
      const parts = elementChildren(e).map(filterNode);
      if (parts.length < 2) throw bad(`ogc:${e.local} needs at least two operands.`);
      return e.local === 'And' ? (q) => parts.every((p) => p(q)) : (q) => parts.some((p) => p(q));
    }
    case 'Not': {
      const [only, ...more] = elementChildren(e);
      if (!only || more.length) throw bad('ogc:Not needs one operand.');
      const p = filterNode(only);
      return (q) => !p(q);
    }
    case 'PropertyIsLike':
    case 'PropertyIsEqualTo': {
      const field = queryable(textOf(e.children.find((c) => c.local === 'PropertyName'), `ogc:${e.local}/ogc:PropertyName`));
      const literal = textOf(e.children.find((c) => c.local === 'Literal'), `ogc:${e.local}/ogc:Literal`);
      const re =
        e.local === 'PropertyIsLike'
          ? likeRegExp(literal, e.attrs.wildCard ?? '*', e.attrs.singleChar ?? e.attrs.singleChars ?? '?', e.attrs.escapeChar ?? e.attrs.escape ?? '\\')
          : likeRegExp(literal, '\u0000', '\u0000', '\u0000');
      return (q) => re.test(q.text[field] ?? '');
    }
    case 'BBOX': {
      const name = e.children.find((c) => c.local === 'PropertyName')?.text.trim();
      if (name && !/(^|:)(BoundingBox|Envelope)$/i.test(name)) throw bad(`BBOX applies to ows:BoundingBox, not '${name.slice(0, 60)}'.`);
      const [w, s, east, n] = envelope(e);
      return (q) => q.bbox !== null && q.bbox[0] <= east && q.bbox[2] >= w && q.bbox[1] <= n && q.bbox[3] >= s;
    }
    default:
      throw bad(`Unsupported filter operator ogc:${e.local}: PropertyIsLike, PropertyIsEqualTo, BBOX, And, Or, Not.`);
  }
}

/** An `ogc:Filter` element. */
export function parseOgcFilter(filter: XmlElement): Predicate {
  if (filter.local !== 'Filter' || filter.uri !== OGC_NS) throw bad('The constraint must be an ogc:Filter (Filter Encoding 1.1) or CQL text.');
  const [only, ...more] = filter.children;
  if (!only || more.length) throw bad('ogc:Filter needs exactly one operator.');
  return filterNode(only);
}
