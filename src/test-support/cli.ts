import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The `pcrs` command as users run it: the built CLI (bin/pcrs.js → dist/, built by `npm test`'s
 * pretest) in a child process, with a clean environment (no DATABASE_URL, no PCRS_CONFIG, silent
 * logs) plus `env` — typically a TestDatabase's `env`, which points it at that database.
 */
export const PCRS_BIN = fileURLToPath(new URL('../../bin/pcrs.js', import.meta.url));

export function runPcrs(args: readonly string[], env: Record<string, string> = {}, options: { timeoutMs?: number } = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [PCRS_BIN, ...args], {
    env: { ...process.env, DATABASE_URL: '', PCRS_CONFIG: '', PCRS_LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 180_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
