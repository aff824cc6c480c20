import type { Caller } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import type { Version } from '../catalog/catalog.js';
import { toLambert93 } from '../declarations/model.js';
import { parisToday } from '../util/paris-day.js';
import type { Bbox } from '../grid/bbox.js';
import { DEFAULT_MAX_DALLES, dallesInBbox, parseDalleName, type DalleRef } from '../grid/dalle-grid.js';
import type { IngestReport } from '../raster/ingest/report.js';
import type { FileImportResult } from '../vector/import.js';
import { diffFeatures, type ClassChanges } from '../vector/diff.js';
import { queryFeatures, VECTOR_DATASET } from '../vector/store.js';
import { errorMessage, UserError } from '../util/errors.js';
import { runJob } from '../jobs/run-job.js';
import { withdrawDallesFromPyramid } from '../raster/pyramid/rebuild-file.js';
import { DeclarationStore } from '../declarations/store.js';
import { dalleBbox } from '../grid/dalle-grid.js';
import { createHash } from 'node:crypto';
import { OrthoSampler, type SeamScore } from './imagery.js';
import { canManageCampaigns, checkCampaignTransition, RECEIVING, type Campaign, type CampaignInput, type CampaignStatus } from './model.js';
import { CampaignStore, type BuiltArea, type DeliveredCell } from './store.js';

/** Dalles one campaign may expect: the Lot is ~5 200 km², 130 000 dalles of 200 m. */
export const MAX_CAMPAIGN_DALLES = 250_000;

/** Job kinds of campaigns. */
export const CHECK_JOB = 'campaigns.check';

/** What an acceptance check concluded. */
export interface CheckOutcome {
  campaign: Campaign;
  accepted: string[];
  rejected: Array<{ label: string; reason: string }>;
  /** True when it was interrupted (run it again to go on). */
  interrupted: boolean;
}

/** What a delivery did to the campaign. */
export interface DeliveryOutcome {
  deliveryId: number;
  campaign: Campaign;
  /** Dalles that passed the ingest's rules / were refused by them, inside the area. */
  received: number;
  rejected: number;
  /** Dalles delivered outside the campaign's area (flagged, not expected). */
  outside: string[];
  /** Files whose grid cell could not be told (neither georeferencing nor name), or on the other grid. */
  unmatched: string[];
}

/**
 * Update campaigns (issue 14): creation with a target area and its expected dalles, the status
 * workflow with its log, and deliveries ticking the dalles off. All SQL is in `store.ts`.
 */
export class CampaignService {
  readonly store: CampaignStore;

  constructor(private readonly ctx: AppContext) {
    this.store = new CampaignStore(ctx.db);
  }

  private requireManager(caller: Caller): void {
    if (!canManageCampaigns(caller)) throw new UserError('forbidden', 'Only the platform’s administrators manage update campaigns.', { status: 403 });
  }

  async create(caller: Caller, input: CampaignInput): Promise<Campaign> {
    this.requireManager(caller);
    if (input.plannedStart && input.plannedEnd && input.plannedEnd < input.plannedStart) {
      throw new UserError('invalid-dates', `The planned end ${input.plannedEnd} is before the planned start ${input.plannedStart}.`, { status: 400 });
    }
    const contractorId = input.contractor ? await this.organisationId(input.contractor) : null;
    const area = await this.buildArea(input);
    const id = await this.ctx.db.transaction(async (tx) => {
      const store = this.store.with(tx);
      const campaignId = await store.insert({
        slug: input.slug,
        title: input.title,
        kind: input.kind,
        dalleSize: input.dalleSize,
        area,
        areaSource: input.area.source,
        contractorId,
        plannedStart: input.plannedStart ?? null,
        plannedEnd: input.plannedEnd ?? null,
        budget: input.budget ?? [],
        description: input.description ?? null,
        createdBy: caller.id,
      });
      const candidates = dallesInBbox((await store.areaBbox(campaignId)) as Bbox, input.dalleSize, Math.min(DEFAULT_MAX_DALLES, MAX_CAMPAIGN_DALLES));
      const expected = await store.expect(campaignId, candidates);
      await store.addEvent(campaignId, { actor: caller.id, action: 'created', to: 'planned', note: `${expected} dalle(s) de ${input.dalleSize} m attendue(s)` });
      await this.ctx.audit.record(caller, { action: 'campaign.create', target: `campaign:${campaignId}`, details: { slug: input.slug, areaSource: input.area.source, expected } }, tx);
      return campaignId;
    });
    this.ctx.log.info({ campaign: input.slug, id }, 'campaign created');
    return this.store.get(input.slug);
  }

  private async organisationId(slug: string): Promise<number> {
    const { rows } = await this.ctx.db.query<{ id: string }>(`SELECT id FROM organisations WHERE slug = $1`, [slug]);
    if (!rows[0]) throw new UserError('unknown-organisation', `No organisation '${slug}'.`, { status: 400, hint: 'pcrs org list shows them.' });
    return Number(rows[0].id);
  }

  /** The target area as Lambert-93 GeoJSON, from what the input says it is built from. */
  private async buildArea(input: CampaignInput): Promise<BuiltArea> {
    const a = input.area;
    switch (a.source) {
      case 'drawn':
        return { geojson: JSON.stringify(toLambert93(a.geometry, this.ctx.config.territory.extent as Bbox)), details: {} };
      case 'to-update': {
        const area = await this.store.areaOfOpenMarks(input.kind);
        if (!area) throw new UserError('nothing-to-update', `Nothing ${input.kind === 'ortho' ? 'of the orthophoto' : input.kind === 'vector' ? 'of the vector PCRS' : 'of the orthophoto nor of the vector PCRS'} is marked "to update" (open marks of standing works declarations).`, { status: 400, hint: 'pcrs declarations to-update lists the marks.' });
        return area;
      }
      case 'communes':
        return this.store.areaOfCommunes([...new Set(a.insee)]);
      case 'older-than': {
        const before = new Date(`${parisToday()}T00:00:00Z`);
        before.setUTCFullYear(before.getUTCFullYear() - a.years);
        const area = await this.store.areaOfDallesOlderThan(before.toISOString().slice(0, 10));
        if (!area) throw new UserError('nothing-older', `No dalle of the current orthophoto was acquired more than ${a.years} year(s) ago.`, { status: 400 });
        return area;
      }
    }
  }

  /** Moves a campaign to another status (not `published`: see the publication), logged and audited. */
  async changeStatus(caller: Caller, slug: string, to: CampaignStatus, note: string | null = null): Promise<Campaign> {
    this.requireManager(caller);
    const c = await this.store.get(slug);
    checkCampaignTransition(c.status, to);
    if (to === 'delivered' && c.progress.deliveries === 0) throw new UserError('no-delivery', `Campaign '${slug}' has received no delivery yet.`, { status: 409 });
    if (to === 'checked' && c.progress.received > 0) {
      throw new UserError('dalles-unchecked', `${c.progress.received} dalle(s) of campaign '${slug}' are received but not checked yet.`, { status: 409 });
    }
    await this.ctx.db.transaction(async (tx) => {
      const store = this.store.with(tx);
      if (!(await store.setStatus(c.id, c.status, to))) throw new UserError('campaign-changed', `Campaign '${slug}' changed meanwhile; look at it again.`, { status: 409 });
      await store.addEvent(c.id, { actor: caller.id, action: 'status-changed', from: c.status, to, note });
      await this.ctx.audit.record(caller, { action: 'campaign.status', target: `campaign:${c.id}`, details: { from: c.status, to } }, tx);
    });
    const WHAT: Partial<Record<CampaignStatus, [string, string]>> = { ordered: ['commandée', 'ordered'], cancelled: ['annulée', 'cancelled'], checked: ['vérifiée', 'checked'] };
    const what = WHAT[to];
    if (what) await this.tell(c, what[0], note ?? '', what[1]);
    return this.store.get(slug);
  }

  /**
   * Checks that a delivery may go into the campaign (receiving, acquisition date within the
   * planned window) and returns the orthophoto version it goes into: `campaign-<slug>`, an update
   * version left unpublished until the campaign is.
   */
  async prepareDelivery(caller: Caller, slug: string, acquiredOn: string | null): Promise<{ campaign: Campaign; versionName: string }> {
    this.requireManager(caller);
    const c = await this.store.get(slug);
    this.checkReceiving(c, acquiredOn);
    if (c.kind === 'vector') throw new UserError('wrong-campaign-kind', `Campaign '${slug}' is a vector survey: it takes no orthophoto dalles.`, { status: 409 });
    const versionName = `campaign-${c.slug}`;
    const version = await this.ctx.catalog.ensureVersion({ datasetId: 'ortho', name: versionName, kind: 'update', campaign: c.slug, acquisitionDate: acquiredOn, description: `Campagne de mise à jour « ${c.title} »` });
    if (version.status !== 'ingesting') throw new UserError('campaign-version-published', `The version ${versionName} is already ${version.status}.`, { status: 409 });
    await this.store.setOrthoVersion(c.id, version.id);
    return { campaign: c, versionName };
  }

  /** `prepareDelivery` for the vector PCRS: GML files go into the campaign's update version `campaign-<slug>` of the vector dataset, unpublished. */
  async prepareVectorDelivery(caller: Caller, slug: string, acquiredOn: string | null): Promise<{ campaign: Campaign; versionName: string }> {
    this.requireManager(caller);
    const c = await this.store.get(slug);
    this.checkReceiving(c, acquiredOn);
    if (c.kind === 'ortho') throw new UserError('wrong-campaign-kind', `Campaign '${slug}' is an orthophoto survey: it takes no vector files.`, { status: 409 });
    const versionName = `campaign-${c.slug}`;
    const version = await this.ctx.catalog.ensureVersion({ datasetId: 'vector', name: versionName, kind: 'update', campaign: c.slug, acquisitionDate: acquiredOn, description: `Campagne de mise à jour « ${c.title} »` });
    if (version.status !== 'ingesting') throw new UserError('campaign-version-published', `The version ${versionName} is already ${version.status}.`, { status: 409 });
    await this.store.setVectorVersion(c.id, version.id);
    return { campaign: c, versionName };
  }

  /** Logs a GML delivery imported into the campaign's vector version: files imported or refused, those outside the area flagged, the area covered. */
  async recordGmlImport(caller: Caller, slug: string, results: readonly FileImportResult[], acquiredOn: string | null): Promise<{ deliveryId: number; campaign: Campaign; outside: string[] }> {
    this.requireManager(caller);
    const c = await this.store.get(slug);
    const imported = results.filter((r) => r.status === 'imported');
    const rejected = results.filter((r) => r.status === 'rejected');
    const outside = await this.store.vectorImportsOutside(c.id);
    const deliveryId = await this.ctx.db.transaction(async (tx) => {
      const store = this.store.with(tx);
      const status = await store.lockStatus(c.id);
      if (!RECEIVING.has(status)) throw new UserError('campaign-not-receiving', `Campaign '${slug}' became ${status} during the delivery: it is not recorded.`, { status: 409 });
      const id = await store.addDelivery(c.id, {
        source: 'gml-import',
        label: results.map((r) => r.file.split('/').pop()).join(', ') || '(no file)',
        acquiredOn,
        receivedBy: caller.id,
        summary: { files: results.length, imported: imported.length, rejected: rejected.map((r) => ({ file: r.file.split('/').pop(), reason: r.reason ?? null })), features: imported.reduce((n, r) => n + r.features, 0), outside },
      });
      if (status === 'ordered') {
        await store.setStatus(c.id, 'ordered', 'in-acquisition');
        await store.addEvent(c.id, { actor: caller.id, action: 'status-changed', from: 'ordered', to: 'in-acquisition', note: 'première livraison' });
      }
      await store.addEvent(c.id, { actor: caller.id, action: 'delivery', note: `${imported.length} fichier(s) GML importé(s), ${rejected.length} refusé(s), ${outside.length} hors zone` });
      await this.ctx.audit.record(caller, { action: 'campaign.delivery', target: `campaign:${c.id}`, details: { delivery: id, imported: imported.length, rejected: rejected.length, outside: outside.length } }, tx);
      return id;
    });
    return { deliveryId, campaign: await this.store.get(slug), outside };
  }

  /**
   * Whether an organisation may send a contribution of this kind as a delivery of the campaign:
   * the campaign exists (else 400), surveys that kind, receives now, has the organisation as its
   * contractor and the survey date falls in its window. Returns the campaign.
   */
  async checkContribution(slug: string, kind: 'raster' | 'vector', organisationId: number, surveyedOn: string | null): Promise<Campaign> {
    const c = await this.store.get(slug).catch((e: unknown) => {
      throw e instanceof UserError && e.status === 404 ? new UserError('unknown-campaign', `There is no campaign '${slug}'.`, { status: 400 }) : e;
    });
    if ((kind === 'raster' && c.kind === 'vector') || (kind === 'vector' && c.kind === 'ortho')) {
      throw new UserError('wrong-campaign-kind', `Campaign '${slug}' is ${c.kind === 'vector' ? 'a vector survey: it takes no orthophoto dalles' : 'an orthophoto survey: it takes no vector files'}.`, { status: 409 });
    }
    if (c.contractor?.id !== organisationId) {
      throw new UserError('not-the-contractor', `Only the contractor of campaign '${slug}'${c.contractor ? ` (${c.contractor.slug})` : ''} sends its deliveries.`, { status: 403 });
    }
    this.checkReceiving(c, surveyedOn);
    return c;
  }

  private checkReceiving(c: Campaign, acquiredOn: string | null): void {
    if (!RECEIVING.has(c.status)) {
      throw new UserError('campaign-not-receiving', `Campaign '${c.slug}' is ${c.status}: it receives no delivery (only once ordered, until checked).`, { status: 409 });
    }
    if (c.plannedStart || c.plannedEnd) {
      if (!acquiredOn) throw new UserError('acquisition-date-required', `Give the delivery's acquisition date: campaign '${c.slug}' runs ${c.plannedStart ?? '…'} – ${c.plannedEnd ?? '…'}.`, { status: 400 });
      if ((c.plannedStart && acquiredOn < c.plannedStart) || (c.plannedEnd && acquiredOn > c.plannedEnd)) {
        throw new UserError('acquisition-date-outside', `The acquisition date ${acquiredOn} is outside campaign '${c.slug}' (${c.plannedStart ?? '…'} – ${c.plannedEnd ?? '…'}).`, { status: 400 });
      }
    }
  }

  /**
   * Ticks off the dalles an ingest into the campaign's version received or refused (with the
   * reason), flags those outside the area, logs the delivery; an `ordered` campaign moves to
   * `in-acquisition`. Refused (409) when the campaign stopped receiving while the ingest ran.
   */
  async recordIngest(caller: Caller, slug: string, report: IngestReport, acquiredOn: string | null): Promise<DeliveryOutcome> {
    this.requireManager(caller);
    const c = await this.store.get(slug);
    const cells = new Map<string, DeliveredCell & { file: string }>();
    const unmatched: string[] = [];
    for (const d of report.dalles) {
      if (d.status === 'skipped') continue;
      const ref = cellOf(d.cell) ?? refFromName(d.file);
      if (!ref || ref.size !== c.dalleSize) {
        unmatched.push(d.file);
        continue;
      }
      const reason = d.status === 'rejected' ? d.findings.filter((f) => f.severity === 'error').map((f) => f.message).join(' ').slice(0, 2000) || 'refused by the ingest' : null;
      cells.set(`${ref.col}:${ref.row}`, { ref, state: d.status === 'rejected' ? 'rejected' : 'received', reason, dalleId: d.dalleId ?? null, file: d.file });
    }
    const expected = await this.store.expectedCells(c.id);
    const inside = [...cells.entries()].filter(([k]) => expected.has(k)).map(([, v]) => v);
    const outside = [...cells.entries()].filter(([k]) => !expected.has(k)).map(([, v]) => v.file);
    const received = inside.filter((x) => x.state === 'received').length;
    const rejected = inside.length - received;
    const deliveryId = await this.ctx.db.transaction(async (tx) => {
      const store = this.store.with(tx);
      const status = await store.lockStatus(c.id);
      if (!RECEIVING.has(status)) throw new UserError('campaign-not-receiving', `Campaign '${slug}' became ${status} during the delivery: it is not recorded.`, { status: 409 });
      const id = await store.addDelivery(c.id, {
        source: 'ingest',
        label: report.delivery,
        acquiredOn,
        receivedBy: caller.id,
        summary: { ...report.summary, received, rejected, outside: outside.length, unmatched: unmatched.length },
      });
      await store.deliver(c.id, id, [...cells.values()]);
      if (status === 'ordered') {
        await store.setStatus(c.id, 'ordered', 'in-acquisition');
        await store.addEvent(c.id, { actor: caller.id, action: 'status-changed', from: 'ordered', to: 'in-acquisition', note: 'première livraison' });
      }
      await store.addEvent(c.id, { actor: caller.id, action: 'delivery', note: `${received} dalle(s) reçue(s), ${rejected} refusée(s), ${outside.length} hors zone, ${unmatched.length} non rattachée(s) à la grille` });
      await this.ctx.audit.record(caller, { action: 'campaign.delivery', target: `campaign:${c.id}`, details: { delivery: id, received, rejected, outside: outside.length } }, tx);
      return id;
    });
    return { deliveryId, campaign: await this.store.get(slug), received, rejected, outside, unmatched };
  }

  /**
   * The acceptance check of the received dalles (a persistent job, resumable): radiometric
   * consistency at the seams — the mean colour difference along each edge with the imagery across
   * it (the campaign's own neighbouring dalle, else the current orthophoto) must stay within
   * `campaigns.seamThreshold`. Accepted dalles wait for the publication; refused ones get the
   * reason and leave the campaign's version and its pyramid (the current orthophoto stays there).
   */
  /**
   * Mails the contractor's members about a step of the campaign (French, then English), as the other
   * workflows tell their people; a mail that cannot go is logged, never fails the step.
   */
  private async tell(c: Pick<Campaign, 'id' | 'slug' | 'title'>, what: string, text: string, english: string): Promise<void> {
    try {
      const link = `${this.ctx.config.publicUrl ?? ''}/#/campagnes/${c.slug}`;
      for (const r of await this.store.contractorRecipients(c.id)) {
        await this.ctx.mail.send({
          to: r.email,
          subject: `Campagne ${what} — ${c.title}`,
          text: `Bonjour ${r.name},\n\nLa campagne de mise à jour « ${c.title} » est ${what}.\n${text ? `\n${text}\n` : ''}\n${link}\n\n— English —\nThe update campaign "${c.title}": ${english}.\n${link}\n`,
        });
      }
    } catch (e) {
      this.ctx.log.warn({ err: errorMessage(e), campaign: c.slug }, 'campaigns: the contractor could not be told');
    }
  }

  /** Throws what `check` would refuse with before it starts (403, 404, 409). */
  async assertCheckable(caller: Caller, slug: string): Promise<Campaign> {
    this.requireManager(caller);
    const c = await this.store.get(slug);
    if (!RECEIVING.has(c.status)) throw new UserError('campaign-not-checking', `Campaign '${slug}' is ${c.status}: its dalles are checked while it is in acquisition or delivered.`, { status: 409 });
    return c;
  }

  async check(caller: Caller, slug: string, options: { signal?: AbortSignal; onProgress?: (done: number, total: number | null, message?: string) => void } = {}): Promise<CheckOutcome> {
    const c = await this.assertCheckable(caller, slug);
    const received = await this.store.receivedDalles(c.id);
    const outside = await this.store.outsideDalles(c.id);
    if ((received.length === 0 && outside.length === 0) || !c.orthoVersion) return { campaign: c, accepted: [], rejected: [], interrupted: false };
    const version = await this.ctx.catalog.getVersion('ortho', c.orthoVersion);
    const threshold = this.ctx.config.campaigns.seamThreshold;
    const fingerprint = createHash('sha256').update(JSON.stringify([received, threshold])).digest('hex').slice(0, 16);
    const job = await this.ctx.jobs.findOrCreate(CHECK_JOB, `${CHECK_JOB}:${c.id}:${fingerprint}`, { campaign: c.slug, dalles: received.length });
    type Checkpoint = { scores: Record<string, SeamScore> };
    const scores = await runJob<Checkpoint, Checkpoint | null>(
      this.ctx.jobs,
      job,
      async (jc) => {
        const done: Record<string, SeamScore> = { ...(jc.checkpoint?.scores ?? {}) };
        const sampler = new OrthoSampler(this.ctx);
        try {
          for (const [i, d] of received.entries()) {
            if (done[d.label]) continue;
            if (jc.signal.aborted) return null;
            done[d.label] = await sampler.seam(version, dalleBbox({ size: c.dalleSize, col: d.col, row: d.row }));
            await jc.progress(i + 1, received.length, `dalle ${d.label}`, { scores: done });
          }
        } finally {
          await sampler.close();
        }
        return { scores: done };
      },
      { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) },
    );
    if (!scores) return { campaign: c, accepted: [], rejected: [], interrupted: true };
    const results = received.map((d) => {
      const s = scores.scores[d.label] ?? { score: null, edge: null };
      const accepted = s.score === null || s.score <= threshold;
      const reason = accepted
        ? null
        : `Raccord radiométrique : écart de couleur moyen ${s.score} (sur 255) le long du bord ${EDGE_FR[s.edge ?? 'north']}, au-delà du seuil ${threshold}.`;
      return { ...d, accepted, reason, score: s.score, edge: s.edge };
    });
    // Delivered outside the area: flagged at delivery, never published with the campaign.
    for (const d of outside) results.push({ ...d, accepted: false, reason: 'En dehors de la zone de la campagne.', score: null, edge: null });
    const refused = results.filter((r) => !r.accepted);
    // Out of the version (and its pyramid) before the states say so: a crash in between leaves them
    // `received`, and the next check refuses them again.
    const refusedDalles = [];
    for (const r of refused) {
      if (r.dalleId === null) continue;
      const d = (await this.ctx.catalog.listDalles({ versionId: version.id, bbox: dalleBbox({ size: c.dalleSize, col: r.col, row: r.row }) })).find((x) => x.id === r.dalleId);
      if (d && d.state !== 'withdrawn') refusedDalles.push(d);
    }
    await withdrawDallesFromPyramid(this.ctx, version, refusedDalles, options.signal);
    await this.ctx.db.transaction(async (tx) => {
      const store = this.store.with(tx);
      await store.recordChecks(c.id, results);
      await store.addEvent(c.id, { actor: caller.id, action: 'checked', note: `${results.length - refused.length} dalle(s) acceptée(s), ${refused.length} refusée(s) (seuil de raccord ${threshold})` });
      await this.ctx.audit.record(caller, { action: 'campaign.check', target: `campaign:${c.id}`, details: { accepted: results.length - refused.length, refused: refused.length, threshold } }, tx);
    });
    if (refused.length > 0) {
      const lines = refused.map((r) => `- ${r.label} : ${r.reason ?? ''}`).join('\n');
      await this.tell(c, 'vérifiée en partie', `${results.length - refused.length} dalle(s) acceptée(s), ${refused.length} refusée(s) à livrer de nouveau :\n${lines}`, `${refused.length} dalle(s) refused, to be delivered again`);
    }
    return {
      campaign: await this.store.get(slug),
      accepted: results.filter((r) => r.accepted).map((r) => r.label),
      rejected: refused.map((r) => ({ label: r.label, reason: r.reason as string })),
      interrupted: false,
    };
  }

  /**
   * Publishes a checked campaign: its version goes above the others and is published and the
   * campaign becomes `published` in one transaction, so readers see the whole campaign or none of
   * it; then the "to update" marks its accepted dalles cover are consumed.
   */
  async publish(caller: Caller, slug: string): Promise<Campaign> {
    this.requireManager(caller);
    const c = await this.store.get(slug);
    if (c.status !== 'checked') {
      throw new UserError('campaign-not-checked', `Campaign '${slug}' is ${c.status}: only a checked campaign is published.`, { status: 409, hint: `pcrs campaigns check ${slug}, then pcrs campaigns status ${slug} checked.` });
    }
    const hasOrtho = c.progress.accepted > 0 && c.orthoVersion !== null;
    const hasVector = c.progress.vectorCoverage !== null && c.vectorVersion !== null;
    if (!hasOrtho && !hasVector) throw new UserError('nothing-accepted', `Campaign '${slug}' has no accepted dalle nor imported vector file to publish.`, { status: 409 });
    const vectorVersion = hasVector ? await this.ctx.catalog.getVersion('vector', c.vectorVersion as string) : null;
    // What it changes, computed while the current PCRS is still the one it replaces, written with the
    // switch (a publication that loses a race writes nothing computed after the other's switch).
    let vectorChanges: VectorChanges | null = null;
    if (vectorVersion) {
      const common = { datasetId: VECTOR_DATASET, outSrid: 2154 as const, decimals: 3 };
      const [after, before] = await Promise.all([queryFeatures(this.ctx.db, { ...common, versionId: vectorVersion.id }), queryFeatures(this.ctx.db, { ...common, replacedBy: vectorVersion.id })]);
      const diff = diffFeatures(vectorVersion.name, after, before, null);
      vectorChanges = { summary: diff.summary, byClass: diff.byClass };
    }
    const version = hasOrtho ? await this.ctx.catalog.getVersion('ortho', c.orthoVersion as string) : null;
    // What changed, dalle by dalle, against the current orthophoto.
    const scores: ChangeScores = [];
    if (version) {
      const sampler = new OrthoSampler(this.ctx);
      try {
        for (const d of await this.store.acceptedDalles(c.id)) scores.push({ ...d, score: await sampler.changeScore(version, dalleBbox({ size: c.dalleSize, col: d.col, row: d.row })) });
      } finally {
        await sampler.close();
      }
    }
    return this.publishVersions(caller, c, version, vectorVersion, { vectorChanges, scores });
  }

  /**
   * The switch: the campaign's versions raised above the others and published, the "to update"
   * marks they cover consumed, the campaign marked published — one transaction, so readers see all
   * of it or none, and a crash (a killed process, a lost connection) leaves the previous state
   * served and the campaign `checked`, to publish again. The mail follows the commit.
   */
  private async publishVersions(caller: Caller, c: Campaign, version: Version | null, vectorVersion: Version | null, changes: { vectorChanges: VectorChanges | null; scores: ChangeScores }): Promise<Campaign> {
    const slug = c.slug;
    const versions = [version, vectorVersion].filter((v): v is Version => v !== null);
    const names = versions.map((v) => v.name);
    await this.ctx.db.transaction(async (tx) => {
      const store = this.store.with(tx);
      if ((await store.lockStatus(c.id)) !== 'checked') throw new UserError('campaign-changed', `Campaign '${slug}' changed meanwhile; look at it again.`, { status: 409 });
      await store.recordChangeScores(c.id, changes.scores);
      if (changes.vectorChanges) await store.setVectorChanges(c.id, changes.vectorChanges);
      const catalog = this.ctx.catalog.with(tx);
      for (const v of versions) {
        await catalog.raiseVersionToTop(v.id);
        await catalog.setVersionStatus(v.id, 'published');
      }
      if (!(await store.markPublished(c.id))) throw new UserError('campaign-changed', `Campaign '${slug}' changed meanwhile; look at it again.`, { status: 409 });
      await store.addEvent(c.id, { actor: caller.id, action: 'published', from: 'checked', to: 'published', note: `version(s) ${names.join(', ')}` });
      // What the campaign answered: the "to update" marks its accepted dalles and imported vector areas cover.
      const marks = new DeclarationStore(tx);
      let consumed = 0;
      for (const v of versions) consumed += await marks.consumeMarksCoveredBy({ id: v.id, datasetId: v.datasetId }, `campaign:${slug}`);
      if (consumed > 0) await store.addEvent(c.id, { actor: caller.id, action: 'marks-consumed', note: `${consumed} zone(s) « à mettre à jour » traitée(s)` });
      await this.ctx.audit.record(caller, { action: 'campaign.publish', target: `campaign:${c.id}`, details: { versions: names } }, tx);
    });
    this.ctx.log.info({ campaign: slug, versions: names }, 'campaign published');
    await this.tell(c, 'publiée', `Ce qu’elle a livré et qui a été accepté fait maintenant partie du PCRS actuel (version(s) ${names.join(', ')}).`, `published as version(s) ${names.join(', ')}`);
    return this.store.get(slug);
  }
}

type VectorChanges = { summary: ClassChanges; byClass: Record<string, ClassChanges> };
type ChangeScores = Array<{ col: number; row: number; score: number | null }>;

const EDGE_FR: Record<NonNullable<SeamScore['edge']>, string> = { north: 'nord', south: 'sud', east: 'est', west: 'ouest' };

/** The grid cell of an ingest report's `cell` (`EPSG:2154:1000:575:6374`); null for another CRS. */
function cellOf(cell: string | undefined): DalleRef | null {
  const m = cell ? /^EPSG:2154:(1000|200):(-?\d+):(-?\d+)$/.exec(cell) : null;
  return m ? { size: Number(m[1]) as 200 | 1000, col: Number(m[2]), row: Number(m[3]) } : null;
}

/** The grid cell a file's name says (a dalle refused before its georeferencing was read). */
function refFromName(file: string): DalleRef | null {
  try {
    return parseDalleName(file.split('/').pop() ?? file).ref;
  } catch {
    return null;
  }
}