import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Caller } from '../../context/access.js';
import type { AppContext } from '../../context/app-context.js';
import type { RouteApp } from '../../context/capability.js';
import { transformBbox } from '../../grid/crs.js';
import { getTileMatrixSet, tileBbox } from '../../grid/tile-matrix-set.js';
import { baseUrl } from '../../http/base-url.js';
import { UserError } from '../../util/errors.js';
import { defaultStyle, vectorTile } from '../mvt.js';
import { VECTOR_DATASET } from '../store.js';

/** Vector tiles (MVT) of the PCRS in both tile matrix sets, and their style. */
export function registerMvtRoutes(app: RouteApp, ctx: AppContext): void {
  const tags = ['vector'];
  app.get(
    '/tiles/vector/style.json',
    { config: { access: 'public' }, schema: { tags, summary: 'Mapbox GL style of the vector tiles (one colour per thématique)', querystring: z.object({ tms: z.string().max(40).optional() }) } },
    async (request) => {
    const q = request.query;
    return defaultStyle(baseUrl(request, ctx.config), q.tms === '2154_5cm' ? '2154_5cm' : 'WebMercatorQuad');
  },
  );
  app.get(
    '/tiles/vector/:tms/:z/:x/:yExt',
    {
      config: { access: 'public', usage: 'vector-tiles' },
      schema: {
        tags,
        summary: 'A vector tile (MVT) of the PCRS',
        params: tileParams,
        querystring: z.looseObject({ version: z.string().max(200).optional() }),
      },
    },
    async (request, reply) => sendVectorTile(ctx, request.caller, reply, request.params, VECTOR_DATASET, request.query.version),
  );
}

export const tileParams = z.object({ tms: z.string().max(40), z: z.string().max(10), x: z.string().max(20), yExt: z.string().max(30) });

/**
 * Answers one vector tile `{tms}/{z}/{x}/{y}.mvt` of a dataset (the PCRS, or a business dataset) —
 * after the caller's right to read that area — for every vector tile route.
 */
export async function sendVectorTile(ctx: AppContext, caller: Caller, reply: FastifyReply, p: z.infer<typeof tileParams>, datasetId: string, version: string | undefined): Promise<FastifyReply> {
  const m = /^(\d+)\.(mvt|pbf)$/.exec(p.yExt);
  const z = Number(p.z);
  const x = Number(p.x);
  if (!m || !Number.isInteger(z) || !Number.isInteger(x)) throw new UserError('invalid-tile', 'Tile URL is …/{tms}/{z}/{x}/{y}.mvt with integers.', { status: 400 });
  const tms = getTileMatrixSet(p.tms);
  let area: [number, number, number, number] | undefined;
  try {
    const b = tileBbox(tms, z, x, Number(m[1]));
    area = (tms.crs === 'EPSG:2154' ? b : transformBbox(tms.crs, 'EPSG:2154', b, 2)) as [number, number, number, number];
  } catch {
    area = undefined;
  }
  await ctx.access.checkRead(caller, { datasetId, ...(version ? { version } : {}), ...(area ? { bbox: area } : {}) });
  const versionId = version ? (await ctx.catalog.getVersion(datasetId, version)).id : undefined;
  let body: Uint8Array;
  try {
    body = await vectorTile(ctx, tms, z, x, Number(m[1]), versionId, datasetId);
  } catch (e) {
    if (e instanceof UserError && e.code === 'tile-out-of-range') throw new UserError(e.code, e.message, { status: 404 });
    throw e;
  }
  // What an identified caller reads may be restricted: never left in a shared cache (as the raster tiles).
  return reply.type('application/vnd.mapbox-vector-tile').header('Cache-Control', caller.kind === 'anonymous' ? 'public, max-age=300' : 'private, max-age=300').send(Buffer.from(body));
}
