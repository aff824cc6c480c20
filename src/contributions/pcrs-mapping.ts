import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { allowsMultiGeometry, featureMemberXml, GML_FOOTER, GML_HEADER, type Geo } from '../vector/gml-writer.js';
import { CODE_LISTS, PCRS_CLASSES, type PcrsClassDef, type PcrsPropertyDef, type PcrsValue } from '../vector/gml/pcrs-model.js';
import type { Finding, ValidationReport } from '../vector/gml/report.js';
import { features, type ForeignFinding, type ForeignRead } from './foreign-vector.js';

/**
 * The documented mapping of a GeoPackage, GeoJSON, Shapefile or DXF layer into the CNIG PCRS v2.0
 * model (docs/contributions.md), written as a CNIG GML file that then goes through the one GML
 * validator (XSD + CNIG rules) and, once accepted, the one GML import.
 *
 * - **Class** of a feature: its attribute `classe` (or `class`, `type_objet`, `typeObjet`) when
 *   present, else the name of its layer (a DXF's `Layer`), matched to a PCRS class without regard to
 *   case, with or without the `PCRS` suffix: `LimiteVoirie`, `limitevoiriepcrs` → `LimiteVoiriePCRS`.
 * - **Attributes**: those whose name matches a CNIG property of the class, ignoring case, `_`, `-`
 *   and spaces (`id_objet` → `idObjet`, `DATE_LEVE` → `dateLeve`); codes given as numbers are
 *   written with their list's digits (`3` → `03`); dates cut to YYYY-MM-DD. Other attributes are
 *   not carried (one warning per layer names them); references (xlink) are not carried.
 * - **gml:id**: the attribute `gml_id` when it is a valid XML id, else `<Classe>.<couche>.<fid>`.
 * - **Geometry**: as given, in Lambert-93 (Z kept); a one-part multi-geometry is unwrapped where the
 *   class wants a single geometry; several parts there are an error.
 */

const CLASS_ATTRIBUTES = ['classe', 'class', 'typeobjet'];
const GML_ID_ATTRIBUTES = ['gmlid'];
const NCNAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,199}$/;

const norm = (s: string) => s.toLowerCase().replace(/[\s_-]/g, '');

const CLASS_BY_KEY: ReadonlyMap<string, PcrsClassDef> = new Map(
  PCRS_CLASSES.filter((c) => !c.abstract && c.geometry).flatMap((c) => {
    const key = norm(c.name);
    return key.endsWith('pcrs') ? [[key, c] as const, [key.slice(0, -4), c] as const] : [[key, c] as const];
  }),
);

/** The PCRS class a name designates (case, `_`, and the `PCRS` suffix ignored), if any. */
export function pcrsClassFor(name: string): PcrsClassDef | undefined {
  return CLASS_BY_KEY.get(norm(name));
}

export interface MappedLayer {
  name: string;
  features: number;
  /** Features written per PCRS class. */
  classes: Record<string, number>;
  skipped: number;
  /** Attributes not carried into the PCRS. */
  unmapped: string[];
}

export interface PcrsConversion {
  format: ForeignRead['format'];
  layers: MappedLayer[];
  findings: ForeignFinding[];
  written: number;
}

function codeValue(def: PcrsPropertyDef, v: unknown): PcrsValue {
  const text = typeof v === 'number' ? String(v) : String(v).trim();
  const list = def.codeList ? CODE_LISTS[def.codeList] : undefined;
  if (list && /^\d+$/.test(text) && !Object.hasOwn(list.values, text)) {
    const width = Object.keys(list.values).find((k) => /^\d+$/.test(k))?.length ?? 0;
    const padded = text.padStart(width, '0');
    if (Object.hasOwn(list.values, padded)) return padded;
  }
  return text;
}

function valueFor(def: PcrsPropertyDef, v: unknown): PcrsValue | undefined {
  if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) return undefined;
  switch (def.type) {
    case 'reference':
      return undefined;
    case 'code':
      return codeValue(def, v);
    case 'date': {
      const s = v instanceof Date ? v.toISOString() : String(v);
      return /^\d{4}[-/]\d{2}[-/]\d{2}/.test(s) ? s.slice(0, 10).replace(/\//g, '-') : s;
    }
    case 'double':
    case 'integer':
      return typeof v === 'number' ? v : Number.isFinite(Number(v)) ? Number(v) : String(v);
    default:
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

/** A one-part multi-geometry as its part where the class wants a single geometry; null when it cannot be. */
function fitGeometry(cls: PcrsClassDef, g: Geo): Geo | null {
  if (allowsMultiGeometry(cls.name) || !g.type.startsWith('Multi')) return g;
  const parts = g.coordinates as unknown[];
  if (Array.isArray(parts) && parts.length === 1) return { type: g.type.slice('Multi'.length), coordinates: parts[0] };
  return null;
}

/** The DBF format cuts field names to 10 characters (`qualiteCat`, `precisionP`). */
const DBF_NAME_LENGTH = 10;
/** Fields GDAL's DXF driver adds (not survey attributes). */
const DXF_FIELDS = ['layer', 'paperspace', 'subclasses', 'linetype', 'entityhandle', 'text', 'extendedentity'];

/** The CNIG property an attribute name designates; a name cut by the DBF format matches the one property it begins. */
function propertyFor(cls: PcrsClassDef, key: string, truncated: boolean): PcrsPropertyDef | undefined {
  const exact = cls.properties.find((d) => norm(d.name) === key);
  if (exact || !truncated) return exact;
  const candidates = cls.properties.filter((d) => norm(d.name).startsWith(key));
  return candidates.length === 1 ? candidates[0] : undefined;
}

export interface MappingOptions {
  /**
   * Values of CNIG properties for every object that does not carry them: the contribution's
   * producer and survey date (`producteur`, `dateLeve`), and what the contributor gives for the
   * whole file (e.g. `precisionPlanimetrique` of a DXF survey).
   */
  defaults?: Record<string, string>;
  /** Prefix of the idObjet made from a DXF entity's handle (stable across exports of the same drawing). */
  idPrefix?: string;
}

/** Writes the layers read from a foreign file as one CNIG PCRS v2.0 GML file. */
export async function writePcrsGml(read: ForeignRead, gmlFile: string, options: MappingOptions = {}): Promise<PcrsConversion> {
  const defaults = options.defaults ?? {};
  const findings: ForeignFinding[] = [...read.findings];
  const out = createWriteStream(gmlFile);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  const usedIds = new Set<string>();
  const layers: MappedLayer[] = [];
  let written = 0;
  try {
    await write(GML_HEADER);
    for (const [index, layer] of read.layers.entries()) {
      const mapped: MappedLayer = { name: layer.name, features: layer.count, classes: {}, skipped: 0, unmapped: [] };
      const unmapped = new Set<string>();
      const unknownClasses = new Map<string, number>();
      let multiParts = 0;
      const layerClass = pcrsClassFor(layer.name);
      for await (const f of features(layer.file)) {
        const props = new Map(Object.entries(f.properties).map(([k, v]) => [norm(k), { name: k, value: v }]));
        const named = CLASS_ATTRIBUTES.map((k) => props.get(k)?.value).find((v) => typeof v === 'string' && v.trim() !== '') as string | undefined;
        const dxfLayer = read.format === 'dxf' ? (props.get('layer')?.value as string | undefined) : undefined;
        const cls = named ? pcrsClassFor(named) : dxfLayer ? pcrsClassFor(dxfLayer) : layerClass;
        if (!cls) {
          const said = named ?? dxfLayer ?? layer.name;
          unknownClasses.set(said, (unknownClasses.get(said) ?? 0) + 1);
          mapped.skipped++;
          continue;
        }
        const attributes: Record<string, PcrsValue> = {};
        const ignored = new Set<string>([...CLASS_ATTRIBUTES, ...GML_ID_ATTRIBUTES, ...(read.format === 'dxf' ? DXF_FIELDS : [])]);
        for (const [key, given] of props) {
          if (ignored.has(key)) continue;
          const def = propertyFor(cls, key, read.format === 'shapefile' && given.name.length === DBF_NAME_LENGTH);
          if (!def) {
            if (unmapped.size < 50) unmapped.add(given.name);
            continue;
          }
          const v = valueFor(def, given.value);
          if (v !== undefined) attributes[def.name] = v;
        }
        // What the file does not say, the contribution may (producer, survey date, values for the whole file).
        for (const [name, value] of Object.entries(defaults)) {
          if (!Object.hasOwn(attributes, name) && cls.properties.some((d) => d.name === name)) attributes[name] = value;
        }
        if (read.format === 'dxf' && !Object.hasOwn(attributes, 'idObjet') && cls.properties.some((d) => d.name === 'idObjet')) {
          const handle = props.get('entityhandle')?.value;
          if (typeof handle === 'string' && handle) attributes.idObjet = `${options.idPrefix ?? 'dxf'}-${handle}`;
        }
        let geometry: Geo | null = f.geometry as Geo | null;
        if (geometry) {
          geometry = fitGeometry(cls, geometry);
          if (!geometry) {
            multiParts++;
            mapped.skipped++;
            continue;
          }
        }
        const givenId = GML_ID_ATTRIBUTES.map((k) => props.get(k)?.value).find((v) => typeof v === 'string' && NCNAME.test(v)) as string | undefined;
        let id = givenId ?? `${cls.name}.${index + 1}.${f.fid ?? written + 1}`;
        if (usedIds.has(id)) id = `${id}.${written + 1}`;
        usedIds.add(id);
        await write(featureMemberXml({ class: cls.name, namespace: cls.namespace, gmlId: id, attributes, geometry }, id));
        mapped.classes[cls.name] = (mapped.classes[cls.name] ?? 0) + 1;
        written++;
      }
      for (const [said, n] of unknownClasses) {
        findings.push({ severity: 'error', rule: 'conversion-unknown-class', layer: layer.name, message: `${n} object(s) of the layer ${layer.name} name no PCRS class ('${said}'): name the layer after a class (e.g. LimiteVoiriePCRS) or give each object a 'classe' attribute.` });
      }
      if (multiParts) findings.push({ severity: 'error', rule: 'conversion-multipart', layer: layer.name, message: `${multiParts} object(s) of the layer ${layer.name} have several parts where their class takes one geometry: explode them (QGIS: Multipart to singleparts).` });
      mapped.unmapped = [...unmapped];
      if (mapped.unmapped.length) findings.push({ severity: 'warning', rule: 'conversion-unmapped-attribute', layer: layer.name, message: `Attributes of ${layer.name} that are not CNIG properties of their class are not carried: ${mapped.unmapped.join(', ')}.` });
      layers.push(mapped);
    }
    await write(GML_FOOTER);
    if (written === 0) findings.push({ severity: 'error', rule: 'conversion-empty', message: 'No object of the file could be mapped to a PCRS class: nothing to validate.' });
  } finally {
    out.end();
    await finished(out);
  }
  return { format: read.format, layers, findings, written };
}

/** The GML report of the converted file with the conversion's findings in it: one report, one verdict. */
export function withConversion(report: ValidationReport, conversion: PcrsConversion, file: string): ValidationReport & { conversion: Omit<PcrsConversion, 'findings'> } {
  const extra: Finding[] = conversion.findings.map((f) => ({ severity: f.severity, rule: f.rule, line: null, message: f.message }));
  const byRule = { ...report.summary.byRule };
  for (const f of extra) byRule[f.rule] = { severity: f.severity, count: (byRule[f.rule]?.count ?? 0) + 1 };
  const errors = report.summary.errors + extra.filter((f) => f.severity === 'error').length;
  const warnings = report.summary.warnings + extra.filter((f) => f.severity === 'warning').length;
  const { findings: _dropped, ...conv } = conversion;
  return {
    ...report,
    file,
    valid: errors === 0 && conversion.written > 0,
    summary: { errors, warnings, byRule },
    findings: [...extra, ...report.findings],
    conversion: conv,
  };
}
