import type { Queryable } from '../db/database.js';

export type AssetKind = 'master' | 'raw-at' | 'archive-package' | 'pyramid' | 'vector-source' | 'business' | 'report';
export type TierName = 'cold' | 'intermediate' | 'nas' | 'hot';
export type AssetState = 'pending' | 'stored' | 'missing' | 'corrupted' | 'deleted';
export interface Asset {
  id: number;
  kind: AssetKind;
  datasetId: string;
  versionId: number | null;
  dalleId: number | null;
  tier: TierName;
  location: string;
  bytes: number;
  sha256: string | null;
  state: AssetState;
  storageClass: string | null;
  verifiedAt: Date | null;
}


interface Row {
  id: number | string;
  kind: AssetKind;
  dataset_id: string;
  version_id: number | string | null;
  dalle_id: number | string | null;
  tier: TierName;
  location: string;
  bytes: number | string;
  sha256: string | null;
  state: AssetState;
  storage_class: string | null;
  verified_at: Date | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

function assetOfRow(r: Row): Asset {
  return {
    id: Number(r.id),
    kind: r.kind,
    datasetId: r.dataset_id,
    versionId: num(r.version_id),
    dalleId: num(r.dalle_id),
    tier: r.tier,
    location: r.location,
    bytes: Number(r.bytes),
    sha256: r.sha256,
    state: r.state,
    storageClass: r.storage_class,
    verifiedAt: r.verified_at,
  };
}

/**
 * The store of the `assets` table: every object of every tier (masters, pyramid files, archive
 * packages, NAS copies) with its size, SHA-256 and state. The one place that writes SQL on assets.
 */
export class AssetStore {
  constructor(private readonly db: Queryable) {}

  /** The same store bound to a transaction. */
  with(tx: Queryable): AssetStore {
    return new AssetStore(tx);
  }

  /**
   * Records an asset as pending (before the bytes are written). `markStored` flips it once the
   * written object has been verified; a crash in between leaves a 'pending' row, never a lie.
   */
  async addPending(input: {
    kind: AssetKind;
    datasetId: string;
    versionId?: number | null;
    dalleId?: number | null;
    tier: TierName;
    location: string;
    bytes?: number;
    sha256?: string | null;
    storageClass?: string | null;
    metadata?: Record<string, unknown>;
  }): Promise<Asset> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO assets (kind, dataset_id, version_id, dalle_id, tier, location, bytes, sha256, storage_class, metadata, state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, 'pending')
       ON CONFLICT (tier, location) DO UPDATE SET
         kind = EXCLUDED.kind, dataset_id = EXCLUDED.dataset_id, version_id = EXCLUDED.version_id, dalle_id = EXCLUDED.dalle_id,
         bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256, storage_class = EXCLUDED.storage_class, metadata = EXCLUDED.metadata,
         state = 'pending', updated_at = now()
       RETURNING *`,
      [
        input.kind,
        input.datasetId,
        input.versionId ?? null,
        input.dalleId ?? null,
        input.tier,
        input.location,
        input.bytes ?? 0,
        input.sha256 ?? null,
        input.storageClass ?? null,
        JSON.stringify(input.metadata ?? {}),
      ],
    );
    return assetOfRow(rows[0] as Row);
  }

  async markStored(assetId: number, bytes: number, sha256: string): Promise<void> {
    await this.db.query(
      `UPDATE assets SET state = 'stored', bytes = $2, sha256 = $3, verified_at = now(), updated_at = now() WHERE id = $1`,
      [assetId, bytes, sha256],
    );
  }

  async setState(assetId: number, state: AssetState): Promise<void> {
    await this.db.query('UPDATE assets SET state = $2, updated_at = now() WHERE id = $1', [assetId, state]);
  }

  async list(filter: { dalleId?: number; versionId?: number; tier?: TierName; kind?: AssetKind; state?: AssetState } = {}): Promise<Asset[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT * FROM assets
       WHERE ($1::bigint IS NULL OR dalle_id = $1) AND ($2::bigint IS NULL OR version_id = $2)
         AND ($3::text IS NULL OR tier = $3) AND ($4::text IS NULL OR kind = $4) AND ($5::text IS NULL OR state = $5)
       ORDER BY id`,
      [filter.dalleId ?? null, filter.versionId ?? null, filter.tier ?? null, filter.kind ?? null, filter.state ?? null],
    );
    return rows.map(assetOfRow);
  }

  async get(id: number): Promise<Asset | null> {
    const { rows } = await this.db.query<Row>('SELECT * FROM assets WHERE id = $1', [id]);
    return rows[0] ? assetOfRow(rows[0]) : null;
  }

  async find(tier: TierName, location: string): Promise<Asset | null> {
    const { rows } = await this.db.query<Row>('SELECT * FROM assets WHERE tier = $1 AND location = $2', [tier, location]);
    return rows[0] ? assetOfRow(rows[0]) : null;
  }

  /** Assets of a tier in the given states, by ascending id after `afterId` (resumable scans). */
  async page(filter: { tier?: TierName; kinds?: AssetKind[]; states: AssetState[] }, afterId: number, limit = 500): Promise<Asset[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT * FROM assets WHERE id > $1 AND ($2::text IS NULL OR tier = $2) AND state = ANY($3::text[])
         AND ($4::text[] IS NULL OR kind = ANY($4::text[]))
       ORDER BY id LIMIT $5`,
      [afterId, filter.tier ?? null, filter.states, filter.kinds ?? null, limit],
    );
    return rows.map(assetOfRow);
  }

  /**
   * Locations of a tier the platform knows: the catalogue's assets (every state but 'deleted') and
   * the live attachments of declarations and the files written for extracts (which keep their own
   * size and SHA-256), so that a scrub never reports nor quarantines them as unlisted.
   */
  async knownLocations(tier: TierName): Promise<Set<string>> {
    const { rows } = await this.db.query<{ location: string }>(
      `SELECT location FROM assets WHERE tier = $1 AND state <> 'deleted'
       UNION SELECT storage_key FROM declaration_attachments WHERE tier = $1 AND deleted_at IS NULL
       UNION SELECT e.location FROM extract_entries e WHERE e.tier = $1 AND e.location IS NOT NULL`,
      [tier],
    );
    return new Set(rows.map((r) => r.location));
  }

  async markVerified(id: number): Promise<void> {
    await this.db.query(`UPDATE assets SET state = 'stored', verified_at = now(), updated_at = now() WHERE id = $1`, [id]);
  }

  /** How many assets `page` would go through with this filter (for progress totals). */
  async count(filter: { tier?: TierName; kinds?: AssetKind[]; states: AssetState[] }): Promise<number> {
    const { rows } = await this.db.query<{ n: number | string }>(
      `SELECT COUNT(*)::int AS n FROM assets WHERE ($1::text IS NULL OR tier = $1) AND state = ANY($2::text[]) AND ($3::text[] IS NULL OR kind = ANY($3::text[]))`,
      [filter.tier ?? null, filter.states, filter.kinds ?? null],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** True when `tier` holds a stored copy of `location` with this SHA-256 (a good copy to repair from). */
  async hasStoredCopy(tier: TierName, location: string, sha256: string): Promise<boolean> {
    const { rows } = await this.db.query(`SELECT 1 FROM assets WHERE tier = $1 AND location = $2 AND state = 'stored' AND sha256 = $3 LIMIT 1`, [tier, location, sha256]);
    return rows.length > 0;
  }

  /** The dataset of every location of a tier the catalogue knows (every state but 'deleted'). */
  async datasetsByLocation(tier: TierName): Promise<Map<string, string>> {
    const { rows } = await this.db.query<{ location: string; dataset_id: string }>(`SELECT location, dataset_id FROM assets WHERE tier = $1 AND state <> 'deleted'`, [tier]);
    return new Map(rows.map((r) => [r.location, r.dataset_id]));
  }

  /** The asset's free-form metadata (`{}` when it has none or does not exist). */
  async metadata(id: number): Promise<Record<string, unknown>> {
    const { rows } = await this.db.query<{ metadata: Record<string, unknown> | null }>('SELECT metadata FROM assets WHERE id = $1', [id]);
    return rows[0]?.metadata ?? {};
  }

  /**
   * Records what the storage reported about a written object: its storage class (null keeps the
   * one recorded) and metadata keys, merged into the existing ones.
   */
  async recordStorageDetails(id: number, details: { storageClass: string | null; metadata: Record<string, unknown> }): Promise<void> {
    await this.db.query(`UPDATE assets SET storage_class = COALESCE($2, storage_class), metadata = metadata || $3::jsonb WHERE id = $1`, [
      id,
      details.storageClass,
      JSON.stringify(details.metadata),
    ]);
  }

  /** Assets in the 'stored' state: how many, and their bytes. */
  async storedTotals(): Promise<{ count: number; bytes: number }> {
    const { rows } = await this.db.query<{ n: number | string; bytes: number | string }>(`SELECT COUNT(*)::int AS n, COALESCE(SUM(bytes), 0)::bigint AS bytes FROM assets WHERE state = 'stored'`);
    return { count: Number(rows[0]?.n ?? 0), bytes: Number(rows[0]?.bytes ?? 0) };
  }
}
