import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPglite, type TestDatabase } from '../test-support/db.js';
import type { PcrsGeometry } from './gml/pcrs-model.js';
import { ewkbHex } from './store.js';

/** Our EWKB encoder against PostGIS' own GeoJSON reader: the same geometries, Z and SRID included. */
describe('ewkbHex', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshPglite();
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  const ring3 = [[0, 0, 1], [10, 0, 2], [10, 10, 3], [0, 0, 1]];
  const cases: PcrsGeometry[] = [
    { type: 'Point', coordinates: [575000.125, 6373400.5] },
    { type: 'Point', coordinates: [575000.125, 6373400.5, 122.25] },
    { type: 'LineString', coordinates: [[1, 2, 3], [4, 5, 6], [7, 8, 9]] },
    { type: 'LineString', coordinates: [[1, 2], [4, 5]] },
    { type: 'Polygon', coordinates: [ring3, [[1, 1, 0], [2, 1, 0], [2, 2, 0], [1, 1, 0]]] },
    { type: 'MultiPoint', coordinates: [[1, 2, 3], [4, 5, 6]] },
    { type: 'MultiLineString', coordinates: [[[1, 2], [3, 4]], [[5, 6], [7, 8], [9, 10]]] },
    { type: 'MultiPolygon', coordinates: [[ring3], [ring3.map(([x, y, z]) => [x! + 20, y!, z!])]] },
    { type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: [1, 2, 3] }, { type: 'LineString', coordinates: [[1, 2, 3], [4, 5, 6]] }] },
  ];

  it.each(cases.map((g) => [g.type, g] as const))('%s is read by PostGIS as the GeoJSON would be', async (_type, g) => {
    const { rows } = await t.db.query<{ a: string; b: string; srid: number }>(
      `SELECT ST_AsEWKT(ST_GeomFromEWKB(decode($1, 'hex'))) AS a, ST_AsEWKT(ST_SetSRID(ST_GeomFromGeoJSON($2), 3945)) AS b, ST_SRID(ST_GeomFromEWKB(decode($1, 'hex'))) AS srid`,
      [ewkbHex(g, 3945), JSON.stringify(g)],
    );
    expect(rows[0]?.a).toBe(rows[0]?.b);
    expect(rows[0]?.srid).toBe(3945);
  });

  it('without an SRID, and with a missing Z in a 3D line (NaN, not a shifted coordinate)', async () => {
    const { rows } = await t.db.query<{ srid: number; n: number; x: number }>(
      `SELECT ST_SRID(g) AS srid, ST_NPoints(g) AS n, ST_X(ST_PointN(g, 2)) AS x FROM (SELECT ST_GeomFromEWKB(decode($1, 'hex')) AS g) s`,
      [ewkbHex({ type: 'LineString', coordinates: [[1, 2, 3], [4, 5]] }, null)],
    );
    expect(rows[0]).toEqual({ srid: 0, n: 2, x: 4 });
  });
});
