import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';

/**
 * The public base URL for links in documents (capabilities, OGC API, TileJSON): the configured
 * `publicUrl`, else what the client used (behind a proxy: X-Forwarded-Proto/Host, trusted).
 */
export function baseUrl(request: FastifyRequest, config: Pick<Config, 'publicUrl'>): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  const host = request.headers['x-forwarded-host'] ?? request.headers.host ?? 'localhost';
  return `${request.protocol}://${String(host).split(',')[0]?.trim()}`;
}

/** The `apikey` query parameter of the request, when the key came that way (QGIS users paste it into URLs). */
export function apiKeyParam(request: FastifyRequest): string | undefined {
  const q = request.query as Record<string, unknown> | undefined;
  const v = q?.apikey ?? q?.APIKEY ?? q?.ApiKey;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `url` with `apikey=` added when the request carried it as a parameter: every advertised URL keeps working for the client. */
export function withApiKey(url: string, request: FastifyRequest): string {
  const key = apiKeyParam(request);
  if (key === undefined) return url;
  const param = `apikey=${encodeURIComponent(key)}`;
  // A KVP endpoint (`…/wmts?`) stays ready for the client's parameters.
  if (url.endsWith('?') || url.endsWith('&')) return `${url}${param}&`;
  return `${url}${url.includes('?') ? '&' : '?'}${param}`;
}

/** Adds the request's `apikey` to every `href` under `base` in a JSON document (OGC API links). */
export function linksWithApiKey<T>(doc: T, request: FastifyRequest, base: string): T {
  if (apiKeyParam(request) === undefined) return doc;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, k === 'href' && typeof x === 'string' && x.startsWith(base) ? withApiKey(x, request) : walk(x)]));
    }
    return v;
  };
  return walk(doc) as T;
}
