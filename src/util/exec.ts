import { spawn } from 'node:child_process';
import { UserError } from './errors.js';

/** How to install each external tool we spawn, for the message when it is missing. */
export const INSTALL_HINTS: Record<string, string> = {
  gdalinfo: 'Install GDAL: sudo apt-get install -y gdal-bin',
  gdal_translate: 'Install GDAL: sudo apt-get install -y gdal-bin',
  gdalwarp: 'Install GDAL: sudo apt-get install -y gdal-bin',
  gdaladdo: 'Install GDAL: sudo apt-get install -y gdal-bin',
  gdalbuildvrt: 'Install GDAL: sudo apt-get install -y gdal-bin',
  ogr2ogr: 'Install GDAL: sudo apt-get install -y gdal-bin',
  ogrinfo: 'Install GDAL: sudo apt-get install -y gdal-bin',
  xmllint: 'Install libxml2 tools: sudo apt-get install -y libxml2-utils',
};

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs an external program without a shell (arguments are never interpreted), collecting output.
 * A missing program is a UserError saying how to install it; a non-zero exit is returned, not
 * thrown, unless `check` is set.
 */
export function execTool(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; check?: boolean; cwd?: string; maxOutputBytes?: number; signal?: AbortSignal } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
    const limit = options.maxOutputBytes ?? 64 * 1024 * 1024;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes <= limit) out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      errBytes += b.length;
      if (errBytes <= limit) err.push(b);
    });
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, options.timeoutMs)
      : undefined;
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (e.code === 'ENOENT') {
        reject(
          new UserError('tool-missing', `The program '${command}' was not found.`, {
            hint: INSTALL_HINTS[command] ?? `Install '${command}' and make sure it is on the PATH.`,
            exitCode: 69,
            status: 503,
          }),
        );
      } else reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code: code ?? (signal ? 128 : 1) };
      if (timedOut) {
        reject(new UserError('tool-timeout', `'${command}' did not finish within ${options.timeoutMs} ms.`, { exitCode: 70 }));
      } else if (options.check && result.code !== 0) {
        reject(new Error(`${command} ${args.join(' ')} exited with ${result.code}: ${result.stderr.trim().slice(0, 2000)}`));
      } else resolve(result);
    });
  });
}
