import { z } from 'zod';
import type { AppContext } from '../context/app-context.js';
import type { RouteApp } from '../context/capability.js';
import { transformBbox } from '../grid/crs.js';
import type { Bbox } from '../grid/bbox.js';
import { UserError } from '../util/errors.js';
import { loadReference } from './import.js';
import { CommuneStore, type Commune, type Epci, type OutlineSrid } from './store.js';

/**
 * /api/v1/communes and /api/v1/epcis: public reference data (names, codes, EPCI, populations,
 * outlines) for go-to-commune and extracts by commune or EPCI. The reference is loaded from the
 * package the first time it is asked for when the catalogue has none.
 */

const tags = ['communes'];

const crsQuery = z.enum(['EPSG:4326', 'OGC:CRS84', 'EPSG:2154']).default('OGC:CRS84');
const sridOf = (crs: z.infer<typeof crsQuery>): OutlineSrid => (crs === 'EPSG:2154' ? 2154 : 4326);

const wgs84 = (b: Bbox | null): Bbox | null => (b ? (transformBbox('EPSG:2154', 'OGC:CRS84', b).map((v) => Math.round(v * 1e6) / 1e6) as unknown as Bbox) : null);

function communeOut(c: Commune) {
  const { bboxLambert93, ...rest } = c;
  return { ...rest, bbox: wgs84(bboxLambert93), bboxLambert93 };
}

function epciOut(e: Epci) {
  const { bboxLambert93, ...rest } = e;
  return { ...rest, bbox: wgs84(bboxLambert93), bboxLambert93 };
}

export function registerCommuneRoutes(app: RouteApp, ctx: AppContext): void {
  const store = new CommuneStore(ctx.db);
  let loading: Promise<unknown> | null = null;
  const ready = async () => {
    loading ??= store.count().then((n) => (n.communes === 0 ? loadReference(ctx) : undefined)).catch((e: unknown) => {
      loading = null;
      throw e;
    });
    await loading;
  };

  app.get(
    '/api/v1/communes',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Communes of the territory: search by name (accents and hyphens ignored, "st" = saint), INSEE code or postal code; all of them without q',
        querystring: z.strictObject({ q: z.string().trim().min(1).max(100).optional(), limit: z.coerce.number().int().min(1).max(1000).default(20) }),
      },
    },
    async (request) => {
      await ready();
      const { q, limit } = request.query;
      const items = q === undefined ? (await store.list()).slice(0, limit) : await store.search(q, limit);
      return { communes: items.map(communeOut) };
    },
  );

  app.get(
    '/api/v1/communes/:insee',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'One commune as a GeoJSON Feature (its outline, null before one is imported), in WGS84 or crs=EPSG:2154',
        params: z.strictObject({ insee: z.string().regex(/^([0-9]{5}|2[AB][0-9]{3})$/i, 'must be an INSEE code (5 characters)').transform((s) => s.toUpperCase()) }),
        querystring: z.strictObject({ crs: crsQuery }),
      },
    },
    async (request) => {
      await ready();
      const c = await store.get(request.params.insee, sridOf(request.query.crs));
      if (!c) throw new UserError('not-found', `There is no commune ${request.params.insee} in the territory.`, { status: 404 });
      const { outline, ...props } = c;
      return { type: 'Feature', id: c.insee, geometry: outline ? (JSON.parse(outline) as unknown) : null, properties: communeOut(props) };
    },
  );

  app.get('/api/v1/epcis', { config: { access: 'public' }, schema: { tags, summary: 'EPCI (intercommunalités) with communes in the territory, and their communes' } }, async () => {
    await ready();
    return { epcis: (await store.epcis()).map(epciOut) };
  });

  app.get(
    '/api/v1/epcis/:siren',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'One EPCI as a GeoJSON Feature: the union of its communes’ outlines in the territory',
        params: z.strictObject({ siren: z.string().regex(/^[0-9]{9}$/, 'must be a SIREN number (9 digits)') }),
        querystring: z.strictObject({ crs: crsQuery }),
      },
    },
    async (request) => {
      await ready();
      const e = await store.epci(request.params.siren, sridOf(request.query.crs));
      if (!e) throw new UserError('not-found', `There is no EPCI ${request.params.siren} in the territory.`, { status: 404 });
      const { outline, ...props } = e;
      return { type: 'Feature', id: e.siren, geometry: outline ? (JSON.parse(outline) as unknown) : null, properties: epciOut(props) };
    },
  );
}
