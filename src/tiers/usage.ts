/**
 * Usage and cost: bytes and objects per tier and dataset measured from the stores themselves (a
 * listing, not the catalogue's claims), a daily snapshot (time series), monthly cost from
 * configurable prices per tier, and the projection for the whole territory (per-km² averages of
 * what is covered × the territory's number of 1 km dalles).
 */
import type { TierName } from '../catalog/catalog.js';
import { TIER_NAMES, type Config } from '../config/config.js';
import type { Queryable } from '../db/database.js';
import { BACKUP_PREFIX, QUARANTINE_PREFIX } from './fixity.js';
import type { StorageServices } from '../storage/tier-services.js';

export interface TierPrice {
  perTbMonth: number;
  perGbRestored: number;
  perGbEgress: number;
}

/**
 * Indicative defaults (EUR, excl. VAT, 2025 list prices of the kind of offers the seed names):
 * cold ≈ an archive class / tape, intermediate ≈ standard S3 object storage (OVHcloud), nas ≈
 * amortised NAS disks, hot ≈ server SSD. Set `storage.prices` to the real contract.
 */
export const DEFAULT_PRICES: Record<TierName, TierPrice> = {
  cold: { perTbMonth: 2, perGbRestored: 0.01, perGbEgress: 0.01 },
  intermediate: { perTbMonth: 7, perGbRestored: 0, perGbEgress: 0.01 },
  nas: { perTbMonth: 4, perGbRestored: 0, perGbEgress: 0 },
  hot: { perTbMonth: 20, perGbRestored: 0, perGbEgress: 0 },
};

export interface UsageRow {
  tier: TierName;
  datasetId: string;
  objects: number;
  bytes: number;
}

export interface TierUsage {
  tier: TierName;
  where: string;
  objects: number;
  bytes: number;
  price: TierPrice;
  costPerMonth: number;
}

export interface UsageReport {
  day: string;
  currency: string;
  rows: UsageRow[];
  tiers: TierUsage[];
  total: { objects: number; bytes: number; costPerMonth: number };
  /** Cost of restoring everything in the cold tier once (per-GB restore price). */
  coldFullRestoreCost: number;
  projection: {
    territoryDalles: number;
    /** km² covered by stored orthophoto dalles (the base of the per-dalle averages). */
    coveredKm2: number;
    tiers: Array<{ tier: TierName; bytesPerDalle: number; bytes: number; costPerMonth: number }>;
    bytes: number;
    costPerMonth: number;
  } | null;
}

const TB = 1e12;
const GB = 1e9;

/** The price of a tier: `storage.prices` over the defaults (also what the financing plan's storage line uses). */
export function tierPrice(config: Pick<Config, 'storage'>, tier: TierName): TierPrice {
  const configured = config.storage.prices?.[tier];
  return configured ? { ...DEFAULT_PRICES[tier], ...configured } : DEFAULT_PRICES[tier];
}

/** Measures every tier (one listing each) and, unless `snapshot: false`, records today's snapshot. */
export async function measureUsage(services: StorageServices, options: { snapshot?: boolean; tiers?: TierName[] } = {}): Promise<UsageReport> {
  const day = new Date().toISOString().slice(0, 10);
  const rows: UsageRow[] = [];
  const tiers: TierUsage[] = [];
  const tierNames = options.tiers ?? [...TIER_NAMES];
  for (const tier of tierNames) {
    const store = services.tiers[tier];
    const datasets = await services.assets.datasetsByLocation(tier);
    const per = new Map<string, { objects: number; bytes: number }>();
    for await (const e of store.list('')) {
      const ds = e.key.startsWith(BACKUP_PREFIX) ? '(backup)' : e.key.startsWith(QUARANTINE_PREFIX) ? '(quarantine)' : (datasets.get(e.key) ?? '(unlisted)');
      const cur = per.get(ds) ?? { objects: 0, bytes: 0 };
      cur.objects++;
      cur.bytes += e.bytes;
      per.set(ds, cur);
    }
    let objects = 0;
    let bytes = 0;
    for (const [datasetId, u] of [...per].sort(([a], [b]) => (a < b ? -1 : 1))) {
      rows.push({ tier, datasetId, ...u });
      objects += u.objects;
      bytes += u.bytes;
    }
    const price = tierPrice(services.config, tier);
    tiers.push({ tier, where: store.describe(), objects, bytes, price, costPerMonth: (bytes / TB) * price.perTbMonth });
  }
  if (options.snapshot !== false) {
    await services.db.transaction(async (tx) => {
      for (const tier of tierNames) await tx.query('DELETE FROM storage_usage_daily WHERE day = $1::date AND tier = $2', [day, tier]);
      for (const r of rows) {
        await tx.query('INSERT INTO storage_usage_daily (day, tier, dataset_id, objects, bytes) VALUES ($1::date, $2, $3, $4, $5)', [day, r.tier, r.datasetId, r.objects, r.bytes]);
      }
    });
  }
  const cold = tiers.find((t) => t.tier === 'cold');
  const { rows: cov } = await services.db.query<{ m2: number | string | null }>(
    `SELECT COALESCE(SUM(ST_Area(d.footprint)), 0) AS m2 FROM dalles d JOIN versions v ON v.id = d.version_id
     WHERE v.dataset_id = 'ortho' AND d.state IN ('registered', 'published')`,
  );
  const coveredKm2 = Number(cov[0]?.m2 ?? 0) / 1e6;
  const territoryDalles = services.config.storage.territoryDalles ?? 5217;
  let projection: UsageReport['projection'] = null;
  if (coveredKm2 > 0) {
    const pt = tiers.map((t) => {
      const bytesPerDalle = t.bytes / coveredKm2;
      const bytes = bytesPerDalle * territoryDalles;
      return { tier: t.tier, bytesPerDalle: Math.round(bytesPerDalle), bytes: Math.round(bytes), costPerMonth: (bytes / TB) * t.price.perTbMonth };
    });
    projection = { territoryDalles, coveredKm2, tiers: pt, bytes: pt.reduce((s, t) => s + t.bytes, 0), costPerMonth: pt.reduce((s, t) => s + t.costPerMonth, 0) };
  }
  return {
    day,
    currency: services.config.storage.currency ?? 'EUR',
    rows,
    tiers,
    total: { objects: tiers.reduce((s, t) => s + t.objects, 0), bytes: tiers.reduce((s, t) => s + t.bytes, 0), costPerMonth: tiers.reduce((s, t) => s + t.costPerMonth, 0) },
    coldFullRestoreCost: cold ? (cold.bytes / GB) * cold.price.perGbRestored : 0,
    projection,
  };
}

/** The daily snapshots (time series), oldest first. */
export async function usageHistory(db: Queryable, days = 90): Promise<Array<{ day: string; tier: TierName; datasetId: string; objects: number; bytes: number }>> {
  const { rows } = await db.query<{ day: string | Date; tier: TierName; dataset_id: string; objects: number | string; bytes: number | string }>(
    `SELECT day, tier, dataset_id, objects, bytes FROM storage_usage_daily WHERE day > current_date - $1::int ORDER BY day, tier, dataset_id`,
    [days],
  );
  return rows.map((r) => ({ day: r.day instanceof Date ? r.day.toISOString().slice(0, 10) : String(r.day).slice(0, 10), tier: r.tier, datasetId: r.dataset_id, objects: Number(r.objects), bytes: Number(r.bytes) }));
}
