import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignService } from '../campaigns/service.js';
import { OPERATOR } from '../context/access.js';
import { DeclarationService } from '../declarations/service.js';
import { UpdateMarks } from '../declarations/to-update.js';
import { parisToday } from '../util/paris-day.js';
import { ingestDelivery } from '../raster/ingest/ingest.js';
import { ingestServices } from '../raster/ingest/services.js';
import sharp from 'sharp';
import { createUser, sessionFor } from '../test-support/access.js';
import { gdal } from '../test-support/gdal.js';
import { makeBadDalle, validDalle } from '../test-support/imagery.js';
import { CAN_RUN_BROWSER, launchChromium, portalServer, screenshot, type PortalServer } from './test-support/portal-server.js';

/**
 * CAMPAIGNS IN THE PORTAL, in Chromium against the real server: a campaign over three 200 m dalles
 * has received a delivery — two dalles that pass the ingest, one refused (its pixel size). Anyone
 * sees the list and the campaign's progress, its map and the refused dalle's reason; the
 * administrator checks the received dalles (in the background: the page follows), moves the
 * campaign to delivered then checked, publishes it and sees it in the log; on the map, "what
 * changed here" compares the 2019 orthophoto (a magenta square burned into its first dalle) with the
 * campaign's under a swipe bar; a campaign is created over the marked dalles and over an area drawn
 * on the map; the anonymous sees no action.
 */
describe.runIf(CAN_RUN_BROWSER)('campaigns in the portal (Chromium, real server)', () => {
  let s: PortalServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-portal-campaigns-'));
  const YMAX = 6_374_000;

  beforeAll(async () => {
    s = await portalServer({ PCRS_COOKIE_SECURE: 'false', PCRS_SECRET_KEY: 'portal-campaigns-secret-key-of-32-chars+++' });
    // The 2019 orthophoto under the campaign's first two dalles: the same imagery, but for a magenta
    // square in its middle (its seams match the campaign's; the comparison shows the square).
    const made = path.join(dir, 'made');
    const old2019 = path.join(dir, '2019');
    mkdirSync(made, { recursive: true });
    mkdirSync(old2019, { recursive: true });
    const first = (await validDalle(made, { xmin: 575_000, ymax: YMAX, year: 2019 })).file;
    const square = path.join(made, 'square.geojson');
    writeFileSync(square, JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'EPSG:2154' } }, features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[575_070, YMAX - 130], [575_130, YMAX - 130], [575_130, YMAX - 70], [575_070, YMAX - 70], [575_070, YMAX - 130]]] } }] }));
    const firstOut = path.join(old2019, path.basename(first));
    await gdal('gdal_translate', ['-q', '-co', 'TILED=YES', first, firstOut]);
    await gdal('gdal_rasterize', ['-q', '-b', '1', '-b', '2', '-b', '3', '-burn', '255', '-burn', '0', '-burn', '255', square, firstOut]);
    // Its second dalle as well: each delivered dalle then meets the 2019 imagery of its own place at its seams.
    await validDalle(old2019, { xmin: 575_200, ymax: YMAX, year: 2019 });
    const ingested2019 = await ingestDelivery(ingestServices(s.ctx), { dir: old2019, datasetId: 'ortho', versionName: '2019', date: '2019-06-01' });
    expect(ingested2019.summary.ok + ingested2019.summary.warning).toBe(2);
    const service = new CampaignService(s.ctx);
    await service.create(OPERATOR, {
      slug: 'maj-2026-cahors',
      title: 'Mise à jour 2026 — Cahors',
      kind: 'ortho',
      dalleSize: 200,
      area: { source: 'drawn', geometry: { type: 'Polygon', coordinates: [[[575_000, YMAX - 200], [575_600, YMAX - 200], [575_600, YMAX], [575_000, YMAX], [575_000, YMAX - 200]]], crs: { type: 'name', properties: { name: 'EPSG:2154' } } } },
      plannedStart: '2026-03-01',
      plannedEnd: '2026-09-30',
    });
    await service.changeStatus(OPERATOR, 'maj-2026-cahors', 'ordered');
    const delivery = path.join(dir, 'livraison');
    mkdirSync(delivery, { recursive: true });
    await validDalle(delivery, { xmin: 575_000, ymax: YMAX, year: 2026 });
    await validDalle(delivery, { xmin: 575_200, ymax: YMAX, year: 2026 });
    await makeBadDalle('wrong-resolution', { dir: delivery, xmin: 575_400, ymax: YMAX, year: 2026 });
    const { versionName } = await service.prepareDelivery(OPERATOR, 'maj-2026-cahors', '2026-04-02');
    const report = await ingestDelivery(ingestServices(s.ctx), { dir: delivery, datasetId: 'ortho', versionName, kind: 'update', publish: false, date: '2026-04-02' });
    await service.recordIngest(OPERATOR, 'maj-2026-cahors', report, '2026-04-02');
    const adminId = await createUser(s.ctx, 'sig@fdel46.fr', { platformRoles: ['platform-admin'] });
    const { cookie } = await sessionFor(s.ctx, adminId);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'fr-FR' });
    await context.addCookies([{ name: 'pcrs_session', value: cookie, url: s.base }]);
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await s?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the list and the page: progress, the map, the refused dalle and why', async () => {
    await page.goto(`${s.base}/#/campagnes`);
    const row = page.locator('table.campaigns tr', { hasText: 'Mise à jour 2026 — Cahors' });
    await expect.poll(() => row.innerText(), { timeout: 15_000 }).toContain('en acquisition');
    expect(await row.innerText()).toContain('2 / 3 dalles reçues');
    await row.getByRole('link', { name: 'Mise à jour 2026 — Cahors' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Campagne : Mise à jour 2026 — Cahors');
    expect(await page.locator('.campaign-progress .counts').innerText()).toBe('3 attendues · 2 reçues · 0 acceptées · 1 refusées · 0 manquantes · 0 hors zone');
    const refused = page.locator('table.campaign-refused tr', { hasText: '05754-63740' });
    expect(await refused.innerText()).toMatch(/pixel|5 cm|résolution|resolution/i);
    await expect.poll(() => page.locator('.campaign-map canvas').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await screenshot(page, 'campaign-page');
    expect(errors).toEqual([]);
  });

  it('the administrator checks the received dalles, moves the campaign along and publishes it', async () => {
    await page.getByRole('button', { name: 'Vérifier les dalles reçues' }).click();
    await expect.poll(() => page.locator('main').innerText(), { timeout: 90_000 }).toContain('Vérification terminée : 2 acceptée(s), 1 refusée(s).');
    expect(await page.locator('.campaign-progress .counts').innerText()).toContain('0 reçues · 2 acceptées · 1 refusées');
    await page.getByRole('button', { name: 'Passer à « livrée »' }).click();
    await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toContain('La campagne est maintenant « livrée ».');
    await page.getByRole('button', { name: 'Passer à « vérifiée »' }).click();
    await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toContain('La campagne est maintenant « vérifiée ».');
    await page.getByRole('button', { name: 'Publier la campagne' }).click();
    await page.getByRole('button', { name: 'Oui' }).click();
    await expect.poll(() => page.locator('main').innerText(), { timeout: 30_000 }).toContain('Campagne publiée : les dalles acceptées font partie de l’orthophotographie actuelle.');
    expect(await page.locator('.campaign-facts .badge').innerText()).toBe('publiée');
    await expect.poll(() => page.locator('table.campaign-journal').innerText(), { timeout: 10_000 }).toContain('publication');
    // The change map's addresses for a GIS, and its WMTS capabilities behind the first.
    const wmts = await page.locator('dl.campaign-change-streams dd code').first().innerText();
    expect(wmts).toBe(`${s.base}/api/v1/campaigns/maj-2026-cahors/change-map/WMTSCapabilities.xml`);
    expect(await (await fetch(wmts)).text()).toContain('<ows:Identifier>PCRS.CHANGES.maj-2026-cahors</ows:Identifier>');
    expect((await s.ctx.catalog.getVersion('ortho', 'campaign-maj-2026-cahors')).status).toBe('published');
    expect(errors).toEqual([]);
  }, 180_000);

  it('on the map, "what changed here" names the campaign\'s version, shown, with a link to the campaign', async () => {
    await page.goto(`${s.base}/#/carte?vue=575100.0,6373900.0,19`);
    const report = page.getByRole('button', { name: 'Signaler', exact: true });
    await expect.poll(() => report.isEnabled(), { timeout: 30_000 }).toBe(true);
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const history = page.getByRole('region', { name: 'Ce qui a changé ici' });
    await expect.poll(() => history.innerText(), { timeout: 15_000 }).toMatch(/campaign-maj-2026-cahors \(orthophoto, 2 avr\. 2026\) · affichée · campagne maj-2026-cahors/);
    expect(await history.innerText()).toMatch(/2019 \(orthophoto, 1 juin 2019\)/);
    await screenshot(page, 'map-history');
    expect(errors).toEqual([]);
  });

  it('on the map, the two versions of the point compare under a swipe bar', async () => {
    // The server lists the published layers again after a few seconds (5 s cache), and a browser
    // keeps the capabilities 60 s: the campaign's layer, then a browser without that cache.
    await expect.poll(async () => (await (await fetch(`${s.base}/wmts/1.0.0/WMTSCapabilities.xml`)).text()).includes('PCRS.ORTHO.campaign-maj-2026-cahors'), { timeout: 15_000 }).toBe(true);
    const fresh = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'fr-FR' });
    const page = await fresh.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${s.base}/#/carte?vue=575100.0,6373900.0,19`);
    await expect.poll(() => page.getByRole('button', { name: 'Signaler', exact: true }).isEnabled(), { timeout: 30_000 }).toBe(true);
    const map = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(map.x + map.width / 2, map.y + map.height / 2);
    const history = page.getByRole('region', { name: 'Ce qui a changé ici' });
    await expect.poll(() => history.innerText(), { timeout: 15_000 }).toContain('2019 (orthophoto');
    expect(await history.getByLabel('Avant (à gauche)').inputValue()).toBe('PCRS.ORTHO.2019');
    expect(await history.getByLabel('Après (à droite)').inputValue()).toBe('PCRS.ORTHO.campaign-maj-2026-cahors');
    await history.getByRole('button', { name: 'Comparer sur la carte' }).click();
    expect(await page.getByLabel('Orthophotographie', { exact: true }).inputValue()).toBe('PCRS.ORTHO.campaign-maj-2026-cahors');
    expect(await page.getByLabel('Comparer avec').inputValue()).toBe('PCRS.ORTHO.2019');
    expect(await page.locator('.swipe-label.left').innerText()).toBe('PCRS.ORTHO.2019');
    // The pixel 20 px left of the centre (8 m at level 19, inside the square): magenta left of the
    // bar (2019), not once the bar is moved to the left edge (the campaign's imagery only).
    const box = (await page.locator('#map').boundingBox())!;
    const pixel = async () => {
      const png = await page.screenshot({ clip: { x: box.x + box.width / 2 - 20, y: box.y + box.height / 2, width: 1, height: 1 } });
      const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      return [data[0] ?? 0, data[1] ?? 0, data[2] ?? 0];
    };
    const magenta = (p: number[]) => (p[0] ?? 0) > 200 && (p[1] ?? 255) < 60 && (p[2] ?? 0) > 200;
    await expect.poll(async () => magenta(await pixel()), { timeout: 20_000 }).toBe(true);
    await screenshot(page, 'map-compare');
    const swipe = page.getByLabel('Rideau');
    await swipe.fill('0');
    expect(await page.locator('.swipe-bar').getAttribute('style')).toContain('left: 0%');
    await expect.poll(async () => magenta(await pixel()), { timeout: 10_000 }).toBe(false);
    await swipe.fill('1');
    await expect.poll(async () => magenta(await pixel()), { timeout: 10_000 }).toBe(true);
    // No comparison: the campaign's imagery again, no bar.
    await page.getByLabel('Comparer avec').selectOption('');
    expect(await page.locator('.swipe-bar').count()).toBe(0);
    await expect.poll(async () => magenta(await pixel()), { timeout: 10_000 }).toBe(false);
    await fresh.close();
    expect(errors).toEqual([]);
  });

  it('"what changed here" links to the campaign', async () => {
    const history = page.getByRole('region', { name: 'Ce qui a changé ici' });
    await history.getByRole('link', { name: 'campagne maj-2026-cahors' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Campagne : Mise à jour 2026 — Cahors');
    expect(errors).toEqual([]);
  });

  it('the administrator creates a campaign from the portal over the dalles that ended works marked "to update"', async () => {
    // Works that ended yesterday over the published campaign's first dalle: it is "to update".
    await new DeclarationService(s.ctx).create(OPERATOR, {
      type: 'works',
      title: 'Réfection rue Nationale',
      description: 'Chaussée refaite',
      geometry: { type: 'Point', coordinates: [575_100, YMAX - 100], crs: { type: 'name', properties: { name: 'EPSG:2154' } } },
      works: { dtDictRef: 'REF-NATIONALE', plannedEnd: parisToday(new Date(Date.now() - 86_400_000)), themes: ['03B'] },
    });
    await new UpdateMarks(s.ctx).mark();
    await page.goto(`${s.base}/#/campagnes`);
    await page.getByRole('link', { name: 'Nouvelle campagne' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Nouvelle campagne');
    await page.getByLabel('Intitulé').fill('Mise à jour rue Nationale');
    await page.getByRole('button', { name: 'Créer la campagne' }).click();
    await expect.poll(() => page.locator('main').innerText()).toContain('Donnez un nom court');
    await page.getByLabel('Nom court').fill('maj-rue-nationale');
    await page.getByLabel('Début prévu').fill('2027-03-01');
    await page.getByLabel('Fin prévue').fill('2027-06-30');
    await page.getByRole('button', { name: 'Créer la campagne' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Campagne : Mise à jour rue Nationale');
    expect(await page.locator('.campaign-progress .counts').innerText()).toBe('1 attendues · 0 reçues · 0 acceptées · 0 refusées · 1 manquantes · 0 hors zone');
    expect(await page.locator('.campaign-facts .badge').innerText()).toBe('prévue');
    expect(errors).toEqual([]);
  });

  it('the administrator creates a campaign over an area drawn on the map', async () => {
    await page.goto(`${s.base}/#/campagnes/nouvelle`);
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Nouvelle campagne');
    await page.getByLabel('Intitulé').fill('Levé rue de la Barre');
    await page.getByLabel('Nom court').fill('leve-rue-barre');
    await page.getByLabel('Zone', { exact: true }).selectOption('drawn');
    // Without a drawing: refused on the form.
    await page.getByRole('button', { name: 'Créer la campagne' }).click();
    await expect.poll(() => page.locator('.campaign-draw').innerText()).toContain('Dessinez la zone sur la carte.');
    const draw = page.getByRole('button', { name: 'Dessiner la zone' });
    await expect.poll(() => draw.isEnabled(), { timeout: 30_000 }).toBe(true);
    await draw.click();
    const box = (await page.locator('.campaign-draw .area-map').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    // Around the map's centre (the coverage's: the border of the first two dalles), ±100 px wide, ±30 px high.
    await page.mouse.click(cx - 100, cy + 30);
    await page.mouse.click(cx + 100, cy + 30);
    await page.mouse.click(cx + 100, cy - 30);
    await page.mouse.dblclick(cx - 100, cy - 30);
    await expect.poll(() => page.locator('.campaign-draw').innerText(), { timeout: 10_000 }).toContain('Zone dessinée');
    await page.getByRole('button', { name: 'Créer la campagne' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Campagne : Levé rue de la Barre');
    expect(await page.locator('.campaign-progress .counts').innerText()).toMatch(/^2 attendues · 0 reçues/);
    const created = await new CampaignService(s.ctx).store.get('leve-rue-barre');
    expect(created.areaSource).toBe('drawn');
    expect(created.bbox[0]).toBeLessThan(575_200);
    expect(created.bbox[2]).toBeGreaterThan(575_200);
    expect(errors).toEqual([]);
  });

  it('the anonymous sees the campaign, not the actions', async () => {
    const anonymous = await browser.newContext({ locale: 'fr-FR' });
    const p = await anonymous.newPage();
    await p.goto(`${s.base}/#/campagnes/maj-2026-cahors`);
    await expect.poll(() => p.locator('h1').innerText(), { timeout: 15_000 }).toBe('Campagne : Mise à jour 2026 — Cahors');
    expect(await p.locator('.campaign-actions').count()).toBe(0);
    // The timeline is public: its steps, not who did them nor their notes.
    const timeline = await p.locator('.campaign-timeline').innerText();
    expect(timeline).toMatch(/créée[\s\S]*changement d’état → commandée[\s\S]*livraison[\s\S]*vérification[\s\S]*publication → publiée/);
    expect(timeline).not.toContain('sig@fdel46.fr');
    await anonymous.close();
  });
});
