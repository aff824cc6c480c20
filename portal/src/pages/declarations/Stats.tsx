import { useState } from 'preact/hooks';
import { api, DECLARATION_TYPES, type DeclarationStats, type DeclarationType } from '../../app/api.js';
import { Field, Form, Loaded, PageTitle, useLoad } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import type { ScreenProps } from '../../app/screen.js';
import { statusText, typeText } from './labels.js';

const month = (d: Date) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;

/**
 * Statistics of declarations (`#/declarations/stats`, GET /declarations/stats): opened and closed
 * per month (a table and a bar chart drawn in SVG, no chart library), the median time to
 * resolution per type, and the open ones per status.
 */
export default function Stats(_: ScreenProps) {
  const now = new Date();
  const [from, setFrom] = useState(month(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1))));
  const [to, setTo] = useState(month(now));
  const [asked, setAsked] = useState({ from, to });
  const stats = useLoad(() => api.declarationStats(asked.from, asked.to), [asked]);
  const valid = (m: string) => /^\d{4}-(0[1-9]|1[0-2])$/.test(m);
  const problem = !valid(from) ? 'from' : !valid(to) || to < from ? 'to' : null;
  return (
    <section class="page stats">
      <PageTitle text={t('stats.title')} />
      <Form class="form filters" label={t('stats.title')} onSubmit={() => problem === null && setAsked({ from, to })}>
        <Field label={t('stats.from')} name="from" value={from} onInput={setFrom} placeholder="2026-01" error={problem === 'from' ? t('error.invalidPeriod') : undefined} />
        <Field label={t('stats.to')} name="to" value={to} onInput={setTo} placeholder="2026-12" error={problem === 'to' ? t('error.invalidPeriod') : undefined} />
        <button type="submit">{t('stats.show')}</button>
      </Form>
      <Loaded state={stats}>{(s) => <StatsView s={s} />}</Loaded>
    </section>
  );
}

function StatsView({ s }: { s: DeclarationStats }) {
  const months = [...new Set(s.months.map((m) => m.month))].sort();
  const per = (m: string) => {
    const rows = s.months.filter((r) => r.month === m);
    return { opened: rows.reduce((n, r) => n + r.opened, 0), closed: rows.reduce((n, r) => n + r.closed, 0), rows };
  };
  const types = DECLARATION_TYPES.filter((ty) => s.months.some((m) => m.type === ty));
  const cell = (m: string, ty: DeclarationType) => s.months.find((r) => r.month === m && r.type === ty);
  return (
    <>
      <h2>{t('stats.perMonth')}</h2>
      {months.length === 0 ? (
        <p class="empty">{t('stats.none')}</p>
      ) : (
        <>
          <BarChart data={months.map((m) => ({ label: m, ...per(m) }))} />
          <table class="stats-months">
            <thead>
              <tr>
                <th scope="col">{t('stats.month')}</th>
                {types.map((ty) => (
                  <th scope="col" key={ty}>
                    {typeText(ty)} ({t('stats.opened')} / {t('stats.closed')})
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {months.map((m) => (
                <tr key={m}>
                  <th scope="row">{m}</th>
                  {types.map((ty) => {
                    const c = cell(m, ty);
                    return <td key={ty}>{c ? `${c.opened} / ${c.closed}` : '0 / 0'}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h2>{t('stats.resolution')}</h2>
      <table class="stats-resolution">
        <thead>
          <tr>
            <th scope="col">{t('decl.type')}</th>
            <th scope="col">{t('stats.closedCount')}</th>
            <th scope="col">{t('stats.median')}</th>
          </tr>
        </thead>
        <tbody>
          {s.resolution.map((r) => (
            <tr key={r.type}>
              <th scope="row">{typeText(r.type)}</th>
              <td>{r.closed}</td>
              <td>{r.medianHours === null ? '—' : r.medianHours < 48 ? t('stats.hours', { hours: Math.round(r.medianHours * 10) / 10 }) : t('stats.days', { days: Math.round(r.medianHours / 2.4) / 10 })}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>{t('stats.open')}</h2>
      <table class="stats-open">
        <thead>
          <tr>
            <th scope="col">{t('decl.type')}</th>
            <th scope="col">{t('decl.status')}</th>
            <th scope="col">{t('stats.count')}</th>
          </tr>
        </thead>
        <tbody>
          {s.open.map((r) => (
            <tr key={`${r.type}/${r.status}`}>
              <td>{typeText(r.type)}</td>
              <td>{statusText(r.status)}</td>
              <td>{r.count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Opened and closed per month, side by side, in SVG (the table above says the same in text). */
function BarChart({ data }: { data: Array<{ label: string; opened: number; closed: number }> }) {
  const max = Math.max(1, ...data.map((d) => Math.max(d.opened, d.closed)));
  const height = 160;
  const band = 44;
  const bar = 16;
  const width = Math.max(200, data.length * band + 40);
  const y = (v: number) => height - (v / max) * (height - 20);
  return (
    <figure class="chart">
      <svg role="img" aria-label={t('stats.chart')} width={width} height={height + 40} viewBox={`0 0 ${width} ${height + 40}`}>
        <line x1={30} y1={height} x2={width} y2={height} stroke="#888" />
        <text x={26} y={y(max) + 4} text-anchor="end" font-size="11">
          {max}
        </text>
        {data.map((d, i) => {
          const x = 34 + i * band;
          return (
            <g key={d.label}>
              <rect class="opened" x={x} y={y(d.opened)} width={bar} height={height - y(d.opened)} fill="#d62728">
                <title>{`${d.label} · ${t('stats.opened')} ${d.opened}`}</title>
              </rect>
              <rect class="closed" x={x + bar + 2} y={y(d.closed)} width={bar} height={height - y(d.closed)} fill="#2ca02c">
                <title>{`${d.label} · ${t('stats.closed')} ${d.closed}`}</title>
              </rect>
              <text x={x + bar} y={height + 14} text-anchor="middle" font-size="10">
                {d.label.slice(2)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>
        <span class="swatch" style={{ background: '#d62728' }} aria-hidden="true" /> {t('stats.opened')} · <span class="swatch" style={{ background: '#2ca02c' }} aria-hidden="true" /> {t('stats.closed')}
      </figcaption>
    </figure>
  );
}
