import type { AppContext } from '../context/app-context.js';
import { isPlatformAdmin, type Caller } from '../context/access.js';
import { csvText } from '../util/csv.js';
import { parisToday } from '../util/paris-day.js';
import { UserError } from '../util/errors.js';
import { GROUPS, UsageStore, type Group, type StatsRow } from './store.js';

/** Longest period one statistics request may cover. */
const MAX_DAYS = 3660;
/** Most cells the heat map answers. */
export const MAX_AREA_CELLS = 5000;

export interface StatsRequest {
  from?: string | undefined;
  to?: string | undefined;
  groupBy?: string | undefined;
  organisations?: readonly string[] | undefined;
  keys?: readonly number[] | undefined;
  services?: readonly string[] | undefined;
  layers?: readonly string[] | undefined;
}

export interface StatsAnswer {
  from: string;
  to: string;
  /** 'day' within the daily retention; 'month' for older periods (from and to widened to whole months). */
  granularity: 'day' | 'month';
  groupBy: Group[];
  /** What the caller sees: 'all' (platform admins) or 'own' (its organisations and its own keys). */
  scope: 'all' | 'own';
  rows: StatsRow[];
  totals: { requests: number; bytes: number };
}

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function parseDay(text: string, name: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`)) || isoDay(Date.parse(`${text}T00:00:00Z`)) !== text) {
    throw new UserError('bad-date', `${name} must be a date YYYY-MM-DD, got '${text.slice(0, 40)}'.`, { status: 400 });
  }
  return Date.parse(`${text}T00:00:00Z`);
}

/** Group names as the API and the CLI take them (comma-separated; `organisation` for `org` too). */
export function parseGroups(text: string | undefined): Group[] {
  if (!text) return [];
  const out: Group[] = [];
  for (const raw of text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const g = raw === 'organisation' || raw === 'organization' ? 'org' : raw;
    if (!(GROUPS as readonly string[]).includes(g)) throw new UserError('bad-group', `Cannot group by '${raw.slice(0, 40)}': use ${GROUPS.join(', ')}.`, { status: 400 });
    if (!out.includes(g as Group)) out.push(g as Group);
  }
  if (out.includes('day') && out.includes('month')) throw new UserError('bad-group', 'Group by day or by month, not both.', { status: 400 });
  return out;
}


/**
 * Usage statistics: who used what, when. Platform administrators (and the operator's CLI) see every
 * organisation and key; everyone else sees the rows of its organisations and of its own keys, and
 * gets 403 for another organisation's.
 */
export class UsageService {
  private readonly store: UsageStore;

  constructor(private readonly ctx: AppContext) {
    this.store = new UsageStore(ctx.db);
  }

  private today(): string {
    return parisToday();
  }

  /** The period asked, checked (default: the last 30 days). */
  period(from: string | undefined, to: string | undefined): { from: string; to: string } {
    const toMs = parseDay(to ?? this.today(), 'to');
    const fromMs = from === undefined ? toMs - 29 * DAY_MS : parseDay(from, 'from');
    if (fromMs > toMs) throw new UserError('bad-period', `from (${isoDay(fromMs)}) is after to (${isoDay(toMs)}).`, { status: 400 });
    if ((toMs - fromMs) / DAY_MS > MAX_DAYS) throw new UserError('bad-period', `A period covers at most ${MAX_DAYS} days.`, { status: 400 });
    return { from: isoDay(fromMs), to: isoDay(toMs) };
  }

  async stats(caller: Caller, q: StatsRequest): Promise<StatsAnswer> {
    if (caller.kind === 'anonymous') throw new UserError('unauthenticated', 'Usage statistics need you to be signed in or to present an API key.', { status: 401 });
    let { from, to } = this.period(q.from, q.to);
    const groupBy = parseGroups(q.groupBy);
    const admin = isPlatformAdmin(caller);
    const filters: { organisationIds?: number[]; keyIds?: number[]; services?: string[]; layers?: string[] } = {};
    if (q.organisations?.length) {
      const { rows } = await this.ctx.db.query<{ id: string; slug: string }>(`SELECT id, slug FROM organisations WHERE slug = ANY($1::text[])`, [[...q.organisations]]);
      const unknown = q.organisations.filter((s) => !rows.some((r) => r.slug === s));
      if (unknown.length) throw new UserError('unknown-organisation', `No organisation '${unknown[0]!.slice(0, 60)}'.`, { status: 404 });
      const ids = rows.map((r) => Number(r.id));
      if (!admin && ids.some((id) => !(caller.organisationIds ?? []).includes(id))) {
        throw new UserError('forbidden', 'You may see the statistics of your own organisations only.', { status: 403 });
      }
      filters.organisationIds = ids;
    }
    if (q.keys?.length) filters.keyIds = [...q.keys];
    if (q.services?.length) filters.services = [...q.services];
    if (q.layers?.length) filters.layers = [...q.layers];
    const dailyFrom = isoDay(Date.parse(`${this.today()}T00:00:00Z`) - this.ctx.config.usage.dailyRetentionDays * DAY_MS);
    const table = from >= dailyFrom ? 'daily' : 'monthly';
    if (table === 'monthly') {
      if (groupBy.includes('day')) {
        throw new UserError('period-too-old', `Daily counts are kept ${this.ctx.config.usage.dailyRetentionDays} days (from ${dailyFrom}); group by month for older periods.`, { status: 400 });
      }
      from = `${from.slice(0, 7)}-01`;
      to = `${to.slice(0, 7)}-01`;
    }
    const scope = admin ? null : { organisationIds: caller.organisationIds ?? [], keysOfUser: caller.userId ?? null };
    const rows = await this.store.stats({ from, to, groupBy, table, scope, filters });
    if (table === 'monthly') {
      // The last month of the period, as a date, ends the period: show its last day.
      const [y, m] = to.split('-').map(Number) as [number, number];
      to = isoDay(Date.UTC(y, m, 0));
    }
    const totals = rows.reduce((t, r) => ({ requests: t.requests + r.requests, bytes: t.bytes + r.bytes }), { requests: 0, bytes: 0 });
    return { from, to, granularity: table === 'daily' ? 'day' : 'month', groupBy, scope: admin ? 'all' : 'own', rows, totals };
  }

  /** Tile requests per 1 km Lambert-93 cell over the period (signed-in callers; counts of everyone, no names). */
  async areas(caller: Caller, from: string | undefined, to: string | undefined, limit = MAX_AREA_CELLS) {
    if (caller.kind === 'anonymous') throw new UserError('unauthenticated', 'Usage statistics need you to be signed in or to present an API key.', { status: 401 });
    const p = this.period(from, to);
    const cells = await this.store.areas(p.from, p.to, Math.min(limit, MAX_AREA_CELLS));
    return { ...p, cellSize: 1000, crs: 'EPSG:2154', cells: cells.map((c) => ({ ...c, bbox: [c.cellX * 1000, c.cellY * 1000, (c.cellX + 1) * 1000, (c.cellY + 1) * 1000] as [number, number, number, number] })) };
  }

  /** Deletes counters past their retention (daily rows and heat-map cells, then monthly rows). */
  async purge(): Promise<{ daily: number; monthly: number; areas: number }> {
    const today = Date.parse(`${this.today()}T00:00:00Z`);
    const dayBefore = isoDay(today - this.ctx.config.usage.dailyRetentionDays * DAY_MS);
    const d = new Date(today);
    const monthBefore = isoDay(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - this.ctx.config.usage.monthlyRetentionMonths, 1));
    return this.store.purge(dayBefore, monthBefore);
  }
}

/** The statistics as CSV: one line per row, the groups' columns first. */
export function statsToCsv(answer: StatsAnswer): string {
  const header: string[] = [];
  for (const g of answer.groupBy) {
    if (g === 'org') header.push('organisation', 'organisation_name');
    else if (g === 'key') header.push('key_prefix', 'key_name');
    else header.push(g);
  }
  header.push('requests', 'bytes');
  return csvText(
    header,
    answer.rows.map((r) => {
      const line: Array<string | number | null> = [];
      for (const g of answer.groupBy) {
        if (g === 'org') line.push(r.organisation ? (r.organisation.slug ?? `#${r.organisation.id}`) : '(anonyme)', r.organisation?.name ?? 'sans organisation');
        else if (g === 'key') line.push(r.key ? (r.key.prefix ?? `#${r.key.id}`) : '(sans clé)', r.key?.name ?? null);
        else line.push(r[g] ?? null);
      }
      line.push(r.requests, r.bytes);
      return line;
    }),
  );
}
