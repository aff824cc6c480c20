import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tileAt, TMS_2154_5CM } from '../grid/tile-matrix-set.js';
import { createUser, ensureOrganisation, sessionFor, userWithKey } from '../test-support/access.js';
import { CAN_RUN_BROWSER, launchChromium, portalServer, screenshot, type PortalServer } from './test-support/portal-server.js';

/**
 * USAGE STATISTICS IN THE PORTAL, in Chromium against the real server: traffic of two
 * organisations (real requests with their keys) and tiles counted over Cahors. A member of Cahors
 * sees its organisation only — the table, the chart (uPlot's canvas), the CSV it downloads — and
 * the heat map; the administrator sees both organisations and regroups by service.
 */
describe.runIf(CAN_RUN_BROWSER)('usage statistics in the portal (Chromium, real server)', () => {
  let s: PortalServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  let memberCookie = '';
  let adminCookie = '';

  beforeAll(async () => {
    s = await portalServer({ PCRS_COOKIE_SECURE: 'false', PCRS_SECRET_KEY: 'portal-usage-secret-key-of-32-characters++' });
    const cahors = await userWithKey(s.ctx, 'sig@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }] });
    const sdis = await userWithKey(s.ctx, 'carto@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }] });
    await s.ctx.db.query(`UPDATE organisations SET name = $2 WHERE slug = $1`, ['cahors', 'Ville de Cahors']);
    await ensureOrganisation(s.ctx, 'sdis46');
    await s.ctx.db.query(`UPDATE organisations SET name = $2 WHERE slug = $1`, ['sdis46', 'SDIS du Lot']);
    for (let i = 0; i < 3; i++) await (await fetch(`${s.base}/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0`, { headers: { authorization: `Bearer ${cahors.key}` } })).arrayBuffer();
    for (let i = 0; i < 5; i++) await (await fetch(`${s.base}/wmts/1.0.0/WMTSCapabilities.xml`, { headers: { authorization: `Bearer ${sdis.key}` } })).arrayBuffer();
    // Tiles asked over Cahors (the tile path counts them so; here the meter is told directly).
    const tile = tileAt(TMS_2154_5CM, 20, 574_700, 6_370_300)!;
    for (let i = 0; i < 4; i++) s.ctx.usage.countTile(TMS_2154_5CM, tile.z, tile.col, tile.row);
    await s.ctx.usage.flush();
    memberCookie = (await sessionFor(s.ctx, cahors.userId)).cookie;
    adminCookie = (await sessionFor(s.ctx, await createUser(s.ctx, 'admin@fdel46.fr', { platformRoles: ['platform-admin'] }))).cookie;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'fr-FR', acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await s?.dispose();
  });

  it('a member sees its organisation: table, chart, CSV, heat map', async () => {
    await context.addCookies([{ name: 'pcrs_session', value: memberCookie, url: s.base }]);
    await page.goto(`${s.base}/#/statistiques`);
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 15_000 }).toBe('Statistiques d’usage');
    const table = page.locator('table.usage-table');
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    const rows = await table.locator('tbody tr').allInnerTexts();
    // Only Cahors: its three WMS requests (and the page's own API calls, counted too).
    expect(rows.every((r) => r.startsWith('Ville de Cahors'))).toBe(true);
    expect(rows.join('\n')).not.toContain('SDIS');
    expect(await page.locator('.usage-summary').innerText()).toContain('Vos organisations et vos clés.');
    await expect.poll(() => page.locator('.usage-chart canvas').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await page.locator('.usage-heat svg rect').count()).toBe(2); // the background and one cell
    expect(await page.locator('.usage-heat figcaption').innerText()).toContain('la plus demandée : 4');

    // Grouped by service, WMS shows the three requests.
    await page.getByLabel('Regrouper par').selectOption('service');
    await page.getByRole('button', { name: 'Afficher' }).click();
    const wms = page.locator('table.usage-table tbody tr', { hasText: 'WMS' });
    await expect.poll(() => wms.innerText(), { timeout: 10_000 }).toMatch(/^WMS\s+3\s/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Exporter en CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('service,requests,bytes');
    expect(csv).toMatch(/\r\nwms,3,\d+\r\n/);
    await screenshot(page, 'usage-member');
    expect(errors).toEqual([]);
  });

  it('the administrator sees every organisation; a custom period with no data says so', async () => {
    await context.clearCookies();
    await context.addCookies([{ name: 'pcrs_session', value: adminCookie, url: s.base }]);
    await page.goto(`${s.base}/#/statistiques`);
    await page.reload();
    const table = page.locator('table.usage-table');
    await expect.poll(() => table.locator('tbody tr', { hasText: 'SDIS du Lot' }).count(), { timeout: 15_000 }).toBe(1);
    expect(await table.locator('tbody tr', { hasText: 'SDIS du Lot' }).innerText()).toMatch(/SDIS du Lot\s+5\s/);
    expect(await page.locator('.usage-summary').innerText()).toContain('Toutes les organisations.');
    await page.getByLabel('Période', { exact: true }).selectOption('custom');
    await page.getByLabel('Du (AAAA-MM-JJ)').fill('2020-01-01');
    await page.getByLabel('Au (AAAA-MM-JJ)').fill('2020-01-31');
    await page.getByRole('button', { name: 'Afficher' }).click();
    await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toContain('Aucun usage compté sur cette période.');
    // Upside down: the form says so and asks nothing.
    await page.getByLabel('Du (AAAA-MM-JJ)').fill('2020-02-01');
    await page.getByRole('button', { name: 'Afficher' }).click();
    await expect.poll(() => page.locator('.field.invalid').count(), { timeout: 5_000 }).toBe(1);
    await screenshot(page, 'usage-admin');
    expect(errors).toEqual([]);
  });
});
