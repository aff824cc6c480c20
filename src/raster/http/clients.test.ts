import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execTool } from '../../util/exec.js';
import { gdal, psnr } from '../../test-support/gdal.js';
import { streamsFixture, type StreamsFixture } from '../test-support/streams-fixture.js';

/**
 * Real clients against a listening server: GDAL's WMTS and WMS drivers (what QGIS uses) and
 * OpenLayers' WMTSCapabilities parser in Chromium. Images are compared with a gdalwarp of the
 * source dalles over the same window.
 */
let f: StreamsFixture;
let base: string;
let work: string;
// A 100 m window across the dalle edge x = 575 200, south of the update (2025 data only).
const WINDOW = [575_150, 6_373_450, 575_250, 6_373_550] as const;

const gdalEnv = () => ({ ...process.env, GDAL_DEFAULT_WMS_CACHE_PATH: path.join(work, 'gdalwmscache'), GDAL_HTTP_TIMEOUT: '60', CPL_DEBUG: 'OFF' });

async function gdalClient(tool: string, args: string[]): Promise<string> {
  const r = await execTool(tool, args, { timeoutMs: 120_000, env: gdalEnv() });
  if (r.code !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  f = await streamsFixture();
  await f.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = f.app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  work = mkdtempSync(path.join(tmpdir(), 'pcrs-clients-'));
  // Reference: the source dalles warped onto the window at 5 cm (no resampling: same lattice).
  await gdal('gdalwarp', ['-q', '-te', ...WINDOW.map(String), '-tr', '0.05', '0.05', ...f.baseFiles, path.join(work, 'ref.tif')]);
  await gdal('gdal_translate', ['-q', '-of', 'PNG', '-b', '1', '-b', '2', '-b', '3', path.join(work, 'ref.tif'), path.join(work, 'ref.png')]);
}, 300_000);

afterAll(async () => {
  await f?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('GDAL as a client', () => {
  it('gdalinfo lists the layers and tile matrix sets of the WMTS capabilities', async () => {
    const out = await gdalClient('gdalinfo', [`WMTS:${base}/wmts/1.0.0/WMTSCapabilities.xml`]);
    for (const layer of ['PCRS.ORTHO', 'PCRS.ORTHO.2025', 'PCRS.ORTHO.maj-2026']) expect(out).toContain(`layer=${layer},`);
    expect(out).toContain('tilematrixset=2154_5cm');
    expect(out).toContain('tilematrixset=PM');
  });

  it('gdal_translate from the WMTS (2154_5cm) reproduces the source area', async () => {
    const out = path.join(work, 'wmts.png');
    await gdalClient('gdal_translate', ['-q', '-of', 'PNG', '-b', '1', '-b', '2', '-b', '3', '-projwin', String(WINDOW[0]), String(WINDOW[3]), String(WINDOW[2]), String(WINDOW[1]), `WMTS:${base}/wmts/1.0.0/WMTSCapabilities.xml,layer=PCRS.ORTHO.2025,tilematrixset=2154_5cm`, out]);
    const info = JSON.parse(await gdal('gdalinfo', ['-json', out])) as { size: number[] };
    expect(info.size).toEqual([2000, 2000]);
    expect(await psnr(out, path.join(work, 'ref.png'))).toBeGreaterThanOrEqual(35);
  });

  it('gdal_translate from the WMS 1.3.0 reproduces the source area', async () => {
    const xml = path.join(work, 'wms.xml');
    writeFileSync(
      xml,
      `<GDAL_WMS><Service name="WMS"><Version>1.3.0</Version><ServerUrl>${base}/wms?</ServerUrl><CRS>EPSG:2154</CRS><ImageFormat>image/png</ImageFormat><Layers>PCRS.ORTHO.2025</Layers><Styles></Styles></Service>` +
        `<DataWindow><UpperLeftX>575000</UpperLeftX><UpperLeftY>6373800</UpperLeftY><LowerRightX>575400</LowerRightX><LowerRightY>6373400</LowerRightY><SizeX>8000</SizeX><SizeY>8000</SizeY></DataWindow>` +
        `<Projection>EPSG:2154</Projection><BandsCount>3</BandsCount><BlockSizeX>1024</BlockSizeX><BlockSizeY>1024</BlockSizeY></GDAL_WMS>`,
    );
    const out = path.join(work, 'wms.png');
    await gdalClient('gdal_translate', ['-q', '-of', 'PNG', '-projwin', String(WINDOW[0]), String(WINDOW[3]), String(WINDOW[2]), String(WINDOW[1]), xml, out]);
    expect(await psnr(out, path.join(work, 'ref.png'))).toBeGreaterThanOrEqual(35);
  });

  it('gdal_translate from the WMS with a WMS: URL in EPSG:4326 (lat/lon axis order) gets the data', async () => {
    const out = path.join(work, 'wms4326.png');
    const url = `WMS:${base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO.2025&CRS=EPSG:4326&BBOX=44.4425,1.4330,44.4445,1.4350&FORMAT=image/png`;
    await gdalClient('gdal_translate', ['-q', '-of', 'PNG', '-outsize', '256', '256', url, out]);
    const stats = JSON.parse(await gdal('gdalinfo', ['-json', '-stats', out])) as { bands: Array<{ maximum: number }> };
    expect(Math.max(...stats.bands.slice(0, 3).map((b) => b.maximum))).toBeGreaterThan(50);
  });
});

// The page imports OL's parser as an ES module (the module graph has no bare imports) and exposes it.
const INDEX_HTML = '<!DOCTYPE html><html><body><script type="module">import P from "./format/WMTSCapabilities.js"; window.WMTSCapabilities = P;</script></body></html>';

describe('OpenLayers', () => {
  const chromium = '/usr/bin/chromium';
  it.runIf(existsSync(chromium))('ol/format/WMTSCapabilities reads our capabilities (in Chromium) and derives tile grids', async () => {
    const { chromium: pw } = await import('playwright-core');
    const xml = await (await fetch(`${base}/wmts/1.0.0/WMTSCapabilities.xml`)).text();
    const browser = await pw.launch({ executablePath: chromium, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const olRoot = path.resolve('node_modules/ol');
      await page.route('http://ol.test/**', async (route) => {
        const p = new URL(route.request().url()).pathname;
        if (p === '/index.html') return route.fulfill({ contentType: 'text/html', body: INDEX_HTML });
        const file = path.join(olRoot, p);
        return route.fulfill({ contentType: 'text/javascript', body: readFileSync(file, 'utf8') });
      });
      await page.goto('http://ol.test/index.html');
      await page.waitForFunction('window.WMTSCapabilities !== undefined');
      const result = await page.evaluate((text) => {
        const Parser = (globalThis as unknown as { WMTSCapabilities: new () => { read(s: string): Record<string, unknown> } }).WMTSCapabilities;
        const caps = new Parser().read(text) as {
          version: string;
          Contents: { Layer: Array<{ Identifier: string; Format: string[]; TileMatrixSetLink: Array<{ TileMatrixSet: string; TileMatrixSetLimits?: unknown[] }>; ResourceURL: unknown[] }>; TileMatrixSet: Array<{ Identifier: string; SupportedCRS: string; TileMatrix: Array<{ Identifier: string; TopLeftCorner: number[] }> }> };
        };
        return {
          version: caps.version,
          layers: caps.Contents.Layer.map((l) => ({ id: l.Identifier, formats: l.Format, sets: l.TileMatrixSetLink.map((s) => s.TileMatrixSet), limits: l.TileMatrixSetLink[0]?.TileMatrixSetLimits?.length ?? 0, urls: l.ResourceURL.length })),
          sets: caps.Contents.TileMatrixSet.map((s) => ({ id: s.Identifier, crs: s.SupportedCRS, levels: s.TileMatrix.length, origin: s.TileMatrix[0]?.TopLeftCorner })),
        };
      }, xml);
      expect(result.version).toBe('1.0.0');
      expect(result.layers.map((l) => l.id)).toEqual(['PCRS.ORTHO', 'PCRS.ORTHO.maj-2026', 'PCRS.ORTHO.2025']);
      expect(result.layers[0]).toMatchObject({ formats: ['image/jpeg', 'image/png', 'image/webp'], sets: ['2154_5cm', 'PM'], limits: 17, urls: 5 });
      expect(result.sets).toEqual([
        { id: '2154_5cm', crs: 'urn:ogc:def:crs:EPSG::2154', levels: 17, origin: [0, 12_000_000] },
        { id: 'PM', crs: 'urn:ogc:def:crs:EPSG::3857', levels: 22, origin: [-20037508.3427892, 20037508.3427892] },
      ]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('capabilities structure', () => {
  it('WMTS and WMS capabilities are well-formed XML with the expected root elements', async () => {
    const wmts = await (await fetch(`${base}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities`)).text();
    const wms = await (await fetch(`${base}/wms?SERVICE=WMS&REQUEST=GetCapabilities`)).text();
    const file = path.join(work, 'caps.xml');
    for (const doc of [wmts, wms]) {
      writeFileSync(file, doc);
      const r = await execTool('xmllint', ['--noout', '--nonet', file]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(wmts).toMatch(/^<\?xml[^>]*>\n<Capabilities xmlns="http:\/\/www.opengis.net\/wmts\/1.0"/);
    expect(wms).toMatch(/^<\?xml[^>]*>\n<WMS_Capabilities version="1.3.0" xmlns="http:\/\/www.opengis.net\/wms"/);
  });
});
