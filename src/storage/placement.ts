import type { AssetKind, TierName } from '../catalog/catalog.js';

/**
 * Placement policy: which kinds of assets live in which tiers, in one place. The code that stores
 * things asks here (`primaryTier`), the NAS sync copies what `copyTiers` says, and fixity repair
 * looks for good copies in the other tiers of the same kind.
 *
 * - raw aerotriangulation data, packed as BagIt archive packages → cold (archive class / tape);
 * - masters (the delivered dalles, byte for byte) → intermediate (object storage) + nas (backup copy);
 * - the serving pyramid → hot (derived: rebuilt from the masters, no second copy).
 */
export interface Placement {
  /** Where the reference copy is written. */
  primary: TierName;
  /** Verified copies of the reference copy (kept by `pcrs storage sync-nas`). */
  copies: readonly TierName[];
  /** How a bad copy is repaired when no other tier holds a good one. */
  rebuild?: 'pyramid-from-masters';
}

export const PLACEMENT: Readonly<Record<AssetKind, Placement>> = {
  'raw-at': { primary: 'cold', copies: [] },
  'archive-package': { primary: 'cold', copies: [] },
  master: { primary: 'intermediate', copies: ['nas'] },
  pyramid: { primary: 'hot', copies: [], rebuild: 'pyramid-from-masters' },
  'vector-source': { primary: 'intermediate', copies: ['nas'] },
  business: { primary: 'intermediate', copies: ['nas'] },
  report: { primary: 'intermediate', copies: [] },
};

export function placementOf(kind: AssetKind): Placement {
  return PLACEMENT[kind];
}

export function primaryTier(kind: AssetKind): TierName {
  return PLACEMENT[kind].primary;
}

/** Every tier that may hold a copy of this kind (the primary first). */
export function tiersOf(kind: AssetKind): TierName[] {
  const p = PLACEMENT[kind];
  return [p.primary, ...p.copies];
}

/** Kinds whose primary copy is in `from` and which have a copy in `to` (e.g. intermediate → nas). */
export function kindsCopied(from: TierName, to: TierName): AssetKind[] {
  return (Object.keys(PLACEMENT) as AssetKind[]).filter((k) => PLACEMENT[k].primary === from && PLACEMENT[k].copies.includes(to));
}
