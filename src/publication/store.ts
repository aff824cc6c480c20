import type { Database } from '../db/database.js';

/** A dalle of a published version with its verified master, as the tree lists it. */
export interface PublishedFile {
  dalle: string;
  /** The master's own file name (the last segment of its location). */
  filename: string;
  bytes: number;
  sha256: string;
  verifiedAt: Date | null;
}

/** Read-only SQL of the publication tree: the verified masters of a version, in name order. */
export class PublicationStore {
  constructor(private readonly db: Database) {}

  async files(versionId: number): Promise<PublishedFile[]> {
    const { rows } = await this.db.query<{ dalle: string; location: string; bytes: string | number; sha256: string | null; verified_at: Date | string | null }>(
      `SELECT DISTINCT ON (d.name) d.name AS dalle, a.location, a.bytes, a.sha256, a.verified_at
         FROM dalles d
         JOIN assets a ON a.dalle_id = d.id AND a.kind = 'master' AND a.state = 'stored'
        WHERE d.version_id = $1 AND d.state <> 'withdrawn'
        ORDER BY d.name, a.id`,
      [versionId],
    );
    // The first stored master of each dalle, as the dalle download takes it; one not yet verified is not published.
    return rows.flatMap((r) => r.sha256 === null ? [] : [{
      dalle: r.dalle,
      filename: (r.location.split('/').pop() ?? `${r.dalle}.tif`).replace(/[^\w.-]/g, '_'),
      bytes: Number(r.bytes),
      sha256: r.sha256,
      verifiedAt: r.verified_at === null ? null : new Date(r.verified_at),
    }]);
  }
}
