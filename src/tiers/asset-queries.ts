import type { Asset, AssetKind, AssetState, TierName } from '../catalog/catalog.js';
import type { Queryable } from '../db/database.js';

/** Asset queries the tier operations need beyond `Catalog` (pages by id, by location). */

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

export function assetOfRow(r: Row): Asset {
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

export async function getAsset(db: Queryable, id: number): Promise<Asset | null> {
  const { rows } = await db.query<Row>('SELECT * FROM assets WHERE id = $1', [id]);
  return rows[0] ? assetOfRow(rows[0]) : null;
}

export async function findAsset(db: Queryable, tier: TierName, location: string): Promise<Asset | null> {
  const { rows } = await db.query<Row>('SELECT * FROM assets WHERE tier = $1 AND location = $2', [tier, location]);
  return rows[0] ? assetOfRow(rows[0]) : null;
}

/** Assets of a tier in the given states, by ascending id after `afterId` (resumable scans). */
export async function assetsPage(db: Queryable, filter: { tier?: TierName; kinds?: AssetKind[]; states: AssetState[] }, afterId: number, limit = 500): Promise<Asset[]> {
  const { rows } = await db.query<Row>(
    `SELECT * FROM assets WHERE id > $1 AND ($2::text IS NULL OR tier = $2) AND state = ANY($3::text[])
       AND ($4::text[] IS NULL OR kind = ANY($4::text[]))
     ORDER BY id LIMIT $5`,
    [afterId, filter.tier ?? null, filter.states, filter.kinds ?? null, limit],
  );
  return rows.map(assetOfRow);
}

/** Locations of a tier the catalogue knows (every state but 'deleted'). */
export async function knownLocations(db: Queryable, tier: TierName): Promise<Set<string>> {
  const { rows } = await db.query<{ location: string }>(`SELECT location FROM assets WHERE tier = $1 AND state <> 'deleted'`, [tier]);
  return new Set(rows.map((r) => r.location));
}

export async function markVerified(db: Queryable, id: number): Promise<void> {
  await db.query(`UPDATE assets SET state = 'stored', verified_at = now(), updated_at = now() WHERE id = $1`, [id]);
}
