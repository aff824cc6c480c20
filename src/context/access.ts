import { UserError } from '../util/errors.js';

/**
 * Who acts, and what a request needs — without any HTTP type, so that services and jobs can take a
 * caller too. The HTTP side (src/http/access.ts) turns a request into `Credentials`, asks the
 * policy who the caller is, and checks the route's declared `AccessNeed`.
 */

/** Platform roles (DESIGN.md §2). A caller holds the union of its roles. */
export const ROLES = ['platform-admin', 'moderator', 'org-admin', 'member', 'contractor', 'technical'] as const;
export type Role = (typeof ROLES)[number];

/** What an API key may be used for; a signed-in user (session) acts with every scope of its roles. */
export const SCOPES = ['read', 'downloads', 'declarations:write', 'contributions:write', 'archive:restore', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Caller {
  /** 'operator': the CLI on the server's machine (shell access is the credential). */
  kind: 'anonymous' | 'operator' | 'user' | 'key';
  /** Stable identity for logs, audit and "requested by" fields: 'anonymous', 'operator', 'user:12', 'key:7'. */
  id: string;
  /** Human-readable name (an e-mail for users), for messages and notifications. */
  label: string;
  roles: ReadonlySet<Role>;
  /** Scopes the credential carries; null = not limited by scopes (sessions, the operator). */
  scopes: ReadonlySet<Scope> | null;
  userId?: number;
  keyId?: number;
  /** Organisations the caller acts for: its active memberships (a key: its one organisation, if set). */
  organisationIds?: readonly number[];
  /** Set when the caller was identified by a session cookie: its writes must carry this CSRF token. */
  session?: { id: number; csrfToken: string };
}

export const ANONYMOUS: Caller = Object.freeze({ kind: 'anonymous', id: 'anonymous', label: 'anonymous', roles: new Set<Role>(), scopes: new Set<Scope>() });

/** The CLI run by an operator on the server's machine: every role, every scope. */
export const OPERATOR: Caller = Object.freeze({ kind: 'operator', id: 'operator', label: 'operator', roles: new Set<Role>(ROLES), scopes: null });

/** Sees and does what a platform administrator does: the operator's CLI, or a caller with the role. */
export const isPlatformAdmin = (caller: Caller): boolean => caller.kind === 'operator' || caller.roles.has('platform-admin');

/**
 * What a route needs, declared on every route (a test walks the route table to prove none is
 * undeclared):
 * - `'public'`: anyone; what the answer contains may still depend on the caller (`checkRead`).
 * - `{ signedIn: true }`: any authenticated caller (optionally with a key scope).
 * - `{ roles: [...] }`: a caller holding one of the roles (and the scope, for keys).
 */
export type AccessNeed = 'public' | { signedIn: true; scope?: Scope } | { roles: readonly Role[]; scope?: Scope };

/** What a request presents, taken from headers, query and cookies by the HTTP layer. */
export interface Credentials {
  /** `Authorization: Bearer …`, `apikey` header or `apikey` query parameter. */
  apiKey?: string;
  /** Session cookie value (`pcrs_session`). */
  session?: string;
  /** `X-CSRF-Token` header, compared with the session's token on writes. */
  csrfToken?: string;
  ip?: string;
  referer?: string;
}

/** What a request asks to read: a dataset, optionally one version (else the current layer). */
export interface ReadTarget {
  datasetId: string;
  version?: string;
  /** The area read (a tile's, a map's or a feature's extent) in Lambert-93, checked against permission perimeters. */
  bbox?: readonly [number, number, number, number];
}

/**
 * The `bbox` of a read that is not limited to an area (a WFS GetFeature or OGC items without bbox, an
 * export by polygon): only a permission without perimeter covers it.
 */
export const WHOLE_AREA: readonly [number, number, number, number] = Object.freeze([-Infinity, -Infinity, Infinity, Infinity]) as readonly [number, number, number, number];

/** Who may read what, and who the caller is. One instance per process, in the AppContext. */
export interface AccessPolicy {
  /** The caller behind these credentials; throws 401/403 (UserError) for bad ones. */
  identify(credentials: Credentials): Promise<Caller>;
  /** Throws 401/403 (with the reason: no permission, outside the perimeter, past its end date) when the caller may not read the target. */
  checkRead(caller: Caller, target: ReadTarget): Promise<void>;
  /** Whether the caller may read the target (listings: capabilities, catalogue, collections show only these). */
  canRead(caller: Caller, target: ReadTarget): Promise<boolean>;
  /**
   * Forget what is cached about these (on every node): called after a sign-out, a role, membership,
   * key, permission or visibility change, so that the change holds at the next request.
   */
  invalidate(what: { userId?: number; keyId?: number; all?: boolean }): Promise<void>;
  /** Writes what it holds in memory (usage counters) and stops listening; the server calls it on close. */
  close?(): Promise<void>;
}

/**
 * Throws 401/403 unless the caller meets the need. A key never exceeds its scopes: a need naming a
 * scope needs that scope, and a need naming roles without a scope needs the key's `admin` scope.
 */
export function requireNeed(caller: Caller, need: AccessNeed): void {
  if (need === 'public') return;
  if (caller.kind === 'anonymous') {
    throw new UserError('unauthenticated', 'This resource needs you to be signed in or to present an API key.', { status: 401, hint: 'Send an API key (Authorization: Bearer …, or the apikey parameter).' });
  }
  if ('roles' in need && !need.roles.some((r) => caller.roles.has(r))) {
    throw new UserError('forbidden', `This resource needs one of the roles: ${need.roles.join(', ')}.`, { status: 403 });
  }
  const scope: Scope | undefined = need.scope ?? ('roles' in need ? 'admin' : undefined);
  if (scope && caller.scopes !== null && !caller.scopes.has(scope)) {
    throw new UserError('missing-scope', `This API key lacks the scope '${scope}'.`, { status: 403, hint: `Create a key with the scope ${scope}.` });
  }
}

/** Open data for tests that need no identity: every layer readable, every caller anonymous. */
export function openDataPolicy(): AccessPolicy {
  return {
    async identify() {
      return ANONYMOUS;
    },
    async checkRead() {
      // Open data: nothing to check.
    },
    async canRead() {
      return true;
    },
    async invalidate() {
      // Nothing cached.
    },
  };
}
