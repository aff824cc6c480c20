import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Capability } from '../context/capability.js';
import type { AppContext } from '../context/app-context.js';
import { crsUri, transformBbox } from '../grid/crs.js';
import { baseUrl } from '../http/base-url.js';
import type { OgcCollection, OgcProvider } from '../ogc/registry.js';
import { FEATURES_CONFORMANCE, SERVED_CRS } from '../vector/http/ogc-features.js';
import { sendVectorTile, tileParams } from '../vector/http/mvt-routes.js';
import { classSummaries } from '../vector/store.js';
import { UserError } from '../util/errors.js';
import { BusinessStore, type BusinessDataset } from './store.js';

const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';

/** The business datasets this caller may read (a restricted one: its owner, its readers, admins). */
async function readable(ctx: AppContext, request: FastifyRequest): Promise<BusinessDataset[]> {
  const all = await new BusinessStore(ctx.db).list();
  const ok = await Promise.all(all.map((d) => ctx.access.canRead(request.caller, { datasetId: d.id })));
  return all.filter((_, i) => ok[i]);
}

/** One OGC API Features collection per business dataset the caller may read (its layers in `layers`, filter with `?layer=`). */
function businessProvider(ctx: AppContext): OgcProvider {
  return {
    conformance: FEATURES_CONFORMANCE,
    async collections(request, base) {
      const out: OgcCollection[] = [];
      for (const d of await readable(ctx, request)) {
        const layers = await classSummaries(ctx.db, { datasetId: d.id });
        const boxes = layers.flatMap((l) => (l.bbox ? [l.bbox] : []));
        const c: OgcCollection = {
          id: d.id,
          title: d.title,
          description: `Données métier de ${d.organisation} (${d.visibility === 'public' ? 'publiques' : 'restreintes'}) : ${layers.map((l) => `${l.class} (${l.count})`).join(', ') || 'vide'}.`,
          itemType: 'feature',
          dataType: 'vector',
          crs: SERVED_CRS.map(crsUri),
          storageCrs: crsUri('EPSG:2154'),
          layers: layers.map((l) => ({ name: l.class, count: l.count })),
          organisation: d.organisation,
          visibility: d.visibility,
          links: [
            { href: `${base}/collections/${d.id}`, rel: 'self', type: 'application/json' },
            { href: `${base}/collections/${d.id}/items`, rel: 'items', type: 'application/geo+json', title: 'Objets (GeoJSON)' },
            { href: `${base.replace(/\/ogc$/, '')}/tiles/business/${d.id}/WebMercatorQuad/{z}/{x}/{y}.mvt`, rel: 'item', type: 'application/vnd.mapbox-vector-tile', templated: true, title: 'Tuiles vectorielles (MVT)' },
          ],
        };
        if (boxes.length) {
          const b: [number, number, number, number] = [Math.min(...boxes.map((x) => x[0])), Math.min(...boxes.map((x) => x[1])), Math.max(...boxes.map((x) => x[2])), Math.max(...boxes.map((x) => x[3]))];
          c.extent = { spatial: { bbox: [[...transformBbox('EPSG:2154', 'OGC:CRS84', b)]], crs: CRS84 } };
        }
        out.push(c);
      }
      return out;
    },
  };
}

/**
 * Business data (issue 12): partners' own layers, published by accepted business contributions
 * (`src/contributions/`), served as OGC API Features collections (the features routes of
 * `src/vector/http/ogc-features.ts` resolve a business dataset's id) and vector tiles, each only
 * to whom may read it.
 */
export const businessCapability: Capability = {
  name: 'business',
  summary: 'Business data of partners (hydrants, lighting…): datasets of their own, public or restricted to named organisations, as OGC API Features and vector tiles',
  http({ app, ogc }, ctx) {
    ogc.register(businessProvider(ctx));
    const tags = ['business'];
    app.get(
      '/api/v1/business-datasets',
      { config: { access: 'public' }, schema: { tags, summary: 'The business datasets you may read: owner, visibility, layers, and their OGC API and tile addresses' } },
      async (request) => {
        const base = baseUrl(request, ctx.config);
        const datasets = await readable(ctx, request);
        return {
          datasets: await Promise.all(
            datasets.map(async (d) => ({
              id: d.id,
              title: d.title,
              organisation: d.organisation,
              visibility: d.visibility,
              layers: (await classSummaries(ctx.db, { datasetId: d.id })).map((l) => ({ name: l.class, count: l.count })),
              items: `${base}/ogc/collections/${d.id}/items`,
              tiles: `${base}/tiles/business/${d.id}/WebMercatorQuad/{z}/{x}/{y}.mvt`,
            })),
          ),
        };
      },
    );
    app.get(
      '/tiles/business/:dataset/:tms/:z/:x/:yExt',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: 'A vector tile (MVT) of a business dataset (layer `pcrs`; each object carries its layer and attributes)',
          params: tileParams.extend({ dataset: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/) }),
          querystring: z.looseObject({ version: z.string().max(200).optional() }),
        },
      },
      async (request, reply) => {
        const { dataset, ...tile } = request.params;
        if (!(await new BusinessStore(ctx.db).get(dataset))) throw new UserError('unknown-dataset', `There is no business dataset '${dataset}'.`, { status: 404 });
        return sendVectorTile(ctx, request.caller, reply, tile, dataset, request.query.version);
      },
    );
  },
};
