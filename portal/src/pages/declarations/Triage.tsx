import { useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  DECLARATION_STATUSES,
  DECLARATION_TYPES,
  WORKS_THEMES,
  type BulkResult,
  type DeclarationPage,
  type DeclarationQuery,
  type DeclarationStatus,
  type DeclarationType,
  type Organisation,
  type WorksTheme,
} from '../../app/api.js';
import { Checkbox, Form, LiveRegion, Loaded, PageTitle, Select, TextArea, useForm, useLoad } from '../../app/components.js';
import { errorText, formatDate, t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';
import type { DeclarationsMap } from './decl-map.js';
import { StatusBadge, StatusLegend, statusText, themeText, typeText } from './labels.js';

const PAGE = 100;

interface Filters {
  status: DeclarationStatus | '';
  type: DeclarationType | '';
  theme: WorksTheme | '';
  organisation: string;
  bbox: boolean;
}

/**
 * Triage for moderators (`#/triage`): the declarations filtered by status, type, theme, author's
 * organisation and the map's extent; a map beside the list, synchronised with it (a row chosen is
 * highlighted on the map, a feature clicked on the map is highlighted and scrolled to in the
 * list); checkboxes and one bulk action for the selection (status with its reason, assignment to an
 * organisation, a comment), with each refusal said per declaration.
 */
export default function Triage(_: ScreenProps) {
  const [filters, setFilters] = useState<Filters>({ status: 'submitted', type: '', theme: '', organisation: '', bbox: false });
  const [applied, setApplied] = useState<Filters>(filters);
  const [extentTick, setExtentTick] = useState(0);
  const [limit, setLimit] = useState(PAGE);
  const [checked, setChecked] = useState<Set<number>>(new Set());
  const [focused, setFocused] = useState<number[]>([]);
  const mapRef = useRef<DeclarationsMap | null>(null);
  const mapTarget = useRef<HTMLDivElement>(null);
  const rows = useRef<HTMLTableSectionElement>(null);
  const orgs = useLoad<Organisation[]>(() => api.organisations().catch(() => []));

  const query = (): DeclarationQuery => ({
    ...(applied.status ? { status: [applied.status] } : {}),
    ...(applied.type ? { type: [applied.type] } : {}),
    ...(applied.theme ? { theme: applied.theme } : {}),
    ...(applied.organisation ? { organisation: applied.organisation } : {}),
    ...(applied.bbox && mapRef.current ? { bbox: mapRef.current.extent() } : {}),
    limit,
  });
  const list = useLoad<DeclarationPage>(() => api.declarations(query()), [applied, limit, applied.bbox ? extentTick : 0]);
  const latest = useRef(list.data);
  latest.current = list.data;

  // The map: created once, its features follow the list.
  useEffect(() => {
    let live = true;
    void import('./decl-map.js').then(({ createDeclarationsMap }) =>
      createDeclarationsMap(mapTarget.current as HTMLElement, [], {
        onSelect: (ids) => {
          setFocused(ids);
          const first = ids[0];
          if (first !== undefined) rows.current?.querySelector(`[data-id="${first}"]`)?.scrollIntoView({ block: 'nearest' });
        },
        onMove: () => setExtentTick((n) => n + 1),
      }).then(
        (m) => {
          if (!live) return m.dispose();
          mapRef.current = m;
          // The list may have come first.
          if (latest.current) {
            m.layer.setItems(latest.current.declarations);
            m.layer.fit();
          }
        },
        () => undefined,
      ),
    );
    return () => {
      live = false;
      mapRef.current?.dispose();
      mapRef.current = null;
    };
  }, []);
  useEffect(() => {
    const m = mapRef.current;
    if (!m || !list.data) return;
    m.layer.setItems(list.data.declarations);
    if (!applied.bbox) m.layer.fit();
  }, [list.data]);
  useEffect(() => mapRef.current?.layer.highlight(focused), [focused, list.data]);

  const items = list.data?.declarations ?? [];
  const toggle = (id: number, on: boolean) =>
    setChecked((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allChecked = items.length > 0 && items.every((d) => checked.has(d.id));

  return (
    <section class="page triage">
      <PageTitle text={t('triage.title')} />
      <Form
        class="form filters"
        label={t('triage.filters')}
        onSubmit={() => {
          setLimit(PAGE);
          setApplied({ ...filters });
        }}
      >
        <Select label={t('decl.status')} name="status" value={filters.status} options={[{ value: '', label: t('triage.anyStatus') }, ...DECLARATION_STATUSES.map((v) => ({ value: v, label: statusText(v) }))]} onChange={(status) => setFilters({ ...filters, status })} />
        <Select label={t('decl.type')} name="type" value={filters.type} options={[{ value: '', label: t('triage.anyType') }, ...DECLARATION_TYPES.map((v) => ({ value: v, label: typeText(v) }))]} onChange={(type) => setFilters({ ...filters, type })} />
        <Select label={t('triage.theme')} name="theme" value={filters.theme} options={[{ value: '', label: t('triage.anyTheme') }, ...WORKS_THEMES.map((v) => ({ value: v, label: themeText(v) }))]} onChange={(theme) => setFilters({ ...filters, theme })} />
        <Select label={t('triage.organisation')} name="organisation" value={filters.organisation} options={[{ value: '', label: t('triage.anyOrg') }, ...(orgs.data ?? []).map((o) => ({ value: o.slug, label: o.name }))]} onChange={(organisation) => setFilters({ ...filters, organisation })} />
        <Checkbox label={t('triage.bbox')} name="bbox" checked={filters.bbox} onChange={(bbox) => setFilters({ ...filters, bbox })} />
        <button type="submit">{t('triage.apply')}</button>
      </Form>
      <div class="triage-body">
        <div class="triage-list">
          <Loaded state={list} empty={(d) => d.declarations.length === 0}>
            {(page) => (
              <>
                <p class="hint" role="status">
                  {t('triage.count', { shown: page.declarations.length, total: page.total })} · {t('triage.selected', { count: checked.size })}
                </p>
                <table class="declarations triage-table">
                  <thead>
                    <tr>
                      <th scope="col">
                        <input
                          type="checkbox"
                          aria-label={t('triage.selectAll')}
                          checked={allChecked}
                          onChange={(e) => setChecked((e.currentTarget as HTMLInputElement).checked ? new Set(items.map((d) => d.id)) : new Set())}
                        />
                      </th>
                      <th scope="col">{t('decl.number')}</th>
                      <th scope="col">{t('decl.title')}</th>
                      <th scope="col">{t('decl.type')}</th>
                      <th scope="col">{t('decl.status')}</th>
                      <th scope="col">{t('decl.assigned')}</th>
                      <th scope="col">{t('decl.updated')}</th>
                    </tr>
                  </thead>
                  <tbody ref={rows}>
                    {page.declarations.map((d) => (
                      <tr key={d.id} data-id={d.id} class={focused.includes(d.id) ? 'focused' : ''} aria-selected={focused.includes(d.id)}>
                        <td>
                          <input type="checkbox" aria-label={t('triage.select', { id: d.id })} checked={checked.has(d.id)} onChange={(e) => toggle(d.id, (e.currentTarget as HTMLInputElement).checked)} />
                        </td>
                        <td>
                          <button
                            type="button"
                            class="link"
                            onClick={() => {
                              setFocused([d.id]);
                              mapRef.current?.layer.fit([d.id], 19);
                            }}
                          >
                            {d.id}
                          </button>
                        </td>
                        <td>
                          <a href={href(`/declarations/${d.id}`)}>{d.title}</a>
                        </td>
                        <td>{typeText(d.type)}</td>
                        <td>
                          <StatusBadge status={d.status} />
                        </td>
                        <td>{[d.assigned.user?.displayName, d.assigned.organisation?.slug].filter(Boolean).join(' · ') || '—'}</td>
                        <td>{formatDate(d.updatedAt, true)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {page.total > page.declarations.length ? (
                  <button type="button" onClick={() => setLimit((n) => Math.min(500, n + PAGE))}>
                    {t('triage.more')}
                  </button>
                ) : null}
              </>
            )}
          </Loaded>
          <Bulk ids={[...checked]} orgs={orgs.data ?? []} onDone={() => list.reload()} />
        </div>
        <div class="triage-map-box">
          <div class="triage-map" ref={mapTarget} role="application" aria-label={t('triage.map')} />
          <StatusLegend />
        </div>
      </div>
    </section>
  );
}

function Bulk({ ids, orgs, onDone }: { ids: number[]; orgs: Organisation[]; onDone: () => void }) {
  const [status, setStatus] = useState<DeclarationStatus | ''>('');
  const [reason, setReason] = useState('');
  const [org, setOrg] = useState('');
  const [comment, setComment] = useState('');
  const [failures, setFailures] = useState<Array<Extract<BulkResult, { ok: false }>>>([]);
  const form = useForm();
  return (
    <Form
      class="form bulk"
      label={t('triage.bulk')}
      onSubmit={() => {
        const local: Record<string, string> = {};
        if (!ids.length) local['ids'] = t('triage.bulkNone');
        else if (!status && !org && !comment.trim()) local['ids'] = t('triage.bulkNothing');
        if (status && ['resolved', 'rejected', 'duplicate'].includes(status) && !reason.trim()) local['reason'] = t('decl.reasonRequired');
        void form.run(async () => {
          const { results } = await api.bulkDeclarations({
            ids,
            ...(status ? { status: { status, ...(reason.trim() ? { reason: reason.trim() } : {}) } } : {}),
            ...(org ? { assign: { organisation: org } } : {}),
            ...(comment.trim() ? { comment: comment.trim() } : {}),
          });
          const failed = results.filter((r): r is Extract<BulkResult, { ok: false }> => !r.ok);
          setFailures(failed);
          onDone();
          return t('triage.bulkDone', { ok: results.length - failed.length, failed: failed.length });
        }, local);
      }}
    >
      <h2>{t('triage.bulk')}</h2>
      {form.fieldError('ids') ? <p class="field-error">{form.fieldError('ids')}</p> : null}
      <Select label={t('triage.bulkStatus')} name="bulkStatus" value={status} options={[{ value: '', label: t('triage.bulkNoStatus') }, ...DECLARATION_STATUSES.map((v) => ({ value: v, label: statusText(v) }))]} onChange={setStatus} />
      {status ? <TextArea label={t('decl.reason')} name="bulkReason" value={reason} onInput={setReason} hint={t('decl.reasonHint')} error={form.fieldError('reason')} rows={2} /> : null}
      <Select label={t('triage.bulkAssignOrg')} name="bulkOrganisation" value={org} options={[{ value: '', label: t('triage.bulkNoAssign') }, ...orgs.map((o) => ({ value: o.slug, label: o.name }))]} onChange={setOrg} />
      <TextArea label={t('triage.bulkComment')} name="bulkComment" value={comment} onInput={setComment} rows={2} />
      <LiveRegion message={form.message} />
      {failures.length ? (
        <ul class="bulk-failures" role="alert">
          {failures.map((f) => (
            <li key={f.id}>{t('triage.bulkFailed', { id: f.id, error: errorText(new ApiError(400, f.error.code, f.error.message)) })}</li>
          ))}
        </ul>
      ) : null}
      <button type="submit" disabled={form.busy}>
        {t('triage.bulkApply')}
      </button>
    </Form>
  );
}
