import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignService } from '../campaigns/service.js';
import { OPERATOR } from '../context/access.js';
import { CAHORS_CENTRE, getScene } from '../demo/synthetic-scene.js';
import { writeDemoGml } from '../demo/vector.js';
import { createUser, sessionFor } from '../test-support/access.js';
import { validDalle } from '../test-support/imagery.js';
import { CAN_RUN_BROWSER, launchChromium, portalServer, screenshot, type PortalServer } from './test-support/portal-server.js';

/**
 * CONTRIBUTIONS FROM THE PORTAL, in Chromium against the real server: a partner creates a vector
 * contribution for its organisation, sends a CNIG GML whose first upload request is cut by the
 * network (the tus client resumes it: the page says so, then "envoyé"), sees it checked
 * "conforme" and reads its report; then an orthophoto contribution with a real dalle and a text file
 * named .tif: one "conforme", the other "refusé" with the reason in its report; a moderator is told
 * a refusal needs a reason, accepts the GML one and sees it published; the partner's page then takes
 * no more files; the list shows both contributions with their states. Then business data: the
 * partner sends its street lights as a GeoPackage into a restricted dataset of its own; accepted, it
 * is a collection its organisation reads and the anonymous cannot.
 */
describe.runIf(CAN_RUN_BROWSER)('contributions in the portal (Chromium, real server)', () => {
  let s: PortalServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-portal-contributions-'));
  let gml: Buffer;
  let dalle: { name: string; buffer: Buffer };
  let moderatorCookie: string;
  let lights: Buffer;

  beforeAll(async () => {
    s = await portalServer({ PCRS_COOKIE_SECURE: 'false', PCRS_SECRET_KEY: 'portal-contributions-secret-key-of-32-chars+' });
    const userId = await createUser(s.ctx, 'geometre@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }] });
    const { cookie } = await sessionFor(s.ctx, userId);
    const moderatorId = await createUser(s.ctx, 'moderateur@fdel46.fr', { platformRoles: ['moderator'], memberships: [{ org: 'fdel46', role: 'member' }] });
    moderatorCookie = (await sessionFor(s.ctx, moderatorId)).cookie;
    const file = path.join(dir, 'place.gml');
    await writeDemoGml(getScene({ seed: 46, centre: CAHORS_CENTRE }), [575_000, 6_373_400, 575_100, 6_373_500], file);
    gml = readFileSync(file);
    const d = await validDalle(dir, { xmin: 575_000, ymax: 6_373_600 });
    dalle = { name: path.basename(d.file), buffer: readFileSync(d.file) };
    const points = Array.from({ length: 8 }, (_, i) => ({ type: 'Feature', properties: { numero: `EP-${i + 1}`, puissance_w: 70 }, geometry: { type: 'Point', coordinates: [1.4405 + i * 0.0003, 44.4476] } }));
    writeFileSync(path.join(dir, 'eclairage.geojson'), JSON.stringify({ type: 'FeatureCollection', features: points }));
    execFileSync('ogr2ogr', ['-f', 'GPKG', path.join(dir, 'eclairage.gpkg'), path.join(dir, 'eclairage.geojson'), '-nln', 'points_lumineux']);
    lights = readFileSync(path.join(dir, 'eclairage.gpkg'));
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

  const status = (name: string) => page.locator('table.contribution-files tr', { hasText: name }).locator('.badge');

  it('a GML sent through a cut connection (resumed), checked and reported; dalles, one refused with its reason; the list', async () => {
    await page.goto(`${s.base}/#/contributions`);
    await expect.poll(() => page.locator('main').innerText(), { timeout: 15_000 }).toContain('Aucune contribution de vos organisations pour l’instant.');
    await page.getByRole('link', { name: 'Nouvelle contribution' }).click();
    await page.getByLabel('Intitulé').fill('Place Champollion re-levée');
    await page.getByLabel('Date du levé ou de la prise de vue').fill('2026-10-02');
    await page.getByLabel('Producteur (facultatif)').fill('Géomètres du Quercy');
    await page.getByRole('button', { name: 'Créer la contribution' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Contribution : Place Champollion re-levée');
    expect(await page.locator('.contribution-status').innerText()).toContain('Aucun fichier envoyé');

    // The network cuts the first PATCH: the tus client asks the server where it stands and sends again.
    let cut = 0;
    await page.route('**/api/v1/contributions/uploads/*', async (route) => {
      if (route.request().method() === 'PATCH' && cut === 0) {
        cut++;
        return route.abort('connectionreset');
      }
      return route.continue();
    });
    const methods: string[] = [];
    page.on('request', (r) => r.url().includes('/contributions/uploads') && methods.push(r.method()));
    await page.getByLabel('Fichiers GML CNIG PCRS v2.0, GeoPackage, GeoJSON, Shapefile zippé ou DXF (plusieurs possibles)').setInputFiles({ name: 'place.gml', mimeType: 'application/gml+xml', buffer: gml });
    await expect.poll(() => page.locator('.uploads').innerText(), { timeout: 30_000 }).toMatch(/place\.gml\s+envoyé/);
    expect(cut).toBe(1);
    expect(methods.filter((m) => m === 'PATCH').length).toBeGreaterThanOrEqual(2);
    await expect.poll(() => status('place.gml').innerText(), { timeout: 60_000 }).toBe('conforme');
    expect(await page.locator('.contribution-status').innerText()).toContain('Tous les fichiers sont conformes.');
    await page.getByRole('button', { name: 'Rapport de place.gml' }).click();
    await expect.poll(() => page.locator('.report-text pre').innerText()).toMatch(/^PCRS GML validation: place\.gml\nResult: VALID/);
    await screenshot(page, 'contribution-gml');
    // The partner has no moderation buttons.
    expect(await page.getByRole('button', { name: 'Accepter et publier' }).count()).toBe(0);
    const gmlPage = page.url();

    // A moderator: a refusal needs a reason; then accepts; the page follows the publication.
    const modContext = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'fr-FR' });
    await modContext.addCookies([{ name: 'pcrs_session', value: moderatorCookie, url: s.base }]);
    const mod = await modContext.newPage();
    mod.on('pageerror', (e) => errors.push(e.message));
    await mod.goto(gmlPage);
    await mod.getByRole('button', { name: 'Refuser' }).click();
    await expect.poll(() => mod.locator('.moderation').innerText()).toContain('Donnez un motif : le contributeur le lira.');
    // Before / after: every object is new to this empty platform; the moderator leaves one tree out.
    await expect.poll(() => mod.locator('.review-summary').innerText(), { timeout: 30_000 }).toBe('61 ajouté(s), 0 supprimé(s), 0 modifié(s), 0 inchangé(s) par rapport au PCRS courant.');
    await mod.getByRole('checkbox', { name: 'Retenir ArbrePCRS:ido_demo-ar-47' }).uncheck();
    await screenshot(mod, 'contribution-avant-apres');
    await mod.getByRole('button', { name: 'Accepter la sélection (60) et publier' }).click();
    await expect.poll(() => mod.locator('.contribution-status').innerText(), { timeout: 60_000 }).toContain('Acceptée et publiée.');
    expect(await mod.locator('main').innerText()).toMatch(/Publiée comme version contribution-\d+\./);
    const trees = (await (await fetch(`${s.base}/ogc/collections/ArbrePCRS/items?limit=100`)).json()) as { features: Array<{ properties: { idObjet: string } }> };
    expect(trees.features).toHaveLength(25);
    expect(trees.features.map((f) => f.properties.idObjet)).not.toContain('ido_demo-ar-47');
    await screenshot(mod, 'contribution-acceptee');
    await modContext.close();
    // The partner's page: published, no more files taken.
    await page.reload();
    await expect.poll(() => page.locator('.contribution-status').innerText(), { timeout: 10_000 }).toContain('Acceptée et publiée.');
    expect(await page.getByLabel('Fichiers GML CNIG PCRS v2.0, GeoPackage, GeoJSON, Shapefile zippé ou DXF (plusieurs possibles)').count()).toBe(0);

    // An orthophoto contribution: a real dalle and a text file named .tif.
    await page.goto(`${s.base}/#/contributions/nouvelle`);
    await page.getByLabel('Nature').selectOption('raster');
    await page.getByLabel('Intitulé').fill('Dalles après travaux');
    await page.getByRole('button', { name: 'Créer la contribution' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Contribution : Dalles après travaux');
    await page.getByLabel('Dalles (GeoTIFF ou JPEG 2000, plusieurs possibles)').setInputFiles([
      { name: dalle.name, mimeType: 'image/tiff', buffer: dalle.buffer },
      { name: 'pas-une-image.tif', mimeType: 'image/tiff', buffer: Buffer.from('ceci n’est pas une image\n'.repeat(50)) },
    ]);
    await expect.poll(() => status(dalle.name).innerText(), { timeout: 60_000 }).toBe('conforme');
    await expect.poll(() => status('pas-une-image.tif').innerText(), { timeout: 60_000 }).toBe('refusé');
    expect(await page.locator('.contribution-status').innerText()).toContain('Au moins un fichier est refusé');
    await page.getByRole('button', { name: 'Rapport de pas-une-image.tif' }).click();
    await expect.poll(() => page.locator('.report-text pre').innerText()).toMatch(/REJECTED[\s\S]*ERROR \[unreadable\]/);
    expect(await page.locator('.report-text pre').innerText()).not.toContain(s.config.dataDir);
    await screenshot(page, 'contribution-dalles');

    await page.getByRole('link', { name: 'Contributions', exact: true }).first().click();
    await expect.poll(() => page.locator('table.contributions tbody tr').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator('table.contributions').innerText()).toMatch(/Dalles après travaux[\s\S]*à corriger[\s\S]*Place Champollion re-levée[\s\S]*acceptée/);
    expect(errors).toEqual([]);
  }, 240_000);

  it('business data: a GeoPackage of street lights into a restricted dataset of the commune; accepted, only its organisation reads the collection', async () => {
    await page.goto(`${s.base}/#/contributions/nouvelle`);
    await page.getByLabel('Nature').selectOption('business');
    await page.getByLabel('Intitulé').fill('Éclairage public 2026');
    // The dataset id is checked before anything is sent.
    await page.getByLabel('Identifiant du jeu de données').fill('Éclairage');
    await page.getByRole('button', { name: 'Créer la contribution' }).click();
    await expect.poll(() => page.locator('main').innerText()).toContain('Donnez un identifiant : minuscules, chiffres et tirets (3 à 63).');
    await page.getByLabel('Identifiant du jeu de données').fill('cahors-eclairage');
    await page.getByLabel('Nom du jeu de données').fill('Éclairage public de Cahors');
    expect(await page.getByLabel('Visibilité').inputValue()).toBe('restricted');
    await page.getByRole('button', { name: 'Créer la contribution' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Contribution : Éclairage public 2026');
    expect(await page.locator('.facts').innerText()).toMatch(/Éclairage public de Cahors \(cahors-eclairage, restreint\)/);
    await page.getByLabel('Couches (GeoPackage, GeoJSON, Shapefile zippé avec son .prj, DXF)').setInputFiles({ name: 'eclairage.gpkg', mimeType: 'application/geopackage+sqlite3', buffer: lights });
    await expect.poll(() => status('eclairage.gpkg').innerText(), { timeout: 60_000 }).toBe('conforme');
    await page.getByRole('button', { name: 'Rapport de eclairage.gpkg' }).click();
    await expect.poll(() => page.locator('.report-text pre').innerText()).toMatch(/^Business data validation: eclairage\.gpkg\nResult: OK \(gpkg\)\n {2}layer points_lumineux: 8 object\(s\), Point/);
    const contribution = page.url();

    const modContext = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'fr-FR' });
    await modContext.addCookies([{ name: 'pcrs_session', value: moderatorCookie, url: s.base }]);
    const mod = await modContext.newPage();
    mod.on('pageerror', (e) => errors.push(e.message));
    await mod.goto(contribution);
    await mod.getByRole('button', { name: 'Accepter et publier' }).click();
    await expect.poll(() => mod.locator('.contribution-status').innerText(), { timeout: 60_000 }).toContain('Acceptée et publiée.');
    await modContext.close();

    // The commune's browser reads its collection; a browser without a session does not.
    const own = await page.request.get(`${s.base}/ogc/collections/cahors-eclairage/items?limit=20`);
    expect(own.status()).toBe(200);
    const fc = (await own.json()) as { numberMatched: number; features: Array<{ properties: Record<string, unknown> }> };
    expect(fc.numberMatched).toBe(8);
    expect(fc.features[0]?.properties).toMatchObject({ layer: 'points_lumineux', numero: 'EP-1', provenance: { organisation: 'cahors' } });
    expect((await fetch(`${s.base}/ogc/collections/cahors-eclairage/items`)).status).toBe(401);
    expect(errors).toEqual([]);
  }, 240_000);

  it('the contractor of a campaign sends its dalles as the campaign’s delivery; accepted, they go into the campaign, not into a version of their own', async () => {
    const campaigns = new CampaignService(s.ctx);
    const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
    await campaigns.create(OPERATOR, {
      slug: 'maj-cahors-sept',
      title: 'Mise à jour de septembre',
      kind: 'ortho',
      dalleSize: 200,
      area: { source: 'drawn', geometry: { type: 'Polygon', coordinates: [[[575_000, 6_373_400], [575_200, 6_373_400], [575_200, 6_373_600], [575_000, 6_373_600], [575_000, 6_373_400]]], crs: L93 } },
      contractor: 'cahors',
      plannedStart: '2026-09-01',
      plannedEnd: '2026-09-30',
    });
    await campaigns.changeStatus(OPERATOR, 'maj-cahors-sept', 'ordered');
    await page.goto(`${s.base}/#/contributions/nouvelle`);
    await page.getByLabel('Nature').selectOption('raster');
    await page.getByLabel('Livraison d’une campagne').selectOption('maj-cahors-sept');
    await page.getByLabel('Intitulé').fill('Livraison de septembre');
    await page.getByLabel('Date du levé ou de la prise de vue').fill('2026-09-15');
    await page.getByRole('button', { name: 'Créer la contribution' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Contribution : Livraison de septembre');
    expect(await page.locator('.contribution-campaign').innerText()).toBe('Livraison de la campagne maj-cahors-sept');
    await page.getByLabel('Dalles (GeoTIFF ou JPEG 2000, plusieurs possibles)').setInputFiles([{ name: dalle.name, mimeType: 'image/tiff', buffer: dalle.buffer }]);
    await expect.poll(() => status(dalle.name).innerText(), { timeout: 60_000 }).toBe('conforme');
    const contribution = page.url();
    const modContext = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'fr-FR' });
    await modContext.addCookies([{ name: 'pcrs_session', value: moderatorCookie, url: s.base }]);
    const mod = await modContext.newPage();
    mod.on('pageerror', (e) => errors.push(e.message));
    await mod.goto(contribution);
    expect(await mod.getByRole('button', { name: 'Accepter et publier' }).count()).toBe(0);
    await mod.getByRole('button', { name: 'Accepter et livrer à la campagne' }).click();
    await expect.poll(() => mod.locator('.contribution-status').innerText(), { timeout: 60_000 }).toContain('Acceptée : livrée à la campagne, qui la vérifie et la publie.');
    expect(await mod.locator('main').innerText()).toContain('Acceptée dans la version campaign-maj-cahors-sept de la campagne');
    await modContext.close();
    expect((await campaigns.store.get('maj-cahors-sept')).progress).toMatchObject({ expected: 1, received: 1 });
    expect((await s.ctx.catalog.getVersion('ortho', 'campaign-maj-cahors-sept')).status).not.toBe('published');
    expect(errors).toEqual([]);
  }, 240_000);
});
