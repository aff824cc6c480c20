/** Helpers shared by the demo module's tests (not used by the product). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import sharp from 'sharp';

const execFileP = promisify(execFile);

/** Pixels of a window of a raster file, decoded by GDAL, as interleaved bytes. */
export async function readWindow(file: string, x: number, y: number, w: number, h: number): Promise<{ data: Buffer; channels: number }> {
  const { stdout } = await execFileP('gdal_translate', ['-q', '-srcwin', String(x), String(y), String(w), String(h), '-of', 'PNG', file, '/vsistdout/'], {
    encoding: 'buffer',
    maxBuffer: 256 * 1024 * 1024,
  });
  const { data, info } = await sharp(stdout).raw().toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels };
}

/** Mean absolute difference between two equally sized pixel runs. */
export function meanAbsDiff(a: Buffer | Uint8Array, b: Buffer | Uint8Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** Runs a command and returns its exit code and stderr (never throws on a non-zero exit). */
export async function runStatus(cmd: string, args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stderr, stdout };
  } catch (e) {
    const err = e as { code?: number; stderr?: string; stdout?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stderr: err.stderr ?? '', stdout: err.stdout ?? '' };
  }
}
