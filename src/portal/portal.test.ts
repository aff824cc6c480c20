import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { screenshot } from './test-support/portal-server.js';

/**
 * The portal as a user meets it, in headless Chromium (playwright-core, Debian's chromium): the map
 * shows the orthophoto and the vector PCRS, a click says which dalle and which objects are there,
 * the display settings are kept, and the stream addresses are listed. A view shared by the former
 * hash (`#x,y,zoom`) still opens, now as `#/carte?vue=x,y,zoom`. Needs the built portal (`npm test`
 * builds it first).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PORTAL_BUILT = existsSync(fileURLToPath(new URL('../../portal/dist/index.html', import.meta.url)));

describe.runIf(existsSync(CHROMIUM) && PORTAL_BUILT)('portal map viewer (Chromium)', () => {
  let f: StreamsFixture;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    f = await streamsFixture({}, { vector: true });
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    const address = f.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await f?.dispose();
  });

  it('shows the orthophoto and the vector PCRS, tells the dalle and the objects under a click, and remembers the display', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'fr-FR' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const tiles: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 200 && /\/wmts\/1\.0\.0\/PCRS\.ORTHO\/normal\/2154_5cm\/\d+\/\d+\/\d+\.jpeg$/.test(r.url())) tiles.push(r.url());
      if (r.status() === 200 && /\/tiles\/vector\/2154_5cm\/\d+\/\d+\/\d+\.mvt$/.test(r.url())) tiles.push(r.url());
    });
    // A view at level 19 over a tree-lined street of the north-west dalle, shared by its URL hash
    // (the address a view had before the portal's router: it still opens).
    const start = Date.now();
    let firstTileMs = Infinity;
    page.on('requestfinished', (r) => {
      if (/\/wmts\/1\.0\.0\/PCRS\.ORTHO\/.*\.(jpeg|webp)$/.test(r.url())) firstTileMs = Math.min(firstTileMs, Date.now() - start);
    });
    await page.goto(`${base}/#575100.0,6373700.0,19`);
    await expect.poll(() => tiles.filter((u) => u.endsWith('.jpeg')).length, { timeout: 20_000 }).toBeGreaterThan(4);
    // The map page loads first (index.html preloads the map's chunk and its first documents): the
    // first tile under 2 s on loopback (issue 16) — checked when the machine is not oversubscribed
    // (on a shared 2-core box at load 10 it measures the queue, not the portal).
    const busy = loadavg()[0]! > cpus().length;
    console.log(`portal: first orthophoto tile ${firstTileMs} ms after navigation (load ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`);
    if (!busy) expect(firstTileMs).toBeLessThan(2000);
    expect(firstTileMs).toBeLessThan(15_000);
    await expect.poll(() => tiles.filter((u) => u.endsWith('.mvt')).length, { timeout: 20_000 }).toBeGreaterThan(0);
    await page.waitForTimeout(500);

    // The map canvas is drawn (the orthophoto's colours, not a blank map).
    // (a string: this file is type-checked without the DOM library)
    const colours = (await page.evaluate(`(() => {
      const seen = new Set();
      for (const c of document.querySelectorAll('#map canvas')) {
        const ctx = c.getContext('2d');
        if (!ctx || c.width === 0) continue;
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      }
      return seen.size;
    })()`)) as number;
    expect(colours).toBeGreaterThan(200);
    await screenshot(page, 'carte');

    // A click in the middle: the dalle (IGN name), its version, a download link.
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const info = page.locator('#info');
    await expect.poll(() => info.innerText(), { timeout: 10_000 }).toMatch(/46-2025-05750-63738-LA93-0M05-RVB/);
    expect(await info.innerText()).toMatch(/2025/);
    const href = await info.locator('a').first().getAttribute('href');
    expect(href).toMatch(/\/api\/datasets\/ortho\/versions\/2025\/dalles\/46-2025-05750-63738-LA93-0M05-RVB\/download$/);
    const file = await page.request.get(href!);
    expect(file.status()).toBe(200);
    expect(file.headers()['content-type']).toBe('image/tiff');

    // Customisation: another layer, an opacity, no vector — kept after a reload.
    const layer = page.getByLabel('Orthophotographie', { exact: true });
    const opacity = page.getByLabel('Opacité');
    const vector = page.getByLabel('PCRS vecteur (couleur par thématique)');
    await layer.selectOption('PCRS.ORTHO.maj-2026');
    await opacity.fill('0.5');
    await vector.uncheck();
    // The address follows the view, to share it.
    expect(new URL(page.url()).hash).toBe('#/carte?vue=575100.0,6373700.0,19');
    await page.reload();
    await expect.poll(() => layer.inputValue(), { timeout: 10_000 }).toBe('PCRS.ORTHO.maj-2026');
    expect(await opacity.inputValue()).toBe('0.5');
    expect(await vector.isChecked()).toBe(false);
    expect(new URL(page.url()).hash).toBe('#/carte?vue=575100.0,6373700.0,19');
    // Away to another screen and back by the navigation: the same view.
    await page.goto(`${base}/#/connexion`);
    await page.getByRole('link', { name: 'Carte', exact: true }).click();
    await expect.poll(() => new URL(page.url()).hash, { timeout: 10_000 }).toBe('#/carte?vue=575100.0,6373700.0,19');

    // The stream addresses for a GIS, from this server.
    expect(await page.locator('#streams').innerText()).toContain(`${base}/wmts/1.0.0/WMTSCapabilities.xml`);
    expect(await page.locator('header .brand').innerText()).toMatch(/Lot \(46\)/);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('a click on a surveyed object lists it with its class and thématique', async () => {
    // The first tree of the vector version: its position, then a click exactly there at level 21.
    const { rows } = await f.t.db.query<{ x: number; y: number; id_objet: string }>(
      `SELECT ST_X(geometry) AS x, ST_Y(geometry) AS y, id_objet FROM vector_features WHERE class = 'ArbrePCRS' ORDER BY id LIMIT 1`,
    );
    const tree = rows[0]!;
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 }, locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${base}/#/carte?vue=${tree.x.toFixed(1)},${tree.y.toFixed(1)},21`);
    await page.waitForResponse((r) => /\/tiles\/vector\/2154_5cm\/21\//.test(r.url()), { timeout: 20_000 });
    await page.waitForTimeout(800);
    const box = (await page.locator('#map').boundingBox())!;
    // The view is centred on the tree, up to the 0.1 m the hash keeps (≈ 4 px at level 21).
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    // French, whatever the browser's language.
    await expect.poll(() => page.locator('#info').innerText(), { timeout: 10_000 }).toMatch(/Objets \(\d+\)/);
    const text = await page.locator('#info').innerText();
    expect(text).toContain(`ArbrePCRS · ${tree.id_objet} · thématique 06`);
    await context.close();
  }, 60_000);
});
