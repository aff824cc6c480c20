import { randomBytes } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultyStore } from '../storage/test-support/faulty-store.js';
import { fixityLog, runVerify } from './fixity.js';
import { runSyncNas } from './sync-nas.js';
import { addMaster, SETUPS, listKeys, readObject, sha256, tierFixture, type TierFixture } from './test-support/tier-fixture.js';

const KEYS = ['ortho/2025/masters/A.tif', 'ortho/2025/masters/B.tif', 'ortho/2025/masters/C.tif', 'ortho/2025/masters/D.tif'];

describe.each(SETUPS)('NAS sync and fixity on $name', ({ backend, engine }) => {
  let f: TierFixture;
  const bodies = new Map<string, Buffer>();

  beforeAll(async () => {
    f = await tierFixture(backend, {}, engine);
    for (const [i, k] of KEYS.entries()) {
      const b = randomBytes(20_000 + i * 1000);
      bodies.set(k, b);
      await addMaster(f.services, k, b);
    }
  }, 60_000);
  afterAll(() => f?.dispose());

  it('sync-nas copies every master, verified, and records the nas assets; a second run copies nothing', async () => {
    const r1 = await runSyncNas(f.services);
    expect(r1).toMatchObject({ considered: 4, copied: 4, unchanged: 0, failed: [], backedUp: [] });
    for (const k of KEYS) expect(sha256(await readObject(f.services.tiers.nas, k))).toBe(sha256(bodies.get(k)!));
    const nas = await f.services.catalog.assets.list({ tier: 'nas', state: 'stored' });
    expect(nas.map((a) => a.location).sort()).toEqual(KEYS);
    const r2 = await runSyncNas(f.services);
    expect(r2).toMatchObject({ considered: 4, copied: 0, unchanged: 4, bytesCopied: 0 });
  });

  it('a clean tier verifies clean', async () => {
    const r = await runVerify(f.services, { tiers: ['intermediate', 'nas'] });
    expect(r).toMatchObject({ checked: 8, ok: 8, missing: 0, corrupted: 0, unlisted: 0, findings: [], clean: true });
  });

  it('bit rot: truncated, flipped (same size), deleted, unlisted → reported exactly; repair fixes; verify is clean', async () => {
    const s = f.services.tiers.intermediate;
    const [a, b, c] = KEYS as [string, string, string];
    if (s.localPath) {
      truncateSync(s.localPath(a), 1000);
      const file = readFileSync(s.localPath(b));
      file[500] = (file[500] as number) ^ 0x01;
      writeFileSync(s.localPath(b), file);
    } else {
      await s.put(a, bodies.get(a)!.subarray(0, 1000));
      const flipped = Buffer.from(bodies.get(b)!);
      flipped[500] = (flipped[500] as number) ^ 0x01;
      await s.put(b, flipped);
    }
    await s.delete(c);
    await s.put('ortho/2025/masters/stray.tif', Buffer.from('not catalogued'));
    // and one rotten NAS copy, to repair in the other direction
    await f.services.tiers.nas.put(KEYS[3]!, Buffer.alloc(bodies.get(KEYS[3]!)!.length, 7));

    const before = await runVerify(f.services, { tiers: ['intermediate', 'nas'] });
    expect(before).toMatchObject({ checked: 8, ok: 4, missing: 1, corrupted: 3, unlisted: 1, clean: false });
    const summary = before.findings.map((x) => `${x.tier} ${x.outcome} ${x.location}`).sort();
    expect(summary).toEqual([
      `intermediate corrupted ${a}`,
      `intermediate corrupted ${b}`,
      `intermediate missing ${c}`,
      'intermediate unlisted ortho/2025/masters/stray.tif',
      `nas corrupted ${KEYS[3]}`,
    ]);
    expect(before.findings.find((x) => x.location === a)?.detail).toMatch(/size 1000 bytes/);
    expect(before.findings.find((x) => x.location === b)?.detail).toMatch(/SHA-256/);
    expect((await f.services.catalog.assets.list({ state: 'corrupted' })).length).toBe(3);

    const repair = await runVerify(f.services, { tiers: ['intermediate', 'nas'], repair: true });
    expect(repair).toMatchObject({ missing: 1, corrupted: 3, unlisted: 1, repaired: 5, repairFailed: 0, clean: true });
    expect(repair.findings.find((x) => x.location === c)?.detail).toMatch(/copied from the nas tier, re-verified/);
    expect(repair.findings.find((x) => x.tier === 'nas')?.detail).toMatch(/copied from the intermediate tier/);
    for (const k of KEYS) {
      expect(sha256(await readObject(s, k))).toBe(sha256(bodies.get(k)!));
      expect(sha256(await readObject(f.services.tiers.nas, k))).toBe(sha256(bodies.get(k)!));
    }
    // the unlisted object was put aside, not destroyed
    expect((await listKeys(s, '.quarantine/')).map((k) => k.replace(/^\.quarantine\/\d{4}-\d{2}-\d{2}\//, ''))).toEqual(['ortho/2025/masters/stray.tif']);

    const after = await runVerify(f.services, { tiers: ['intermediate', 'nas'] });
    expect(after).toMatchObject({ checked: 8, ok: 8, missing: 0, corrupted: 0, unlisted: 0, clean: true });
    const log = await fixityLog(f.services, { limit: 1000 });
    expect(log.filter((l) => l.outcome === 'repaired')).toHaveLength(4);
    expect(log.filter((l) => l.outcome === 'quarantined')).toHaveLength(1);
    await expect(f.services.db.query('DELETE FROM fixity_log')).rejects.toThrow(/append-only/);
  }, 60_000);

  it('repair without any good copy says so and leaves the asset marked bad', async () => {
    const key = 'ortho/2025/masters/E.tif';
    const body = randomBytes(5000);
    await addMaster(f.services, key, body); // never synced: no NAS copy
    await f.services.tiers.intermediate.delete(key);
    const r = await runVerify(f.services, { tiers: ['intermediate'], repair: true });
    expect(r).toMatchObject({ missing: 1, repairFailed: 1, clean: false });
    expect(r.findings[0]?.detail).toMatch(/repair failed: no good copy to repair from \(nas: no catalogued good copy\)/);
    expect((await f.services.catalog.assets.list({ tier: 'intermediate', state: 'missing' })).map((a) => a.location)).toEqual([key]);
    // put it back for the next tests
    await f.services.tiers.intermediate.put(key, body);
    expect((await runVerify(f.services, { tiers: ['intermediate'] })).clean).toBe(true);
  }, 30_000);

  it('sync-nas is never destructive: changed and deleted upstream objects move the old NAS copy to .backup/DATE/', async () => {
    const [a, b] = KEYS as [string, string];
    // a new version of A upstream (re-delivery), and B deleted upstream
    const newA = randomBytes(12_345);
    await addMaster(f.services, a, newA);
    const bAsset = (await f.services.catalog.assets.list({ tier: 'intermediate' })).find((x) => x.location === b)!;
    await f.services.tiers.intermediate.delete(b);
    await f.services.catalog.assets.setState(bAsset.id, 'deleted');

    const r = await runSyncNas(f.services);
    expect(r.failed).toEqual([]);
    expect(r.copied).toBe(2); // A (changed) and E (new)
    expect(r.backedUp.map((x) => `${x.reason} ${x.key}`).sort()).toEqual([`changed-upstream ${a}`, `deleted-upstream ${b}`]);
    const date = new Date().toISOString().slice(0, 10);
    const nas = f.services.tiers.nas;
    expect(sha256(await readObject(nas, `.backup/${date}/${a}`))).toBe(sha256(bodies.get(a)!));
    expect(sha256(await readObject(nas, `.backup/${date}/${b}`))).toBe(sha256(bodies.get(b)!));
    expect(sha256(await readObject(nas, a))).toBe(sha256(newA));
    expect(await nas.head(b)).toBeNull();
    expect((await runVerify(f.services, { tiers: ['nas'] })).clean).toBe(true);
  }, 30_000);

  it('a NAS failing the N-th write: the failed copy is reported, never recorded as stored; the next run completes', async () => {
    const keys = ['ortho/2026/masters/F.tif', 'ortho/2026/masters/G.tif', 'ortho/2026/masters/H.tif'];
    for (const k of keys) await addMaster(f.services, k, randomBytes(3000));
    const realNas = f.services.tiers.nas;
    f.services.tiers.nas = new FaultyStore(realNas, { failOnCall: 2, ops: ['put'], mode: 'mid-stream' });
    let r;
    try {
      r = await runSyncNas(f.services);
    } finally {
      f.services.tiers.nas = realNas;
    }
    expect(r.copied).toBe(2);
    expect(r.failed).toEqual([{ key: keys[1], error: expect.stringMatching(/Injected fault/) }]);
    const g = (await f.services.catalog.assets.list({ tier: 'nas' })).find((x) => x.location === keys[1]);
    expect(g?.state).toBe('pending');
    expect(await realNas.head(keys[1]!)).toBeNull(); // atomic put: nothing half-written
    const again = await runSyncNas(f.services);
    expect(again).toMatchObject({ copied: 1, failed: [] });
    expect((await f.services.catalog.assets.list({ tier: 'nas', state: 'stored' })).filter((x) => keys.includes(x.location))).toHaveLength(3);
    const dup = await f.services.db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM assets WHERE tier = 'nas' GROUP BY location HAVING COUNT(*) > 1`);
    expect(dup.rows).toEqual([]);
  }, 30_000);

  it('an interrupted verify resumes from its checkpoint instead of starting again', async () => {
    const controller = new AbortController();
    let seen = 0;
    await expect(
      runVerify(f.services, { tiers: ['intermediate', 'nas'], bytesPerSecond: 10_000_000 }, {
        signal: controller.signal,
        onProgress: () => {
          if (++seen === 1) controller.abort();
        },
      }),
    ).rejects.toThrow(/interrupted/);
    const jobs = await f.services.jobs.list({ kind: 'storage-verify', state: 'queued' });
    expect(jobs).toHaveLength(1);
    const r = await runVerify(f.services, { tiers: ['intermediate', 'nas'], bytesPerSecond: 10_000_000 });
    expect(r.jobId).toBe(jobs[0]!.id);
    expect(r.clean).toBe(true);
    const total = await f.services.db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM assets WHERE tier IN ('intermediate', 'nas') AND state = 'stored'`);
    expect(r.checked).toBe(total.rows[0]!.n);
  }, 30_000);
});
