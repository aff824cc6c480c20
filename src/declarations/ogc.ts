import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../context/app-context.js';
import type { RouteApp } from '../context/capability.js';
import type { SqlParam } from '../db/database.js';
import { crsUri, transformBbox, type CrsCode } from '../grid/crs.js';
import { baseUrl, linksWithApiKey } from '../http/base-url.js';
import type { OgcCollection, OgcProvider, OgcRegistry, OpenApiPart } from '../ogc/registry.js';
import { UserError } from '../util/errors.js';
import { bboxTo2154, FEATURES_CONFORMANCE, MAX_ITEMS_LIMIT, outputSrid, SERVED_CRS, servedCrs } from '../vector/http/ogc-features.js';
import { DECLARATION_TYPES, STATUSES } from './model.js';
import { checkPublicRead } from './public.js';

/**
 * The declarations as an OGC API Features collection `declarations` (read-only) so that QGIS and
 * GDAL show them: public fields only (id, type, status, title, themes, planned dates, created and
 * updated) — no description, no author, no e-mail, no assignee. Items with bbox (+ bbox-crs),
 * limit/offset paging links, `datetime` on the last update, `status`/`type` filters, geometries in
 * CRS84 (default), EPSG:2154, EPSG:4326 (lat/lon) or EPSG:3857 (the CRS parsing and the conformance
 * classes are the vector collections'). Anonymous unless `declarations.publicCollection` is off.
 */

export const COLLECTION = 'declarations';
const GEOJSON = 'application/geo+json';
const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const DEFAULT_LIMIT = 100;
const ALLOWED = new Set(['limit', 'offset', 'bbox', 'bbox-crs', 'crs', 'datetime', 'status', 'type', 'f', 'apikey', 'APIKEY']);

interface ItemRow {
  id: string;
  type: string;
  status: string;
  title: string;
  themes: string[];
  works_start: string | null;
  works_end: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  geometry: string;
}

/** One bound of `datetime`: a date (a whole UTC day) or an RFC 3339 date-time. */
const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

/** `datetime` (instant, or interval a/b with open ends `..`) → conditions on updated_at. */
export function datetimeConditions(text: string, p: (v: SqlParam) => string): string[] {
  const bad = () => new UserError('invalid-datetime', `datetime '${text.slice(0, 100)}' must be an RFC 3339 date, date-time or interval (a/b, ../b, a/..).`, { status: 400 });
  const parse = (s: string | undefined): string | null => {
    if (s === undefined || s === '' || s === '..') return null;
    if (!instant.safeParse(s).success) throw bad();
    return s;
  };
  const isDate = (s: string) => s.length === 10;
  const parts = text.split('/');
  if (parts.length > 2) throw bad();
  const [a, b] = parts.length === 2 ? [parse(parts[0]), parse(parts[1])] : [parse(parts[0]), parse(parts[0])];
  if (parts.length === 1 && a === null) throw bad();
  const conds: string[] = [];
  if (a) conds.push(`d.updated_at >= ${p(isDate(a) ? `${a}T00:00:00Z` : a)}::timestamptz`);
  if (b) conds.push(isDate(b) ? `d.updated_at < (${p(b)}::date + 1)::timestamp AT TIME ZONE 'UTC'` : `d.updated_at <= ${p(b)}::timestamptz`);
  return conds;
}

function csvOf<T extends string>(text: string | undefined, values: readonly T[], name: string): T[] | undefined {
  if (text === undefined || text === '') return undefined;
  const list = text.split(',').map((s) => s.trim());
  const wrong = list.find((s) => !(values as readonly string[]).includes(s));
  if (wrong !== undefined) throw new UserError('invalid-parameter', `${name}=${wrong.slice(0, 50)} is not one of ${values.join(', ')}.`, { status: 400 });
  return list as T[];
}

function geometryExpr(crs: CrsCode): string {
  const srid = outputSrid(crs);
  let g = 'd.geom';
  if (srid !== 2154) g = `ST_Transform(${g}, ${srid})`;
  if (crs === 'EPSG:4326') g = `ST_FlipCoordinates(${g})`;
  return `ST_AsGeoJSON(${g}, ${srid === 4326 ? 7 : srid === 3857 ? 2 : 3}, 0)`;
}

const SELECT = (crs: CrsCode) => `
  SELECT d.id::text, d.type, d.status, d.title, d.themes, to_char(d.works_start, 'YYYY-MM-DD') AS works_start, to_char(d.works_end, 'YYYY-MM-DD') AS works_end,
         d.created_at, d.updated_at, ${geometryExpr(crs)} AS geometry
    FROM declarations d`;

/** A GeoJSON feature of the collection: the public fields, nothing else. */
function featureOf(r: ItemRow): Record<string, unknown> {
  return {
    type: 'Feature',
    id: Number(r.id),
    geometry: JSON.parse(r.geometry) as unknown,
    properties: {
      type: r.type,
      status: r.status,
      title: r.title,
      themes: r.themes,
      plannedStart: r.works_start,
      plannedEnd: r.works_end,
      createdAt: new Date(r.created_at).toISOString(),
      updatedAt: new Date(r.updated_at).toISOString(),
    },
  };
}

const param = (name: string, description: string, schema: Record<string, unknown>) => ({ name, in: 'query', required: false, style: 'form', explode: false, description, schema });

function openapi(): OpenApiPart {
  const crs = { type: 'string', format: 'uri', enum: SERVED_CRS.map(crsUri) };
  const items = [
    param('limit', `Declarations per page (at most ${MAX_ITEMS_LIMIT}; follow the 'next' link for more).`, { type: 'integer', minimum: 1, maximum: MAX_ITEMS_LIMIT, default: DEFAULT_LIMIT }),
    param('offset', 'Index of the first declaration of the page.', { type: 'integer', minimum: 0, default: 0 }),
    param('bbox', 'minx,miny,maxx,maxy in bbox-crs (default CRS84).', { type: 'array', minItems: 4, maxItems: 4, items: { type: 'number' } }),
    param('bbox-crs', 'CRS of bbox.', crs),
    param('crs', 'CRS of the returned geometries.', crs),
    param('datetime', 'Last update (updatedAt): an instant or an interval a/b, open ends with ..', { type: 'string' }),
    param('status', `Statuses, comma-separated: ${STATUSES.join(', ')}.`, { type: 'string' }),
    param('type', `Types, comma-separated: ${DECLARATION_TYPES.join(', ')}.`, { type: 'string' }),
  ];
  return {
    paths: {
      [`/collections/${COLLECTION}/items`]: { get: { summary: 'Declarations (public fields)', operationId: 'getDeclarations', parameters: items, responses: { '200': { description: 'Declarations', content: { [GEOJSON]: {} } }, '400': { description: 'Bad parameter' } } } },
      [`/collections/${COLLECTION}/items/{featureId}`]: {
        get: {
          summary: 'One declaration (public fields)',
          operationId: 'getDeclaration',
          parameters: [{ name: 'featureId', in: 'path', required: true, schema: { type: 'integer' } }, param('crs', 'CRS of the returned geometry.', crs)],
          responses: { '200': { description: 'The declaration', content: { [GEOJSON]: {} } }, '404': { description: 'No such declaration' } },
        },
      },
    },
  };
}

function provider(ctx: AppContext): OgcProvider {
  return {
    conformance: FEATURES_CONFORMANCE,
    openapi,
    async collections(request: FastifyRequest, base: string): Promise<OgcCollection[]> {
      if (!ctx.config.declarations.publicCollection && request.caller.kind === 'anonymous') return [];
      const { rows } = await ctx.db.query<{ n: string; xmin: number | null; ymin: number | null; xmax: number | null; ymax: number | null; first: Date | string | null; last: Date | string | null }>(
        `SELECT n::text AS n, ST_XMin(e) AS xmin, ST_YMin(e) AS ymin, ST_XMax(e) AS xmax, ST_YMax(e) AS ymax, first, last
           FROM (SELECT ST_Extent(geom) AS e, min(updated_at) AS first, max(updated_at) AS last, count(*) AS n FROM declarations) s`,
      );
      const r = rows[0];
      const extent = r && r.xmin !== null ? transformBbox('EPSG:2154', 'OGC:CRS84', [Number(r.xmin), Number(r.ymin), Number(r.xmax), Number(r.ymax)]) : transformBbox('EPSG:2154', 'OGC:CRS84', ctx.config.territory.extent);
      const c: OgcCollection = {
        id: COLLECTION,
        title: 'Déclarations',
        description: `Erreurs, demandes de mise à jour, travaux et interventions déclarés sur le PCRS (${r?.n ?? 0}) : type, statut, titre, thèmes, dates prévues, création et dernière mise à jour. Lecture seule.`,
        itemType: 'feature',
        dataType: 'vector',
        crs: SERVED_CRS.map(crsUri),
        storageCrs: crsUri('EPSG:2154'),
        extent: {
          spatial: { bbox: [[...extent]], crs: CRS84 },
          ...(r?.first && r.last ? { temporal: { interval: [[new Date(r.first).toISOString(), new Date(r.last).toISOString()]] } } : {}),
        },
        links: [
          { href: `${base}/collections/${COLLECTION}`, rel: 'self', type: 'application/json' },
          { href: `${base}/collections/${COLLECTION}/items`, rel: 'items', type: GEOJSON, title: 'Déclarations (GeoJSON)' },
        ],
      };
      return [c];
    },
  };
}

export function registerOgcCollection(app: RouteApp, ogc: OgcRegistry, ctx: AppContext): void {
  ogc.register(provider(ctx));
  const query = z.record(z.string(), z.string().max(2000));
  const options = { config: { access: 'public' as const }, schema: { hide: true, querystring: query } };

  app.get(`/ogc/collections/${COLLECTION}/items`, options, async (request, reply) => {
    checkPublicRead(request, ctx.config);
    const q: Record<string, string | undefined> = request.query;
    const unknown = Object.keys(q).find((k) => !ALLOWED.has(k));
    if (unknown) throw new UserError('invalid-parameter', `Unknown parameter '${unknown.slice(0, 50)}'; the collection takes ${[...ALLOWED].filter((k) => k !== 'APIKEY').join(', ')}.`, { status: 400 });
    if (q.f && !['json', 'geojson'].includes(q.f)) throw new UserError('invalid-parameter', 'f: this collection is served as GeoJSON only (f=json).', { status: 400 });
    const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit);
    const offset = q.offset === undefined ? 0 : Number(q.offset);
    if (!Number.isInteger(limit) || limit < 1) throw new UserError('invalid-limit', 'limit must be a positive integer.', { status: 400 });
    if (!Number.isInteger(offset) || offset < 0 || offset > 10_000_000) throw new UserError('invalid-offset', 'offset must be a non-negative integer.', { status: 400 });
    const effLimit = Math.min(limit, MAX_ITEMS_LIMIT);
    const crs = servedCrs(q.crs, 'crs');
    const bbox = q.bbox ? bboxTo2154(q.bbox.split(',').map(Number), servedCrs(q['bbox-crs'], 'bbox-crs')) : undefined;
    const params: SqlParam[] = [];
    const p = (v: SqlParam) => {
      params.push(v);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (bbox) where.push(`d.geom && ST_MakeEnvelope(${p(bbox[0])}, ${p(bbox[1])}, ${p(bbox[2])}, ${p(bbox[3])}, 2154)`);
    if (q.datetime) where.push(...datetimeConditions(q.datetime, p));
    const statuses = csvOf(q.status, STATUSES, 'status');
    if (statuses) where.push(`d.status = ANY (${p(statuses)}::text[])`);
    const types = csvOf(q.type, DECLARATION_TYPES, 'type');
    if (types) where.push(`d.type = ANY (${p(types)}::text[])`);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const count = await ctx.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM declarations d ${w}`, params);
    const matched = Number(count.rows[0]?.n ?? 0);
    const { rows } = await ctx.db.query<ItemRow>(`${SELECT(crs)} ${w} ORDER BY d.id LIMIT ${p(effLimit)} OFFSET ${p(offset)}`, params);
    const base = `${baseUrl(request, ctx.config)}/ogc`;
    const page = (o: number) => {
      const u = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined));
      u.set('offset', String(o));
      u.set('limit', String(effLimit));
      return `${base}/collections/${COLLECTION}/items?${u.toString()}`;
    };
    const links = [
      { href: page(offset), rel: 'self', type: GEOJSON },
      ...(offset + rows.length < matched ? [{ href: page(offset + effLimit), rel: 'next', type: GEOJSON }] : []),
      ...(offset > 0 ? [{ href: page(Math.max(0, offset - effLimit)), rel: 'prev', type: GEOJSON }] : []),
      { href: `${base}/collections/${COLLECTION}`, rel: 'collection', type: 'application/json' },
    ];
    reply.header('Content-Crs', `<${crsUri(crs)}>`).type(GEOJSON);
    return linksWithApiKey({ type: 'FeatureCollection', numberMatched: matched, numberReturned: rows.length, timeStamp: new Date().toISOString(), links, features: rows.map(featureOf) }, request, base);
  });

  app.get(`/ogc/collections/${COLLECTION}/items/:featureId`, { ...options, schema: { ...options.schema, params: z.strictObject({ featureId: z.string().max(40) }) } }, async (request, reply) => {
    checkPublicRead(request, ctx.config);
    const q: Record<string, string | undefined> = request.query;
    const crs = servedCrs(q.crs, 'crs');
    const id = Number(request.params.featureId);
    const notFound = () => new UserError('unknown-feature', `No declaration ${request.params.featureId.slice(0, 40)} in ${COLLECTION}.`, { status: 404 });
    if (!Number.isSafeInteger(id) || id < 1) throw notFound();
    const { rows } = await ctx.db.query<ItemRow>(`${SELECT(crs)} WHERE d.id = $1`, [id]);
    const row = rows[0];
    if (!row) throw notFound();
    const base = `${baseUrl(request, ctx.config)}/ogc`;
    reply.header('Content-Crs', `<${crsUri(crs)}>`).type(GEOJSON);
    return linksWithApiKey(
      {
        ...featureOf(row),
        links: [
          { href: `${base}/collections/${COLLECTION}/items/${id}`, rel: 'self', type: GEOJSON },
          { href: `${base}/collections/${COLLECTION}`, rel: 'collection', type: 'application/json' },
        ],
      },
      request,
      base,
    );
  });
}
