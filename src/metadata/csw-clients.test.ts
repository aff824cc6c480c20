import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transformBbox } from '../grid/crs.js';
import { freshPglite } from '../test-support/db.js';
import { BBOX_2025, metadataFixture, type MetadataFixture } from './test-support/fixture.js';

/**
 * The CSW as real harvesters' clients see it, against a listening server: OWSLib's
 * CatalogueServiceWeb (what pycsw/GeoNode/QGIS MetaSearch use: GetCapabilities by GET, GetRecords
 * by POST XML with Filter and CQL constraints, GetRecordById by GET, ISO 19139 output) and GDAL's
 * CSW driver (`ogrinfo CSW:…`, POST GetRecords with hits then results, -where as a Filter).
 * Skipped, saying so, where owslib or GDAL's CSW driver is missing.
 */
const PYTHON = '/usr/bin/python3';
const run = promisify(execFile);
const has = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
};
const hasOwslib = has(PYTHON, ['-c', 'from owslib.csw import CatalogueServiceWeb']);
const hasGdalCsw = (() => {
  try {
    return /\bCSW\b/.test(execFileSync('ogrinfo', ['--formats'], { encoding: 'utf8', timeout: 60_000 }));
  } catch {
    return false;
  }
})();
if (!hasOwslib) console.warn('csw-clients.test: owslib not found, its test is skipped (apt-get install python3-owslib)');
if (!hasGdalCsw) console.warn("csw-clients.test: GDAL's CSW driver not found, its test is skipped (apt-get install gdal-bin)");

interface OwslibReport {
  title: string;
  version: string;
  operations: string[];
  like: { matches: number; returned: number; records: Record<string, { title: string; type: string; references: string[]; bbox: string[] | null }> };
  pages: string[][];
  iso: Record<string, { title: string; keywords: string[]; bbox: string[] | null; crs: string; contact: string; online: string[]; lineage: string }>;
  cql: string[];
  byId: Record<string, { title: string }>;
  byIdIso: string[];
  bad: { code: string; locator: string; text: string } | null;
}

describe.skipIf(!hasOwslib && !hasGdalCsw)('CSW clients against a live server', () => {
  let f: MetadataFixture;
  let url = '';

  beforeAll(async () => {
    f = await metadataFixture(() => freshPglite());
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    const address = f.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 300_000);

  afterAll(async () => {
    await f?.dispose();
  });

  it.skipIf(!hasOwslib)("OWSLib's CatalogueServiceWeb: capabilities, a text filter, paging, ISO records, CQL, GetRecordById, an ExceptionReport", async () => {
    const script = fileURLToPath(new URL('./test-support/owslib-client.py', import.meta.url));
    const { stdout } = await run(PYTHON, [script, url, 'pcrs-46.ortho.2025'], { timeout: 180_000, maxBuffer: 8 << 20 });
    const r = JSON.parse(stdout.trim().split('\n').pop() as string) as OwslibReport;
    expect(r.version).toBe('2.0.2');
    expect(r.title).toContain('PCRS Lot (46)');
    expect(r.operations).toEqual(['GetCapabilities', 'GetRecords', 'GetRecordById']);
    expect(r.like.matches).toBe(2);
    expect(Object.keys(r.like.records).sort()).toEqual(['pcrs-46.ortho', 'pcrs-46.ortho.maj-2026']);
    const maj = r.like.records['pcrs-46.ortho.maj-2026'];
    expect(maj?.type).toBe('dataset');
    expect(maj?.references).toContain(`${url}/wmts/1.0.0/WMTSCapabilities.xml`);
    expect(r.pages).toEqual([['pcrs-46.ortho', 'pcrs-46.ortho.maj-2026'], ['pcrs-46.ortho.2025', 'pcrs-46.vector'], ['pcrs-46.vector.demo']]);
    expect(Object.keys(r.iso)).toHaveLength(5);
    const iso = r.iso['pcrs-46.ortho.2025'];
    expect(iso?.crs).toBe('EPSG:2154');
    expect(iso?.contact).toBe('pcrs@example.fr');
    expect(iso?.online).toContain(`${url}/stac/collections/ortho-2025`);
    expect(iso?.lineage).toContain('Millésime 2025');
    const [w, s, e, n] = transformBbox('EPSG:2154', 'OGC:CRS84', [...BBOX_2025]);
    expect((iso?.bbox ?? []).map(Number)).toEqual([w, s, e, n].map((v) => Number(v.toFixed(6))));
    expect(r.cql).toEqual(['pcrs-46.ortho', 'pcrs-46.ortho.2025', 'pcrs-46.vector', 'pcrs-46.vector.demo']);
    expect(Object.keys(r.byId)).toEqual(['pcrs-46.ortho.2025']);
    expect(r.byIdIso).toEqual(['pcrs-46.ortho.2025']);
    expect(r.bad).toMatchObject({ code: 'InvalidParameterValue', locator: 'constraint' });
  }, 240_000);

  it.skipIf(!hasGdalCsw)("GDAL's CSW driver lists the records with their WGS84 boxes, and filters them by text", async () => {
    const all = await run('ogrinfo', ['-ro', '-al', '-q', `CSW:${url}/csw`], { timeout: 180_000, maxBuffer: 8 << 20 });
    const ids = [...all.stdout.matchAll(/identifier \(String\) = (\S+)/g)].map((m) => m[1]);
    expect(ids).toEqual(['pcrs-46.ortho', 'pcrs-46.ortho.maj-2026', 'pcrs-46.ortho.2025', 'pcrs-46.vector', 'pcrs-46.vector.demo']);
    const [w, s, e, n] = transformBbox('EPSG:2154', 'OGC:CRS84', [...BBOX_2025]).map((v) => Number(v.toFixed(6)));
    expect(all.stdout).toContain(`POLYGON ((${w} ${s},${w} ${n},${e} ${n},${e} ${s},${w} ${s}))`);
    const summary = await run('ogrinfo', ['-ro', '-so', '-al', '-where', "anytext LIKE '%mise à jour%'", `CSW:${url}/csw`], { timeout: 180_000 });
    expect(summary.stdout).toContain('Feature Count: 2');
    const iso = await run('ogrinfo', ['-ro', '-al', '-q', '-oo', 'OUTPUT_SCHEMA=gmd', `CSW:${url}/csw`], { timeout: 180_000, maxBuffer: 8 << 20 });
    expect(iso.stdout.match(/raw_xml \(String\) = <gmd:MD_Metadata/g)).toHaveLength(5);
  }, 240_000);
});
