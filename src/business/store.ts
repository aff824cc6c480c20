import type { Queryable } from '../db/database.js';

/** The only SQL on `business_datasets` (and the business rows of `datasets`). */

export interface BusinessDataset {
  id: string;
  title: string;
  organisationId: number;
  organisation: string;
  visibility: 'public' | 'restricted';
  /** Organisation ids granted read when restricted. */
  readers: number[];
}

interface Row {
  id: string;
  title: string;
  organisation_id: string;
  organisation: string;
  visibility: 'public' | 'restricted';
  readers: Array<string | number>;
}

const SELECT = `SELECT d.id, d.title, d.visibility, b.organisation_id, o.slug AS organisation, b.readers
  FROM business_datasets b JOIN datasets d ON d.id = b.dataset_id JOIN organisations o ON o.id = b.organisation_id`;

const toDataset = (r: Row): BusinessDataset => ({
  id: r.id,
  title: r.title,
  organisationId: Number(r.organisation_id),
  organisation: r.organisation,
  visibility: r.visibility,
  readers: r.readers.map(Number),
});

export class BusinessStore {
  constructor(private readonly db: Queryable) {}

  async get(id: string): Promise<BusinessDataset | null> {
    const { rows } = await this.db.query<Row>(`${SELECT} WHERE d.id = $1`, [id]);
    return rows[0] ? toDataset(rows[0]) : null;
  }

  async list(): Promise<BusinessDataset[]> {
    const { rows } = await this.db.query<Row>(`${SELECT} ORDER BY d.id`);
    return rows.map(toDataset);
  }

  /** The kind of the dataset of this id, if there is one (business ids must not take a PCRS dataset's). */
  async datasetKind(id: string): Promise<string | null> {
    const { rows } = await this.db.query<{ kind: string }>(`SELECT kind FROM datasets WHERE id = $1`, [id]);
    return rows[0]?.kind ?? null;
  }

  /** Creates the dataset (owned by the organisation) or updates its title, visibility and readers. */
  async upsert(d: { id: string; title: string; organisationId: number; visibility: 'public' | 'restricted'; readers: number[]; territory: string; licence: string | null }): Promise<void> {
    await this.db.query(
      `INSERT INTO datasets (id, kind, title, description, licence, territory, visibility) VALUES ($1, 'business', $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, visibility = EXCLUDED.visibility`,
      [d.id, d.title, `Données métier : ${d.title}`, d.licence, d.territory, d.visibility],
    );
    await this.db.query(
      `INSERT INTO business_datasets (dataset_id, organisation_id, readers) VALUES ($1, $2, $3::bigint[])
       ON CONFLICT (dataset_id) DO UPDATE SET readers = EXCLUDED.readers, updated_at = now()`,
      [d.id, d.organisationId, d.readers],
    );
  }

  /** Organisation ids holding a live read permission on the whole dataset. */
  async readerPermissions(datasetId: string): Promise<Array<{ id: number; organisationId: number }>> {
    const { rows } = await this.db.query<{ id: string; organisation_id: string }>(
      `SELECT id, organisation_id FROM permissions WHERE dataset_id = $1 AND organisation_id IS NOT NULL AND revoked_at IS NULL AND version_name IS NULL`,
      [datasetId],
    );
    return rows.map((r) => ({ id: Number(r.id), organisationId: Number(r.organisation_id) }));
  }
}
