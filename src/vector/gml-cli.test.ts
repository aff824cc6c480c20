// `pcrs gml …` as users run it (the built CLI in a child process, embedded PGlite).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { validateGmlFile } from './gml/validate.js';
import { fixture, LYON_BBOX, LYON_FILES } from './test-support/vector-fixture.js';

const CLI = fileURLToPath(new URL('../../bin/pcrs.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-gml-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The Lyon samples are outside the Lot: a configuration for the Rhône.
const config = path.join(dir, 'pcrs.json');
writeFileSync(config, JSON.stringify({ territory: { code: '69', name: 'Rhône', extent: LYON_BBOX, ccZone: 'EPSG:3946' } }));
const env = { PCRS_DATA_DIR: path.join(dir, 'data'), PCRS_CONFIG: config, DATABASE_URL: '', PCRS_LOG_LEVEL: 'silent' };

function pcrs(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, ...extra }, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pcrs gml', () => {
  it('validate: text and JSON reports, exit 1 on errors (outside the configured territory), 0 when valid', () => {
    const ok = pcrs(['gml', 'validate', fixture(LYON_FILES[0] as string), '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, featureCount: 73 });
    const lot = pcrs(['gml', 'validate', fixture(LYON_FILES[0] as string)], { PCRS_CONFIG: '' });
    expect(lot.code).toBe(1);
    expect(lot.stdout).toMatch(/outside-territory/);
    const bad = path.join(dir, 'bad.gml');
    writeFileSync(bad, 'pas du XML');
    const r = pcrs(['gml', 'validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/not-xml/);
    // Read in a worker thread: its errors still reach the user as messages, not stack traces.
    const missing = pcrs(['gml', 'validate', path.join(dir, 'absent.gml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^pcrs gml: cannot read .*absent\.gml/);
    expect(missing.stderr).not.toMatch(/\bat \w+ \(/);
    expect(pcrs(['gml']).code).toBe(64);
    expect(pcrs(['gml', 'import', fixture(LYON_FILES[0] as string)]).code).toBe(64);
  });

  it('import a directory, reject a bad file (exit 2, nothing kept), export a bbox as valid GML', async () => {
    const delivery = path.join(dir, 'delivery');
    mkdirSync(delivery);
    for (const f of LYON_FILES.slice(0, 2)) writeFileSync(path.join(delivery, f), (await import('node:fs')).readFileSync(fixture(f)));
    const imp = pcrs(['gml', 'import', delivery, '--version', '2020', '--date', '2020-07-16']);
    expect(imp.code, imp.stderr + imp.stdout).toBe(0);
    expect(imp.stdout).toMatch(/2 of 2 file\(s\) imported into version 2020/);
    expect(imp.stdout).toMatch(/LimiteVoiriePCRS\s+\d+/);
    const bad = path.join(dir, 'bad2.gml');
    writeFileSync(bad, '<?xml version="1.0"?><PlanCorpsRueSimplifie xmlns="http://example.com/x" version="2.0"/>');
    const rej = pcrs(['gml', 'import', bad, '--version', '2021']);
    expect(rej.code).toBe(2);
    expect(rej.stdout).toMatch(/rejected/);
    const out = path.join(dir, 'out.gml');
    const exp = pcrs(['gml', 'export', '--version', '2020', '--bbox', LYON_BBOX.join(','), '--format', 'gml', '-o', out]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stdout).toMatch(/173 feature\(s\) written/);
    const report = await validateGmlFile(out, { territoryBbox: LYON_BBOX });
    expect(report.valid).toBe(true);
    expect(report.featureCount).toBe(173);
  }, 180_000);
});
