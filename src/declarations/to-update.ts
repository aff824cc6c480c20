import type { AppContext } from '../context/app-context.js';
import type { SqlParam } from '../db/database.js';
import { startLeasedLoop } from '../jobs/leases.js';
import { wkt } from './export.js';
import { csvText } from '../util/csv.js';
import { parisToday } from '../util/paris-day.js';
import type { L93Geometry, Status, Theme } from './model.js';
import { toWgs84 } from './service.js';
import { DALLES_TOUCHED } from './store.js';

/**
 * Works that durably change the street mark what they cover "to update" once their planned end has
 * passed, for the update campaign to consume.
 *
 * Which works: declarations of type `works` with at least one "travaux impactant le PCRS" theme
 * code (every code of the closed list changes what the PCRS shows), a planned end, and a status
 * other than rejected or duplicate. Works without an end date are never marked: nothing says when
 * the street is done.
 *
 * When: the day after the planned end (`works_end < as-of`, as-of being today in Europe/Paris by
 * default): on the end day itself the works are still on.
 *
 * Where: the works footprint in Lambert-93. A polygon is taken as drawn; a point or a line says
 * where the works are, not how wide, so it is buffered by `worksToUpdate.bufferMetres` (default
 * 10 m): half the width of a usual street from façade to façade (the PCRS surveys the whole
 * right-of-way: kerbs, façades, street furniture), so a point in the street or a trench along its
 * axis covers the street it changes without reaching the next one.
 *
 * What: the catalogue's dalles that area touches (the same query as a declaration's "dalles
 * touched": store.ts DALLES_TOUCHED), one mark each, and each vector version whose covered areas
 * (vector_areas) it touches, one mark with no dalle. A dalle or version acquired after the works
 * ended already shows the new street and is not marked (an unknown acquisition date is marked).
 *
 * Idempotent: one mark per declaration and dalle (or vector version), by a unique index; marking
 * again adds only what is new (a dalle ingested since, works that ended since). A mark stays once
 * made; the listing leaves out those of declarations rejected or merged as duplicates since, and
 * those of versions withdrawn since.
 */

export interface UpdateMark {
  id: number;
  declarationId: number;
  dtDictRef: string | null;
  title: string;
  themes: Theme[];
  status: Status;
  dataset: string;
  version: string;
  /** A dalle of a gridded dataset, or null for the covered area of a vector version. */
  dalle: string | null;
  /** The works footprint (Lambert-93 polygon). */
  area: L93Geometry;
  /** Lambert-93 [xmin, ymin, xmax, ymax] of the area. */
  bbox: [number, number, number, number];
  dueOn: string;
  markedAt: string;
  consumedAt: string | null;
  consumedBy: string | null;
}

export interface MarkFilter {
  dataset?: string;
  version?: string;
  ids?: readonly number[];
  limit: number;
  offset: number;
}

interface Row {
  id: string;
  declaration_id: string;
  dt_dict_ref: string | null;
  title: string;
  themes: Theme[];
  status: Status;
  dataset: string;
  version: string;
  dalle_name: string | null;
  area: string;
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
  due_on: string;
  marked_at: Date | string;
  consumed_at: Date | string | null;
  consumed_by: string | null;
}

const LEASE = 'declarations-to-update';
const r3 = (v: number) => Math.round(Number(v) * 1000) / 1000;


export class UpdateMarks {
  constructor(readonly ctx: Pick<AppContext, 'db' | 'config' | 'log'>) {}

  /** Marks what the works ended before `asOf` (YYYY-MM-DD) cover; answers the marks it added. */
  async mark(asOf: string = parisToday()): Promise<UpdateMark[]> {
    const { rows } = await this.ctx.db.query<{ id: string }>(
      `WITH works AS (
         SELECT d.id, d.dataset_id, d.version_name, d.works_end,
                CASE WHEN GeometryType(d.geom) = 'POLYGON' THEN d.geom ELSE ST_Buffer(d.geom, $2::float8, 'quad_segs=8') END AS area
           FROM declarations d
          WHERE d.type = 'works' AND d.works_end IS NOT NULL AND d.works_end < $1::date
            AND cardinality(d.themes) > 0 AND d.status NOT IN ('rejected', 'duplicate')
       ), targets AS (
         SELECT d.id AS declaration_id, v.id AS version_id, dl.name AS dalle_name, d.area, d.works_end
           FROM works d ${DALLES_TOUCHED.join('d.area')}
          WHERE ${DALLES_TOUCHED.where}
            AND (COALESCE(dl.acquisition_date, v.acquisition_date) IS NULL OR COALESCE(dl.acquisition_date, v.acquisition_date) <= d.works_end)
         UNION ALL
         SELECT d.id, v.id, NULL, d.area, d.works_end
           FROM works d JOIN versions v ON v.status <> 'withdrawn'
                AND (d.dataset_id IS NULL OR v.dataset_id = d.dataset_id)
                AND (d.version_name IS NULL OR v.name = d.version_name)
          WHERE EXISTS (SELECT 1 FROM vector_areas va WHERE va.version_id = v.id AND ST_Intersects(va.footprint, d.area))
            AND (v.acquisition_date IS NULL OR v.acquisition_date <= d.works_end)
       )
       INSERT INTO declaration_update_marks (declaration_id, version_id, dalle_name, area, due_on)
       SELECT declaration_id, version_id, dalle_name, area, works_end FROM targets
       ON CONFLICT DO NOTHING
       RETURNING id::text`,
      [asOf, this.ctx.config.worksToUpdate.bufferMetres],
    );
    const ids = rows.map((r) => Number(r.id));
    if (ids.length === 0) return [];
    this.ctx.log.info({ asOf, marks: ids.length }, 'declarations: works marked "to update"');
    return (await this.list({ ids, limit: ids.length, offset: 0 })).items;
  }

  /** Marks not consumed yet (of declarations not rejected nor duplicate, of versions not withdrawn), oldest due first. */
  async list(f: MarkFilter): Promise<{ items: UpdateMark[]; total: number }> {
    const where = ['m.consumed_at IS NULL', `d.status NOT IN ('rejected', 'duplicate')`, `v.status <> 'withdrawn'`];
    const params: SqlParam[] = [];
    const p = (v: SqlParam) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (f.dataset) where.push(`v.dataset_id = ${p(f.dataset)}`);
    if (f.version) where.push(`v.name = ${p(f.version)}`);
    if (f.ids) where.push(`m.id = ANY (${p([...f.ids])}::bigint[])`);
    const from = `FROM declaration_update_marks m JOIN declarations d ON d.id = m.declaration_id JOIN versions v ON v.id = m.version_id WHERE ${where.join(' AND ')}`;
    const count = await this.ctx.db.query<{ n: string }>(`SELECT count(*)::text AS n ${from}`, params);
    const { rows } = await this.ctx.db.query<Row>(
      `SELECT m.id::text, m.declaration_id::text, d.dt_dict_ref, d.title, d.themes, d.status, v.dataset_id AS dataset, v.name AS version, m.dalle_name,
              ST_AsGeoJSON(m.area, 3, 0) AS area, ST_XMin(m.area) AS xmin, ST_YMin(m.area) AS ymin, ST_XMax(m.area) AS xmax, ST_YMax(m.area) AS ymax,
              to_char(m.due_on, 'YYYY-MM-DD') AS due_on, m.marked_at, m.consumed_at, m.consumed_by
         ${from}
        ORDER BY m.due_on, m.id
        LIMIT ${p(f.limit)} OFFSET ${p(f.offset)}`,
      params,
    );
    return {
      total: Number(count.rows[0]?.n ?? 0),
      items: rows.map((r) => ({
        id: Number(r.id),
        declarationId: Number(r.declaration_id),
        dtDictRef: r.dt_dict_ref,
        title: r.title,
        themes: r.themes,
        status: r.status,
        dataset: r.dataset,
        version: r.version,
        dalle: r.dalle_name,
        area: JSON.parse(r.area) as L93Geometry,
        bbox: [r3(r.xmin), r3(r.ymin), r3(r.xmax), r3(r.ymax)],
        dueOn: r.due_on,
        markedAt: new Date(r.marked_at).toISOString(),
        consumedAt: r.consumed_at === null ? null : new Date(r.consumed_at).toISOString(),
        consumedBy: r.consumed_by,
      })),
    };
  }

  /**
   * Marks every `worksToUpdate.intervalMinutes` in a listening server (one node of several, by a
   * lease). Returns its stop.
   */
  startLoop(options: { tickMs?: number } = {}): () => Promise<void> {
    const minutes = this.ctx.config.worksToUpdate.intervalMinutes;
    return startLeasedLoop(this.ctx.db, {
      name: LEASE,
      everySeconds: minutes * 60,
      leaseSeconds: 600,
      ...(options.tickMs ? { tickMs: options.tickMs } : {}),
      log: this.ctx.log,
      run: async () => {
        await this.mark();
        return true;
      },
    });
  }
}

/** The marks as a GeoJSON FeatureCollection: the area in WGS84 (RFC 7946), its Lambert-93 bbox in the properties. */
export function marksToGeoJson(items: readonly UpdateMark[], extra: { numberMatched?: number } = {}) {
  return {
    type: 'FeatureCollection' as const,
    ...(extra.numberMatched !== undefined ? { numberMatched: extra.numberMatched, numberReturned: items.length } : {}),
    features: items.map((m) => {
      const geometry = toWgs84(m.area);
      const ring = (geometry.coordinates as number[][][])[0] ?? [];
      const xs = ring.map((q) => q[0] as number);
      const ys = ring.map((q) => q[1] as number);
      const { area: _area, bbox, ...rest } = m;
      return {
        type: 'Feature' as const,
        id: m.id,
        bbox: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)],
        geometry,
        properties: { ...rest, bboxLambert93: bbox },
      };
    }),
  };
}

const CSV_COLUMNS = ['mark_id', 'declaration_id', 'dt_dict_ref', 'title', 'status', 'themes', 'dataset', 'version', 'dalle', 'due_on', 'marked_at', 'xmin_2154', 'ymin_2154', 'xmax_2154', 'ymax_2154', 'wkt_2154'] as const;

/** The marks as CSV (area as Lambert-93 WKT; cells as util/csv.ts writes them). */
export function marksToCsv(items: readonly UpdateMark[]): string {
  return csvText(CSV_COLUMNS, items.map((m) => [m.id, m.declarationId, m.dtDictRef, m.title, m.status, m.themes.join(' '), m.dataset, m.version, m.dalle, m.dueOn, m.markedAt, ...m.bbox, wkt(m.area)]));
}
