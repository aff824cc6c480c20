import type { AppContext } from '../context/app-context.js';
import type { Caller } from '../context/access.js';
import { transformPoint } from '../grid/crs.js';
import { UserError } from '../util/errors.js';
import { listAttachments, type Attachment } from './attachments.js';
import { Followers } from './followers.js';
import { DECLARATION_MESSAGES } from './messages.js';
import { actionOfTransition, checkTransition, CLOSED, toLambert93, type DeclarationType, type InputGeometry, type L93Geometry, type Status, type Theme } from './model.js';
import { DeclarationStore, notFound, type Action, type Declaration, type ListFilter } from './store.js';

/**
 * Declarations without HTTP: create (geometry to Lambert-93, inside the territory, valid), read
 * with its action log and the dalles it touches, list, comment, change status (transitions,
 * reasons, audit), assign; its followers (followers.ts: the author, subscribers, areas) are e-mailed
 * on every change but the one who made it. Who acts is always the caller given, never a field of the input.
 */

export interface CreateInput {
  type: DeclarationType;
  title: string;
  description: string;
  geometry: InputGeometry;
  layer?: { dataset: string; version?: string | undefined } | null | undefined;
  /** The organisation declared for, by slug: one of the caller's (default: its first). */
  organisation?: string | undefined;
  works?: { dtDictRef?: string | undefined; plannedStart?: string | undefined; plannedEnd?: string | undefined; themes?: readonly Theme[] | undefined } | undefined;
}

export interface Origin {
  /** Base URL for links in mails. */
  base: string;
  ip?: string;
}

export type DeclarationDetail = Declaration & { actions: Action[]; dalles: Array<{ name: string; dataset: string; version: string }>; attachments: Attachment[] };

export class DeclarationService {
  readonly store: DeclarationStore;
  readonly followers: Followers;

  constructor(readonly ctx: AppContext) {
    this.store = new DeclarationStore(ctx.db);
    this.followers = new Followers(ctx);
  }

  async create(caller: Caller, input: CreateInput, origin?: Origin): Promise<DeclarationDetail> {
    if (input.type !== 'works' && input.works !== undefined) {
      throw new UserError('invalid-works', 'Works fields (DT-DICT reference, planned dates, themes) belong to declarations of type works.', { status: 400 });
    }
    const w = input.works;
    if (w?.plannedStart && w.plannedEnd && w.plannedEnd < w.plannedStart) {
      throw new UserError('invalid-dates', `The planned end (${w.plannedEnd}) is before the planned start (${w.plannedStart}).`, { status: 400 });
    }
    const geometry = toLambert93(input.geometry, this.ctx.config.territory.extent);
    const validity = await this.store.validity(geometry);
    if (!validity.valid) throw new UserError('invalid-geometry', `The geometry is not valid: ${validity.reason}.`, { status: 400, hint: 'A polygon must not cross itself; rings must be closed.' });
    const layer = input.layer ? { dataset: input.layer.dataset, version: input.layer.version ?? null } : null;
    if (layer && !(await this.store.layerExists(layer.dataset, layer.version))) {
      throw new UserError('unknown-layer', `There is no layer ${layer.dataset}${layer.version ? ` version ${layer.version}` : ''}.`, { status: 400 });
    }
    let organisationId: number | null = caller.organisationIds?.[0] ?? null;
    if (input.organisation !== undefined) {
      organisationId = await this.store.organisationId(input.organisation);
      if (organisationId === null || !(caller.organisationIds ?? []).includes(organisationId)) {
        throw new UserError('not-a-member', `You do not act for the organisation '${input.organisation}'.`, { status: 403 });
      }
    }
    const id = await this.ctx.db.transaction(async (tx) => {
      const newId = await this.store.insert(tx, {
        type: input.type,
        geometry,
        title: input.title,
        description: input.description,
        layer,
        authorUserId: caller.userId ?? null,
        authorActor: caller.id,
        authorOrganisationId: organisationId,
        works: input.type === 'works' ? { dtDictRef: w?.dtDictRef ?? null, plannedStart: w?.plannedStart ?? null, plannedEnd: w?.plannedEnd ?? null, themes: [...new Set(w?.themes ?? [])] } : null,
      });
      await this.store.addAction(tx, { declarationId: newId, action: 'opened', actor: caller.id, actorUserId: caller.userId ?? null, toStatus: 'submitted' });
      if (caller.userId !== undefined) await this.followers.subscribe(tx, newId, caller.userId);
      return newId;
    });
    const d = await this.read(id);
    await this.followers.notify(id, { userId: caller.userId }, this.baseOf(origin), (f) => DECLARATION_MESSAGES.created(f, { id, title: d.title, type: d.type, by: byOf(caller, d), link: linkOf(this.baseOf(origin), id) }), { areasOnly: true });
    return d;
  }

  async read(id: number): Promise<DeclarationDetail> {
    const d = await this.store.get(id);
    if (!d) throw notFound(id);
    const [actions, dalles, attachments] = await Promise.all([this.store.actions(id), this.store.dallesTouched(id), listAttachments(this.ctx.db, id)]);
    return { ...d, actions, dalles, attachments };
  }

  list(filter: ListFilter): Promise<{ items: Declaration[]; total: number }> {
    return this.store.list(filter);
  }

  async comment(caller: Caller, id: number, text: string, origin: Origin): Promise<DeclarationDetail> {
    await this.ctx.db.transaction(async (tx) => {
      await this.store.lockStatus(tx, id);
      await this.store.addAction(tx, { declarationId: id, action: 'commented', actor: caller.id, actorUserId: caller.userId ?? null, text });
      await this.store.touch(tx, id);
    });
    const d = await this.read(id);
    await this.followers.notify(id, { userId: caller.userId }, origin.base, (f) => DECLARATION_MESSAGES.commented(f, { id, title: d.title, by: byOf(caller, d), text, link: linkOf(origin.base, id) }));
    return d;
  }

  async changeStatus(caller: Caller, id: number, change: { status: Status; reason?: string | undefined; duplicateOf?: number | undefined }, origin: Origin): Promise<DeclarationDetail> {
    const to = change.status;
    const reason = change.reason ?? null;
    if (CLOSED.has(to) && !reason) {
      throw new UserError('reason-required', `Closing a declaration (${to}) needs a reason.`, { status: 400, hint: 'Give "reason": the answer the author will read.' });
    }
    if (to === 'duplicate' && change.duplicateOf === undefined) throw new UserError('duplicate-of-required', 'Marking a duplicate needs duplicateOf: the declaration it duplicates.', { status: 400 });
    if (to !== 'duplicate' && change.duplicateOf !== undefined) throw new UserError('invalid-duplicate-of', 'duplicateOf goes with the status duplicate only.', { status: 400 });
    if (change.duplicateOf === id) throw new UserError('invalid-duplicate-of', 'A declaration cannot duplicate itself.', { status: 400 });
    const { from } = await this.ctx.db.transaction(async (tx) => {
      const locked = await this.store.lockStatus(tx, id);
      checkTransition(locked.status, to);
      if (change.duplicateOf !== undefined) {
        const original = await this.store.get(change.duplicateOf, tx);
        if (!original) throw new UserError('invalid-duplicate-of', `There is no declaration ${change.duplicateOf} to merge into.`, { status: 400 });
        if (original.status === 'duplicate') throw new UserError('invalid-duplicate-of', `Declaration ${change.duplicateOf} is itself a duplicate (of ${original.duplicateOf}): merge into that one.`, { status: 400 });
      }
      await this.store.setStatus(tx, id, to, change.duplicateOf ?? null);
      await this.store.addAction(tx, {
        declarationId: id,
        action: actionOfTransition(locked.status, to),
        actor: caller.id,
        actorUserId: caller.userId ?? null,
        text: reason,
        fromStatus: locked.status,
        toStatus: to,
        details: change.duplicateOf !== undefined ? { duplicateOf: change.duplicateOf } : {},
      });
      await this.ctx.audit.record(caller, { action: 'declaration.status', target: `declaration:${id}`, details: { from: locked.status, to, reason, ...(change.duplicateOf !== undefined ? { duplicateOf: change.duplicateOf } : {}) }, ...(origin.ip ? { ip: origin.ip } : {}) }, tx);
      return { from: locked.status };
    });
    const d = await this.read(id);
    this.ctx.log.info({ declaration: id, from, to, by: caller.id }, 'declaration status changed');
    await this.followers.notify(id, { userId: caller.userId }, origin.base, (f) => DECLARATION_MESSAGES.statusChanged(f, { id, title: d.title, to, by: byOf(caller, d), reason, link: linkOf(origin.base, id) }));
    return d;
  }

  async assign(caller: Caller, id: number, to: { userId?: number | null | undefined; organisation?: string | null | undefined; text?: string | undefined }, origin: Origin): Promise<DeclarationDetail> {
    if (to.userId === undefined && to.organisation === undefined) throw new UserError('nothing-to-assign', 'Give userId and/or organisation (null to unassign).', { status: 400 });
    if (to.userId !== undefined && to.userId !== null && !(await this.store.userExists(to.userId))) throw new UserError('unknown-user', `There is no active user ${to.userId}.`, { status: 400 });
    let orgId: number | null | undefined;
    if (to.organisation !== undefined && to.organisation !== null) {
      orgId = await this.store.organisationId(to.organisation);
      if (orgId === null) throw new UserError('unknown-organisation', `There is no organisation '${to.organisation}'.`, { status: 400 });
    } else orgId = to.organisation;
    await this.ctx.db.transaction(async (tx) => {
      await this.store.lockStatus(tx, id);
      const current = await this.store.get(id, tx);
      const userId = to.userId === undefined ? (current?.assigned.user?.id ?? null) : to.userId;
      const organisationId = orgId === undefined ? (current?.assigned.organisation?.id ?? null) : orgId;
      await this.store.setAssignment(tx, id, userId, organisationId);
      await this.store.addAction(tx, { declarationId: id, action: 'assigned', actor: caller.id, actorUserId: caller.userId ?? null, text: to.text ?? null, details: { userId, organisationId } });
      await this.ctx.audit.record(caller, { action: 'declaration.assign', target: `declaration:${id}`, details: { userId, organisationId }, ...(origin.ip ? { ip: origin.ip } : {}) }, tx);
    });
    const d = await this.read(id);
    const assignee = [d.assigned.user?.displayName, d.assigned.organisation?.slug].filter((x) => x).join(' / ') || null;
    await this.followers.notify(id, { userId: caller.userId }, origin.base, (f) => DECLARATION_MESSAGES.assigned(f, { id, title: d.title, by: byOf(caller, d), to: assignee, text: to.text ?? null, link: linkOf(origin.base, id) }));
    return d;
  }

  /** Base URL of links in mails: the request's, else the configured public URL (the CLI). */
  private baseOf(origin: Origin | undefined): string {
    return origin?.base ?? (this.ctx.config.publicUrl ?? `http://${this.ctx.config.host}:${this.ctx.config.port}`).replace(/\/+$/, '');
  }
}

/** Who acted, as followers read it: the display name of the caller's user (never its e-mail address). */
function byOf(caller: Caller, d: DeclarationDetail): string {
  if (caller.kind === 'operator') return 'l’opérateur / the operator';
  const mine = d.actions.filter((a) => a.actor === caller.id).at(-1);
  return mine?.actorName ?? (caller.kind === 'anonymous' ? 'anonyme / anonymous' : caller.id);
}
const linkOf = (base: string, id: number) => `${base}/#/declarations/${id}`;

/** A Lambert-93 GeoJSON geometry in WGS84 (RFC 7946), 7 decimals. */
export function toWgs84(g: L93Geometry): L93Geometry {
  const point = (p: number[]): number[] => transformPoint('EPSG:2154', 'OGC:CRS84', [p[0] as number, p[1] as number]).map((v) => Math.round(v * 1e7) / 1e7);
  if (g.type === 'Point') return { type: 'Point', coordinates: point(g.coordinates as number[]) };
  if (g.type === 'LineString') return { type: 'LineString', coordinates: (g.coordinates as number[][]).map(point) };
  return { type: 'Polygon', coordinates: (g.coordinates as number[][][]).map((r) => r.map(point)) };
}
