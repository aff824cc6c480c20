import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { arbre, limiteVoirie, pcrsDocument } from './gml/synthetic.js';
import { countsByClass } from './store.js';
import { fixture, importVersion, LYON_FILES, ogrCounts } from './test-support/vector-fixture.js';

const P = '842000 6519000 170 842010 6519005 170.5 842020 6519000 171';
const good = (id: string) => limiteVoirie({ gmlId: id, posList: P });

describe.each(ENGINES)('GML import ($engine)', ({ open }) => {
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
  afterAll(async () => t?.dispose());

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
