import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { describe, expect, it } from 'vitest';
import { encodeTile, MVT_LAYER } from './mvt.js';

describe('encodeTile', () => {
  it('encodes what clipping makes of features: geometry collections (also empty) and empty geometries', () => {
    const bbox: [number, number, number, number] = [0, 0, 100, 100];
    const tile = encodeTile(bbox, [
      { id: 1, properties: { class: 'A' }, geometry: { type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: [50, 50] }, { type: 'LineString', coordinates: [[10, 10], [90, 90]] }] } },
      { id: 2, properties: { class: 'B' }, geometry: { type: 'GeometryCollection', geometries: [] } },
      { id: 3, properties: { class: 'C' }, geometry: { type: 'LineString', coordinates: [] } },
      { id: 4, properties: { class: 'D' }, geometry: { type: 'Point', coordinates: [25, 75] } },
    ]);
    const layer = new VectorTile(new PbfReader(tile)).layers[MVT_LAYER]!;
    const got: Array<[string, number[][]]> = [];
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      got.push([String(f.properties['class']), f.loadGeometry().flat().map((p) => [p.x, p.y])]);
    }
    // D at (25, 75) → tile (1024, 1024); A's point at the centre and its line; B and C have nothing to draw.
    expect(got).toContainEqual(['D', [[1024, 1024]]]);
    expect(got.filter(([c]) => c === 'A').length).toBeGreaterThanOrEqual(2);
    expect(got.some(([c]) => c === 'B' || c === 'C')).toBe(false);
  });
});
