import type { Database, Queryable } from '../db/database.js';
import type { TierName } from '../catalog/asset-store.js';
import type { LicenceId } from '../licences/store.js';

/** The extracts tables' SQL (extracts, extract_entries, asset_crc32); nothing else writes them. */

export type ExtractState = 'queued' | 'running' | 'ready' | 'failed' | 'expired';

export interface ExtractRecord {
  id: number;
  requesterActor: string;
  requesterUserId: number | null;
  request: NormalisedRequest;
  requestHash: string;
  areaLabel: string;
  state: ExtractState;
  jobId: number | null;
  contentHash: string | null;
  zipBytes: number | null;
  entryCount: number | null;
  /** When the content was planned (the ZIP's file dates). */
  contentTime: string | null;
  error: string | null;
  createdAt: string;
  readyAt: string | null;
  expiresAt: string | null;
}

export const EXTRACT_CONTENTS = ['ortho-master', 'ortho-cog', 'vector-gml', 'vector-gpkg', 'vector-dxf'] as const;
export type ExtractContent = (typeof EXTRACT_CONTENTS)[number];
/** `dalles`: whole objects touching the area (the default); `area`: objects cut to the area. */
export type VectorClip = 'area' | 'dalles';

/** What was asked, once resolved (stored, shown back, and hashed with what it selects). */
export interface NormalisedRequest {
  area: { kind: 'geometry' | 'commune' | 'epci' | 'declaration' | 'organisation'; code?: string; label: string; km2: number };
  contents: ExtractContent[];
  /** `excluded`: dalles outside the requester's permission perimeter when asked, left out. */
  ortho: { version: string; excluded: string[] } | null;
  /** `clip` absent (older requests): `dalles`. */
  vector: { version: string | null; clip?: VectorClip } | null;
  /** The text it is delivered under: the charter when any of it is restricted data (absent: the open licence). */
  licence?: LicenceId;
  /** 'urls': the files are also listed as signed URLs (absent: the ZIP only). */
  delivery?: ExtractDelivery;
}

export type ExtractDelivery = 'zip' | 'urls';

export interface EntryRow {
  seq: number;
  name: string;
  bytes: number;
  crc32: number;
  sha256: string;
  assetId: number | null;
  tier: TierName | null;
  location: string | null;
  inline: Buffer | null;
}

interface Row {
  id: string;
  requester_actor: string;
  requester_user_id: string | null;
  request: NormalisedRequest;
  request_hash: string;
  area_label: string;
  state: ExtractState;
  job_id: string | null;
  content_hash: string | null;
  zip_bytes: string | null;
  entry_count: number | null;
  content_time: Date | string | null;
  error: string | null;
  created_at: Date | string;
  ready_at: Date | string | null;
  expires_at: Date | string | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
const num = (v: string | null) => (v === null ? null : Number(v));

function toRecord(r: Row): ExtractRecord {
  return {
    id: Number(r.id),
    requesterActor: r.requester_actor,
    requesterUserId: num(r.requester_user_id),
    request: r.request,
    requestHash: r.request_hash,
    areaLabel: r.area_label,
    state: r.state,
    jobId: num(r.job_id),
    contentHash: r.content_hash,
    zipBytes: num(r.zip_bytes),
    entryCount: r.entry_count,
    contentTime: iso(r.content_time),
    error: r.error,
    createdAt: iso(r.created_at) as string,
    readyAt: iso(r.ready_at),
    expiresAt: iso(r.expires_at),
  };
}

const COLUMNS = `id::text, requester_actor, requester_user_id::text, request, request_hash, area_label, state, job_id::text, content_hash, zip_bytes::text, entry_count, content_time, error, created_at, ready_at, expires_at`;

interface EntryDbRow {
  seq: number;
  name: string;
  bytes: string;
  crc32: string;
  sha256: string;
  asset_id: string | null;
  tier: TierName | null;
  location: string | null;
  inline: Buffer | Uint8Array | null;
}
const ENTRY_COLUMNS = `seq, name, bytes::text, crc32::text, sha256, asset_id::text, tier, location, inline`;
const toEntry = (r: EntryDbRow): EntryRow => ({ seq: r.seq, name: r.name, bytes: Number(r.bytes), crc32: Number(r.crc32), sha256: r.sha256, assetId: num(r.asset_id), tier: r.tier, location: r.location, inline: r.inline === null ? null : Buffer.from(r.inline) });

export class ExtractStore {
  constructor(readonly db: Database) {}

  async insert(e: { requesterActor: string; requesterUserId: number | null; request: NormalisedRequest; requestHash: string; areaGeoJson: string }): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO extracts (requester_actor, requester_user_id, request, request_hash, area, area_label)
       VALUES ($1, $2, $3::jsonb, $4, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($5::text), 2154)), $6) RETURNING id::text`,
      [e.requesterActor, e.requesterUserId, JSON.stringify(e.request), e.requestHash, e.areaGeoJson, e.request.area.label],
    );
    return Number(rows[0]?.id);
  }

  async get(id: number): Promise<ExtractRecord | null> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM extracts WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async listFor(actor: string, userId: number | null, limit: number): Promise<ExtractRecord[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM extracts WHERE requester_actor = $1 OR ($2::bigint IS NOT NULL AND requester_user_id = $2) ORDER BY created_at DESC, id DESC LIMIT $3`,
      [actor, userId, limit],
    );
    return rows.map(toRecord);
  }

  /** A ready, unexpired extract of exactly this content, to copy instead of planning again. */
  async reusable(requestHash: string): Promise<ExtractRecord | null> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM extracts WHERE request_hash = $1 AND state = 'ready' AND (expires_at IS NULL OR expires_at > now()) ORDER BY ready_at DESC LIMIT 1`,
      [requestHash],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async areaGeoJson(id: number): Promise<string> {
    const { rows } = await this.db.query<{ g: string }>(`SELECT ST_AsGeoJSON(area, 2) AS g FROM extracts WHERE id = $1`, [id]);
    return rows[0]?.g as string;
  }

  async setJob(id: number, jobId: number): Promise<void> {
    await this.db.query(`UPDATE extracts SET job_id = $2 WHERE id = $1`, [id, jobId]);
  }

  async setState(id: number, state: ExtractState, error: string | null = null): Promise<void> {
    await this.db.query(`UPDATE extracts SET state = $2, error = $3 WHERE id = $1`, [id, state, error]);
  }

  /** Stores the plan's entries and marks the extract ready, in one transaction. */
  async finish(id: number, entries: readonly Omit<EntryRow, 'seq'>[], contentHash: string, zipBytes: number, contentTime: Date, keepDays: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(`DELETE FROM extract_entries WHERE extract_id = $1`, [id]);
      let seq = 0;
      for (const e of entries) {
        await tx.query(
          `INSERT INTO extract_entries (extract_id, seq, name, bytes, crc32, sha256, asset_id, tier, location, inline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [id, seq++, e.name, e.bytes, e.crc32, e.sha256, e.assetId, e.tier, e.location, e.inline],
        );
      }
      await tx.query(
        `UPDATE extracts SET state = 'ready', content_hash = $2, zip_bytes = $3, entry_count = $4, content_time = $6, ready_at = now(), expires_at = now() + make_interval(days => $5), error = NULL WHERE id = $1`,
        [id, contentHash, zipBytes, entries.length, keepDays, contentTime.toISOString()],
      );
    });
  }

  /** A new request answered by a ready extract of the same content: its entries copied, ready at once. */
  async copyFrom(id: number, from: ExtractRecord, keepDays: number): Promise<void> {
    await this.db.transaction(async (tx: Queryable) => {
      await tx.query(
        `INSERT INTO extract_entries (extract_id, seq, name, bytes, crc32, sha256, asset_id, tier, location, inline)
         SELECT $1, seq, name, bytes, crc32, sha256, asset_id, tier, location, inline FROM extract_entries WHERE extract_id = $2`,
        [id, from.id],
      );
      await tx.query(
        `UPDATE extracts SET state = 'ready', content_hash = $2, zip_bytes = $3, entry_count = $4, content_time = $6, ready_at = now(), expires_at = now() + make_interval(days => $5) WHERE id = $1`,
        [id, from.contentHash, from.zipBytes, from.entryCount, keepDays, from.contentTime],
      );
    });
  }

  async entries(id: number): Promise<EntryRow[]> {
    const { rows } = await this.db.query<EntryDbRow>(`SELECT ${ENTRY_COLUMNS} FROM extract_entries WHERE extract_id = $1 ORDER BY seq`, [id]);
    return rows.map(toEntry);
  }

  /** One entry of the plan (a signed URL's file). */
  async entry(id: number, seq: number): Promise<EntryRow | null> {
    const { rows } = await this.db.query<EntryDbRow>(`SELECT ${ENTRY_COLUMNS} FROM extract_entries WHERE extract_id = $1 AND seq = $2`, [id, seq]);
    return rows[0] ? toEntry(rows[0]) : null;
  }

  /**
   * Marks an object of the intermediate tier as used by this (running) extract before the plan is
   * stored, so that `expire` does not delete a cached object a running extract is about to list.
   * `finish` replaces these rows with the plan.
   */
  async claim(id: number, n: number, location: string): Promise<void> {
    await this.db.query(
      `INSERT INTO extract_entries (extract_id, seq, name, bytes, crc32, sha256, tier, location) VALUES ($1, $2, $3, 0, 0, $4, 'intermediate', $5) ON CONFLICT DO NOTHING`,
      [id, -1 - n, `.claim/${n}`, '0'.repeat(64), location],
    );
  }

  /** Size, CRC-32 and SHA-256 of an object of the intermediate tier another extract's plan lists (a cached COG). */
  async plannedObject(location: string): Promise<{ bytes: number; crc32: number; sha256: string } | null> {
    const { rows } = await this.db.query<{ bytes: string; crc32: string; sha256: string }>(
      `SELECT bytes::text, crc32::text, sha256 FROM extract_entries WHERE tier = 'intermediate' AND location = $1 AND seq >= 0 LIMIT 1`,
      [location],
    );
    const r = rows[0];
    return r ? { bytes: Number(r.bytes), crc32: Number(r.crc32), sha256: r.sha256 } : null;
  }

  async cachedCrc32(assetId: number): Promise<number | null> {
    const { rows } = await this.db.query<{ crc32: string }>(`SELECT crc32::text FROM asset_crc32 WHERE asset_id = $1`, [assetId]);
    return rows[0] ? Number(rows[0].crc32) : null;
  }

  async cacheCrc32(assetId: number, crc: number): Promise<void> {
    await this.db.query(`INSERT INTO asset_crc32 (asset_id, crc32) VALUES ($1, $2) ON CONFLICT (asset_id) DO NOTHING`, [assetId, crc]);
  }

  /** Extracts past their date (still marked ready): expired, their entries gone; the objects only they used are returned for deletion. */
  async expire(): Promise<Array<{ tier: TierName; location: string }>> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: string }>(`UPDATE extracts SET state = 'expired' WHERE state = 'ready' AND expires_at < now() RETURNING id::text`);
      if (rows.length === 0) return [];
      const ids = rows.map((r) => Number(r.id));
      const { rows: objects } = await tx.query<{ tier: TierName; location: string }>(
        `SELECT DISTINCT e.tier, e.location FROM extract_entries e
          WHERE e.extract_id = ANY ($1::bigint[]) AND e.location IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM extract_entries o JOIN extracts x ON x.id = o.extract_id
                             WHERE o.location = e.location AND x.state IN ('queued', 'running', 'ready') AND NOT (o.extract_id = ANY ($1::bigint[])))`,
        [ids],
      );
      await tx.query(`DELETE FROM extract_entries WHERE extract_id = ANY ($1::bigint[])`, [ids]);
      return objects;
    });
  }

  /**
   * An organisation and the union of the perimeters of its live permissions (not revoked, not past
   * their date; Lambert-93 GeoJSON, cm), null when none has a perimeter.
   */
  async organisationPerimeter(slug: string): Promise<{ id: number; slug: string; name: string; perimeter: string | null } | null> {
    const { rows } = await this.db.query<{ id: string; slug: string; name: string; perimeter: string | null }>(
      `SELECT o.id::text, o.slug, o.name,
              (SELECT ST_AsGeoJSON(ST_Multi(ST_UnaryUnion(ST_Collect(p.perimeter))), 2) FROM permissions p
                WHERE p.organisation_id = o.id AND p.revoked_at IS NULL AND (p.valid_until IS NULL OR p.valid_until > now()) AND p.perimeter IS NOT NULL) AS perimeter
         FROM organisations o WHERE o.slug = $1`,
      [slug],
    );
    const r = rows[0];
    return r ? { id: Number(r.id), slug: r.slug, name: r.name, perimeter: r.perimeter } : null;
  }

  /** Extracts left queued or running by a process that died: their jobs are resumed. */
  async unfinished(): Promise<ExtractRecord[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM extracts WHERE state IN ('queued', 'running') ORDER BY id`);
    return rows.map(toRecord);
  }
}
