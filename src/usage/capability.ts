import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Capability } from '../context/capability.js';
import type { UsageService as ServiceName } from '../http/usage.js';
import { startLeasedLoop } from '../jobs/leases.js';
import { statsCommand } from './cli.js';
import { registerUsageRoutes } from './routes.js';
import { UsageService } from './service.js';

/** Layer names are counted as asked only when the answer succeeded (a 404 on a made-up layer adds no label). */
const MAX_LAYER = 100;

/** The layer a request asked for, from its route parameters or OGC query (LAYERS, TYPENAMES…), when the handler did not say. */
function askedLayer(request: FastifyRequest): string {
  const params = request.params as Record<string, unknown> | undefined;
  const fromParams = params?.['layer'] ?? params?.['collectionId'] ?? params?.['dataset'];
  if (typeof fromParams === 'string') return fromParams;
  const query = request.query as Record<string, unknown> | undefined;
  if (!query) return '';
  for (const [k, v] of Object.entries(query)) {
    if (typeof v === 'string' && /^(layers?|typenames?|collections?)$/i.test(k)) return v;
  }
  return '';
}

function serviceOf(request: FastifyRequest): ServiceName {
  const declared = request.routeOptions.config?.usage;
  if (declared) return declared;
  if (request.url.startsWith('/api/')) return 'api';
  if (request.url.startsWith('/ogc')) return 'ogc-api';
  return 'other';
}

/** Bytes of the answer's body: its Content-Length (none sent for HEAD, 304 and 204). */
function bytesOf(request: FastifyRequest, reply: FastifyReply): number {
  if (request.method === 'HEAD' || reply.statusCode === 304 || reply.statusCode === 204) return 0;
  const length = Number(reply.getHeader('content-length'));
  return Number.isFinite(length) && length > 0 ? length : 0;
}

/**
 * Usage statistics (issue 15): every answer counted per day × service × layer × organisation × key ×
 * status class, with its bytes, in memory (ctx.usage) and written in batches; tiles also counted
 * where they lie (the heat map). `GET /api/v1/stats`, `/api/v1/stats/areas`, `pcrs stats`.
 */
export const usageCapability: Capability = {
  name: 'usage',
  summary: 'Usage counters (per day, service, layer, organisation, key, status) written in batches; statistics API, heat map and pcrs stats',
  http(server, ctx) {
    const service = new UsageService(ctx);
    server.app.decorateRequest('usageNote', null);
    // A callback hook, not an async one: no promise per answer on the tile path.
    const countAnswer = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const note = request.usageNote;
      const ok = reply.statusCode < 400;
      const layer = ok ? (note?.layer ?? askedLayer(request)).slice(0, MAX_LAYER) : '';
      const caller = request.caller;
      ctx.usage.count(
        {
          service: serviceOf(request),
          layer,
          organisationId: caller?.organisationIds?.[0] ?? null,
          keyId: caller?.keyId ?? null,
          status: reply.statusCode,
        },
        bytesOf(request, reply),
      );
      if (ok && note?.tile) ctx.usage.countTile(note.tile.tms, note.tile.z, note.tile.col, note.tile.row);
      done();
    };
    if (ctx.config.usage.enabled) server.app.addHook('onResponse', countAnswer);
    registerUsageRoutes(server.app, service);
    // A graceful stop writes what this node counted.
    server.onClose(() => ctx.usage.flush());
    server.onListen(() =>
      startLeasedLoop(ctx.db, {
        name: 'usage-retention',
        everySeconds: 6 * 3600,
        leaseSeconds: 600,
        log: ctx.log,
        run: async () => {
          const gone = await service.purge();
          if (gone.daily + gone.monthly + gone.areas > 0) ctx.log.info(gone, 'usage counters past their retention deleted');
          return true;
        },
      }),
    );
  },
  commands: [statsCommand],
  configKeys: ['usage'],
};
