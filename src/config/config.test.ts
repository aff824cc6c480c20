import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../util/errors.js';
import { loadConfig, LOT_TERRITORY } from './config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-config-'));
function file(name: string, content: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
}

describe('configuration', () => {
  it('defaults to the Lot, ./data, port 8080 and the embedded database', () => {
    const c = loadConfig({});
    expect(c.territory).toEqual(LOT_TERRITORY);
    expect(c.territory.code).toBe('46');
    expect(c.territory.ccZone).toBe('EPSG:3945');
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.port).toBe(8080);
    expect(c.databaseUrl).toBeUndefined();
  });

  it('layers defaults ← file ← environment ← overrides', () => {
    const f = file('c.yaml', 'port: 9000\nhost: 0.0.0.0\ndataDir: /srv/pcrs\n');
    const c = loadConfig({ PCRS_CONFIG: f, PORT: '9100' }, { host: '10.0.0.1' });
    expect(c.port).toBe(9100);
    expect(c.host).toBe('10.0.0.1');
    expect(c.dataDir).toBe('/srv/pcrs');
  });

  it('reads JSON files and another département without code changes', () => {
    const f = file(
      'c.json',
      JSON.stringify({ territory: { code: '2A', name: 'Corse-du-Sud', extent: [1150000, 6040000, 1240000, 6170000], ccZone: 'EPSG:3942' } }),
    );
    const c = loadConfig({ PCRS_CONFIG: f });
    expect(c.territory.code).toBe('2A');
    expect(c.territory.crs).toBe('EPSG:2154');
  });

  it('names the key, the reason and the source of an invalid value', () => {
    const e = errorOf(() => loadConfig({ PORT: 'eighty' }));
    expect(e.code).toBe('invalid-config');
    expect(e.message).toMatch(/port:.*\(from environment variable PORT\)/);
    expect(e.exitCode).toBe(78);
  });

  it('rejects an unknown key (a typo) from the file', () => {
    const f = file('typo.yaml', 'prot: 8080\n');
    const e = errorOf(() => loadConfig({ PCRS_CONFIG: f }));
    expect(e.message).toMatch(/prot/);
  });

  it('rejects a bad territory with the nested key path', () => {
    const f = file('bad.yaml', "territory:\n  code: '46'\n  name: Lot\n  extent: [628000, 6346000, 530000, 6442000]\n  ccZone: 'EPSG:2154'\n");
    const e = errorOf(() => loadConfig({ PCRS_CONFIG: f }));
    expect(e.message).toMatch(/territory\.extent/);
    expect(e.message).toMatch(/territory\.ccZone: must be one of EPSG:3942/);
  });

  it('rejects a DATABASE_URL that is not postgres, a missing or malformed file', () => {
    expect(errorOf(() => loadConfig({ DATABASE_URL: 'mysql://x' })).message).toMatch(/databaseUrl: must be a postgres/);
    expect(errorOf(() => loadConfig({ PCRS_CONFIG: path.join(dir, 'nope.yaml') })).code).toBe('config-file-unreadable');
    expect(errorOf(() => loadConfig({ PCRS_CONFIG: file('broken.json', '{ "port": ') })).code).toBe('config-file-invalid');
    expect(errorOf(() => loadConfig({ PCRS_CONFIG: file('list.yaml', '- a\n- b\n') })).message).toMatch(/must contain an object/);
  });

  it('reads booleans from the environment strictly', () => {
    expect(loadConfig({ PCRS_DEMO: 'false' }).demo.enabled).toBe(false);
    expect(errorOf(() => loadConfig({ PCRS_DEMO: 'maybe' })).message).toMatch(/demo\.enabled/);
  });
});
