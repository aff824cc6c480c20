import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../capabilities.js';
import { CAN_RUN_BROWSER, launchChromium, portalServer, type PortalServer } from './test-support/portal-server.js';

/**
 * END-TO-END ACCOUNT FLOW, in Chromium, against the real server and its real accounts and access
 * routes (no stand-in): a new user signs up, opens the verification link of the e-mail the server
 * wrote (an .eml under the data directory: no SMTP configured), signs in, creates an API key that
 * is shown once, and the key works; the platform admin (PCRS_ADMIN_EMAIL at first start) creates
 * the user's organisation, which the user finds suggested and asks to join, and accepts the
 * request; the admin makes a dataset restricted and grants the user a permission on it from the
 * admin screens (seen in the audit log); the user's key then lists it; the user revokes the key,
 * which the server refuses from then on.
 *
 * The routes come from the `accounts` and `access` capabilities; the test is skipped only where
 * they are not registered in src/capabilities.ts (portal-shell.test.ts tests the screens against
 * a stand-in of the same API in any case).
 */
const NAMES = new Set(CAPABILITIES.map((c) => c.name));
const ROUTES_LANDED = NAMES.has('accounts') && NAMES.has('access');

const ADMIN = { email: 'admin@pcrs.test', password: 'administrateur du PCRS 46' };
const USER = { email: 'camille.martin@cahors.fr', password: 'une phrase de passe solide', name: 'Camille Martin' };

describe.runIf(CAN_RUN_BROWSER)('account flow, end to end (Chromium, real accounts and access routes)', () => {
  let s: PortalServer;
  let browser: Browser;

  beforeAll(async () => {
    if (!ROUTES_LANDED) return;
    s = await portalServer({ PCRS_ADMIN_EMAIL: ADMIN.email, PCRS_ADMIN_PASSWORD: ADMIN.password, PCRS_COOKIE_SECURE: 'false', PCRS_SECRET_KEY: 'portal-e2e-secret-key-of-at-least-32-chars' });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await s?.dispose();
  });

  /** The texts of the mails the server wrote to `to`, oldest first. */
  async function mailsTo(to: string): Promise<string[]> {
    const dir = path.join(s.config.dataDir, 'mail');
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
    } catch {
      return [];
    }
    const texts: string[] = [];
    for (const f of files) {
      const mail = await simpleParser(readFileSync(path.join(dir, f)));
      const recipients = [mail.to].flat().flatMap((a) => a?.value ?? []).map((v) => v.address?.toLowerCase());
      if (recipients.includes(to)) texts.push(`${mail.subject ?? ''}\n${mail.text ?? ''}`);
    }
    return texts;
  }

  async function signIn(page: Page, who: { email: string; password: string }, retour: string) {
    await page.goto(`${s.base}/#/connexion?retour=${retour}`);
    await page.getByLabel('Adresse e-mail').fill(who.email);
    await page.getByLabel('Mot de passe').fill(who.password);
    await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
    await expect.poll(() => new URL(page.url()).hash, { timeout: 10_000 }).toBe(`#${retour}`);
  }

  it.skipIf(!ROUTES_LANDED)('sign-up → e-mail link → sign-in → key shown once → joins an organisation → admin grants a permission → key revoked', async () => {
    const errors: string[] = [];
    // --- the new user -------------------------------------------------------------------------
    const userContext = await browser.newContext({ locale: 'en-US', permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await userContext.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${s.base}/#/inscription`);
    await page.getByLabel('Adresse e-mail').fill(USER.email);
    await page.getByLabel('Nom affiché').fill(USER.name);
    await page.getByLabel('Mot de passe', { exact: true }).fill(USER.password);
    await page.getByLabel('Confirmez le mot de passe').fill(USER.password);
    await page.getByRole('button', { name: 'Créer mon compte' }).click();
    await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toMatch(/un message vient d’y être envoyé/);

    // The verification e-mail (French first) and its link to the portal's landing screen.
    await expect.poll(async () => (await mailsTo(USER.email)).length, { timeout: 10_000 }).toBeGreaterThan(0);
    const mail = (await mailsTo(USER.email))[0]!;
    const token = /#\/verifier\?token=([A-Za-z0-9_%-]+)/.exec(mail)?.[1];
    expect(token, mail).toBeTruthy();
    await page.goto(`${s.base}/#/verifier?token=${token}`);
    await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toMatch(/Votre adresse e-mail est confirmée/);
    // A link is used once.
    await page.reload();
    await expect.poll(() => page.getByRole('alert').innerText(), { timeout: 10_000 }).toMatch(/n’est plus valable|déjà/);

    // Sign-in, then a key.
    await signIn(page, USER, '/compte/cles');
    expect(await page.locator('header .user').innerText()).toContain(`Connecté : ${USER.name}`);
    await page.getByLabel('Nom', { exact: true }).fill('QGIS bureau');
    await page.getByRole('button', { name: 'Créer la clé' }).click();
    const keyField = page.getByLabel('Clé d’API');
    await expect.poll(() => keyField.count(), { timeout: 10_000 }).toBe(1);
    const key = await keyField.inputValue();
    expect(key).toMatch(/^pcrs_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    await page.getByRole('button', { name: 'Copier' }).click();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(key);
    await page.getByRole('button', { name: 'J’ai copié ma clé' }).click();
    expect(await page.content()).not.toContain(key);
    await expect.poll(() => page.locator('table.keys').innerText()).toContain('QGIS bureau');
    await page.reload();
    await expect.poll(() => page.locator('table.keys').innerText()).toContain('QGIS bureau');
    expect(await page.content()).not.toContain(key);
    // The key works, as a GIS would send it.
    const withKey = await fetch(`${s.base}/api/v1/me/keys`, { headers: { authorization: `Bearer ${key}` } });
    expect(withKey.status).toBe(200);

    // --- the platform admin -------------------------------------------------------------------
    const adminContext = await browser.newContext({ locale: 'fr-FR' });
    const admin = await adminContext.newPage();
    admin.on('pageerror', (e) => errors.push(e.message));
    await signIn(admin, ADMIN, '/admin/organisations');
    // An organisation whose e-mail domain is the user's.
    await admin.getByLabel('Nom', { exact: true }).fill('Mairie de Cahors');
    await admin.getByLabel('Type').selectOption('commune');
    await admin.getByLabel('Code INSEE (commune, EPCI)').fill('46042');
    await admin.getByLabel('Domaines e-mail').fill('cahors.fr');
    await admin.getByRole('button', { name: 'Créer l’organisation' }).click();
    await expect.poll(() => admin.locator('main').innerText(), { timeout: 10_000 }).toContain('Organisation « Mairie de Cahors » créée.');

    // The user finds it suggested and asks to join; the admin accepts.
    await page.goto(`${s.base}/#/compte/organisations`);
    const suggested = page.locator('.org-list li.suggested');
    await expect.poll(() => suggested.first().innerText(), { timeout: 10_000 }).toMatch(/Mairie de Cahors[\s\S]*suggérée/);
    await page.getByRole('button', { name: 'Demander à rejoindre Mairie de Cahors' }).click();
    await page.getByLabel('Message à l’administrateur (facultatif)').fill('Service SIG de la ville');
    await page.getByRole('button', { name: 'Envoyer la demande' }).click();
    await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toContain('Demande envoyée à Mairie de Cahors.');
    await admin.goto(`${s.base}/#/admin/organisations/mairie-de-cahors`);
    await expect.poll(() => admin.locator('main').innerText(), { timeout: 10_000 }).toMatch(/Demandes en attente \(1\)[\s\S]*Service SIG de la ville/);
    await admin.getByRole('button', { name: 'Accepter' }).click();
    await expect.poll(() => admin.locator('main').innerText(), { timeout: 10_000 }).toContain(`${USER.name} est maintenant membre.`);
    await page.reload();
    await expect.poll(() => page.locator('main table').first().innerText(), { timeout: 10_000 }).toMatch(/Mairie de Cahors[\s\S]*membre/);
    // The decision reached the user by e-mail too.
    await expect.poll(async () => (await mailsTo(USER.email)).length, { timeout: 10_000 }).toBeGreaterThan(1);

    await admin.goto(`${s.base}/#/admin/visibilite`);
    await expect.poll(() => admin.getByLabel('Visibilité du jeu vector').count(), { timeout: 10_000 }).toBe(1);
    await admin.getByLabel('Visibilité du jeu vector').selectOption('restricted');
    await expect.poll(() => admin.locator('main [role=status]').first().innerText(), { timeout: 10_000 }).toBe('Visibilité de vector enregistrée.');
    await admin.goto(`${s.base}/#/admin/permissions`);
    await admin.getByLabel('Accordée à').selectOption('user');
    await admin.getByLabel('Adresse e-mail de la personne').fill(USER.email);
    await admin.getByLabel('Jeu de données').selectOption('vector');
    await admin.getByLabel('Jusqu’au').fill('2099-12-31');
    await admin.getByLabel('Charte ou licence acceptée').fill('charte PCRS Lot v2');
    await admin.getByRole('button', { name: 'Accorder', exact: true }).click();
    await expect.poll(() => admin.locator('main').innerText(), { timeout: 10_000 }).toContain('Permission accordée.');
    await expect.poll(() => admin.locator('main table').last().innerText()).toMatch(/vector[\s\S]*charte PCRS Lot v2/);
    // The audit log shows the grant.
    await admin.goto(`${s.base}/#/admin/journal`);
    await admin.getByLabel('Action').fill('permission.grant');
    await admin.getByRole('button', { name: 'Rechercher' }).click();
    await expect.poll(() => admin.locator('table.audit').innerText(), { timeout: 10_000 }).toContain('permission.grant');

    // The user's key now sees the permission; the map's streams mark the vector restricted.
    const perms = (await (await fetch(`${s.base}/api/v1/permissions`, { headers: { authorization: `Bearer ${key}` } })).json()) as Array<{ dataset: string }>;
    expect(perms.map((p) => p.dataset)).toContain('vector');
    await page.goto(`${s.base}/#/carte`);
    await page.getByLabel('Votre clé d’API (pour les couches restreintes)').fill(key);
    await expect.poll(() => page.getByRole('region', { name: 'PCRS vecteur' }).innerText(), { timeout: 15_000 }).toContain(`${s.base}/wfs?apikey=${key}`);

    // --- revocation ---------------------------------------------------------------------------
    await page.goto(`${s.base}/#/compte/cles`);
    await page.getByRole('button', { name: 'Révoquer' }).click();
    await page.getByRole('button', { name: 'Oui' }).click();
    await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toContain('Clé « QGIS bureau » révoquée.');
    const refused = await fetch(`${s.base}/api/v1/me/keys`, { headers: { authorization: `Bearer ${key}` } });
    expect(refused.status).toBe(401);

    expect(errors).toEqual([]);
    await userContext.close();
    await adminContext.close();
  }, 180_000);
});
