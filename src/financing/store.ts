import type { Database, Queryable } from '../db/database.js';
import type { AllocationKey, Entry, Funder, Line, Method, OrganisationRef } from './model.js';

/** The only SQL of the financing plan (`migrations/202612042300_financing_plan.sql`) and of what it reads elsewhere. */

interface EntryRow {
  id: string;
  year: number;
  line: Line;
  kind: 'cost' | 'funding';
  label: string;
  amount_eur: string;
  supplier: string | null;
  funder: Funder | null;
  org_id: string | null;
  org_slug: string | null;
  org_name: string | null;
  campaign_id: string | null;
  campaign_slug: string | null;
  campaign_title: string | null;
  month: number | null;
  note: string | null;
  created_by: string;
  created_at: Date;
}

const ENTRY_SELECT = `SELECT e.id, e.year, e.line, e.kind, e.label, e.amount_eur::text AS amount_eur, e.supplier, e.funder,
    o.id AS org_id, o.slug AS org_slug, o.name AS org_name, c.id AS campaign_id, c.slug AS campaign_slug, c.title AS campaign_title,
    e.month, e.note, e.created_by, e.created_at
  FROM financing_entries e LEFT JOIN organisations o ON o.id = e.organisation_id LEFT JOIN campaigns c ON c.id = e.campaign_id`;

const entryOf = (r: EntryRow): Entry => ({
  id: Number(r.id),
  year: Number(r.year),
  line: r.line,
  kind: r.kind,
  label: r.label,
  amountEur: Number(r.amount_eur),
  supplier: r.supplier,
  funder: r.funder,
  organisation: r.org_id ? { id: Number(r.org_id), slug: r.org_slug as string, name: r.org_name as string } : null,
  campaign: r.campaign_id ? { id: Number(r.campaign_id), slug: r.campaign_slug as string, title: r.campaign_title as string } : null,
  month: r.month === null ? null : Number(r.month),
  note: r.note,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
});

export interface NewEntry {
  year: number;
  line: Line;
  kind: 'cost' | 'funding';
  label: string;
  /** Euros as text with at most two decimals (exact: numeric in SQL). */
  amountEur: string;
  supplier: string | null;
  funder: Funder | null;
  organisationId: number | null;
  campaignId: number | null;
  month: number | null;
  note: string | null;
  createdBy: string;
}

export class FinancingStore {
  constructor(private readonly db: Database) {}

  async entries(year: number): Promise<Entry[]> {
    const { rows } = await this.db.query<EntryRow>(`${ENTRY_SELECT} WHERE e.year = $1 ORDER BY e.line, e.kind, e.id`, [year]);
    return rows.map(entryOf);
  }

  async entry(id: number): Promise<Entry | null> {
    const { rows } = await this.db.query<EntryRow>(`${ENTRY_SELECT} WHERE e.id = $1`, [id]);
    return rows[0] ? entryOf(rows[0]) : null;
  }

  async addEntry(e: NewEntry): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO financing_entries (year, line, kind, label, amount_eur, supplier, funder, organisation_id, campaign_id, month, note, created_by)
       VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
      [e.year, e.line, e.kind, e.label, e.amountEur, e.supplier, e.funder, e.organisationId, e.campaignId, e.month, e.note, e.createdBy],
    );
    return Number(rows[0]!.id);
  }

  async deleteEntry(id: number): Promise<boolean> {
    return (await this.db.query(`DELETE FROM financing_entries WHERE id = $1`, [id])).rowCount > 0;
  }

  async keys(year: number): Promise<AllocationKey[]> {
    const { rows } = await this.db.query<{ year: number; line: Line; method: Method; weights: Record<string, number>; partners: string[]; updated_by: string; updated_at: Date }>(
      `SELECT year, line, method, weights, partners::text[] AS partners, updated_by, updated_at FROM financing_keys WHERE year = $1 ORDER BY line`,
      [year],
    );
    const ids = new Set<number>();
    for (const r of rows) {
      for (const id of Object.keys(r.weights)) ids.add(Number(id));
      for (const id of r.partners) ids.add(Number(id));
    }
    const orgs = await this.organisationsById([...ids]);
    const ref = (id: number): OrganisationRef => orgs.get(id) ?? { id, slug: `#${id}`, name: `organisation supprimée n° ${id}` };
    return rows.map((r) => ({
      year: Number(r.year),
      line: r.line,
      method: r.method,
      weights: Object.entries(r.weights).map(([id, value]) => ({ organisation: ref(Number(id)), value: Number(value) })),
      partners: r.partners.map((id) => ref(Number(id))),
      updatedBy: r.updated_by,
      updatedAt: r.updated_at.toISOString(),
    }));
  }

  async putKey(year: number, line: Line, method: Method, weights: Record<string, number>, partners: readonly number[], by: string): Promise<void> {
    await this.db.query(
      `INSERT INTO financing_keys (year, line, method, weights, partners, updated_by) VALUES ($1, $2, $3, $4::jsonb, $5::bigint[], $6)
       ON CONFLICT (year, line) DO UPDATE SET method = EXCLUDED.method, weights = EXCLUDED.weights, partners = EXCLUDED.partners, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [year, line, method, JSON.stringify(weights), [...partners], by],
    );
  }

  async organisationsBySlug(slugs: readonly string[]): Promise<Map<string, OrganisationRef>> {
    const { rows } = await this.db.query<{ id: string; slug: string; name: string }>(`SELECT id, slug, name FROM organisations WHERE slug = ANY($1::text[])`, [[...slugs]]);
    return new Map(rows.map((r) => [r.slug, { id: Number(r.id), slug: r.slug, name: r.name }]));
  }

  async organisationsById(ids: readonly number[]): Promise<Map<number, OrganisationRef>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.db.query<{ id: string; slug: string; name: string }>(`SELECT id, slug, name FROM organisations WHERE id = ANY($1::bigint[])`, [[...ids]]);
    return new Map(rows.map((r) => [Number(r.id), { id: Number(r.id), slug: r.slug, name: r.name }]));
  }

  async campaignId(slug: string): Promise<number | null> {
    const { rows } = await this.db.query<{ id: string }>(`SELECT id FROM campaigns WHERE slug = $1`, [slug]);
    return rows[0] ? Number(rows[0].id) : null;
  }

  // ---- what the plan reads from the rest of the platform ------------------------------------

  /** Campaigns of the year (by planned start, else creation), not cancelled, with their budget lines. */
  async campaignBudgets(year: number): Promise<Array<{ id: number; slug: string; title: string; budget: Array<{ label: string; category: string; amountEur: number }> }>> {
    const { rows } = await this.db.query<{ id: string; slug: string; title: string; budget: Array<{ label: string; category: string; amountEur: number }> }>(
      `SELECT id, slug, title, budget FROM campaigns
       WHERE status <> 'cancelled' AND extract(year FROM coalesce(planned_start, (created_at AT TIME ZONE 'Europe/Paris')::date)) = $1 ORDER BY id`,
      [year],
    );
    return rows.map((r) => ({ id: Number(r.id), slug: r.slug, title: r.title, budget: r.budget }));
  }

  /** Per tier, the mean of the daily measured bytes (`pcrs storage usage` snapshots) over the year, and the number of days measured. */
  async storageAverages(year: number, q: Queryable = this.db): Promise<Array<{ tier: string; bytes: number; days: number }>> {
    const { rows } = await q.query<{ tier: string; bytes: number; days: number }>(
      `SELECT tier, avg(bytes)::float8 AS bytes, count(*)::int AS days
       FROM (SELECT day, tier, sum(bytes) AS bytes FROM storage_usage_daily WHERE extract(year FROM day) = $1 GROUP BY day, tier) d
       GROUP BY tier ORDER BY tier`,
      [year],
    );
    return rows.map((r) => ({ tier: r.tier, bytes: Number(r.bytes), days: Number(r.days) }));
  }

  /**
   * Contributions accepted in the year (Paris time), outside campaigns (a campaign's delivery is
   * paid by the campaign): the dalles their update version holds, and the km of kerb line
   * (LimiteVoiriePCRS) it holds.
   */
  async acceptedContributions(year: number): Promise<Array<{ id: number; title: string; organisation: OrganisationRef; dalles: number; km: number }>> {
    const { rows } = await this.db.query<{ id: string; title: string; org_id: string; slug: string; name: string; dalles: number; km: number }>(
      `SELECT c.id, c.title, o.id AS org_id, o.slug, o.name,
         (SELECT count(*) FROM dalles d WHERE d.version_id = c.version_id)::int AS dalles,
         (SELECT coalesce(sum(ST_Length(f.geometry)), 0) / 1000 FROM vector_features f WHERE f.version_id = c.version_id AND f.class = 'LimiteVoiriePCRS')::float8 AS km
       FROM contributions c JOIN organisations o ON o.id = c.organisation_id
       WHERE c.state = 'accepted' AND c.campaign_id IS NULL AND c.version_id IS NOT NULL
         AND extract(year FROM c.moderated_at AT TIME ZONE 'Europe/Paris') = $1
       ORDER BY c.id`,
      [year],
    );
    return rows.map((r) => ({ id: Number(r.id), title: r.title, organisation: { id: Number(r.org_id), slug: r.slug, name: r.name }, dalles: Number(r.dalles), km: Number(r.km) }));
  }

  /** Inhabitants of each organisation: its commune's (INSEE code), or its EPCI's communes' (SIREN); null when unknown. */
  async populations(ids: readonly number[]): Promise<Map<number, number | null>> {
    const { rows } = await this.db.query<{ id: string; population: number | null }>(
      `SELECT o.id, CASE
           WHEN length(o.insee) = 5 THEN (SELECT population FROM communes WHERE insee = o.insee)
           WHEN length(o.insee) = 9 THEN (SELECT sum(population)::int FROM communes WHERE epci_siren = o.insee)
         END AS population
       FROM organisations o WHERE o.id = ANY($1::bigint[])`,
      [[...ids]],
    );
    return new Map(rows.map((r) => [Number(r.id), r.population === null ? null : Number(r.population)]));
  }

  /** Area of competence of each organisation (km²); null when it has none. */
  async areas(ids: readonly number[]): Promise<Map<number, number | null>> {
    const { rows } = await this.db.query<{ id: string; km2: number | null }>(`SELECT id, (ST_Area(area) / 1e6)::float8 AS km2 FROM organisations WHERE id = ANY($1::bigint[])`, [[...ids]]);
    return new Map(rows.map((r) => [Number(r.id), r.km2 === null ? null : Number(r.km2)]));
  }

  /** Requests each organisation made in the year (usage counters, monthly table). */
  async requests(year: number, ids: readonly number[]): Promise<Map<number, number>> {
    const { rows } = await this.db.query<{ id: string; n: number }>(
      `SELECT organisation_id AS id, sum(requests)::float8 AS n FROM usage_monthly WHERE extract(year FROM month) = $1 AND organisation_id = ANY($2::bigint[]) GROUP BY 1`,
      [year, [...ids]],
    );
    return new Map(rows.map((r) => [Number(r.id), Number(r.n)]));
  }
}
