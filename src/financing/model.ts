/** The financing plan's six lines (the financial commission's headings). */
export const LINES = ['acquisition', 'update', 'storage', 'contributions', 'access', 'usage'] as const;
export type Line = (typeof LINES)[number];

/** How a line is shared among partners. */
export const METHODS = ['fixed', 'population', 'area', 'network', 'usage'] as const;
export type Method = (typeof METHODS)[number];

export const FUNDERS = ['feder', 'state', 'region', 'partner', 'other'] as const;
export type Funder = (typeof FUNDERS)[number];

/** The committee's headings, as the report prints them. */
export const LINE_TITLES: Record<Line, string> = {
  acquisition: 'Acquisition',
  update: 'Mise à jour',
  storage: 'Stockages',
  contributions: 'Contributions',
  access: 'Accès',
  usage: 'Utilisations',
};

export const METHOD_TITLES: Record<Method, string> = {
  fixed: 'pourcentages de la convention',
  population: 'population',
  area: 'superficie',
  network: 'longueur de réseau déclarée',
  usage: 'usage mesuré (requêtes)',
};

export interface OrganisationRef {
  id: number;
  slug: string;
  name: string;
}

export interface Entry {
  id: number;
  year: number;
  line: Line;
  kind: 'cost' | 'funding';
  label: string;
  amountEur: number;
  supplier: string | null;
  funder: Funder | null;
  organisation: OrganisationRef | null;
  campaign: { id: number; slug: string; title: string } | null;
  month: number | null;
  note: string | null;
  createdBy: string;
  createdAt: string;
}

export interface AllocationKey {
  year: number;
  line: Line;
  method: Method;
  /** fixed: percent per organisation; network: km per organisation. */
  weights: Array<{ organisation: OrganisationRef; value: number }>;
  /** population, area, usage: the organisations sharing. */
  partners: OrganisationRef[];
  updatedBy: string;
  updatedAt: string;
}

/** Where a figure of the plan comes from (the audit trail each number links back to). */
export interface Source {
  /** 'entry' (entered by the committee), 'campaign-budget', 'measured-storage', 'contribution'. */
  kind: 'entry' | 'campaign-budget' | 'measured-storage' | 'contribution';
  ref: string;
  label: string;
  amountEur: number;
}

export interface Share {
  organisation: OrganisationRef;
  /** The weight the key gives (percent, inhabitants, km², km, requests). */
  weight: number;
  /** weight / sum of weights. */
  fraction: number;
  amountEur: number;
}

export interface PlanLine {
  line: Line;
  title: string;
  cost: number;
  costSources: Source[];
  /** Subsidies (FEDER, State, Region, other non-partner funding) of the line. */
  subsidies: number;
  subsidySources: Source[];
  /** What the partners share: cost − subsidies (not below 0). */
  toShare: number;
  key: { method: Method; title: string } | null;
  shares: Share[];
  /** Why a part of the line is not shared (no key, weights all zero). */
  unallocated: { amountEur: number; reason: string } | null;
}

export interface PartnerBalance {
  organisation: OrganisationRef;
  /** Its share of each line. */
  shares: Partial<Record<Line, number>>;
  due: number;
  /** What it paid (funding entries naming it). */
  paid: number;
  paidSources: Source[];
  /** The value of its accepted contributions (dalles, km of street). */
  inKind: number;
  inKindSources: Source[];
  /** paid + inKind − due: positive, it gave more than its share. */
  balance: number;
}

export interface Plan {
  year: number;
  currency: 'EUR';
  lines: PlanLine[];
  partners: PartnerBalance[];
  totals: { cost: number; subsidies: number; toShare: number; allocated: number; paid: number; inKind: number };
  /** Inputs the plan could not use, said plainly (a partner without population, a budget line of an unknown heading…). */
  warnings: string[];
}
