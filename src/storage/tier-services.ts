import type { Asset } from '../catalog/catalog.js';
import type { AppContext } from '../context/app-context.js';

/**
 * What the tier operations (archive, restore, NAS sync, fixity, usage) need: the context's parts,
 * and — wired by the tiers capability from the raster one — how to rebuild a hot pyramid file
 * from the masters when fixity finds it damaged.
 */
export interface StorageServices extends Pick<AppContext, 'config' | 'db' | 'catalog' | 'assets' | 'jobs' | 'tiers' | 'log'> {
  /**
   * Rebuilds the hot pyramid file of `asset` from the masters; returns the asset that now holds
   * that file (the same one when the rebuild is byte-identical), or null when nothing could be built.
   */
  rebuildPyramidFile?: (asset: Asset, signal?: AbortSignal) => Promise<Asset | null>;
}
