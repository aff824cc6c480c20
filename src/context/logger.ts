import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config/config.js';

export type { Logger };

/**
 * Paths pino removes from every log line: credentials never reach a log, whatever logs them
 * (request headers, a query's `apikey`, a body's password or token). Beyond these fixed paths,
 * `censorSecrets` removes secret-named fields at any depth (a body logged by a handler, an error's
 * own properties) and secret query values from any URL-like string. Tested in server/logs.test.ts.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-pcrs-admin-token"]',
  'req.headers.apikey',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers.apikey',
  'headers["x-csrf-token"]',
  'headers["x-pcrs-admin-token"]',
  'password',
  '*.password',
  'token',
  '*.token',
  'apikey',
  '*.apikey',
  'secret',
  '*.secret',
];

const CENSOR = '[Redacted]';

/** Field names whose values are secrets, at any depth of a logged object (compared in lower case, `-` and `_` removed). */
const SECRET_FIELDS = new Set(
  ['password', 'passwd', 'secret', 'clientsecret', 'token', 'accesstoken', 'refreshtoken', 'idtoken', 'csrftoken', 'xcsrftoken', 'apikey', 'authorization', 'cookie', 'setcookie', 'xpcrsadmintoken', 'secretkey', 'smtpurl', 'redisurl'],
);

function isSecretField(name: string): boolean {
  return SECRET_FIELDS.has(name.toLowerCase().replace(/[-_]/g, ''));
}

/** Query parameters whose values are secrets (names compared decoded, in lower case). */
const SECRET_QUERY = new Set(['apikey', 'api_key', 'token', 'access_token']);

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/** A URL (or path with a query) with the values of its secret parameters replaced; names are matched decoded (`api%6Bey` is `apikey`). */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return SECRET_QUERY.has(decodedName(name)) ? `${name}=${CENSOR}` : pair;
    })
    .join('&');
  return `${url.slice(0, q + 1)}${redacted}${hash < 0 ? '' : url.slice(hash)}`;
}

/** Strings that may carry a secret query parameter (cheap test before parsing). */
const MAYBE_SECRET_QUERY = /[?&][^=&#]*(?:api|token|%)[^=&#]*=/i;

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of a logged value without its secrets: secret-named fields at any depth, secret query
 * values in strings. Walks plain objects and arrays only (a Fastify request or reply object is left
 * to its serializer), up to a few levels deep.
 */
export function censorSecrets(value: unknown, depth = 0, anyObject = false): unknown {
  if (typeof value === 'string') return MAYBE_SECRET_QUERY.test(value) ? redactUrl(value) : value;
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => censorSecrets(v, depth + 1));
  if (!anyObject && !isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretField(k) && v !== undefined && v !== null ? CENSOR : censorSecrets(v, depth + 1);
  return out;
}

/**
 * The one logger of a process (pino, JSON lines). The server logs to stdout; CLI commands to
 * stderr so that their stdout stays their output (`pcrs token create` prints the key alone).
 */
export function createLogger(config: Pick<Config, 'logLevel'>, options: { destination?: 'stdout' | 'stderr'; name?: string; stream?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: config.logLevel,
      ...(options.name ? { name: options.name } : {}),
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      formatters: {
        log: (object) => censorSecrets(object) as Record<string, unknown>,
      },
      serializers: {
        req(req: { method?: string; url?: string; hostname?: string; ip?: string; id?: string }) {
          return { id: req.id, method: req.method, url: req.url ? redactUrl(req.url) : req.url, host: req.hostname, remoteAddress: req.ip };
        },
        // An error's own properties (a request body attached to it, a URL) are censored too.
        err: (err: Error) => censorSecrets(pino.stdSerializers.err(err), 0, true),
      },
    },
    // `stream`: somewhere else than stdout/stderr (tests read what would be logged).
    options.stream ?? pino.destination({ fd: options.destination === 'stderr' ? 2 : 1, sync: options.destination === 'stderr' }),
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
