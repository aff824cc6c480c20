/**
 * The financing plan (issue 15), on PGlite and PostgreSQL, through the HTTP API as the commission
 * uses it: a year with entered acquisition costs and a FEDER subsidy, an update campaign whose
 * budget is replaced by its actual amount, measured storage, monthly hosting costs shared by
 * measured usage, a partner's payment and a contribution in kind — and two allocation keys (fixed
 * percentages, population). Each partner's share and balance is checked against a hand computation.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignService } from '../campaigns/service.js';
import { loadConfig } from '../config/config.js';
import { OPERATOR } from '../context/access.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { buildServer } from '../server/app.js';
import { ensureOrganisation, userWithKey } from '../test-support/access.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import type { Plan } from './model.js';
import { splitCents } from './service.js';

const ARTIFACTS = fileURLToPath(new URL('../../tmp/financing/', import.meta.url));

describe('splitCents', () => {
  it('splits by weights into whole cents that add up to the total', () => {
    expect(splitCents(2_750_050, [20_050, 9_800])).toEqual([1_847_186, 902_864]);
    expect(splitCents(100, [1, 1, 1])).toEqual([34, 33, 33]);
    expect(splitCents(500, [0, 0])).toEqual([0, 0]);
  });
});

describe.each(ENGINES)('the financing plan on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let ctx: AppContext;
  let app: FastifyInstance;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pcrs-financing-'));
  let admin: string;
  let orgAdmin: string;
  let member: string;
  const ids: Record<string, number> = {};

  const call = async (key: string | null, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({ method, url, headers: key ? { authorization: `Bearer ${key}` } : {}, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  const entry = async (body: Record<string, unknown>) => {
    const r = await call(admin, 'POST', '/api/v1/financing/entries', { year: 2026, ...body });
    expect(r.statusCode, r.body).toBe(201);
    return r.json<{ id: number }>().id;
  };

  beforeAll(async () => {
    t = await open();
    ctx = buildAppContext(loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' }), t.db);
    await ctx.catalog.ensureStandardDatasets('46');
    app = await buildServer(ctx, { logger: false });
    for (const [slug, kind, insee] of [['fdel46', 'aplc', null], ['cahors', 'commune', '46042'], ['figeac', 'commune', '46102'], ['sdis46', 'fire-service', null]] as const) {
      ids[slug] = await ensureOrganisation(ctx, slug, kind);
      await t.db.query(`UPDATE organisations SET insee = $2 WHERE id = $1`, [ids[slug], insee]);
    }
    await t.db.query(`INSERT INTO communes (insee, name, name_search, departement, population) VALUES ('46042', 'Cahors', 'cahors', '46', 20050), ('46102', 'Figeac', 'figeac', '46', 9800)`);
    admin = (await userWithKey(ctx, 'commission@fdel46.fr', { platformRoles: ['platform-admin'], scopes: ['read', 'admin'] })).key;
    orgAdmin = (await userWithKey(ctx, 'dgs@cahors.fr', { memberships: [{ org: 'cahors', role: 'org-admin' }], scopes: ['read', 'admin'] })).key;
    member = (await userWithKey(ctx, 'agent@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read', 'admin'] })).key;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await ctx?.usage.close();
    await ctx?.access.close?.();
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a year with entered amounts, a campaign, measured storage and usage, two keys: each share as computed by hand', async () => {
    // Acquisition: 120 000 € of aerial survey, 48 000 € of FEDER; shared 50 / 30 / 20 (the convention).
    await entry({ line: 'acquisition', kind: 'cost', label: 'Prise de vue aérienne 2026', amountEur: 120000, supplier: 'Aérodata' });
    await entry({ line: 'acquisition', kind: 'funding', funder: 'feder', label: 'FEDER Occitanie', amountEur: '48000.00' });
    const fixed = await call(admin, 'PUT', '/api/v1/financing/keys/2026/acquisition', { method: 'fixed', weights: { fdel46: 50, cahors: 30, sdis46: 20 } });
    expect(fixed.statusCode, fixed.body).toBe(200);
    // Update: a campaign budgeted 30 000 €, then its actual 27 500,50 € entered; shared by population.
    const campaigns = new CampaignService(ctx);
    await campaigns.create(OPERATOR, {
      slug: 'maj-2026',
      title: 'Mise à jour 2026',
      kind: 'ortho',
      dalleSize: 200,
      area: { source: 'drawn', geometry: { type: 'Polygon', coordinates: [[[575_000, 6_373_400], [575_200, 6_373_400], [575_200, 6_373_600], [575_000, 6_373_600], [575_000, 6_373_400]]], crs: { type: 'name', properties: { name: 'EPSG:2154' } } } },
      plannedStart: '2026-03-01',
      budget: [
        { label: 'Prise de vue', category: 'update', amountEur: 30000 },
        { label: 'Divers', category: 'other', amountEur: 500 },
      ],
    });
    const budgeted = (await call(admin, 'GET', '/api/v1/financing/plan?year=2026')).json<Plan>();
    expect(budgeted.lines.find((l) => l.line === 'update')).toMatchObject({ cost: 30000, costSources: [{ kind: 'campaign-budget', ref: 'campaign:maj-2026', amountEur: 30000 }] });
    await entry({ line: 'update', kind: 'cost', label: 'Facture prise de vue', amountEur: '27500,50', supplier: 'Aérodata', campaign: 'maj-2026' });
    expect((await call(admin, 'PUT', '/api/v1/financing/keys/2026/update', { method: 'population', partners: ['cahors', 'figeac'] })).statusCode).toBe(200);
    // Storage: nothing entered; measured hot 1.5 then 2.5 TB (mean 2 TB), intermediate 6 TB.
    await t.db.query(
      `INSERT INTO storage_usage_daily (day, tier, dataset_id, objects, bytes) VALUES ('2026-02-01', 'hot', 'ortho', 10, 1500000000000), ('2026-08-01', 'hot', 'ortho', 10, 2500000000000), ('2026-08-01', 'intermediate', 'ortho', 10, 6000000000000)`,
    );
    // Access: three months of hosting at 1 000 €, shared by measured requests (Cahors 300, SDIS 100).
    for (const month of [1, 2, 3]) await entry({ line: 'access', kind: 'cost', label: 'Hébergement', amountEur: 1000, supplier: 'OVHcloud', month });
    await t.db.query(
      `INSERT INTO usage_monthly (month, service, layer, organisation_id, key_id, status_class, requests, bytes) VALUES ('2026-04-01', 'wmts', 'PCRS.ORTHO', $1, NULL, 2, 300, 1), ('2026-05-01', 'wms', '', $2, NULL, 2, 100, 1), ('2025-05-01', 'wms', '', $2, NULL, 2, 9999, 1)`,
      [ids['cahors']!, ids['sdis46']!],
    );
    expect((await call(admin, 'PUT', '/api/v1/financing/keys/2026/access', { method: 'usage', partners: ['cahors', 'sdis46'] })).statusCode).toBe(200);
    // FDEL paid 50 000 €; the SDIS contributed two dalles in kind (2 × 150 €).
    await entry({ line: 'acquisition', kind: 'funding', funder: 'partner', organisation: 'fdel46', label: 'Participation FDEL 2026', amountEur: 50000 });
    const v = await ctx.catalog.ensureVersion({ datasetId: 'ortho', name: 'contribution-sdis' });
    for (const col of [2875, 2876]) {
      await t.db.query(`INSERT INTO dalles (version_id, name, size_m, grid_col, grid_row, footprint) VALUES ($1, $2, 200, $3, 31867, ST_MakeEnvelope($3 * 200, 6373400, $3 * 200 + 200, 6373600, 2154))`, [v.id, `d-${col}`, col]);
    }
    await t.db.query(`INSERT INTO contributions (kind, title, organisation_id, author_actor, state, moderated_at, version_id) VALUES ('raster', 'Deux dalles du SDIS', $1, 'operator', 'accepted', '2026-05-02T10:00:00Z', $2)`, [ids['sdis46']!, v.id]);

    const r = await call(orgAdmin, 'GET', '/api/v1/financing/plan?year=2026');
    expect(r.statusCode, r.body).toBe(200);
    const plan = r.json<Plan>();
    const line = (l: string) => plan.lines.find((x) => x.line === l)!;
    const share = (l: string, slug: string) => line(l).shares.find((s) => s.organisation.slug === slug)?.amountEur;
    expect(line('acquisition')).toMatchObject({ cost: 120000, subsidies: 48000, toShare: 72000, key: { method: 'fixed' } });
    expect([share('acquisition', 'fdel46'), share('acquisition', 'cahors'), share('acquisition', 'sdis46')]).toEqual([36000, 21600, 14400]);
    // The actual amount replaced the budget; by population 20 050 : 9 800, to the cent (27 500,50 × 20 050 / 29 850 = 18 471,86).
    expect(line('update')).toMatchObject({ cost: 27500.5, toShare: 27500.5, costSources: [{ kind: 'entry', amountEur: 27500.5 }] });
    expect([share('update', 'cahors'), share('update', 'figeac')]).toEqual([18471.86, 9028.64]);
    // Storage: 2 TB × 20 € × 12 + 6 TB × 7 € × 12 = 480 + 504; no key: said, not shared.
    expect(line('storage')).toMatchObject({ cost: 984, toShare: 984, shares: [], unallocated: { amountEur: 984 } });
    expect(line('storage').costSources.map((s) => [s.ref, s.amountEur])).toEqual([['storage:hot', 480], ['storage:intermediate', 504]]);
    // Access: 3 000 € by requests of 2026 only (300 : 100).
    expect([share('access', 'cahors'), share('access', 'sdis46')]).toEqual([2250, 750]);
    const balance = (slug: string) => plan.partners.find((p) => p.organisation.slug === slug)!;
    expect(balance('fdel46')).toMatchObject({ due: 36000, paid: 50000, inKind: 0, balance: 14000 });
    expect(balance('cahors')).toMatchObject({ due: 42321.86, paid: 0, balance: -42321.86 });
    expect(balance('sdis46')).toMatchObject({ due: 15150, inKind: 300, balance: -14850, inKindSources: [{ kind: 'contribution', amountEur: 300 }] });
    expect(balance('figeac')).toMatchObject({ due: 9028.64, balance: -9028.64 });
    expect(plan.totals).toEqual({ cost: 151484.5, subsidies: 48000, toShare: 103484.5, allocated: 102500.5, paid: 50000, inKind: 300 });
    expect(plan.warnings.join('\n')).toMatch(/« Divers » \(other\) n’entre dans aucune ligne/);
    // Every figure has a source.
    for (const l of plan.lines) for (const s of [...l.costSources, ...l.subsidySources]) expect(s.ref).toMatch(/^(entry:\d+|campaign:[\w-]+|storage:\w+)$/);

    const csv = await call(admin, 'GET', '/api/v1/financing/plan?year=2026&format=csv');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.split('\r\n');
    expect(lines[0]).toBe('annee,ligne,nature,libelle,source,part_pourcent,montant_eur');
    expect(lines.find((l) => l.startsWith('2026,Acquisition,subvention,FEDER Occitanie (feder),entry:'))).toMatch(/,-48000$/);
    expect(lines.find((l) => l.startsWith('2026,Mise à jour,part,CAHORS'))).toMatch(/,18471\.86$/);
    expect(lines.find((l) => l.startsWith('2026,Solde,solde,SDIS46'))).toMatch(/,-14850$/);

    // The spreadsheet, read back by the library: the same figures.
    const xlsx = await call(orgAdmin, 'GET', '/api/v1/financing/plan?year=2026&format=xlsx');
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    expect(book.worksheets.map((w) => w.name)).toEqual(['Plan 2026', 'Partenaires', 'Sources']);
    const sheetRow = (sheet: string, first: string): unknown[] | null => {
      let found: unknown[] | null = null as unknown[] | null;
      book.getWorksheet(sheet)!.eachRow((r) => {
        const values = (r.values as unknown[]).slice(1);
        if (values[0] === first) found = values;
      });
      return found;
    };
    expect(sheetRow('Plan 2026', 'Mise à jour')).toEqual(['Mise à jour', 27500.5, 0, 27500.5, 'population', 0]);
    expect(sheetRow('Plan 2026', 'Total')?.slice(0, 4)).toEqual(['Total', 151484.5, 48000, 103484.5]);
    expect(sheetRow('Partenaires', 'CAHORS')?.slice(-4)).toEqual([42321.86, 0, 0, -42321.86]);

    // The PDF: rendered to PNG by poppler (not blank), its text holds the headings and the figures.
    const pdf = await call(orgAdmin, 'GET', '/api/v1/financing/plan?year=2026&format=pdf');
    expect(pdf.headers['content-type']).toBe('application/pdf');
    const pdfFile = path.join(dataDir, 'plan.pdf');
    writeFileSync(pdfFile, pdf.rawPayload);
    execFileSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', pdfFile, path.join(dataDir, 'page')]);
    const png = readdirSync(dataDir).find((f) => /^page-\d+\.png$/.test(f))!;
    // Kept as a test artifact (tmp/ is not committed) for whoever wants to see the page.
    mkdirSync(ARTIFACTS, { recursive: true });
    copyFileSync(path.join(dataDir, png), path.join(ARTIFACTS, `plan-${t.engine}.png`));
    const stats = await sharp(path.join(dataDir, png)).greyscale().stats();
    expect(stats.channels[0]!.min).toBeLessThan(100); // ink on the page
    expect(stats.channels[0]!.stdev).toBeGreaterThan(10);
    const text = execFileSync('pdftotext', ['-layout', pdfFile, '-'], { encoding: 'utf8' });
    expect(text).toContain('Plan de financement du PCRS — 2026');
    expect(text).toMatch(/Mise à jour\s+27\s500,50\s€/);
    expect(text).not.toContain('/000');
    expect(text).toMatch(/CAHORS\s+42\s321,86\s€/);
  });

  it.runIf(engine === 'postgres')('pcrs financing report writes the same plan as CSV; a bad year is a usage error', async () => {
    const out = path.join(dataDir, 'plan-2026.csv');
    const r = await runPcrs(t, dataDir, ['financing', 'report', '--year', '2026', '--format', 'csv', '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Financing plan 2026 written to .*plan-2026\.csv \(6 lines, 4 partners, 1 warning\(s\)\)/);
    expect(readFileSync(out, 'utf8')).toBe((await call(admin, 'GET', '/api/v1/financing/plan?year=2026&format=csv')).body);
    const bad = await runPcrs(t, dataDir, ['financing', 'report', '--year', '26']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--year must be a year \(YYYY\)/);
    const entries = await runPcrs(t, dataDir, ['financing', 'entries', '--year', '2026']);
    expect(entries.stdout).toMatch(/Prise de vue aérienne 2026\s+Aérodata/);
  });

  it('bad input: amounts, keys not summing to 100, unknown names, who may write and read', async () => {
    const bad = async (body: Record<string, unknown>, status: number, pattern: RegExp) => {
      const r = await call(admin, 'POST', '/api/v1/financing/entries', { year: 2026, line: 'usage', kind: 'cost', label: 'x', amountEur: 1, ...body });
      expect(r.statusCode, JSON.stringify(body)).toBe(status);
      expect(r.body).toMatch(pattern);
    };
    await bad({ amountEur: -5 }, 400, /≥ 0 with at most two decimals/);
    await bad({ amountEur: '12.345' }, 400, /at most two decimals/);
    await bad({ amountEur: 'douze' }, 400, /at most two decimals/);
    await bad({ kind: 'funding' }, 400, /names its funder/);
    await bad({ kind: 'funding', funder: 'partner' }, 400, /names the partner/);
    await bad({ kind: 'funding', funder: 'partner', organisation: 'nowhere' }, 404, /No organisation 'nowhere'/);
    await bad({ campaign: 'nope' }, 404, /No campaign 'nope'/);
    await bad({ year: 1999 }, 400, /year/);
    const key = async (body: unknown, status: number, pattern: RegExp) => {
      const r = await call(admin, 'PUT', '/api/v1/financing/keys/2026/usage', body);
      expect(r.statusCode, JSON.stringify(body)).toBe(status);
      expect(r.body).toMatch(pattern);
    };
    await key({ method: 'fixed', weights: { fdel46: 50, cahors: 40 } }, 400, /add up to 100, these to 90/);
    await key({ method: 'fixed', weights: { fdel46: 150, cahors: -50 } }, 400, /must be a number ≥ 0/);
    await key({ method: 'population', weights: { cahors: 1 } }, 400, /lists the partners/);
    await key({ method: 'usage', partners: ['cahors', 'ghost'] }, 404, /No organisation 'ghost'/);
    await key({ method: 'usage', partners: [] }, 400, /at least one organisation/);
    // A member reads nothing; an organisation administrator reads but does not write; anonymous is 401.
    expect((await call(member, 'GET', '/api/v1/financing/plan?year=2026')).statusCode).toBe(403);
    expect((await call(orgAdmin, 'POST', '/api/v1/financing/entries', { year: 2026, line: 'usage', kind: 'cost', label: 'x', amountEur: 1 })).statusCode).toBe(403);
    expect((await call(null, 'GET', '/api/v1/financing/plan?year=2026')).statusCode).toBe(401);
    // A year with nothing: an empty plan, every line at 0, nothing invented.
    const empty = (await call(admin, 'GET', '/api/v1/financing/plan?year=2031')).json<Plan>();
    expect(empty.totals).toEqual({ cost: 0, subsidies: 0, toShare: 0, allocated: 0, paid: 0, inKind: 0 });
    expect(empty.partners).toEqual([]);
    // Deleting an entry: gone from the plan, kept in the audit log.
    const id = await entry({ line: 'usage', kind: 'cost', label: 'Assistance', amountEur: 10 });
    expect((await call(admin, 'DELETE', `/api/v1/financing/entries/${id}`)).statusCode).toBe(204);
    expect((await call(admin, 'DELETE', `/api/v1/financing/entries/${id}`)).statusCode).toBe(404);
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE target = $1 ORDER BY id`, [`financing-entry:${id}`]);
    expect(audit.rows.map((r) => r.action)).toEqual(['financing.entry.add', 'financing.entry.delete']);
  });
});
