import { timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { Config } from '../config/config.js';
import { ANONYMOUS, type AccessPolicy, type Caller, type Credentials, type ReadTarget, type Role, type Scope } from '../context/access.js';
import type { Logger } from '../context/logger.js';
import type { Database } from '../db/database.js';
import { UserError } from '../util/errors.js';
import { sha256Hex } from '../util/hash.js';
import { parseKey, secretMatches } from './keys.js';
import { touches } from './perimeter.js';
import { serverSecret } from './server-secret.js';
import { AccessStore, type KeyRecord, type PermissionRecord, type SessionRecord, type UserRecord, type VisibilityRecord } from './store.js';

/** How often the visibility of a version seen unpublished is read again (it may have been published since). */
const UNPUBLISHED_RECHECK_MS = 1000;

/** The PostgreSQL channel on which every node hears what to forget. */
export const ACCESS_CHANNEL = 'pcrs_access';

export interface PolicyOptions {
  /** Life of a cached key, session, user, permission list or visibility table (ms). Invalidation by NOTIFY is immediate; the TTL bounds a missed one. */
  ttlMs?: number;
  /** How often counted key use and session activity are written (ms). */
  flushMs?: number;
  /** A session's expiry slides at most this often (ms): one write per session per period, not per request. */
  sessionTouchMs?: number;
  log?: Pick<Logger, 'warn' | 'error'>;
}

interface Cached<T> {
  at: number;
  value: T;
}

interface KeyEntry {
  rec: KeyRecord;
  caller: Caller | null;
  /** null: no CIDR restriction. */
  cidrs: BlockList | null;
  referers: RegExp[];
  /**
   * The secret last verified against the stored HMAC, kept while the entry lives (TTL, dropped on
   * any change): later requests compare with it in constant time instead of computing the HMAC
   * again (an HMAC per tile was ~2.5 % of keyed serving).
   */
  verified?: Buffer;
}

const READERS: readonly Role[] = ['platform-admin', 'technical'];

const unauthenticated = (code: string, message: string) =>
  new UserError(code, message, { status: 401, hint: 'Create a key in the portal (Mes clés) or with `pcrs token create`, and send it as Authorization: Bearer, the apikey header or the apikey parameter.' });

function refererPattern(p: string): RegExp {
  const escaped = p.trim().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  // Without a scheme, a pattern names hosts (example.fr, *.example.fr): any scheme, any path.
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(p) ? new RegExp(`^${escaped}$`, 'i') : new RegExp(`^[a-z][a-z0-9+.-]*://${escaped}(?::\\d+)?(?:[/?#].*)?$`, 'i');
}

function blockListOf(cidrs: readonly string[]): BlockList | null {
  if (cidrs.length === 0) return null;
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const type = isIP(addr ?? '');
    if (type === 0) continue;
    const family = type === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr as string, family);
    else list.addSubnet(addr as string, Number(bits), family);
  }
  return list;
}

function ipAllowed(list: BlockList, ip: string | undefined): boolean {
  if (!ip) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v = mapped ? (mapped[1] as string) : ip;
  const type = isIP(v);
  return type !== 0 && list.check(v, type === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The platform's access policy: callers identified by API key or session cookie, reads checked
 * against visibility and permissions (perimeter, end date). Everything it reads is cached for a
 * short TTL and forgotten at once on every node when it changes (NOTIFY on `pcrs_access`, which
 * `invalidate` sends): a known key costs no database round trip per tile. Key use is counted in
 * memory and written in batches.
 */
export class PlatformAccessPolicy implements AccessPolicy {
  readonly store: AccessStore;
  private readonly ttlMs: number;
  private readonly sessionTouchMs: number;
  private secretValue: Buffer | null = null;
  private readonly keys = new Map<string, Cached<KeyEntry | null>>();
  private readonly users = new Map<number, Cached<UserRecord | null>>();
  private readonly sessions = new Map<string, Cached<SessionRecord | null> & { caller?: Caller }>();
  private permissionCache: Cached<PermissionRecord[]> | null = null;
  private visibilityCache: Cached<VisibilityRecord & { restrictedVersionsOf: Set<string> }> | null = null;
  /** Organisations whose permissions a caller holds (active memberships other than contractor; a key's one organisation). */
  private readonly grantOrgs = new WeakMap<Caller, readonly number[]>();
  private usage = new Map<number, { count: number; last: Date }>();
  private touches = new Set<number>();
  private listening: Promise<void> | null = null;
  private stopListening: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly config: Pick<Config, 'secretKey' | 'dataDir' | 'auth'>,
    private readonly options: PolicyOptions = {},
  ) {
    this.store = new AccessStore(db);
    this.ttlMs = options.ttlMs ?? 30_000;
    this.sessionTouchMs = options.sessionTouchMs ?? 60_000;
  }

  /** The server secret keying key hashes (read or generated on first use). */
  get secret(): Buffer {
    this.secretValue ??= serverSecret(this.config);
    return this.secretValue;
  }

  // ---- invalidation across nodes -----------------------------------------------------------

  /** Starts hearing the other nodes (once, on first use), and the flush timer. */
  private start(): Promise<void> {
    if (this.listening) return this.listening;
    this.closed = false;
    this.timer = setInterval(() => void this.flush(), this.options.flushMs ?? 5000);
    this.timer.unref();
    this.listening = this.db
      .listen(ACCESS_CHANNEL, (payload) => this.forget(payload), () => this.forget('all'))
      .then((stop) => {
        if (this.closed) void stop();
        else this.stopListening = stop;
      })
      .catch((e: unknown) => {
        // Without notifications the TTL still bounds how long a change takes to hold.
        this.options.log?.warn({ err: e }, `cannot LISTEN on ${ACCESS_CHANNEL}: access changes reach this node within the cache TTL only`);
      });
    return this.listening;
  }

  /** Drops what a message names: 'all', 'user:<id>', 'key:<id>'. */
  private forget(message: string): void {
    const [kind, idText] = message.split(':');
    const id = Number(idText);
    if (kind === 'key' && Number.isInteger(id)) {
      for (const [prefix, e] of this.keys) if (e.value?.rec.id === id) this.keys.delete(prefix);
      return;
    }
    if (kind === 'user' && Number.isInteger(id)) {
      this.users.delete(id);
      for (const [prefix, e] of this.keys) if (e.value?.rec.userId === id) this.keys.delete(prefix);
      for (const [hash, e] of this.sessions) if (e.value?.userId === id) this.sessions.delete(hash);
      return;
    }
    this.keys.clear();
    this.users.clear();
    this.sessions.clear();
    this.permissionCache = null;
    this.visibilityCache = null;
  }

  async invalidate(what: { userId?: number; keyId?: number; all?: boolean }): Promise<void> {
    const messages = [
      ...(what.all ? ['all'] : []),
      ...(what.userId !== undefined ? [`user:${what.userId}`] : []),
      ...(what.keyId !== undefined ? [`key:${what.keyId}`] : []),
    ];
    if (messages.length === 0) messages.push('all');
    // Here at once; elsewhere as soon as the notification arrives.
    for (const m of messages) this.forget(m);
    for (const m of messages) await this.db.query('SELECT pg_notify($1, $2)', [ACCESS_CHANNEL, m]);
  }

  // ---- identity ----------------------------------------------------------------------------

  async identify(credentials: Credentials): Promise<Caller> {
    await this.start();
    if (credentials.apiKey !== undefined) return this.identifyKey(credentials.apiKey, credentials);
    if (credentials.session !== undefined) return this.identifySession(credentials.session);
    return ANONYMOUS;
  }

  private fresh<T>(c: Cached<T> | null | undefined): c is Cached<T> {
    return c !== null && c !== undefined && Date.now() - c.at < this.ttlMs;
  }

  private async user(id: number): Promise<UserRecord | null> {
    const c = this.users.get(id);
    if (this.fresh(c)) return c.value;
    const value = await this.store.user(id);
    this.users.set(id, { at: Date.now(), value });
    return value;
  }

  private async keyEntry(prefix: string): Promise<KeyEntry | null> {
    const c = this.keys.get(prefix);
    if (this.fresh(c)) return c.value;
    const rec = await this.store.keyByPrefix(prefix);
    const value: KeyEntry | null = rec ? { rec, caller: null, cidrs: blockListOf(rec.allowedCidrs), referers: rec.allowedReferers.map(refererPattern) } : null;
    // Unknown prefixes are remembered too (a flood of made-up keys costs no query each); bounded.
    if (this.keys.size > 100_000) this.keys.clear();
    this.keys.set(prefix, { at: Date.now(), value });
    return value;
  }

  private secretOk(entry: KeyEntry, secret: string): boolean {
    const given = Buffer.from(secret);
    if (entry.verified && entry.verified.length === given.length && timingSafeEqual(entry.verified, given)) return true;
    if (!secretMatches(this.secret, secret, entry.rec.secretHash)) return false;
    entry.verified = given;
    return true;
  }

  private async identifyKey(text: string, credentials: Credentials): Promise<Caller> {
    const parsed = parseKey(text);
    if (!parsed) throw unauthenticated('invalid-key', 'This API key is malformed: a key looks like pcrs_<12 characters>_<43 characters>.');
    const entry = await this.keyEntry(parsed.prefix);
    if (!entry || !this.secretOk(entry, parsed.secret)) throw unauthenticated('invalid-key', 'This API key is unknown.');
    const rec = entry.rec;
    if (rec.revokedAt !== null) throw unauthenticated('key-revoked', 'This API key has been revoked.');
    if (rec.expiresAt !== null && rec.expiresAt <= Date.now()) throw unauthenticated('key-expired', `This API key expired on ${new Date(rec.expiresAt).toISOString().slice(0, 10)}.`);
    const user = await this.user(rec.userId);
    if (!user || user.disabled) throw unauthenticated('invalid-key', 'The account of this API key is disabled.');
    if (entry.cidrs && !ipAllowed(entry.cidrs, credentials.ip)) {
      throw new UserError('ip-not-allowed', `This API key may not be used from ${credentials.ip ?? 'an unknown address'}.`, { status: 403, hint: 'Use it from an allowed network, or change its allowed CIDRs.' });
    }
    if (entry.referers.length > 0 && !(credentials.referer !== undefined && entry.referers.some((r) => r.test(credentials.referer as string)))) {
      throw new UserError('referer-not-allowed', 'This API key may not be used from this page (Referer).', { status: 403, hint: 'Use it from an allowed site, or change its allowed Referers.' });
    }
    if (!entry.caller) {
      const memberships = rec.organisationId === null ? user.memberships : user.memberships.filter((m) => m.organisationId === rec.organisationId);
      const caller: Caller = Object.freeze({
        kind: 'key',
        id: `key:${rec.id}`,
        label: user.email,
        roles: new Set<Role>([...user.platformRoles, ...memberships.map((m) => m.role)]),
        scopes: new Set<Scope>(rec.scopes),
        userId: user.id,
        keyId: rec.id,
        organisationIds: memberships.map((m) => m.organisationId),
      });
      this.grantOrgs.set(caller, memberships.filter((m) => m.role !== 'contractor').map((m) => m.organisationId));
      entry.caller = caller;
    }
    this.countUse(rec.id);
    return entry.caller;
  }

  private async identifySession(cookie: string): Promise<Caller> {
    if (cookie.length > 200) return ANONYMOUS;
    const hash = sha256Hex(cookie);
    let c = this.sessions.get(hash);
    if (!this.fresh(c)) {
      c = { at: Date.now(), value: await this.store.sessionByHash(hash) };
      if (this.sessions.size > 100_000) this.sessions.clear();
      this.sessions.set(hash, c);
    }
    const s = c.value;
    const now = Date.now();
    // A stale or unknown cookie is no credential: the request goes on as anonymous (public pages still work).
    if (!s || s.expiresAt <= now) return ANONYMOUS;
    const user = await this.user(s.userId);
    if (!user || user.disabled) return ANONYMOUS;
    if (now - s.lastSeenAt > this.sessionTouchMs) {
      s.lastSeenAt = now;
      s.expiresAt = now + this.config.auth.sessionTtlHours * 3_600_000;
      this.touches.add(s.id);
    }
    if (!c.caller) {
      const caller: Caller = Object.freeze({
        kind: 'user',
        id: `user:${user.id}`,
        label: user.email,
        roles: new Set<Role>([...user.platformRoles, ...user.memberships.map((m) => m.role)]),
        scopes: null,
        userId: user.id,
        organisationIds: user.memberships.map((m) => m.organisationId),
        session: { id: s.id, csrfToken: s.csrfToken },
      });
      this.grantOrgs.set(caller, user.memberships.filter((m) => m.role !== 'contractor').map((m) => m.organisationId));
      c.caller = caller;
    }
    return c.caller;
  }

  // ---- usage, in batches -------------------------------------------------------------------

  private countUse(keyId: number): void {
    const u = this.usage.get(keyId);
    if (u) {
      u.count++;
      u.last = new Date();
    } else this.usage.set(keyId, { count: 1, last: new Date() });
  }

  /** Writes counted key use and session activity (timer, and on close). */
  async flush(): Promise<void> {
    const usage = this.usage;
    const touched = this.touches;
    this.usage = new Map();
    this.touches = new Set();
    try {
      await this.store.addKeyUsage([...usage].map(([id, u]) => ({ id, count: u.count, last: u.last })));
      await this.store.touchSessions([...touched], this.config.auth.sessionTtlHours);
    } catch (e) {
      // Keep the counts for the next flush.
      for (const [id, u] of usage) {
        const now = this.usage.get(id);
        this.usage.set(id, now ? { count: now.count + u.count, last: now.last > u.last ? now.last : u.last } : u);
      }
      for (const id of touched) this.touches.add(id);
      if (!this.closed) this.options.log?.warn({ err: e }, 'cannot write API key usage; will retry');
    }
  }

  /** Writes the counters and stops listening (a later use starts again). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const listening = this.listening;
    this.listening = null;
    await listening;
    this.closed = true;
    await this.flush();
    await this.stopListening?.();
    this.stopListening = null;
  }

  // ---- reads -------------------------------------------------------------------------------

  private async visibility(): Promise<VisibilityRecord & { restrictedVersionsOf: Set<string> }> {
    if (this.fresh(this.visibilityCache)) return this.visibilityCache.value;
    const v = await this.store.visibility();
    const restrictedVersionsOf = new Set<string>();
    for (const [key, ver] of v.versions) {
      if (ver.status === 'published' && ver.visibility === 'restricted') restrictedVersionsOf.add(key.slice(0, key.indexOf('/')));
    }
    const value = { ...v, restrictedVersionsOf };
    this.visibilityCache = { at: Date.now(), value };
    return value;
  }

  private async permissions(): Promise<PermissionRecord[]> {
    if (this.fresh(this.permissionCache)) return this.permissionCache.value;
    const value = await this.store.livePermissions();
    this.permissionCache = { at: Date.now(), value };
    return value;
  }

  /** Whether the target is restricted: its version's visibility, else its dataset's; unpublished versions always. */
  async isRestricted(target: Pick<ReadTarget, 'datasetId' | 'version'>): Promise<boolean> {
    let vis = await this.visibility();
    const key = `${target.datasetId}/${target.version}`;
    // A version (or dataset) made since the table was read — an unpublished one being built or staged — is
    // read afresh, never taken for public by default; so is one that was not published then (a campaign's,
    // a contribution's: published since, perhaps), at most once a second.
    const stale =
      target.version !== undefined &&
      (!vis.versions.has(key) || (vis.versions.get(key)?.status !== 'published' && Date.now() - (this.visibilityCache?.at ?? 0) > UNPUBLISHED_RECHECK_MS));
    if (stale || !vis.datasets.has(target.datasetId)) {
      this.visibilityCache = null;
      vis = await this.visibility();
    }
    const dataset = vis.datasets.get(target.datasetId);
    if (dataset === undefined) return false;
    if (target.version === undefined) return dataset === 'restricted' || vis.restrictedVersionsOf.has(target.datasetId);
    const v = vis.versions.get(key);
    if (!v) return dataset === 'restricted';
    if (v.status !== 'published') return true;
    return (v.visibility ?? dataset) === 'restricted';
  }

  async checkRead(caller: Caller, target: ReadTarget): Promise<void> {
    await this.start();
    if (!(await this.isRestricted(target))) return;
    const what = `${target.datasetId}${target.version ? `/${target.version}` : ''}`;
    if (caller.kind === 'anonymous') throw unauthenticated('unauthenticated', `${what} is restricted: present an API key or sign in.`);
    if (caller.kind === 'operator') return;
    if (caller.scopes !== null && !caller.scopes.has('read')) {
      throw new UserError('missing-scope', "This API key lacks the scope 'read'.", { status: 403, hint: 'Create a key with the scope read.' });
    }
    if (READERS.some((r) => caller.roles.has(r))) return;
    const orgs = this.grantOrgs.get(caller) ?? [];
    const matching = (await this.permissions()).filter(
      (p) =>
        p.datasetId === target.datasetId &&
        (p.versionName === null || p.versionName === target.version) &&
        ((p.userId !== null && p.userId === caller.userId) || (p.organisationId !== null && orgs.includes(p.organisationId))),
    );
    if (matching.length === 0) throw new UserError('no-permission', `${what} is restricted and you hold no permission to read it.`, { status: 403, hint: 'Ask your organisation admin or a platform admin for a permission.' });
    const now = Date.now();
    const live = matching.filter((p) => p.validUntil === null || p.validUntil > now);
    if (live.length === 0) {
      const last = Math.max(...matching.map((p) => p.validUntil ?? 0));
      throw new UserError('permission-expired', `Your permission to read ${what} ended on ${new Date(last).toISOString().slice(0, 10)}.`, { status: 403, hint: 'Ask for its renewal.' });
    }
    const bbox = target.bbox;
    if (!bbox || live.some((p) => p.perimeter === null)) return;
    if (!bbox.every(Number.isFinite)) {
      throw new UserError('outside-perimeter', `This request reads ${what} beyond any area, and your permission is limited to a perimeter (permission ${live.map((p) => p.id).join(', ')}).`, {
        status: 403,
        hint: 'Ask for an area within your perimeter (bbox).',
      });
    }
    if (live.some((p) => p.perimeter !== null && touches(p.perimeter, bbox))) return;
    throw new UserError('outside-perimeter', `This area lies outside the perimeter of your permission${live.length > 1 ? 's' : ''} to read ${what} (permission ${live.map((p) => p.id).join(', ')}).`, {
      status: 403,
      hint: 'Ask within your works area, or for a wider perimeter.',
    });
  }

  async canRead(caller: Caller, target: ReadTarget): Promise<boolean> {
    try {
      await this.checkRead(caller, target);
      return true;
    } catch (e) {
      if (e instanceof UserError) return false;
      throw e;
    }
  }
}
