import { describe, expect, it } from 'vitest';
import { CAHORS_CENTRE, LAYER_ORDER, SHADOW_OPACITY, SyntheticScene, type Bbox, type SceneLayers } from './synthetic-scene.js';

function fingerprint(layers: SceneLayers): string[] {
  return LAYER_ORDER.flatMap((l) => layers[l].map((p) => `${l}:${JSON.stringify(p)}`));
}

/** Without the long road/river strokes, which each query clips to its own runs of segments. */
function fingerprintShort(layers: SceneLayers): string[] {
  return LAYER_ORDER.flatMap((l) => layers[l].filter((p) => p.t !== 'line' || p.pts.length <= 3).map((p) => `${l}:${JSON.stringify(p)}`));
}

const OLD_TOWN: Bbox = [574_700, 6_373_700, 574_900, 6_373_900];

describe('SyntheticScene', () => {
  it('is a pure function of the seed', () => {
    const a = new SyntheticScene({ seed: 7 }).query(OLD_TOWN);
    const b = new SyntheticScene({ seed: 7 }).query(OLD_TOWN);
    const c = new SyntheticScene({ seed: 8 }).query(OLD_TOWN);
    expect(fingerprint(a)).toEqual(fingerprint(b));
    expect(fingerprint(a)).not.toEqual(fingerprint(c));
  });

  it('returns the same primitives, in the same order, whatever the query box around them', () => {
    const scene = new SyntheticScene({ seed: 3 });
    const big = fingerprintShort(scene.query([574_600, 6_373_600, 575_000, 6_374_000]));
    // A fresh scene, so that no cache is shared with the big query.
    const small = fingerprintShort(new SyntheticScene({ seed: 3 }).query(OLD_TOWN));
    const inBig = new Set(big);
    expect(small.length).toBeGreaterThan(500);
    expect(small.filter((p) => !inBig.has(p))).toEqual([]);
    // Same relative order as in the big query.
    const positions = small.map((p) => big.indexOf(p));
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
  });

  it('looks like a town: streets, roofs, trees and shadows in the old town, fields far out', () => {
    const scene = new SyntheticScene({ seed: 46 });
    const town = scene.query(OLD_TOWN);
    expect(town.roadSurface.length).toBeGreaterThan(5);
    expect(town.roof.length).toBeGreaterThan(50);
    expect(town.canopy.length).toBeGreaterThan(20);
    expect(town.shadow.length).toBeGreaterThan(50);
    expect(scene.density(CAHORS_CENTRE)).toBeGreaterThan(0.8);
    expect(scene.density([CAHORS_CENTRE[0] + 6000, CAHORS_CENTRE[1] + 6000])).toBeLessThan(0.2);
    // Anywhere in France works, e.g. far from the centre.
    const country = scene.query([CAHORS_CENTRE[0] + 6000, CAHORS_CENTRE[1] + 6000, CAHORS_CENTRE[0] + 6200, CAHORS_CENTRE[1] + 6200]);
    expect(country.ground.length).toBeGreaterThan(0);
  });

  it('keeps shadow layers to what the renderer can union (opaque polygons and discs)', () => {
    const layers = new SyntheticScene({ seed: 46 }).query(OLD_TOWN);
    for (const layer of Object.keys(SHADOW_OPACITY) as Array<keyof typeof SHADOW_OPACITY>) {
      for (const p of layers[layer]) expect(['poly', 'circle']).toContain(p.t);
    }
  });
});
