import type { AppContext } from '../context/app-context.js';
import { rebuildPyramidFile } from '../raster/pyramid/rebuild-file.js';
import type { StorageServices } from '../storage/tier-services.js';

/** The tier operations over a context, with the raster capability's pyramid rebuild for repairs. */
export function storageServices(ctx: AppContext): StorageServices {
  return { ...ctx, rebuildPyramidFile: (asset, signal) => rebuildPyramidFile(ctx, asset, signal) };
}
