import type { FastifyReply } from 'fastify';
import { ows10ExceptionReport, owsExceptionReport, toOgcError, wmsExceptionReport, type OwsService } from '../ogc/ows-exception.js';

/** Answers an OGC service's exception report (the route's `config.ows` says which service). */
export function sendOgcError(reply: FastifyReply, e: unknown, kind: OwsService): FastifyReply {
  const err = toOgcError(e);
  if (err.status >= 500) reply.log.error({ err: e }, `${kind} request failed`);
  return reply
    .code(err.status)
    .header('content-type', kind === 'wms' ? 'application/vnd.ogc.se_xml; charset=utf-8' : 'application/xml; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(kind === 'wms' ? wmsExceptionReport(err) : kind === 'csw' ? ows10ExceptionReport(err) : owsExceptionReport(err, kind === 'wfs' ? '2.0.0' : '1.0.0'));
}

/** KVP parameters with case-insensitive names (OGC KVP: names are case-insensitive, values are not): upper-cased names. */
export function kvp(query: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (query && typeof query === 'object') {
    for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
      const value = Array.isArray(v) ? v[0] : v;
      if (typeof value === 'string') out.set(k.toUpperCase(), value);
    }
  }
  return out;
}
