import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailCatcher, type MailCatcher } from '../accounts/test-support/smtp.js';
import { loadReference } from '../communes/import.js';
import { CommuneStore } from '../communes/store.js';
import { streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { createUser, sessionFor } from '../test-support/access.js';
import { execTool } from '../util/exec.js';
import { validateGmlFile } from '../vector/gml/validate.js';
import { CAN_RUN_BROWSER, launchChromium, screenshot } from './test-support/portal-server.js';

/**
 * EXTRACTS FROM THE PORTAL, END TO END in Chromium, against the real server (the test orthophoto
 * and vector ingested, Cahors' outline over the west half of them) and a real SMTP server:
 * - a user goes to Cahors from the map ("Aller à une commune"), follows "Extraire les données de
 *   cette commune", asks for masters and the CNIG GML; the Licence Ouverte is shown first (declined
 *   once: nothing asked; then accepted, and recorded); the extract's page follows it to "prêt"; the
 *   ZIP downloaded from the page passes unzip -t, its manifest matches every file, its masters are
 *   the stored ones byte for byte and its GML validates against the CNIG XSD;
 * - the same user draws a polygon on the extract screen's map (clicks, double-click), asks for the
 *   vector cut to it as GML (valid) and GeoPackage and the masters, delivered also as links: no licence this time;
 *   the ZIP is checked the same way, the aria2 list names every file with its SHA-256;
 * - an uploaded KML with a DOCTYPE and an area outside the territory are refused in French; a
 *   GeoJSON is read (polygons, km²); "Mes extraits" lists both extracts ready; the "ready" e-mail
 *   links to the extract's page;
 * - an anonymous visitor downloading a dalle from the map's click panel gets the licence first.
 */
const USER = { email: 'geometre@cahors.fr' };
const L93 = { type: 'name', properties: { name: 'EPSG:2154' } };

describe.runIf(CAN_RUN_BROWSER)('extracts in the portal, end to end (Chromium, real server)', () => {
  let f: StreamsFixture;
  let smtp: MailCatcher;
  let base: string;
  let browser: Browser;
  let userId: number;
  let cookie: string;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-portal-extracts-'));

  beforeAll(async () => {
    smtp = await startMailCatcher();
    f = await streamsFixture({ PCRS_SMTP_URL: smtp.url, PCRS_COOKIE_SECURE: 'false', PCRS_SECRET_KEY: 'portal-extracts-secret-key-of-32-chars-or-more'}, { vector: true });
    await loadReference(f.ctx);
    const square = (x0: number, y0: number, x1: number, y1: number) => [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]];
    await f.ctx.db.transaction((tx) => new CommuneStore(f.ctx.db).setOutline(tx, '46042', JSON.stringify({ type: 'MultiPolygon', coordinates: [square(575_000, 6_373_400, 575_200, 6_373_800)] }), 'test'));
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    const address = f.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    userId = await createUser(f.ctx, USER.email, { memberships: [{ org: 'cahors', role: 'member' }] });
    cookie = (await sessionFor(f.ctx, userId)).cookie;
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    f?.ctx.mail.close();
    await f?.dispose();
    await smtp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function pageFor(sessionCookie: string | null): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: 'fr-FR', acceptDownloads: true });
    contexts.push(context);
    if (sessionCookie) await context.addCookies([{ name: 'pcrs_session', value: sessionCookie, url: base }]);
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    return page;
  }

  /** Waits for the extract's page to say "prêt", downloads the ZIP from it, checks it as a user would. */
  async function downloadAndCheck(page: Page, name: string): Promise<{ id: number; out: string; names: string[] }> {
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 15_000 }).toMatch(/^Extrait n° \d+$/);
    const id = Number(/(\d+)$/.exec(await page.locator('h1').innerText())?.[1]);
    await expect.poll(() => page.locator('.extract-status').innerText(), { timeout: 120_000 }).toContain('L’extrait est prêt.');
    const link = page.getByRole('link', { name: /^Télécharger le ZIP \(.+ (Mo|ko)\)$/ });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^pcrs-extrait-${id}-.*\\.zip$`));
    const zip = path.join(dir, `${name}.zip`);
    await download.saveAs(zip);
    const test = await execTool('unzip', ['-t', zip]);
    expect(test.code, test.stdout).toBe(0);
    const out = path.join(dir, name);
    expect((await execTool('unzip', ['-q', zip, '-d', out])).code).toBe(0);
    const check = await execTool('sha256sum', ['-c', '--strict', 'MANIFEST.sha256'], { cwd: out });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const names = readFileSync(path.join(out, 'MANIFEST.sha256'), 'utf8').trim().split('\n').map((l) => l.split('  ')[1] as string);
    // Every master is the stored one, byte for byte.
    const masters = (await f.ctx.catalog.assets.list({ kind: 'master', state: 'stored' })).filter((a) => a.versionId !== null);
    const tifs = names.filter((n) => n.startsWith('ortho/') && n.endsWith('.tif'));
    expect(tifs.length).toBeGreaterThan(0);
    for (const n of tifs) {
      const bytes = readFileSync(path.join(out, n));
      const sha = createHash('sha256').update(bytes).digest('hex');
      expect(masters.some((m) => m.sha256 === sha && m.bytes === bytes.length), n).toBe(true);
    }
    return { id, out, names };
  }

  it('over a commune found from the map, then over a polygon drawn on the map: the licence once, ZIPs checked, links, errors in French', async () => {
    const page = await pageFor(cookie);
    await page.goto(`${base}/#/carte?vue=575200.0,6373600.0,17`);
    await expect.poll(() => page.getByRole('button', { name: 'Signaler', exact: true }).isEnabled(), { timeout: 30_000 }).toBe(true);

    // --- go to Cahors from the map, then its extract -----------------------------------------
    await page.getByLabel('Aller à une commune').fill('cahors');
    await page.getByRole('list', { name: 'Communes trouvées' }).getByRole('button', { name: /^Cahors \(46042\)/ }).click();
    await expect.poll(() => page.locator('.go-to-commune').innerText()).toContain('Cahors (46042)');
    // The map went to the commune's outline (the view is in the address).
    await expect.poll(() => page.evaluate('location.hash'), { timeout: 10_000 }).toMatch(/vue=5751\d\d\.\d,63736\d\d\.\d,/);
    await page.getByRole('link', { name: 'Extraire les données de cette commune' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe('Nouvel extrait');
    await expect.poll(() => page.locator('.extract-form').innerText()).toContain('Commune choisie : Cahors (46042).');
    expect(await page.getByLabel('Orthophotographie, dalles d’origine (pleine qualité)').isChecked()).toBe(true);
    expect(await page.getByLabel('Levé vectoriel, GML CNIG').isChecked()).toBe(true);
    await expect.poll(() => page.locator('#extract-map canvas').count(), { timeout: 20_000 }).toBeGreaterThan(0);

    // The licence comes first; declining it asks for nothing.
    await page.getByRole('button', { name: 'Demander l’extrait' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await dialog.innerText()).toMatch(/Licence Ouverte[\s\S]*version 2\.0/);
    await screenshot(page, 'extrait-licence');
    await dialog.getByRole('button', { name: 'Annuler' }).click();
    await expect.poll(() => page.locator('.extract-form [role=status]').innerText()).toBe('Sans acceptation de la licence, pas de téléchargement.');
    expect((await f.ctx.db.query(`SELECT count(*)::int AS n FROM extracts`)).rows[0]).toEqual({ n: 0 });
    await page.getByRole('button', { name: 'Demander l’extrait' }).click();
    await dialog.getByRole('button', { name: 'J’accepte' }).click();
    const commune = await downloadAndCheck(page, 'commune');
    await screenshot(page, 'extrait-pret');
    const accepted = await f.ctx.db.query<{ licence: string; version: string }>(`SELECT licence, version FROM licence_acceptances WHERE user_id = $1`, [userId]);
    expect(accepted.rows).toEqual([{ licence: 'licence-ouverte', version: '2.0' }]);
    expect(readFileSync(path.join(commune.out, 'LISEZMOI.txt'), 'utf8')).toContain('Cahors (46042)');
    expect(readFileSync(path.join(commune.out, 'LICENCE.txt'), 'utf8')).toContain('Licence Ouverte');
    expect(commune.names).toEqual(expect.arrayContaining(['vecteur/pcrs.gml', 'ortho/mosaique.vrt']));
    const gml = await validateGmlFile(path.join(commune.out, 'vecteur/pcrs.gml'));
    expect(gml.findings.filter((x) => x.severity === 'error')).toEqual([]);
    expect(gml.valid).toBe(true);
    expect(gml.featureCount).toBeGreaterThan(0);
    // The commune is the west half: its two dalles.
    expect(commune.names.filter((n) => n.endsWith('.tif'))).toHaveLength(2);

    // --- a polygon drawn on the map ------------------------------------------------------------
    await page.goto(`${base}/#/extraits/nouveau?vue=575200.0,6373500.0,18`);
    await expect.poll(() => page.locator('#extract-map canvas').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await page.getByLabel('Un polygone dessiné sur la carte').check();
    // Asked without an area: said next to the zone.
    await page.getByRole('button', { name: 'Demander l’extrait' }).click();
    await expect.poll(() => page.locator('.extract-form fieldset.invalid').innerText()).toContain('Dessinez la zone sur la carte.');
    await page.getByRole('button', { name: 'Dessiner la zone' }).click();
    await expect.poll(() => page.locator('.draw-hint').innerText()).toContain('double-cliquez pour finir');
    const box = (await page.locator('#extract-map').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    // 0.8 m per pixel at level 18: ±100 px across the two southern dalles' border, ±50 px high.
    await page.mouse.click(cx - 100, cy + 50);
    await page.mouse.click(cx + 100, cy + 50);
    await page.mouse.click(cx + 100, cy - 50);
    await page.mouse.dblclick(cx - 100, cy - 50);
    await expect.poll(() => page.locator('.draw-hint').innerText(), { timeout: 10_000 }).toMatch(/^Zone dessinée : \d{1,3}(\s\d{3})* m²\.$/);
    const m2 = Number(/: ([\d\s]+) m²/.exec(await page.locator('.draw-hint').innerText())?.[1]?.replace(/\s/g, ''));
    expect(m2).toBeGreaterThan(0.8 * 160 * 80);
    expect(m2).toBeLessThan(1.2 * 160 * 80);
    await page.getByLabel('Levé vectoriel, GeoPackage').check();
    await page.getByLabel('Découpés selon la zone').check();
    await page.getByLabel('Le ZIP et une liste de liens (wget, aria2c) pour les gros volumes').check();
    await page.getByRole('button', { name: 'Demander l’extrait' }).click();
    // Accepted before: no dialog this time.
    const drawn = await downloadAndCheck(page, 'drawn');
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(drawn.id).not.toBe(commune.id);
    expect(drawn.names.filter((n) => n.endsWith('.tif'))).toHaveLength(2);
    expect(drawn.names).toEqual(expect.arrayContaining(['vecteur/pcrs.gpkg', 'vecteur/pcrs.gml']));
    // The GML cut to the polygon is still valid CNIG GML.
    const cut = await validateGmlFile(path.join(drawn.out, 'vecteur/pcrs.gml'));
    expect(cut.findings.filter((x) => x.severity === 'error')).toEqual([]);
    expect(cut.valid).toBe(true);
    expect(cut.featureCount).toBeGreaterThan(0);
    const layers = await execTool('ogrinfo', ['-ro', '-so', '-al', path.join(drawn.out, 'vecteur/pcrs.gpkg')]);
    expect(layers.code, layers.stderr).toBe(0);
    expect(layers.stdout).toMatch(/Feature Count: [1-9]/);
    // The stored request is the polygon drawn, cut to the area, delivered as links too.
    const stored = await f.ctx.db.query<{ request: { area: { kind: string; km2: number }; vector: { clip: string }; delivery: string } }>(`SELECT request FROM extracts WHERE id = $1`, [drawn.id]);
    expect(stored.rows[0]?.request).toMatchObject({ area: { kind: 'geometry' }, vector: { clip: 'area' }, delivery: 'urls' });
    expect(stored.rows[0]!.request.area.km2 * 1e6).toBeCloseTo(m2, -2);
    // The aria2 list from the page: every file of the manifest with its SHA-256.
    const listLink = page.getByRole('link', { name: 'Liste pour aria2c' });
    const [listDownload] = await Promise.all([page.waitForEvent('download'), listLink.click()]);
    const list = readFileSync((await listDownload.path())!, 'utf8');
    const manifest = readFileSync(path.join(drawn.out, 'MANIFEST.sha256'), 'utf8');
    for (const line of manifest.trim().split('\n')) {
      const [sha, name] = line.split('  ') as [string, string];
      expect(list).toContain(`  out=${name}\n  checksum=sha-256=${sha}\n`);
    }
    await screenshot(page, 'extrait-liens');

    // --- area files: refusals in French, a GeoJSON read ---------------------------------------
    await page.goto(`${base}/#/extraits/nouveau`);
    await page.getByLabel('Un fichier (GeoJSON, KML, GeoPackage)').check();
    const kml = `<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name><Polygon><outerBoundaryIs><LinearRing><coordinates>1.44,44.44 1.45,44.44 1.45,44.45 1.44,44.44</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>`;
    const fileInput = page.getByLabel('Fichier de la zone');
    await fileInput.setInputFiles({ name: 'zone.kml', mimeType: 'application/vnd.google-earth.kml+xml', buffer: Buffer.from(kml) });
    await expect.poll(() => page.locator('.extract-form .field.invalid [role=alert]').innerText(), { timeout: 10_000 }).toBe('Ce KML contient une déclaration DOCTYPE : refusé. Exportez-le de nouveau sans DOCTYPE.');
    const far = { type: 'Polygon', coordinates: [[[700_000, 6_800_000], [700_100, 6_800_000], [700_100, 6_800_100], [700_000, 6_800_000]]], crs: L93 };
    await fileInput.setInputFiles({ name: 'paris.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(far)) });
    await expect.poll(() => page.locator('.extract-form .field.invalid [role=alert]').innerText(), { timeout: 10_000 }).toBe('Cet endroit est hors du territoire couvert par le PCRS.');
    const near = { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[575_100, 6_373_500], [575_150, 6_373_500], [575_150, 6_373_540], [575_100, 6_373_500]]], crs: L93 } };
    await fileInput.setInputFiles({ name: 'zone.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(near)) });
    await expect.poll(() => page.locator('#extract-area-file-hint').innerText(), { timeout: 10_000 }).toMatch(/^Fichier geojson lu : 1 polygone\(s\), 1\s000 m²\.$/);
    expect(await page.locator('.extract-form .field.invalid').count()).toBe(0);

    // --- Mes extraits; the e-mail ---------------------------------------------------------------
    await page.getByRole('link', { name: 'Mes extraits' }).first().click();
    await expect.poll(() => page.locator('table.extracts tbody tr').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator('table.extracts').innerText()).toMatch(/Cahors \(46042\)[\s\S]*prêt/);
    await smtp.waitFor((m) => m.to.includes(USER.email) && m.subject === 'Votre extrait PCRS est prêt — Cahors (46042)', { timeoutMs: 20_000 });
    const mails = smtp.to(USER.email).filter((m) => m.subject.startsWith('Votre extrait PCRS est prêt'));
    expect(mails).toHaveLength(2);
    expect(mails.map((m) => m.text).join('\n')).toContain(`/#/extraits/${commune.id}\n`);
    // That link opens the extract's page, ready.
    await page.goto(`${base}/#/extraits/${commune.id}`);
    await expect.poll(() => page.locator('.extract-status').innerText(), { timeout: 10_000 }).toContain('L’extrait est prêt.');
    expect(await page.locator('.facts').innerText()).toMatch(/Cahors \(46042\)[\s\S]*Orthophotographie, dalles d’origine[\s\S]*2025/);
    // Someone else's extract is not found.
    await page.goto(`${base}/#/extraits/999999`);
    await expect.poll(() => page.locator('main [role=alert]').innerText(), { timeout: 10_000 }).toBe('Introuvable.');
    expect(errors).toEqual([]);
  }, 400_000);

  it('an anonymous visitor downloading a dalle from the map is shown the licence first, and it is remembered for the browser', async () => {
    const page = await pageFor(null);
    await page.goto(`${base}/#/carte?vue=575100.0,6373500.0,19`);
    await expect.poll(() => page.locator('#map canvas').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.waitForTimeout(500);
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const link = page.locator('#info .dalle a').first();
    await expect.poll(() => link.count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await link.click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible(), { timeout: 10_000 }).toBe(true);
    const [first] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), dialog.getByRole('button', { name: 'J’accepte' }).click()]);
    expect(first.suggestedFilename()).toMatch(/\.tif$/);
    // Once accepted, the next download goes at once.
    const [second] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), link.click()]);
    expect(second.suggestedFilename()).toBe(first.suggestedFilename());
    expect(await dialog.count()).toBe(0);
    const rows = await f.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM licence_acceptances WHERE user_id IS NULL AND browser_hash IS NOT NULL AND licence = 'licence-ouverte'`);
    expect(rows.rows[0]?.n).toBe(1);
    expect(errors).toEqual([]);
  }, 120_000);
});
