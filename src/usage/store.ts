import type { Database, Queryable, SqlParam } from '../db/database.js';

/** The only SQL on the usage tables (`migrations/202612042200_usage_counters.sql`). */

/** One batch line: a day, its labels, what was counted. */
export interface UsageCount {
  day: string;
  service: string;
  layer: string;
  organisationId: number | null;
  keyId: number | null;
  statusClass: number;
  requests: number;
  bytes: number;
}

/** Tile requests in one 1 km Lambert-93 cell on one day. */
export interface AreaCount {
  day: string;
  cellX: number;
  cellY: number;
  requests: number;
}

/** What statistics may be grouped by. */
export const GROUPS = ['day', 'month', 'org', 'key', 'layer', 'service', 'status'] as const;
export type Group = (typeof GROUPS)[number];

export interface StatsQuery {
  /** First and last day (inclusive, YYYY-MM-DD). */
  from: string;
  to: string;
  groupBy: readonly Group[];
  /** 'daily' within the daily retention, else 'monthly' (whole months). */
  table: 'daily' | 'monthly';
  /** Only these organisations' rows and these users' keys' rows (null: everything, for admins). */
  scope: { organisationIds: readonly number[]; keysOfUser: number | null } | null;
  filters: { organisationIds?: readonly number[]; keyIds?: readonly number[]; services?: readonly string[]; layers?: readonly string[] };
}

export interface StatsRow {
  day?: string;
  month?: string;
  organisation?: { id: number; slug: string | null; name: string; deleted: boolean } | null;
  key?: { id: number; name: string; prefix: string | null; deleted: boolean } | null;
  layer?: string;
  service?: string;
  status?: string;
  requests: number;
  bytes: number;
}

const COLUMN: Record<Group, string> = {
  day: 'u.period',
  month: "date_trunc('month', u.period)::date",
  org: 'u.organisation_id',
  key: 'u.key_id',
  layer: 'u.layer',
  service: 'u.service',
  status: 'u.status_class',
};

const ymd = (v: unknown): string => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));

export class UsageStore {
  constructor(private readonly db: Database) {}

  /** Adds a batch to the daily, monthly and area tables in one transaction (all or nothing). */
  async add(rows: readonly UsageCount[], areas: readonly AreaCount[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (rows.length > 0) {
        const params: SqlParam[] = [
          rows.map((r) => r.day),
          rows.map((r) => r.service),
          rows.map((r) => r.layer),
          rows.map((r) => r.organisationId),
          rows.map((r) => r.keyId),
          rows.map((r) => r.statusClass),
          rows.map((r) => r.requests),
          rows.map((r) => r.bytes),
        ];
        const input = `unnest($1::date[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::smallint[], $7::bigint[], $8::bigint[]) AS b(day, service, layer, org, key, status, requests, bytes)`;
        await tx.query(
          `INSERT INTO usage_daily (day, service, layer, organisation_id, key_id, status_class, requests, bytes)
           SELECT day, service, layer, org, key, status, requests, bytes FROM ${input}
           ON CONFLICT ON CONSTRAINT usage_daily_labels DO UPDATE SET requests = usage_daily.requests + EXCLUDED.requests, bytes = usage_daily.bytes + EXCLUDED.bytes`,
          params,
        );
        await tx.query(
          `INSERT INTO usage_monthly (month, service, layer, organisation_id, key_id, status_class, requests, bytes)
           SELECT date_trunc('month', day)::date, service, layer, org, key, status, sum(requests), sum(bytes) FROM ${input}
           GROUP BY 1, 2, 3, 4, 5, 6
           ON CONFLICT ON CONSTRAINT usage_monthly_labels DO UPDATE SET requests = usage_monthly.requests + EXCLUDED.requests, bytes = usage_monthly.bytes + EXCLUDED.bytes`,
          params,
        );
      }
      if (areas.length > 0) {
        await tx.query(
          `INSERT INTO usage_areas (day, cell_x, cell_y, requests)
           SELECT * FROM unnest($1::date[], $2::int[], $3::int[], $4::bigint[])
           ON CONFLICT (day, cell_x, cell_y) DO UPDATE SET requests = usage_areas.requests + EXCLUDED.requests`,
          [areas.map((a) => a.day), areas.map((a) => a.cellX), areas.map((a) => a.cellY), areas.map((a) => a.requests)],
        );
      }
    });
  }

  /** Counts grouped as asked, with organisations and keys named (deleted ones labelled so). */
  async stats(q: StatsQuery): Promise<StatsRow[]> {
    const params: SqlParam[] = [q.from, q.to];
    const where: string[] = ['u.period BETWEEN $1::date AND $2::date'];
    const add = (v: SqlParam) => `$${params.push(v)}`;
    if (q.scope) {
      const mine = [`u.organisation_id = ANY(${add([...q.scope.organisationIds])}::bigint[])`];
      if (q.scope.keysOfUser !== null) mine.push(`u.key_id IN (SELECT id FROM api_keys WHERE user_id = ${add(q.scope.keysOfUser)})`);
      where.push(`(${mine.join(' OR ')})`);
    }
    if (q.filters.organisationIds) where.push(`u.organisation_id = ANY(${add([...q.filters.organisationIds])}::bigint[])`);
    if (q.filters.keyIds) where.push(`u.key_id = ANY(${add([...q.filters.keyIds])}::bigint[])`);
    if (q.filters.services) where.push(`u.service = ANY(${add([...q.filters.services])}::text[])`);
    if (q.filters.layers) where.push(`u.layer = ANY(${add([...q.filters.layers])}::text[])`);
    const groups = [...new Set(q.groupBy)];
    const select = groups.map((g) => `${COLUMN[g]} AS g_${g}`);
    const source =
      q.table === 'daily'
        ? `(SELECT day AS period, service, layer, organisation_id, key_id, status_class, requests, bytes FROM usage_daily)`
        : `(SELECT month AS period, service, layer, organisation_id, key_id, status_class, requests, bytes FROM usage_monthly)`;
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT ${[...select, 'sum(u.requests)::float8 AS requests', 'sum(u.bytes)::float8 AS bytes'].join(', ')}
       FROM ${source} u
       WHERE ${where.join(' AND ')}
       ${groups.length ? `GROUP BY ${groups.map((_, i) => i + 1).join(', ')} ORDER BY ${groups.map((_, i) => i + 1).join(', ')}` : ''}`,
      params,
    );
    const orgIds = groups.includes('org') ? [...new Set(rows.map((r) => r['g_org']).filter((v) => v !== null).map(Number))] : [];
    const keyIds = groups.includes('key') ? [...new Set(rows.map((r) => r['g_key']).filter((v) => v !== null).map(Number))] : [];
    const orgs = new Map<number, { slug: string; name: string }>();
    if (orgIds.length) {
      const o = await this.db.query<{ id: string; slug: string; name: string }>(`SELECT id, slug, name FROM organisations WHERE id = ANY($1::bigint[])`, [orgIds]);
      for (const r of o.rows) orgs.set(Number(r.id), { slug: r.slug, name: r.name });
    }
    const keys = new Map<number, { name: string; prefix: string }>();
    if (keyIds.length) {
      const k = await this.db.query<{ id: string; name: string; prefix: string }>(`SELECT id, name, prefix FROM api_keys WHERE id = ANY($1::bigint[])`, [keyIds]);
      for (const r of k.rows) keys.set(Number(r.id), { name: r.name, prefix: r.prefix });
    }
    return rows.map((r) => {
      const out: StatsRow = { requests: Number(r['requests']), bytes: Number(r['bytes']) };
      if (groups.includes('day')) out.day = ymd(r['g_day']);
      if (groups.includes('month')) out.month = ymd(r['g_month']).slice(0, 7);
      if (groups.includes('org')) {
        const id = r['g_org'] === null ? null : Number(r['g_org']);
        const o = id === null ? undefined : orgs.get(id);
        out.organisation = id === null ? null : o ? { id, slug: o.slug, name: o.name, deleted: false } : { id, slug: null, name: `organisation supprimée n° ${id}`, deleted: true };
      }
      if (groups.includes('key')) {
        const id = r['g_key'] === null ? null : Number(r['g_key']);
        const k = id === null ? undefined : keys.get(id);
        out.key = id === null ? null : k ? { id, name: k.name, prefix: k.prefix, deleted: false } : { id, name: `clé supprimée n° ${id}`, prefix: null, deleted: true };
      }
      if (groups.includes('layer')) out.layer = String(r['g_layer']);
      if (groups.includes('service')) out.service = String(r['g_service']);
      if (groups.includes('status')) out.status = `${Number(r['g_status'])}xx`;
      return out;
    });
  }

  /** Tile requests per 1 km cell over a period (the heat map), busiest first. */
  async areas(from: string, to: string, limit: number): Promise<Array<{ cellX: number; cellY: number; requests: number }>> {
    const { rows } = await this.db.query<{ cell_x: number; cell_y: number; requests: number }>(
      `SELECT cell_x, cell_y, sum(requests)::float8 AS requests FROM usage_areas WHERE day BETWEEN $1::date AND $2::date
       GROUP BY cell_x, cell_y ORDER BY 3 DESC, 1, 2 LIMIT $3`,
      [from, to, limit],
    );
    return rows.map((r) => ({ cellX: Number(r.cell_x), cellY: Number(r.cell_y), requests: Number(r.requests) }));
  }

  /** The first day still held by the daily table (null when empty). */
  async oldestDay(): Promise<string | null> {
    const { rows } = await this.db.query<{ d: unknown }>(`SELECT min(day) AS d FROM usage_daily`);
    return rows[0]?.d ? ymd(rows[0].d) : null;
  }

  /** Deletes daily rows and areas before `dayBefore`, monthly rows before `monthBefore`; returns what went. */
  async purge(dayBefore: string, monthBefore: string, q: Queryable = this.db): Promise<{ daily: number; monthly: number; areas: number }> {
    const d = await q.query(`DELETE FROM usage_daily WHERE day < $1::date`, [dayBefore]);
    const a = await q.query(`DELETE FROM usage_areas WHERE day < $1::date`, [dayBefore]);
    const m = await q.query(`DELETE FROM usage_monthly WHERE month < $1::date`, [monthBefore]);
    return { daily: d.rowCount ?? 0, monthly: m.rowCount ?? 0, areas: a.rowCount ?? 0 };
  }
}
