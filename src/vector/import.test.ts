import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuiltPcrs } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { arbre, limiteVoirie, pcrsDocument, writeSyntheticPcrsFile } from './gml/synthetic.js';
import { COPY_BATCH_BYTES, countsByClass } from './store.js';
import { fixture, importVersion, LYON_FILES, ogrCounts } from './test-support/vector-fixture.js';

const P = '842000 6519000 170 842010 6519005 170.5 842020 6519000 171';
const good = (id: string) => limiteVoirie({ gmlId: id, posList: P });

describe.each(ENGINES)('GML import ($engine)', ({ engine, open }) => {
  let t: TestDatabase;
  const tmp = mkdtempSync(path.join(tmpdir(), 'pcrs-gml-import-'));
  const write = (name: string, text: string) => {
    const p = path.join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  beforeAll(async () => {
    t = await open();
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Everything stored of a version's features, in id order (what two imports must agree on). */
  const digest = async (versionId: number) =>
    (
      await t.db.query<{ d: string; n: number }>(
        `SELECT md5(string_agg(concat_ws('|', class, namespace, gml_id, id_objet, thematique, qualite_categorisation, precision_planimetrique,
           precision_altimetrique, producteur, date_leve, attributes::text, ST_AsEWKB(geometry)::text, dimension, curved, source_crs, srs_name, source_line),
           E'\n' ORDER BY id)) AS d, COUNT(*)::int AS n FROM vector_features WHERE version_id = $1`,
        [versionId],
      )
    ).rows[0] as { d: string; n: number };

  // Around Cahors, Lambert-93: loaded with COPY, in several batches.
  const big = path.join(tmp, 'cahors.gml');
  let bigFeatures = 0;
  beforeAll(async () => {
    bigFeatures = (await writeSyntheticPcrsFile(big, COPY_BATCH_BYTES * 1.5, 46)).features;
  });

  it('a Lambert-93 file goes in by COPY: every value as written (tabs, line breaks, backslashes, quotes, accents), ids in file order, the footprint PostGIS would compute', async () => {
    const tricky = ['tab\there', 'two\nlines', 'back\\slash \\N', '"guillemets" é ü 😀', 'a\r\nb'];
    const features = tricky.map((producteur, i) => limiteVoirie({ gmlId: `t${i}`, posList: '574000 6373000 170 574010 6373005 170.5', producteur: producteur.replace(/\t/g, '&#9;').replace(/\r/g, '&#13;') }));
    const file = write('tricky.gml', pcrsDocument([...features, arbre({ gmlId: 'tree', pos: '574100 6373100 171' })]));
    const { versionId, results } = await importVersion(t.db, 'tricky', [file], { territoryBbox: null });
    expect(results[0]?.status, results[0]?.reason).toBe('imported');
    const { rows } = await t.db.query<{ producteur: string; attr: string; line: number }>(
      `SELECT producteur, attributes->>'producteur' AS attr, source_line AS line FROM vector_features WHERE version_id = $1 AND class = 'LimiteVoiriePCRS' ORDER BY id`,
      [versionId],
    );
    // XML normalises a literal CR LF to LF; &#13; stays a CR.
    expect(rows.map((r) => r.producteur)).toEqual(tricky);
    expect(rows.map((r) => r.attr)).toEqual(tricky);

    const many = await importVersion(t.db, 'cahors', [big], { territoryBbox: null });
    expect(many.results[0]?.status, many.results[0]?.reason).toBe('imported');
    expect(many.results[0]?.features).toBe(bigFeatures);
    const lines = await t.db.query<{ line: number }>(`SELECT source_line AS line FROM vector_features WHERE version_id = $1 ORDER BY id`, [many.versionId]);
    expect(lines.rows.length).toBe(bigFeatures);
    expect(lines.rows.every((r, i, all) => i === 0 || r.line > (all[i - 1] as { line: number }).line)).toBe(true);
    const area = await t.db.query<{ source: string; same: boolean }>(
      `SELECT a.source, ST_Equals(a.footprint, (SELECT ST_ConvexHull(ST_Collect(ST_Force2D(geometry))) FROM vector_features WHERE version_id = $1)) AS same
       FROM vector_areas a WHERE a.version_id = $1`,
      [many.versionId],
    );
    expect(area.rows).toEqual([{ source: 'hull', same: true }]);
  });

  it.runIf(engine === 'postgres')('`pcrs gml import` (parsing in a worker thread) stores exactly what the in-process import stores', async () => {
    const inProcess = await importVersion(t.db, 'in-process', [big], { territoryBbox: null });
    const cli = runBuiltPcrs(['gml', 'import', big, '--version', 'worker', '--json'], t.env);
    expect(cli.code, cli.stderr).toBe(0);
    const worker = await t.db.query<{ id: number }>(`SELECT id FROM versions WHERE dataset_id = 'vector' AND name = 'worker'`);
    const a = await digest(inProcess.versionId);
    const b = await digest(worker.rows[0]?.id as number);
    expect(a.n).toBe(bigFeatures);
    expect(b).toEqual(a);
  });

  it('imports the Lyon samples (CC46, 3D) with the counts GDAL reads, stored in EPSG:2154 with the source CRS', async () => {
    const { versionId, results } = await importVersion(t.db, 'lyon', LYON_FILES.map(fixture));
    for (const r of results) {
      expect(r.status, `${r.file}: ${r.reason ?? ''} ${JSON.stringify(r.report?.findings.slice(0, 3))}`).toBe('imported');
      const stored = await countsByClass(t.db, { versionId, importId: r.importId as number });
      expect(stored).toEqual(await ogrCounts(r.file));
    }
    const { rows } = await t.db.query<{ srid: number; crs: string; z: boolean; n: number }>(
      `SELECT DISTINCT ST_SRID(geometry) AS srid, source_crs AS crs, ST_Z(ST_StartPoint(geometry)) IS NOT NULL AS z, COUNT(*)::int AS n
       FROM vector_features WHERE version_id = $1 AND class = 'LimiteVoiriePCRS' GROUP BY 1, 2, 3`,
      [versionId],
    );
    expect(rows).toMatchObject([{ srid: 2154, crs: 'EPSG:3946', z: true }]);
    const ext = await t.db.query<{ x: number; y: number }>(`SELECT ST_XMin(ST_Extent(geometry)) AS x, ST_YMin(ST_Extent(geometry)) AS y FROM vector_features WHERE version_id = $1`, [
      versionId,
    ]);
    // Lyon in Lambert-93.
    expect(ext.rows[0]?.x).toBeGreaterThan(840000);
    expect(ext.rows[0]?.y).toBeGreaterThan(6510000);
    // Re-importing the same file is a no-op.
    const again = await importVersion(t.db, 'lyon', [fixture(LYON_FILES[0] as string)]);
    expect(again.results[0]?.status).toBe('skipped');
  });

  it('PCRS-info.gml imports with a default srsName for the object that has none', async () => {
    const { versionId, results } = await importVersion(t.db, 'info', [fixture('PCRS-info.gml')], { defaultSrsName: 'EPSG:4326', territoryBbox: null });
    expect(results[0]?.status, `${results[0]?.reason} ${JSON.stringify(results[0]?.report?.findings)}`).toBe('imported');
    expect(await countsByClass(t.db, { versionId })).toEqual(await ogrCounts(fixture('PCRS-info.gml')));
  });

  const bad: Array<[string, string, string]> = [
    ['not XML', 'Ceci n’est pas du GML\n', 'not-xml'],
    ['XXE', pcrsDocument([good('a')], { prolog: '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' }).replace('ido_a', '&x;'), 'xml-doctype'],
    ['wrong namespace', pcrsDocument([good('a')], { namespace: 'http://example.com/pcrs' }), 'namespace'],
    ['wrong version', pcrsDocument([good('a')], { version: '1.0' }), 'version'],
    ['unknown class', pcrsDocument([good('a'), good('b').replace(/LimiteVoiriePCRS/g, 'TrottoirPCRS')]), 'unknown-class'],
    ['odd coordinate count', pcrsDocument([good('a'), limiteVoirie({ gmlId: 'b', posList: '842000 6519000 170 842010' })]), 'coordinate-count'],
    ['text in coordinates', pcrsDocument([good('a'), limiteVoirie({ gmlId: 'b', posList: '842000 6519000 abc 842010 6519005 170' })]), 'coordinate-text'],
    ['mixed CRS', pcrsDocument([good('a'), arbre({ gmlId: 'b', pos: '1842000 5176000 170', srsName: 'EPSG:3946' })]), 'crs-mixed'],
  ];
  it.each(bad)('%s: rejected with a finding, nothing imported', async (_name, text, rule) => {
    const before = await t.db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM vector_features');
    const file = write(`${rule}.gml`, text);
    const { results } = await importVersion(t.db, `bad-${rule}`, [file]);
    const r = results[0];
    expect(r?.status).toBe('rejected');
    const rules = Object.keys(r?.report?.summary.byRule ?? {});
    expect(rules.some((x) => x.startsWith(rule.split('-')[0] as string)), `${rule} in ${rules.join(',')}`).toBe(true);
    const after = await t.db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM vector_features');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
    const imports = await t.db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM vector_imports WHERE file_name = $1`, [`${rule}.gml`]);
    expect(imports.rows[0]?.n).toBe(0);
  });
});
