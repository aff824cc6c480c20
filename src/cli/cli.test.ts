import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../bin/pcrs.js', import.meta.url));
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'pcrs-cli-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function pcrs(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: '', PCRS_CONFIG: '', ...env }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pcrs CLI', () => {
  it('prints usage, and exits 64 on an unknown command or flag', () => {
    expect(pcrs(['--help']).stdout).toMatch(/Commands:[\s\S]*ingest/);
    const unknown = pcrs(['frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const flag = pcrs(['migrate', '--bogus']);
    expect(flag.code).toBe(64);
    expect(flag.stderr).toMatch(/Unknown option '--bogus'/);
    expect(flag.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('stops on an invalid configuration naming the key (exit 78)', () => {
    const r = pcrs(['migrate'], { PORT: 'huit-mille', PCRS_DATA_DIR: tempDir() });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/Invalid configuration:\n {2}- port: .*\(from environment variable PORT\)/);
  });

  it('doctor passes here and says how to install a missing GDAL', () => {
    const ok = pcrs(['doctor'], { PCRS_DATA_DIR: tempDir() });
    expect(ok.stdout).toMatch(/\[ok {2}\] GDAL: GDAL 3\./);
    expect(ok.code).toBe(0);
    const noGdal = pcrs(['doctor'], { PCRS_DATA_DIR: tempDir(), PATH: '/nonexistent' });
    expect(noGdal.code).toBe(1);
    expect(noGdal.stdout).toMatch(/\[FAIL\] GDAL: The program 'gdalinfo' was not found\.\n\s+fix: Install GDAL: sudo apt-get install -y gdal-bin/);
    expect(noGdal.stdout).toMatch(/fix: Install libxml2 tools: sudo apt-get install -y libxml2-utils/);
  });

  it('ingest without GDAL says how to install it', () => {
    const delivery = tempDir();
    writeFileSync(path.join(delivery, '46-2025-0575-6374-LA93-0M05-RVB.tif'), 'x');
    const r = pcrs(['ingest', delivery, '--version', '2025'], { PCRS_DATA_DIR: tempDir(), PATH: '/nonexistent' });
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/'gdalinfo' was not found[\s\S]*apt-get install -y gdal-bin/);
  });

  it('reports an unreachable database clearly (exit 69)', () => {
    const r = pcrs(['migrate'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/Cannot connect to the database postgres:\/\/nobody@127\.0\.0\.1:1\/none/);
    expect(r.stderr).toMatch(/hint: Check DATABASE_URL/);
  });

  it.skipIf(process.getuid?.() === 0)('reports a read-only data directory clearly', () => {
    const d = tempDir();
    chmodSync(d, 0o500);
    const r = pcrs(['migrate'], { PCRS_DATA_DIR: path.join(d, 'data') });
    chmodSync(d, 0o700);
    expect(r.code).toBe(73);
    expect(r.stderr).toMatch(/Set PCRS_DATA_DIR to a writable directory/);
  });

  it('reports a data directory that is a file (works as root too)', () => {
    const f = path.join(tempDir(), 'not-a-dir');
    writeFileSync(f, '');
    const r = pcrs(['migrate'], { PCRS_DATA_DIR: f });
    expect(r.code).toBe(73);
    expect(r.stderr).toMatch(/Cannot create the embedded database directory/);
  });

  it('ingest usage errors: missing version, bad date, missing delivery', () => {
    const data = tempDir();
    expect(pcrs(['ingest', tempDir()], { PCRS_DATA_DIR: data }).stderr).toMatch(/--version is required/);
    expect(pcrs(['ingest', tempDir(), '--version', 'v', '--date', '2025-13-45'], { PCRS_DATA_DIR: data }).code).toBe(64);
    const missing = pcrs(['ingest', '/no/such/delivery', '--version', 'v'], { PCRS_DATA_DIR: data });
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('dalles rejects a malformed bbox', () => {
    const r = pcrs(['dalles', '--version', 'x', '--bbox', '1,2,3'], { PCRS_DATA_DIR: tempDir() });
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--bbox '1,2,3' must be xmin,ymin,xmax,ymax/);
  });

  it('serve: /health ok, the portal at /, a second process gets "in use", graceful stop on SIGTERM', async () => {
    const data = tempDir();
    mkdirSync(path.join(data, 'storage'), { recursive: true });
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port)], { env: { ...process.env, DATABASE_URL: '', PCRS_DATA_DIR: data, PCRS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      for (let i = 0; i < 120 && !/ready/.test(out); i++) await new Promise((r) => setTimeout(r, 500));
      expect(out).toMatch(/PCRS platform ready/);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', db: { ok: true, engine: 'pglite' } });
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await page.text()).toMatch(/<title>PCRS/);
      const busy = pcrs(['migrate'], { PCRS_DATA_DIR: data });
      expect(busy.code).toBe(75);
      expect(busy.stderr).toMatch(/in use by process \d+/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
