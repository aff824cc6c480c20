import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_BBOX, streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';

/**
 * QGIS itself (Debian's QGIS 3.22 Python bindings, headless) as the client of every stream: the
 * WMTS, WMS and XYZ raster providers and the WFS and OAPIF vector providers, as a QGIS user adds
 * them. Runs where `python3-qgis` and `qgis-providers` are installed (CI installs them); skipped
 * elsewhere, saying so.
 */
const PYTHON = '/usr/bin/python3';
const hasQgis = (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import qgis.core'], { stdio: 'ignore', timeout: 60_000, env: { ...process.env, QT_QPA_PLATFORM: 'offscreen' } });
    return true;
  } catch {
    return false;
  }
})();
if (!hasQgis) console.warn('qgis-client.test: QGIS Python bindings not found, skipped (apt-get install python3-qgis qgis-providers)');

interface LayerReport {
  valid: boolean;
  count?: number;
  colours?: number;
  firstVertex?: [number, number];
  firstAttributes?: Record<string, string>;
}

describe.skipIf(!hasQgis)('QGIS 3 reads every stream unmodified', () => {
  let f: StreamsFixture;
  let app: FastifyInstance;
  let work: string;
  let report: Record<'wmts' | 'wms' | 'xyz' | 'wfs' | 'oapif', LayerReport>;
  let imported: Record<string, number>;

  beforeAll(async () => {
    // The orthophoto, and the vector PCRS of the same synthetic town over it.
    f = await streamsFixture({}, { vector: true });
    work = mkdtempSync(path.join(tmpdir(), 'pcrs-qgis-'));
    imported = f.vectorCounts;
    app = f.app;
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const script = fileURLToPath(new URL('./qgis-client.py', import.meta.url));
    const area = [575_050, 6_373_450, 575_350, 6_373_750].join(',');
    const { stdout } = await promisify(execFile)(PYTHON, [script, `http://127.0.0.1:${port}`, work, area], { timeout: 240_000, maxBuffer: 1 << 20 });
    report = JSON.parse(stdout.trim().split('\n').pop() as string) as typeof report;
  }, 420_000);

  afterAll(async () => {
    await f?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('WMTS (2154_5cm), WMS and XYZ layers are valid and render the orthophoto', () => {
    for (const name of ['wmts', 'wms', 'xyz'] as const) {
      expect(report[name].valid, name).toBe(true);
      expect(report[name].colours ?? 0, `${name}: distinct colours of the rendering`).toBeGreaterThan(200);
    }
  });

  it('WFS 2.0 and OGC API Features layers are valid, with every feature and its attributes', () => {
    expect(report.wfs.valid).toBe(true);
    expect(report.wfs.count).toBe(imported.ArbrePCRS);
    expect(report.wfs.firstAttributes?.thematique).toBe('06');
    const [x, y] = report.wfs.firstVertex ?? [0, 0];
    expect(x).toBeGreaterThanOrEqual(BASE_BBOX[0]);
    expect(x).toBeLessThanOrEqual(BASE_BBOX[2]);
    expect(y).toBeGreaterThanOrEqual(BASE_BBOX[1]);
    expect(y).toBeLessThanOrEqual(BASE_BBOX[3]);
    expect(report.oapif.valid).toBe(true);
    expect(report.oapif.count).toBe(imported.LimiteVoiriePCRS);
    expect(report.oapif.firstAttributes?.thematique).toBe('03');
  });
});
