import { setTimeout as sleep } from 'node:timers/promises';
import { OPERATOR, type Caller, type Role } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import { UserError } from '../util/errors.js';
import { MESSAGES } from './messages.js';
import { checkPasswordRules, hashPassword, verifyPassword } from './passwords.js';
import { createSession, deleteSession, deleteUserSessions, rolesOf, type NewSession } from './sessions.js';
import * as store from './store.js';
import type { Language, Member, Organisation, OrgRole, PlatformRole, User, UserMembership } from './store.js';
import { clearFailures, failureDelayMs, lockedFor, recordFailure, subjectsOf } from './throttle.js';
import { consumeToken, issueToken, revokeTokens } from './tokens.js';

/**
 * The accounts flows, without HTTP: sign-up → verification → membership request → decision,
 * sign-in with throttling, sign-out (everywhere), password reset, profile, organisations and their
 * members, users and roles. Every sensitive act goes to the audit log; every change that a cached
 * identity must not outlive calls `ctx.access.invalidate`.
 */

export type Ctx = Pick<AppContext, 'db' | 'config' | 'audit' | 'mail' | 'access' | 'log'>;

export interface Me {
  id: number;
  email: string;
  displayName: string;
  language: Language;
  roles: Role[];
  platformRoles: PlatformRole[];
  organisations: UserMembership[];
}

export interface ServiceOptions {
  /** First delay after a failed sign-in (doubles with each failure, capped at 4 s). */
  failureDelayMs?: number;
  /** Life of e-mail verification links (hours) and reset links (minutes). */
  verifyHours?: number;
  resetMinutes?: number;
}

/** Thrown when an account or IP is locked out: 429 with Retry-After. */
export class LockedError extends UserError {
  constructor(readonly retryAfterSeconds: number) {
    super('locked', `Too many failed sign-ins: try again in ${Math.ceil(retryAfterSeconds / 60)} minute(s).`, { status: 429, hint: 'Wait, or reset your password by e-mail.' });
  }
}

const invalidCredentials = () => new UserError('invalid-credentials', 'Wrong e-mail address or password.', { status: 401 });
const notFound = (what: string) => new UserError('not-found', `No such ${what}.`, { status: 404 });
const forbidden = (message: string) => new UserError('forbidden', message, { status: 403 });

export interface Origin {
  /** Base URL of the portal links in mails (publicUrl or the request's origin). */
  base: string;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

export class AccountService {
  readonly failureDelayMs: number;
  readonly verifyHours: number;
  readonly resetMinutes: number;

  constructor(
    readonly ctx: Ctx,
    options: ServiceOptions = {},
  ) {
    this.failureDelayMs = options.failureDelayMs ?? 250;
    this.verifyHours = options.verifyHours ?? 48;
    this.resetMinutes = options.resetMinutes ?? 60;
  }

  private get db() {
    return this.ctx.db;
  }

  // ------------------------------------------------------------ identity

  async me(userId: number): Promise<Me> {
    const user = await store.findUserById(this.db, userId);
    if (!user || user.disabled) throw new UserError('unauthenticated', 'Your account no longer exists or is disabled.', { status: 401 });
    const organisations = await store.membershipsOf(this.db, userId);
    const roles = rolesOf(user.platformRoles, organisations.filter((o) => o.status === 'active').map((o) => o.role));
    return { id: user.id, email: user.email, displayName: user.displayName, language: user.language, roles: [...roles].sort(), platformRoles: user.platformRoles, organisations };
  }

  private userOf(caller: Caller): number {
    if (caller.userId === undefined) throw forbidden('This needs a user account (the operator and anonymous callers have none).');
    return caller.userId;
  }

  // ------------------------------------------------------------ sign-up and verification

  async signup(input: { email: string; password: string; displayName: string; language?: Language | undefined }, origin: Origin): Promise<void> {
    if (!this.ctx.config.auth.signup) throw new UserError('signup-closed', 'Sign-up is closed on this platform: ask an administrator for an account.', { status: 403 });
    const email = store.normaliseEmail(input.email);
    // Hash first, whatever happens next: the answer takes the same time for a known address.
    const hash = await hashPassword(input.password);
    const existing = await store.findUserByEmail(this.db, email);
    if (existing && existing.emailVerified) {
      void this.ctx.mail.send({ to: email, ...MESSAGES.signupExisting({ link: `${origin.base}/#/reinitialiser` }) });
      return;
    }
    // An unverified account keeps its password until a link is opened: each link carries the
    // password of the sign-up it was sent for (see migrations/…_accounts_signup_password.sql).
    let user = existing;
    if (!user) {
      try {
        user = await this.createUserRow({ email, displayName: input.displayName, passwordHash: null, ...(input.language ? { language: input.language } : {}) }, { id: 'anonymous' }, origin.ip);
      } catch (e) {
        // Two sign-ups of one new address at once: the second joins the first (same answer).
        if (!(e instanceof UserError && e.code === 'already-exists')) throw e;
        user = await store.findUserByEmail(this.db, email);
        if (!user || user.emailVerified) return;
      }
    }
    const token = await issueToken(this.db, user.id, 'verify-email', this.verifyHours * 60, hash);
    void this.ctx.mail.send({ to: email, ...MESSAGES.verifyEmail({ name: input.displayName, link: `${origin.base}/#/verifier?token=${token}`, hours: this.verifyHours }) });
  }

  private async createUserRow(u: store.NewUser, actor: Pick<Caller, 'id' | 'userId'>, ip?: string): Promise<User> {
    return this.db.transaction(async (tx) => {
      // A concurrent sign-up with the same address gets the unique violation, as a 409 the route hides.
      const user = await store.insertUser(tx, u);
      await this.ctx.audit.record(actor.userId === undefined && actor.id === 'anonymous' ? { id: `user:${user.id}`, userId: user.id } : actor, {
        action: 'user.create',
        target: `user:${user.id}`,
        details: { email: user.email, platformRoles: user.platformRoles, via: u.oidc ? 'oidc' : u.passwordHash ? 'password' : 'none' },
        ...(ip ? { ip } : {}),
      }, tx);
      return user;
    });
  }

  async verify(token: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const used = await consumeToken(tx, token, 'verify-email');
      if (used === null) throw new UserError('invalid-token', 'This link is unknown, already used or expired: sign up again to get a new one.', { status: 400 });
      const user = await store.findUserById(tx, used.userId);
      // Verified already (another link): this one changes nothing.
      if (!user || user.emailVerified) return;
      await store.updateUser(tx, used.userId, { emailVerified: true, ...(used.passwordHash ? { passwordHash: used.passwordHash } : {}) });
      await revokeTokens(tx, used.userId, 'verify-email');
    });
  }

  // ------------------------------------------------------------ sign-in

  async signin(input: { email: string; password: string }, origin: Origin): Promise<{ user: User; session: NewSession }> {
    const email = store.normaliseEmail(input.email);
    const { lockout } = this.ctx.config.auth;
    const subjects = subjectsOf(email, origin.ip);
    const wait = await lockedFor(this.db, subjects.ip ? [subjects.account, subjects.ip] : [subjects.account]);
    if (wait > 0) throw new LockedError(wait);
    const user = await store.findUserByEmail(this.db, email);
    const ok = await verifyPassword(user?.passwordHash ?? null, input.password);
    if (!ok || !user) {
      const failures = await recordFailure(this.db, subjects.account, lockout);
      if (subjects.ip) await recordFailure(this.db, subjects.ip, { failures: lockout.failures * 5, minutes: lockout.minutes });
      await this.ctx.audit.record({ id: 'anonymous' }, { action: 'auth.signin-failed', target: user ? `user:${user.id}` : undefined, details: { email, failures }, ...(origin.ip ? { ip: origin.ip } : {}) });
      await sleep(failureDelayMs(failures, this.failureDelayMs));
      throw invalidCredentials();
    }
    if (user.disabled) throw new UserError('account-disabled', 'This account is disabled: contact an administrator.', { status: 403 });
    if (!user.emailVerified) throw new UserError('email-not-verified', 'Confirm your e-mail address first: open the link we sent you (sign up again to get a new one).', { status: 403 });
    await clearFailures(this.db, subjects.account);
    return { user, session: await this.openSession(user, origin, 'password') };
  }

  /** Opens a session for a user who proved who they are (password, OpenID Connect). */
  async openSession(user: User, origin: Origin, method: 'password' | 'oidc'): Promise<NewSession> {
    const session = await createSession(this.db, user.id, { ttlHours: this.ctx.config.auth.sessionTtlHours, ip: origin.ip, userAgent: origin.userAgent });
    await store.updateUser(this.db, user.id, { signedIn: true });
    await this.ctx.audit.record({ id: `user:${user.id}`, userId: user.id }, { action: 'auth.signin', target: `user:${user.id}`, details: { method, session: session.id }, ...(origin.ip ? { ip: origin.ip } : {}) });
    return session;
  }

  async signout(cookieValue: string | undefined, ip?: string): Promise<void> {
    if (!cookieValue) return;
    const userId = await deleteSession(this.db, cookieValue);
    if (userId === null) return;
    await this.ctx.audit.record({ id: `user:${userId}`, userId }, { action: 'auth.signout', target: `user:${userId}`, ...(ip ? { ip } : {}) });
    await this.ctx.access.invalidate({ userId });
  }

  async signoutEverywhere(caller: Caller, ip?: string): Promise<number> {
    const userId = this.userOf(caller);
    const n = await deleteUserSessions(this.db, userId);
    await this.ctx.audit.record(caller, { action: 'auth.signout-everywhere', target: `user:${userId}`, details: { sessions: n }, ...(ip ? { ip } : {}) });
    await this.ctx.access.invalidate({ userId });
    return n;
  }

  // ------------------------------------------------------------ password reset

  async forgot(emailText: string, origin: Origin): Promise<void> {
    const user = await store.findUserByEmail(this.db, emailText);
    if (!user || user.disabled) return;
    await revokeTokens(this.db, user.id, 'reset-password');
    const token = await issueToken(this.db, user.id, 'reset-password', this.resetMinutes);
    void this.ctx.mail.send({ to: user.email, ...MESSAGES.resetPassword({ name: user.displayName, link: `${origin.base}/#/reinitialiser?token=${token}`, minutes: this.resetMinutes }) });
  }

  async reset(token: string, password: string, origin: Origin): Promise<void> {
    checkPasswordRules(password);
    const userId = (await consumeToken(this.db, token, 'reset-password'))?.userId ?? null;
    if (userId === null) throw new UserError('invalid-token', 'This link is unknown, already used or expired: ask for a new one.', { status: 400 });
    const user = await store.updateUser(this.db, userId, { passwordHash: await hashPassword(password), emailVerified: true });
    if (!user) throw new UserError('invalid-token', 'This link is unknown, already used or expired.', { status: 400 });
    await deleteUserSessions(this.db, userId);
    await clearFailures(this.db, subjectsOf(user.email, undefined).account);
    await this.ctx.audit.record({ id: `user:${userId}`, userId }, { action: 'auth.password-reset', target: `user:${userId}`, ...(origin.ip ? { ip: origin.ip } : {}) });
    await this.ctx.access.invalidate({ userId });
    void this.ctx.mail.send({ to: user.email, ...MESSAGES.passwordChanged({ name: user.displayName }) });
  }

  // ------------------------------------------------------------ profile

  async updateMe(caller: Caller, c: { displayName?: string | undefined; language?: Language | undefined; password?: { current: string; new: string } | undefined }, origin: Origin): Promise<Me> {
    const userId = this.userOf(caller);
    if (c.password) {
      if (caller.kind !== 'user') throw forbidden('Change your password from a signed-in session, not with an API key.');
      const user = await store.findUserById(this.db, userId);
      checkPasswordRules(c.password.new);
      if (!user || !(await verifyPassword(user.passwordHash, c.password.current))) throw new UserError('invalid-credentials', 'The current password is wrong.', { status: 400 });
      await store.updateUser(this.db, userId, { passwordHash: await hashPassword(c.password.new) });
      // Other sessions end; this one stays (its cookie is the one that proved the password).
      await this.db.query(`DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, [userId, caller.session?.id ?? -1]);
      await this.ctx.audit.record(caller, { action: 'auth.password-reset', target: `user:${userId}`, details: { via: 'profile' }, ...(origin.ip ? { ip: origin.ip } : {}) });
      await this.ctx.access.invalidate({ userId });
      void this.ctx.mail.send({ to: user.email, ...MESSAGES.passwordChanged({ name: user.displayName }) });
    }
    await store.updateUser(this.db, userId, { ...(c.displayName !== undefined ? { displayName: c.displayName } : {}), ...(c.language !== undefined ? { language: c.language } : {}) });
    return this.me(userId);
  }

  // ------------------------------------------------------------ organisations

  private async organisation(slug: string): Promise<Organisation> {
    const org = await store.findOrganisation(this.db, slug);
    if (!org) throw notFound(`organisation '${slug}'`);
    return org;
  }

  /** Platform admins, and the active org-admins of this organisation (a key: acting for it). */
  async canAdminister(caller: Caller, organisationId: number): Promise<boolean> {
    if (caller.roles.has('platform-admin')) return true;
    if (caller.userId === undefined) return false;
    if (caller.organisationIds && !caller.organisationIds.includes(organisationId)) return false;
    const m = await store.findMember(this.db, organisationId, caller.userId);
    return m?.status === 'active' && m.role === 'org-admin';
  }

  private async requireAdmin(caller: Caller, org: Organisation): Promise<void> {
    if (!(await this.canAdminister(caller, org.id))) throw forbidden(`Only an administrator of '${org.slug}' or a platform admin may do this.`);
  }

  async listOrganisations(caller: Caller): Promise<Array<Organisation & { suggested?: true }>> {
    const orgs = await store.listOrganisations(this.db);
    const user = caller.userId === undefined ? null : await store.findUserById(this.db, caller.userId);
    const domain = user?.email.split('@')[1];
    return orgs.map((o) => (domain && o.emailDomains.includes(domain) ? { ...o, suggested: true as const } : o));
  }

  async getOrganisation(slug: string): Promise<Organisation> {
    return this.organisation(slug);
  }

  async createOrganisation(caller: Caller, o: store.NewOrganisation, ip?: string): Promise<Organisation> {
    return this.db.transaction(async (tx) => {
      const org = await store.insertOrganisation(tx, o);
      await this.ctx.audit.record(caller, { action: 'organisation.create', target: `organisation:${org.id}`, details: { slug: org.slug, name: org.name, kind: org.kind }, ...(ip ? { ip } : {}) }, tx);
      return org;
    });
  }

  async updateOrganisation(caller: Caller, slug: string, c: store.OrganisationChanges, ip?: string): Promise<Organisation> {
    const org = await this.organisation(slug);
    await this.requireAdmin(caller, org);
    return this.db.transaction(async (tx) => {
      const updated = await store.updateOrganisation(tx, org.id, c);
      if (!updated) throw notFound(`organisation '${slug}'`);
      await this.ctx.audit.record(caller, { action: 'organisation.update', target: `organisation:${org.id}`, details: { slug, changed: Object.keys(c) }, ...(ip ? { ip } : {}) }, tx);
      return updated;
    });
  }

  // ------------------------------------------------------------ memberships

  async requestMembership(caller: Caller, slug: string, message: string | undefined, origin: Origin): Promise<void> {
    const userId = this.userOf(caller);
    const org = await this.organisation(slug);
    const user = await store.findUserById(this.db, userId);
    if (!user) throw notFound('user');
    if (!user.emailVerified) throw new UserError('email-not-verified', 'Confirm your e-mail address first.', { status: 403 });
    const created = await store.requestMembership(this.db, userId, org.id, message ?? null);
    if (!created) {
      const m = await store.findMember(this.db, org.id, userId);
      throw new UserError(m?.status === 'active' ? 'already-member' : 'already-requested', m?.status === 'active' ? `You are already a member of '${slug}'.` : `Your request to join '${slug}' is waiting for a decision.`, { status: 409 });
    }
    await this.ctx.audit.record(caller, { action: 'membership.request', target: `organisation:${org.id}`, details: { slug, userId }, ...(origin.ip ? { ip: origin.ip } : {}) });
    let recipients = await store.orgAdminEmails(this.db, org.id);
    if (recipients.length === 0) recipients = await store.platformAdminEmails(this.db);
    const mail = MESSAGES.membershipRequested({ applicant: user.displayName, email: user.email, organisation: org.name, message: message ?? null, link: `${origin.base}/#/admin/organisations/${org.slug}` });
    for (const r of recipients) void this.ctx.mail.send({ to: r.email, ...mail });
  }

  async members(caller: Caller, slug: string): Promise<Member[]> {
    const org = await this.organisation(slug);
    await this.requireAdmin(caller, org);
    return store.membersOf(this.db, org.id);
  }

  async decide(caller: Caller, slug: string, userId: number, d: { decision: 'accept' | 'refuse'; role?: OrgRole | undefined }, origin: Origin): Promise<Member> {
    const org = await this.organisation(slug);
    await this.requireAdmin(caller, org);
    const role = d.role ?? 'member';
    const decided = await this.db.transaction(async (tx) => {
      const ok = await store.decideMembership(tx, userId, org.id, { accept: d.decision === 'accept', role, by: caller.userId ?? null });
      if (ok) await this.ctx.audit.record(caller, { action: 'membership.decide', target: `user:${userId}`, details: { organisation: slug, decision: d.decision, role }, ...(origin.ip ? { ip: origin.ip } : {}) }, tx);
      return ok;
    });
    if (!decided) throw new UserError('no-pending-request', `User ${userId} has no pending request to join '${slug}'.`, { status: 409 });
    await this.ctx.access.invalidate({ userId });
    const member = (await store.findMember(this.db, org.id, userId)) as Member;
    const link = `${origin.base}/#/compte`;
    const mail = d.decision === 'accept' ? MESSAGES.membershipAccepted({ name: member.displayName, organisation: org.name, role, link }) : MESSAGES.membershipRefused({ name: member.displayName, organisation: org.name, link });
    void this.ctx.mail.send({ to: member.email, ...mail });
    return member;
  }

  async setMemberRole(caller: Caller, slug: string, userId: number, role: OrgRole, ip?: string): Promise<Member> {
    const org = await this.organisation(slug);
    await this.requireAdmin(caller, org);
    const ok = await this.db.transaction(async (tx) => {
      const changed = await store.setMemberRole(tx, userId, org.id, role);
      if (changed) await this.ctx.audit.record(caller, { action: 'membership.role', target: `user:${userId}`, details: { organisation: slug, role }, ...(ip ? { ip } : {}) }, tx);
      return changed;
    });
    if (!ok) throw notFound(`active member ${userId} of '${slug}'`);
    await this.ctx.access.invalidate({ userId });
    return (await store.findMember(this.db, org.id, userId)) as Member;
  }

  async removeMember(caller: Caller, slug: string, userId: number, ip?: string): Promise<void> {
    const org = await this.organisation(slug);
    // Anyone may leave an organisation; removing someone else needs its admin.
    if (caller.userId !== userId) await this.requireAdmin(caller, org);
    const ok = await this.db.transaction(async (tx) => {
      const removed = await store.removeMember(tx, userId, org.id);
      if (removed) await this.ctx.audit.record(caller, { action: 'membership.role', target: `user:${userId}`, details: { organisation: slug, role: null, removed: true }, ...(ip ? { ip } : {}) }, tx);
      return removed;
    });
    if (!ok) throw notFound(`member ${userId} of '${slug}'`);
    await this.ctx.access.invalidate({ userId });
  }

  // ------------------------------------------------------------ users (platform admins, CLI)

  async createUser(caller: Caller, u: { email: string; displayName?: string | undefined; password?: string | undefined; platformRoles?: PlatformRole[]; organisation?: { slug: string; role: OrgRole } | undefined }): Promise<User> {
    const email = store.normaliseEmail(u.email);
    if (await store.findUserByEmail(this.db, email)) throw new UserError('user-exists', `A user with the e-mail ${email} already exists.`, { status: 409, hint: 'Use `pcrs user set-role` to change its roles.' });
    const org = u.organisation ? await this.organisation(u.organisation.slug) : undefined;
    const passwordHash = u.password === undefined ? null : await hashPassword(u.password);
    const user = await this.createUserRow({ email, displayName: u.displayName ?? email.split('@')[0] ?? email, passwordHash, emailVerified: true, platformRoles: u.platformRoles ?? [] }, caller);
    if (org && u.organisation) {
      await store.putMembership(this.db, user.id, org.id, u.organisation.role, caller.userId ?? null);
      await this.ctx.audit.record(caller, { action: 'membership.role', target: `user:${user.id}`, details: { organisation: org.slug, role: u.organisation.role } });
    }
    return user;
  }

  async listUsers(): Promise<Awaited<ReturnType<typeof store.listUsers>>> {
    return store.listUsers(this.db);
  }

  async patchUser(caller: Caller, id: number, c: { platformRoles?: PlatformRole[] | undefined; disabled?: boolean | undefined }, ip?: string): Promise<User> {
    const before = await store.findUserById(this.db, id);
    if (!before) throw notFound(`user ${id}`);
    const losesAdmin = (c.platformRoles !== undefined && !c.platformRoles.includes('platform-admin')) || c.disabled === true;
    if (losesAdmin && before.platformRoles.includes('platform-admin') && !before.disabled && (await store.countPlatformAdmins(this.db, { activeOnly: true })) <= 1) {
      throw new UserError('last-platform-admin', 'This is the last active platform admin: name another one first.', { status: 409 });
    }
    const after = await this.db.transaction(async (tx) => {
      const u = (await store.updateUser(tx, id, { ...(c.platformRoles !== undefined ? { platformRoles: c.platformRoles } : {}), ...(c.disabled !== undefined ? { disabled: c.disabled } : {}) })) as User;
      const from = ip ? { ip } : {};
      if (c.platformRoles !== undefined) await this.ctx.audit.record(caller, { action: 'user.roles', target: `user:${id}`, details: { before: before.platformRoles, after: u.platformRoles }, ...from }, tx);
      if (c.disabled !== undefined) {
        await this.ctx.audit.record(caller, { action: 'user.disable', target: `user:${id}`, details: { disabled: c.disabled }, ...from }, tx);
        if (c.disabled) await deleteUserSessions(tx, id);
      }
      return u;
    });
    await this.ctx.access.invalidate({ userId: id });
    return after;
  }

  /** `pcrs user set-role`: adds a platform role (or 'none': removes them all), or sets an organisation role. */
  async setRole(caller: Caller, emailText: string, role: PlatformRole | OrgRole | 'none', options: { organisation?: string | undefined; remove?: boolean | undefined } = {}): Promise<User> {
    const user = await store.findUserByEmail(this.db, emailText);
    if (!user) throw new UserError('unknown-user', `No user with the e-mail ${store.normaliseEmail(emailText)}.`, { status: 404 });
    if ((store.ORG_ROLES as readonly string[]).includes(role)) {
      if (!options.organisation) throw new UserError('usage', `'${role}' is an organisation role: name the organisation with --org.`, { exitCode: 64 });
      const org = await this.organisation(options.organisation);
      if (options.remove) await this.removeMember(caller, org.slug, user.id);
      else {
        await store.putMembership(this.db, user.id, org.id, role as OrgRole, caller.userId ?? null);
        await this.ctx.audit.record(caller, { action: 'membership.role', target: `user:${user.id}`, details: { organisation: org.slug, role } });
        await this.ctx.access.invalidate({ userId: user.id });
      }
      return user;
    }
    const roles = role === 'none' ? [] : options.remove ? user.platformRoles.filter((r) => r !== role) : [...new Set([...user.platformRoles, role as PlatformRole])];
    return this.patchUser(caller, user.id, { platformRoles: roles });
  }

  /**
   * First platform admin from PCRS_ADMIN_EMAIL + PCRS_ADMIN_PASSWORD, when no platform admin
   * exists (idempotent: nothing happens once one exists). An existing user with that e-mail
   * becomes platform admin (its password unchanged).
   */
  async bootstrapAdmin(): Promise<'created' | 'promoted' | 'exists' | 'unconfigured'> {
    const { adminEmail, adminPassword } = this.ctx.config.auth;
    if (!adminEmail || !adminPassword) return 'unconfigured';
    if ((await store.countPlatformAdmins(this.db)) > 0) return 'exists';
    const operator = OPERATOR;
    const existing = await store.findUserByEmail(this.db, adminEmail);
    if (existing) {
      await store.updateUser(this.db, existing.id, { platformRoles: [...existing.platformRoles, 'platform-admin'], emailVerified: true });
      await this.ctx.audit.record(operator, { action: 'user.roles', target: `user:${existing.id}`, details: { before: existing.platformRoles, added: 'platform-admin', via: 'PCRS_ADMIN_EMAIL' } });
      this.ctx.log.info({ userId: existing.id }, 'first platform admin: existing user promoted (PCRS_ADMIN_EMAIL)');
      return 'promoted';
    }
    try {
      const user = await this.createUser(operator, { email: adminEmail, password: adminPassword, platformRoles: ['platform-admin'], displayName: 'Administrateur' });
      this.ctx.log.info({ userId: user.id }, 'first platform admin created (PCRS_ADMIN_EMAIL)');
      return 'created';
    } catch (e) {
      // Another node created it at the same moment.
      if (e instanceof UserError && (e.code === 'already-exists' || e.code === 'user-exists')) return 'exists';
      throw e;
    }
  }
}
