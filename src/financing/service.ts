import type { TierName } from '../catalog/catalog.js';
import type { AppContext } from '../context/app-context.js';
import { isPlatformAdmin, type Caller } from '../context/access.js';
import { tierPrice } from '../tiers/usage.js';
import { csvText } from '../util/csv.js';
import { UserError } from '../util/errors.js';
import { LINE_TITLES, LINES, METHOD_TITLES, type AllocationKey, type Entry, type Funder, type Line, type Method, type OrganisationRef, type PartnerBalance, type Plan, type PlanLine, type Share, type Source } from './model.js';
import { FinancingStore } from './store.js';

/** Campaign budget headings → the plan's lines ('other' is not counted: the report says so). */
const BUDGET_LINE: Record<string, Line | undefined> = { acquisition: 'acquisition', update: 'update', control: 'update', storage: 'storage' };

const cents = (eur: number) => Math.round(eur * 100);
const eur = (c: number) => c / 100;

export interface EntryInput {
  year: number;
  line: Line;
  kind: 'cost' | 'funding';
  label: string;
  /** Euros: a number or a decimal text with at most two decimals, ≥ 0. */
  amountEur: number | string;
  supplier?: string | undefined;
  funder?: Funder | undefined;
  /** The paying partner's slug (funder 'partner'). */
  organisation?: string | undefined;
  campaign?: string | undefined;
  month?: number | undefined;
  note?: string | undefined;
}

export interface KeyInput {
  method: Method;
  /** fixed: percent per organisation slug (sum 100); network: km per organisation slug. */
  weights?: Record<string, number> | undefined;
  /** population, area, usage: the organisations (slugs) sharing the line. */
  partners?: readonly string[] | undefined;
}

/** Euros as exact text with at most two decimals; 400 for anything else (negative, not a number, fractions of a cent). */
export function parseAmount(value: number | string): string {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : 'NaN') : value.trim().replace(',', '.');
  if (!/^\d{1,12}(\.\d{1,2})?$/.test(text)) {
    throw new UserError('bad-amount', `An amount is a number of euros ≥ 0 with at most two decimals, got '${String(value).slice(0, 30)}'.`, { status: 400 });
  }
  return text;
}

/**
 * Largest-remainder split of `total` cents by `weights`: every share a whole number of cents, the
 * shares adding up to the total exactly (a hand computation of the proportions matches to the cent).
 */
export function splitCents(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let rest = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (rest <= 0) break;
    out[i] = (out[i] as number) + 1;
    rest--;
  }
  return out;
}


/**
 * The financing plan of a year: each of the six lines' cost (entered amounts, campaign budgets not
 * yet replaced by actual amounts, measured storage), its subsidies, what the partners share and how
 * (the line's allocation key), and each partner's balance (what it paid and contributed in kind
 * against its shares). Every figure carries its sources.
 */
export class FinancingService {
  readonly store: FinancingStore;

  constructor(private readonly ctx: AppContext) {
    this.store = new FinancingStore(ctx.db);
  }

  static checkYear(year: number): number {
    if (!Number.isInteger(year) || year < 2000 || year > 2100) throw new UserError('bad-year', `A year from 2000 to 2100, got '${String(year).slice(0, 10)}'.`, { status: 400 });
    return year;
  }

  private requireAdmin(caller: Caller): void {
    if (!isPlatformAdmin(caller)) throw new UserError('forbidden', 'Only platform administrators (the financial commission) change the financing plan.', { status: 403 });
  }

  async addEntry(caller: Caller, input: EntryInput): Promise<Entry> {
    this.requireAdmin(caller);
    FinancingService.checkYear(input.year);
    const amount = parseAmount(input.amountEur);
    if (input.kind === 'funding' && !input.funder) throw new UserError('bad-entry', 'A funding names its funder: feder, state, region, partner or other.', { status: 400 });
    if (input.kind === 'cost' && input.funder) throw new UserError('bad-entry', 'A cost has a supplier, not a funder.', { status: 400 });
    if ((input.funder === 'partner') !== (input.organisation !== undefined)) {
      throw new UserError('bad-entry', 'A partner’s payment names the partner (organisation); no other entry does.', { status: 400 });
    }
    let organisationId: number | null = null;
    if (input.organisation !== undefined) {
      const org = (await this.store.organisationsBySlug([input.organisation])).get(input.organisation);
      if (!org) throw new UserError('unknown-organisation', `No organisation '${input.organisation.slice(0, 60)}'.`, { status: 404 });
      organisationId = org.id;
    }
    let campaignId: number | null = null;
    if (input.campaign !== undefined) {
      campaignId = await this.store.campaignId(input.campaign);
      if (campaignId === null) throw new UserError('unknown-campaign', `No campaign '${input.campaign.slice(0, 60)}'.`, { status: 404 });
    }
    const id = await this.store.addEntry({
      year: input.year,
      line: input.line,
      kind: input.kind,
      label: input.label,
      amountEur: amount,
      supplier: input.supplier ?? null,
      funder: input.funder ?? null,
      organisationId,
      campaignId,
      month: input.month ?? null,
      note: input.note ?? null,
      createdBy: caller.id,
    });
    await this.ctx.audit.record(caller, { action: 'financing.entry.add', target: `financing-entry:${id}`, details: { year: input.year, line: input.line, kind: input.kind, amountEur: amount } });
    return (await this.store.entry(id)) as Entry;
  }

  async deleteEntry(caller: Caller, id: number): Promise<void> {
    this.requireAdmin(caller);
    const e = await this.store.entry(id);
    if (!e || !(await this.store.deleteEntry(id))) throw new UserError('not-found', `No financing entry ${id}.`, { status: 404 });
    await this.ctx.audit.record(caller, { action: 'financing.entry.delete', target: `financing-entry:${id}`, details: { year: e.year, line: e.line, kind: e.kind, amountEur: e.amountEur, label: e.label } });
  }

  async putKey(caller: Caller, year: number, line: Line, input: KeyInput): Promise<AllocationKey> {
    this.requireAdmin(caller);
    FinancingService.checkYear(year);
    const weighted = input.method === 'fixed' || input.method === 'network';
    const weights = input.weights ?? {};
    const partners = input.partners ?? [];
    if (weighted && partners.length) throw new UserError('bad-key', `A ${input.method} key gives a weight per organisation (weights), not a list of partners.`, { status: 400 });
    if (!weighted && Object.keys(weights).length) throw new UserError('bad-key', `A ${input.method} key lists the partners sharing the line (partners); their weights come from the platform.`, { status: 400 });
    const slugs = weighted ? Object.keys(weights) : [...partners];
    if (slugs.length === 0) throw new UserError('bad-key', 'An allocation key names at least one organisation.', { status: 400 });
    const orgs = await this.store.organisationsBySlug(slugs);
    const unknown = slugs.find((s) => !orgs.has(s));
    if (unknown !== undefined) throw new UserError('unknown-organisation', `No organisation '${unknown.slice(0, 60)}'.`, { status: 404 });
    for (const [slug, value] of Object.entries(weights)) {
      if (!Number.isFinite(value) || value < 0) throw new UserError('bad-key', `The weight of '${slug}' must be a number ≥ 0.`, { status: 400 });
    }
    if (input.method === 'fixed') {
      const sum = Object.values(weights).reduce((a, b) => a + b, 0);
      if (Math.abs(sum - 100) > 1e-6) throw new UserError('bad-key', `The percentages of a fixed key add up to 100, these to ${Number(sum.toFixed(6))}.`, { status: 400 });
    }
    const byId = Object.fromEntries(Object.entries(weights).map(([slug, v]) => [String(orgs.get(slug)!.id), v]));
    await this.store.putKey(year, line, input.method, byId, partners.map((s) => orgs.get(s)!.id), caller.id);
    await this.ctx.audit.record(caller, { action: 'financing.key.set', target: `financing-key:${year}/${line}`, details: { method: input.method, weights, partners } });
    return (await this.store.keys(year)).find((k) => k.line === line) as AllocationKey;
  }

  /** The plan of a year (the commission and organisation administrators read it). */
  async plan(year: number): Promise<Plan> {
    FinancingService.checkYear(year);
    const [entries, keys, budgets, storage, contributions] = await Promise.all([
      this.store.entries(year),
      this.store.keys(year),
      this.store.campaignBudgets(year),
      this.store.storageAverages(year),
      this.store.acceptedContributions(year),
    ]);
    const warnings: string[] = [];
    const lines: PlanLine[] = [];
    const dueBy = new Map<number, { org: OrganisationRef; shares: Partial<Record<Line, number>> }>();
    for (const line of LINES) {
      const costSources: Source[] = entries.filter((e) => e.kind === 'cost' && e.line === line).map((e) => ({ kind: 'entry', ref: `entry:${e.id}`, label: e.label + (e.supplier ? ` — ${e.supplier}` : ''), amountEur: e.amountEur }));
      // A campaign's budget counts until actual amounts of the same line are entered for it.
      for (const c of budgets) {
        if (entries.some((e) => e.kind === 'cost' && e.line === line && e.campaign?.id === c.id)) continue;
        for (const b of c.budget) {
          if (BUDGET_LINE[b.category] === line) costSources.push({ kind: 'campaign-budget', ref: `campaign:${c.slug}`, label: `Budget de la campagne « ${c.title} » : ${b.label}`, amountEur: b.amountEur });
        }
      }
      if (line === 'storage' && costSources.length === 0) {
        // Nothing entered: the measured volumes (daily snapshots of `pcrs storage usage`) × prices, over twelve months.
        for (const s of storage) {
          const price = tierPrice(this.ctx.config, s.tier as TierName);
          const amount = eur(cents((s.bytes / 1e12) * price.perTbMonth * 12));
          costSources.push({ kind: 'measured-storage', ref: `storage:${s.tier}`, label: `Stockage ${s.tier} mesuré : ${(s.bytes / 1e12).toFixed(3).replace('.', ',')} To en moyenne sur ${s.days} relevé(s) × ${price.perTbMonth} €/To/mois × 12`, amountEur: amount });
        }
        if (storage.length === 0) warnings.push(`Stockages ${year} : aucun coût saisi et aucun relevé de volume (pcrs storage usage) cette année.`);
      }
      const subsidySources: Source[] = entries
        .filter((e) => e.kind === 'funding' && e.line === line && e.funder !== 'partner')
        .map((e) => ({ kind: 'entry', ref: `entry:${e.id}`, label: `${e.label} (${e.funder})`, amountEur: e.amountEur }));
      const costC = costSources.reduce((n, s) => n + cents(s.amountEur), 0);
      const subsidyC = subsidySources.reduce((n, s) => n + cents(s.amountEur), 0);
      const toShareC = Math.max(0, costC - subsidyC);
      if (subsidyC > costC) warnings.push(`${LINE_TITLES[line]} : les subventions (${eur(subsidyC)} €) dépassent le coût (${eur(costC)} €).`);
      const key = keys.find((k) => k.line === line) ?? null;
      let shares: Share[] = [];
      let unallocated: PlanLine['unallocated'] = null;
      if (toShareC > 0 && !key) unallocated = { amountEur: eur(toShareC), reason: 'Pas de clé de répartition pour cette ligne cette année.' };
      if (key) {
        const weighted = await this.weightsOf(year, key, warnings);
        const sum = weighted.reduce((n, w) => n + w.weight, 0);
        if (sum <= 0) {
          if (toShareC > 0) unallocated = { amountEur: eur(toShareC), reason: `La clé (${METHOD_TITLES[key.method]}) ne donne aucun poids aux partenaires.` };
        } else {
          const split = splitCents(toShareC, weighted.map((w) => w.weight));
          shares = weighted.map((w, i) => ({ organisation: w.org, weight: w.weight, fraction: w.weight / sum, amountEur: eur(split[i] as number) }));
          for (const s of shares) {
            const d = dueBy.get(s.organisation.id) ?? { org: s.organisation, shares: {} };
            d.shares[line] = s.amountEur;
            dueBy.set(s.organisation.id, d);
          }
        }
      }
      lines.push({
        line,
        title: LINE_TITLES[line],
        cost: eur(costC),
        costSources,
        subsidies: eur(subsidyC),
        subsidySources,
        toShare: eur(toShareC),
        key: key ? { method: key.method, title: METHOD_TITLES[key.method] } : null,
        shares,
        unallocated,
      });
    }
    // Partners: those with a share, those who paid, those who contributed in kind.
    const partners = new Map<number, PartnerBalance>();
    const partner = (org: OrganisationRef): PartnerBalance => {
      let p = partners.get(org.id);
      if (!p) {
        p = { organisation: org, shares: {}, due: 0, paid: 0, paidSources: [], inKind: 0, inKindSources: [], balance: 0 };
        partners.set(org.id, p);
      }
      return p;
    };
    for (const d of dueBy.values()) partner(d.org).shares = d.shares;
    for (const e of entries) {
      if (e.kind === 'funding' && e.funder === 'partner' && e.organisation) partner(e.organisation).paidSources.push({ kind: 'entry', ref: `entry:${e.id}`, label: e.label, amountEur: e.amountEur });
    }
    const { contributionValuePerDalle: perDalle, contributionValuePerKm: perKm } = this.ctx.config.financing;
    for (const c of contributions) {
      const value = eur(cents(c.dalles * perDalle + c.km * perKm));
      if (value <= 0) continue;
      const what = [c.dalles ? `${c.dalles} dalle(s) × ${perDalle} €` : null, c.km ? `${c.km.toFixed(3)} km de bordure × ${perKm} €` : null].filter(Boolean).join(' + ');
      partner(c.organisation).inKindSources.push({ kind: 'contribution', ref: `contribution:${c.id}`, label: `Contribution « ${c.title} » : ${what}`, amountEur: value });
    }
    for (const p of partners.values()) {
      const dueC = Object.values(p.shares).reduce((n, v) => n + cents(v), 0);
      const paidC = p.paidSources.reduce((n, s) => n + cents(s.amountEur), 0);
      const inKindC = p.inKindSources.reduce((n, s) => n + cents(s.amountEur), 0);
      Object.assign(p, { due: eur(dueC), paid: eur(paidC), inKind: eur(inKindC), balance: eur(paidC + inKindC - dueC) });
    }
    for (const b of budgets) {
      for (const line of b.budget) if (!BUDGET_LINE[line.category]) warnings.push(`Campagne « ${b.title} » : la ligne de budget « ${line.label} » (${line.category}) n’entre dans aucune ligne du plan ; elle n’est pas comptée.`);
    }
    const sum = (f: (l: PlanLine) => number) => eur(lines.reduce((n, l) => n + cents(f(l)), 0));
    const sumP = (f: (p: PartnerBalance) => number) => eur([...partners.values()].reduce((n, p) => n + cents(f(p)), 0));
    return {
      year,
      currency: 'EUR',
      lines,
      partners: [...partners.values()].sort((a, b) => a.organisation.name.localeCompare(b.organisation.name, 'fr')),
      totals: { cost: sum((l) => l.cost), subsidies: sum((l) => l.subsidies), toShare: sum((l) => l.toShare), allocated: sum((l) => l.shares.reduce((n, s) => n + s.amountEur, 0)), paid: sumP((p) => p.paid), inKind: sumP((p) => p.inKind) },
      warnings,
    };
  }

  /** Each partner's weight under a key: as entered (fixed, network) or measured (population, area, usage). */
  private async weightsOf(year: number, key: AllocationKey, warnings: string[]): Promise<Array<{ org: OrganisationRef; weight: number }>> {
    if (key.method === 'fixed' || key.method === 'network') return key.weights.map((w) => ({ org: w.organisation, weight: w.value }));
    const ids = key.partners.map((p) => p.id);
    const measured = key.method === 'population' ? await this.store.populations(ids) : key.method === 'area' ? await this.store.areas(ids) : await this.store.requests(year, ids);
    return key.partners.map((org) => {
      const v = measured.get(org.id) ?? null;
      if (v === null && key.method !== 'usage') warnings.push(`${LINE_TITLES[key.line]} : ${org.name} n’a pas de ${key.method === 'population' ? 'population connue (code INSEE ou SIREN d’EPCI)' : 'zone de compétence'} ; son poids est 0.`);
      return { org, weight: v ?? 0 };
    });
  }
}

/** A number (not text): a spreadsheet sums it, and a negative one is not taken for a formula. */
const money = (v: number) => Math.round(v * 100) / 100;

/** The plan as CSV: one section per line (costs and subsidies with their sources, shares), then the partners' balances. */
export function planToCsv(plan: Plan): string {
  const rows: Array<Array<string | number | null>> = [];
  for (const l of plan.lines) {
    for (const s of l.costSources) rows.push([plan.year, l.title, 'coût', s.label, s.ref, null, money(s.amountEur)]);
    for (const s of l.subsidySources) rows.push([plan.year, l.title, 'subvention', s.label, s.ref, null, money(-s.amountEur)]);
    rows.push([plan.year, l.title, 'à répartir', l.key ? `clé : ${l.key.title}` : 'sans clé', null, null, money(l.toShare)]);
    for (const s of l.shares) rows.push([plan.year, l.title, 'part', s.organisation.name, `organisation:${s.organisation.slug}`, Number((s.fraction * 100).toFixed(4)), money(s.amountEur)]);
    if (l.unallocated) rows.push([plan.year, l.title, 'non réparti', l.unallocated.reason, null, null, money(l.unallocated.amountEur)]);
  }
  for (const p of plan.partners) {
    rows.push([plan.year, 'Solde', 'dû', p.organisation.name, `organisation:${p.organisation.slug}`, null, money(p.due)]);
    rows.push([plan.year, 'Solde', 'versé', p.organisation.name, p.paidSources.map((s) => s.ref).join(' ') || null, null, money(p.paid)]);
    rows.push([plan.year, 'Solde', 'en nature', p.organisation.name, p.inKindSources.map((s) => s.ref).join(' ') || null, null, money(p.inKind)]);
    rows.push([plan.year, 'Solde', 'solde', p.organisation.name, `organisation:${p.organisation.slug}`, null, money(p.balance)]);
  }
  return csvText(['annee', 'ligne', 'nature', 'libelle', 'source', 'part_pourcent', 'montant_eur'], rows);
}
