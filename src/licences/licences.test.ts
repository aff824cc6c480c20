/**
 * Licence and charter on PGlite and PostgreSQL: the texts and versions, an anonymous browser's
 * acceptance (a cookie, of which only the SHA-256 is stored), a user's (by key and by session with
 * its CSRF token), a stale version refused, the table append-only, and the operator's commands.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { buildServer } from '../server/app.js';
import { sessionFor, userWithKey } from '../test-support/access.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { licencesCapability } from './capability.js';

interface View {
  id: string;
  version: string;
  name: string;
  text: string;
  acceptedAt: string | null;
}

describe.each(ENGINES)('licences on $engine', ({ open }) => {
  let t: TestDatabase;
  let ctx: AppContext;
  let app: FastifyInstance;
  let key: string;
  let userId: number;
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-licences-'));
  const charterFile = path.join(dir, 'charte.txt');
  let dataDir: string;

  beforeAll(async () => {
    t = await open();
    writeFileSync(charterFile, 'Charte d’usage du PCRS du Lot\n\nArticle 1 : usage réservé aux missions autorisées.\n');
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? dir;
    ctx = buildAppContext(loadConfig({}, { dataDir, demo: { enabled: false }, auth: { cookieSecure: false }, licences: { charterVersion: '2026-1', charterFile } }), t.db);
    ({ key, userId } = await userWithKey(ctx, 'geometre@cahors.fr', { scopes: ['read', 'downloads'] }));
    app = await buildServer(ctx, { logger: false, capabilities: [licencesCapability] });
    await app.ready();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const view = async (headers: Record<string, string> = {}) => {
    const r = await app.inject({ url: '/api/v1/licences', headers });
    expect(r.statusCode).toBe(200);
    const list = r.json().licences as View[];
    return { lo: list.find((l) => l.id === 'licence-ouverte') as View, charter: list.find((l) => l.id === 'charter') as View };
  };

  it('shows the open licence and the configured charter, accepted by nobody yet', async () => {
    const { lo, charter } = await view();
    expect(lo).toMatchObject({ version: '2.0', acceptedAt: null });
    expect(lo.text).toContain('Licence Ouverte');
    expect(charter).toMatchObject({ version: '2026-1', name: 'Charte d’usage du PCRS du Lot', acceptedAt: null });
    expect(charter.text).toContain('Article 1');
  });

  it('records an anonymous browser by the hash of its cookie, and knows it again', async () => {
    const accepted = await app.inject({ method: 'POST', url: '/api/v1/licences/acceptances', payload: { licence: 'licence-ouverte', version: '2.0' } });
    expect(accepted.statusCode, accepted.body).toBe(201);
    const set = accepted.cookies.find((c) => c.name === 'pcrs_browser');
    expect(set).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    const cookie = set?.value as string;
    expect((await view({ cookie: `pcrs_browser=${cookie}` })).lo.acceptedAt).toBe(accepted.json().acceptedAt);
    // Another browser (no cookie, or a forged one) has accepted nothing.
    expect((await view()).lo.acceptedAt).toBeNull();
    expect((await view({ cookie: `pcrs_browser=${'A'.repeat(43)}` })).lo.acceptedAt).toBeNull();
    const { rows } = await ctx.db.query<{ browser_hash: string; user_id: number | null }>(`SELECT browser_hash, user_id FROM licence_acceptances`);
    expect(rows).toEqual([{ browser_hash: createHash('sha256').update(cookie).digest('hex'), user_id: null }]);
    // The same browser accepting again keeps its cookie.
    const again = await app.inject({ method: 'POST', url: '/api/v1/licences/acceptances', headers: { cookie: `pcrs_browser=${cookie}` }, payload: { licence: 'licence-ouverte', version: '2.0' } });
    expect(again.statusCode).toBe(201);
    expect(again.cookies.find((c) => c.name === 'pcrs_browser')).toBeUndefined();
  });

  it('records a user by key and by session (which needs its CSRF token), and audits it', async () => {
    const byKey = await app.inject({ method: 'POST', url: '/api/v1/licences/acceptances', headers: { authorization: `Bearer ${key}` }, payload: { licence: 'charter', version: '2026-1' } });
    expect(byKey.statusCode, byKey.body).toBe(201);
    expect(byKey.cookies.find((c) => c.name === 'pcrs_browser')).toBeUndefined();
    const session = await sessionFor(ctx, userId);
    const withoutCsrf = await app.inject({ method: 'POST', url: '/api/v1/licences/acceptances', headers: { cookie: `pcrs_session=${session.cookie}` }, payload: { licence: 'licence-ouverte', version: '2.0' } });
    expect(withoutCsrf.statusCode).toBe(403);
    const bySession = await app.inject({
      method: 'POST',
      url: '/api/v1/licences/acceptances',
      headers: { cookie: `pcrs_session=${session.cookie}`, 'x-csrf-token': session.csrfToken },
      payload: { licence: 'licence-ouverte', version: '2.0' },
    });
    expect(bySession.statusCode, bySession.body).toBe(201);
    const seen = await view({ authorization: `Bearer ${key}` });
    expect(seen.charter.acceptedAt).toBe(byKey.json().acceptedAt);
    expect(seen.lo.acceptedAt).toBe(bySession.json().acceptedAt);
    const audit = await ctx.db.query<{ action: string; target: string }>(`SELECT action, target FROM audit_log WHERE action = 'licence.accept' ORDER BY id`);
    expect(audit.rows.map((r) => r.target)).toEqual(['licence:licence-ouverte', 'licence:licence-ouverte', 'licence:charter', 'licence:licence-ouverte']);
  });

  it('refuses a version that is no longer the current one, and unknown licences; the record cannot be rewritten', async () => {
    const stale = await app.inject({ method: 'POST', url: '/api/v1/licences/acceptances', headers: { authorization: `Bearer ${key}` }, payload: { licence: 'charter', version: '2025-1' } });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ type: 'urn:pcrs:problem:licence-version-changed' });
    expect(stale.json().detail).toContain('2026-1');
    const unknown = await app.inject({ method: 'POST', url: '/api/v1/licences/acceptances', payload: { licence: 'cc-by', version: '4.0' } });
    expect(unknown.statusCode).toBe(400);
    const extra = await app.inject({ method: 'POST', url: '/api/v1/licences/acceptances', payload: { licence: 'charter', version: '2026-1', userId: 1 } });
    expect(extra.statusCode).toBe(400);
    await expect(ctx.db.query(`UPDATE licence_acceptances SET version = '9'`)).rejects.toThrow(/append-only/);
    await expect(ctx.db.query(`DELETE FROM licence_acceptances`)).rejects.toThrow(/append-only/);
  });

  it('pcrs licences show|acceptances', async () => {
    // PGlite: one process at a time owns the data dir (this is the last test).
    if (t.engine === 'pglite') await t.db.close();
    const show = await runPcrs(t, dataDir, ['licences', 'show', 'licence-ouverte']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('version 2.0');
    const list = await runPcrs(t, dataDir, ['licences', 'acceptances', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ licence: string; user: string | null }>;
    expect(rows.map((r) => r.user)).toEqual(['geometre@cahors.fr', 'geometre@cahors.fr', null, null]);
    const bad = await runPcrs(t, dataDir, ['licences', 'show', 'cc-by']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("unknown licence 'cc-by'");
  });
});
