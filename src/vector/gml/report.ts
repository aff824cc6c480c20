/**
 * Validation report of a PCRS GML file: findings, rule catalogue, per-rule cap, text and JSON
 * renderings.
 */
import type { Bbox } from './srs-name.js';

export type Severity = 'error' | 'warning';

export interface Finding {
  severity: Severity;
  /** Rule identifier (see `RULES`). */
  rule: string;
  /** 1-based line in the file; null for findings about the whole file. */
  line: number | null;
  class?: string;
  idObjet?: string;
  gmlId?: string;
  message: string;
}

export interface RuleDef {
  severity: Severity;
  description: string;
}

/** Every rule the reader and validator can report, with its severity. */
export const RULES: Readonly<Record<string, RuleDef>> = {
  // XML level (fatal: the file cannot be read further)
  'not-xml': { severity: 'error', description: 'The file is not XML (or is empty).' },
  'xml-malformed': { severity: 'error', description: 'The XML is not well-formed (syntax error, truncated file, undefined entity).' },
  'xml-doctype': { severity: 'error', description: 'DOCTYPE/entity declarations are forbidden (never expanded: XML bomb and external entity protection).' },
  'xml-encoding': { severity: 'error', description: 'Unsupported encoding or bytes invalid in the declared encoding.' },
  'feature-too-large': { severity: 'error', description: 'A single feature exceeds the reader limit.' },
  // XSD
  xsd: { severity: 'error', description: 'XSD validation error reported by xmllint against the CNIG PCRS v2.0 schema.' },
  'xsd-schema': { severity: 'error', description: 'The XSD itself could not be loaded (installation problem).' },
  'xsd-incomplete': { severity: 'error', description: 'XSD validation did not complete (timeout, or skipped).' },
  // document
  'root-element': { severity: 'error', description: 'The root element must be PlanCorpsRueSimplifie.' },
  namespace: { severity: 'error', description: 'The root element must be in the namespace http://cnig.gouv.fr/pcrs.' },
  version: { severity: 'error', description: 'The root element must carry version="2.0".' },
  'empty-file': { severity: 'warning', description: 'The file contains no feature.' },
  'feature-reference': { severity: 'warning', description: 'A featureMember refers to a remote feature, which is not read.' },
  // classes and attributes
  'unknown-class': { severity: 'error', description: 'The feature class is not a class of PCRS v2.0 / PCRS-INFO v2.0 (or is in the wrong namespace).' },
  'abstract-class': { severity: 'error', description: 'An abstract class (ObjetVecteurPCRS, PilierPCRS, HabillagePCRS) is used as a feature.' },
  'required-attribute': { severity: 'error', description: 'A property required by the standard is missing or empty.' },
  'empty-attribute': { severity: 'warning', description: 'A required property is present but empty (accepted by the XSD).' },
  'code-list': { severity: 'error', description: 'A coded property has a value outside its code list.' },
  'attribute-value': { severity: 'error', description: 'A numeric property does not hold a number.' },
  'gml-id-missing': { severity: 'error', description: 'The feature has no gml:id.' },
  'duplicate-gml-id': { severity: 'error', description: 'The same gml:id is used by several features.' },
  'duplicate-id-objet': { severity: 'error', description: 'The same idObjet is used by several surveyed objects.' },
  'duplicate-id-habillage': { severity: 'error', description: 'The same idHabillage is used by several habillage features.' },
  'xlink-unresolved': { severity: 'warning', description: 'An xlink:href points to no gml:id of the file.' },
  'xlink-form': { severity: 'warning', description: "xlink:href values are bare ids instead of '#id' (resolved anyway)." },
  // geometry
  'geometry-missing': { severity: 'error', description: 'The feature has no geometry although its class requires one.' },
  'geometry-type': { severity: 'error', description: 'The geometry type does not match the class (e.g. a point for a LimiteVoiriePCRS).' },
  'geometry-unknown': { severity: 'error', description: 'Unknown or unsupported geometry element.' },
  'geometry-empty': { severity: 'error', description: 'A geometry element without coordinates.' },
  'geometry-xlink': { severity: 'error', description: 'A geometry given by reference (xlink:href), not supported.' },
  'geometry-too-large': { severity: 'error', description: 'A geometry exceeds the reader limit on positions.' },
  'coordinate-count': { severity: 'error', description: 'The number of coordinate values does not match the dimension.' },
  'coordinate-value': { severity: 'error', description: 'A coordinate is not a finite number.' },
  'srs-dimension': { severity: 'warning', description: 'srsDimension missing, dimension guessed from the number of values.' },
  'srs-dimension-invalid': { severity: 'error', description: 'srsDimension other than 2 or 3.' },
  'curve-discontinuous': { severity: 'warning', description: 'Consecutive curve segments do not touch.' },
  'geometry-degenerate': { severity: 'error', description: 'Degenerate geometry: line with fewer than 2 distinct points, zero-area polygon.' },
  'ring-not-closed': { severity: 'error', description: 'A polygon ring does not end on its first position.' },
  'ring-too-few-points': { severity: 'error', description: 'A polygon ring has fewer than 4 positions.' },
  // CRS and location
  'crs-missing': { severity: 'error', description: 'No srsName on the geometry, its ancestors or gml:boundedBy.' },
  'crs-unsupported': { severity: 'error', description: 'The CRS is not understood or not a CRS a PCRS may use.' },
  'crs-mixed': { severity: 'error', description: 'Several CRSs in one file (or in one geometry).' },
  'outside-crs-area': { severity: 'error', description: "Coordinates outside the CRS's area of use (wrong CRS or swapped axes?)." },
  'outside-territory': { severity: 'error', description: 'Coordinates outside the configured territory.' },
  // conversion of a GeoPackage / GeoJSON / Shapefile / DXF contribution into the PCRS (contributions/pcrs-mapping.ts)
  'conversion-unknown-class': { severity: 'error', description: 'Objects whose layer name or classe attribute names no PCRS class.' },
  'conversion-multipart': { severity: 'error', description: 'Multi-part geometries where the class takes a single geometry.' },
  'conversion-unmapped-attribute': { severity: 'warning', description: 'Attributes that are not CNIG properties of their class (not carried).' },
  'conversion-empty': { severity: 'error', description: 'No object of the file could be mapped to a PCRS class.' },
  'dxf-crs-assumed': { severity: 'warning', description: 'A DXF carries no CRS: its coordinates are read as Lambert-93.' },
  'layer-without-crs': { severity: 'error', description: 'A layer without a coordinate reference system.' },
  'unreadable-layer': { severity: 'error', description: 'A layer GDAL cannot read.' },
};

export interface RuleCount {
  severity: Severity;
  count: number;
}

export interface XsdSummary {
  ran: boolean;
  schema?: string;
  valid?: boolean;
  exitCode?: number | null;
  timedOut?: boolean;
  durationMs?: number;
  /** Why it did not run. */
  skipped?: string;
}

export interface ValidationReport {
  file: string;
  /** No error-severity finding. */
  valid: boolean;
  durationMs: number;
  root: { name: string; namespace: string; version: string | null; encoding: string } | null;
  xsd: XsdSummary;
  /** Distinct normalised CRSs of the features' geometries. */
  crs: string[];
  featureCount: number;
  featuresByClass: Record<string, number>;
  summary: { errors: number; warnings: number; byRule: Record<string, RuleCount> };
  /** Findings, sorted by line (whole-file findings first); at most `maxFindingsPerRule` per rule. */
  findings: Finding[];
  /** Rules whose findings were capped (their counts in `summary.byRule` stay exact). */
  truncatedRules: string[];
  territoryBbox?: Bbox;
  maxFindingsPerRule: number;
}

/** Counts every finding, keeps the first `maxPerRule` of each rule. */
export class FindingCollector {
  readonly byRule = new Map<string, RuleCount>();
  readonly kept: Finding[] = [];
  private readonly keptPerRule = new Map<string, number>();
  errors = 0;
  warnings = 0;

  constructor(readonly maxPerRule: number) {}

  add(f: Finding): void {
    const c = this.byRule.get(f.rule);
    if (c) c.count++;
    else this.byRule.set(f.rule, { severity: f.severity, count: 1 });
    if (f.severity === 'error') this.errors++;
    else this.warnings++;
    const k = this.keptPerRule.get(f.rule) ?? 0;
    if (k < this.maxPerRule) {
      this.kept.push(f);
      this.keptPerRule.set(f.rule, k + 1);
    }
  }

  /** Counts `n` findings of a rule without keeping them (beyond the cap anyway). */
  countOnly(rule: string, severity: Severity, n: number): void {
    if (n <= 0) return;
    const c = this.byRule.get(rule);
    if (c) c.count += n;
    else this.byRule.set(rule, { severity, count: n });
    if (severity === 'error') this.errors += n;
    else this.warnings += n;
  }

  /** Adds a finding with the rule's default severity. */
  report(rule: string, line: number | null, message: string, context: { class?: string; idObjet?: string; gmlId?: string } = {}): void {
    const severity = RULES[rule]?.severity ?? 'error';
    this.add({ severity, rule, line, ...pickDefined(context), message });
  }

  truncatedRules(): string[] {
    return [...this.byRule.entries()].filter(([rule, c]) => c.count > (this.keptPerRule.get(rule) ?? 0)).map(([rule]) => rule);
  }

  sortedFindings(): Finding[] {
    return [...this.kept].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  }
}

function pickDefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) (out as Record<string, unknown>)[k] = v;
  return out;
}

export function formatReportJson(report: ValidationReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Human-readable report (English for now; the i18n catalogue will carry the French strings). */
export function formatReportText(report: ValidationReport): string {
  const out: string[] = [];
  const { errors, warnings } = report.summary;
  out.push(`PCRS GML validation: ${report.file}`);
  out.push(`Result: ${report.valid ? 'VALID' : 'INVALID'} (${plural(errors, 'error')}, ${plural(warnings, 'warning')}) in ${(report.durationMs / 1000).toFixed(1)} s`);
  if (report.root) {
    out.push(`Root: ${report.root.name} version=${report.root.version ?? '(none)'} namespace=${report.root.namespace || '(none)'} encoding=${report.root.encoding}`);
  }
  const x = report.xsd;
  if (x.ran) {
    out.push(
      `XSD: ${x.schema} — ${x.timedOut ? 'timed out' : x.valid ? 'valid' : 'invalid'}${x.durationMs !== undefined ? ` (xmllint ${(x.durationMs / 1000).toFixed(1)} s)` : ''}`,
    );
  } else {
    out.push(`XSD: not run${x.skipped ? ` (${x.skipped})` : ''}`);
  }
  out.push(`CRS: ${report.crs.length > 0 ? report.crs.join(', ') : '(none)'}`);
  if (report.territoryBbox) out.push(`Territory (EPSG:2154): ${report.territoryBbox.join(', ')}`);
  out.push(`Features: ${report.featureCount}`);
  const classes = Object.entries(report.featuresByClass).sort((a, b) => b[1] - a[1]);
  const width = Math.max(0, ...classes.map(([c]) => c.length));
  for (const [cls, n] of classes) out.push(`  ${cls.padEnd(width)}  ${String(n).padStart(8)}`);
  const rules = Object.entries(report.summary.byRule).sort((a, b) => (a[1].severity === b[1].severity ? b[1].count - a[1].count : a[1].severity === 'error' ? -1 : 1));
  if (rules.length > 0) {
    out.push('Findings by rule:');
    const rw = Math.max(...rules.map(([r]) => r.length));
    for (const [rule, c] of rules) {
      out.push(`  ${c.severity.padEnd(7)} ${rule.padEnd(rw)}  ${String(c.count).padStart(8)}${report.truncatedRules.includes(rule) ? `  (first ${report.maxFindingsPerRule} listed)` : ''}`);
    }
    out.push('Findings:');
    for (const f of report.findings) {
      const where = f.line === null ? 'file' : `line ${f.line}`;
      const who = f.class ? ` [${f.class}${f.idObjet ? ` ${f.idObjet}` : f.gmlId ? ` ${f.gmlId}` : ''}]` : '';
      out.push(`  ${where.padEnd(11)} ${f.severity.padEnd(7)} ${f.rule}${who}: ${f.message}`);
    }
  }
  return `${out.join('\n')}\n`;
}
