import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import { runCli } from '../cli/main.js';
import type { TestDatabase } from './db.js';

/**
 * Runs `pcrs …` in this process against a test database (its data dir for PGlite, its URL for
 * PostgreSQL) and returns the exit code and what it printed. With PGlite the test must have closed
 * its own handle first: one process at a time owns the data dir.
 */
export async function runPcrs(t: Pick<TestDatabase, 'engine' | 'env'>, dataDir: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { PCRS_DATA_DIR: process.env.PCRS_DATA_DIR, PCRS_LOG_LEVEL: process.env.PCRS_LOG_LEVEL, PCRS_CONFIG: process.env.PCRS_CONFIG, DATABASE_URL: process.env.DATABASE_URL };
  process.env.PCRS_DATA_DIR = dataDir;
  process.env.PCRS_LOG_LEVEL = 'silent';
  process.env.PCRS_CONFIG = '';
  if (t.engine === 'postgres') process.env.DATABASE_URL = t.env.DATABASE_URL as string;
  else delete process.env.DATABASE_URL;
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await runCli([...args]), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * The `pcrs` command as users run it: the built CLI (bin/pcrs.js → dist/, built by `npm test`'s
 * pretest) in a child process, with a clean environment (no DATABASE_URL, no PCRS_CONFIG, silent
 * logs) plus `env` — typically a TestDatabase's `env`, which points it at that database.
 */
export const PCRS_BIN = fileURLToPath(new URL('../../bin/pcrs.js', import.meta.url));

export function runBuiltPcrs(args: readonly string[], env: Record<string, string> = {}, options: { timeoutMs?: number } = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [PCRS_BIN, ...args], {
    env: { ...process.env, DATABASE_URL: '', PCRS_CONFIG: '', PCRS_LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 180_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
