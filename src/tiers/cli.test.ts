/**
 * The storage commands end to end through the real `pcrs` binary (dist/, built by `npm test`'s
 * pretest): archive → restore → sync-nas → bit rot → verify → verify --repair → usage, and a
 * `kill -9` in the middle of a NAS sync followed by the same command (resumed, nothing duplicated).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import { openPglite } from '../db/pglite.js';
import { LocalObjectStore } from '../storage/local-store.js';
import { freshPglite } from '../test-support/db.js';
import { sha256 } from './test-support/tier-fixture.js';

const CLI = fileURLToPath(new URL('../../bin/pcrs.js', import.meta.url));
const data = mkdtempSync(path.join(tmpdir(), 'pcrs-storage-cli-'));
const env = { ...process.env, DATABASE_URL: '', PCRS_CONFIG: '', PCRS_DATA_DIR: data, PCRS_LOG_LEVEL: 'warn' };

function pcrs(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const masters = new Map<string, Buffer>();
const store = (tier: string) => new LocalObjectStore({ root: path.join(data, 'storage', tier), create: true });

beforeAll(async () => {
  const t = await freshPglite(data);
  const catalog = new Catalog(t.db);
  await catalog.ensureStandardDatasets('46');
  for (let i = 0; i < 12; i++) {
    const key = `ortho/2025/masters/46-2025-0575-${6360 + i}-LA93-0M05-RVB.tif`;
    const body = randomBytes(150_000);
    masters.set(key, body);
    const a = await catalog.assets.addPending({ kind: 'master', datasetId: 'ortho', tier: 'intermediate', location: key, bytes: body.length, sha256: sha256(body) });
    await store('intermediate').put(key, body);
    await catalog.assets.markStored(a.id, body.length, sha256(body));
  }
  await t.db.close();
}, 240_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

describe('pcrs archive / restore / storage (real binary, local tiers)', () => {
  it('archive packs a folder into the cold tier; restore makes it available and downloads it', () => {
    const raw = path.join(data, 'raw');
    mkdirSync(path.join(raw, 'images'), { recursive: true });
    writeFileSync(path.join(raw, 'images', 'IMG_1.tif'), randomBytes(40_000));
    writeFileSync(path.join(raw, 'at.xml'), '<at/>');
    const a = pcrs(['archive', raw, '--version', '2025']);
    expect(a.stderr).not.toMatch(/error/i);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/Archived: 2 file\(s\).*raw-at\/2025\/raw-at-2025\.bag\.tar/);
    expect(a.stdout).toMatch(/verified by reading it back and validating the bag/);
    expect(pcrs(['archive', raw, '--version', '2025']).stdout).toMatch(/Already archived/);
    expect(pcrs(['restore', '--list']).stdout).toMatch(/raw-at\/2025\/raw-at-2025\.bag\.tar/);
    const out = path.join(data, 'restored.tar');
    const r = pcrs(['restore', 'raw-at/2025/raw-at-2025.bag.tar', '--days', '2', '--requester', 'aplc@example.fr', '--output', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: available/);
    const tar = spawnSync('tar', ['-tf', out], { encoding: 'utf8' }).stdout.split('\n');
    expect(tar).toEqual(expect.arrayContaining(['raw-at-2025/bagit.txt', 'raw-at-2025/manifest-sha512.txt', 'raw-at-2025/data/images/IMG_1.tif']));
    expect(pcrs(['archive', path.join(data, 'nope'), '--version', 'x']).code).toBe(66);
    expect(pcrs(['restore', '999']).stderr).toMatch(/No archive package '999'/);
  }, 240_000);

  it('kill -9 during sync-nas: the same command resumes and finishes; nothing lost or duplicated', async () => {
    const child = spawn(process.execPath, [CLI, 'storage', 'sync-nas', '--bytes-per-second', '300k'], { env, stdio: 'ignore' });
    // kill it as soon as it has copied something (the machine may be slow to start it)
    const nasCount = () => [...masters.keys()].filter((k) => existsSync(store('nas').pathOf(k))).length;
    for (let i = 0; i < 1200 && nasCount() === 0; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const copiedBeforeKill = nasCount();
    expect(copiedBeforeKill).toBeGreaterThan(0); // killed in the middle, not before or after
    expect(copiedBeforeKill).toBeLessThan(12);
    const r = pcrs(['storage', 'sync-nas']);
    expect(r.stderr).not.toMatch(/busy|unexpected/);
    expect(r.code).toBe(0);
    for (const [k, b] of masters) expect(sha256(readFileSync(store('nas').pathOf(k)))).toBe(sha256(b));
    const db = await openPglite(path.join(data, 'db'));
    try {
      const { rows } = await db.query<{ n: number; stored: number }>(`SELECT COUNT(*)::int AS n, COUNT(*) FILTER (WHERE state = 'stored')::int AS stored FROM assets WHERE tier = 'nas'`);
      expect(rows[0]).toEqual({ n: 12, stored: 12 });
    } finally {
      await db.close();
    }
  }, 240_000);

  it('kill -9 during verify: the same command resumes the same job from its checkpoint', async () => {
    const jsonl = path.join(data, 'logs', 'fixity.jsonl');
    const lines = () => (existsSync(jsonl) ? readFileSync(jsonl, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { jobId: number }) : []);
    const child = spawn(process.execPath, [CLI, 'storage', 'verify', '--tier', 'intermediate,nas', '--bytes-per-second', '300k'], { env, stdio: 'ignore' });
    for (let i = 0; i < 1200 && lines().length < 4; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const killedAfter = lines().length;
    expect(killedAfter).toBeGreaterThanOrEqual(4);
    expect(killedAfter).toBeLessThan(24);
    const jobId = lines()[0]!.jobId;
    const r = pcrs(['storage', 'verify', '--tier', 'intermediate,nas', '--bytes-per-second', '300k', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { jobId: number; checked: number; ok: number; clean: boolean };
    expect(report).toMatchObject({ jobId, checked: 24, ok: 24, clean: true });
    // resumed, not restarted: at most about a second of checks was done twice
    expect(lines().filter((l) => l.jobId === jobId).length).toBeLessThanOrEqual(24 + 4);
  }, 240_000);

  it('verify reports bit rot exactly (exit 2), --repair fixes it, verify is then clean (exit 0); usage reports bytes and cost', () => {
    const keys = [...masters.keys()];
    truncateSync(store('intermediate').pathOf(keys[0]!), 100);
    const flipped = readFileSync(store('nas').pathOf(keys[1]!));
    flipped[77] = (flipped[77] as number) ^ 0x80;
    writeFileSync(store('nas').pathOf(keys[1]!), flipped);
    rmSync(store('intermediate').pathOf(keys[2]!));
    mkdirSync(path.join(data, 'storage', 'hot'), { recursive: true });
    writeFileSync(path.join(data, 'storage', 'hot', 'stray.bin'), 'x');

    const v = pcrs(['storage', 'verify', '--json']);
    expect(v.code).toBe(2);
    const report = JSON.parse(v.stdout) as { missing: number; corrupted: number; unlisted: number; findings: Array<{ tier: string; outcome: string; location: string }> };
    expect(report).toMatchObject({ missing: 1, corrupted: 2, unlisted: 1 });
    expect(report.findings.map((f) => `${f.tier} ${f.outcome} ${f.location}`).sort()).toEqual(
      [`intermediate corrupted ${keys[0]}`, `intermediate missing ${keys[2]}`, 'hot unlisted stray.bin', `nas corrupted ${keys[1]}`].sort(),
    );
    const repair = pcrs(['storage', 'verify', '--repair']);
    expect(repair.stdout).toMatch(/repaired 4 {2}repair failed 0/);
    expect(repair.code).toBe(0);
    const clean = pcrs(['storage', 'verify', '--tier', 'intermediate,nas', '--sample', '50']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/Clean\./);
    expect(readFileSync(path.join(data, 'logs', 'fixity.jsonl'), 'utf8')).toMatch(/"outcome":"repaired"/);

    const u = pcrs(['storage', 'usage', '--json']);
    expect(u.code).toBe(0);
    const usage = JSON.parse(u.stdout) as { tiers: Array<{ tier: string; objects: number; bytes: number }> };
    const bytes = [...masters.values()].reduce((s, b) => s + b.length, 0);
    expect(usage.tiers.find((t) => t.tier === 'intermediate')).toMatchObject({ objects: 12, bytes });
    expect(usage.tiers.find((t) => t.tier === 'nas')).toMatchObject({ objects: 12, bytes });
    expect(pcrs(['storage', 'usage']).stdout).toMatch(/Total: .* per month/);
    expect(pcrs(['storage', 'verify', '--tier', 'tape']).code).toBe(64);
    expect(pcrs(['storage']).code).toBe(64);
  }, 240_000);
});
