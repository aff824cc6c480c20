import path from 'node:path';
import type { TierName } from '../catalog/catalog.js';
import type { Config, TierConfig } from '../config/config.js';
import { LocalObjectStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-store.js';

/**
 * The storage tiers by name (cold, intermediate, nas, hot), each an ObjectStore from the
 * configuration. An unconfigured tier is a directory under `${dataDir}/storage/`, created on first
 * use (the zero-setup demo); a configured local path must exist (an unmounted NAS must not be
 * silently replaced by an empty directory).
 */
export function tierConfig(config: Config, tier: TierName): TierConfig {
  return config.storage[tier] ?? { type: 'local', path: path.join(config.dataDir, 'storage', tier) };
}

export function openTier(config: Config, tier: TierName): ObjectStore {
  const t = tierConfig(config, tier);
  if (t.type === 'local') return new LocalObjectStore({ root: path.resolve(t.path), create: config.storage[tier] === undefined });
  return new S3ObjectStore({
    region: t.region,
    bucket: t.bucket,
    prefix: t.prefix,
    forcePathStyle: t.forcePathStyle,
    ...(t.endpoint ? { endpoint: t.endpoint } : {}),
    ...(t.accessKeyId ? { accessKeyId: t.accessKeyId } : {}),
    ...(t.secretAccessKey ? { secretAccessKey: t.secretAccessKey } : {}),
    ...(t.storageClass ? { storageClass: t.storageClass } : {}),
  });
}

export type TierStores = Record<TierName, ObjectStore>;

export function openTiers(config: Config): TierStores {
  return { cold: openTier(config, 'cold'), intermediate: openTier(config, 'intermediate'), nas: openTier(config, 'nas'), hot: openTier(config, 'hot') };
}
