import type { Caller } from '../context/access.js';
import { UserError } from '../util/errors.js';

/** What a campaign surveys. */
export const CAMPAIGN_KINDS = ['ortho', 'vector', 'mixed'] as const;
export type CampaignKind = (typeof CAMPAIGN_KINDS)[number];

/** Life of a campaign: ordered by the APLC, acquired and delivered by the contractor, checked, published. */
export const CAMPAIGN_STATUSES = ['planned', 'ordered', 'in-acquisition', 'delivered', 'checked', 'published', 'cancelled'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/**
 * The status changes an administrator may ask for (from → to). `published` is not among them: only
 * the publication itself sets it. `delivered → in-acquisition` reopens the acquisition when a
 * delivery is missing or redone; `checked → delivered` reopens the checks.
 */
export const CAMPAIGN_TRANSITIONS: Readonly<Record<CampaignStatus, readonly CampaignStatus[]>> = {
  planned: ['ordered', 'cancelled'],
  ordered: ['in-acquisition', 'cancelled'],
  'in-acquisition': ['delivered', 'cancelled'],
  delivered: ['checked', 'in-acquisition', 'cancelled'],
  checked: ['delivered', 'cancelled'],
  published: [],
  cancelled: [],
};

/** Statuses in which deliveries are received (an `ordered` campaign moves to `in-acquisition` with its first one). */
export const RECEIVING: ReadonlySet<CampaignStatus> = new Set(['ordered', 'in-acquisition', 'delivered']);

/** Throws 409 naming the transition when it does not exist. */
export function checkCampaignTransition(from: CampaignStatus, to: CampaignStatus): void {
  if (CAMPAIGN_TRANSITIONS[from].includes(to)) return;
  const allowed = CAMPAIGN_TRANSITIONS[from];
  throw new UserError(
    'invalid-transition',
    allowed.length === 0 ? `A ${from} campaign does not change status any more.` : `There is no transition ${from} → ${to}; from ${from} the campaign can go to: ${allowed.join(', ')}.`,
    { status: 409, ...(to === 'published' ? { hint: 'A campaign is published by its publication, once checked.' } : {}) },
  );
}

/** How the target area was built. */
export type AreaInput =
  | { source: 'drawn'; geometry: { type: 'Polygon'; coordinates: ReadonlyArray<ReadonlyArray<readonly number[]>>; crs?: { type: 'name'; properties: { name: string } } } }
  | { source: 'to-update' }
  | { source: 'communes'; insee: readonly string[] }
  | { source: 'older-than'; years: number };
export type AreaSource = AreaInput['source'];

export interface BudgetLine {
  label: string;
  /** What the line pays for (the financing plan's headings). */
  category: 'acquisition' | 'update' | 'control' | 'storage' | 'other';
  amountEur: number;
}

export interface CampaignInput {
  slug: string;
  title: string;
  kind: CampaignKind;
  dalleSize: 200 | 1000;
  area: AreaInput;
  /** Organisation slug of the contractor. */
  contractor?: string | undefined;
  plannedStart?: string | undefined;
  plannedEnd?: string | undefined;
  budget?: readonly BudgetLine[] | undefined;
  description?: string | undefined;
}

export type DalleState = 'expected' | 'received' | 'accepted' | 'rejected';

export interface Campaign {
  id: number;
  slug: string;
  title: string;
  kind: CampaignKind;
  status: CampaignStatus;
  dalleSize: 200 | 1000;
  areaSource: AreaSource;
  areaDetails: Record<string, unknown>;
  /** Lambert-93 [xmin, ymin, xmax, ymax] of the target area. */
  bbox: [number, number, number, number];
  areaKm2: number;
  contractor: { id: number; slug: string; name: string } | null;
  plannedStart: string | null;
  plannedEnd: string | null;
  budget: BudgetLine[];
  description: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  publishedAt: string | null;
  /** The orthophoto version its deliveries go into (unpublished until the campaign is). */
  orthoVersion: string | null;
  /** The vector PCRS version its GML deliveries go into (idem). */
  vectorVersion: string | null;
  progress: CampaignProgress;
}

/** Counts of the expected dalles by state, and of the delivered ones outside the area. */
export interface CampaignProgress {
  expected: number;
  received: number;
  accepted: number;
  rejected: number;
  missing: number;
  outside: number;
  deliveries: number;
  /** Share of the expected dalles received or accepted, 0–1. */
  receivedRatio: number;
  /** Share of the area covered by the vector deliveries (their imported areas), 0–1; null without any. */
  vectorCoverage: number | null;
}

/** Who manages campaigns: the APLC's administrators (and the operator). */
export function canManageCampaigns(caller: Caller): boolean {
  return caller.kind === 'operator' || caller.roles.has('platform-admin');
}
