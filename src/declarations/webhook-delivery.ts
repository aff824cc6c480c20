import { createHmac } from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { errorMessage, UserError } from '../util/errors.js';
import { PACKAGE_VERSION } from '../util/package-info.js';

/**
 * How a webhook event leaves the platform: the destination check against SSRF (loopback, private,
 * link-local, reserved addresses are refused unless `declarations.webhooks.allowPrivateNetworks`;
 * checked when the URL is registered and again at every connection, on the addresses actually
 * dialled, so a name that later resolves to 10.0.0.1 is refused too), the signature, and one POST
 * with a timeout. Redirects are not followed (a 3xx is a failure).
 */

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24],
  ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['::ffff:0:0', 96], ['::', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 32], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv6');

/** Whether an IP address is loopback, private, link-local, multicast or otherwise not a public destination. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const privateRefusal = (host: string, address: string) =>
  new UserError('private-destination', `${host} is ${host === address ? 'an address' : `resolved to ${address}, an address`} on a loopback, private, link-local or reserved network: webhooks are not sent there.`, {
    status: 400,
    hint: 'Give a public http(s) URL; an operator may allow private networks with declarations.webhooks.allowPrivateNetworks.',
  });

/** The host of a URL without IPv6 brackets. */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Checks a webhook URL when it is registered: http(s), no credentials in it, and (unless allowed) not a private destination. */
export async function checkWebhookUrl(text: string, allowPrivateNetworks: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError('invalid-url', 'The webhook URL is not a valid absolute URL.', { status: 400 });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserError('invalid-url', `A webhook URL must be http:// or https:// (not ${url.protocol.slice(0, 20)}).`, { status: 400 });
  if (url.username || url.password) throw new UserError('invalid-url', 'A webhook URL must not carry credentials: receivers check the X-PCRS-Signature header instead.', { status: 400 });
  if (url.hash) throw new UserError('invalid-url', 'A webhook URL must not have a #fragment.', { status: 400 });
  const host = hostOf(url);
  if (!allowPrivateNetworks) {
    if (isIP(host)) {
      if (isNonPublicAddress(host)) throw privateRefusal(host, host);
    } else {
      // A name that does not resolve now is accepted (delivery checks again, and logs the failure).
      const addresses = await dns.promises.lookup(host, { all: true }).catch(() => []);
      const bad = addresses.find((a) => isNonPublicAddress(a.address));
      if (bad) throw privateRefusal(host, bad.address);
    }
  }
  return url;
}

/** dns.lookup that fails on a non-public address: what the connection dials is what was checked (no DNS rebinding). */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 4);
    const bad = addresses.find((a) => isNonPublicAddress(a.address));
    if (bad) return callback(Object.assign(new Error(privateRefusal(hostname, bad.address).message), { code: 'EPRIVATE' }), '', 4);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 4);
    callback(null, first.address, first.family);
  });
};

/** `sha256=<hex HMAC-SHA-256 of "<timestamp>.<body>">` keyed by the webhook's secret (its UTF-8 bytes). */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface PostResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/**
 * POSTs one event: JSON body, X-PCRS-Event-Id, X-PCRS-Timestamp (Unix seconds), X-PCRS-Signature.
 * Never throws: network errors, timeouts and non-2xx answers come back as a failed result.
 */
export async function postEvent(
  urlText: string,
  event: { id: number; body: string },
  secret: string,
  options: { timeoutMs: number; allowPrivateNetworks: boolean; signal?: AbortSignal },
): Promise<PostResult> {
  const started = performance.now();
  const done = (r: Omit<PostResult, 'durationMs'>): PostResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
  let url: URL;
  try {
    url = new URL(urlText);
    const host = hostOf(url);
    if (!options.allowPrivateNetworks && isIP(host) && isNonPublicAddress(host)) throw privateRefusal(host, host);
  } catch (e) {
    return done({ ok: false, statusCode: null, error: errorMessage(e).slice(0, 500) });
  }
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<PostResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      resolve(done(r));
    };
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      agent: false,
      signal: AbortSignal.any(signals),
      ...(options.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(event.body),
        'user-agent': `pcrs-platform/${PACKAGE_VERSION} (webhooks)`,
        'x-pcrs-event-id': String(event.id),
        'x-pcrs-timestamp': timestamp,
        'x-pcrs-signature': signature(secret, timestamp, event.body),
      },
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      // The answer's body is read (up to a point) and dropped: the connection closes cleanly.
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > 65_536) res.destroy();
      });
      const end = () => finish({ ok: status >= 200 && status < 300, statusCode: status, error: null });
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      const timedOut = signals[0]?.aborted === true;
      const message = timedOut ? `timeout after ${options.timeoutMs / 1000} s` : options.signal?.aborted ? 'stopped (server shutting down)' : `${e.code ? `${e.code}: ` : ''}${e.message}`;
      finish({ ok: false, statusCode: null, error: message.slice(0, 500) });
    });
    req.end(event.body);
  });
}
