/**
 * `validateGmlFile`: validation of a CNIG PCRS v2.0 GML delivery.
 *
 * (a) XSD validation by `xmllint` (offline, streaming; see xsd.ts), run as a child process in
 *     parallel with (b), started as soon as the root element is known and only if the file has
 *     no DOCTYPE;
 * (b) CNIG rules checked while streaming the features (see cnig-rules.ts) plus everything the
 *     reader itself reports (malformed XML, bad coordinates, …).
 * Findings are counted exactly per rule; at most `maxFindingsPerRule` are kept per rule.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../../util/errors.js';
import type { Bbox } from './srs-name.js';
import { CnigRuleChecker } from './cnig-rules.js';
import { GmlReadError, readPcrsGml, type GmlHeader } from './gml-reader.js';
import type { PcrsFeature } from './pcrs-model.js';
import { FindingCollector, type Finding, type ValidationReport, type XsdSummary } from './report.js';
import { runXmllint, schemaForRoot, type XsdError, type XsdRunResult } from './xsd.js';

export { formatReportJson, formatReportText, RULES } from './report.js';
export type { Finding, ValidationReport } from './report.js';

export interface ValidateOptions {
  /** Territory bbox in EPSG:2154 ([minX, minY, maxX, maxY]), e.g. the département's extent. */
  territoryBbox?: Bbox;
  territoryName?: string;
  /** Run the XSD validation (default true). */
  xsd?: boolean;
  /** Kill xmllint after this long (default 30 min). */
  xsdTimeoutMs?: number;
  /** Directory holding the XSDs and catalog.xml (default: the package's resources/pcrs/schemas). */
  schemasDir?: string;
  /** xmllint executable (default `xmllint` on the PATH). */
  xmllint?: string;
  /** Findings kept per rule (default 100); counts stay exact. */
  maxFindingsPerRule?: number;
  /** srsName for geometries without one (see GmlReadOptions). */
  defaultSrsName?: string;
  signal?: AbortSignal;
  /**
   * Called with every feature, in file order, while validating (one pass for validate + import).
   * Awaited: a slow consumer slows the reader down (bounded memory). A throw stops validation.
   */
  onFeature?: (feature: PcrsFeature) => void | Promise<void>;
}

/** Validates a PCRS GML file. Throws UserError only when the file cannot be opened or xmllint is missing. */
export async function validateGmlFile(path: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  const started = Date.now();
  const file = resolve(path);
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new UserError('file-unreadable', `${path} is not a file`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError('file-unreadable', `cannot read ${path}: ${(e as Error).message}`);
  }
  const maxPerRule = options.maxFindingsPerRule ?? 100;
  const out = new FindingCollector(maxPerRule);
  const rules = new CnigRuleChecker(out, {
    ...(options.territoryBbox ? { territoryBbox: options.territoryBbox } : {}),
    ...(options.territoryName ? { territoryName: options.territoryName } : {}),
  });
  const xsdErrors: XsdError[] = [];
  let xsdCount = 0;
  let header: GmlHeader | null = null;
  let xsdRun: Promise<XsdRunResult> | null = null;
  let xsdSchema: string | undefined;
  let fatal = false;
  // Stops xmllint if the streaming pass fails unexpectedly (or the caller aborts).
  const xsdAbort = new AbortController();
  const xsdSignal = options.signal ? AbortSignal.any([options.signal, xsdAbort.signal]) : xsdAbort.signal;

  const onHeader = (h: GmlHeader) => {
    header = h;
    rules.header(h);
    if (options.xsd === false) return;
    // Reached only without DOCTYPE: the reader stops at a DOCTYPE, before the root element.
    xsdSchema = schemaForRoot(h.rootNamespace);
    xsdRun = runXmllint(file, {
      schema: xsdSchema,
      ...(options.schemasDir ? { schemasDir: options.schemasDir } : {}),
      ...(options.xmllint ? { xmllint: options.xmllint } : {}),
      ...(options.xsdTimeoutMs ? { timeoutMs: options.xsdTimeoutMs } : {}),
      signal: xsdSignal,
      onError: (e) => {
        // Counted now, kept (with object context) when the streaming pass is done.
        xsdCount++;
        if (xsdErrors.length < maxPerRule) {
          xsdErrors.push(e);
          rules.watch(e.line);
        }
        else countOnly(e);
      },
    });
    // Avoid an unhandled rejection while the streaming pass is still running.
    xsdRun.catch(() => undefined);
  };
  const xsdOverflow = new Map<string, number>();
  const countOnly = (e: XsdError) => {
    const rule = e.kind === 'schema' ? 'xsd-schema' : 'xsd';
    xsdOverflow.set(rule, (xsdOverflow.get(rule) ?? 0) + 1);
  };

  try {
    for await (const f of readPcrsGml(file, {
      onHeader,
      onIssue: (i) => out.add({ ...i }),
      propertyLines: true,
      ...(options.defaultSrsName ? { defaultSrsName: options.defaultSrsName } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    })) {
      rules.feature(f);
      if (options.onFeature) await options.onFeature(f);
    }
  } catch (e) {
    if (!(e instanceof GmlReadError)) {
      xsdAbort.abort();
      throw e;
    }
    fatal = true;
    out.report(e.rule, e.line, e.message);
  }
  await rules.confirmDuplicates(file, (header as GmlHeader | null)?.encoding ?? 'utf-8');
  rules.finish(fatal);

  let xsd: XsdSummary;
  const pending = xsdRun as Promise<XsdRunResult> | null;
  if (pending) {
    const r = await pending;
    for (const e of xsdErrors) out.add(xsdFinding(e, rules));
    for (const [rule, n] of xsdOverflow) out.countOnly(rule, 'error', n);
    if (r.timedOut) {
      out.report('xsd-incomplete', null, `xmllint did not finish within ${options.xsdTimeoutMs ?? 30 * 60 * 1000} ms: the XSD validation is incomplete`);
    } else if (!r.valid && xsdCount === 0 && !fatal) {
      out.report('xsd', null, `xmllint rejected the file (exit code ${r.exitCode}) without a parsable message`);
    }
    xsd = { ran: true, schema: r.schema, valid: r.valid && !fatal, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs };
  } else {
    xsd = {
      ran: false,
      ...(xsdSchema ? { schema: xsdSchema } : {}),
      skipped: options.xsd === false ? 'disabled' : fatal ? 'the file could not be parsed as XML' : 'no root element',
    };
  }

  const h = header as GmlHeader | null;
  return {
    file: path,
    valid: out.errors === 0,
    durationMs: Date.now() - started,
    root: h ? { name: h.rootName, namespace: h.rootNamespace, version: h.version, encoding: h.encoding } : null,
    xsd,
    crs: [...rules.crs].sort(),
    featureCount: rules.featureCount,
    featuresByClass: Object.fromEntries(rules.featuresByClass),
    summary: { errors: out.errors, warnings: out.warnings, byRule: Object.fromEntries(out.byRule) },
    findings: out.sortedFindings(),
    truncatedRules: out.truncatedRules(),
    ...(options.territoryBbox ? { territoryBbox: options.territoryBbox } : {}),
    maxFindingsPerRule: maxPerRule,
  };
}

function xsdFinding(e: XsdError, rules: CnigRuleChecker): Finding {
  const span = rules.featureAt(e.line);
  return {
    severity: 'error',
    rule: e.kind === 'schema' ? 'xsd-schema' : 'xsd',
    line: e.line,
    ...(span ? { class: span.cls } : {}),
    ...(span?.idObjet ? { idObjet: span.idObjet } : {}),
    ...(span?.gmlId ? { gmlId: span.gmlId } : {}),
    message: e.element && !e.message.startsWith('Element ') ? `${e.element}: ${e.message}` : e.message,
  };
}
