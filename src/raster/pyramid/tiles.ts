import sharp from 'sharp';
import { TILE } from './layout.js';

/** A square RGBA raster held in memory while the pyramid is built (alpha = coverage). */
export interface RgbaImage {
  data: Buffer;
  size: number;
}

export type TileMask = 'full' | Buffer;

export interface EncodedTile {
  jpeg: Buffer;
  /** 'full', or 256×256 bytes (255 covered, 0 empty) for tiles at the edge of the coverage. */
  mask: TileMask;
}

export interface JpegOptions {
  quality: number;
}

/**
 * One 256² tile of an RGBA image, split into RGB bytes (for the JPEG) and its coverage: 'empty',
 * 'full', or a mask (255 where alpha > 0: at coarse levels a small area must not vanish, and its
 * un-premultiplied colour is data, not background). One pass over the pixels.
 */
export function extractTile(image: RgbaImage, tx: number, ty: number): { rgb: Buffer; coverage: 'empty' | TileMask } {
  const { data, size } = image;
  const rgb = Buffer.allocUnsafe(TILE * TILE * 3);
  const mask = Buffer.allocUnsafe(TILE * TILE);
  let covered = 0;
  for (let y = 0; y < TILE; y++) {
    let p = ((ty * TILE + y) * size + tx * TILE) * 4;
    let q = y * TILE * 3;
    let m = y * TILE;
    for (let x = 0; x < TILE; x++, p += 4, q += 3, m++) {
      rgb[q] = data[p] as number;
      rgb[q + 1] = data[p + 1] as number;
      rgb[q + 2] = data[p + 2] as number;
      const on = (data[p + 3] as number) > 0;
      mask[m] = on ? 255 : 0;
      if (on) covered++;
    }
  }
  return { rgb, coverage: covered === 0 ? 'empty' : covered === TILE * TILE ? 'full' : mask };
}

/** Whether any pixel of the image is covered (alpha > 0). */
export function hasCoverage(image: RgbaImage): boolean {
  for (let p = 3; p < image.data.length; p += 4) if ((image.data[p] as number) > 0) return true;
  return false;
}

/** JPEG (YCbCr 4:2:0, baseline, self-contained) of one 256² RGB tile. */
export function encodeTile(rgb: Buffer, options: JpegOptions): Promise<Buffer> {
  return sharp(rgb, { raw: { width: TILE, height: TILE, channels: 3 } })
    .jpeg({ quality: options.quality, chromaSubsampling: '4:2:0', optimiseCoding: true })
    .toBuffer();
}

/** Half-size image (2×2 → 1), alpha-weighted so coverage edges do not darken. */
export async function halve(image: RgbaImage): Promise<RgbaImage> {
  const size = image.size / 2;
  const data = await sharp(image.data, { raw: { width: image.size, height: image.size, channels: 4 } })
    .resize(size, size, { kernel: 'linear', fit: 'fill' })
    .raw()
    .toBuffer();
  return { data, size };
}

/** 2×2 tiles (null = empty) assembled into a 512² image. */
export function assembleQuad(children: ReadonlyArray<RgbaImage | null>): RgbaImage {
  const size = TILE * 2;
  const data = Buffer.alloc(size * size * 4);
  children.forEach((child, i) => {
    if (!child) return;
    const ox = (i % 2) * TILE;
    const oy = Math.floor(i / 2) * TILE;
    for (let y = 0; y < TILE; y++) child.data.copy(data, ((oy + y) * size + ox) * 4, y * TILE * 4, (y + 1) * TILE * 4);
  });
  return { data, size };
}

/** RGBA tile from a stored JPEG and its mask (the inverse of encodeTile + tileCoverage). */
export async function decodeTile(jpeg: Buffer, mask: TileMask): Promise<RgbaImage> {
  const rgb = await sharp(jpeg).removeAlpha().raw().toBuffer();
  const data = Buffer.alloc(TILE * TILE * 4);
  for (let i = 0, j = 0; i < TILE * TILE; i++, j += 3) {
    data[i * 4] = rgb[j] as number;
    data[i * 4 + 1] = rgb[j + 1] as number;
    data[i * 4 + 2] = rgb[j + 2] as number;
    data[i * 4 + 3] = mask === 'full' ? 255 : (mask[i] as number);
  }
  return { data, size: TILE };
}
