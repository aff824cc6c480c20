/**
 * Bounded memory of the validator (duplicate ids, xlink references, spans) on large generated
 * files, with injected duplicates and dangling references that must be found at their lines.
 *
 * Default run: ~310 k features (ArbrePCRS only, ~190 MB, XSD off: xmllint has its own bound).
 * `PCRS_SLOW_TESTS=1` adds a ~2 GB file (~2.2 M mixed features).
 * The heap is sampled after a full GC every 20 000 features; the identifier tables are typed
 * arrays (ArrayBuffers, outside the V8 heap) and are measured separately. The default case is
 * also validated in a child process limited to a 96 MB heap (`--max-old-space-size=96`; the
 * validator is bundled for it with rolldown): with the former maps of ids it ran out of memory.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSyntheticPcrsFile } from './synthetic.js';
import { validateGmlFile } from './validate.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const dir = mkdtempSync(join(tmpdir(), 'pcrs-vmem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Injected {
  dupIdObjet: { line: number; id: string }[];
  dupGmlId: { line: number; id: string }[];
  dangling: { line: number; href: string }[];
}

/** Generates the file with defects injected at fixed feature indexes (relative to `n`, the expected count). */
async function generate(path: string, bytes: number, n: number, kinds?: number[]) {
  const inj: Injected = { dupIdObjet: [], dupGmlId: [], dangling: [] };
  const a = Math.floor(n * 0.1);
  const b = Math.floor(n * 0.5);
  const c = Math.floor(n * 0.9);
  const pick = (i: number) => i - (i % (kinds?.length ?? 4)) + ((kinds?.length ?? 4) === 4 ? 1 : 0); // an ArbrePCRS index
  const targets = new Set([pick(a), pick(b), pick(c), pick(a) + 4 * 1000, pick(b) + 4 * 1000, pick(c) + 8]);
  const written = await writeSyntheticPcrsFile(path, bytes, 46, {
    ...(kinds ? { kinds } : {}),
    edit: (i, xml, line) => {
      if (!targets.has(i)) return xml;
      if (i === pick(b)) {
        // idObjet of an earlier Arbre (line + 2: the idObjet line of an ArbrePCRS).
        const src = pick(a);
        inj.dupIdObjet.push({ line: line + 2, id: `ido_f${src}` });
        return xml.replace(`<idObjet>ido_f${i}</idObjet>`, `<idObjet>ido_f${src}</idObjet>`);
      }
      if (i === pick(c)) {
        const src = pick(b) + 4 * 1000;
        inj.dupIdObjet.push({ line: line + 2, id: `ido_f${src}` });
        return xml.replace(`<idObjet>ido_f${i}</idObjet>`, `<idObjet>ido_f${src}</idObjet>`);
      }
      if (i === pick(c) + 8) {
        inj.dupGmlId.push({ line, id: `f${pick(a) + 4 * 1000}` });
        return xml.replace(`gml:id="f${i}"`, `gml:id="f${pick(a) + 4 * 1000}"`).replace(`gml:id="f${i}-g"`, `gml:id="f${i}-gx"`);
      }
      if (i === pick(a)) {
        // A dangling reference and a forward one that resolves later.
        inj.dangling.push({ line, href: '#nowhere-1' });
        return xml.replace('<reference>Platanus</reference>', `<reference xlink:href="#nowhere-1"/><reference xlink:href="#f${pick(c)}"/>`);
      }
      if (i === pick(a) + 4 * 1000) {
        // A backward reference that resolves, and a dangling bare id.
        inj.dangling.push({ line, href: 'gone.2' });
        return xml.replace('<reference>Platanus</reference>', `<reference xlink:href="#f${pick(a)}"/><reference xlink:href="gone.2"/>`);
      }
      return xml;
    },
  });
  return { written, inj };
}

async function validateMeasuring(path: string, every: number) {
  gc();
  const base = process.memoryUsage();
  let peakHeap = 0;
  let peakBuffers = 0;
  let n = 0;
  const report = await validateGmlFile(path, {
    xsd: false,
    onFeature: () => {
      if (++n % every === 0) {
        gc();
        const m = process.memoryUsage();
        peakHeap = Math.max(peakHeap, m.heapUsed - base.heapUsed);
        peakBuffers = Math.max(peakBuffers, m.arrayBuffers - base.arrayBuffers);
      }
    },
  });
  return { report, peakHeap, peakBuffers };
}

/** Validates `file` in a child process with a 96 MB heap; returns the report. */
async function validateInChild(file: string): Promise<Awaited<ReturnType<typeof validateGmlFile>>> {
  const entry = join(dir, 'entry.ts');
  const validateTs = fileURLToPath(new URL('./validate.ts', import.meta.url));
  writeFileSync(
    entry,
    `import { validateGmlFile } from ${JSON.stringify(validateTs)};\n` +
      `const r = await validateGmlFile(process.argv[2], { xsd: false });\n` +
      `process.stdout.write(JSON.stringify(r));\n`,
  );
  const { build } = await import('rolldown');
  const bundle = join(dir, 'validate-child.mjs');
  await build({ input: entry, platform: 'node', cwd: fileURLToPath(new URL('../../..', import.meta.url)), write: true, logLevel: 'silent', output: { file: bundle, format: 'esm' } });
  const { stdout } = await promisify(execFile)(process.execPath, ['--max-old-space-size=96', bundle, file], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Awaited<ReturnType<typeof validateGmlFile>>;
}

function check(report: Awaited<ReturnType<typeof validateGmlFile>>, written: { features: number; byClass: Record<string, number> }, inj: Injected) {
  expect(report.featureCount).toBe(written.features);
  expect(report.featuresByClass).toEqual(written.byClass);
  const by = (rule: string) => report.findings.filter((f) => f.rule === rule);
  expect(by('duplicate-id-objet').map((f) => [f.line, f.idObjet])).toEqual(inj.dupIdObjet.map((d) => [d.line, d.id]));
  expect(by('duplicate-gml-id').map((f) => [f.line, f.gmlId])).toEqual(inj.dupGmlId.map((d) => [d.line, d.id]));
  expect(by('xlink-unresolved').map((f) => [f.line, f.message])).toEqual(inj.dangling.map((d) => [d.line, `xlink:href '${d.href}' points to no gml:id of this file`]));
  expect(report.summary.byRule['duplicate-id-objet']?.count).toBe(inj.dupIdObjet.length);
  expect(report.summary.byRule['duplicate-gml-id']?.count).toBe(inj.dupGmlId.length);
  expect(report.summary.byRule['xlink-unresolved']?.count).toBe(inj.dangling.length);
}

describe('validateGmlFile memory', () => {
  it('≥ 300 k features: heap bounded, duplicates and dangling references found at their lines', async () => {
    const file = join(dir, 'arbres.gml');
    const { written, inj } = await generate(file, 190_000_000, 305_000, [1]);
    expect(written.features).toBeGreaterThanOrEqual(300_000);
    const started = Date.now();
    const { report, peakHeap, peakBuffers } = await validateMeasuring(file, 20_000);
    console.log(
      `${written.features} features (${(written.bytes / 1e6).toFixed(0)} MB) validated in ${Date.now() - started} ms: ` +
        `peak heap growth ${(peakHeap / 1e6).toFixed(1)} MB, typed arrays ${(peakBuffers / 1e6).toFixed(1)} MB`,
    );
    check(report, written, inj);
    // Maps of ids on the heap needed ~400 B per feature: ~125 MB here.
    expect(peakHeap).toBeLessThan(24 * 1024 * 1024);
    // Two id tables + spans: ≤ ~90 B per feature.
    expect(peakBuffers).toBeLessThan(written.features * 90);
    // Same file, same results, in a process whose heap may not exceed 96 MB.
    check(await validateInChild(file), written, inj);
  }, 600_000);

  it.skipIf(!process.env['PCRS_SLOW_TESTS'])(
    '2 GB file (~2.2 M features): heap bounded',
    async () => {
      const file = join(dir, 'large-2g.gml');
      const { written, inj } = await generate(file, 2_000_000_000, 2_230_000);
      const { report, peakHeap, peakBuffers } = await validateMeasuring(file, 100_000);
      console.log(`2 GB: ${written.features} features, peak heap growth ${(peakHeap / 1e6).toFixed(1)} MB, typed arrays ${(peakBuffers / 1e6).toFixed(1)} MB`);
      check(report, written, inj);
      expect(peakHeap).toBeLessThan(24 * 1024 * 1024);
    },
    3_600_000,
  );
});
