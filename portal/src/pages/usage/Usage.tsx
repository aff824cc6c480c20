import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api, type UsageAreas, type UsageGroup, type UsageQuery, type UsageRow, type UsageStats } from '../../app/api.js';
import { Field, Form, Loaded, PageTitle, Select, useLoad } from '../../app/components.js';
import { formatBytes, formatDate, t, useLanguage } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';
import type { ScreenProps } from '../../app/screen.js';

/** Groups one may pick (the time axis is the chart's). */
const GROUPS = ['org', 'key', 'layer', 'service', 'status'] as const;
type Group = (typeof GROUPS)[number];
const PRESETS = ['7d', '30d', '12m', 'year', 'custom'] as const;
type Preset = (typeof PRESETS)[number];
const SERVICES = ['', 'wmts', 'wms', 'xyz', 'ogc-api', 'wfs', 'vector-tiles', 'download', 'extract', 'declaration', 'contribution', 'api', 'portal'] as const;
/** Series drawn on the chart: the busiest values of the group; the rest add up as "others". */
const TOP = 6;
const COLOURS = ['#1f6fb2', '#d9480f', '#2b8a3e', '#862e9c', '#e8590c', '#0b7285', '#868e96'];

const day = (d: Date) => d.toISOString().slice(0, 10);
const parisToday = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());

/** The period of a preset, as the API takes it. */
export function presetPeriod(preset: Exclude<Preset, 'custom'>, today = parisToday()): { from: string; to: string } {
  const end = new Date(`${today}T00:00:00Z`);
  if (preset === '7d') return { from: day(new Date(end.getTime() - 6 * 86_400_000)), to: today };
  if (preset === '30d') return { from: day(new Date(end.getTime() - 29 * 86_400_000)), to: today };
  if (preset === '12m') return { from: day(new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 11, 1))), to: today };
  return { from: `${today.slice(0, 4)}-01-01`, to: today };
}

/** The name shown for a row's value of the group. */
function valueLabel(row: UsageRow, group: Group): string {
  if (group === 'org') return row.organisation ? row.organisation.name : t('usage.anonymous');
  if (group === 'key') return row.key ? `${row.key.name}${row.key.prefix ? ` (${row.key.prefix})` : ''}` : t('usage.noKey');
  if (group === 'service') return row.service ? t(`usage.service.${row.service}` as MessageKey) : '—';
  if (group === 'status') return row.status ?? '—';
  return row.layer || '—';
}

const number = (n: number) => n.toLocaleString(t('usage.locale'));

/**
 * Usage statistics (`#/statistiques`, GET /api/v1/stats): requests and bytes over a period — a
 * preset or chosen days — grouped by organisation, key, layer, service or status, as a chart over
 * time (uPlot), a table with shares, a CSV export, and a heat map of where tiles are asked.
 * Each user sees its organisations and keys; platform administrators see everything.
 */
export default function Usage(_: ScreenProps) {
  useLanguage();
  const [preset, setPreset] = useState<Preset>('30d');
  const [custom, setCustom] = useState(presetPeriod('30d'));
  const [group, setGroup] = useState<Group>('org');
  const [service, setService] = useState<(typeof SERVICES)[number]>('');
  const period = preset === 'custom' ? custom : presetPeriod(preset);
  const [asked, setAsked] = useState<{ from: string; to: string; group: Group; service: string }>({ ...period, group, service });
  const valid = (d: string) => /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(d));
  const problem = preset !== 'custom' ? null : !valid(custom.from) ? 'from' : !valid(custom.to) || custom.to < custom.from ? 'to' : null;
  const byMonth = preset === '12m' || (Date.parse(asked.to) - Date.parse(asked.from)) / 86_400_000 > 92;
  const query = (groupBy: UsageGroup[]): UsageQuery => ({ from: asked.from, to: asked.to, groupBy, service: asked.service || undefined });
  const totals = useLoad(() => api.usage(query([asked.group])), [asked]);
  const series = useLoad(() => api.usage(query([byMonth ? 'month' : 'day', asked.group])), [asked, byMonth]);
  const areas = useLoad(() => api.usageAreas(asked.from, asked.to), [asked.from, asked.to]);

  return (
    <section class="page usage">
      <PageTitle text={t('usage.title')} />
      <Form class="form filters" label={t('usage.title')} onSubmit={() => problem === null && setAsked({ ...period, group, service })}>
        <Select label={t('usage.period')} name="preset" value={preset} options={PRESETS.map((p) => ({ value: p, label: t(`usage.preset.${p}` as MessageKey) }))} onChange={setPreset} />
        {preset === 'custom' ? (
          <>
            <Field label={t('usage.from')} name="from" value={custom.from} onInput={(v) => setCustom({ ...custom, from: v })} placeholder="2026-01-01" error={problem === 'from' ? t('error.invalidPeriod') : undefined} />
            <Field label={t('usage.to')} name="to" value={custom.to} onInput={(v) => setCustom({ ...custom, to: v })} placeholder="2026-12-31" error={problem === 'to' ? t('error.invalidPeriod') : undefined} />
          </>
        ) : null}
        <Select label={t('usage.groupBy')} name="group" value={group} options={GROUPS.map((g) => ({ value: g, label: t(`usage.group.${g}` as MessageKey) }))} onChange={setGroup} />
        <Select label={t('usage.serviceFilter')} name="service" value={service} options={SERVICES.map((s) => ({ value: s, label: s ? t(`usage.service.${s}` as MessageKey) : t('usage.allServices') }))} onChange={setService} />
        <button type="submit">{t('usage.show')}</button>
      </Form>
      <Loaded state={totals}>
        {(s) => (
          <>
            <p class="usage-summary">
              {t(s.scope === 'all' ? 'usage.scopeAll' : 'usage.scopeOwn')} {t('usage.summary', { from: formatDate(s.from), to: formatDate(s.to), requests: number(s.totals.requests), bytes: formatBytes(s.totals.bytes) })}{' '}
              <a href={api.usageQuery(query([asked.group]), 'csv')} download>
                {t('usage.csv')}
              </a>
            </p>
            <p class="hint">{t('usage.delay')}</p>
            {s.rows.length === 0 ? <p class="empty">{t('usage.none')}</p> : <UsageTable s={s} group={asked.group} />}
          </>
        )}
      </Loaded>
      <h2>{t(byMonth ? 'usage.chartMonth' : 'usage.chartDay')}</h2>
      <Loaded state={series}>{(s) => (s.rows.length === 0 ? <p class="empty">{t('usage.none')}</p> : <UsageChart s={s} group={asked.group} />)}</Loaded>
      <h2>{t('usage.heatTitle')}</h2>
      <Loaded state={areas}>{(a) => (a.cells.length === 0 ? <p class="empty">{t('usage.heatNone')}</p> : <HeatMap a={a} />)}</Loaded>
    </section>
  );
}

function UsageTable({ s, group }: { s: UsageStats; group: Group }) {
  const rows = [...s.rows].sort((a, b) => b.requests - a.requests);
  return (
    <table class="usage-table">
      <caption class="visually-hidden">{t('usage.tableCaption')}</caption>
      <thead>
        <tr>
          <th scope="col">{t(`usage.group.${group}` as MessageKey)}</th>
          <th scope="col" class="num">{t('usage.requests')}</th>
          <th scope="col" class="num">{t('usage.share')}</th>
          <th scope="col" class="num">{t('usage.bytes')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            <th scope="row" class={(r.organisation?.deleted ?? r.key?.deleted) ? 'deleted' : undefined}>{valueLabel(r, group)}</th>
            <td class="num">{number(r.requests)}</td>
            <td class="num">{s.totals.requests ? `${((100 * r.requests) / s.totals.requests).toLocaleString(t('usage.locale'), { minimumFractionDigits: 1, maximumFractionDigits: 1 })} %` : '—'}</td>
            <td class="num">{formatBytes(r.bytes)}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">{t('usage.total')}</th>
          <td class="num">{number(s.totals.requests)}</td>
          <td class="num">100 %</td>
          <td class="num">{formatBytes(s.totals.bytes)}</td>
        </tr>
      </tfoot>
    </table>
  );
}

/** Requests per day (or month) for the busiest values of the group, drawn by uPlot. */
function UsageChart({ s, group }: { s: UsageStats; group: Group }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const periodOf = (r: UsageRow) => (s.granularity === 'day' ? r.day : `${r.month}-01`) ?? '';
    // Every period of the range, zero where nothing was counted.
    const periods: string[] = [];
    for (let d = new Date(`${s.from.slice(0, s.granularity === 'day' ? 10 : 7)}${s.granularity === 'day' ? '' : '-01'}T00:00:00Z`); day(d) <= s.to; ) {
      periods.push(day(d));
      d = s.granularity === 'day' ? new Date(d.getTime() + 86_400_000) : new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
    }
    const total = new Map<string, number>();
    for (const r of s.rows) total.set(valueLabel(r, group), (total.get(valueLabel(r, group)) ?? 0) + r.requests);
    const ranked = [...total.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
    const shown = ranked.slice(0, TOP);
    const others = ranked.length > TOP;
    const names = others ? [...shown, t('usage.others')] : shown;
    const index = new Map(periods.map((p, i) => [p, i]));
    const data: number[][] = names.map(() => periods.map(() => 0));
    for (const r of s.rows) {
      const i = index.get(periodOf(r));
      if (i === undefined) continue;
      const k = shown.indexOf(valueLabel(r, group));
      const line = data[k === -1 ? names.length - 1 : k];
      if (line) line[i] = (line[i] ?? 0) + r.requests;
    }
    const xs = periods.map((p) => Date.parse(`${p}T12:00:00Z`) / 1000);
    const plot = new uPlot(
      {
        width: Math.max(320, el.clientWidth || 720),
        height: 300,
        scales: { x: { time: true } },
        // Dates as the user reads them ("5 nov."), not uPlot's US default.
        axes: [{ values: (_u, ticks) => ticks.map((v) => new Date(v * 1000).toLocaleDateString(t('usage.locale'), s.granularity === 'day' ? { day: 'numeric', month: 'short', timeZone: 'UTC' } : { month: 'short', year: 'numeric', timeZone: 'UTC' })) }, { label: t('usage.requests'), size: 70 }],
        series: [{ label: t('usage.date') }, ...names.map((n, i) => ({ label: n, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: periods.length < 40 } }))],
      },
      [xs, ...data],
      el,
    );
    return () => plot.destroy();
  }, [s, group]);
  return <div class="usage-chart" ref={box} role="img" aria-label={t('usage.chartLabel')} />;
}

/** Tile requests per 1 km cell, drawn in Lambert-93 (north up), darker where busier. */
function HeatMap({ a }: { a: UsageAreas }) {
  const xs = a.cells.map((c) => c.cellX);
  const ys = a.cells.map((c) => c.cellY);
  const MIN_SIDE = 20;
  let [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  // At least a 20 km square around the cells: a few cells stay cells, not a red page.
  if (maxX - minX + 1 < MIN_SIDE) [minX, maxX] = [Math.floor((minX + maxX + 1 - MIN_SIDE) / 2), Math.floor((minX + maxX + 1 - MIN_SIDE) / 2) + MIN_SIDE - 1];
  if (maxY - minY + 1 < MIN_SIDE) [minY, maxY] = [Math.floor((minY + maxY + 1 - MIN_SIDE) / 2), Math.floor((minY + maxY + 1 - MIN_SIDE) / 2) + MIN_SIDE - 1];
  const max = Math.max(...a.cells.map((c) => c.requests));
  const w = maxX - minX + 1;
  const h = maxY - minY + 1;
  return (
    <figure class="usage-heat">
      <svg viewBox={`0 0 ${w} ${h}`} width={Math.min(640, Math.max(160, w * 8))} role="img" aria-label={t('usage.heatLabel', { cells: a.cells.length })}>
        <rect x={0} y={0} width={w} height={h} fill="#f1f3f5" />
        {a.cells.map((c) => (
          <rect key={`${c.cellX}/${c.cellY}`} x={c.cellX - minX} y={maxY - c.cellY} width={1} height={1} fill="#c92a2a" fill-opacity={0.15 + (0.85 * Math.log1p(c.requests)) / Math.log1p(max)}>
            <title>{t('usage.heatCell', { x: c.bbox[0], y: c.bbox[1], requests: number(c.requests) })}</title>
          </rect>
        ))}
      </svg>
      <figcaption>{t('usage.heatCaption', { max: number(max) })}</figcaption>
    </figure>
  );
}
