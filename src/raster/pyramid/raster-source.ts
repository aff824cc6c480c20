import sharp from 'sharp';
import type { PixelRect } from './layout.js';

/**
 * A source image for the pyramid: a north-up Lambert-93 raster on the 5 cm lattice that libvips can
 * read by window (a tiled GeoTIFF: delivered masters as they are; JPEG 2000 or CC-zone deliveries
 * converted first), placed in level-22 pixel space.
 */
export interface PyramidSource {
  /** Local file libvips reads. */
  path: string;
  /** Where it lies, in level-22 pixels. */
  rect: PixelRect;
  /** 4th band is alpha (coverage). */
  hasAlpha: boolean;
  /** Higher wins where sources overlap (newer versions, later dalles). */
  priority: number;
  /** For messages. */
  label: string;
}

/** Pixels of `window` (level-22 pixel space, inside the source) as RGBA rows. */
export async function readSourceWindow(source: PyramidSource, window: PixelRect): Promise<Buffer> {
  const left = window.x0 - source.rect.x0;
  const top = window.y0 - source.rect.y0;
  const width = window.x1 - window.x0;
  const height = window.y1 - window.y0;
  try {
    return await sharp(source.path, { limitInputPixels: false, failOn: 'error' }).extract({ left, top, width, height }).ensureAlpha().raw().toBuffer();
  } catch (e) {
    throw new SourceReadError(source, e);
  }
}

export class SourceReadError extends Error {
  constructor(
    readonly source: PyramidSource,
    cause: unknown,
  ) {
    super(`cannot decode ${source.label}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
