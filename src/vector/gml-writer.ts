/**
 * CNIG PCRS v2.0 GML serializer for stored features (EPSG:2154, Z kept). Property order comes
 * from the shipped XSDs themselves (each complexType's sequence after its base type's), so the
 * output validates against the schema; values are written back the way the reader mapped them
 * (see `PcrsValue`): references as xlink:href, `@attr` keys as XML attributes, `#text` as text,
 * arrays as repeated elements, null as xsi:nil.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SCHEMAS_DIR } from './gml/xsd.js';
import { XmlTokenizer } from './gml/xml-tokenizer.js';
import { PCRS_INFO_NS, PCRS_NS, type PcrsValue } from './gml/pcrs-model.js';

const XSDS = ['CNIG_PCRS_v2.0.xsd', 'CNIG_PCRS-INFO_v2.0.xsd'];

interface TypeDef {
  base: string | null;
  elements: string[];
}

let ORDER: Map<string, string[]> | null = null;

/** element name → type name, type name → (base, own sequence). */
function loadOrder(): Map<string, string[]> {
  if (ORDER) return ORDER;
  const elementType = new Map<string, string>();
  const types = new Map<string, TypeDef>();
  for (const file of XSDS) {
    const text = readFileSync(path.join(DEFAULT_SCHEMAS_DIR, file), 'utf8');
    // Stack of open elements; a named complexType collects the element names of its sequence at depth 0 of nesting.
    const stack: Array<{ name: string; typeName?: string }> = [];
    let current: { name: string; def: TypeDef; depth: number } | null = null;
    let failure: string | null = null;
    const parser = new XmlTokenizer({
      openTag: (tag) => {
        const local = tag.local;
        const attr = (n: string) => tag.attributes[n]?.value;
        const name = attr('name');
        const type = attr('type');
        const base = attr('base');
        if (local === 'element' && stack.length === 1 && name && type) elementType.set(name, type.replace(/^.*:/, ''));
        if (local === 'complexType' && name && stack.length === 1) {
          current = { name, def: { base: null, elements: [] }, depth: stack.length };
          types.set(name, current.def);
        } else if (current && local === 'extension' && base) {
          current.def.base = base.startsWith('gml:') ? null : base.replace(/^.*:/, '');
        } else if (current && local === 'element' && name) {
          // Only direct members of the type's sequence: no enclosing element between the type and this one.
          const inner = stack.slice(current.depth + 1).some((s) => s.name === 'element');
          if (!inner) current.def.elements.push(name);
        }
        stack.push({ name: local });
      },
      closeTag: () => {
        stack.pop();
        if (current && stack.length === current.depth) current = null;
      },
      text: () => undefined,
      doctype: () => (failure = 'DOCTYPE'),
      error: (m) => (failure = m),
    });
    parser.write(text);
    parser.close();
    if (failure) throw new Error(`cannot read the shipped schema ${file}: ${failure}`);
  }
  const full = (type: string, seen = 0): string[] => {
    const d = types.get(type);
    if (!d || seen > 10) return [];
    return [...(d.base ? full(d.base, seen + 1) : []), ...d.elements];
  };
  ORDER = new Map([...elementType].map(([el, type]) => [el, full(type)]));
  return ORDER;
}

/** Properties of a class in schema order (geometrie included). */
export function propertyOrder(className: string): string[] {
  return loadOrder().get(className) ?? [];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const XLINK_ATTRS = new Set(['title', 'role', 'arcrole', 'show', 'actuate', 'type']);

function valueXml(name: string, v: PcrsValue, indent: string): string {
  if (Array.isArray(v)) return v.map((x) => valueXml(name, x, indent)).join('');
  if (v === null) return `${indent}<${name} xsi:nil="true"/>\n`;
  if (typeof v !== 'object') return `${indent}<${name}>${esc(String(v))}</${name}>\n`;
  let attrs = '';
  let text: string | null = null;
  const children: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (k === 'href') attrs += ` xlink:href="${esc(String(x))}"`;
    else if (k.startsWith('@')) attrs += ` ${k.slice(1)}="${esc(String(x))}"`;
    else if (XLINK_ATTRS.has(k) && typeof x === 'string') attrs += ` xlink:${k}="${esc(x)}"`;
    else if (k === '#text') text = String(x);
    else children.push(valueXml(k, x, `${indent}  `));
  }
  if (children.length) return `${indent}<${name}${attrs}>\n${children.join('')}${indent}</${name}>\n`;
  if (text !== null) return `${indent}<${name}${attrs}>${esc(text)}</${name}>\n`;
  return `${indent}<${name}${attrs}/>\n`;
}

type Coords = number[];
export interface Geo {
  type: string;
  coordinates?: unknown;
  geometries?: Geo[];
}

const fmt = (n: number) => String(n);

export class GeomWriter {
  private n = 0;
  constructor(
    private readonly id: string,
    private readonly srsName = 'EPSG:2154',
  ) {}
  private gid(): string {
    return `${this.id}.g${this.n++}`;
  }
  private dim(c: Coords[]): number {
    return c.some((p) => p.length >= 3) ? 3 : 2;
  }
  private posList(c: Coords[], dim: number): string {
    return c.map((p) => (dim === 3 ? [p[0], p[1], p[2] ?? 0] : [p[0], p[1]]).map((x) => fmt(x as number)).join(' ')).join(' ');
  }
  private attrs(dim: number, top: boolean): string {
    return `gml:id="${this.gid()}"${top ? ` srsName="${this.srsName}" srsDimension="${dim}"` : ''}`;
  }
  point(c: Coords, top: boolean, dim = c.length >= 3 ? 3 : 2): string {
    return `<gml:Point ${this.attrs(dim, top)}><gml:pos>${this.posList([c], dim)}</gml:pos></gml:Point>`;
  }
  line(c: Coords[], top: boolean, dim = this.dim(c)): string {
    return `<gml:LineString ${this.attrs(dim, top)}><gml:posList>${this.posList(c, dim)}</gml:posList></gml:LineString>`;
  }
  polygon(rings: Coords[][], top: boolean, dim = this.dim(rings.flat())): string {
    const [ext, ...holes] = rings;
    const ring = (r: Coords[]) => `<gml:LinearRing><gml:posList>${this.posList(r, dim)}</gml:posList></gml:LinearRing>`;
    return (
      `<gml:Polygon ${this.attrs(dim, top)}><gml:exterior>${ring(ext ?? [])}</gml:exterior>` +
      holes.map((h) => `<gml:interior>${ring(h)}</gml:interior>`).join('') +
      `</gml:Polygon>`
    );
  }
  /** `kind` = the GML element the schema wants (MultiCurve/MultiSurface/MultiPoint) when multi. */
  write(g: Geo, wantMulti: string | null): string {
    const c = g.coordinates as never;
    const all = flatten(g);
    const dim = all.some((p) => p.length >= 3) ? 3 : 2;
    switch (g.type) {
      case 'Point':
        return wantMulti === 'MultiPoint' ? this.multi('MultiPoint', 'pointMember', [this.point(c, false, dim)], dim) : this.point(c, true, dim);
      case 'LineString':
        return wantMulti === 'MultiCurve' ? this.multi('MultiCurve', 'curveMember', [this.line(c, false, dim)], dim) : this.line(c, true, dim);
      case 'Polygon':
        return wantMulti === 'MultiSurface' ? this.multi('MultiSurface', 'surfaceMember', [this.polygon(c, false, dim)], dim) : this.polygon(c, true, dim);
      case 'MultiPoint':
        return this.multi('MultiPoint', 'pointMember', (c as Coords[]).map((p) => this.point(p, false, dim)), dim);
      case 'MultiLineString':
        return this.multi('MultiCurve', 'curveMember', (c as Coords[][]).map((l) => this.line(l, false, dim)), dim);
      case 'MultiPolygon':
        return this.multi('MultiSurface', 'surfaceMember', (c as Coords[][][]).map((p) => this.polygon(p, false, dim)), dim);
      default: {
        const members = (g.geometries ?? []).map((m) => this.member(m, dim));
        return this.multi('MultiGeometry', 'geometryMember', members, dim);
      }
    }
  }
  private member(g: Geo, dim: number): string {
    const c = g.coordinates as never;
    if (g.type === 'Point') return this.point(c, false, dim);
    if (g.type === 'LineString') return this.line(c, false, dim);
    if (g.type === 'Polygon') return this.polygon(c, false, dim);
    return this.write(g, null).replace(/ srsName="[^"]*" srsDimension="\d"/, '');
  }
  private multi(el: string, member: string, parts: string[], dim: number): string {
    return `<gml:${el} ${this.attrs(dim, true)}>${parts.map((p) => `<gml:${member}>${p}</gml:${member}>`).join('')}</gml:${el}>`;
  }
}

export function flatten(g: Geo): Coords[] {
  if (g.geometries) return g.geometries.flatMap(flatten);
  const out: Coords[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x) && typeof x[0] === 'number') out.push(x as Coords);
    else if (Array.isArray(x)) x.forEach(walk);
  };
  walk(g.coordinates);
  return out;
}

/** What the schema wants for the geometry property of a class, when it is a multi-geometry. */
const MULTI_OF: Record<string, string> = {
  AffleurantLignesPCRS: 'MultiCurve',
  HabillageLignesPCRS: 'MultiCurve',
  HabillagePointsPCRS: 'MultiPoint',
  EmpriseEchangePCRS: 'MultiSurface',
  Commune: 'MultiSurface',
  InitiativePCRS: 'MultiSurface',
  EmpriseDisponibilitePCRS: 'MultiSurface',
};

/** Whether the schema lets the class's geometry be multi-part (a multi-geometry, or any geometry). */
export function allowsMultiGeometry(className: string): boolean {
  return Object.hasOwn(MULTI_OF, className) || className === 'ObjetGeneriquePCRS';
}

export interface WritableFeature {
  class: string;
  namespace: string;
  gmlId: string | null;
  attributes: Record<string, PcrsValue>;
  /** GeoJSON text or object in EPSG:2154. */
  geometry: string | Geo | null;
}

export const GML_HEADER =
  `<?xml version="1.0" encoding="UTF-8"?>\n` +
  `<PlanCorpsRueSimplifie xmlns="${PCRS_NS}" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
  `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:pcrs-i="${PCRS_INFO_NS}" gml:id="pcrs.export" version="2.0">\n`;
export const GML_FOOTER = '</PlanCorpsRueSimplifie>\n';

/** One `<featureMember>` element. */
export function featureMemberXml(f: WritableFeature, fallbackId: string): string {
  const id = f.gmlId ?? fallbackId;
  const info = f.namespace === PCRS_INFO_NS;
  const el = info ? `pcrs-i:${f.class}` : f.class;
  const order = propertyOrder(f.class);
  const keys = [...order.filter((k) => k === 'geometrie' || Object.hasOwn(f.attributes, k)), ...Object.keys(f.attributes).filter((k) => !order.includes(k))];
  const prefix = info ? 'pcrs-i:' : '';
  let body = '';
  for (const k of keys) {
    if (k === 'geometrie') {
      if (f.geometry === null) continue;
      const g = typeof f.geometry === 'string' ? (JSON.parse(f.geometry) as Geo) : f.geometry;
      body += `      <${prefix}geometrie>${new GeomWriter(id).write(g, MULTI_OF[f.class] ?? null)}</${prefix}geometrie>\n`;
    } else {
      body += valueXml(`${prefix}${k}`, f.attributes[k] as PcrsValue, '      ');
    }
  }
  return `  <featureMember>\n    <${el} gml:id="${esc(id)}">\n${body}    </${el}>\n  </featureMember>\n`;
}
