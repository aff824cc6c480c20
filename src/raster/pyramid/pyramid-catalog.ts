import type { Queryable } from '../../db/database.js';
import type { FileFamily, PyramidFileRef } from './layout.js';

export interface PyramidFileRow {
  id: number;
  versionId: number;
  family: FileFamily;
  col: number;
  row: number;
  assetId: number;
  key: string;
  bytes: number;
  sha256: string;
  tileCount: number;
  builtAt: Date;
}

interface Row {
  id: number;
  version_id: number;
  family: FileFamily;
  col: number;
  row: number;
  asset_id: number;
  key: string;
  bytes: number;
  sha256: string;
  tile_count: number;
  built_at: Date;
}

const rowOf = (r: Row): PyramidFileRow => ({
  id: r.id,
  versionId: r.version_id,
  family: r.family,
  col: r.col,
  row: r.row,
  assetId: r.asset_id,
  key: r.key,
  bytes: r.bytes,
  sha256: r.sha256,
  tileCount: r.tile_count,
  builtAt: r.built_at,
});

/** Catalogue of pyramid files per version. */
export class PyramidCatalog {
  constructor(private readonly db: Queryable) {}

  async get(versionId: number, ref: PyramidFileRef): Promise<PyramidFileRow | null> {
    const { rows } = await this.db.query<Row>('SELECT * FROM pyramid_files WHERE version_id = $1 AND family = $2 AND col = $3 AND row = $4', [versionId, ref.family, ref.col, ref.row]);
    return rows[0] ? rowOf(rows[0]) : null;
  }

  /**
   * Takes a file out of a version's pyramid (every dalle under it was withdrawn): its row goes, its
   * asset is marked deleted (the bytes are left to the tier's clean-up). Returns whether it existed.
   */
  async remove(versionId: number, ref: PyramidFileRef): Promise<boolean> {
    const { rows } = await this.db.query<{ asset_id: number }>(
      'DELETE FROM pyramid_files WHERE version_id = $1 AND family = $2 AND col = $3 AND row = $4 RETURNING asset_id',
      [versionId, ref.family, ref.col, ref.row],
    );
    const assetId = rows[0]?.asset_id;
    if (assetId === undefined) return false;
    await this.db.query(`UPDATE assets SET state = 'deleted', updated_at = now() WHERE id = $1`, [assetId]);
    return true;
  }

  async list(versionId: number, family?: FileFamily): Promise<PyramidFileRow[]> {
    const { rows } = await this.db.query<Row>(
      'SELECT * FROM pyramid_files WHERE version_id = $1 AND ($2::text IS NULL OR family = $2) ORDER BY family, row, col',
      [versionId, family ?? null],
    );
    return rows.map(rowOf);
  }

  /** Points (version, file) at a new stored file; returns the row it replaced, if any. */
  async upsert(input: { versionId: number; ref: PyramidFileRef; assetId: number; key: string; bytes: number; sha256: string; tileCount: number }): Promise<PyramidFileRow | null> {
    const previous = await this.get(input.versionId, input.ref);
    await this.db.query(
      `INSERT INTO pyramid_files (version_id, family, col, row, asset_id, key, bytes, sha256, tile_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (version_id, family, col, row) DO UPDATE SET
         asset_id = EXCLUDED.asset_id, key = EXCLUDED.key, bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256,
         tile_count = EXCLUDED.tile_count, built_at = now()`,
      [input.versionId, input.ref.family, input.ref.col, input.ref.row, input.assetId, input.key, input.bytes, input.sha256, input.tileCount],
    );
    return previous && previous.key !== input.key ? previous : null;
  }
}
