/**
 * Reads the frame header of a JPEG stream (SOI … SOFn), without decoding: enough to check that a
 * tile handed to the pyramid writer is a complete, baseline, correctly sized and subsampled JPEG
 * that libtiff/GDAL will decode as a TIFF tile, and that browsers get as-is.
 */
export interface JpegFrameInfo {
  /** SOF marker (0xC0 baseline, 0xC1 extended sequential, 0xC2 progressive, …). */
  sof: number;
  precision: number;
  width: number;
  height: number;
  /** Sampling factors [h, v] of each component, in frame order. */
  sampling: Array<[number, number]>;
}

/** Frame header of a JPEG stream; throws an Error naming what is wrong when it is not one. */
export function readJpegFrame(b: Uint8Array): JpegFrameInfo {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw new Error('not a JPEG stream (no SOI marker)');
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) throw new Error(`corrupt JPEG stream: expected a marker at byte ${i}`);
    const marker = b[i + 1] ?? 0;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) throw new Error('corrupt JPEG stream: no frame header (SOF) before the scan');
    const len = ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 2 + len > b.length || len < 8) break;
      const nf = b[i + 9] ?? 0;
      if (len !== 8 + 3 * nf) throw new Error('corrupt JPEG frame header');
      const sampling: Array<[number, number]> = [];
      for (let c = 0; c < nf; c++) {
        const hv = b[i + 11 + 3 * c] ?? 0;
        sampling.push([hv >> 4, hv & 15]);
      }
      return {
        sof: marker,
        precision: b[i + 4] ?? 0,
        height: ((b[i + 5] ?? 0) << 8) | (b[i + 6] ?? 0),
        width: ((b[i + 7] ?? 0) << 8) | (b[i + 8] ?? 0),
        sampling,
      };
    }
    i += 2 + len;
  }
  throw new Error('truncated JPEG stream: no frame header');
}
