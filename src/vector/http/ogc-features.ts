/**
 * OGC API — Features (Part 1 core + GeoJSON, Part 2 CRS) for the vector PCRS under /ogc: one
 * collection per class of the current PCRS (or of `?version=`), items with bbox, limit/offset
 * paging links, datetime (on dateLeve), property filters (`?thematique=03`), `crs`/`bbox-crs`
 * (CRS84 default, EPSG:2154, EPSG:4326 in its lat/lon order, EPSG:3857).
 */
import type { FastifyRequest } from 'fastify';
import { crsUri, parseCrs, transformBbox, type CrsCode } from '../../grid/crs.js';
import type { Bbox } from '../../grid/bbox.js';
import type { OgcCollection, OgcProvider, OgcRegistry, OpenApiPart } from '../../ogc/registry.js';
import { WHOLE_AREA } from '../../context/access.js';
import type { Version } from '../../catalog/catalog.js';
import type { AppContext } from '../../context/app-context.js';
import type { RouteApp } from '../../context/capability.js';
import { z } from 'zod';
import { baseUrl } from '../../http/base-url.js';
import { UserError } from '../../util/errors.js';
import { PCRS_CLASSES, pcrsClass } from '../gml/pcrs-model.js';
import { featureMemberXml, GML_FOOTER, GML_HEADER } from '../gml-writer.js';
import { assertFilterKey, classSummaries, countFeatures, queryFeatures, type OutputCrs, type StoredFeature } from '../store.js';
import { VECTOR_DATASET } from '../store.js';


export const FEATURES_CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
];

const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
export const SERVED_CRS: readonly CrsCode[] = ['OGC:CRS84', 'EPSG:2154', 'EPSG:4326', 'EPSG:3857'];
const GEOJSON = 'application/geo+json';
const GML = 'application/gml+xml; version=3.2; profile=http://cnig.gouv.fr/pcrs';

/** GML output (CNIG PCRS v2.0 document, EPSG:2154) when asked by `f=gml` or by the Accept header. */
function wantsGml(request: FastifyRequest, q: Record<string, string | undefined>): boolean {
  if (q.f) return q.f.toLowerCase() === 'gml' || q.f.toLowerCase() === 'xml';
  const accept = request.headers.accept ?? '';
  return /application\/gml\+xml/.test(accept) && !/json/.test(accept.split(',')[0] ?? '');
}

/** Parses a CRS parameter into one of the served CRSs (400 otherwise). */
export function servedCrs(text: string | undefined, what: string): CrsCode {
  if (text === undefined || text === '') return 'OGC:CRS84';
  let code: CrsCode;
  try {
    code = parseCrs(text);
  } catch {
    throw new UserError('invalid-crs', `${what}=${text} is not a CRS this service offers: use one of ${SERVED_CRS.map(crsUri).join(', ')}.`);
  }
  if (!SERVED_CRS.includes(code)) throw new UserError('invalid-crs', `${what}=${text} is not offered: use one of ${SERVED_CRS.map(crsUri).join(', ')}.`);
  return code;
}

export function outputSrid(code: CrsCode): OutputCrs {
  return code === 'EPSG:2154' ? 2154 : code === 'EPSG:3857' ? 3857 : 4326;
}

/** A bbox in `crs` (axis order of the CRS: EPSG:4326 is lat/lon) → EPSG:2154. */
export function bboxTo2154(values: number[], crs: CrsCode): Bbox {
  if (values.length !== 4 && values.length !== 6) throw new UserError('invalid-bbox', 'bbox must have 4 (or 6) numbers.');
  let b = values.length === 6 ? [values[0], values[1], values[3], values[4]] : values;
  if (b.some((n) => n === undefined || !Number.isFinite(n))) throw new UserError('invalid-bbox', 'bbox must hold numbers.');
  if (crs === 'EPSG:4326') b = [b[1], b[0], b[3], b[2]];
  const bbox = b as unknown as Bbox;
  if (bbox[0] > bbox[2] || bbox[1] > bbox[3]) throw new UserError('invalid-bbox', 'bbox must be min,min,max,max.');
  return crs === 'EPSG:2154' ? bbox : transformBbox(crs, 'EPSG:2154', bbox);
}

/** `datetime` (RFC 3339 instant or interval with `..`) → dateLeve interval (dates). */
export function parseDatetime(text: string | undefined): [string | null, string | null] | undefined {
  if (!text) return undefined;
  const part = (s: string | undefined): string | null => {
    if (s === undefined || s === '' || s === '..') return null;
    const m = /^(\d{4}-\d{2}-\d{2})(T.*)?$/.exec(s);
    if (!m) throw new UserError('invalid-datetime', `datetime '${text}' must be an RFC 3339 date-time or interval (a/b, ../b, a/..).`);
    return m[1] as string;
  };
  const [a, b] = text.split('/');
  return text.includes('/') ? [part(a), part(b)] : [part(a), part(a)];
}

const RESERVED = new Set(['limit', 'offset', 'bbox', 'bbox-crs', 'crs', 'datetime', 'f', 'version', 'apikey', 'APIKEY', 'properties', 'skipGeometry', 'layer']);

/** The vector versions by id, to say of each object which version it comes from (and whose contribution). */
export type VersionsById = ReadonlyMap<number, Pick<Version, 'name' | 'provenance'>>;

export async function vectorVersions(ctx: AppContext, versionId?: number, datasetId = VECTOR_DATASET): Promise<VersionsById> {
  // The published versions (what the current PCRS is made of), plus the one asked by ?version=: one
  // light query per request (not the catalogue's listing, which measures every version's dalles).
  const versions = await ctx.catalog.publishedVersions(datasetId);
  if (versionId !== undefined && !versions.some((v) => v.id === versionId)) versions.push(await ctx.catalog.getVersionById(versionId));
  return new Map(versions.map((v) => [v.id, v]));
}

/**
 * A GeoJSON feature of the OGC API (id = store id, CNIG attributes as properties), with the version
 * it comes from and, when a partner's contribution made it, its provenance.
 */
export function featureJson(f: StoredFeature, versions: VersionsById, business = false): string {
  const v = versions.get(f.versionId);
  const own = business ? { layer: f.class, ...f.attributes } : { class: f.class, gmlId: f.gmlId, ...f.attributes, sourceCrs: f.sourceCrs };
  return `{"type":"Feature","id":${f.id},"geometry":${f.geometry ?? 'null'},"properties":${JSON.stringify({ ...own, version: v?.name ?? null, provenance: v?.provenance ?? null })}}`;
}

async function versionIdOf(ctx: AppContext, q: Record<string, string | undefined>, datasetId = VECTOR_DATASET): Promise<number | undefined> {
  return q.version ? (await ctx.catalog.getVersion(datasetId, q.version)).id : undefined;
}

/**
 * What a collection id names: a class of the vector PCRS, or a business dataset (partners' layers:
 * hydrants, lighting…, served by the same routes; `src/business/`). Dataset ids are lower case and
 * PCRS classes CamelCase: the two never meet.
 */
export async function featureSource(ctx: AppContext, collectionId: string): Promise<{ datasetId: string; class?: string; business: boolean }> {
  const def = pcrsClass(collectionId);
  if (def && !def.abstract) return { datasetId: VECTOR_DATASET, class: collectionId, business: false };
  if (/^[a-z0-9][a-z0-9-]{0,62}$/.test(collectionId) && collectionId !== VECTOR_DATASET) {
    const dataset = await ctx.catalog.getDataset(collectionId).catch(() => null);
    if (dataset?.kind === 'business') return { datasetId: dataset.id, business: true };
  }
  throw new UserError('unknown-collection', `No feature collection '${collectionId}'.`, { status: 404 });
}

/** Most features one items page returns (a larger `limit` is capped; the `next` link pages on). */
export const MAX_ITEMS_LIMIT = 10_000;

const queryParam = (name: string, description: string, schema: Record<string, unknown>) => ({ name, in: 'query', required: false, style: 'form', explode: false, description, schema });

/** The feature operations in the API definition: shared parameters, and one items path per class with its attributes as filters. */
function featuresOpenApi(): OpenApiPart {
  const parameters = {
    limit: queryParam('limit', `Features per page (at most ${MAX_ITEMS_LIMIT}; follow the 'next' link for more).`, { type: 'integer', minimum: 1, maximum: MAX_ITEMS_LIMIT, default: 10 }),
    offset: queryParam('offset', 'Index of the first feature of the page.', { type: 'integer', minimum: 0, default: 0 }),
    bbox: { ...queryParam('bbox', 'minx,miny,maxx,maxy in bbox-crs (default CRS84).', { type: 'array', minItems: 4, maxItems: 4, items: { type: 'number' } }) },
    'bbox-crs': queryParam('bbox-crs', 'CRS of bbox.', { type: 'string', format: 'uri', enum: SERVED_CRS.map(crsUri) }),
    crs: queryParam('crs', 'CRS of the returned geometries.', { type: 'string', format: 'uri', enum: SERVED_CRS.map(crsUri) }),
    datetime: queryParam('datetime', 'Survey date (dateLeve): an instant or an interval a/b, open ends with ..', { type: 'string' }),
    version: queryParam('version', 'A version (millésime or update) instead of the current PCRS.', { type: 'string' }),
    f: queryParam('f', 'Encoding: json (GeoJSON) or gml (CNIG PCRS GML 3.2).', { type: 'string', enum: ['json', 'gml'] }),
    featureId: { name: 'featureId', in: 'path', required: true, schema: { type: 'string' } },
  };
  const common = ['limit', 'offset', 'bbox', 'bbox-crs', 'crs', 'datetime', 'version', 'f'].map((n) => ({ $ref: `#/components/parameters/${n}` }));
  const items = (summary: string, extra: unknown[] = []) => ({
    get: { summary, parameters: [...common, ...extra], responses: { '200': { description: 'Features', content: { [GEOJSON]: {}, [GML]: {} } }, '400': { description: 'Bad parameter' } } },
  });
  const paths: Record<string, unknown> = {
    '/collections/{collectionId}/items': items('Features of a class', [{ $ref: '#/components/parameters/collectionId' }]),
    '/collections/{collectionId}/items/{featureId}': {
      get: { summary: 'One feature', parameters: [{ $ref: '#/components/parameters/collectionId' }, { $ref: '#/components/parameters/featureId' }, { $ref: '#/components/parameters/crs' }], responses: { '200': { description: 'The feature' }, '404': { description: 'No such feature' } } },
    },
  };
  for (const c of PCRS_CLASSES) {
    if (c.abstract || !c.geometry) continue;
    const filters = c.properties.filter((d) => !RESERVED.has(d.name)).map((d) => queryParam(d.name, `Equal to this ${d.name} (CNIG attribute).`, { type: 'string' }));
    paths[`/collections/${c.name}/items`] = items(`${c.name} features`, filters);
  }
  return { paths, parameters };
}

export function vectorFeaturesProvider(ctx: AppContext): OgcProvider {
  return {
    conformance: FEATURES_CONFORMANCE,
    openapi: featuresOpenApi,
    async collections(request: FastifyRequest, base: string): Promise<OgcCollection[]> {
      const q = request.query as Record<string, string | undefined>;
      // Only what the caller may read.
      if (!(await ctx.access.canRead(request.caller, { datasetId: VECTOR_DATASET, ...(q.version ? { version: q.version } : {}) }))) return [];
      const versionId = await versionIdOf(ctx, q).catch(() => undefined);
      const summaries = await classSummaries(ctx.db, { datasetId: VECTOR_DATASET, ...(versionId !== undefined ? { versionId } : {}) });
      return summaries.map((s) => {
        const items = `${base}/collections/${s.class}/items`;
        const c: OgcCollection = {
          id: s.class,
          title: `PCRS — ${s.class}`,
          description: `${s.count} objet(s) ${s.class} du PCRS vecteur (CNIG v2.0), version courante.`,
          itemType: 'feature',
          dataType: 'vector',
          crs: SERVED_CRS.map(crsUri),
          storageCrs: crsUri('EPSG:2154'),
          links: [
            { href: `${base}/collections/${s.class}`, rel: 'self', type: 'application/json' },
            { href: items, rel: 'items', type: GEOJSON, title: 'Features (GeoJSON)' },
          ],
        };
        if (s.bbox) {
          c.extent = { spatial: { bbox: [[...transformBbox('EPSG:2154', 'OGC:CRS84', s.bbox)]], crs: CRS84 } };
          if (s.minDate || s.maxDate) c.extent.temporal = { interval: [[s.minDate ? `${s.minDate}T00:00:00Z` : null, s.maxDate ? `${s.maxDate}T23:59:59Z` : null]] };
        }
        return c;
      });
    },
  };
}

export function registerOgcFeatureRoutes(app: RouteApp, ctx: AppContext, ogc: OgcRegistry): void {
  ogc.register(vectorFeaturesProvider(ctx));
  // Filters are any CNIG attribute of the class (checked against the model), hence a record.
  const query = z.record(z.string(), z.string().max(2000));
  const collectionId = z.string().max(100);

  app.get('/ogc/collections/:collectionId/items', { config: { access: 'public' }, schema: { hide: true, params: z.object({ collectionId }), querystring: query } }, async (request, reply) => {
    const { collectionId } = request.params;
    const q: Record<string, string | undefined> = request.query;
    const source = await featureSource(ctx, collectionId);
    const { datasetId } = source;
    await ctx.access.checkRead(request.caller, { datasetId, ...(q.version ? { version: q.version } : {}) });
    const limit = q.limit === undefined ? 10 : Number(q.limit);
    const offset = q.offset === undefined ? 0 : Number(q.offset);
    if (!Number.isInteger(limit) || limit < 1) throw new UserError('invalid-limit', 'limit must be a positive integer.');
    if (!Number.isInteger(offset) || offset < 0) throw new UserError('invalid-offset', 'offset must be a non-negative integer.');
    const effLimit = Math.min(limit, MAX_ITEMS_LIMIT);
    const gml = wantsGml(request, q);
    if (gml && source.business) throw new UserError('invalid-format', 'Business data is served as GeoJSON only (f=json).', { status: 400 });
    const crs = gml ? 'EPSG:2154' : servedCrs(q.crs, 'crs');
    if (gml && q.crs && servedCrs(q.crs, 'crs') !== 'EPSG:2154') throw new UserError('invalid-crs', 'GML items (CNIG PCRS) are served in EPSG:2154 only.');
    const bboxCrs = servedCrs(q['bbox-crs'], 'bbox-crs');
    const bbox = q.bbox ? bboxTo2154(q.bbox.split(',').map(Number), bboxCrs) : undefined;
    // A permission's perimeter limits the area asked (no bbox: the whole dataset).
    await ctx.access.checkRead(request.caller, { datasetId, ...(q.version ? { version: q.version } : {}), bbox: bbox ? (bbox as [number, number, number, number]) : WHOLE_AREA });
    const filters: Record<string, string> = {};
    for (const [k, v] of Object.entries(q)) {
      if (RESERVED.has(k) || v === undefined) continue;
      assertFilterKey(k);
      filters[k] = v;
    }
    const dateInterval = parseDatetime(q.datetime);
    const versionId = await versionIdOf(ctx, q, datasetId);
    const layer = source.business ? q.layer : source.class;
    const query = {
      datasetId,
      ...(versionId !== undefined ? { versionId } : {}),
      ...(layer ? { class: layer } : {}),
      ...(bbox ? { bbox } : {}),
      filters,
      ...(dateInterval ? { dateInterval } : {}),
    };
    const [features, matched] = await Promise.all([
      queryFeatures(ctx.db, { ...query, limit: effLimit, offset, outSrid: outputSrid(crs), latLon: crs === 'EPSG:4326', ...(gml ? { decimals: 15 } : {}) }),
      countFeatures(ctx.db, query),
    ]);
    if (gml) {
      reply.header('Content-Crs', `<${crsUri('EPSG:2154')}>`).header('OGC-NumberMatched', String(matched)).type(GML);
      return GML_HEADER + features.map((f) => featureMemberXml(f, `pcrs.f${f.id}`)).join('') + GML_FOOTER;
    }
    const base = `${baseUrl(request, ctx.config)}/ogc/collections/${collectionId}/items`;
    const page = (o: number) => {
      const p = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined));
      p.set('offset', String(o));
      p.set('limit', String(effLimit));
      return `${base}?${p.toString()}`;
    };
    const gmlPage = (() => {
      const u = new URL(page(offset));
      u.searchParams.set('f', 'gml');
      return u.toString();
    })();
    const links = [
      { href: page(offset), rel: 'self', type: GEOJSON },
      { href: gmlPage, rel: 'alternate', type: GML, title: 'This page as CNIG PCRS v2.0 GML (EPSG:2154)' },
      ...(offset + features.length < matched ? [{ href: page(offset + effLimit), rel: 'next', type: GEOJSON }] : []),
      ...(offset > 0 ? [{ href: page(Math.max(0, offset - effLimit)), rel: 'prev', type: GEOJSON }] : []),
      { href: `${baseUrl(request, ctx.config)}/ogc/collections/${collectionId}`, rel: 'collection', type: 'application/json' },
    ];
    const versions = await vectorVersions(ctx, versionId, datasetId);
    reply.header('Content-Crs', `<${crsUri(crs)}>`).type(GEOJSON);
    return (
      `{"type":"FeatureCollection","numberMatched":${matched},"numberReturned":${features.length},"timeStamp":"${new Date().toISOString()}",` +
      `"links":${JSON.stringify(source.business ? links.filter((l) => l.rel !== 'alternate') : links)},"features":[${features.map((f) => featureJson(f, versions, source.business)).join(',')}]}`
    );
  });

  app.get('/ogc/collections/:collectionId/items/:featureId', { config: { access: 'public' }, schema: { hide: true, params: z.object({ collectionId, featureId: z.string().max(40) }), querystring: query } }, async (request, reply) => {
    const { collectionId, featureId } = request.params;
    const q: Record<string, string | undefined> = request.query;
    const source = await featureSource(ctx, collectionId);
    await ctx.access.checkRead(request.caller, { datasetId: source.datasetId, bbox: WHOLE_AREA });
    const crs = servedCrs(q.crs, 'crs');
    const id = Number(featureId);
    const rows = Number.isSafeInteger(id)
      ? await ctx.db.query<{ version_id: number }>(
          'SELECT f.version_id FROM vector_features f JOIN versions v ON v.id = f.version_id WHERE f.id = $1 AND v.dataset_id = $2 AND ($3::text IS NULL OR f.class = $3)',
          [id, source.datasetId, source.class ?? null],
        )
      : { rows: [] };
    const row = rows.rows[0];
    if (!row) throw new UserError('unknown-feature', `No feature ${featureId} in ${collectionId}.`, { status: 404 });
    const [f] = await queryFeatures(ctx.db, {
      datasetId: source.datasetId,
      versionId: Number(row.version_id),
      ...(source.class ? { class: source.class } : {}),
      outSrid: outputSrid(crs),
      latLon: crs === 'EPSG:4326',
      id,
    });
    if (!f) throw new UserError('unknown-feature', `No feature ${featureId} in ${collectionId}.`, { status: 404 });
    reply.header('Content-Crs', `<${crsUri(crs)}>`).type(GEOJSON);
    const base = `${baseUrl(request, ctx.config)}/ogc/collections/${collectionId}`;
    const json = JSON.parse(featureJson(f, await vectorVersions(ctx, Number(row.version_id), source.datasetId), source.business)) as Record<string, unknown>;
    json.links = [
      { href: `${base}/items/${id}`, rel: 'self', type: GEOJSON },
      { href: base, rel: 'collection', type: 'application/json' },
    ];
    return json;
  });
}
