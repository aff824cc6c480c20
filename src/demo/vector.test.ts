import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateGmlFile } from '../vector/gml/validate.js';
import { CAHORS_CENTRE, getScene } from './synthetic-scene.js';
import { offsetLine, writeDemoGml } from './vector.js';

const work = mkdtempSync(path.join(tmpdir(), 'pcrs-demo-vector-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('demo vector PCRS', () => {
  it('draws kerbs, building outlines and trees of the demo town as CNIG GML that passes the XSD and the CNIG rules', async () => {
    const file = path.join(work, 'demo.gml');
    const bbox: [number, number, number, number] = [574_600, 6_373_600, 575_000, 6_374_000];
    const { features } = await writeDemoGml(getScene({ seed: 46, centre: CAHORS_CENTRE }), bbox, file);
    const report = await validateGmlFile(file, { territoryBbox: [539_000, 6_346_000, 637_000, 6_439_000] });
    expect(report.valid, JSON.stringify(report.findings.slice(0, 3))).toBe(true);
    expect(report.xsd.skipped).toBeUndefined();
    expect(report.summary.warnings).toBe(0);
    expect(report.featureCount).toBe(features);
    for (const cls of ['LimiteVoiriePCRS', 'FacadePCRS', 'ArbrePCRS']) expect(report.featuresByClass[cls] ?? 0, cls).toBeGreaterThan(10);
  });

  it('offsets a polyline sideways, left of the direction of travel for a positive distance', () => {
    expect(offsetLine([[0, 0], [10, 0]], 2)).toEqual([[0, 2], [10, 2]]);
    expect(offsetLine([[0, 0], [0, 10]], 1)).toEqual([[-1, 0], [-1, 10]]);
    expect(offsetLine([[1, 1], [1, 1]], 1)).toBeNull();
  });
});
