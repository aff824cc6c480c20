import { openTiledTiff, openTiledTiffFile, type TiffSource, type TiledTiff } from '../tiff/tiled-tiff-reader.js';
import type { ObjectStore } from '../../storage/object-store.js';

/** A pyramid file of the hot tier opened for tile reads: positional reads locally, range GETs on S3. */
export async function openStoredTiff(hot: ObjectStore, key: string, bytes: number): Promise<TiledTiff & { source: TiffSource; close(): Promise<void> }> {
  if (hot.localPath) return openTiledTiffFile(hot.localPath(key));
  const source: TiffSource = { size: bytes, read: (offset, length) => hot.getRange(key, offset, Math.max(0, Math.min(length, bytes - offset))) };
  return Object.assign(await openTiledTiff(source), { source, close: async () => undefined });
}
