import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../context/access.js';
import { freshPglite, freshPostgres, POSTGRES_URL, type TestDatabase } from '../test-support/db.js';
import { AuditLog } from './audit-log.js';

const engines = [{ name: 'pglite', open: () => freshPglite() }, ...(POSTGRES_URL ? [{ name: 'postgres', open: () => freshPostgres() }] : [])];

describe.each(engines)('audit log on $name', ({ open }) => {
  let t: TestDatabase;
  let audit: AuditLog;
  beforeAll(async () => {
    t = await open();
    audit = new AuditLog(t.db);
  });
  afterAll(() => t.dispose());

  it('appends entries and answers by actor, action (or prefix) and period, newest first', async () => {
    const alice = { id: 'user:1', userId: 1, organisationIds: [3] };
    await audit.record(alice, { action: 'auth.signin', ip: '192.0.2.1' });
    await audit.record(alice, { action: 'key.create', target: 'key:9', details: { scopes: ['read'] } });
    await audit.record(OPERATOR, { action: 'visibility.set', target: 'dataset:orthophoto', details: { visibility: 'restricted' } });
    const all = await audit.query();
    expect(all.map((e) => e.action)).toEqual(['visibility.set', 'key.create', 'auth.signin']);
    expect(all[1]).toMatchObject({ actor: 'user:1', actorUserId: 1, organisationId: 3, target: 'key:9', details: { scopes: ['read'] } });
    expect((await audit.query({ actorUserId: 1 })).map((e) => e.action)).toEqual(['key.create', 'auth.signin']);
    expect((await audit.query({ action: 'auth.' })).map((e) => e.action)).toEqual(['auth.signin']);
    expect(await audit.query({ action: "auth.' OR 1=1 --" })).toEqual([]);
    expect(await audit.query({ from: new Date(Date.now() + 60_000) })).toEqual([]);
    expect((await audit.query({ before: all[1]?.id ?? 0 })).map((e) => e.action)).toEqual(['auth.signin']);
  });

  it('refuses to change or remove an entry (append-only, whatever the SQL)', async () => {
    await expect(t.db.query("UPDATE audit_log SET actor = 'someone-else'")).rejects.toThrow(/append-only/);
    await expect(t.db.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(t.db.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect((await audit.query()).every((e) => e.actor !== 'someone-else')).toBe(true);
    expect(await audit.query()).toHaveLength(3);
  });
});
