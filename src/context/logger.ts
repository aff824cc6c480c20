import pino, { type Logger } from 'pino';
import type { Config } from '../config/config.js';

export type { Logger };

/**
 * Paths pino removes from every log line: credentials never reach a log, whatever logs them
 * (request headers, a query's `apikey`, a body's password or token). Tested in logger.test.ts.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-pcrs-admin-token"]',
  'req.headers.apikey',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'token',
  '*.token',
  'apikey',
  '*.apikey',
  'secret',
  '*.secret',
];

/** Query parameters whose values are secrets; removed from logged URLs. */
const SECRET_QUERY = /([?&](?:apikey|api_key|token|access_token)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[Redacted]');
}

/**
 * The one logger of a process (pino, JSON lines). The server logs to stdout; CLI commands to
 * stderr so that their stdout stays their output (`pcrs token create` prints the key alone).
 */
export function createLogger(config: Pick<Config, 'logLevel'>, options: { destination?: 'stdout' | 'stderr'; name?: string } = {}): Logger {
  return pino(
    {
      level: config.logLevel,
      ...(options.name ? { name: options.name } : {}),
      redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
      serializers: {
        req(req: { method?: string; url?: string; hostname?: string; ip?: string; id?: string }) {
          return { id: req.id, method: req.method, url: req.url ? redactUrl(req.url) : req.url, host: req.hostname, remoteAddress: req.ip };
        },
        err: pino.stdSerializers.err,
      },
    },
    pino.destination({ fd: options.destination === 'stderr' ? 2 : 1, sync: options.destination === 'stderr' }),
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
