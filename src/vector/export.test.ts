import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { gdal } from '../test-support/gdal.js';
import { validateGmlFile } from './gml/validate.js';
import { exportVector } from './export.js';
import { propertyOrder } from './gml-writer.js';
import { countsByClass } from './store.js';
import { fixture, importVersion, LYON_BBOX, LYON_FILES, ogrCounts } from './test-support/vector-fixture.js';

interface Row {
  class: string;
  gml_id: string;
  attributes: unknown;
  g: string;
}

async function snapshot(t: TestDatabase, versionId: number): Promise<Row[]> {
  const { rows } = await t.db.query<Row>(
    `SELECT class, gml_id, attributes, ST_AsText(ST_SnapToGrid(geometry, 0, 0, 0.0001, 0.0001)) AS g FROM vector_features WHERE version_id = $1 ORDER BY gml_id`,
    [versionId],
  );
  return rows.map((r) => ({ ...r, attributes: typeof r.attributes === 'string' ? JSON.parse(r.attributes) : r.attributes }));
}

describe('GML writer', () => {
  it('takes the property order from the XSD (base type first, geometry where the schema puts it)', () => {
    expect(propertyOrder('ArbrePCRS')).toEqual([
      'dateLeve',
      'idObjet',
      'thematique',
      'qualiteCategorisation',
      'precisionPlanimetrique',
      'precisionAltimetrique',
      'producteur',
      'pointLeve',
      'geometrie',
      'reference',
    ]);
    expect(propertyOrder('EmpriseEchangePCRS').indexOf('geometrie')).toBe(propertyOrder('EmpriseEchangePCRS').indexOf('type') + 1);
    expect(propertyOrder('NomVoiriePCRS').slice(0, 4)).toEqual(['idHabillage', 'thematique', 'habillage', 'geometrie']);
  });
});

describe.each(ENGINES)('exports ($engine)', ({ open }) => {
  let t: TestDatabase;
  let versionId: number;
  const tmp = mkdtempSync(path.join(tmpdir(), 'pcrs-gml-export-'));
  beforeAll(async () => {
    t = await open();
    ({ versionId } = await importVersion(t.db, 'lyon', LYON_FILES.map(fixture)));
  }, 120_000);
  afterAll(async () => t?.dispose());

  it('GML export validates (XSD + CNIG rules) and the round trip gives the same features and attributes', async () => {
    const out = path.join(tmp, 'export.gml');
    const r = await exportVector(t.db, { datasetId: 'vector', versionId, format: 'gml', output: out });
    expect(r.features).toBe(73 + 100 + 125 + 163);
    const report = await validateGmlFile(out, { territoryBbox: LYON_BBOX });
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(report.xsd.valid).toBe(true);
    const again = await importVersion(t.db, 'lyon-roundtrip', [out]);
    expect(again.results[0]?.status, again.results[0]?.reason).toBe('imported');
    expect(await countsByClass(t.db, { versionId: again.versionId })).toEqual(await countsByClass(t.db, { versionId }));
    const a = await snapshot(t, versionId);
    const b = await snapshot(t, again.versionId);
    expect(b).toEqual(a);
    // GDAL reads the same counts from our file.
    const ogr = await ogrCounts(out);
    expect(ogr).toEqual(await countsByClass(t.db, { versionId }));
  });

  it('bbox export, GeoJSON, GeoPackage and DXF (through ogr2ogr)', async () => {
    const ext = await t.db.query<{ x0: number; y0: number; x1: number; y1: number }>(
      `SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 FROM (SELECT ST_Extent(geometry) AS e FROM vector_features WHERE version_id = $1) s`,
      [versionId],
    );
    const e = ext.rows[0] as { x0: number; y0: number; x1: number; y1: number };
    const bbox = [e.x0, e.y0, (e.x0 + e.x1) / 2, (e.y0 + e.y1) / 2] as const;
    const geojson = path.join(tmp, 'area.geojson');
    const r = await exportVector(t.db, { datasetId: 'vector', versionId, bbox, format: 'geojson', output: geojson });
    expect(r.features).toBeGreaterThan(0);
    expect(r.features).toBeLessThan(461);
    const info = await gdal('ogrinfo', ['-ro', '-so', '-al', geojson]);
    expect(info).toMatch(new RegExp(`Feature Count: ${r.features}`));
    const gpkg = path.join(tmp, 'area.gpkg');
    await exportVector(t.db, { datasetId: 'vector', versionId, bbox, format: 'gpkg', output: gpkg });
    const g = await gdal('ogrinfo', ['-ro', '-so', '-al', gpkg]);
    const total = [...g.matchAll(/Feature Count: (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
    expect(total).toBe(r.features);
    expect(g).toMatch(/Lambert-93|RGF93/);
    const dxf = path.join(tmp, 'area.dxf');
    await exportVector(t.db, { datasetId: 'vector', versionId, bbox, format: 'dxf', output: dxf });
    const d = await gdal('ogrinfo', ['-ro', '-so', '-al', dxf]);
    expect(d).toMatch(/Feature Count: [1-9]/);
  });
});
