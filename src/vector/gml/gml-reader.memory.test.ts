/**
 * Bounded memory of the streaming reader on large generated files.
 *
 * Default run: a ~40 MB file. `PCRS_SLOW_TESTS=1` adds the ~200 MB file (reader + full
 * validation with xmllint), e.g. `PCRS_SLOW_TESTS=1 npx vitest run src/vector/gml/gml-reader.memory.test.ts`.
 * Measured here (2 cores, Node 20): 200 MB / 223 089 features read in ~12 s, post-GC heap growth
 * ~2 MB; full validation (xmllint --stream in parallel) ~18 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { readPcrsGml } from './gml-reader.js';
import { writeSyntheticPcrsFile } from './synthetic.js';
import { validateGmlFile } from './validate.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const dir = mkdtempSync(join(tmpdir(), 'pcrs-mem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads the whole file, sampling the heap after a full GC every `every` features. */
async function readMeasuring(path: string, every: number) {
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  let count = 0;
  const byClass: Record<string, number> = {};
  for await (const f of readPcrsGml(path)) {
    count++;
    byClass[f.class] = (byClass[f.class] ?? 0) + 1;
    if (count % every === 0) {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    }
  }
  return { count, byClass, peakHeapGrowth: peak };
}

describe('readPcrsGml memory', () => {
  it('stays bounded on a 40 MB file (heap growth independent of the file size)', async () => {
    const file = join(dir, 'large-40.gml');
    const written = await writeSyntheticPcrsFile(file, 40_000_000);
    const r = await readMeasuring(file, 5_000);
    expect(r.count).toBe(written.features);
    expect(r.byClass).toEqual(written.byClass);
    // A reader holding the document would need several times 40 MB.
    expect(r.peakHeapGrowth).toBeLessThan(16 * 1024 * 1024);
  }, 120_000);

  it.skipIf(!process.env['PCRS_SLOW_TESTS'])(
    '200 MB file: reader bounded, full validation completes',
    async () => {
      const file = join(dir, 'large-200.gml');
      const written = await writeSyntheticPcrsFile(file, 200_000_000);
      const started = Date.now();
      const r = await readMeasuring(file, 20_000);
      const readMs = Date.now() - started;
      expect(r.count).toBe(written.features);
      expect(r.peakHeapGrowth).toBeLessThan(16 * 1024 * 1024);
      const v0 = Date.now();
      const report = await validateGmlFile(file, { territoryBbox: [530000, 6330000, 655000, 6445000] });
      console.log(
        `200 MB: ${r.count} features read in ${readMs} ms (${(written.bytes / 1e6 / (readMs / 1000)).toFixed(1)} MB/s), ` +
          `peak heap growth ${(r.peakHeapGrowth / 1e6).toFixed(1)} MB; validation ${Date.now() - v0} ms (xmllint ${report.xsd.durationMs} ms)`,
      );
      expect(report.valid).toBe(true);
      expect(report.featureCount).toBe(written.features);
    },
    600_000,
  );
});
