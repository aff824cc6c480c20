import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailCatcher, type MailCatcher } from '../accounts/test-support/smtp.js';
import { streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { createUser, sessionFor } from '../test-support/access.js';
import { CAN_RUN_BROWSER, launchChromium, screenshot } from './test-support/portal-server.js';

/**
 * DECLARATIONS, END TO END in Chromium, against the real server (every capability, the test
 * orthophoto and vector ingested so that the map draws) and a real SMTP server on loopback:
 * a user reports an error from the map (draws a point by clicking, fills the form with a title and
 * a description holding markup and script, attaches a PNG made here), finds it in "Mes
 * déclarations" and on its page; a moderator finds it on the triage screen (list and map select
 * each other), acknowledges it, assigns it, comments, tries to resolve it without a reason (refused
 * in the form) then with one; the author receives each e-mail, with the link to the declaration's
 * page, which shows the history. Nothing the users wrote runs: the texts show literally.
 *
 * The endpoints of other pieces of issue 11 (attachments, "author=me", subscription, bulk,
 * statistics) are exercised when the server has them; without them, the screens must say the
 * failure in French (checked too), which is what a user of a server without them would see.
 */
const AUTHOR = { email: 'alice@cahors.fr', name: 'alice' };
const MODERATOR = { email: 'moderateur@fdel46.fr', name: 'moderateur' };
const XSS_TITLE = 'Bordure disparue <img src=x onerror="window.__xss=1">';
const XSS_DESCRIPTION = '<script>window.__xss=2</script>La bordure du trottoir n’existe plus depuis les travaux.';
const XSS_COMMENT = 'Vu sur place <img src=y onerror="window.__xss=3"> <b>merci</b>';

describe.runIf(CAN_RUN_BROWSER)('declarations in the portal, end to end (Chromium, real server, real SMTP)', () => {
  let f: StreamsFixture;
  let smtp: MailCatcher;
  let base: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];
  let author: { userId: number; cookie: string; csrf: string };
  let moderator: { userId: number; cookie: string };
  const has = (method: 'GET' | 'POST' | 'PUT', url: string) => f.app.hasRoute({ method, url });

  beforeAll(async () => {
    smtp = await startMailCatcher();
    f = await streamsFixture({ PCRS_SMTP_URL: smtp.url, PCRS_COOKIE_SECURE: 'false', PCRS_SECRET_KEY: 'portal-declarations-secret-key-of-32-chars-or-more' }, { vector: true });
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    const address = f.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const authorId = await createUser(f.ctx, AUTHOR.email, { memberships: [{ org: 'cahors', role: 'member' }] });
    const as = await sessionFor(f.ctx, authorId);
    author = { userId: authorId, cookie: as.cookie, csrf: as.csrfToken };
    const moderatorId = await createUser(f.ctx, MODERATOR.email, { platformRoles: ['moderator'], memberships: [{ org: 'fdel46', role: 'member' }] });
    moderator = { userId: moderatorId, cookie: (await sessionFor(f.ctx, moderatorId)).cookie };
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    f?.ctx.mail.close();
    await f?.dispose();
    await smtp?.close();
  });

  /** A browser signed in with this session cookie (as after a sign-in), French, desktop size. */
  async function pageFor(cookie: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'fr-FR' });
    contexts.push(context);
    await context.addCookies([{ name: 'pcrs_session', value: cookie, url: base }]);
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    return page;
  }

  const noScriptRan = async (page: Page) => expect(await page.evaluate('window.__xss')).toBeUndefined();
  const main = (page: Page) => page.locator('main');

  it('a user reports an error from the map with a photo; a moderator triages, assigns, comments and resolves it; the author is e-mailed; no text is markup', async () => {
    const png = await sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();

    // --- the author, on the map ---------------------------------------------------------------
    let page = await pageFor(author.cookie);
    await page.goto(`${base}/#/carte?vue=575100.0,6373700.0,19`);
    const report = page.getByRole('button', { name: 'Signaler', exact: true });
    await expect.poll(() => report.isEnabled(), { timeout: 30_000 }).toBe(true);
    // The declarations layer is in the layer list, with its legend.
    expect(await page.getByLabel('Déclarations (couleur par état)').isChecked()).toBe(true);
    expect(await page.getByRole('list', { name: 'Légende des déclarations' }).innerText()).toMatch(/soumise[\s\S]*résolue/);
    await report.click();
    await page.getByRole('button', { name: 'Un point' }).click();
    await expect.poll(() => page.locator('.draw-hint').innerText()).toContain('Cliquez sur la carte');
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.getByLabel('Titre').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('.report').innerText()).toContain('Géométrie dessinée : Un point.');

    // A server refusal is said in French, next to the field (a 201-character title).
    await page.getByLabel('Titre').fill('x'.repeat(201));
    await page.getByLabel('Description').fill('trop long');
    await page.getByRole('button', { name: 'Envoyer la déclaration' }).click();
    await expect.poll(() => page.locator('.report [role=alert]').innerText(), { timeout: 10_000 }).toBe('Certaines valeurs sont refusées : vérifiez le formulaire.');
    expect(await page.locator('.report .field.invalid').first().innerText()).toContain('Valeur refusée par le serveur.');
    // Works fields appear for "travaux" only, with the theme codes in French.
    await page.getByLabel('Type').selectOption('works');
    expect(await page.getByRole('group', { name: 'Thèmes impactés' }).innerText()).toMatch(/03A — voirie faible ampleur[\s\S]*10 — affleurant/);
    await page.getByLabel('Début prévu').fill('2026-05-10');
    await page.getByLabel('Fin prévue').fill('2026-05-01');
    await page.getByRole('button', { name: 'Envoyer la déclaration' }).click();
    await expect.poll(() => page.locator('.report').innerText()).toContain('La fin prévue ne peut pas précéder le début.');
    await page.getByLabel('Type').selectOption('error');

    await page.getByLabel('Titre').fill(XSS_TITLE);
    await page.getByLabel('Description').fill(XSS_DESCRIPTION);
    await page.getByLabel('Couche concernée (facultatif)').selectOption('ortho/2025');
    await page.getByLabel('Photos (facultatif, plusieurs possibles)').setInputFiles([{ name: 'bordure.png', mimeType: 'image/png', buffer: png }]);
    await page.getByRole('button', { name: 'Envoyer la déclaration' }).click();
    await expect.poll(() => page.locator('.report-done').innerText(), { timeout: 10_000 }).toMatch(/Déclaration n° \d+ enregistrée\./);
    const id = Number(/n° (\d+) enregistrée/.exec(await page.locator('.report-done').innerText())?.[1]);
    expect(id).toBeGreaterThan(0);
    const stored = await f.t.db.query<{ title: string; description: string; author_user_id: string; kind: string }>(
      `SELECT title, description, author_user_id, GeometryType(geom) AS kind FROM declarations WHERE id = $1`,
      [id],
    );
    expect(stored.rows[0]).toMatchObject({ title: XSS_TITLE, description: XSS_DESCRIPTION, kind: 'POINT' });
    expect(Number(stored.rows[0]?.author_user_id)).toBe(author.userId);
    // The photo: uploaded after the create, with its own outcome.
    const attachments = has('POST', '/api/v1/declarations/:id/attachments');
    if (attachments) await expect.poll(() => page.locator('.uploads').innerText(), { timeout: 15_000 }).toBe('bordure.png : envoyée');
    else await expect.poll(() => page.locator('.uploads').innerText(), { timeout: 15_000 }).toMatch(/^bordure\.png : échec — Introuvable\./);
    await screenshot(page, 'declaration-signalee');
    // The new declaration is on the map's layer (the count of the view includes it).
    await expect.poll(() => page.locator('.declarations-layer').innerText(), { timeout: 10_000 }).toContain('1 déclaration(s) dans la vue');
    // A click on it opens its summary in the panel, as text.
    await page.getByRole('button', { name: 'Fermer' }).click();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.locator('.declaration-summary').innerText(), { timeout: 10_000 }).toContain(`Déclaration n° ${id} : ${XSS_TITLE}`);
    expect(await page.locator('.declaration-summary').innerText()).toContain(XSS_DESCRIPTION);
    await noScriptRan(page);

    // A second one by the API (elsewhere in the town), for the triage screen.
    const second = await fetch(`${base}/api/v1/declarations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `pcrs_session=${author.cookie}`, 'x-csrf-token': author.csrf },
      body: JSON.stringify({ type: 'update-request', title: 'Nouveau rond-point', description: 'Le giratoire est achevé.', geometry: { type: 'Point', coordinates: [575_350, 6_373_450], crs: { type: 'name', properties: { name: 'EPSG:2154' } } } }),
    });
    expect(second.status, await second.clone().text()).toBe(201);
    const secondId = ((await second.json()) as { id: number }).id;

    // --- Mes déclarations and the declaration's page --------------------------------------------
    await page.getByRole('link', { name: 'Mes déclarations' }).click();
    const authorMe = (await fetch(`${base}/api/v1/declarations?author=me`, { headers: { cookie: `pcrs_session=${author.cookie}` } })).status === 200;
    if (authorMe) {
      await expect.poll(() => page.locator('table.declarations').innerText(), { timeout: 10_000 }).toContain(XSS_TITLE);
      await page.getByRole('link', { name: XSS_TITLE }).click();
    } else {
      // (GET /declarations?author=me is another piece of issue 11: until then, the screen says so in French.)
      await expect.poll(() => main(page).getByRole('alert').innerText(), { timeout: 10_000 }).toBe('Certaines valeurs sont refusées : vérifiez le formulaire.');
      await page.goto(`${base}/#/declarations/${id}`);
    }
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 10_000 }).toBe(`Déclaration n° ${id} : ${XSS_TITLE}`);
    expect(await page.locator('p.description').innerText()).toBe(XSS_DESCRIPTION);
    expect(await page.locator('main img[src="x"], main script').count()).toBe(0);
    expect(await page.locator('.declaration-fields').innerText()).toMatch(/erreur[\s\S]*soumise[\s\S]*alice \(cahors\)[\s\S]*ortho 2025/);
    expect(await page.locator('ol.history').innerText()).toMatch(/alice a déclaré \(.*→ soumise\)|alice a déclaré/);
    if (attachments) {
      await expect.poll(() => page.locator('.attachment-list img.thumb').count(), { timeout: 10_000 }).toBe(1);
      const src = await page.locator('.attachment-list img.thumb').getAttribute('src');
      expect(src).toMatch(new RegExp(`^/api/v1/declarations/${id}/attachments/\\d+$`));
      await expect.poll(() => page.evaluate(`document.querySelector('.attachment-list img.thumb').naturalWidth`), { timeout: 10_000 }).toBe(16);
    }
    // The mini-map draws (its own canvas).
    await expect.poll(() => page.locator('.mini-map canvas').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await noScriptRan(page);

    // --- the moderator: triage ------------------------------------------------------------------
    const mod = await pageFor(moderator.cookie);
    await mod.goto(`${base}/#/triage`);
    await expect.poll(() => mod.locator('table.triage-table').innerText(), { timeout: 15_000 }).toContain(XSS_TITLE);
    expect(await mod.locator('table.triage-table').innerText()).toContain('Nouveau rond-point');
    await expect.poll(() => mod.locator('.triage-map canvas').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    // List → map: the row's number centres the map on it and marks the row; map → list: a click
    // beside it clears, a click on it marks the row again.
    const row = mod.locator(`tr[data-id="${id}"]`);
    await row.getByRole('button', { name: String(id) }).click();
    await expect.poll(() => row.getAttribute('class')).toBe('focused');
    await mod.waitForTimeout(500);
    const mapBox = (await mod.locator('.triage-map').boundingBox())!;
    await mod.mouse.click(mapBox.x + 20, mapBox.y + mapBox.height - 20);
    await expect.poll(() => row.getAttribute('class')).toBe('');
    await mod.mouse.click(mapBox.x + mapBox.width / 2, mapBox.y + mapBox.height / 2);
    await expect.poll(() => row.getAttribute('class'), { timeout: 5_000 }).toBe('focused');
    // Filters: type "demande de mise à jour" leaves only the second one.
    await mod.getByLabel('Type', { exact: true }).selectOption('update-request');
    await mod.getByRole('button', { name: 'Filtrer' }).click();
    await expect.poll(() => mod.locator('table.triage-table tbody tr').count(), { timeout: 10_000 }).toBe(1);
    expect(await mod.locator('table.triage-table').innerText()).toContain('Nouveau rond-point');
    await screenshot(mod, 'triage');
    if (has('POST', '/api/v1/declarations/bulk')) {
      await mod.getByLabel(`Sélectionner la déclaration n° ${secondId}`).check();
      await mod.getByLabel('Changer l’état en').selectOption('rejected');
      await mod.getByRole('button', { name: 'Appliquer à la sélection' }).click();
      await expect.poll(() => mod.locator('form.bulk').innerText(), { timeout: 10_000 }).toContain('Un motif est obligatoire pour clore.');
      await mod.getByLabel('Motif').fill('Déjà dans le levé 2025.');
      await mod.getByRole('button', { name: 'Appliquer à la sélection' }).click();
      await expect.poll(() => mod.locator('form.bulk').innerText(), { timeout: 10_000 }).toContain('1 déclaration(s) mise(s) à jour, 0 refusée(s).');
      await smtp.waitFor((m) => m.to.includes(AUTHOR.email) && m.subject.includes(`n° ${secondId} rejetée`));
    }

    // --- the moderator: the declaration's page ------------------------------------------------
    await mod.goto(`${base}/#/declarations/${id}`);
    await expect.poll(() => mod.getByRole('region', { name: 'Modération' }).count(), { timeout: 10_000 }).toBe(1);
    await mod.getByLabel('Nouvel état').selectOption('acknowledged');
    await mod.getByRole('button', { name: 'Changer l’état' }).click();
    await expect.poll(() => main(mod).innerText(), { timeout: 10_000 }).toContain('État changé : prise en compte.');
    await mod.getByLabel('Personne').selectOption(String(moderator.userId));
    await mod.getByLabel('Organisation', { exact: true }).selectOption('fdel46');
    await mod.getByRole('button', { name: 'Assigner', exact: true }).click();
    await expect.poll(() => main(mod).innerText(), { timeout: 10_000 }).toContain('Assignation enregistrée.');
    expect(await mod.locator('.declaration-fields').innerText()).toMatch(/Assignée à\s+moderateur · fdel46/);
    await mod.getByLabel('Votre commentaire').fill(XSS_COMMENT);
    await mod.getByRole('button', { name: 'Commenter' }).click();
    await expect.poll(() => main(mod).innerText(), { timeout: 10_000 }).toContain('Commentaire ajouté.');
    // Closing needs a reason: refused in the form first.
    await mod.getByLabel('Nouvel état').selectOption('resolved');
    await mod.getByRole('button', { name: 'Changer l’état' }).click();
    await expect.poll(() => mod.locator('.moderation').innerText()).toContain('Un motif est obligatoire pour clore.');
    expect((await f.t.db.query<{ status: string }>(`SELECT status FROM declarations WHERE id = $1`, [id])).rows[0]?.status).toBe('acknowledged');
    await mod.getByLabel('Motif').fill('Bordure reprise dans la mise à jour de mars.');
    await mod.getByRole('button', { name: 'Changer l’état' }).click();
    await expect.poll(() => main(mod).innerText(), { timeout: 10_000 }).toContain('État changé : résolue.');
    const history = await mod.locator('ol.history').innerText();
    expect(history).toMatch(/a déclaré[\s\S]*a changé l’état \(soumise → prise en compte\)[\s\S]*a assigné[\s\S]*a commenté[\s\S]*a clos \(prise en compte → résolue\)/);
    expect(history).toContain(XSS_COMMENT);
    expect(history).toContain('Bordure reprise dans la mise à jour de mars.');
    expect(await mod.locator('main img[src="y"], main b').count()).toBe(0);
    await noScriptRan(mod);
    await screenshot(mod, 'declaration-moderee');

    // --- the author's mailbox -----------------------------------------------------------------
    const link = `${base}/#/declarations/${id}`;
    const ack = await smtp.waitFor((m) => m.to.includes(AUTHOR.email) && m.subject.includes(`n° ${id} prise en compte`));
    const commented = await smtp.waitFor((m) => m.to.includes(AUTHOR.email) && m.subject.includes(`commentaire sur la déclaration n° ${id}`));
    const resolved = await smtp.waitFor((m) => m.to.includes(AUTHOR.email) && m.subject.includes(`n° ${id} résolue`));
    expect(ack.subject).toBe(`PCRS : déclaration n° ${id} prise en compte / PCRS: declaration #${id} acknowledged`);
    expect(resolved.subject).toBe(`PCRS : déclaration n° ${id} résolue / PCRS: declaration #${id} resolved`);
    for (const m of [ack, commented, resolved]) expect(m.text).toContain(link);
    expect(commented.text).toContain(XSS_COMMENT);
    expect(resolved.text).toContain('Bordure reprise dans la mise à jour de mars.');
    // The moderator's own actions never mail the moderator.
    expect(smtp.to(MODERATOR.email)).toEqual([]);

    // The author follows the mail's link (in a new tab, as from a mail client): the page shows where it stands.
    await page.close();
    page = await contexts[0]!.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(link);
    await expect.poll(() => page.locator('.declaration-fields').innerText(), { timeout: 10_000 }).toMatch(/résolue/);
    expect(await page.locator('ol.history').innerText()).toContain(XSS_COMMENT);
    // Not a moderator: no moderation on the author's page.
    expect(await page.getByRole('region', { name: 'Modération' }).count()).toBe(0);
    // Following it (another piece of issue 11; an author may follow their own from the start):
    // the toggle both ways, or its failure said in French.
    const follow = page.locator('.follow button');
    await expect.poll(() => follow.count(), { timeout: 10_000 }).toBe(1);
    if (has('PUT', '/api/v1/declarations/:id/subscription')) {
      if ((await follow.getAttribute('aria-pressed')) === 'true') {
        await page.getByRole('button', { name: 'Ne plus suivre' }).click();
        await expect.poll(() => page.locator('.follow').innerText(), { timeout: 10_000 }).toContain('Vous ne suivez plus cette déclaration.');
      }
      await page.getByRole('button', { name: 'Suivre cette déclaration' }).click();
      await expect.poll(() => page.locator('.follow').innerText(), { timeout: 10_000 }).toContain('Vous suivez cette déclaration');
      expect(await page.getByRole('button', { name: 'Ne plus suivre' }).getAttribute('aria-pressed')).toBe('true');
      await page.reload();
      await expect.poll(() => page.locator('.follow button').getAttribute('aria-pressed'), { timeout: 10_000 }).toBe('true');
    } else {
      await page.getByRole('button', { name: 'Suivre cette déclaration' }).click();
      await expect.poll(() => page.locator('.follow [role=alert]').innerText(), { timeout: 10_000 }).toBe('Introuvable.');
    }
    await noScriptRan(page);

    // The author is not let into triage.
    await page.goto(`${base}/#/triage`);
    await expect.poll(() => main(page).getByRole('alert').innerText(), { timeout: 10_000 }).toBe('Vous n’avez pas les droits pour faire cela.');

    // Statistics (another piece): the chart and tables, or the failure in French.
    await mod.goto(`${base}/#/declarations/stats`);
    if (has('GET', '/api/v1/declarations/stats')) {
      await expect.poll(() => mod.locator('svg[role=img]').count(), { timeout: 10_000 }).toBe(1);
      expect(await mod.locator('table.stats-resolution').innerText()).toContain('erreur');
      await screenshot(mod, 'statistiques');
    } else {
      await expect.poll(() => main(mod).getByRole('alert').innerText(), { timeout: 10_000 }).toMatch(/Introuvable\.|Certaines valeurs sont refusées/);
    }

    expect(errors).toEqual([]);
  }, 240_000);

  it('without an account: an invitation to sign in, and an error reported with an e-mail address, confirmed by the mailed link', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'fr-FR' });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/#/carte?vue=575200.0,6373600.0,19`);
    const report = page.getByRole('button', { name: 'Signaler', exact: true });
    await expect.poll(() => report.isEnabled(), { timeout: 30_000 }).toBe(true);
    // No declarations layer for anonymous visitors: the list needs an account.
    expect(await page.locator('.declarations-layer').innerText()).toContain('Connectez-vous pour voir les déclarations sur la carte.');
    await report.click();
    expect(await page.locator('.report').innerText()).toContain('Connectez-vous pour signaler une erreur');
    await page.getByRole('button', { name: 'Une ligne' }).click();
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2 - 60, box.y + box.height / 2);
    await page.waitForTimeout(400);
    await page.mouse.dblclick(box.x + box.width / 2 + 60, box.y + box.height / 2 + 20);
    await expect.poll(() => page.getByLabel('Votre adresse e-mail').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('.report').innerText()).toContain('Géométrie dessinée : Une ligne.');
    // The honeypot is in the form but not shown to people.
    expect(await page.locator('input[name=website]').count()).toBe(1);
    const trap = (await page.locator('input[name=website]').boundingBox())!;
    expect(trap.x + trap.width).toBeLessThanOrEqual(0);
    // Checked in the page first.
    await page.getByRole('button', { name: 'Envoyer la déclaration' }).click();
    await expect.poll(() => page.locator('.report').innerText()).toMatch(/Donnez un titre\.[\s\S]*Décrivez ce que vous signalez\.[\s\S]*Indiquez votre adresse e-mail\./);
    await page.getByLabel('Titre').fill('Trottoir mal placé <script>window.__xss=4</script>');
    await page.getByLabel('Description').fill('Le trottoir du levé est décalé d’un mètre.');
    await page.getByLabel('Votre adresse e-mail').fill('passant@example.fr');
    await page.getByRole('button', { name: 'Envoyer la déclaration' }).click();
    if (!has('POST', '/api/v1/declarations/anonymous')) {
      // (another piece of issue 11: until it is there, the refusal is said in French)
      await expect.poll(() => page.locator('.report [role=alert]').innerText(), { timeout: 10_000 }).toMatch(/Introuvable\.|Vous devez être connecté/);
      return;
    }
    await expect.poll(() => page.locator('.report-done').innerText(), { timeout: 10_000 }).toContain('Ouvrez le lien reçu par e-mail');
    const mail = await smtp.waitFor((m) => m.to.includes('passant@example.fr'));
    const link = new RegExp(`${base.replace(/[.]/g, '\\.')}/#/declarations/confirmer\\?token=[A-Za-z0-9_%.-]+`).exec(mail.text)?.[0];
    expect(link, mail.text).toBeTruthy();
    await page.goto(link!);
    await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toMatch(/votre signalement est enregistré sous le n° \d+/);
    const id = Number(/n° (\d+)/.exec(await page.locator('main').innerText())?.[1]);
    const row = (await f.t.db.query<{ title: string; author_user_id: string | null; kind: string }>(`SELECT title, author_user_id, GeometryType(geom) AS kind FROM declarations WHERE id = $1`, [id])).rows[0];
    expect(row).toMatchObject({ title: 'Trottoir mal placé <script>window.__xss=4</script>', author_user_id: null, kind: 'LINESTRING' });
    // Opening the link again records nothing more; a forged one is refused in French.
    await page.reload();
    await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toContain(`enregistré sous le n° ${id}`);
    const same = await f.t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM declarations WHERE title LIKE 'Trottoir mal placé%'`);
    expect(same.rows[0]?.n).toBe(1);
    await page.goto(`${base}/#/declarations/confirmer?token=${'A'.repeat(43)}`);
    await expect.poll(() => page.locator('main [role=alert]').innerText(), { timeout: 10_000 }).toBe('Ce lien n’est plus valable (déjà utilisé ou expiré). Demandez-en un nouveau.');
    await noScriptRan(page);
    expect(errors).toEqual([]);
  }, 120_000);
});
