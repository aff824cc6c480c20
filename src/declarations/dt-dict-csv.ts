import { readFileSync } from 'node:fs';
import { CsvError, parse } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { errorMessage, UserError } from '../util/errors.js';

/**
 * Reading the guichet unique's DT-DICT CSV extract: the column mapping (YAML, a shipped default in
 * resources/dt-dict/mapping.yaml), the text (UTF-8 with or without BOM, else Windows-1252), the
 * delimiter, and the records with their line numbers — a broken line (wrong number of columns, a
 * quote never closed) is set aside with its line and the lines after it are still read.
 * Turning a record into a declaration is dt-dict.ts's.
 */

/** The fields a mapping can name (each a column of the file). */
export const MAPPED_FIELDS = ['number', 'kind', 'plannedStart', 'plannedEnd', 'themes', 'nature', 'commune', 'address', 'geometry', 'x', 'y', 'crs'] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

const headers = z.union([z.string().trim().min(1).max(200), z.array(z.string().trim().min(1).max(200)).min(1).max(50)]).transform((v) => (typeof v === 'string' ? [v] : v));
const mappingSchema = z.strictObject({
  delimiter: z.enum(['auto', ';', ',', 'tab']).optional(),
  encoding: z.enum(['auto', 'utf-8', 'windows-1252']).optional(),
  crs: z.string().trim().min(1).max(100).optional(),
  columns: z.strictObject(Object.fromEntries(MAPPED_FIELDS.map((f) => [f, headers.nullable().optional()])) as Record<MappedField, z.ZodOptional<z.ZodNullable<typeof headers>>>).optional(),
});

export interface Mapping {
  delimiter: 'auto' | ';' | ',' | 'tab';
  encoding: 'auto' | 'utf-8' | 'windows-1252';
  /** The CRS of a footprint whose row says none. */
  crs: string;
  /** Candidate headers per field (none: the field is not read). */
  columns: Partial<Record<MappedField, string[]>>;
}

export const DEFAULT_MAPPING_FILE = new URL('../../resources/dt-dict/mapping.yaml', import.meta.url);

const unreadable = (code: string, message: string, hint?: string) => new UserError(code, message, { exitCode: 2, ...(hint ? { hint } : {}) });

function readMappingText(text: string, name: string): z.infer<typeof mappingSchema> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw unreadable('invalid-mapping', `The mapping ${name} is not valid YAML: ${errorMessage(e).split('\n')[0]}`);
  }
  const parsed = mappingSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw unreadable('invalid-mapping', `The mapping ${name} is not understood: ${issues}.`, `Fields: delimiter, encoding, crs, columns (${MAPPED_FIELDS.join(', ')}); see docs/dt-dict.md.`);
  }
  return parsed.data;
}

/** The shipped default mapping, with the fields of `overrideFile` (YAML) replacing its own. */
export function loadMapping(overrideFile?: string): Mapping {
  const base = readMappingText(readFileSync(DEFAULT_MAPPING_FILE, 'utf8'), 'shipped with pcrs');
  let over: z.infer<typeof mappingSchema> = {};
  if (overrideFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(overrideFile, 'utf8');
    } catch (e) {
      throw unreadable('unreadable-mapping', `Cannot read the mapping ${overrideFile}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}.`);
    }
    over = readMappingText(text, overrideFile);
  }
  const columns: Partial<Record<MappedField, string[]>> = {};
  for (const f of MAPPED_FIELDS) {
    const chosen = over.columns && f in over.columns ? over.columns[f] : base.columns?.[f];
    if (chosen) columns[f] = chosen;
  }
  return { delimiter: over.delimiter ?? base.delimiter ?? 'auto', encoding: over.encoding ?? base.encoding ?? 'auto', crs: over.crs ?? base.crs ?? 'EPSG:2154', columns };
}

/** A header as compared: no case, accents, punctuation or extra spaces ("N° DT/DICT" → "n dt dict"). */
export function normaliseHeader(h: string): string {
  return h
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[°º]/g, ' ')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** The file as text: UTF-8 (BOM removed) when it is valid UTF-8, else Windows-1252 (or as the mapping forces). */
export function decodeText(bytes: Uint8Array, encoding: Mapping['encoding']): { text: string; encoding: 'utf-8' | 'windows-1252'; bom: boolean } {
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  if (encoding !== 'windows-1252') {
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8', bom };
    } catch {
      if (encoding === 'utf-8') throw unreadable('invalid-encoding', 'The file is not valid UTF-8.', 'Give encoding: windows-1252 (or auto) in the mapping.');
    }
  }
  // Node's TextDecoder('windows-1252') decodes as ISO-8859-1 (0x80–0x9F become C1 controls, not
  // €, ’, œ, –…): those 27 bytes are put right here.
  const text = new TextDecoder('windows-1252').decode(bytes).replace(/[\u0080-\u009f]/g, (c) => CP1252_C1[c.charCodeAt(0) - 0x80] || c);
  return { text, encoding: 'windows-1252', bom: false };
}

/** Windows-1252's characters for the bytes 0x80–0x9F (empty: undefined there). */
const CP1252_C1 = [...'€\0‚ƒ„…†‡ˆ‰Š‹Œ\0Ž\0\0‘’“”•–—˜™š›œ\0žŸ'].map((c) => (c === '\0' ? '' : c));

/** Counts a character outside double quotes. */
function countOutsideQuotes(line: string, ch: string): number {
  let n = 0;
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (c === ch && !quoted) n++;
  }
  return n;
}

/** The delimiter of the file: the mapping's, or the most frequent of ; , and tab in its first line. */
export function detectDelimiter(text: string, forced: Mapping['delimiter']): string {
  if (forced === 'tab') return '\t';
  if (forced !== 'auto') return forced;
  const first = text.split('\n').find((l) => l.trim() !== '') ?? '';
  const counts = [';', ',', '\t'].map((d) => [d, countOutsideQuotes(first, d)] as const);
  const best = counts.reduce((a, b) => (b[1] > a[1] ? b : a));
  return best[1] > 0 ? best[0] : ';';
}

export interface CsvRecord {
  /** The line (1-based) the record starts on. */
  line: number;
  fields: string[];
}

export interface BrokenLine {
  line: number;
  code: 'wrong-column-count' | 'broken-quote';
  reason: string;
}

/**
 * The header and the records of a CSV text (line ends normalised to \n). Blank lines are skipped.
 * A record whose number of fields differs from the header's is set aside: a one-line record as it
 * is; a record spanning several lines (a quote opened and closed lines later) by its first line
 * only, the reading resuming on the next line — so one stray quote costs one line, not the rest of
 * the file. A parse error (a quote never closed) likewise sets aside the line the record began on.
 */
export function readRecords(text: string, delimiter: string): { header: CsvRecord; records: CsvRecord[]; broken: BrokenLine[] } {
  const lines = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n');
  let header: CsvRecord | null = null;
  const records: CsvRecord[] = [];
  const broken: BrokenLine[] = [];
  let start = 0;
  while (start < lines.length) {
    const collected: Array<{ line: number; end: number; fields: string[] }> = [];
    let consumed = 0;
    let failure: { line: number; error: unknown } | null = null;
    try {
      parse(lines.slice(start).join('\n'), {
        delimiter,
        relax_column_count: true,
        skip_empty_lines: false,
        on_record: (fields: string[], context: { lines: number }) => {
          collected.push({ line: start + consumed + 1, end: start + context.lines, fields });
          consumed = context.lines;
          return null;
        },
      });
    } catch (e) {
      if (!(e instanceof CsvError)) throw e;
      failure = { line: start + consumed + 1, error: e };
    }
    let restart: number | null = null;
    for (const r of collected) {
      if (r.fields.every((f) => f.trim() === '')) continue;
      if (header === null) {
        header = { line: r.line, fields: r.fields };
        continue;
      }
      const expected = header.fields.length;
      if (r.fields.length === expected) {
        records.push({ line: r.line, fields: r.fields });
      } else if (r.end === r.line) {
        broken.push({ line: r.line, code: 'wrong-column-count', reason: `${r.fields.length} columns where the header has ${expected}` });
      } else {
        broken.push({ line: r.line, code: 'broken-quote', reason: `a quote opened on this line runs over ${r.end - r.line + 1} lines into a record of ${r.fields.length} columns (the header has ${expected})` });
        restart = r.line;
        break;
      }
    }
    if (restart === null && failure !== null) {
      if (header === null) throw unreadable('unreadable-csv', `The header line of the CSV cannot be read: ${errorMessage(failure.error)}`);
      const code = (failure.error as CsvError).code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quote opened on this line is never closed' : errorMessage(failure.error).replace(/ at line \d+.*$/s, '');
      broken.push({ line: failure.line, code: 'broken-quote', reason: code });
      restart = failure.line;
    }
    if (restart === null) break;
    start = restart;
  }
  if (header === null) throw unreadable('empty-csv', 'The file has no header line (it is empty).');
  return { header, records, broken };
}

/** Where each mapped field is in the header (the first candidate found); fields the file lacks are absent. */
export function locateColumns(header: readonly string[], mapping: Mapping): Partial<Record<MappedField, number>> {
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    const k = normaliseHeader(h);
    if (!index.has(k)) index.set(k, i);
  });
  const found: Partial<Record<MappedField, number>> = {};
  for (const f of MAPPED_FIELDS) {
    for (const candidate of mapping.columns[f] ?? []) {
      const i = index.get(normaliseHeader(candidate));
      if (i !== undefined) {
        found[f] = i;
        break;
      }
    }
  }
  if (found.number === undefined) {
    throw unreadable('missing-column', `The file has no column for the DT/DICT number (looked for: ${(mapping.columns.number ?? []).join(' | ') || 'none'}).`, 'Name the column in a mapping file: --mapping FILE.yaml (docs/dt-dict.md).');
  }
  if (found.geometry === undefined && (found.x === undefined || found.y === undefined)) {
    throw unreadable('missing-column', `The file has no column for the works footprint: neither a geometry column (${(mapping.columns.geometry ?? []).join(' | ') || 'none'}) nor x and y columns.`, 'Name the columns in a mapping file: --mapping FILE.yaml (docs/dt-dict.md).');
  }
  return found;
}
