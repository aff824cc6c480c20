import { describe, expect, it } from 'vitest';
import { generateKey, hashSecret, parseKey, secretMatches } from './keys.js';
import { perimeterInput, perimeterOf, touches } from './perimeter.js';

describe('perimeters in memory', () => {
  // A square of 100 m with a 40 m hole in the middle, and a second square far away.
  const p = perimeterOf([
    [
      [[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]],
      [[30, 30], [70, 30], [70, 70], [30, 70], [30, 30]],
    ],
    [[[1000, 1000], [1010, 1000], [1010, 1010], [1000, 1010], [1000, 1000]]],
  ]);

  it('an area touches the perimeter when it overlaps it, crosses its edge or contains it; not in a hole or outside', () => {
    expect(touches(p, [10, 10, 20, 20])).toBe(true); // inside
    expect(touches(p, [90, 90, 110, 110])).toBe(true); // across the edge
    expect(touches(p, [-50, -50, 200, 200])).toBe(true); // around it
    expect(touches(p, [40, 40, 60, 60])).toBe(false); // in the hole
    expect(touches(p, [200, 200, 300, 300])).toBe(false); // outside the bbox
    expect(touches(p, [500, 0, 600, 100])).toBe(false); // inside the bbox of both polygons, touching neither
    expect(touches(p, [1005, 1005, 1006, 1006])).toBe(true); // the second polygon
  });

  it('reads GeoJSON polygons (WGS84 unless EPSG:2154 is named) and refuses anything else', () => {
    const ring = [[1, 44], [2, 44], [2, 45], [1, 45], [1, 44]];
    expect(perimeterInput({ type: 'Polygon', coordinates: [ring] }).srid).toBe(4326);
    expect(perimeterInput({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] } }] })).toEqual({ geojson: JSON.stringify({ type: 'MultiPolygon', coordinates: [[ring]] }), srid: 4326 });
    expect(perimeterInput({ type: 'Polygon', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } }, coordinates: [ring] }).srid).toBe(2154);
    for (const bad of [null, 'POLYGON((1 44, 2 44, 2 45, 1 44))', { type: 'Point', coordinates: [1, 44] }, { type: 'Polygon', coordinates: [[[1, 44], [2, 44]]] }, { type: 'Polygon', coordinates: [[[1, 'x'], [2, 44], [2, 45], [1, 44]]] }, { type: 'Polygon', crs: { type: 'name', properties: { name: 'EPSG:3857' } }, coordinates: [ring] }]) {
      expect(() => perimeterInput(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'invalid-perimeter', status: 400 }));
    }
  });
});

describe('key text', () => {
  it('pcrs_<12>_<43>, parsed back, the secret matched by its keyed hash only with the right server secret', () => {
    const k = generateKey();
    expect(k.text).toMatch(/^pcrs_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(parseKey(k.text)).toEqual({ prefix: k.prefix, secret: k.secret });
    for (const bad of ['', 'pcrs__', `pcrs_${k.prefix}_${k.secret}x`, `PCRS_${k.prefix}_${k.secret}`, `pcrs_${k.prefix}-${k.secret}`, `pcrs_${k.prefix.slice(1)}!_${k.secret}`]) expect(parseKey(bad)).toBeNull();
    const server = Buffer.from('s'.repeat(32));
    const hash = hashSecret(server, k.secret);
    expect(secretMatches(server, k.secret, hash)).toBe(true);
    expect(secretMatches(Buffer.from('t'.repeat(32)), k.secret, hash)).toBe(false);
    expect(secretMatches(server, generateKey().secret, hash)).toBe(false);
    expect(new Set(Array.from({ length: 200 }, () => generateKey().prefix)).size).toBe(200);
  });
});
