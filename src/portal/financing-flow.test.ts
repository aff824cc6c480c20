import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, ensureOrganisation, sessionFor } from '../test-support/access.js';
import { CAN_RUN_BROWSER, launchChromium, portalServer, screenshot, type PortalServer } from './test-support/portal-server.js';

/**
 * THE FINANCING PLAN IN THE PORTAL, in Chromium against the real server: the commission's
 * administrator enters a cost (a bad amount first: the form says why), a FEDER subsidy, sets a
 * fixed key (a key not summing to 100 first: refused), and sees each partner's share; the PDF
 * downloads; an organisation's administrator reads the plan without the forms.
 */
describe.runIf(CAN_RUN_BROWSER)('the financing plan in the portal (Chromium, real server)', () => {
  let s: PortalServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  let adminCookie = '';
  let orgAdminCookie = '';
  const year = new Date().getFullYear();

  beforeAll(async () => {
    s = await portalServer({ PCRS_COOKIE_SECURE: 'false', PCRS_SECRET_KEY: 'portal-financing-secret-key-of-32-chars+' });
    await ensureOrganisation(s.ctx, 'fdel46', 'aplc');
    await ensureOrganisation(s.ctx, 'cahors', 'commune');
    adminCookie = (await sessionFor(s.ctx, await createUser(s.ctx, 'commission@fdel46.fr', { platformRoles: ['platform-admin'] }))).cookie;
    orgAdminCookie = (await sessionFor(s.ctx, await createUser(s.ctx, 'dgs@cahors.fr', { memberships: [{ org: 'cahors', role: 'org-admin' }] }))).cookie;
    // Named after the users are made (making a member names its organisation after its slug).
    await s.ctx.db.query(`UPDATE organisations SET name = 'Territoire d’énergie Lot' WHERE slug = 'fdel46'`);
    await s.ctx.db.query(`UPDATE organisations SET name = 'Ville de Cahors' WHERE slug = 'cahors'`);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1300, height: 1000 }, locale: 'fr-FR', acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => errors.push(e.message));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await s?.dispose();
  });

  it('the commission enters amounts and a key; the shares follow; the PDF downloads', async () => {
    await context.addCookies([{ name: 'pcrs_session', value: adminCookie, url: s.base }]);
    await page.goto(`${s.base}/#/financement`);
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 15_000 }).toBe('Plan de financement');
    const add = page.getByRole('form', { name: 'Saisir un montant' });
    await add.getByLabel('Libellé').fill('Prise de vue aérienne');
    await add.getByLabel('Montant (€)').fill('-12');
    await add.getByRole('button', { name: 'Ajouter' }).click();
    await expect.poll(() => add.innerText(), { timeout: 5_000 }).toContain('Montant non valable');
    await add.getByLabel('Montant (€)').fill('120000');
    await add.getByLabel('Fournisseur').fill('Aérodata');
    await add.getByRole('button', { name: 'Ajouter' }).click();
    await expect.poll(() => add.innerText(), { timeout: 5_000 }).toContain('Montant ajouté au plan.');
    await add.getByLabel('Nature').selectOption('funding');
    await add.getByLabel('Libellé').fill('FEDER Occitanie');
    await add.getByLabel('Montant (€)').fill('48000,00');
    await add.getByRole('button', { name: 'Ajouter' }).click();
    const acquisition = page.locator('table.financing-lines tbody tr', { hasText: 'Acquisition' });
    await expect.poll(() => acquisition.innerText(), { timeout: 10_000 }).toMatch(/120\s000,00\s€\s+48\s000,00\s€\s+72\s000,00\s€\s+aucune : non réparti/);

    const key = page.getByRole('form', { name: 'Clé de répartition d’une ligne' });
    await key.getByLabel('Poids par partenaire (identifiant=valeur)').fill('fdel46=60 cahors=30');
    await key.getByRole('button', { name: 'Enregistrer la clé' }).click();
    await expect.poll(() => key.innerText(), { timeout: 5_000 }).toContain('Clé non valable');
    await key.getByLabel('Poids par partenaire (identifiant=valeur)').fill('fdel46=60 cahors=40');
    await key.getByRole('button', { name: 'Enregistrer la clé' }).click();
    await expect.poll(() => key.innerText(), { timeout: 5_000 }).toContain('Clé de la ligne « Acquisition » enregistrée.');
    const cahors = page.locator('table.financing-partners tbody tr', { hasText: 'Ville de Cahors' });
    await expect.poll(() => cahors.innerText(), { timeout: 10_000 }).toMatch(/28\s800,00\s€/);
    expect(await page.locator('table.financing-partners tbody tr', { hasText: 'Territoire d’énergie Lot' }).innerText()).toMatch(/43\s200,00\s€/);

    const [pdf] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'PDF imprimable' }).click()]);
    expect(pdf.suggestedFilename()).toBe(`plan-de-financement-${year}.pdf`);
    expect(readFileSync((await pdf.path())!).subarray(0, 5).toString()).toBe('%PDF-');
    await screenshot(page, 'financing-admin');
    expect(errors).toEqual([]);
  });

  it('an organisation administrator reads the plan, without the forms', async () => {
    await context.clearCookies();
    await context.addCookies([{ name: 'pcrs_session', value: orgAdminCookie, url: s.base }]);
    await page.goto(`${s.base}/#/financement`);
    await page.reload();
    const cahors = page.locator('table.financing-partners tbody tr', { hasText: 'Ville de Cahors' });
    await expect.poll(() => cahors.innerText(), { timeout: 15_000 }).toMatch(/28\s800,00\s€/);
    expect(await page.getByRole('form', { name: 'Saisir un montant' }).count()).toBe(0);
    expect(await page.getByRole('form', { name: 'Clé de répartition d’une ligne' }).count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
