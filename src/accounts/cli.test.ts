/**
 * `pcrs user …` and `pcrs org …` through the CLI's entry (runCli, in process: the built binary is
 * not needed), on PGlite and PostgreSQL: create, list, set-role, the password from stdin, the
 * audit entries of the operator, usage errors; then the created admin signs in over HTTP.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../cli/main.js';
import { AuditLog } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import { openPglite } from '../db/pglite.js';
import { openPostgres } from '../db/postgres.js';
import { freshPglite, freshPostgres, POSTGRES_URL, type TestDatabase } from '../test-support/db.js';
import { cliInput } from './cli.js';
import { accountsServer } from './test-support/harness.js';

const engines = [{ engine: 'pglite' as const }, ...(POSTGRES_URL ? [{ engine: 'postgres' as const }] : [])];

describe.each(engines)('pcrs user / org on $engine', ({ engine }) => {
  let t: TestDatabase;
  const saved = { ...process.env };
  let dataDir: string;

  /** Runs `pcrs …` and returns its exit code and output. */
  async function pcrs(args: string[], stdin?: string) {
    const out: string[] = [];
    const err: string[] = [];
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
    const read = vi.spyOn(cliInput, 'readStdin').mockImplementation(async () => stdin ?? '');
    try {
      const code = await runCli(args);
      return { code, stdout: out.join(''), stderr: err.join('') };
    } finally {
      o.mockRestore();
      e.mockRestore();
      read.mockRestore();
    }
  }

  /** The database, opened while no command runs (PGlite is one process at a time). */
  async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    const db = engine === 'pglite' ? await openPglite(path.join(dataDir, 'db')) : await openPostgres(t.env.DATABASE_URL as string);
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'pcrs-accounts-cli-'));
    t = engine === 'pglite' ? await freshPglite(dataDir) : await freshPostgres();
    if (engine === 'pglite') await t.db.close();
    Object.assign(process.env, { PCRS_DATA_DIR: dataDir, DATABASE_URL: engine === 'postgres' ? (t.env.DATABASE_URL as string) : '', PCRS_CONFIG: '', PCRS_LOG_LEVEL: 'silent', PCRS_DEMO: 'false' });
  });
  afterAll(async () => {
    process.env = saved;
    await t?.dispose();
  });

  it('creates organisations and lists them', async () => {
    const a = await pcrs(['org', 'create', '--name', 'Commune de Cahors', '--kind', 'commune', '--insee', '46042', '--domain', 'cahors.fr']);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/Created organisation \d+ commune-de-cahors \(Commune de Cahors, commune\)/);
    expect((await pcrs(['org', 'create', '--name', 'Fédération départementale d’énergies du Lot', '--kind', 'aplc', '--slug', 'fdel'])).code).toBe(0);
    const dup = await pcrs(['org', 'create', '--name', 'Autre', '--kind', 'aplc', '--slug', 'fdel']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
    expect((await pcrs(['org', 'create', '--name', 'X', '--kind', 'castle'])).code).toBe(64);
    expect((await pcrs(['org', 'create', '--name', 'X', '--kind', 'commune', '--insee', '123'])).stderr).toMatch(/Invalid value/);
    const list = await pcrs(['org', 'list']);
    expect(list.stdout).toMatch(/commune-de-cahors\s+Commune de Cahors\s+commune\s+46042\s+cahors\.fr/);
    expect(list.stdout).toMatch(/fdel\s+Fédération/);
    const json = JSON.parse((await pcrs(['org', 'list', '--json'])).stdout) as Array<{ slug: string }>;
    expect(json.map((o) => o.slug).sort()).toEqual(['commune-de-cahors', 'fdel']);
  }, 120_000);

  it('creates users (password from stdin, platform or organisation role), lists them, sets roles', async () => {
    const admin = await pcrs(['user', 'create', '--email', 'Admin@FDEL.fr', '--password-stdin', '--role', 'platform-admin'], 'a-long-admin-password\n');
    expect(admin.stderr).toBe('');
    expect(admin.code).toBe(0);
    expect(admin.stdout).toMatch(/Created user \d+ admin@fdel\.fr \(platform-admin\)/);
    const agent = await pcrs(['user', 'create', '--email', 'agent@cahors.fr', '--role', 'org-admin', '--org', 'commune-de-cahors']);
    expect(agent.code).toBe(0);
    expect(agent.stdout).toMatch(/no password/);
    expect((await pcrs(['user', 'create', '--email', 'agent@cahors.fr'])).code).toBe(1);
    expect((await pcrs(['user', 'create', '--email', 'x@y.fr', '--role', 'member'])).code).toBe(64);
    expect((await pcrs(['user', 'create', '--email', 'x@y.fr', '--role', 'emperor'])).code).toBe(64);
    expect((await pcrs(['user', 'create', '--email', 'x@y.fr', '--password-stdin'], 'short\n')).stderr).toMatch(/at least 12/);
    expect((await pcrs(['user', 'create'])).code).toBe(64);

    expect((await pcrs(['user', 'set-role', 'agent@cahors.fr', 'technical'])).stdout).toMatch(/platform roles technical/);
    expect((await pcrs(['user', 'set-role', 'agent@cahors.fr', 'contractor', '--org', 'fdel'])).stdout).toMatch(/contractor of fdel/);
    expect((await pcrs(['user', 'set-role', 'nobody@cahors.fr', 'technical'])).code).toBe(1);
    expect((await pcrs(['user', 'set-role', 'agent@cahors.fr'])).code).toBe(64);
    // The last platform admin keeps its role.
    expect((await pcrs(['user', 'set-role', 'admin@fdel.fr', 'none'])).stderr).toMatch(/last active platform admin/);

    const list = await pcrs(['user', 'list']);
    expect(list.stdout).toMatch(/admin@fdel\.fr\s+admin\s+platform-admin\s+-\s+active/);
    expect(list.stdout).toMatch(/agent@cahors\.fr\s+agent\s+technical\s+commune-de-cahors:org-admin fdel:contractor\s+active/);
    const json = JSON.parse((await pcrs(['user', 'list', '--json'])).stdout) as Array<{ email: string; hasPassword: boolean; passwordHash?: string }>;
    expect(json.map((u) => [u.email, u.hasPassword])).toEqual([['admin@fdel.fr', true], ['agent@cahors.fr', false]]);
    expect(JSON.stringify(json)).not.toMatch(/argon2/);
    expect((await pcrs(['user', 'frobnicate'])).code).toBe(64);
  }, 180_000);

  it('records the operator’s acts in the audit log; the created admin signs in over HTTP', async () => {
    await withDb(async (db) => {
      const entries = await new AuditLog(db).query({});
      const ops = entries.filter((e) => e.actor === 'operator').map((e) => e.action);
      expect(ops).toEqual(expect.arrayContaining(['organisation.create', 'user.create', 'membership.role', 'user.roles']));
      const h = await accountsServer({ ...t, db, engine }, {});
      try {
        const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/signin', payload: { email: 'admin@fdel.fr', password: 'a-long-admin-password' } });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().user.roles).toEqual(['platform-admin']);
        const agent = await h.app.inject({ method: 'POST', url: '/api/v1/auth/signin', payload: { email: 'agent@cahors.fr', password: 'whatever-password' } });
        expect(agent.statusCode).toBe(401);
      } finally {
        await h.app.close();
      }
    });
  }, 120_000);
});
