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
