import type { AppContext } from '../context/app-context.js';
import { SCOPES, type Caller, type Scope } from '../context/access.js';
import { UserError } from '../util/errors.js';
import { perimeterInput } from './perimeter.js';
import { serverSecret } from './server-secret.js';
import { AccessStore, type ApiKey, type Permission } from './store.js';

/**
 * What the access capability does, for the HTTP routes and the CLI alike: each act checks who may
 * do it, writes, records itself in the audit log (same transaction) and makes every node forget
 * what it cached about it.
 */
export type AccessContext = Pick<AppContext, 'db' | 'config' | 'access' | 'audit'>;

export interface CreateKeyInput {
  name: string;
  scopes: readonly string[];
  organisation?: string | undefined;
  /** 'YYYY-MM-DD': the key works until the end of that day (UTC). */
  expiresAt?: string | undefined;
  allowedCidrs?: readonly string[] | undefined;
  allowedReferers?: readonly string[] | undefined;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** End of day `YYYY-MM-DD` (UTC), which must be a real date after now. */
export function endOfDay(text: string, what: string): Date {
  const d = new Date(`${text}T00:00:00Z`);
  if (!DATE.test(text) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== text) {
    throw new UserError('invalid-date', `${what} must be a date YYYY-MM-DD, got '${text.slice(0, 40)}'.`, { status: 400, exitCode: 64 });
  }
  const end = new Date(d.getTime() + 86_400_000);
  if (end.getTime() <= Date.now()) throw new UserError('invalid-date', `${what} ${text} is in the past.`, { status: 400, exitCode: 64 });
  return end;
}

function checkCidr(c: string): void {
  const m = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/.exec(c);
  const ok = m && (m[1]?.includes(':') ? Number(m[2] ?? 128) <= 128 : /^(\d{1,3}\.){3}\d{1,3}$/.test(m[1] ?? '') && (m[1] ?? '').split('.').every((o) => Number(o) <= 255) && Number(m[2] ?? 32) <= 32);
  if (!ok) throw new UserError('invalid-cidr', `'${c.slice(0, 60)}' is not an IP address or CIDR block (203.0.113.0/24, 2001:db8::/32).`, { status: 400, exitCode: 64 });
}

export function parseScopes(scopes: readonly string[]): Scope[] {
  if (scopes.length === 0) throw new UserError('invalid-scope', `Give at least one scope: ${SCOPES.join(', ')}.`, { status: 400, exitCode: 64 });
  for (const s of scopes) if (!(SCOPES as readonly string[]).includes(s)) throw new UserError('invalid-scope', `Unknown scope '${s.slice(0, 40)}': ${SCOPES.join(', ')}.`, { status: 400, exitCode: 64 });
  return [...new Set(scopes)] as Scope[];
}

export class AccessServices {
  readonly store: AccessStore;
  private secretValue: Buffer | null = null;

  constructor(private readonly ctx: AccessContext) {
    this.store = new AccessStore(ctx.db);
  }

  private get secret(): Buffer {
    this.secretValue ??= serverSecret(this.ctx.config);
    return this.secretValue;
  }

  // ---- keys --------------------------------------------------------------------------------

  /**
   * A new key of `userId`, acting as `actor`. A key used to create a key cannot give the new one a
   * scope it lacks itself; a key acts for one organisation at most, one where its user is an
   * active member.
   */
  async createKey(actor: Caller, userId: number, input: CreateKeyInput, ip?: string): Promise<{ key: string; record: ApiKey }> {
    const scopes = parseScopes(input.scopes);
    if (actor.scopes !== null) {
      const beyond = scopes.filter((s) => !actor.scopes?.has(s));
      if (beyond.length > 0) throw new UserError('missing-scope', `This API key lacks the scope '${beyond[0]}', so it cannot give it to a new key.`, { status: 403 });
    }
    const expiresAt = input.expiresAt === undefined ? null : endOfDay(input.expiresAt, 'expiresAt');
    for (const c of input.allowedCidrs ?? []) checkCidr(c);
    let organisationId: number | null = null;
    if (input.organisation !== undefined) {
      organisationId = await this.store.organisationIdBySlug(input.organisation);
      const member = organisationId === null ? undefined : (await this.store.members(organisationId)).get(userId);
      if (organisationId === null || member === undefined) {
        throw new UserError('not-a-member', `You are not an active member of the organisation '${input.organisation.slice(0, 63)}'.`, { status: 403, exitCode: 65 });
      }
    }
    const created = await this.ctx.db.transaction(async (tx) => {
      const made = await this.store.createKey(
        this.secret,
        { userId, name: input.name, scopes, organisationId, expiresAt, allowedCidrs: input.allowedCidrs ?? [], allowedReferers: input.allowedReferers ?? [] },
        tx,
      );
      await this.ctx.audit.record(actor, { action: 'key.create', target: `key:${made.record.id}`, details: { userId, name: input.name, scopes, organisationId, expiresAt: made.record.expiresAt }, ...(ip ? { ip } : {}) }, tx);
      return made;
    });
    return created;
  }

  async renameKey(actor: Caller, userId: number, id: number, name: string, ip?: string): Promise<ApiKey> {
    const renamed = await this.ctx.db.transaction(async (tx) => {
      const r = await this.store.renameKey(userId, id, name, tx);
      if (r) await this.ctx.audit.record(actor, { action: 'key.rename', target: `key:${id}`, details: { name }, ...(ip ? { ip } : {}) }, tx);
      return r;
    });
    if (!renamed) throw new UserError('unknown-key', `You have no key ${id}.`, { status: 404, exitCode: 65 });
    await this.ctx.access.invalidate({ keyId: id });
    return renamed;
  }

  /** Revokes a key (of `userId` when given; the operator may revoke any); every node refuses it at once. */
  async revokeKey(actor: Caller, id: number, userId: number | null, ip?: string): Promise<void> {
    const done = await this.ctx.db.transaction(async (tx) => {
      const ok = await this.store.revokeKey(id, userId, tx);
      if (ok) await this.ctx.audit.record(actor, { action: 'key.revoke', target: `key:${id}`, ...(ip ? { ip } : {}) }, tx);
      return ok;
    });
    if (!done) throw new UserError('unknown-key', userId === null ? `There is no key ${id}.` : `You have no key ${id}.`, { status: 404, exitCode: 65 });
    await this.ctx.access.invalidate({ keyId: id });
  }

  // ---- visibility --------------------------------------------------------------------------

  async setVisibility(actor: Caller, datasetId: string, version: string | null, visibility: 'public' | 'restricted' | null, ip?: string): Promise<void> {
    const done = await this.ctx.db.transaction(async (tx) => {
      let ok: boolean;
      if (version === null) {
        if (visibility === null) throw new UserError('invalid-visibility', 'A dataset is public or restricted.', { status: 400, exitCode: 64 });
        ok = await this.store.setDatasetVisibility(datasetId, visibility, tx);
      } else ok = await this.store.setVersionVisibility(datasetId, version, visibility, tx);
      if (ok) await this.ctx.audit.record(actor, { action: 'visibility.set', target: `dataset:${datasetId}${version ? `/${version}` : ''}`, details: { visibility }, ...(ip ? { ip } : {}) }, tx);
      return ok;
    });
    if (!done) throw new UserError('unknown-dataset', `There is no ${version === null ? `dataset '${datasetId}'` : `version '${version}' of dataset '${datasetId}'`}.`, { status: 404, exitCode: 65 });
    await this.ctx.access.invalidate({ all: true });
  }

  // ---- permissions -------------------------------------------------------------------------

  /**
   * Grants a permission. Platform admins (and the operator) grant anything; an organisation admin
   * grants a member or contractor of its organisation a sub-permission of the organisation's own:
   * same dataset (and version), perimeter within, end date not later.
   */
  async grantPermission(
    actor: Caller,
    input: { organisation?: string | undefined; user?: string | undefined; dataset: string; version?: string | undefined; perimeter?: unknown; until?: string | undefined; charter?: string | undefined },
    ip?: string,
  ): Promise<Permission> {
    if ((input.organisation === undefined) === (input.user === undefined)) throw new UserError('invalid-grantee', 'Name exactly one grantee: an organisation or a user.', { status: 400, exitCode: 64 });
    const organisationId = input.organisation === undefined ? null : await this.store.organisationIdBySlug(input.organisation);
    if (input.organisation !== undefined && organisationId === null) throw new UserError('unknown-organisation', `There is no organisation '${input.organisation.slice(0, 63)}'.`, { status: 404, exitCode: 65 });
    const userId = input.user === undefined ? null : await this.store.userIdByEmail(input.user);
    if (input.user !== undefined && userId === null) throw new UserError('unknown-user', `There is no user '${input.user.slice(0, 200)}'.`, { status: 404, exitCode: 65 });
    if (!(await this.store.datasetExists(input.dataset))) throw new UserError('unknown-dataset', `There is no dataset '${input.dataset.slice(0, 63)}'.`, { status: 404, exitCode: 65 });
    if (input.version !== undefined && !(await this.store.datasetExists(input.dataset, input.version))) {
      throw new UserError('unknown-version', `Dataset '${input.dataset}' has no version '${input.version.slice(0, 63)}'.`, { status: 404, exitCode: 65 });
    }
    const validUntil = input.until === undefined ? null : endOfDay(input.until, 'until');
    let perimeterEwkt: string | null = null;
    if (input.perimeter !== undefined && input.perimeter !== null) {
      const p = perimeterInput(input.perimeter);
      perimeterEwkt = await this.store.normalisePerimeter(p.geojson, p.srid);
    }
    const admin = actor.kind === 'operator' || (actor.roles.has('platform-admin') && (actor.scopes === null || actor.scopes.has('admin')));
    if (!admin) await this.checkSubGrant(actor, { userId, dataset: input.dataset, version: input.version ?? null, perimeterEwkt, validUntil });
    const id = await this.ctx.db.transaction(async (tx) => {
      const pid = await this.store.grantPermission(
        { organisationId, userId, datasetId: input.dataset, versionName: input.version ?? null, perimeterEwkt, validUntil, charter: input.charter ?? null, grantedBy: actor.userId ?? null },
        tx,
      );
      await this.ctx.audit.record(
        actor,
        { action: 'permission.grant', target: `permission:${pid}`, details: { organisation: input.organisation ?? null, user: input.user ?? null, dataset: input.dataset, version: input.version ?? null, perimeter: perimeterEwkt !== null, until: input.until ?? null }, ...(ip ? { ip } : {}) },
        tx,
      );
      return pid;
    });
    await this.ctx.access.invalidate({ all: true });
    return (await this.store.permissions({ ids: [id] }))[0] as Permission;
  }

  private async checkSubGrant(actor: Caller, g: { userId: number | null; dataset: string; version: string | null; perimeterEwkt: string | null; validUntil: Date | null }): Promise<void> {
    const refuse = (why: string) => new UserError('forbidden', `You may not grant this permission: ${why}.`, { status: 403, exitCode: 77 });
    if (actor.userId === undefined || !actor.roles.has('org-admin')) throw refuse('only platform admins and organisation admins grant permissions');
    if (actor.scopes !== null && !actor.scopes.has('admin')) throw new UserError('missing-scope', "This API key lacks the scope 'admin'.", { status: 403 });
    if (g.userId === null) throw refuse('an organisation admin grants to a member or contractor of its organisation, not to an organisation');
    const me = await this.store.user(actor.userId);
    const adminOf = (me?.memberships ?? []).filter((m) => m.role === 'org-admin').map((m) => m.organisationId);
    const why: string[] = [];
    for (const org of adminOf) {
      if (!(await this.store.members(org)).has(g.userId)) continue;
      const own = (await this.store.permissions({ organisationIds: [org] })).filter((p) => p.revokedAt === null && p.organisation?.id === org && p.dataset === g.dataset && (p.version === null || p.version === g.version));
      for (const p of own) {
        if (p.validUntil !== null && (g.validUntil === null || g.validUntil.getTime() > new Date(p.validUntil).getTime())) {
          why.push(`its end date must not be later than ${p.validUntil.slice(0, 10)}`);
          continue;
        }
        if (p.validUntil !== null && new Date(p.validUntil).getTime() <= Date.now()) continue;
        if (!(await this.store.perimeterWithin(g.perimeterEwkt, p.id))) {
          why.push("its perimeter must lie within your organisation's");
          continue;
        }
        return;
      }
      if (own.length === 0) why.push(`your organisation holds no permission on '${g.dataset}'${g.version ? ` version ${g.version}` : ''}`);
    }
    throw refuse(why[0] ?? 'the grantee is not an active member of an organisation you administer');
  }

  /** Revokes a permission: platform admins any; an organisation admin those granted to members of its organisations. */
  async revokePermission(actor: Caller, id: number, ip?: string): Promise<void> {
    const [p] = await this.store.permissions({ ids: [id] });
    if (!p || p.revokedAt !== null) throw new UserError('unknown-permission', `There is no permission ${id} in force.`, { status: 404, exitCode: 65 });
    const admin = actor.kind === 'operator' || (actor.roles.has('platform-admin') && (actor.scopes === null || actor.scopes.has('admin')));
    if (!admin) {
      const visible = await this.visiblePermissionIds(actor);
      if (!visible.manage.has(id)) throw new UserError('forbidden', 'You may not revoke this permission.', { status: 403 });
    }
    await this.ctx.db.transaction(async (tx) => {
      await this.store.revokePermission(id, tx);
      await this.ctx.audit.record(actor, { action: 'permission.revoke', target: `permission:${id}`, ...(ip ? { ip } : {}) }, tx);
    });
    await this.ctx.access.invalidate({ all: true });
  }

  private async visiblePermissionIds(actor: Caller): Promise<{ see: Permission[]; manage: Set<number> }> {
    const me = actor.userId === undefined ? null : await this.store.user(actor.userId);
    // A contractor holds only what was granted to it, not its client organisation's permissions.
    const orgs = (me?.memberships ?? []).filter((m) => m.role !== 'contractor').map((m) => m.organisationId);
    const adminOf = (me?.memberships ?? []).filter((m) => m.role === 'org-admin').map((m) => m.organisationId);
    const memberIds = new Set<number>();
    for (const org of adminOf) for (const uid of (await this.store.members(org)).keys()) memberIds.add(uid);
    const see = await this.store.permissions({ organisationIds: orgs, userIds: [...(actor.userId === undefined ? [] : [actor.userId]), ...memberIds] });
    const manage = new Set(see.filter((p) => p.user !== null && memberIds.has(p.user.id) && p.user.id !== actor.userId).map((p) => p.id));
    return { see, manage };
  }

  /** Platform admins: all; others: their own, their organisations', and (org admins) their members'. */
  async listPermissions(actor: Caller): Promise<Permission[]> {
    if (actor.kind === 'operator' || (actor.roles.has('platform-admin') && (actor.scopes === null || actor.scopes.has('admin')))) return this.store.permissions({ all: true });
    return (await this.visiblePermissionIds(actor)).see;
  }
}
