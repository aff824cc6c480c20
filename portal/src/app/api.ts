/**
 * The one client of the platform's HTTP API for every screen. Its types mirror the API of
 * /api/v1 (docs/portal.md; contract of issue 10): change them together with the server's schemas.
 * Cookies go along (`credentials: 'same-origin'`); every write carries the session's CSRF token
 * (`X-CSRF-Token`, from GET /api/v1/auth/session); every failure is an `ApiError` built from the
 * server's problem+json, which the screens show in the user's language (errors.ts).
 */

export const ROLES = ['platform-admin', 'moderator', 'org-admin', 'member', 'contractor', 'technical'] as const;
export type Role = (typeof ROLES)[number];
export const PLATFORM_ROLES = ['platform-admin', 'moderator', 'technical'] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];
export const SCOPES = ['read', 'downloads', 'declarations:write', 'contributions:write', 'archive:restore', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
export const ORGANISATION_KINDS = ['aplc', 'departement', 'state-service', 'fire-service', 'epci', 'commune', 'company', 'technical-partner', 'other'] as const;
export type OrganisationKind = (typeof ORGANISATION_KINDS)[number];
export const MEMBER_ROLES = ['org-admin', 'member', 'contractor'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
export type MembershipStatus = 'requested' | 'active' | 'refused';
export type Language = 'fr' | 'en';
export type Visibility = 'public' | 'restricted';

export interface MyOrganisation {
  id: number;
  slug: string;
  name: string;
  kind: OrganisationKind;
  role: MemberRole;
  status: MembershipStatus;
}

export interface Me {
  id: number;
  email: string;
  displayName: string;
  language: Language;
  roles: Role[];
  platformRoles: PlatformRole[];
  organisations: MyOrganisation[];
}

export interface SessionInfo {
  user: Me | null;
  csrfToken: string | null;
  signup: boolean;
  oidc: { label: string } | null;
}

/** GeoJSON geometry (WGS84, or with an EPSG:2154 `crs` member). */
export interface Geometry {
  type: string;
  coordinates: unknown;
  crs?: unknown;
}

export interface Organisation {
  id: number;
  slug: string;
  name: string;
  kind: OrganisationKind;
  siren: string | null;
  insee: string | null;
  emailDomains: string[];
  hasArea: boolean;
  /** The signed-in user's e-mail domain is one of the organisation's. */
  suggested?: boolean;
}

export interface NewOrganisation {
  slug: string;
  name: string;
  kind: OrganisationKind;
  siren?: string;
  insee?: string;
  emailDomains?: string[];
  area?: Geometry;
}

export interface Member {
  userId: number;
  email: string;
  displayName: string;
  role: MemberRole;
  status: MembershipStatus;
  /** What the applicant wrote with the request. */
  message?: string | null;
  requestedAt: string;
  decidedAt?: string | null;
}

export interface User {
  id: number;
  email: string;
  displayName: string;
  platformRoles: PlatformRole[];
  disabled: boolean;
  language?: Language;
  emailVerifiedAt?: string | null;
  createdAt?: string;
  hasPassword?: boolean;
  /** Signs in with the OpenID provider. */
  oidc?: boolean;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  actorUserId: number | null;
  organisationId: number | null;
  action: string;
  target: string | null;
  details: unknown;
  ip: string | null;
}

export interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  scopes: Scope[];
  organisationId: number | null;
  expiresAt: string | null;
  allowedCidrs: string[];
  allowedReferers: string[];
  createdAt: string;
  lastUsedAt: string | null;
  requestCount: number;
  revokedAt: string | null;
}

/** The answer to a key creation: the key text, shown once and never again. */
export interface CreatedKey extends ApiKey {
  key: string;
}

export interface NewKey {
  name: string;
  scopes: Scope[];
  organisation?: string;
  expiresAt?: string;
  allowedCidrs?: string[];
  allowedReferers?: string[];
}

export interface Permission {
  id: number;
  /** The grantee: an organisation or a user (one of the two). */
  organisation: { id: number; slug: string } | null;
  user: { id: number; email: string } | null;
  dataset: string;
  version: string | null;
  /** GeoJSON perimeter (EPSG:2154), null when the whole dataset. */
  perimeter: unknown;
  validUntil: string | null;
  charter: string | null;
  grantedBy: number | null;
  grantedAt: string;
  revokedAt: string | null;
}

export interface NewPermission {
  organisation?: string;
  user?: string;
  dataset: string;
  version?: string;
  perimeter?: Geometry;
  until?: string;
  charter?: string;
}

export interface DatasetVersionAccess {
  name: string;
  status: string;
  visibility: Visibility | null;
  effectiveVisibility: Visibility;
}

export interface DatasetAccess {
  id: string;
  kind: string;
  title: string;
  visibility: Visibility;
  versions: DatasetVersionAccess[];
}

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  territory: { code: string; name: string };
}

export interface VersionRow {
  datasetId: string;
  name: string;
  status: string;
  acquisitionDate: string | null;
  dalleCount: number;
  coverageKm2: number;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  from?: string;
  to?: string;
  before?: string;
  limit?: number;
}

// --- declarations (issue 11; src/declarations/routes.ts and the contract of the issue's helpers) ---
export const DECLARATION_TYPES = ['error', 'update-request', 'works', 'intervention'] as const;
export type DeclarationType = (typeof DECLARATION_TYPES)[number];
export const DECLARATION_STATUSES = ['submitted', 'acknowledged', 'in-progress', 'resolved', 'rejected', 'duplicate'] as const;
export type DeclarationStatus = (typeof DECLARATION_STATUSES)[number];
/** Closing statuses: a reason is required to reach them. */
export const CLOSING_STATUSES: readonly DeclarationStatus[] = ['resolved', 'rejected', 'duplicate'];
/** The transitions the server accepts (from → to); reopening is closed → submitted. */
export const TRANSITIONS: Readonly<Record<DeclarationStatus, readonly DeclarationStatus[]>> = {
  submitted: ['acknowledged', 'in-progress', 'resolved', 'rejected', 'duplicate'],
  acknowledged: ['in-progress', 'resolved', 'rejected', 'duplicate'],
  'in-progress': ['resolved', 'rejected', 'duplicate'],
  resolved: ['submitted'],
  rejected: ['submitted'],
  duplicate: ['submitted'],
};
/** "Travaux impactant le PCRS" theme codes of the DT-DICT forms. */
export const WORKS_THEMES = ['02', '03A', '03B', '04', '05', '06', '07', '08', '09', '10'] as const;
export type WorksTheme = (typeof WORKS_THEMES)[number];

/** A GeoJSON geometry in Lambert-93 (no crs member). */
export interface L93Geometry {
  type: 'Point' | 'LineString' | 'Polygon';
  coordinates: number[] | number[][] | number[][][];
}

export interface Declaration {
  id: number;
  type: DeclarationType;
  /** WGS84 (RFC 7946). */
  geometry: L93Geometry;
  geometryLambert93: L93Geometry;
  title: string;
  description: string;
  layer: { dataset: string; version: string | null } | null;
  author: { userId: number | null; actor: string; displayName: string | null; organisation: { id: number; slug: string } | null };
  status: DeclarationStatus;
  assigned: { user: { id: number; displayName: string } | null; organisation: { id: number; slug: string } | null };
  works: { dtDictRef: string | null; plannedStart: string | null; plannedEnd: string | null; themes: WorksTheme[] } | null;
  duplicateOf: number | null;
  createdAt: string;
  updatedAt: string;
}

export type DeclarationActionKind = 'opened' | 'commented' | 'status-changed' | 'assigned' | 'merged-duplicate' | 'closed' | 'reopened';

export interface DeclarationAction {
  id: number;
  action: DeclarationActionKind | (string & {});
  actor: string;
  actorUserId: number | null;
  actorName: string | null;
  at: string;
  text: string | null;
  fromStatus: DeclarationStatus | null;
  toStatus: DeclarationStatus | null;
  details: Record<string, unknown>;
}

export interface Attachment {
  id: number;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  createdAt: string;
}

export interface DeclarationDetail extends Declaration {
  actions: DeclarationAction[];
  dalles: Array<{ name: string; dataset: string; version: string }>;
  /** From the attachments endpoints (absent on a server without them). */
  attachments?: Attachment[];
  /** Whether the caller follows it (absent on a server without subscriptions). */
  subscribed?: boolean;
}

export interface NewDeclaration {
  type: DeclarationType;
  title: string;
  description: string;
  /** WGS84, or Lambert-93 with a crs member naming EPSG:2154. */
  geometry: Geometry;
  layer?: { dataset: string; version?: string } | null;
  organisation?: string;
  works?: { dtDictRef?: string; plannedStart?: string; plannedEnd?: string; themes?: WorksTheme[] };
}

export interface DeclarationQuery {
  /** Lambert-93 (sent with bbox-crs=EPSG:2154). */
  bbox?: readonly [number, number, number, number];
  status?: readonly DeclarationStatus[];
  type?: readonly DeclarationType[];
  theme?: WorksTheme;
  organisation?: string;
  author?: 'me';
  limit?: number;
  offset?: number;
}

export interface DeclarationPage {
  total: number;
  limit: number;
  offset: number;
  declarations: Declaration[];
}

export interface BulkAction {
  ids: number[];
  status?: { status: DeclarationStatus; reason?: string; duplicateOf?: number };
  assign?: { userId?: number | null; organisation?: string | null };
  comment?: string;
}

export type BulkResult = { id: number; ok: true; done?: string[] } | { id: number; ok: false; error: { code: string; message: string } };

export interface DeclarationStats {
  months: Array<{ month: string; type: DeclarationType; opened: number; closed: number }>;
  resolution: Array<{ type: DeclarationType; closed: number; medianHours: number | null }>;
  open: Array<{ type: DeclarationType; status: DeclarationStatus; count: number }>;
}

/** What usage statistics may be grouped by (GET /api/v1/stats). */
export type UsageGroup = 'day' | 'month' | 'org' | 'key' | 'layer' | 'service' | 'status';
export interface UsageRow {
  day?: string;
  month?: string;
  organisation?: { id: number; slug: string | null; name: string; deleted: boolean } | null;
  key?: { id: number; name: string; prefix: string | null; deleted: boolean } | null;
  layer?: string;
  service?: string;
  status?: string;
  requests: number;
  bytes: number;
}
export interface UsageStats {
  from: string;
  to: string;
  granularity: 'day' | 'month';
  groupBy: UsageGroup[];
  scope: 'all' | 'own';
  rows: UsageRow[];
  totals: { requests: number; bytes: number };
}
export interface UsageQuery {
  from: string;
  to: string;
  groupBy: readonly UsageGroup[];
  service?: string | undefined;
}
export interface UsageAreas {
  from: string;
  to: string;
  cellSize: number;
  cells: Array<{ cellX: number; cellY: number; requests: number; bbox: [number, number, number, number] }>;
}

/** The financing plan (GET /api/v1/financing/plan): see src/financing/model.ts. */
export const FINANCING_LINES = ['acquisition', 'update', 'storage', 'contributions', 'access', 'usage'] as const;
export type FinancingLine = (typeof FINANCING_LINES)[number];
export const FINANCING_METHODS = ['fixed', 'population', 'area', 'network', 'usage'] as const;
export type FinancingMethod = (typeof FINANCING_METHODS)[number];
export const FUNDERS = ['feder', 'state', 'region', 'partner', 'other'] as const;
export type Funder = (typeof FUNDERS)[number];
export interface OrgRef {
  id: number;
  slug: string;
  name: string;
}
export interface FinancingSource {
  kind: 'entry' | 'campaign-budget' | 'measured-storage' | 'contribution';
  ref: string;
  label: string;
  amountEur: number;
}
export interface FinancingPlan {
  year: number;
  currency: 'EUR';
  lines: Array<{
    line: FinancingLine;
    title: string;
    cost: number;
    costSources: FinancingSource[];
    subsidies: number;
    subsidySources: FinancingSource[];
    toShare: number;
    key: { method: FinancingMethod; title: string } | null;
    shares: Array<{ organisation: OrgRef; weight: number; fraction: number; amountEur: number }>;
    unallocated: { amountEur: number; reason: string } | null;
  }>;
  partners: Array<{ organisation: OrgRef; shares: Partial<Record<FinancingLine, number>>; due: number; paid: number; inKind: number; balance: number }>;
  totals: { cost: number; subsidies: number; toShare: number; allocated: number; paid: number; inKind: number };
  warnings: string[];
}
export interface FinancingEntry {
  id: number;
  year: number;
  line: FinancingLine;
  kind: 'cost' | 'funding';
  label: string;
  amountEur: number;
  supplier: string | null;
  funder: Funder | null;
  organisation: OrgRef | null;
  campaign: { id: number; slug: string; title: string } | null;
  month: number | null;
  note: string | null;
  createdBy: string;
  createdAt: string;
}
export interface NewFinancingEntry {
  year: number;
  line: FinancingLine;
  kind: 'cost' | 'funding';
  label: string;
  amountEur: string;
  supplier?: string;
  funder?: Funder;
  organisation?: string;
  campaign?: string;
}
export interface FinancingKey {
  year: number;
  line: FinancingLine;
  method: FinancingMethod;
  weights: Array<{ organisation: OrgRef; value: number }>;
  partners: OrgRef[];
}

export interface AnonymousDeclaration {
  type: 'error';
  title: string;
  description: string;
  geometry: Geometry;
  email: string;
  /** The honeypot: people leave it empty (it is hidden); robots fill it. */
  website: string;
}

// --- extracts, communes, licences (issue 13) --------------------------------------------------
export const EXTRACT_CONTENTS = ['ortho-master', 'ortho-cog', 'vector-gml', 'vector-gpkg', 'vector-dxf'] as const;
export type ExtractContent = (typeof EXTRACT_CONTENTS)[number];
export type ExtractState = 'queued' | 'running' | 'ready' | 'failed' | 'expired';
export type VectorClip = 'area' | 'dalles';
export type ExtractDelivery = 'zip' | 'urls';
/** What an extract covers: a drawn or uploaded polygon (Lambert-93 with its `crs` member), a commune, an EPCI, a declaration's footprint, an organisation's perimeter. */
export type ExtractArea = { geometry: Geometry } | { commune: string } | { epci: string } | { declaration: number } | { organisation: string };

export interface NewExtract {
  area: ExtractArea;
  contents: ExtractContent[];
  vectorClip?: VectorClip;
  orthoVersion?: string;
  vectorVersion?: string;
  delivery?: ExtractDelivery;
}

export interface JobProgress {
  done: number;
  total: number | null;
  message: string | null;
  etaSeconds: number | null;
}

export interface Extract {
  id: number;
  state: ExtractState;
  area: { kind: 'geometry' | 'commune' | 'epci' | 'declaration' | 'organisation'; code?: string; label: string; km2: number };
  contents: ExtractContent[];
  ortho: { version: string; excluded: string[] } | null;
  vector: { version: string | null; clip?: VectorClip } | null;
  zipBytes: number | null;
  entryCount: number | null;
  error: string | null;
  createdAt: string;
  readyAt: string | null;
  expiresAt: string | null;
  delivery: ExtractDelivery;
  /** The ZIP, once ready. */
  download: string | null;
  /** The list of signed URLs, once ready, for `delivery: 'urls'`. */
  urls: string | null;
  /** The answer to a create: the same content was ready already. */
  reused?: boolean;
  /** While queued or running. */
  progress?: JobProgress | null;
}

/** An uploaded area file, read by the server: the Lambert-93 MultiPolygon to ask with. */
export interface UploadedArea {
  format: string;
  polygons: number;
  geometry: Geometry;
  km2: number;
  bbox: [number, number, number, number];
}

export interface Commune {
  insee: string;
  name: string;
  departement: string;
  epci: { siren: string; name: string } | null;
  population: number | null;
  postalCodes: string[];
  bbox: [number, number, number, number] | null;
  bboxLambert93: [number, number, number, number] | null;
}

export interface Epci {
  siren: string;
  name: string;
  kind: string;
  population: number | null;
  communes: Array<{ insee: string; name: string }>;
  bboxLambert93: [number, number, number, number] | null;
}

/** A GeoJSON Feature of the communes API (outline null before one is imported). */
export interface OutlineFeature<P> {
  type: 'Feature';
  id: string;
  geometry: Geometry | null;
  properties: P;
}

export type LicenceId = 'licence-ouverte' | 'charter';
export interface Licence {
  id: LicenceId;
  name: string;
  url: string;
  text: string;
  version: string;
  appliesTo: 'open-data' | 'restricted-data';
  /** When this user (or this browser) accepted this version; null when never. */
  acceptedAt: string | null;
}

// --- campaigns (issue 14) -------------------------------------------------------------------------
export const CAMPAIGN_STATUSES = ['planned', 'ordered', 'in-acquisition', 'delivered', 'checked', 'published', 'cancelled'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];
/** The status changes an administrator may ask for (the server's CAMPAIGN_TRANSITIONS). */
export const CAMPAIGN_TRANSITIONS: Readonly<Record<CampaignStatus, readonly CampaignStatus[]>> = {
  planned: ['ordered', 'cancelled'],
  ordered: ['in-acquisition', 'cancelled'],
  'in-acquisition': ['delivered', 'cancelled'],
  delivered: ['checked', 'in-acquisition', 'cancelled'],
  checked: ['delivered', 'cancelled'],
  published: [],
  cancelled: [],
};
export type CampaignDalleState = 'expected' | 'received' | 'accepted' | 'rejected';

export interface Campaign {
  id: number;
  slug: string;
  title: string;
  kind: 'ortho' | 'vector' | 'mixed';
  status: CampaignStatus;
  dalleSize: 200 | 1000;
  areaSource: 'drawn' | 'to-update' | 'communes' | 'older-than';
  bbox: [number, number, number, number];
  areaKm2: number;
  contractor: { id: number; slug: string; name: string } | null;
  plannedStart: string | null;
  plannedEnd: string | null;
  /** Administrators only. */
  budget?: Array<{ label: string; category: string; amountEur: number }>;
  description: string | null;
  createdAt: string;
  publishedAt: string | null;
  orthoVersion: string | null;
  progress: { expected: number; received: number; accepted: number; rejected: number; missing: number; outside: number; deliveries: number; receivedRatio: number };
}

/** POST /api/v1/campaigns (administrators). */
export interface NewCampaign {
  slug: string;
  title: string;
  kind: 'ortho' | 'vector' | 'mixed';
  dalleSize: 200 | 1000;
  area: { source: 'to-update' } | { source: 'drawn'; geometry: Geometry } | { source: 'communes'; insee: string[] } | { source: 'older-than'; years: number };
  contractor?: string;
  plannedStart?: string;
  plannedEnd?: string;
}

/** GET /api/v1/campaigns/:slug/dalles?crs=EPSG:2154: a GeoJSON FeatureCollection. */
export interface CampaignDalles {
  type: 'FeatureCollection';
  features: Array<{
    type: 'Feature';
    id: string;
    geometry: { type: 'Polygon'; coordinates: number[][][] };
    properties: { label: string; expected: boolean; state: CampaignDalleState; reason: string | null; seamScore: number | null; changeScore?: number | null };
  }>;
}

export interface CampaignEvent {
  id: number;
  at: string;
  actor: string;
  action: string;
  fromStatus: CampaignStatus | null;
  toStatus: CampaignStatus | null;
  note: string | null;
}

/** GET /api/v1/campaigns/:slug/timeline: the public steps of a campaign. */
export interface CampaignTimelineEntry {
  at: string;
  action: 'created' | 'status-changed' | 'delivery' | 'checked' | 'published';
  status: CampaignStatus | null;
}

/** GET /api/v1/history: the versions that covered a point, newest first per dataset. */
export interface PointHistory {
  point: [number, number];
  versions: Array<{ dataset: string; version: string; kind: 'full' | 'update'; status: 'published' | 'withdrawn'; acquisitionDate: string | null; publishedAt: string | null; campaign: string | null; contribution: number | null; item: string; current: boolean }>;
}

export interface CampaignChanges {
  threshold: number;
  changed: number;
  dalles: Array<{ label: string; changeScore: number | null; changed: boolean | null }>;
  /** The change map's XYZ tile template and WMTS capabilities (paths on this server). */
  changeMap: string;
  changeMapWmts: string;
}

// --- contributions (issue 12) ------------------------------------------------------------------
export const CONTRIBUTION_KINDS = ['vector', 'raster', 'business'] as const;
export type ContributionKind = (typeof CONTRIBUTION_KINDS)[number];
export type ContributionState = 'draft' | 'validating' | 'invalid' | 'valid' | 'changes-requested' | 'rejected' | 'publishing' | 'accepted';
export type ContributionDecision = 'accept' | 'reject' | 'changes';
export type ContributionFileStatus = 'pending' | 'ok' | 'warning' | 'rejected';

/** Where a business contribution goes: its dataset (new, or one the organisation owns), and who reads it. */
export interface BusinessTarget {
  dataset: string;
  title: string;
  visibility: 'public' | 'restricted';
  /** Organisations (slugs) that read it when restricted, besides the contributing one. */
  readers: string[];
}

/** CNIG values for every object of a vector contribution's files that lacks them (a DXF has no attributes). */
export interface AttributeDefaults {
  thematique?: string;
  qualiteCategorisation?: string;
  precisionPlanimetrique?: string;
  precisionAltimetrique?: string;
}

export interface NewContribution {
  kind: ContributionKind;
  title: string;
  description?: string;
  organisation: string;
  surveyedOn?: string;
  producer?: string;
  business?: BusinessTarget;
  attributeDefaults?: AttributeDefaults;
  /** Raster or vector: the campaign it is a delivery of (the organisation being its contractor). */
  campaign?: string;
}

export interface ContributionFile {
  id: number;
  name: string;
  bytes: number;
  /** Null for the moment between the upload's end and its hashing (the validation's first step). */
  sha256: string | null;
  uploadedAt: string;
  status: ContributionFileStatus;
  validatedAt: string | null;
  /** The report's address (JSON; `?format=text` as the CLI prints it). */
  report: string;
}

export interface Contribution {
  id: number;
  kind: ContributionKind;
  title: string;
  description: string;
  organisation: string;
  author: string;
  surveyedOn: string | null;
  producer: string | null;
  state: ContributionState;
  moderatedBy: string | null;
  moderatedAt: string | null;
  /** The moderator's words (refusal, changes asked, or why a publication failed). */
  reason: string | null;
  /** The update version it became, once accepted (a campaign's delivery: the campaign's). */
  version: string | null;
  /** The campaign it is a delivery of, if any. */
  campaign: string | null;
  business: BusinessTarget | null;
  attributeDefaults: AttributeDefaults;
  createdAt: string;
  updatedAt: string;
  files?: ContributionFile[];
}

/** Part of a contribution a moderator accepts: object keys (`Class:idObjet`, vector) or file ids (dalles). */
export interface ContributionSelection {
  objects?: string[];
  files?: number[];
}

export interface ReviewObject {
  key: string;
  class: string;
  /** GeoJSON, Lambert-93. */
  geometry: unknown;
}

/** Before/after of a contribution (GET /api/v1/contributions/:id/review). */
export type ContributionReview =
  | {
      kind: 'vector';
      version: string;
      area: unknown;
      summary: { added: number; removed: number; changed: number; unchanged: number };
      added: ReviewObject[];
      removed: ReviewObject[];
      changed: Array<ReviewObject & { before: unknown; attributes: Record<string, [unknown, unknown]>; geometryChanged: boolean }>;
      truncated: boolean;
    }
  | { kind: 'raster'; dalles: Array<{ fileId: number; name: string; status: ContributionFileStatus; canonicalName: string | null; bbox2154: number[] | null; preview: string | null }> }
  | { kind: 'business'; files: Array<{ id: number; name: string; status: ContributionFileStatus; layers: Array<{ name: string; features: number }> }> };

/** A failed call: the problem+json's fields, plus errors per form field when the server named them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The problem's code (`invalid-credentials`, from `urn:pcrs:problem:<code>`), 'network' when the server could not be reached. */
    readonly code: string,
    readonly detail: string,
    readonly hint?: string,
    /** Field name → the server's message for it (from a 400 `invalid-parameter`). */
    readonly fields: Record<string, string> = {},
    /** Seconds before retrying (429 Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(detail || code);
    this.name = 'ApiError';
  }
}

interface ProblemBody {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  hint?: string;
}

/** `Invalid body: password: too short; email: invalid` → { password: 'too short', email: 'invalid' }. */
export function fieldErrors(detail: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const m = /^Invalid [a-z]+: (.*)$/s.exec(detail);
  if (!m) return fields;
  for (const part of (m[1] as string).split('; ')) {
    const i = part.indexOf(': ');
    if (i > 0) fields[part.slice(0, i).split('.')[0] as string] ??= part.slice(i + 2);
  }
  return fields;
}

export async function problemOf(res: Response): Promise<ApiError> {
  let body: ProblemBody = {};
  try {
    body = (await res.json()) as ProblemBody;
  } catch {
    // not JSON: the status says enough
  }
  const code = body.type?.startsWith('urn:pcrs:problem:') ? body.type.slice('urn:pcrs:problem:'.length) : `http-${res.status}`;
  const detail = body.detail ?? body.title ?? res.statusText;
  const retry = Number(res.headers.get('retry-after'));
  return new ApiError(res.status, code, detail, body.hint, fieldErrors(detail), Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/**
 * The client. One instance (`api`) for the page; tests build their own with another `fetch`.
 * The CSRF token is the session's: set by `session()` and `signin()`, forgotten at sign-out.
 */
export class Api {
  private csrf: string | null = null;
  /** Called when the server answers 401 to a signed-in screen (the session ended elsewhere): the page re-reads who is signed in. */
  onUnauthenticated: (() => void) | null = null;

  constructor(
    private readonly base = '/api/v1',
    private readonly doFetch: typeof fetch = (...args) => fetch(...args),
  ) {}

  async request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    // A file goes as it is (the server tells its kind from its bytes); anything else as JSON.
    const raw = typeof Blob !== 'undefined' && body instanceof Blob;
    if (body !== undefined) headers['content-type'] = raw ? 'application/octet-stream' : 'application/json';
    if (method !== 'GET') {
      if (this.csrf === null) await this.session().catch(() => undefined);
      if (this.csrf !== null) headers['x-csrf-token'] = this.csrf;
    }
    let res: Response;
    try {
      res = await this.doFetch(`${this.base}${path}`, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
    }
    if (!res.ok) {
      const problem = await problemOf(res);
      if (res.status === 401 && !path.startsWith('/auth/')) this.onUnauthenticated?.();
      throw problem;
    }
    if (res.status === 204 || res.headers.get('content-length') === '0') return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // --- session and sign-in -------------------------------------------------------------------
  async session(): Promise<SessionInfo> {
    const s = await this.request<SessionInfo>('GET', '/auth/session');
    this.csrf = s.csrfToken;
    return s;
  }
  signup(body: { email: string; password: string; displayName: string; language?: Language }) {
    return this.request<{ message: string }>('POST', '/auth/signup', body);
  }
  verify(token: string) {
    return this.request<{ message: string }>('POST', '/auth/verify', { token });
  }
  async signin(email: string, password: string): Promise<{ user: Me; csrfToken: string }> {
    const r = await this.request<{ user: Me; csrfToken: string }>('POST', '/auth/signin', { email, password });
    this.csrf = r.csrfToken;
    return r;
  }
  async signout(everywhere = false): Promise<void> {
    await this.request<void>('POST', everywhere ? '/auth/signout-everywhere' : '/auth/signout');
    this.csrf = null;
  }
  forgotPassword(email: string) {
    return this.request<{ message?: string }>('POST', '/auth/password/forgot', { email });
  }
  resetPassword(token: string, password: string) {
    return this.request<{ message?: string }>('POST', '/auth/password/reset', { token, password });
  }
  /** Where the browser goes to sign in with the configured OpenID provider. */
  oidcStartUrl(): string {
    return `${this.base}/auth/oidc/start`;
  }

  // --- me ----------------------------------------------------------------------------------------
  me() {
    return this.request<Me>('GET', '/me');
  }
  updateMe(body: { displayName?: string; language?: Language; password?: { current: string; new: string } }) {
    return this.request<Me>('PATCH', '/me', body);
  }
  myKeys() {
    return this.request<ApiKey[]>('GET', '/me/keys');
  }
  createKey(body: NewKey) {
    return this.request<CreatedKey>('POST', '/me/keys', body);
  }
  renameKey(id: number, name: string) {
    return this.request<ApiKey>('PATCH', `/me/keys/${id}`, { name });
  }
  revokeKey(id: number) {
    return this.request<void>('DELETE', `/me/keys/${id}`);
  }

  // --- organisations and members ----------------------------------------------------------------
  organisations() {
    return this.request<Organisation[]>('GET', '/organisations');
  }
  createOrganisation(body: NewOrganisation) {
    return this.request<Organisation>('POST', '/organisations', body);
  }
  requestMembership(slug: string, message?: string) {
    return this.request<unknown>('POST', `/organisations/${encodeURIComponent(slug)}/membership-requests`, message ? { message } : {});
  }
  members(slug: string) {
    return this.request<Member[]>('GET', `/organisations/${encodeURIComponent(slug)}/members`);
  }
  decide(slug: string, userId: number, decision: 'accept' | 'refuse', role?: MemberRole) {
    return this.request<unknown>('POST', `/organisations/${encodeURIComponent(slug)}/members/${userId}/decision`, role ? { decision, role } : { decision });
  }
  setMemberRole(slug: string, userId: number, role: MemberRole) {
    return this.request<unknown>('PATCH', `/organisations/${encodeURIComponent(slug)}/members/${userId}`, { role });
  }
  removeMember(slug: string, userId: number) {
    return this.request<void>('DELETE', `/organisations/${encodeURIComponent(slug)}/members/${userId}`);
  }

  // --- administration -----------------------------------------------------------------------------
  users() {
    return this.request<User[]>('GET', '/users');
  }
  updateUser(id: number, body: { platformRoles?: PlatformRole[]; disabled?: boolean }) {
    return this.request<User>('PATCH', `/users/${id}`, body);
  }
  audit(query: AuditQuery = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
    const s = q.toString();
    return this.request<AuditEntry[]>('GET', `/audit${s ? `?${s}` : ''}`);
  }
  permissions() {
    return this.request<Permission[]>('GET', '/permissions');
  }
  grantPermission(body: NewPermission) {
    return this.request<Permission>('POST', '/permissions', body);
  }
  revokePermission(id: number) {
    return this.request<void>('DELETE', `/permissions/${id}`);
  }
  datasets() {
    return this.request<DatasetAccess[]>('GET', '/datasets');
  }
  setDatasetVisibility(id: string, visibility: Visibility) {
    return this.request<unknown>('PUT', `/datasets/${encodeURIComponent(id)}/visibility`, { visibility });
  }
  setVersionVisibility(id: string, version: string, visibility: Visibility | null) {
    return this.request<unknown>('PUT', `/datasets/${encodeURIComponent(id)}/versions/${encodeURIComponent(version)}/visibility`, { visibility });
  }

  // --- declarations ---------------------------------------------------------------------------------
  declarations(query: DeclarationQuery = {}) {
    const q = new URLSearchParams();
    if (query.bbox) {
      q.set('bbox', query.bbox.map((n) => n.toFixed(2)).join(','));
      q.set('bbox-crs', 'EPSG:2154');
    }
    if (query.status?.length) q.set('status', query.status.join(','));
    if (query.type?.length) q.set('type', query.type.join(','));
    if (query.theme) q.set('theme', query.theme);
    if (query.organisation) q.set('organisation', query.organisation);
    if (query.author) q.set('author', query.author);
    if (query.limit !== undefined) q.set('limit', String(query.limit));
    if (query.offset) q.set('offset', String(query.offset));
    const s = q.toString();
    return this.request<DeclarationPage>('GET', `/declarations${s ? `?${s}` : ''}`);
  }
  declaration(id: number) {
    return this.request<DeclarationDetail>('GET', `/declarations/${id}`);
  }
  createDeclaration(body: NewDeclaration) {
    return this.request<DeclarationDetail>('POST', '/declarations', body);
  }
  /** Without an account (type error): 202, the declaration exists once the link mailed to `email` is followed. */
  declareAnonymously(body: AnonymousDeclaration) {
    return this.request<{ message?: string }>('POST', '/declarations/anonymous', body);
  }
  confirmAnonymous(token: string) {
    return this.request<DeclarationDetail>('POST', '/declarations/anonymous/confirm', { token });
  }
  commentDeclaration(id: number, text: string) {
    return this.request<DeclarationDetail>('POST', `/declarations/${id}/comments`, { text });
  }
  setDeclarationStatus(id: number, body: { status: DeclarationStatus; reason?: string; duplicateOf?: number }) {
    return this.request<DeclarationDetail>('POST', `/declarations/${id}/status`, body);
  }
  assignDeclaration(id: number, body: { userId?: number | null; organisation?: string | null; text?: string }) {
    return this.request<DeclarationDetail>('POST', `/declarations/${id}/assign`, body);
  }
  subscribe(id: number) {
    return this.request<unknown>('PUT', `/declarations/${id}/subscription`);
  }
  unsubscribe(id: number) {
    return this.request<unknown>('DELETE', `/declarations/${id}/subscription`);
  }
  bulkDeclarations(body: BulkAction) {
    return this.request<{ results: BulkResult[] }>('POST', '/declarations/bulk', body);
  }
  declarationStats(from?: string, to?: string) {
    const q = new URLSearchParams();
    if (from) q.set('from', from);
    if (to) q.set('to', to);
    const s = q.toString();
    return this.request<DeclarationStats>('GET', `/declarations/stats${s ? `?${s}` : ''}`);
  }
  /** Where an attachment's bytes are (a download; images are shown from it as thumbnails). */
  // --- usage statistics ----------------------------------------------------------------------
  /** The query string of GET /api/v1/stats (also the CSV link's). */
  usageQuery(q: UsageQuery, format: 'json' | 'csv' = 'json') {
    const p = new URLSearchParams({ from: q.from, to: q.to });
    if (q.groupBy.length) p.set('group_by', q.groupBy.join(','));
    if (q.service) p.set('service', q.service);
    if (format === 'csv') p.set('format', 'csv');
    return `${this.base}/stats?${p.toString()}`;
  }
  usage(q: UsageQuery) {
    return this.request<UsageStats>('GET', this.usageQuery(q).slice(this.base.length));
  }
  usageAreas(from: string, to: string) {
    return this.request<UsageAreas>('GET', `/stats/areas?from=${from}&to=${to}`);
  }
  // --- financing plan -------------------------------------------------------------------------
  financingPlan(year: number) {
    return this.request<FinancingPlan>('GET', `/financing/plan?year=${year}`);
  }
  /** The plan as a file to download (csv, xlsx, pdf). */
  financingPlanUrl(year: number, format: 'csv' | 'xlsx' | 'pdf') {
    return `${this.base}/financing/plan?year=${year}&format=${format}`;
  }
  financingEntries(year: number) {
    return this.request<{ entries: FinancingEntry[] }>('GET', `/financing/entries?year=${year}`);
  }
  addFinancingEntry(body: NewFinancingEntry) {
    return this.request<FinancingEntry>('POST', '/financing/entries', body);
  }
  deleteFinancingEntry(id: number) {
    return this.request<unknown>('DELETE', `/financing/entries/${id}`);
  }
  financingKeys(year: number) {
    return this.request<{ keys: FinancingKey[] }>('GET', `/financing/keys?year=${year}`);
  }
  putFinancingKey(year: number, line: FinancingLine, body: { method: FinancingMethod; weights?: Record<string, number>; partners?: string[] }) {
    return this.request<FinancingKey>('PUT', `/financing/keys/${year}/${line}`, body);
  }
  // --- extracts, communes, licences --------------------------------------------------------
  extracts(limit = 50) {
    return this.request<{ extracts: Extract[] }>('GET', `/extracts?limit=${limit}`);
  }
  extract(id: number) {
    return this.request<Extract>('GET', `/extracts/${id}`);
  }
  createExtract(body: NewExtract) {
    return this.request<Extract>('POST', '/extracts', body);
  }
  /** An area file (GeoJSON, KML, GeoPackage) read by the server into the polygon to ask with. */
  uploadArea(file: Blob) {
    return this.request<UploadedArea>('POST', '/extracts/areas', file);
  }
  /** Server-sent events of an extract's progress (`progress`, then `ready`, `failed` or `expired`). */
  extractEventsUrl(id: number): string {
    return `${this.base}/extracts/${id}/events`;
  }
  extractUrlsUrl(id: number, format: 'text' | 'aria2' | 'json'): string {
    return `${this.base}/extracts/${id}/urls?format=${format}`;
  }
  communes(q?: string, limit = 10) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (q) query.set('q', q);
    return this.request<{ communes: Commune[] }>('GET', `/communes?${query.toString()}`);
  }
  /** A commune's outline, in Lambert-93 (the map's projection). */
  commune(insee: string) {
    return this.request<OutlineFeature<Commune>>('GET', `/communes/${encodeURIComponent(insee)}?crs=EPSG:2154`);
  }
  epcis() {
    return this.request<{ epcis: Epci[] }>('GET', '/epcis');
  }
  epci(siren: string) {
    return this.request<OutlineFeature<Epci>>('GET', `/epcis/${encodeURIComponent(siren)}?crs=EPSG:2154`);
  }
  licences() {
    return this.request<{ licences: Licence[] }>('GET', '/licences');
  }
  acceptLicence(licence: LicenceId, version: string) {
    return this.request<{ licence: LicenceId; version: string; acceptedAt: string }>('POST', '/licences/acceptances', { licence, version });
  }
  // --- campaigns -----------------------------------------------------------------------------
  campaigns() {
    return this.request<{ campaigns: Campaign[] }>('GET', '/campaigns');
  }
  campaign(slug: string) {
    return this.request<Campaign>('GET', `/campaigns/${encodeURIComponent(slug)}`);
  }
  createCampaign(body: NewCampaign) {
    return this.request<Campaign>('POST', '/campaigns', body);
  }
  campaignDalles(slug: string) {
    return this.request<CampaignDalles>('GET', `/campaigns/${encodeURIComponent(slug)}/dalles?crs=EPSG:2154`);
  }
  campaignTimeline(slug: string) {
    return this.request<{ timeline: CampaignTimelineEntry[] }>('GET', `/campaigns/${encodeURIComponent(slug)}/timeline`);
  }
  campaignEvents(slug: string) {
    return this.request<{ events: CampaignEvent[] }>('GET', `/campaigns/${encodeURIComponent(slug)}/events`);
  }
  campaignChanges(slug: string) {
    return this.request<CampaignChanges>('GET', `/campaigns/${encodeURIComponent(slug)}/changes`);
  }
  setCampaignStatus(slug: string, to: CampaignStatus, note?: string) {
    return this.request<Campaign>('POST', `/campaigns/${encodeURIComponent(slug)}/status`, { to, ...(note ? { note } : {}) });
  }
  checkCampaign(slug: string) {
    return this.request<{ campaign: string; checking: number }>('POST', `/campaigns/${encodeURIComponent(slug)}/check`);
  }
  /** The versions that covered a Lambert-93 point (the map's "what changed here"). */
  history(x: number, y: number) {
    return this.request<PointHistory>('GET', `/history?x=${x.toFixed(2)}&y=${y.toFixed(2)}`);
  }
  publishCampaign(slug: string) {
    return this.request<Campaign>('POST', `/campaigns/${encodeURIComponent(slug)}/publish`);
  }
  // --- contributions -----------------------------------------------------------------------
  contributions(limit = 50) {
    return this.request<{ contributions: Contribution[] }>('GET', `/contributions?limit=${limit}`);
  }
  contribution(id: number) {
    return this.request<Contribution>('GET', `/contributions/${id}`);
  }
  createContribution(body: NewContribution) {
    return this.request<Contribution>('POST', '/contributions', body);
  }
  decideContribution(id: number, decision: ContributionDecision, reason?: string, selection?: ContributionSelection) {
    return this.request<Contribution>('POST', `/contributions/${id}/decision`, { decision, ...(reason ? { reason } : {}), ...(selection ? { selection } : {}) });
  }
  contributionReview(id: number) {
    return this.request<ContributionReview>('GET', `/contributions/${id}/review`);
  }
  /** The tus endpoint files go up to (metadata `contribution`, `filename`). */
  contributionUploadsUrl(): string {
    return `${this.base}/contributions/uploads`;
  }
  /** The headers a write of this session carries (the tus client sends them with each request). */
  async writeHeaders(): Promise<Record<string, string>> {
    if (this.csrf === null) await this.session().catch(() => undefined);
    return this.csrf === null ? {} : { 'x-csrf-token': this.csrf };
  }
  /** A file's validation report as the CLI prints it. */
  async contributionReportText(reportUrl: string): Promise<string> {
    let res: Response;
    try {
      res = await this.doFetch(`${reportUrl}?format=text`, { credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
    }
    if (!res.ok) throw await problemOf(res);
    return res.text();
  }
  attachmentUrl(id: number, attachmentId: number): string {
    return `${this.base}/declarations/${id}/attachments/${attachmentId}`;
  }
  deleteAttachment(id: number, attachmentId: number) {
    return this.request<void>('DELETE', `/declarations/${id}/attachments/${attachmentId}`);
  }
  /**
   * Uploads one file (multipart, part `file`) with the session's CSRF token; `onProgress` gets
   * the fraction sent (XMLHttpRequest: fetch tells no upload progress). A failure is an ApiError.
   */
  async uploadAttachment(id: number, file: Blob, filename: string, onProgress?: (fraction: number) => void): Promise<Attachment> {
    if (this.csrf === null) await this.session().catch(() => undefined);
    const form = new FormData();
    form.append('file', file, filename);
    const csrf = this.csrf;
    return new Promise<Attachment>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${this.base}/declarations/${id}/attachments`);
      xhr.setRequestHeader('accept', 'application/json, application/problem+json');
      if (csrf !== null) xhr.setRequestHeader('x-csrf-token', csrf);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && e.total > 0) onProgress?.(e.loaded / e.total);
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'upload failed'));
      xhr.onload = () => {
        const res = new Response(xhr.status === 204 ? null : xhr.responseText, { status: xhr.status, statusText: xhr.statusText, headers: { 'content-type': xhr.getResponseHeader('content-type') ?? 'application/json' } });
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress?.(1);
          res.json().then((a) => resolve(a as Attachment), () => reject(new ApiError(xhr.status, 'invalid-answer', 'not JSON')));
        } else {
          if (xhr.status === 401) this.onUnauthenticated?.();
          void problemOf(res).then(reject);
        }
      };
      xhr.send(form);
    });
  }
}

export const api = new Api();

/** Platform endpoints outside /api/v1 that the map page reads. */
export async function getJson<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
  }
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as T;
}
