import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from '../db/pglite.js';

const CLI = fileURLToPath(new URL('../../bin/pcrs.js', import.meta.url));
const data = mkdtempSync(path.join(tmpdir(), 'pcrs-archive-kill-'));
const env = { ...process.env, DATABASE_URL: '', PCRS_CONFIG: '', PCRS_DATA_DIR: data, PCRS_LOG_LEVEL: 'warn' };
afterAll(() => rmSync(data, { recursive: true, force: true }));

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('pcrs archive killed with SIGKILL during the upload (real binary, local cold tier)', () => {
  it('leaves nothing registered or half-written; the same command then archives the package once, valid', async () => {
    const raw = path.join(data, 'raw');
    mkdirSync(raw, { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(path.join(raw, `IMG_${i}.tif`), randomBytes(48 * 1024 * 1024));
    const cold = path.join(data, 'storage', 'cold');
    const child = spawn(process.execPath, [CLI, 'archive', raw, '--version', '2025'], { env, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    // Kill as soon as bytes of the package are being written into the cold tier.
    // The CLI starts (and creates its embedded database) before it uploads: minutes on a loaded machine.
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && walk(cold).length === 0) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const db = await openPglite(path.join(data, 'db'));
    try {
      const { rows } = await db.query<{ state: string }>(`SELECT state FROM assets WHERE kind = 'archive-package'`);
      expect(rows.every((r) => r.state !== 'stored')).toBe(true); // never "stored" before verified
    } finally {
      await db.close();
    }

    const again = spawnSync(process.execPath, [CLI, 'archive', raw, '--version', '2025'], { env, encoding: 'utf8', timeout: 300_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Archived: 4 file\(s\)/);
    const files = walk(cold).map((f) => path.relative(cold, f));
    expect(files).toEqual(['raw-at/2025/raw-at-2025.bag.tar']); // one package, no temporary left
    const listing = spawnSync('tar', ['-tf', path.join(cold, files[0] as string)], { encoding: 'utf8' }).stdout;
    expect(listing).toMatch(/raw-at-2025\/data\/IMG_3\.tif/);
    const db2 = await openPglite(path.join(data, 'db'));
    try {
      const { rows } = await db2.query<{ state: string }>(`SELECT state FROM assets WHERE kind = 'archive-package'`);
      expect(rows).toEqual([{ state: 'stored' }]);
    } finally {
      await db2.close();
    }
  }, 300_000);
});
