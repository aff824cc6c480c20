/**
 * The class catalogue of pcrs-model.ts is transcribed by hand; this test re-derives it from the
 * shipped XSDs so that the two cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ABSTRACT_CLASSES,
  AFFLEURANT_GEOMETRY_CLASSES,
  CODE_LISTS,
  HABILLAGE_CLASSES,
  INFORMATION_CLASSES,
  OTHER_CLASSES,
  PCRS_CLASSES,
  SURVEYED_CLASSES,
  isValidCode,
  pcrsClass,
  type GmlGeometryKind,
} from './pcrs-model.js';
import { XmlTokenizer } from './xml-tokenizer.js';

interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
}

function parseXsd(file: string): El {
  const text = readFileSync(fileURLToPath(new URL(`../../../resources/pcrs/schemas/${file}`, import.meta.url)), 'utf8');
  const stack: El[] = [];
  let root: El | null = null;
  let failure: string | null = null;
  const parser = new XmlTokenizer({
    openTag: (t) => {
      const el: El = { name: t.local, attrs: Object.fromEntries(Object.values(t.attributes).map((a) => [a.name, a.value])), children: [] };
      if (stack.length === 0) root = el;
      else stack[stack.length - 1]?.children.push(el);
      stack.push(el);
    },
    closeTag: () => void stack.pop(),
    text: () => undefined,
    doctype: () => (failure = 'doctype'),
    error: (m) => (failure = m),
  });
  parser.write(text);
  parser.close();
  if (failure) throw new Error(`${file}: ${failure}`);
  return root as unknown as El;
}

function descendants(el: El, name: string): El[] {
  const out: El[] = [];
  const walk = (e: El) => {
    for (const c of e.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}

const schemas = [parseXsd('CNIG_PCRS_v2.0.xsd'), parseXsd('CNIG_PCRS-INFO_v2.0.xsd')];
const globalElements = schemas.flatMap((s) => s.children.filter((c) => c.name === 'element'));
const complexTypes = new Map(schemas.flatMap((s) => s.children.filter((c) => c.name === 'complexType').map((c) => [c.attrs['name'] as string, c] as const)));
const simpleTypes = new Map(schemas.flatMap((s) => s.children.filter((c) => c.name === 'simpleType').map((c) => [c.attrs['name'] as string, c] as const)));
const local = (qname: string) => qname.replace(/^[\w-]+:/, '');

/** Global elements that are features: substitution chain reaching gml:AbstractFeature. */
function featureElements(): El[] {
  const byName = new Map(globalElements.map((e) => [e.attrs['name'] as string, e]));
  const isFeature = (e: El): boolean => {
    const sg = e.attrs['substitutionGroup'];
    if (!sg) return false;
    if (sg === 'gml:AbstractFeature') return true;
    const parent = byName.get(local(sg));
    return parent ? isFeature(parent) : false;
  };
  return globalElements.filter((e) => isFeature(e) && e.attrs['name'] !== 'PlanCorpsRueSimplifie');
}

interface XsdProp {
  name: string;
  type: string | null;
  minOccurs: string;
  maxOccurs: string;
  el: El;
}

/** Properties of a complex type, base types first. */
function properties(typeName: string): XsdProp[] {
  const ct = complexTypes.get(typeName);
  if (!ct) return [];
  const ext = descendants(ct, 'extension')[0];
  const base = ext?.attrs['base'] ?? '';
  const inherited = base.startsWith('gml:') ? [] : properties(local(base));
  const seq = ext?.children.find((c) => c.name === 'sequence');
  const own = (seq?.children ?? [])
    .filter((c) => c.name === 'element')
    .map((c) => ({ name: c.attrs['name'] as string, type: c.attrs['type'] ?? null, minOccurs: c.attrs['minOccurs'] ?? '1', maxOccurs: c.attrs['maxOccurs'] ?? '1', el: c }));
  return [...inherited, ...own];
}

function geometryKind(p: XsdProp): GmlGeometryKind {
  const map: Record<string, GmlGeometryKind> = {
    'gml:PointPropertyType': 'Point',
    'gml:CurvePropertyType': 'Curve',
    'gml:SurfacePropertyType': 'Surface',
    'gml:MultiPointPropertyType': 'MultiPoint',
    'gml:MultiCurvePropertyType': 'MultiCurve',
    'gml:MultiSurfacePropertyType': 'MultiSurface',
    'gml:GeometryPropertyType': 'Geometry',
  };
  if (p.type) return map[p.type] as GmlGeometryKind;
  const ref = descendants(p.el, 'element')[0]?.attrs['ref'];
  if (ref === 'gml:Polygon') return 'Polygon';
  throw new Error(`unexpected geometry property ${p.name}`);
}

function enumeration(typeName: string): string[] {
  let st = simpleTypes.get(typeName);
  const union = st?.children.find((c) => c.name === 'union');
  if (union) st = simpleTypes.get(local((union.attrs['memberTypes'] ?? '').split(' ')[0] ?? ''));
  return descendants(st as El, 'enumeration').map((e) => e.attrs['value'] as string);
}

describe('PCRS class catalogue vs the XSDs', () => {
  const features = featureElements();

  it('lists exactly the feature classes of the two schemas, with the right abstract flags', () => {
    const concrete = features.filter((e) => e.attrs['abstract'] !== 'true').map((e) => e.attrs['name']);
    const abstract = features.filter((e) => e.attrs['abstract'] === 'true').map((e) => e.attrs['name']);
    expect([...SURVEYED_CLASSES, ...AFFLEURANT_GEOMETRY_CLASSES, ...HABILLAGE_CLASSES, ...OTHER_CLASSES, ...INFORMATION_CLASSES].sort()).toEqual(concrete.sort());
    expect([...ABSTRACT_CLASSES].sort()).toEqual(abstract.sort());
    expect(PCRS_CLASSES).toHaveLength(features.length);
  });

  it('surveyed classes are exactly the ObjetVecteurPCRS substitution group', () => {
    const byName = new Map(globalElements.map((e) => [e.attrs['name'] as string, e]));
    const under = (e: El, head: string): boolean => {
      const sg = e.attrs['substitutionGroup'];
      if (!sg) return false;
      if (local(sg) === head) return true;
      const parent = byName.get(local(sg));
      return parent ? under(parent, head) : false;
    };
    const surveyed = features.filter((e) => e.attrs['abstract'] !== 'true' && under(e, 'ObjetVecteurPCRS')).map((e) => e.attrs['name']);
    expect([...SURVEYED_CLASSES].sort()).toEqual(surveyed.sort());
    const habillage = features.filter((e) => e.attrs['abstract'] !== 'true' && under(e, 'HabillagePCRS')).map((e) => e.attrs['name']);
    expect([...HABILLAGE_CLASSES].sort()).toEqual(habillage.sort());
  });

  for (const el of featureElements()) {
    const name = el.attrs['name'] as string;
    it(`${name}: properties, cardinalities, types and geometry`, () => {
      const def = pcrsClass(name);
      expect(def, name).toBeDefined();
      if (!def) return;
      const props = properties(local(el.attrs['type'] as string));
      const geom = props.find((p) => p.name === 'geometrie');
      if (geom) {
        expect(def.geometry).toEqual({ property: 'geometrie', kind: geometryKind(geom), required: geom.minOccurs !== '0' });
      } else {
        expect(def.geometry).toBeUndefined();
      }
      const nonGeom = props.filter((p) => p.name !== 'geometrie');
      expect(def.properties.map((p) => p.name)).toEqual(nonGeom.map((p) => p.name));
      for (const p of nonGeom) {
        const d = def.properties.find((x) => x.name === p.name);
        expect(d?.required, `${name}.${p.name} required`).toBe(p.minOccurs !== '0');
        expect(d?.multiple === true, `${name}.${p.name} multiple`).toBe(p.maxOccurs === 'unbounded');
        if (p.type === 'double' || p.type === 'integer' || p.type === 'date' || p.type === 'string') expect(d?.type, `${name}.${p.name}`).toBe(p.type);
        else if (p.type?.startsWith('pcrs:') && simpleTypes.has(local(p.type))) {
          expect(d?.type).toBe('code');
          expect(d?.codeList && CODE_LISTS[d.codeList].xsdType, `${name}.${p.name}`).toBe(local(p.type));
        } else expect(d?.type, `${name}.${p.name}`).toBe('reference');
      }
    });
  }

  it('code lists have exactly the XSD enumeration values; extensible ones accept "other: xx"', () => {
    for (const list of Object.values(CODE_LISTS)) {
      expect(Object.keys(list.values).sort(), list.xsdType).toEqual(enumeration(list.xsdType).sort());
      const isUnion = simpleTypes.get(list.xsdType)?.children.some((c) => c.name === 'union') ?? false;
      expect(list.extensible, list.xsdType).toBe(isUnion);
    }
    expect(isValidCode('thematique', '03')).toBe(true);
    expect(isValidCode('thematique', '12')).toBe(false);
    expect(isValidCode('thematique', 'other: voirie')).toBe(false);
    expect(isValidCode('qualiteCategorisation', 'other: ab')).toBe(true);
    expect(isValidCode('qualiteCategorisation', 'other: a')).toBe(false);
    expect(isValidCode('precision', '005')).toBe(true);
    expect(isValidCode('precision', '5')).toBe(false);
  });
});
