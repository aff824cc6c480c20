import { cpus } from 'node:os';
import path from 'node:path';
import type { Asset, Catalog } from '../catalog/catalog.js';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import type { JobStore } from '../jobs/jobs.js';
import { buildVersionPyramid } from '../pyramid/build-version.js';
import { fileBbox, type FileFamily, type PyramidFileRef } from '../pyramid/layout.js';
import { PyramidCatalog } from '../pyramid/pyramid-catalog.js';
import type { AppContext } from '../server/app.js';
import { getAsset } from './asset-queries.js';
import { openTiers, type TierStores } from './tiers.js';

/** What the tier operations (archive, restore, sync, fixity, usage) need. */
export interface StorageServices {
  config: Config;
  db: Database;
  catalog: Catalog;
  jobs: JobStore;
  stores: TierStores;
  /**
   * Rebuilds the hot pyramid file of `asset` from the masters; returns the asset that now holds
   * that file (the same one when the rebuild is byte-identical), or null when nothing could be built.
   */
  rebuildPyramidFile?: (asset: Asset, signal?: AbortSignal) => Promise<Asset | null>;
}

export function storageServices(ctx: AppContext, stores: TierStores = openTiers(ctx.config)): StorageServices {
  const services: StorageServices = { config: ctx.config, db: ctx.db, catalog: ctx.catalog, jobs: ctx.jobs, stores };
  services.rebuildPyramidFile = (asset, signal) => rebuildPyramidFile(services, asset, signal);
  return services;
}

/** Re-runs the pyramid build for the one file an asset holds, from the version's masters. */
export async function rebuildPyramidFile(services: StorageServices, asset: Asset, signal?: AbortSignal): Promise<Asset | null> {
  if (asset.kind !== 'pyramid' || asset.versionId === null) return null;
  const { rows } = await services.db.query<{ family: FileFamily; col: number; row: number }>('SELECT family, col, row FROM pyramid_files WHERE asset_id = $1', [asset.id]);
  const row = rows[0];
  if (!row) return null;
  const ref: PyramidFileRef = { family: row.family, col: row.col, row: row.row };
  const version = await services.catalog.getVersionById(asset.versionId);
  const dalles = (await services.catalog.listDalles({ versionId: version.id, bbox: fileBbox(ref) })).filter((d) => d.state === 'registered' || d.state === 'published');
  if (dalles.length === 0) return null;
  await buildVersionPyramid(
    { db: services.db, catalog: services.catalog, masters: services.stores.intermediate, hot: services.stores.hot, scratchDir: path.join(services.config.dataDir, 'tmp') },
    version,
    dalles,
    { quality: services.config.pyramid.jpegQuality, concurrency: services.config.pyramid.concurrency ?? Math.max(1, cpus().length), ...(signal ? { signal } : {}) },
  );
  const now = await new PyramidCatalog(services.db).get(version.id, ref);
  if (!now) return null;
  return getAsset(services.db, now.assetId);
}
