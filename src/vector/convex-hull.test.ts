import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPglite, type TestDatabase } from '../test-support/db.js';
import { ConvexHullAccumulator } from './convex-hull.js';

/** The streamed hull against PostGIS' ST_ConvexHull of the same points. */
describe('ConvexHullAccumulator', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshPglite();
  }, 120_000);
  afterAll(async () => t?.dispose());

  const hullOf = (points: Array<[number, number]>) => {
    const acc = new ConvexHullAccumulator();
    for (const [x, y] of points) acc.add(x, y);
    return acc.result();
  };
  const postgis = async (points: Array<[number, number]>, ours: unknown) => {
    const { rows } = await t.db.query<{ same: boolean; type: string; theirs: string; diff: number }>(
      `WITH p AS (SELECT ST_ConvexHull(ST_GeomFromGeoJSON($1)) AS g), o AS (SELECT ST_GeomFromGeoJSON($2) AS g)
       SELECT ST_Equals(p.g, o.g) AS same, GeometryType(p.g) AS type, ST_AsText(p.g) AS theirs,
              ST_Area(ST_SymDifference(p.g, o.g)) AS diff FROM p, o`,
      [JSON.stringify({ type: 'MultiPoint', coordinates: points }), JSON.stringify(ours)],
    );
    return rows[0] as { same: boolean; type: string; theirs: string; diff: number };
  };

  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;

  it('a cloud read in a sweep (as a tiled file is): the hull PostGIS computes', async () => {
    // 40 000 points walking east across 5 km, as the features of a file ordered by dalle.
    const points: Array<[number, number]> = [];
    for (let i = 0; i < 40_000; i++) points.push([574000 + i * 0.125 + random() * 30, 6373000 + random() * 2000]);
    const ours = hullOf(points);
    expect(ours?.type).toBe('Polygon');
    const r = await postgis(points, ours);
    expect(r.same, r.theirs).toBe(true);
  });

  it('a round area (thousands of hull vertices) and duplicated points', async () => {
    const points: Array<[number, number]> = [];
    for (let i = 0; i < 6000; i++) {
      const a = (i / 6000) * 2 * Math.PI;
      points.push([575000 + 1000 * Math.cos(a), 6374000 + 1000 * Math.sin(a)], [575000 + 500 * random(), 6374000 + 500 * random()]);
    }
    points.push(...points.slice(0, 100));
    const ours = hullOf(points);
    const r = await postgis(points, ours);
    expect(r.same, r.theirs).toBe(true);
    expect(ours?.type === 'Polygon' && ours.coordinates[0]?.length).toBe(6001);
  });

  it('degenerate inputs: one point, collinear points, nothing, non-finite values ignored', async () => {
    expect(hullOf([])).toBeNull();
    expect(hullOf([[1, 2], [1, 2]])).toEqual({ type: 'Point', coordinates: [1, 2] });
    const line: Array<[number, number]> = [[0, 0], [2, 2], [1, 1], [5, 5], [3, 3]];
    const ours = hullOf(line);
    expect(ours).toEqual({ type: 'LineString', coordinates: [[0, 0], [5, 5]] });
    const r = await postgis(line, ours);
    expect(r.type).toBe('LINESTRING');
    expect(r.same).toBe(true);
    const acc = new ConvexHullAccumulator();
    acc.add(Number.NaN, 1);
    acc.add(1, Number.POSITIVE_INFINITY);
    expect(acc.result()).toBeNull();
  });
});
