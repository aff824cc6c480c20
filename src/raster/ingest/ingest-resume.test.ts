import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../db/pglite.js';
import { validDalle } from '../../test-support/imagery.js';
import { sha256File } from '../../util/hash.js';

const CLI = fileURLToPath(new URL('../../../bin/pcrs.js', import.meta.url));

/** Runs `pcrs ingest` and SIGKILLs it as soon as stderr matches `killWhen` (or lets it finish). */
function runIngest(env: NodeJS.ProcessEnv, args: string[], killWhen?: RegExp): Promise<{ code: number | null; signal: string | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'ingest', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (killWhen && killWhen.test(stderr)) child.kill('SIGKILL');
    });
    child.on('close', (code, signal) => resolve({ code, signal, stderr, stdout }));
  });
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('ingest killed with SIGKILL resumes cleanly (CLI, real processes)', () => {
  let dataDir: string;
  let delivery: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'pcrs-resume-'));
    delivery = mkdtempSync(path.join(tmpdir(), 'pcrs-resume-delivery-'));
    for (const x of [574_400, 574_600, 574_800]) for (const y of [6_373_800, 6_373_600]) await validDalle(delivery, { xmin: x, ymax: y });
  }, 120_000);
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(delivery, { recursive: true, force: true });
  });

  it('kill -9 while storing masters, then during the pyramid; the re-run completes with no duplicate or corrupt output', async () => {
    // The embedded database (the default a user gets), whatever DATABASE_URL the test run has.
    const env = { PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent', DATABASE_URL: '' };
    const args = [delivery, '--version', '2025', '--jobs', '1'];
    const first = await runIngest(env, args, /ok: /);
    expect(first.signal).toBe('SIGKILL');
    const second = await runIngest(env, args, /pyramid: level-15 file/);
    expect(second.signal).toBe('SIGKILL');
    const last = await runIngest(env, args);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout).toMatch(/6 file\(s\): 6 ok/);

    const db = await openPglite(path.join(dataDir, 'db'));
    try {
      const dalles = await db.query<{ state: string }>('SELECT state FROM dalles');
      expect(dalles.rows).toHaveLength(6);
      expect(dalles.rows.every((r) => r.state === 'registered')).toBe(true);
      const masters = await db.query<{ location: string; sha256: string; state: string }>(`SELECT location, sha256, state FROM assets WHERE kind = 'master'`);
      expect(masters.rows).toHaveLength(6);
      for (const m of masters.rows) {
        expect(m.state).toBe('stored');
        expect((await sha256File(path.join(dataDir, 'storage', 'intermediate', m.location))).sha256).toBe(m.sha256);
      }
      const files = await db.query<{ key: string; sha256: string }>('SELECT key, sha256 FROM pyramid_files');
      expect(files.rows.length).toBeGreaterThanOrEqual(3);
      for (const f of files.rows) expect((await sha256File(path.join(dataDir, 'storage', 'hot', f.key))).sha256).toBe(f.sha256);
      // Exactly the referenced pyramid files are on disk: no orphan, no temp, no staging left.
      const onDisk = walk(path.join(dataDir, 'storage', 'hot')).map((f) => path.relative(path.join(dataDir, 'storage', 'hot'), f));
      expect(onDisk.sort()).toEqual(files.rows.map((f) => f.key).sort());
      const pending = await db.query(`SELECT 1 FROM assets WHERE state = 'pending'`);
      expect(pending.rowCount).toBe(0);
      const job = await db.query<{ state: string; attempts: number }>(`SELECT state, attempts FROM jobs WHERE kind = 'ingest'`);
      expect(job.rows).toEqual([{ state: 'succeeded', attempts: 3 }]);
    } finally {
      await db.close();
    }
    expect(walk(path.join(dataDir, 'storage', 'intermediate')).filter((f) => /\.pcrs-tmp/.test(f))).toEqual([]);
  }, 600_000);
});
