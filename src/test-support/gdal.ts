import sharp from 'sharp';
import { execTool } from '../util/exec.js';

/** Runs a GDAL tool and fails the test with GDAL's message when it fails. */
export async function gdal(tool: string, args: string[]): Promise<string> {
  const r = await execTool(tool, args, { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** PSNR (dB) between two images of the same size (RGB compared; alpha ignored). */
export async function psnr(a: string | Buffer, b: string | Buffer): Promise<number> {
  const A = await sharp(a).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const B = await sharp(b).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (A.info.width !== B.info.width || A.info.height !== B.info.height) {
    throw new Error(`images differ in size: ${A.info.width}×${A.info.height} vs ${B.info.width}×${B.info.height}`);
  }
  let se = 0;
  for (let i = 0; i < A.data.length; i++) {
    const d = (A.data[i] as number) - (B.data[i] as number);
    se += d * d;
  }
  const mse = se / A.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** Min and max of the first channel of an image (e.g. a mask). */
export async function channelRange(file: string | Buffer): Promise<{ min: number; max: number }> {
  const s = await sharp(file).stats();
  const c = s.channels[0];
  if (!c) throw new Error('image without channels');
  return { min: c.min, max: c.max };
}
