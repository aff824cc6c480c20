/**
 * The vector PCRS objects a declaration touches (within 1 m), on PGlite and PostgreSQL, over the
 * demo's vector PCRS imported by the streams fixture: a point drawn on a kerb lists that kerb, a
 * declaration about the orthophoto lists none, one far from any object lists none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../context/access.js';
import { streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { ENGINES } from '../test-support/db.js';
import { DeclarationService } from './service.js';

const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;

describe.each(ENGINES)('vector objects touched on $engine', ({ engine, open }) => {
  let f: StreamsFixture;
  let service: DeclarationService;
  beforeAll(async () => {
    f = await streamsFixture({}, { vector: true, ...(engine === 'postgres' ? { open } : {}) });
    service = new DeclarationService(f.ctx);
  }, 240_000);
  afterAll(async () => {
    await f?.dispose();
  });

  it('a point on a line object lists it, with its class and version; another layer or an empty place lists none', async () => {
    const { rows } = await f.t.db.query<{ id: string; class: string; x: number; y: number }>(
      `SELECT id::text, class, ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT id, class, ST_StartPoint(ST_GeometryN(ST_Force2D(geometry), 1)) AS p FROM vector_features WHERE GeometryType(geometry) IN ('LINESTRING', 'MULTILINESTRING') ORDER BY id LIMIT 1) s`,
    );
    const line = rows[0];
    expect(line).toBeDefined();
    const base = { type: 'error' as const, title: 'Bordure déplacée', description: 'La bordure a été reculée.' };
    // 50 cm beside the line's first vertex: within the 1 m tolerance.
    const near = await service.create(OPERATOR, { ...base, geometry: { type: 'Point', coordinates: [Number(line?.x) + 0.5, Number(line?.y)], crs: L93 } });
    expect(near.vectorObjects).toContainEqual({ id: Number(line?.id), class: line?.class, gmlId: expect.anything(), version: 'demo' });
    const aboutOrtho = await service.create(OPERATOR, { ...base, layer: { dataset: 'ortho', version: '2025' }, geometry: { type: 'Point', coordinates: [Number(line?.x), Number(line?.y)], crs: L93 } });
    expect(aboutOrtho.vectorObjects).toEqual([]);
    const empty = await service.create(OPERATOR, { ...base, geometry: { type: 'Point', coordinates: [600_000, 6_400_000], crs: L93 } });
    expect(empty.vectorObjects).toEqual([]);
    expect((await service.read(near.id)).vectorObjects.length).toBe(near.vectorObjects.length);
  });
});
