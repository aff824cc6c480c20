import { z } from 'zod';
import type { AppContext } from '../context/app-context.js';
import type { RouteApp } from '../context/capability.js';
import type { Queryable } from '../db/database.js';
import { UserError } from '../util/errors.js';
import { CLOSED, DECLARATION_TYPES, type DeclarationType, type Status } from './model.js';

/**
 * Statistics of the declarations, one SQL statement per figure (PostgreSQL and PGlite alike):
 * - `months`: per month of [from, to] and per type, the declarations opened and the closings
 *   (actions `closed` and `merged-duplicate`; a declaration reopened and closed again counts twice);
 * - `resolution`: per type, the declarations closed now whose last closing falls in [from, to], and
 *   the median of the hours from their opening to that closing;
 * - `open`: now, per type and status, the declarations not closed.
 * Months are calendar months in `declarations.timeZone` (Europe/Paris by default).
 */

export interface Stats {
  from: string;
  to: string;
  timeZone: string;
  months: Array<{ month: string; type: DeclarationType; opened: number; closed: number }>;
  resolution: Array<{ type: DeclarationType; closed: number; medianHours: number | null }>;
  open: Array<{ type: DeclarationType; status: Status; count: number }>;
}

const CLOSING_ACTIONS = ['closed', 'merged-duplicate'];
const MAX_MONTHS = 120;

const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month YYYY-MM');
const statsQuery = z.strictObject({ from: month.optional(), to: month.optional() });

const monthOf = (d: Date, timeZone: string): string => {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).formatToParts(d);
  return `${parts.find((p) => p.type === 'year')?.value}-${parts.find((p) => p.type === 'month')?.value}`;
};
const monthIndex = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1;
const monthAt = (i: number) => `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;

/** Default: the last 12 months up to the current one. */
export function statsPeriod(from: string | undefined, to: string | undefined, timeZone: string, now = new Date()): { from: string; to: string } {
  const end = to ?? monthOf(now, timeZone);
  const start = from ?? monthAt(monthIndex(end) - 11);
  if (monthIndex(start) > monthIndex(end)) throw new UserError('invalid-period', `from (${start}) is after to (${end}).`, { status: 400 });
  if (monthIndex(end) - monthIndex(start) + 1 > MAX_MONTHS) throw new UserError('invalid-period', `The period spans more than ${MAX_MONTHS} months; ask for a shorter one.`, { status: 400 });
  return { from: start, to: end };
}

export async function declarationStats(db: Queryable, period: { from: string; to: string }, timeZone: string): Promise<Stats> {
  const types = [...DECLARATION_TYPES];
  const start = `${period.from}-01 00:00:00`;
  const last = `${period.to}-01 00:00:00`;
  // Local midnights of the months' first days, as instants: the comparisons use the indexes.
  const months = await db.query<{ month: string; type: DeclarationType; opened: number; closed: number }>(
    `WITH months AS (
       SELECT to_char(m, 'YYYY-MM') AS month, (m AT TIME ZONE $3) AS start, ((m + interval '1 month') AT TIME ZONE $3) AS stop
         FROM generate_series($1::timestamp, $2::timestamp, interval '1 month') AS m
     )
     SELECT mo.month, t.type,
            (SELECT count(*) FROM declarations d WHERE d.type = t.type AND d.created_at >= mo.start AND d.created_at < mo.stop)::int AS opened,
            (SELECT count(*) FROM declaration_actions a JOIN declarations d ON d.id = a.declaration_id
              WHERE d.type = t.type AND a.action = ANY ($5::text[]) AND a.at >= mo.start AND a.at < mo.stop)::int AS closed
       FROM months mo CROSS JOIN unnest($4::text[]) WITH ORDINALITY AS t(type, n)
      ORDER BY mo.month, t.n`,
    [start, last, timeZone, types, CLOSING_ACTIONS],
  );
  const resolution = await db.query<{ type: DeclarationType; closed: number; median_hours: number | string | null }>(
    `WITH last_closing AS (
       SELECT d.id, d.type, d.created_at, max(a.at) AS closed_at
         FROM declarations d JOIN declaration_actions a ON a.declaration_id = d.id
        WHERE d.status = ANY ($4::text[]) AND a.action = ANY ($5::text[])
        GROUP BY d.id, d.type, d.created_at
     )
     SELECT t.type, count(c.id)::int AS closed,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.closed_at - c.created_at) / 3600.0) AS median_hours
       FROM unnest($6::text[]) WITH ORDINALITY AS t(type, n)
       LEFT JOIN last_closing c ON c.type = t.type
             AND c.closed_at >= ($1::timestamp AT TIME ZONE $3) AND c.closed_at < (($2::timestamp + interval '1 month') AT TIME ZONE $3)
      GROUP BY t.type, t.n
      ORDER BY t.n`,
    [start, last, timeZone, [...CLOSED], CLOSING_ACTIONS, types],
  );
  const open = await db.query<{ type: DeclarationType; status: Status; count: number }>(
    `SELECT type, status, count(*)::int AS count FROM declarations WHERE NOT (status = ANY ($1::text[])) GROUP BY type, status ORDER BY type, status`,
    [[...CLOSED]],
  );
  return {
    from: period.from,
    to: period.to,
    timeZone,
    months: months.rows.map((r) => ({ month: r.month, type: r.type, opened: Number(r.opened), closed: Number(r.closed) })),
    resolution: resolution.rows.map((r) => ({ type: r.type, closed: Number(r.closed), medianHours: r.median_hours === null ? null : Math.round(Number(r.median_hours) * 10) / 10 })),
    open: open.rows.map((r) => ({ type: r.type, status: r.status, count: Number(r.count) })),
  };
}

export function registerStatsRoutes(app: RouteApp, ctx: AppContext): void {
  app.get(
    '/api/v1/declarations/stats',
    {
      config: { access: { signedIn: true } },
      schema: {
        tags: ['declarations'],
        summary: 'Statistics: per month and type opened and closed; per type the median hours to resolution (closed in the period); open now per type and status. from/to: YYYY-MM (default the last 12 months)',
        querystring: statsQuery,
      },
    },
    async (request) => {
      const timeZone = ctx.config.declarations.timeZone;
      return declarationStats(ctx.db, statsPeriod(request.query.from, request.query.to, timeZone), timeZone);
    },
  );
}
