/**
 * XSD validation of PCRS GML with libxml2's `xmllint`, offline and streaming.
 *
 * - `--stream`: libxml2's reader-based validation, constant memory whatever the file size (tree
 *   mode would build a DOM of the whole file). Well-formedness errors are reported by our own
 *   parser; in stream mode xmllint only says "failed to parse", which we ignore.
 * - `--nonet` and `XML_CATALOG_FILES=resources/pcrs/schemas/catalog.xml`: the OGC/W3C schema URLs
 *   are rewritten to the local copies and the network is never used. No `--noent`, no
 *   `--loaddtd`/`--dtdattr`: entities are never substituted and no DTD is loaded. (Files with a
 *   DOCTYPE never reach xmllint: the validator rejects them first.)
 * - stderr is parsed line by line (`FILE:LINE: [element X: ]Schemas validity error : …`), so
 *   millions of errors do not accumulate in memory: the caller decides what to keep.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../util/errors.js';
import { PCRS_INFO_NS } from './pcrs-model.js';

/** `resources/pcrs/schemas` of this package (works from src/ and from dist/). */
export const DEFAULT_SCHEMAS_DIR = resolve(fileURLToPath(new URL('../../../resources/pcrs/schemas', import.meta.url)));

export const PCRS_XSD = 'CNIG_PCRS_v2.0.xsd';
export const PCRS_INFO_XSD = 'CNIG_PCRS-INFO_v2.0.xsd';

/**
 * The schema to validate against: the PCRS-INFO schema when the root element is in the
 * PCRS-INFO namespace, else the PCRS schema (which imports PCRS-INFO, so PCRS files carrying
 * INFO features inside `PlanCorpsRueSimplifie` validate against it).
 */
export function schemaForRoot(rootNamespace: string): typeof PCRS_XSD | typeof PCRS_INFO_XSD {
  return rootNamespace === PCRS_INFO_NS ? PCRS_INFO_XSD : PCRS_XSD;
}

export interface XsdError {
  line: number;
  /** Local name of the element xmllint complains about, when it says. */
  element?: string;
  message: string;
  kind: 'validity' | 'schema' | 'other';
}

export interface XsdRunOptions {
  schemasDir?: string;
  schema?: string;
  xmllint?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  onError: (e: XsdError) => void;
}

export interface XsdRunResult {
  /** True when xmllint said the file validates (exit code 0). */
  valid: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  schema: string;
}

/** Parses one stderr line of `xmllint --schema` (tree and stream formats). */
export function parseXmllintLine(line: string, file: string): XsdError | null {
  if (!line.startsWith(`${file}:`)) return null;
  const rest = line.slice(file.length + 1);
  const m = /^(\d+): (?:element ([^:]+): )?(Schemas validity error|Schemas parser error|Schemas validity warning|[\w ]*error|[\w ]*warning) : (.*)$/.exec(rest);
  if (!m) return null;
  const kind = m[3] === 'Schemas validity error' || m[3] === 'Schemas validity warning' ? 'validity' : m[3] === 'Schemas parser error' ? 'schema' : 'other';
  let message = (m[4] ?? '').trim();
  let element = m[2];
  // "Element '{http://cnig.gouv.fr/pcrs}thematique': …" → element thematique, shorter message.
  const el = /^Element '(?:\{[^}]*\})?([^']+)'(?:, attribute '[^']*')?: /.exec(message);
  if (el) {
    element ??= el[1];
    message = message.replace(/\{http:\/\/cnig\.gouv\.fr\/pcrs\}/g, 'pcrs:').replace(/\{http:\/\/www\.opengis\.net\/gml\/3\.2\}/g, 'gml:');
  }
  return { line: Number(m[1]), ...(element ? { element } : {}), message, kind };
}

/** Runs `xmllint --stream --nonet --noout --schema …` on `file` (absolute path recommended). */
export function runXmllint(file: string, options: XsdRunOptions): Promise<XsdRunResult> {
  const schemasDir = options.schemasDir ?? DEFAULT_SCHEMAS_DIR;
  const schema = options.schema ?? PCRS_XSD;
  const schemaPath = resolve(schemasDir, schema);
  const catalog = resolve(schemasDir, 'catalog.xml');
  if (!existsSync(schemaPath) || !existsSync(catalog)) {
    return Promise.reject(new UserError('schemas-missing', `PCRS schemas not found in ${schemasDir} (expected ${schema} and catalog.xml)`, { status: 500 }));
  }
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, XML_CATALOG_FILES: catalog };
    delete env['XML_DEBUG_CATALOG'];
    delete env['http_proxy'];
    delete env['HTTP_PROXY'];
    const child = spawn(options.xmllint ?? 'xmllint', ['--stream', '--nonet', '--noout', '--schema', schemaPath, file], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      signal: options.signal,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30 * 60 * 1000);
    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const e = parseXmllintLine(line, file);
        if (e) options.onError(e);
      }
      // A pathological line without newline must not grow without bound.
      if (pending.length > 1024 * 1024) pending = pending.slice(-64 * 1024);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') {
        reject(
          new UserError('tool-missing', `The program '${options.xmllint ?? 'xmllint'}' was not found.`, {
            hint: 'Install libxml2 tools: sudo apt-get install -y libxml2-utils',
            exitCode: 69,
            status: 503,
          }),
        );
      } else reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (pending) {
        const e = parseXmllintLine(pending, file);
        if (e) options.onError(e);
      }
      resolvePromise({ valid: code === 0 && !timedOut, exitCode: code, timedOut, durationMs: Date.now() - started, schema });
    });
  });
}
