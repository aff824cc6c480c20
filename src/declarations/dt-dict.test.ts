/**
 * The DT-DICT CSV import: the reading (encodings, delimiters, quotes, broken lines, dates, themes,
 * footprints) as functions, then `pcrs declarations import-dt-dict`, `mark-to-update` and
 * `to-update` as users run them (the built CLI in a child process) on PGlite and PostgreSQL, with
 * CSV files made here: good rows, duplicates, each rejection reason, a Windows-1252 file, a BOM,
 * semicolons and commas, a custom mapping, a dry run, re-import, big-file progress, exit codes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transformPoint } from '../grid/crs.js';
import { runBuiltPcrs } from '../test-support/cli.js';
import { ensureOrganisation } from '../test-support/access.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { Catalog } from '../catalog/catalog.js';
import { DEFAULT_MAPPING_FILE, decodeText, detectDelimiter, loadMapping, normaliseHeader, readRecords } from './dt-dict-csv.js';
import { parseDate, parseFileCrs, parseFootprint, parseThemes } from './dt-dict.js';
import { parisToday } from '../util/paris-day.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-dt-dict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Uint8Array) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

/** Windows-1252 bytes of a text (the characters this test uses). */
function cp1252(text: string): Buffer {
  const special: Record<string, number> = { '€': 0x80, '–': 0x96, '’': 0x92, œ: 0x9c, Œ: 0x8c };
  return Buffer.from([...text].map((c) => special[c] ?? (c.charCodeAt(0) < 256 ? c.charCodeAt(0) : 0x3f)));
}

const fr = (iso: string) => iso.split('-').reverse().join('/');
const day = (offset: number) => parisToday(new Date(Date.now() + offset * 86_400_000));
const YESTERDAY = day(-1);
const TOMORROW = day(1);
const MONTH_AGO = day(-30);
/** A `pcrs` process on PGlite takes seconds (WASM start): the CLI tests make many. */
const SLOW = 300_000;

describe('reading a DT-DICT CSV', () => {
  it('decodes UTF-8 with or without BOM, and anything else as Windows-1252', () => {
    expect(decodeText(Buffer.from('\uFEFFN°;Réfection', 'utf8'), 'auto')).toEqual({ text: 'N°;Réfection', encoding: 'utf-8', bom: true });
    expect(decodeText(Buffer.from('N°;Réfection', 'utf8'), 'auto')).toEqual({ text: 'N°;Réfection', encoding: 'utf-8', bom: false });
    expect(decodeText(cp1252('N°;Réfection du cœur – l’avenue'), 'auto')).toEqual({ text: 'N°;Réfection du cœur – l’avenue', encoding: 'windows-1252', bom: false });
    expect(() => decodeText(cp1252('Réfection'), 'utf-8')).toThrow(/not valid UTF-8/);
    expect(decodeText(Buffer.from('Ã©', 'utf8'), 'windows-1252').text).toBe('Ã\u0192Â©');
  });

  it('finds the delimiter in the header line (outside quotes)', () => {
    expect(detectDelimiter('a;b;c\n1,2;3;4', 'auto')).toBe(';');
    expect(detectDelimiter('"a;b",c,d\n', 'auto')).toBe(',');
    expect(detectDelimiter('a\tb\tc', 'auto')).toBe('\t');
    expect(detectDelimiter('a;b;c', ',')).toBe(',');
    expect(detectDelimiter('a,b', 'tab')).toBe('\t');
  });

  it('reads records with their line, quoted fields over lines, CRLF; sets aside broken lines and reads on', () => {
    const text = ['n;a;b', '1;"x;y";z', '', '2;"multi', 'line ""q""";w', '3;too;many;fields', '4;short', '5;"never closed;b', '6;ok;fine', '7;"a"x;b', '8;ok;"end"'].join('\r\n');
    const { header, records, broken } = readRecords(text, ';');
    expect(header).toEqual({ line: 1, fields: ['n', 'a', 'b'] });
    expect(records).toEqual([
      { line: 2, fields: ['1', 'x;y', 'z'] },
      { line: 4, fields: ['2', 'multi\nline "q"', 'w'] },
      { line: 9, fields: ['6', 'ok', 'fine'] },
      { line: 11, fields: ['8', 'ok', 'end'] },
    ]);
    expect(broken.map((b) => [b.line, b.code])).toEqual([
      [6, 'wrong-column-count'],
      [7, 'wrong-column-count'],
      [8, 'broken-quote'],
      [10, 'broken-quote'],
    ]);
    // A quote never closed at the very end.
    const tail = readRecords('n;a\n1;ok\n2;"open\n', ';');
    expect(tail.records.map((r) => r.line)).toEqual([2]);
    expect(tail.broken).toEqual([{ line: 3, code: 'broken-quote', reason: 'a quote opened on this line is never closed' }]);
    expect(() => readRecords('\n\n', ';')).toThrow(/no header/);
  });

  it('compares headers without case, accents, punctuation or extra spaces', () => {
    expect(normaliseHeader('  N° DT/DICT ')).toBe('n dt dict');
    expect(normaliseHeader('Date de DÉBUT des travaux')).toBe('date de debut des travaux');
    expect(normaliseHeader('Thèmes_PCRS')).toBe('themes pcrs');
  });

  it('reads dates DD/MM/YYYY or ISO, themes with any separator, the CRS as written in files', () => {
    expect(parseDate('05/01/2026', 'x')).toBe('2026-01-05');
    expect(parseDate('5/1/2026 08:30', 'x')).toBe('2026-01-05');
    expect(parseDate('2026-01-05', 'x')).toBe('2026-01-05');
    expect(parseDate('2026-01-05T10:00:00+01:00', 'x')).toBe('2026-01-05');
    expect(parseDate('  ', 'x')).toBeNull();
    for (const bad of ['31/02/2026', '2026-13-01', '05/01/26', 'demain', '01/01/1800']) expect(() => parseDate(bad, 'planned end'), bad).toThrow(/planned end/);
    expect(parseThemes('03B')).toEqual(['03B']);
    expect(parseThemes('2, 3a;05|10 06 06')).toEqual(['02', '03A', '05', '10', '06']);
    expect(parseThemes('')).toEqual([]);
    expect(() => parseThemes('03A,11')).toThrow(/'11'/);
    expect(() => parseThemes('03C')).toThrow(/theme code/);
    expect(['2154', 'EPSG:2154', 'Lambert 93', 'RGF93 / Lambert-93', 'urn:ogc:def:crs:EPSG::2154'].map(parseFileCrs)).toEqual(Array(5).fill('EPSG:2154'));
    expect(['4326', 'WGS84', 'WGS 84', 'CRS84'].map(parseFileCrs)).toEqual(Array(4).fill('EPSG:4326'));
    expect(['CC45', 'RGF93 / CC45', 'EPSG:3945'].map(parseFileCrs)).toEqual(Array(3).fill('EPSG:3945'));
    expect(() => parseFileCrs('EPSG:3857')).toThrow(/not accepted/);
    expect(() => parseFileCrs('Mercator')).toThrow(/not understood/);
  });

  it('reads footprints as WKT (EWKT, Z, a MULTI of one), GeoJSON (geometry or Feature, crs member) or x/y', () => {
    const L93 = { crs: { type: 'name', properties: { name: 'EPSG:2154' } } };
    expect(parseFootprint('POINT (575200 6373600)', undefined, undefined, 'EPSG:2154')).toEqual({ type: 'Point', coordinates: [575200, 6373600], ...L93 });
    expect(parseFootprint('SRID=4326;POINT Z (1.44 44.44 120)', undefined, undefined, 'EPSG:2154')).toEqual({ type: 'Point', coordinates: [1.44, 44.44, 120] });
    expect(parseFootprint('linestring(1 2,3 4)', undefined, undefined, 'CC45')).toEqual({ type: 'LineString', coordinates: [[1, 2], [3, 4]], crs: { type: 'name', properties: { name: 'EPSG:3945' } } });
    expect(parseFootprint('MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)))', undefined, undefined, '2154')).toMatchObject({ type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] });
    expect(parseFootprint('{"type":"Feature","geometry":{"type":"Point","coordinates":[1.4,44.4]},"properties":{}}', undefined, undefined, 'EPSG:4326')).toEqual({ type: 'Point', coordinates: [1.4, 44.4] });
    expect(parseFootprint('{"type":"Point","coordinates":[575200,6373600],"crs":{"type":"name","properties":{"name":"EPSG:2154"}}}', undefined, undefined, 'EPSG:4326')).toEqual({ type: 'Point', coordinates: [575200, 6373600], ...L93 });
    expect(parseFootprint('', '575200,5', ' 6373600.25 ', 'EPSG:2154')).toEqual({ type: 'Point', coordinates: [575200.5, 6373600.25], ...L93 });
    const reject = (f: () => unknown, code: string) => expect(f).toThrow(expect.objectContaining({ code }));
    reject(() => parseFootprint('POINT (575200 abc)', undefined, undefined, '2154'), 'bad-coordinates');
    reject(() => parseFootprint('', 'x', '6373600', '2154'), 'bad-coordinates');
    reject(() => parseFootprint('', '', '', '2154'), 'missing-geometry');
    reject(() => parseFootprint('POINT (1 2', undefined, undefined, '2154'), 'bad-geometry');
    reject(() => parseFootprint('CIRCLE (1 2)', undefined, undefined, '2154'), 'bad-geometry');
    reject(() => parseFootprint('MULTIPOINT ((1 2), (3 4))', undefined, undefined, '2154'), 'bad-geometry');
    reject(() => parseFootprint('POLYGON ((0 0, 1 0, 0 0))', undefined, undefined, '2154'), 'bad-geometry');
    reject(() => parseFootprint('{"type":"Point"', undefined, undefined, '2154'), 'bad-geometry');
    reject(() => parseFootprint('{"type":"Point","coordinates":["a","b"]}', undefined, undefined, '4326'), 'bad-coordinates');
    reject(() => parseFootprint('POINT (1 2)', undefined, undefined, 'EPSG:3857'), 'bad-crs');
  });

  it('ships a default mapping (the one docs/dt-dict.md shows); a mapping file replaces the fields it names', () => {
    const shipped = readFileSync(DEFAULT_MAPPING_FILE, 'utf8');
    const docs = readFileSync(new URL('../../docs/dt-dict.md', import.meta.url), 'utf8');
    expect(docs).toContain(shipped.slice(shipped.indexOf('columns:')).trim());
    const m = loadMapping();
    expect(m).toMatchObject({ delimiter: 'auto', encoding: 'auto', crs: 'EPSG:2154' });
    expect(m.columns.number).toContain('N° DT/DICT');
    const custom = loadMapping(file('custom-unit.yaml', 'crs: EPSG:4326\ncolumns:\n  number: Ref\n  nature: null\n'));
    expect(custom.crs).toBe('EPSG:4326');
    expect(custom.columns.number).toEqual(['Ref']);
    expect(custom.columns.nature).toBeUndefined();
    expect(custom.columns.commune).toEqual(m.columns.commune);
    expect(() => loadMapping(file('bad.yaml', 'colums:\n  number: Ref\n'))).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(() => loadMapping(path.join(dir, 'missing.yaml'))).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});

const HEADER = ['N° DT/DICT', 'Type de déclaration', 'Date de début des travaux', 'Date de fin des travaux', 'Travaux impactant le PCRS', 'Nature des travaux', 'Commune', 'Adresse des travaux', 'Emprise des travaux', 'X', 'Y', 'Système de coordonnées'];
const row = (o: { n: string; kind?: string; start?: string; end?: string; themes?: string; nature?: string; wkt?: string; x?: string; y?: string; crs?: string }) =>
  [o.n, o.kind ?? 'DICT', o.start ?? fr(MONTH_AGO), o.end ?? fr(YESTERDAY), o.themes ?? '03B', o.nature ?? 'Réfection de chaussée', 'Cahors', 'Boulevard Gambetta', o.wkt ?? '', o.x ?? '', o.y ?? '', o.crs ?? ''].join(';');
const square = (x: number, y: number, d: number) => `POLYGON ((${x - d} ${y - d}, ${x + d} ${y - d}, ${x + d} ${y + d}, ${x - d} ${y + d}, ${x - d} ${y - d}))`;

describe.each(ENGINES)('pcrs declarations import-dt-dict on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let env: Record<string, string>;
  const pcrs = (...args: string[]) => runBuiltPcrs(['declarations', ...args], env);
  const listed = () => {
    const r = pcrs('list', '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Array<{ id: number; title: string; description: string; author: { actor: string; organisation: { slug: string } | null }; works: { dtDictRef: string; plannedStart: string | null; plannedEnd: string | null; themes: string[] }; geometry: { type: string; coordinates: unknown } }>;
  };
  const byRef = (ref: string) => listed().find((d) => d.works?.dtDictRef === ref);

  // A line across the two dalles, in WGS84, as GeoJSON in a quoted cell (quotes doubled).
  const west = transformPoint('EPSG:2154', 'OGC:CRS84', [575_500, 6_373_300]);
  const east = transformPoint('EPSG:2154', 'OGC:CRS84', [576_500, 6_373_300]);
  const geojsonLine = `"${JSON.stringify({ type: 'LineString', coordinates: [west, east] }).replace(/"/g, '""')}"`;
  const cc45 = transformPoint('EPSG:2154', 'EPSG:3945', [575_800, 6_373_800]);
  const MAIN = [
    HEADER.join(';'),
    row({ n: '2026120200001D', wkt: square(575_200, 6_373_600, 100) }), // 2: imported, marked on 0575
    row({ n: '2026120200002D', kind: 'DT', start: MONTH_AGO, end: TOMORROW, themes: '03A|05', x: '575500,5', y: '6373400,25', crs: 'Lambert 93' }), // 3: imported, ends tomorrow
    row({ n: '2026120200003T', kind: 'DT-DICT conjointe', themes: '02, 06', wkt: geojsonLine, crs: 'WGS84' }), // 4: imported, marked on 0575 and 0576
    row({ n: '2026120200004D', kind: 'ATU', themes: '', wkt: `"SRID=3945;POINT (${cc45[0]} ${cc45[1]})"` }), // 5: imported (EWKT quoted: it holds the delimiter), no theme: never marked
    row({ n: '2026120200001d', wkt: square(575_200, 6_373_600, 100) }), // 6: skipped (duplicate of line 2)
    row({ n: '2026120200005D', wkt: 'POINT (575200 abc)' }), // 7: bad coordinates
    row({ n: '2026120200006D', wkt: 'POINT (652000 6862000)' }), // 8: outside the territory (Paris)
    row({ n: '2026120200007D', wkt: 'POLYGON ((575000 6373000, 575100 6373100, 575100 6373000, 575000 6373100, 575000 6373000))' }), // 9: self-intersecting
    row({ n: '2026120200008D', themes: '03A 11', wkt: 'POINT (575200 6373600)' }), // 10: unknown theme
    row({ n: '2026120200009D', end: '31/02/2026', wkt: 'POINT (575200 6373600)' }), // 11: bad date
    row({ n: '2026120200010D', start: '10/05/2026', end: '01/05/2026', wkt: 'POINT (575200 6373600)' }), // 12: end before start
    row({ n: '  ', wkt: 'POINT (575200 6373600)' }), // 13: missing number
    '2026120200011D;DICT;01/01/2026;02/01/2026;03B', // 14: wrong column count
    row({ n: '2026120200012D', nature: '"Réfection sans fin', wkt: 'POINT (575200 6373600)' }), // 15: unterminated quote
    row({ n: '2026120200013D', themes: '04', wkt: 'POINT (575600 6373600)' }), // 16: imported after the broken line, marked on 0575
    row({ n: '2026120200014D' }), // 17: no footprint
    row({ n: '2026120200015D', wkt: 'POINT (160000 5530000)', crs: 'EPSG:3857' }), // 18: CRS not accepted
  ];
  const REJECTED: Array<[number, string]> = [
    [7, 'bad-coordinates'],
    [8, 'outside-territory'],
    [9, 'self-intersecting'],
    [10, 'unknown-theme'],
    [11, 'bad-date'],
    [12, 'end-before-start'],
    [13, 'missing-number'],
    [14, 'wrong-column-count'],
    [15, 'broken-quote'],
    [17, 'missing-geometry'],
    [18, 'bad-crs'],
  ];
  let mainFile: string;

  beforeAll(async () => {
    t = await open();
    const dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? path.join(dir, `data-${engine}`);
    mkdirSync(dataDir, { recursive: true });
    env = { ...t.env, PCRS_DATA_DIR: dataDir };
    const catalog = new Catalog(t.db);
    await catalog.ensureStandardDatasets('46');
    const { rows } = await t.db.query<{ id: number }>(`INSERT INTO versions (dataset_id, name, status) VALUES ('ortho', '2025', 'published') RETURNING id`);
    for (const [col, name] of [[575, '46-2025-0575-6374'], [576, '46-2025-0576-6374']] as const) {
      await t.db.query(`INSERT INTO dalles (version_id, name, size_m, grid_col, grid_row, footprint, state) VALUES ($1, $2, 1000, $3, 6374, ST_MakeEnvelope($4, 6373000, $5, 6374000, 2154), 'published')`, [Number(rows[0]?.id), name, col, col * 1000, col * 1000 + 1000]);
    }
    await ensureOrganisation({ db: t.db }, 'cahors', 'commune');
    // The CLI opens the database itself: an embedded one takes one process at a time.
    if (engine === 'pglite') await t.db.close();
    mainFile = file(`main-${engine}.csv`, `\uFEFF${MAIN.join('\r\n')}\r\n`);
  }, SLOW);
  afterAll(async () => {
    await t?.dispose();
  }, SLOW);

  it('imports the good rows, skips a duplicate number, rejects each bad row with its line and reason (exit 1)', () => {
    const r = pcrs('import-dt-dict', mainFile, '--json');
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ file: path.basename(mainFile), encoding: 'utf-8', bom: true, delimiter: ';', dryRun: false, rows: 17 });
    expect(report.imported.map((x: { line: number; number: string }) => [x.line, x.number])).toEqual([
      [2, '2026120200001D'],
      [3, '2026120200002D'],
      [4, '2026120200003T'],
      [5, '2026120200004D'],
      [16, '2026120200013D'],
    ]);
    expect(report.skipped).toEqual([{ line: 6, number: '2026120200001D', reason: 'duplicate', existingId: report.imported[0].id }]);
    expect(report.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual(REJECTED);
    const reason = (line: number) => report.rejected.find((x: { line: number }) => x.line === line);
    expect(reason(8).reason).toMatch(/outside the territory/);
    expect(reason(9).reason).toMatch(/Self-intersection/i);
    expect(reason(10)).toMatchObject({ number: '2026120200008D', reason: expect.stringContaining("'11'") });
    expect(reason(11).reason).toMatch(/31\/02\/2026/);
    expect(reason(14).number).toBeNull();

    const all = listed();
    expect(all).toHaveLength(5);
    const polygon = byRef('2026120200001D');
    expect(polygon).toMatchObject({ title: 'DICT 2026120200001D — Réfection de chaussée (Cahors)', author: { actor: 'operator', organisation: null }, works: { plannedStart: MONTH_AGO, plannedEnd: YESTERDAY, themes: ['03B'] }, geometry: { type: 'Polygon' } });
    expect(polygon?.description).toBe(`Nature des travaux : Réfection de chaussée\nCommune : Cahors\nAdresse : Boulevard Gambetta\nDICT n° 2026120200001D, importée du guichet unique DT-DICT (fichier ${path.basename(mainFile)}, ligne 2).`);
    expect(byRef('2026120200002D')?.works).toMatchObject({ plannedEnd: TOMORROW, themes: ['03A', '05'] });
    const line = byRef('2026120200003T');
    expect(line).toMatchObject({ title: expect.stringMatching(/^DT-DICT 2026120200003T/), works: { themes: ['02', '06'] }, geometry: { type: 'LineString' } });
    expect(byRef('2026120200004D')?.works.themes).toEqual([]);
  }, SLOW);

  it('text report; re-import skips every number already declared and stores nothing new', () => {
    const r = pcrs('import-dt-dict', mainFile);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/17 rows — 0 imported, 6 skipped \(already declared\), 11 rejected/);
    expect(r.stdout).toMatch(/Skipped[\s\S]*LINE\s+NUMBER\s+DECLARATION[\s\S]*^6\s+2026120200001D\s+n° \d+/m);
    expect(r.stdout).toMatch(/^10\s+2026120200008D\s+unknown-theme\s+Unknown/m);
    expect(listed()).toHaveLength(5);
  }, SLOW);

  it('mark-to-update marks the dalles of the imported works that ended (with a theme), once; to-update lists them as GeoJSON or CSV', () => {
    const r = pcrs('mark-to-update', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { added: number; marks: Array<{ dtDictRef: string; dalle: string; dueOn: string }> };
    expect(out.marks.map((m) => `${m.dtDictRef} ${m.dalle}`).sort()).toEqual([
      '2026120200001D 46-2025-0575-6374',
      '2026120200003T 46-2025-0575-6374',
      '2026120200003T 46-2025-0576-6374',
      '2026120200013D 46-2025-0575-6374',
    ]);
    expect(out.marks.every((m) => m.dueOn === YESTERDAY)).toBe(true);
    const again = pcrs('mark-to-update');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^0 new "to update" marks/);
    const geojson = pcrs('to-update', '--format', 'geojson');
    expect(geojson.code, geojson.stderr).toBe(0);
    const fc = JSON.parse(geojson.stdout) as { type: string; features: Array<{ properties: { dalle: string; bboxLambert93: number[] } }> };
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.features).toHaveLength(4);
    const csv = pcrs('to-update', '--format', 'csv', '--dataset', 'ortho');
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\r\n');
    expect(lines[0]).toMatch(/^mark_id,declaration_id,dt_dict_ref,title,status,themes,dataset,version,dalle,due_on,/);
    expect(lines).toHaveLength(5);
    expect(csv.stdout).toContain('46-2025-0576-6374');
    expect(pcrs('to-update', '--format', 'csv', '--dataset', 'vector').stdout.trim().split('\r\n')).toHaveLength(1);
    // Works ending tomorrow are marked once that day has passed.
    const later = JSON.parse(pcrs('mark-to-update', '--as-of', day(2), '--json').stdout) as typeof out;
    expect(later.marks.map((m) => `${m.dtDictRef} ${m.dalle}`)).toEqual(['2026120200002D 46-2025-0575-6374']);
    expect(pcrs('mark-to-update', '--as-of', '2026-02-30').code).toBe(64);
    expect(pcrs('to-update', '--format', 'xml').code).toBe(64);
  }, SLOW);

  it('imports a Windows-1252 file with commas, LF and other header names (exit 0)', () => {
    const text = ['N° DT/DICT,Type,Date de début,Date de fin,Thèmes PCRS,Nature des travaux,Commune,X,Y', `2026120200020D,DICT,${fr(MONTH_AGO)},${fr(YESTERDAY)},03B,"Réfection du cœur de ville – l’avenue, phase 2",Cahors,575700,6373700`, ''].join('\n');
    const r = pcrs('import-dt-dict', file(`latin1-${engine}.csv`, cp1252(text)), '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ encoding: 'windows-1252', bom: false, delimiter: ',', imported: [{ line: 2, number: '2026120200020D' }], rejected: [] });
    expect(byRef('2026120200020D')?.title).toBe('DICT 2026120200020D — Réfection du cœur de ville – l’avenue, phase 2 (Cahors)');
  }, SLOW);

  it('follows a custom mapping (other columns, forced delimiter, default CRS); --organisation names the author organisation', () => {
    const mapping = file('custom.yaml', ['delimiter: ","', 'crs: EPSG:4326', 'columns:', '  number: Ref', '  plannedStart: Begin', '  plannedEnd: [Ending, End]', '  themes: Codes', '  geometry: Shape', '  nature: null'].join('\n'));
    const csv = file(`custom-${engine}.csv`, ['Ref,Begin,End,Codes,Shape,Nature des travaux', `XYZ-1,2026-01-05,2026-01-20,03A;05,POINT (1.4415 44.4475),ignorée`, ''].join('\n'));
    const r = pcrs('import-dt-dict', csv, '--mapping', mapping, '--organisation', 'cahors', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).imported).toHaveLength(1);
    const d = byRef('XYZ-1');
    expect(d).toMatchObject({ title: 'DT/DICT XYZ-1', author: { actor: 'operator', organisation: { slug: 'cahors' } }, works: { plannedStart: '2026-01-05', plannedEnd: '2026-01-20', themes: ['03A', '05'] } });
    expect(d?.description).not.toContain('ignorée');
    expect(pcrs('import-dt-dict', csv, '--mapping', mapping, '--organisation', 'nulle-part').code).toBe(64);
  }, SLOW);

  it('--dry-run reports what would be imported (duplicates within the file too) and stores nothing', () => {
    const before = listed().length;
    const csv = file(`dry-${engine}.csv`, [HEADER.join(';'), row({ n: 'DRY-1', wkt: 'POINT (575200 6373600)' }), row({ n: 'DRY-1', wkt: 'POINT (575200 6373600)' }), row({ n: 'DRY-2', wkt: 'POINT (1 2)' }), ''].join('\n'));
    const r = pcrs('import-dt-dict', csv, '--dry-run', '--json');
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ dryRun: true, imported: [{ line: 2, number: 'DRY-1', id: null }], skipped: [{ line: 3, number: 'DRY-1', existingId: null }], rejected: [{ line: 4, code: 'outside-territory' }] });
    expect(listed().length).toBe(before);
    expect(pcrs('import-dt-dict', csv, '--dry-run').stdout).toMatch(/1 would be imported.*\(dry run: nothing stored\)/);
  }, SLOW);

  it('shows progress on stderr for a big file', () => {
    const rows = Array.from({ length: 520 }, () => row({ n: '2026120200001D', wkt: 'POINT (575200 6373600)' }));
    const r = pcrs('import-dt-dict', file(`big-${engine}.csv`, [HEADER.join(';'), ...rows].join('\n')));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/520 rows — 0 imported, 520 skipped/);
    expect(r.stderr).toMatch(/import-dt-dict 100% \(520\/520\)/);
    expect(r.stderr).toMatch(/import-dt-dict done in .* 520 skipped/);
  }, SLOW);

  it('exits 2 on an unreadable file or mapping, or a file without the needed columns; 64 on usage mistakes', () => {
    const unreadable = pcrs('import-dt-dict', path.join(dir, 'nope.csv'));
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/Cannot read .*nope\.csv: ENOENT/);
    expect(pcrs('import-dt-dict', mainFile, '--mapping', path.join(dir, 'nope.yaml')).code).toBe(2);
    const yaml = pcrs('import-dt-dict', mainFile, '--mapping', file('broken.yaml', 'columns: [\n'));
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toMatch(/not valid YAML/);
    const noNumber = pcrs('import-dt-dict', file('no-number.csv', 'Commune;Emprise\nCahors;POINT (575200 6373600)\n'));
    expect(noNumber.code).toBe(2);
    expect(noNumber.stderr).toMatch(/no column for the DT\/DICT number/);
    expect(pcrs('import-dt-dict', file('no-footprint.csv', 'N° DT/DICT;Commune\n1;Cahors\n')).stderr).toMatch(/no column for the works footprint/);
    expect(pcrs('import-dt-dict', file('empty.csv', '')).code).toBe(2);
    expect(pcrs('import-dt-dict').code).toBe(64);
    expect(pcrs('import-dt-dict', mainFile, '--bogus').code).toBe(64);
    expect(listed().filter((d) => d.works?.dtDictRef.startsWith('2026120200')).length).toBe(6);
  }, SLOW);
});
