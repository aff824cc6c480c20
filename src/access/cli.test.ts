import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import type { Database } from '../db/database.js';
import { openPglite } from '../db/pglite.js';
import { createUser } from '../test-support/access.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { KEY_PATTERN } from './keys.js';
import { PlatformAccessPolicy } from './policy.js';

/** `pcrs token|visibility|permission`, run in-process against a real database (the CLI acts as the operator). */
describe.each(ENGINES)('pcrs token, visibility, permission on $engine', ({ engine, open }) => {
  let t: TestDatabase;
  let dataDir: string;

  /** The database, for checks (PGlite: opened only between commands, one process owns it at a time). */
  async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    if (engine === 'postgres') return fn(t.db);
    const db = await openPglite(path.join(dataDir, 'db'));
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  const pcrs = (...args: string[]) => runPcrs(t, dataDir, args);

  beforeAll(async () => {
    t = await open();
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-access-cli-'));
    await createUser(t, 'cli@example.fr', { memberships: [{ org: 'fdel', role: 'member' }] });
    if (engine === 'pglite') await t.db.close();
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('token create prints the key alone; list shows it; revoke stops it; bad input exits with a clear message', async () => {
    const created = await pcrs('token', 'create', '--user', 'CLI@example.fr', '--name', 'QGIS', '--scopes', 'read,downloads', '--expires', '2099-06-30');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^${KEY_PATTERN.source.slice(1, -1)}\\n$`));
    const key = created.stdout.trim();
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent' });
    const caller = await withDb(async (db) => {
      const policy = new PlatformAccessPolicy(db, config);
      try {
        return await policy.identify({ apiKey: key, ip: '127.0.0.1' });
      } finally {
        await policy.close();
      }
    });
    expect(caller).toMatchObject({ kind: 'key', label: 'cli@example.fr', roles: new Set(['member']), scopes: new Set(['read', 'downloads']) });
    const list = await pcrs('token', 'list', '--user', 'cli@example.fr');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/QGIS\s+\S{12}\s+read,downloads\s+2099-07-01/);
    expect(list.stdout).not.toContain(key.slice(18));
    const id = String(caller.keyId);
    expect((await pcrs('token', 'revoke', id)).code).toBe(0);
    expect((await pcrs('token', 'list', '--user', 'cli@example.fr', '--json')).stdout).toMatch(/"revokedAt": "\d{4}-/);
    await withDb(async (db) => {
      const policy = new PlatformAccessPolicy(db, config);
      try {
        await expect(policy.identify({ apiKey: key })).rejects.toMatchObject({ status: 401, code: 'key-revoked' });
      } finally {
        await policy.close();
      }
      const audit = await db.query<{ actor: string; action: string }>("SELECT actor, action FROM audit_log WHERE action LIKE 'key.%' ORDER BY id");
      expect(audit.rows).toEqual([{ actor: 'operator', action: 'key.create' }, { actor: 'operator', action: 'key.revoke' }]);
    });
    for (const [args, code, message] of [
      [['token', 'create', '--user', 'nobody@example.fr', '--name', 'x', '--scopes', 'read'], 65, /no user 'nobody@example.fr'/],
      [['token', 'create', '--user', 'cli@example.fr', '--name', 'x', '--scopes', 'read,root'], 64, /Unknown scope 'root'/],
      [['token', 'create', '--user', 'cli@example.fr', '--name', 'x', '--scopes', 'read', '--expires', '2025-02-30'], 64, /YYYY-MM-DD/],
      [['token', 'create', '--user', 'cli@example.fr', '--name', 'x', '--scopes', 'read', '--expires', '2001-01-01'], 64, /in the past/],
      [['token', 'create', '--user', 'cli@example.fr', '--scopes', 'read'], 64, /--name is required/],
      [['token', 'revoke', "1' OR '1'='1"], 64, /id of the key/],
      [['token', 'revoke', '999999'], 65, /no key 999999/],
      [['token', 'frobnicate'], 64, /unknown sub-command/],
    ] as const) {
      const r = await pcrs(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.(js|ts):\d+/);
    }
  }, 300_000);

  it('visibility set and permission grant (with a perimeter file and an end date), audited as the operator', async () => {
    expect((await pcrs('visibility', 'set', 'ortho', 'restricted')).code).toBe(0);
    await withDb(async (db) => expect((await db.query("SELECT visibility FROM datasets WHERE id = 'ortho'")).rows).toEqual([{ visibility: 'restricted' }]));
    expect((await pcrs('visibility', 'set', 'ortho', 'secret')).code).toBe(64);
    const unknown = await pcrs('visibility', 'set', 'nope/2025', 'public');
    expect(unknown.code).toBe(65);
    expect(unknown.stderr).toMatch(/no version '2025' of dataset 'nope'/);
    expect((await pcrs('visibility', 'set', "ortho'; DROP TABLE datasets; --", 'public')).code).toBe(64);

    const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-perimeter-'));
    try {
      const file = path.join(dir, 'chantier.geojson');
      writeFileSync(file, JSON.stringify({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[1.43, 44.44], [1.45, 44.44], [1.45, 44.45], [1.43, 44.45], [1.43, 44.44]]] } }));
      const granted = await pcrs('permission', 'grant', '--org', 'fdel', '--dataset', 'ortho', '--perimeter', file, '--until', '2099-12-31');
      expect(granted.code, granted.stderr).toBe(0);
      expect(granted.stdout).toMatch(/^\d+\n$/);
      await withDb(async (db) => {
        const p = await db.query<{ x: number; until: string }>("SELECT round(ST_XMin(perimeter))::int AS x, to_char(valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS until FROM permissions WHERE id = $1", [Number(granted.stdout)]);
        // stored in Lambert-93: 1.43° E at Cahors is about x = 574 300
        expect(p.rows[0]?.x).toBeGreaterThan(573_000);
        expect(p.rows[0]?.x).toBeLessThan(576_000);
        expect(p.rows[0]?.until).toBe('2100-01-01');
        const audit = await db.query<{ actor: string; action: string }>("SELECT actor, action FROM audit_log WHERE action IN ('permission.grant', 'visibility.set') ORDER BY id");
        expect(audit.rows).toEqual([{ actor: 'operator', action: 'visibility.set' }, { actor: 'operator', action: 'permission.grant' }]);
      });
      const user = await pcrs('permission', 'grant', '--user', 'cli@example.fr', '--dataset', 'raw-at');
      expect(user.code).toBe(0);
      expect((await pcrs('permission', 'list')).stdout).toMatch(/user:cli@example.fr\s+raw-at/);
      writeFileSync(path.join(dir, 'bad.geojson'), '{"type": "Point", "coordinates": [1, 44]}');
      for (const [args, code, message] of [
        [['permission', 'grant', '--org', 'fdel', '--user', 'cli@example.fr', '--dataset', 'ortho'], 64, /exactly one of --org and --user/],
        [['permission', 'grant', '--org', 'fdel'], 64, /--dataset is required/],
        [['permission', 'grant', '--org', 'nope', '--dataset', 'ortho'], 65, /no organisation 'nope'/],
        [['permission', 'grant', '--org', 'fdel', '--dataset', 'ortho', '--version', '1999'], 65, /no version '1999'/],
        [['permission', 'grant', '--org', 'fdel', '--dataset', 'ortho', '--perimeter', path.join(dir, 'missing.geojson')], 66, /Cannot read/],
        [['permission', 'grant', '--org', 'fdel', '--dataset', 'ortho', '--perimeter', path.join(dir, 'bad.geojson')], 1, /not a Polygon or MultiPolygon/],
        [['permission', 'grant', '--org', 'fdel', '--dataset', 'ortho', '--until', 'demain'], 64, /YYYY-MM-DD/],
      ] as const) {
        const r = await pcrs(...args);
        expect(r.code, args.join(' ')).toBe(code);
        expect(r.stderr, args.join(' ')).toMatch(message);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
