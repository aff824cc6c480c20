import path from 'node:path';
import type { AppContext } from '../context/app-context.js';
import type { Caller } from '../context/access.js';
import type { Database, Queryable } from '../db/database.js';
import { parseCrs } from '../grid/crs.js';
import { isUserError, UserError } from '../util/errors.js';
import { decodeText, detectDelimiter, locateColumns, readRecords, type Mapping, type MappedField } from './dt-dict-csv.js';
import { THEMES, type InputGeometry, type Position, type Theme } from './model.js';
import { DeclarationService, type CreateInput } from './service.js';

/**
 * `pcrs declarations import-dt-dict`: each row of the guichet unique's CSV extract becomes a
 * `works` declaration through DeclarationService.create (the same checks as the API: territory,
 * validity, dates), idempotent on the DT/DICT number (a number already declared is skipped). A row
 * that cannot be imported is rejected with its line and the reason; the other rows still import.
 */

export type RejectCode =
  | 'wrong-column-count'
  | 'broken-quote'
  | 'missing-number'
  | 'bad-number'
  | 'bad-date'
  | 'end-before-start'
  | 'unknown-theme'
  | 'missing-geometry'
  | 'bad-geometry'
  | 'bad-coordinates'
  | 'bad-crs'
  | 'outside-territory'
  | 'self-intersecting'
  | 'invalid-geometry';

export interface ImportReport {
  file: string;
  encoding: 'utf-8' | 'windows-1252';
  bom: boolean;
  delimiter: string;
  dryRun: boolean;
  /** Data lines read (the header and blank lines aside). */
  rows: number;
  /** Declarations made (ids are null in a dry run: nothing was kept). */
  imported: Array<{ line: number; number: string; id: number | null }>;
  /** Rows whose DT/DICT number is already declared (in the database or earlier in the file). */
  skipped: Array<{ line: number; number: string; reason: 'duplicate'; existingId: number | null }>;
  rejected: Array<{ line: number; number: string | null; code: RejectCode; reason: string }>;
}

class Rejection extends Error {
  constructor(readonly code: RejectCode, message: string) {
    super(message);
  }
}

const MAX_VERTICES = 5000;

/** DD/MM/YYYY (also D/M/YYYY, with - or .), or YYYY-MM-DD; a time after it is ignored. Empty → null. */
export function parseDate(text: string, what: string): string | null {
  const s = text.trim();
  if (s === '') return null;
  let m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$/.exec(s);
  let y: number;
  let mo: number;
  let d: number;
  if (m) [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else if ((m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(s))) [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else throw new Rejection('bad-date', `The ${what} '${s.slice(0, 40)}' is not a date (DD/MM/YYYY or YYYY-MM-DD).`);
  const iso = `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  const date = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== iso || y < 1900 || y > 2200) {
    throw new Rejection('bad-date', `The ${what} '${s.slice(0, 40)}' is not a real date.`);
  }
  return iso;
}

/** Theme codes separated by , ; | or spaces; "3b" → "03B". Empty → none. */
export function parseThemes(text: string): Theme[] {
  const out: Theme[] = [];
  for (const raw of text.split(/[,;|\s]+/).filter((t) => t !== '')) {
    const code = raw.toUpperCase().replace(/^(\d)(?!\d)/, '0$1');
    if (!(THEMES as readonly string[]).includes(code)) {
      throw new Rejection('unknown-theme', `Unknown "travaux impactant le PCRS" theme code '${raw.slice(0, 20)}' (the codes are ${THEMES.join(', ')}).`);
    }
    if (!out.includes(code as Theme)) out.push(code as Theme);
  }
  return out;
}

/** A CRS as written in a DT-DICT file, as a code the declarations accept (2154, WGS84, a CC zone). */
export function parseFileCrs(text: string): string {
  const s = text.trim();
  let code: string;
  const cc = /\bcc\s*(4[2-9]|50)\b/i.exec(s);
  if (cc) code = `EPSG:39${cc[1]}`;
  else if (/^(?:epsg\s*:?\s*)?(\d{4,5})$/i.test(s)) code = `EPSG:${/(\d{4,5})$/.exec(s)?.[1]}`;
  else if (/lambert[\s_-]*93|rgf\s*93/i.test(s)) code = 'EPSG:2154';
  else if (/wgs\s*84|crs\s*84/i.test(s)) code = 'EPSG:4326';
  else {
    try {
      code = parseCrs(s);
    } catch {
      throw new Rejection('bad-crs', `The CRS '${s.slice(0, 60)}' is not understood (give EPSG:2154, EPSG:4326 or a CC zone EPSG:3942 … EPSG:3950).`);
    }
  }
  if (code === 'OGC:CRS84') code = 'EPSG:4326';
  if (code !== 'EPSG:2154' && code !== 'EPSG:4326' && !/^EPSG:39(4[2-9]|50)$/.test(code)) {
    throw new Rejection('bad-crs', `The CRS ${code} is not accepted for a works footprint (give EPSG:2154, EPSG:4326 or a CC zone EPSG:3942 … EPSG:3950).`);
  }
  return code;
}

const badCoordinates = (detail: string) => new Rejection('bad-coordinates', `Bad coordinates: ${detail}.`);

function number(text: string): number {
  const s = text.trim().replace(/^(-?\d+),(\d+)$/, '$1.$2');
  const v = s === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) throw badCoordinates(`'${text.trim().slice(0, 30)}' is not a number`);
  return v;
}

/** Parses the coordinates part of WKT — "(1 2, 3 4)", "((…), (…))" — into nested arrays. */
function parseWktCoordinates(s: string): unknown {
  let i = 0;
  const skip = () => {
    while (i < s.length && /\s/.test(s[i] as string)) i++;
  };
  const list = (): unknown[] => {
    skip();
    if (s[i] !== '(') throw new Rejection('bad-geometry', 'The WKT is malformed (a parenthesis is missing).');
    i++;
    const items: unknown[] = [];
    for (;;) {
      skip();
      if (s[i] === '(') items.push(list());
      else {
        const start = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ')') i++;
        const parts = s.slice(start, i).trim().split(/\s+/);
        if (parts.length < 2 || parts.length > 4) throw badCoordinates(`'${s.slice(start, i).trim().slice(0, 40)}' is not a position`);
        items.push(parts.slice(0, 3).map(number));
      }
      skip();
      if (s[i] === ',') i++;
      else if (s[i] === ')') {
        i++;
        return items;
      } else throw new Rejection('bad-geometry', 'The WKT is malformed (a parenthesis is not closed).');
    }
  };
  const out = list();
  skip();
  if (i !== s.length) throw new Rejection('bad-geometry', 'The WKT has text after its geometry.');
  return out;
}

type Kind = 'Point' | 'LineString' | 'Polygon';
const KINDS: Record<string, Kind> = { POINT: 'Point', LINESTRING: 'LineString', POLYGON: 'Polygon' };

/** A Multi… of one member as that member; Point/LineString/Polygon as they are. */
function single(type: string, coordinates: unknown): { type: Kind; coordinates: unknown } {
  const upper = type.toUpperCase();
  if (KINDS[upper]) return { type: KINDS[upper], coordinates };
  const inner = KINDS[upper.replace(/^MULTI/, '')];
  if (inner && Array.isArray(coordinates)) {
    if (coordinates.length !== 1) throw new Rejection('bad-geometry', `A ${type} of ${coordinates.length} parts is not accepted: give one ${inner} per DT/DICT.`);
    return { type: inner, coordinates: coordinates[0] };
  }
  throw new Rejection('bad-geometry', `A ${type.slice(0, 30)} is not accepted: give a Point, a LineString or a Polygon.`);
}

function checkShape(g: { type: Kind; coordinates: unknown }): Position | readonly Position[] | ReadonlyArray<readonly Position[]> {
  const isPos = (p: unknown): p is number[] => Array.isArray(p) && p.length >= 2 && p.length <= 3 && p.every((v) => typeof v === 'number' && Number.isFinite(v));
  const c = g.coordinates;
  if (g.type === 'Point') {
    if (!isPos(c)) throw badCoordinates('a point needs two numbers');
    return c;
  }
  if (g.type === 'LineString') {
    if (!Array.isArray(c) || !c.every(isPos)) throw badCoordinates('a line needs positions of two numbers');
    if (c.length < 2 || c.length > MAX_VERTICES) throw new Rejection('bad-geometry', `A line needs 2 to ${MAX_VERTICES} positions (it has ${c.length}).`);
    return c as number[][];
  }
  if (!Array.isArray(c) || c.length < 1 || c.length > 100 || !c.every((r) => Array.isArray(r) && r.every(isPos))) throw badCoordinates('a polygon needs rings of positions of two numbers');
  for (const r of c as number[][][]) {
    if (r.length < 4 || r.length > MAX_VERTICES) throw new Rejection('bad-geometry', `A polygon ring needs 4 to ${MAX_VERTICES} positions (one has ${r.length}).`);
  }
  return c as number[][][];
}

/** The footprint of a row: WKT or GeoJSON in `text`, else the point (x, y); in `crs` unless it says its own. */
export function parseFootprint(text: string | undefined, x: string | undefined, y: string | undefined, crsText: string): InputGeometry {
  let crs = crsText;
  let g: { type: Kind; coordinates: unknown };
  const s = (text ?? '').trim();
  if (s !== '') {
    if (s.startsWith('{')) {
      let json: unknown;
      try {
        json = JSON.parse(s);
      } catch {
        throw new Rejection('bad-geometry', 'The footprint looks like GeoJSON but is not valid JSON.');
      }
      let o = json as { type?: unknown; coordinates?: unknown; geometry?: unknown; crs?: { properties?: { name?: unknown } } };
      if (o?.type === 'Feature' && typeof o.geometry === 'object' && o.geometry !== null) o = o.geometry as typeof o;
      if (typeof o?.type !== 'string' || o.coordinates === undefined) throw new Rejection('bad-geometry', 'The GeoJSON footprint has no type and coordinates.');
      if (typeof o.crs?.properties?.name === 'string') crs = o.crs.properties.name;
      g = single(o.type, o.coordinates);
    } else {
      const m = /^(?:SRID=(\d{4,5});\s*)?([A-Za-z]+)\s*(?:ZM|Z|M)?\s*(\(.*\))$/s.exec(s);
      if (!m) throw new Rejection('bad-geometry', `The footprint '${s.slice(0, 40)}' is neither WKT nor GeoJSON.`);
      if (m[1]) crs = `EPSG:${m[1]}`;
      g = single(m[2] as string, parseWktCoordinates(m[3] as string));
      // Type given, the WKT nesting must match it.
      if (g.type === 'Point' && Array.isArray(g.coordinates) && g.coordinates.length === 1) g = { type: 'Point', coordinates: g.coordinates[0] };
    }
  } else if ((x ?? '').trim() !== '' || (y ?? '').trim() !== '') {
    g = { type: 'Point', coordinates: [number(x ?? ''), number(y ?? '')] };
  } else {
    throw new Rejection('missing-geometry', 'The row has no footprint (no geometry, no x and y).');
  }
  const code = parseFileCrs(crs);
  const coordinates = checkShape(g);
  const member = code === 'EPSG:4326' ? {} : { crs: { type: 'name' as const, properties: { name: code } } };
  if (g.type === 'Point') return { type: 'Point', coordinates: coordinates as Position, ...member };
  if (g.type === 'LineString') return { type: 'LineString', coordinates: coordinates as readonly Position[], ...member };
  return { type: 'Polygon', coordinates: coordinates as ReadonlyArray<readonly Position[]>, ...member };
}

const KIND_NAMES: Array<[RegExp, string]> = [
  [/^dt\s*[-/ ]\s*dict|conjointe/i, 'DT-DICT'],
  [/^dict$/i, 'DICT'],
  [/^dt$/i, 'DT'],
  [/^atu$|urgent/i, 'ATU'],
];

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The row's DT/DICT number, normalised (spaces collapsed, upper case), or a Rejection. */
export function dtDictNumber(cells: Partial<Record<MappedField, string>>): string {
  const number = (cells.number ?? '').trim().replace(/\s+/g, ' ').toUpperCase();
  if (number === '') throw new Rejection('missing-number', 'The row has no DT/DICT number.');
  if (number.length > 64) throw new Rejection('bad-number', `The DT/DICT number '${number.slice(0, 30)}…' is longer than 64 characters.`);
  return number;
}

/** One CSV row as the works declaration to create, or a Rejection. */
export function rowToInput(number: string, cells: Partial<Record<MappedField, string>>, ctx: { line: number; file: string; crs: string }): CreateInput {
  const plannedStart = parseDate(cells.plannedStart ?? '', 'planned start');
  const plannedEnd = parseDate(cells.plannedEnd ?? '', 'planned end');
  if (plannedStart && plannedEnd && plannedEnd < plannedStart) throw new Rejection('end-before-start', `The planned end (${plannedEnd}) is before the planned start (${plannedStart}).`);
  const themes = parseThemes(cells.themes ?? '');
  const rowCrs = (cells.crs ?? '').trim();
  const geometry = parseFootprint(cells.geometry, cells.x, cells.y, rowCrs === '' ? ctx.crs : rowCrs);
  const rawKind = (cells.kind ?? '').trim();
  const kind = KIND_NAMES.find(([re]) => re.test(rawKind))?.[1] ?? (rawKind === '' ? 'DT/DICT' : clip(rawKind, 20));
  const nature = (cells.nature ?? '').trim();
  const commune = (cells.commune ?? '').trim();
  const address = (cells.address ?? '').trim();
  const title = clip(`${kind} ${number}${nature ? ` — ${nature}` : ''}${commune ? ` (${commune})` : ''}`.replace(/\s+/g, ' '), 200);
  const description = [
    nature ? `Nature des travaux : ${nature}` : null,
    commune ? `Commune : ${commune}` : null,
    address ? `Adresse : ${address}` : null,
    `${kind} n° ${number}, importée du guichet unique DT-DICT (fichier ${ctx.file}, ligne ${ctx.line}).`,
  ]
    .filter((l): l is string => l !== null)
    .join('\n')
    .slice(0, 10000);
  return {
    type: 'works',
    title,
    description,
    geometry,
    works: { dtDictRef: number, ...(plannedStart ? { plannedStart } : {}), ...(plannedEnd ? { plannedEnd } : {}), themes },
  };
}

/** A service error on create, as the row's rejection (null: not a rejection, a failure to report). */
function rejectionOf(e: unknown): Rejection | null {
  if (e instanceof Rejection) return e;
  if (!isUserError(e)) return null;
  if (e.code === 'outside-territory') return new Rejection('outside-territory', e.message);
  if (e.code === 'invalid-dates') return new Rejection('end-before-start', e.message);
  if (e.code === 'invalid-geometry') return new Rejection(/self-intersection/i.test(e.message) ? 'self-intersecting' : 'invalid-geometry', e.message);
  return null;
}

/**
 * A database that is one open transaction, rolled back at the end: a dry run goes through the very
 * same create (the same checks, the same duplicate detection within the file) and keeps nothing.
 * Each nested transaction is a savepoint.
 */
async function inRolledBackTransaction<T>(db: Database, fn: (db: Database) => Promise<T>): Promise<T> {
  const ROLLBACK = Symbol('rollback');
  let result: T | undefined;
  let n = 0;
  try {
    await db.transaction(async (tx: Queryable) => {
      const savepoint = async <R>(f: (q: Queryable) => Promise<R>): Promise<R> => {
        const name = `dry_run_${++n}`;
        await tx.query(`SAVEPOINT ${name}`);
        try {
          const r = await f(tx);
          await tx.query(`RELEASE SAVEPOINT ${name}`);
          return r;
        } catch (e) {
          await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
          throw e;
        }
      };
      const scoped: Database = {
        engine: db.engine,
        describe: () => db.describe(),
        query: (sql, params) => tx.query(sql, params),
        exec: (sql) => tx.exec(sql),
        copyFrom: (target, data) => tx.copyFrom(target, data),
        transaction: savepoint,
        withSession: (f) => f(scoped),
        listen: () => Promise.reject(new Error('no LISTEN in a dry run')),
        close: async () => undefined,
      };
      result = await fn(scoped);
      throw ROLLBACK;
    });
  } catch (e) {
    if (e !== ROLLBACK) throw e;
  }
  return result as T;
}

export interface ImportOptions {
  bytes: Uint8Array;
  /** The file's name (its base name goes into the declarations' description and the report). */
  fileName: string;
  mapping: Mapping;
  /** Who declares: the operator (the CLI), acting for `organisation` when given. */
  caller: Caller;
  organisation?: string;
  dryRun?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export async function importDtDict(ctx: AppContext, o: ImportOptions): Promise<ImportReport> {
  const decoded = decodeText(o.bytes, o.mapping.encoding);
  const delimiter = detectDelimiter(decoded.text, o.mapping.delimiter);
  const { header, records, broken } = readRecords(decoded.text, delimiter);
  const columns = locateColumns(header.fields, o.mapping);
  const file = path.basename(o.fileName);
  const report: ImportReport = { file, encoding: decoded.encoding, bom: decoded.bom, delimiter: delimiter === '\t' ? 'tab' : delimiter, dryRun: o.dryRun === true, rows: records.length + broken.length, imported: [], skipped: [], rejected: [] };
  for (const b of broken) report.rejected.push({ line: b.line, number: null, code: b.code, reason: `Broken line: ${b.reason}.` });

  const run = async (db: Database) => {
    const service = new DeclarationService({ ...ctx, db });
    const savepoint = o.dryRun ? <R>(f: () => Promise<R>) => db.transaction(() => f()) : <R>(f: () => Promise<R>) => f();
    let done = 0;
    // In a dry run, declarations made earlier in the file exist only until the rollback.
    const madeHere = new Set<number>();
    const existingOf = (id: number | null) => (id !== null && o.dryRun && madeHere.has(id) ? null : id);
    for (const record of records) {
      const cells: Partial<Record<MappedField, string>> = {};
      for (const [field, i] of Object.entries(columns) as Array<[MappedField, number]>) cells[field] = record.fields[i] ?? '';
      let number: string | null = null;
      try {
        const ref = dtDictNumber(cells);
        number = ref;
        const existing = await service.store.idByDtDictRef(ref);
        if (existing !== null) {
          report.skipped.push({ line: record.line, number: ref, reason: 'duplicate', existingId: existingOf(existing) });
        } else {
          const input = rowToInput(ref, cells, { line: record.line, file, crs: o.mapping.crs });
          const created = await savepoint(() => service.create(o.caller, { ...input, ...(o.organisation ? { organisation: o.organisation } : {}) }));
          madeHere.add(created.id);
          report.imported.push({ line: record.line, number: ref, id: o.dryRun ? null : created.id });
        }
      } catch (e) {
        if (isUserError(e) && e.code === 'duplicate-dt-dict-ref' && number !== null) {
          report.skipped.push({ line: record.line, number, reason: 'duplicate', existingId: existingOf(await service.store.idByDtDictRef(number)) });
        } else {
          const r = rejectionOf(e);
          if (!r) throw e;
          report.rejected.push({ line: record.line, number, code: r.code, reason: r.message });
        }
      }
      o.onProgress?.(++done, records.length);
    }
  };
  if (o.dryRun) await inRolledBackTransaction(ctx.db, run);
  else await run(ctx.db);
  report.rejected.sort((a, b) => a.line - b.line);
  if (!o.dryRun) {
    await ctx.audit.record(o.caller, { action: 'declaration.import-dt-dict', target: `file:${file}`, details: { imported: report.imported.length, skipped: report.skipped.length, rejected: report.rejected.length } });
  }
  return report;
}

/** Usage mistakes of the import (an unknown organisation) are the CLI's 64. */
export function unknownOrganisation(slug: string): UserError {
  return new UserError('unknown-organisation', `There is no organisation '${slug}'.`, { exitCode: 64, hint: 'pcrs accounts … lists the organisations; or leave --organisation out to declare as the operator.' });
}
