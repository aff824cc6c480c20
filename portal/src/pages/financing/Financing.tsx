import { useState } from 'preact/hooks';
import { api, FINANCING_LINES, FINANCING_METHODS, FUNDERS, type FinancingLine, type FinancingMethod, type FinancingPlan, type Funder } from '../../app/api.js';
import { ConfirmButton, Field, Form, LiveRegion, Loaded, PageTitle, Select, useForm, useLoad } from '../../app/components.js';
import { t, useLanguage } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';
import type { ScreenProps } from '../../app/screen.js';
import { isPlatformAdmin, useSession } from '../../app/session.js';

const money = (v: number) => `${v.toLocaleString(t('usage.locale'), { minimumFractionDigits: 2, maximumFractionDigits: 2 })} €`;
const lineText = (l: FinancingLine) => t(`financing.line.${l}` as MessageKey);

/**
 * The financing plan (`#/financement`, GET /api/v1/financing/plan): a year's six lines — cost,
 * subsidies, what the partners share and by which key —, each partner's share and balance, the
 * remarks, the CSV / spreadsheet / PDF exports. Platform administrators (the financial commission)
 * also enter amounts, delete them, and set each line's allocation key; organisation administrators
 * read.
 */
export default function Financing(_: ScreenProps) {
  useLanguage();
  const { user } = useSession();
  const admin = isPlatformAdmin(user);
  const [year, setYear] = useState(String(new Date().getFullYear()));
  const [asked, setAsked] = useState(Number(year));
  const validYear = /^\d{4}$/.test(year) && Number(year) >= 2000 && Number(year) <= 2100;
  const plan = useLoad(() => api.financingPlan(asked), [asked]);
  return (
    <section class="page financing">
      <PageTitle text={t('financing.title')} />
      <Form class="form filters" label={t('financing.title')} onSubmit={() => validYear && setAsked(Number(year))}>
        <Field label={t('financing.year')} name="year" value={year} onInput={setYear} error={validYear ? undefined : t('financing.badYear')} />
        <button type="submit">{t('usage.show')}</button>
      </Form>
      <p class="exports">
        {t('financing.exports')}{' '}
        {(['csv', 'xlsx', 'pdf'] as const).map((f) => (
          <a key={f} href={api.financingPlanUrl(asked, f)} download>
            {t(`financing.export.${f}` as MessageKey)}
          </a>
        ))}
      </p>
      <Loaded state={plan}>{(p) => <PlanView plan={p} />}</Loaded>
      {admin ? <EntryForm year={asked} onDone={plan.reload} /> : null}
      {admin ? <Entries year={asked} onChange={plan.reload} version={plan.data} /> : null}
      {admin ? <KeyForm year={asked} onDone={plan.reload} /> : null}
    </section>
  );
}

function PlanView({ plan }: { plan: FinancingPlan }) {
  return (
    <>
      <h2>{t('financing.linesTitle')}</h2>
      <table class="financing-lines">
        <thead>
          <tr>
            <th scope="col">{t('financing.line')}</th>
            <th scope="col" class="num">{t('financing.cost')}</th>
            <th scope="col" class="num">{t('financing.subsidies')}</th>
            <th scope="col" class="num">{t('financing.toShare')}</th>
            <th scope="col">{t('financing.key')}</th>
          </tr>
        </thead>
        <tbody>
          {plan.lines.map((l) => (
            <tr key={l.line}>
              <th scope="row">
                <details>
                  <summary>{lineText(l.line)}</summary>
                  <ul class="sources">
                    {[...l.costSources, ...l.subsidySources.map((s) => ({ ...s, amountEur: -s.amountEur }))].map((s) => (
                      <li key={s.ref + s.label}>
                        {s.label} — {money(s.amountEur)} <code>{s.ref}</code>
                      </li>
                    ))}
                    {l.costSources.length + l.subsidySources.length === 0 ? <li>{t('financing.noSource')}</li> : null}
                  </ul>
                </details>
              </th>
              <td class="num">{money(l.cost)}</td>
              <td class="num">{money(l.subsidies)}</td>
              <td class="num">{money(l.toShare)}</td>
              <td>{l.key ? t(`financing.method.${l.key.method}` as MessageKey) : l.unallocated ? t('financing.notShared') : '—'}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">{t('usage.total')}</th>
            <td class="num">{money(plan.totals.cost)}</td>
            <td class="num">{money(plan.totals.subsidies)}</td>
            <td class="num">{money(plan.totals.toShare)}</td>
            <td>{t('financing.allocated', { amount: money(plan.totals.allocated) })}</td>
          </tr>
        </tfoot>
      </table>
      <h2>{t('financing.partnersTitle')}</h2>
      {plan.partners.length === 0 ? (
        <p class="empty">{t('financing.noPartner')}</p>
      ) : (
        <table class="financing-partners">
          <thead>
            <tr>
              <th scope="col">{t('financing.partner')}</th>
              <th scope="col" class="num">{t('financing.due')}</th>
              <th scope="col" class="num">{t('financing.paid')}</th>
              <th scope="col" class="num">{t('financing.inKind')}</th>
              <th scope="col" class="num">{t('financing.balance')}</th>
            </tr>
          </thead>
          <tbody>
            {plan.partners.map((p) => (
              <tr key={p.organisation.id}>
                <th scope="row">{p.organisation.name}</th>
                <td class="num">{money(p.due)}</td>
                <td class="num">{money(p.paid)}</td>
                <td class="num">{money(p.inKind)}</td>
                <td class={`num ${p.balance < 0 ? 'negative' : ''}`}>{money(p.balance)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {plan.warnings.length ? (
        <>
          <h2>{t('financing.warningsTitle')}</h2>
          <ul class="financing-warnings">
            {plan.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </>
      ) : null}
    </>
  );
}

function EntryForm({ year, onDone }: { year: number; onDone: () => void }) {
  const f = useForm();
  const [line, setLine] = useState<FinancingLine>('acquisition');
  const [kind, setKind] = useState<'cost' | 'funding'>('cost');
  const [label, setLabel] = useState('');
  const [amount, setAmount] = useState('');
  const [supplier, setSupplier] = useState('');
  const [funder, setFunder] = useState<Funder>('feder');
  const [organisation, setOrganisation] = useState('');
  const submit = () => {
    const local: Record<string, string> = {};
    if (!label.trim()) local['label'] = t('form.required');
    if (!/^\d{1,12}([.,]\d{1,2})?$/.test(amount.trim())) local['amount'] = t('error.badAmount');
    if (kind === 'funding' && funder === 'partner' && !organisation.trim()) local['organisation'] = t('form.required');
    void f.run(async () => {
      await api.addFinancingEntry({
        year,
        line,
        kind,
        label: label.trim(),
        amountEur: amount.trim(),
        ...(kind === 'cost' && supplier.trim() ? { supplier: supplier.trim() } : {}),
        ...(kind === 'funding' ? { funder } : {}),
        ...(kind === 'funding' && funder === 'partner' ? { organisation: organisation.trim() } : {}),
      });
      setLabel('');
      setAmount('');
      onDone();
      return t('financing.entryAdded');
    }, local);
  };
  return (
    <>
      <h2>{t('financing.addTitle')}</h2>
      <Form label={t('financing.addTitle')} onSubmit={submit}>
        <Select label={t('financing.line')} name="line" value={line} options={FINANCING_LINES.map((l) => ({ value: l, label: lineText(l) }))} onChange={setLine} />
        <Select label={t('financing.kind')} name="kind" value={kind} options={(['cost', 'funding'] as const).map((k) => ({ value: k, label: t(`financing.kind.${k}` as MessageKey) }))} onChange={setKind} />
        <Field label={t('financing.label')} name="label" value={label} onInput={setLabel} error={f.fieldError('label')} />
        <Field label={t('financing.amount')} name="amount" value={amount} onInput={setAmount} placeholder="12500,00" error={f.fieldError('amount')} />
        {kind === 'cost' ? <Field label={t('financing.supplier')} name="supplier" value={supplier} onInput={setSupplier} /> : null}
        {kind === 'funding' ? <Select label={t('financing.funder')} name="funder" value={funder} options={FUNDERS.map((x) => ({ value: x, label: t(`financing.funder.${x}` as MessageKey) }))} onChange={setFunder} /> : null}
        {kind === 'funding' && funder === 'partner' ? <Field label={t('financing.organisation')} name="organisation" value={organisation} onInput={setOrganisation} placeholder="cahors" error={f.fieldError('organisation')} /> : null}
        <button type="submit" disabled={f.busy}>
          {t('financing.add')}
        </button>
        <LiveRegion message={f.message} />
      </Form>
    </>
  );
}

function Entries({ year, onChange, version }: { year: number; onChange: () => void; version: unknown }) {
  const entries = useLoad(() => api.financingEntries(year), [year, version]);
  const f = useForm();
  return (
    <>
      <h2>{t('financing.entriesTitle')}</h2>
      <Loaded state={entries} empty={(e) => e.entries.length === 0} emptyText={t('financing.noEntry')}>
        {(e) => (
          <table class="financing-entries">
            <thead>
              <tr>
                <th scope="col">{t('financing.line')}</th>
                <th scope="col">{t('financing.label')}</th>
                <th scope="col" class="num">{t('financing.amount')}</th>
                <th scope="col">{t('financing.who')}</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {e.entries.map((x) => (
                <tr key={x.id}>
                  <td>{lineText(x.line)}</td>
                  <th scope="row">{x.label}</th>
                  <td class="num">{money(x.kind === 'funding' ? -x.amountEur : x.amountEur)}</td>
                  <td>{x.kind === 'cost' ? (x.supplier ?? '—') : x.funder === 'partner' ? (x.organisation?.name ?? '—') : t(`financing.funder.${x.funder ?? 'other'}` as MessageKey)}</td>
                  <td>
                    <ConfirmButton
                      label={t('financing.delete')}
                      confirm={t('financing.deleteConfirm', { label: x.label })}
                      onConfirm={() =>
                        void f.run(async () => {
                          await api.deleteFinancingEntry(x.id);
                          onChange();
                          return t('financing.deleted');
                        })
                      }
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
      <LiveRegion message={f.message} />
    </>
  );
}

/** A line's key: fixed percentages or network km as "slug=value" pairs; population, area, usage as a list of slugs. */
function KeyForm({ year, onDone }: { year: number; onDone: () => void }) {
  const f = useForm();
  const [line, setLine] = useState<FinancingLine>('acquisition');
  const [method, setMethod] = useState<FinancingMethod>('fixed');
  const [text, setText] = useState('');
  const weighted = method === 'fixed' || method === 'network';
  const submit = () => {
    const items = text.split(/[\s,;]+/).filter(Boolean);
    const local: Record<string, string> = {};
    let body: { method: FinancingMethod; weights?: Record<string, number>; partners?: string[] } = { method };
    if (weighted) {
      const pairs = items.map((i) => /^([a-z0-9][a-z0-9-]*)=(\d+(?:[.,]\d+)?)$/.exec(i));
      if (items.length === 0 || pairs.some((p) => !p)) local['key'] = t('financing.keyWeightsHint');
      else body = { method, weights: Object.fromEntries(pairs.map((p) => [p![1]!, Number(p![2]!.replace(',', '.'))])) };
    } else if (items.length === 0) local['key'] = t('financing.keyPartnersHint');
    else body = { method, partners: items };
    void f.run(async () => {
      await api.putFinancingKey(year, line, body);
      onDone();
      return t('financing.keySaved', { line: lineText(line) });
    }, local);
  };
  return (
    <>
      <h2>{t('financing.keyTitle')}</h2>
      <Form label={t('financing.keyTitle')} onSubmit={submit}>
        <Select label={t('financing.line')} name="key-line" value={line} options={FINANCING_LINES.map((l) => ({ value: l, label: lineText(l) }))} onChange={setLine} />
        <Select label={t('financing.method')} name="method" value={method} options={FINANCING_METHODS.map((m) => ({ value: m, label: t(`financing.method.${m}` as MessageKey) }))} onChange={setMethod} />
        <Field
          label={weighted ? t('financing.keyWeights') : t('financing.keyPartners')}
          name="key"
          value={text}
          onInput={setText}
          placeholder={weighted ? 'fdel46=50 cahors=30 sdis46=20' : 'cahors figeac'}
          error={f.fieldError('key')}
        />
        <button type="submit" disabled={f.busy}>
          {t('financing.keySave')}
        </button>
        <LiveRegion message={f.message} />
      </Form>
    </>
  );
}
