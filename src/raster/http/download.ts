import { z } from 'zod';
import type { AppContext } from '../../context/app-context.js';
import type { RouteApp } from '../../context/capability.js';
import { findDalleMaster, openMaster, parseRange, servesRange } from '../serving/dalle-download.js';

/**
 * The delivered dalle, byte for byte (the master), from object storage — or from its NAS copy when
 * the object storage has lost it. ETag = its SHA-256; a single byte range for resumed downloads.
 */
export function registerDalleDownload(app: RouteApp, ctx: AppContext): void {
  app.get(
    '/api/datasets/:dataset/versions/:version/dalles/:name/download',
    {
      config: { access: 'public' },
      schema: {
        tags: ['downloads'],
        summary: 'Download a delivered dalle (the master, byte for byte; ranges, ETag = SHA-256)',
        params: z.object({ dataset: z.string().min(1).max(100), version: z.string().min(1).max(200), name: z.string().min(1).max(200) }),
      },
    },
    async (request, reply) => {
      const p = request.params;
      await ctx.access.checkRead(request.caller, { datasetId: p.dataset, version: p.version });
      const master = await findDalleMaster(ctx, p.dataset, p.version, p.name);
      // A permission's perimeter covers the dalle, or the dalle is not for this caller.
      if (request.caller.kind !== 'anonymous') await ctx.access.checkRead(request.caller, { datasetId: p.dataset, version: p.version, bbox: master.bbox });
      const etag = `"${master.sha256}"`;
      reply
        .header('etag', etag)
        .header('cache-control', request.caller.kind === 'anonymous' ? 'public, max-age=86400' : 'private, max-age=86400')
        .header('accept-ranges', 'bytes')
        .header('content-disposition', `attachment; filename="${master.filename}"`)
        .header('repr-digest', `sha-256=:${Buffer.from(master.sha256, 'hex').toString('base64')}:`)
        .type(master.contentType);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      const bytes = master.asset.bytes;
      let range = parseRange(request.headers.range, bytes);
      if (range && range !== 'unsatisfiable' && !servesRange(ctx.tiers, master.asset, range)) range = null;
      if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${bytes}`).send();
      const body = await openMaster(ctx.tiers, master.asset, range ?? undefined);
      if (range) return reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${bytes}`).header('content-length', String(range.end - range.start + 1)).send(body);
      return reply.header('content-length', String(bytes)).send(body);
    },
  );
}
