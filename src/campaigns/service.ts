import type { Caller } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import { toLambert93 } from '../declarations/model.js';
import { parisToday } from '../declarations/to-update.js';
import type { Bbox } from '../grid/bbox.js';
import { DEFAULT_MAX_DALLES, dallesInBbox, parseDalleName, type DalleRef } from '../grid/dalle-grid.js';
import type { IngestReport } from '../raster/ingest/report.js';
import { UserError } from '../util/errors.js';
import { canManageCampaigns, checkCampaignTransition, RECEIVING, type Campaign, type CampaignInput, type CampaignStatus } from './model.js';
import { CampaignStore, type BuiltArea, type DeliveredCell } from './store.js';

/** Dalles one campaign may expect: the Lot is ~5 200 km², 130 000 dalles of 200 m. */
export const MAX_CAMPAIGN_DALLES = 250_000;

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
      await store.addEvent(campaignId, { actor: caller.id, action: 'created', to: 'planned', note: `${expected} dalle(s) of ${input.dalleSize} m expected` });
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
        const area = await this.store.areaOfOpenMarks();
        if (!area) throw new UserError('nothing-to-update', 'No dalle of the orthophoto is marked "to update" (open marks of standing works declarations).', { status: 400, hint: 'pcrs declarations to-update lists the marks.' });
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
        await store.addEvent(c.id, { actor: caller.id, action: 'status-changed', from: 'ordered', to: 'in-acquisition', note: 'first delivery' });
      }
      await store.addEvent(c.id, { actor: caller.id, action: 'delivery', note: `${received} dalle(s) received, ${rejected} rejected, ${outside.length} outside the area, ${unmatched.length} unmatched` });
      await this.ctx.audit.record(caller, { action: 'campaign.delivery', target: `campaign:${c.id}`, details: { delivery: id, received, rejected, outside: outside.length } }, tx);
      return id;
    });
    return { deliveryId, campaign: await this.store.get(slug), received, rejected, outside, unmatched };
  }
}

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
