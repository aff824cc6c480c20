import { useState } from 'preact/hooks';
import { api, type AuditEntry, type AuditQuery } from '../../app/api.js';
import { Field, Form, LiveRegion, PageTitle, Select, useForm, useLoad } from '../../app/components.js';
import { formatDate, t } from '../../app/i18n.js';
import { AdminNav } from './AdminNav.js';

/** The audit actions of the platform (contract of issue 10), offered as filters; a prefix ('auth.') works too. */
export const AUDIT_ACTIONS = [
  'auth.',
  'auth.signin',
  'auth.signin-failed',
  'auth.signout',
  'auth.signout-everywhere',
  'auth.password-reset',
  'user.create',
  'user.roles',
  'user.disable',
  'organisation.create',
  'organisation.update',
  'membership.request',
  'membership.decide',
  'membership.role',
  'key.create',
  'key.revoke',
  'key.rename',
  'permission.grant',
  'permission.revoke',
  'visibility.set',
  'archive.restore',
] as const;

const PAGE = 50;

/** The audit log, newest first, filtered by actor, action and period; older pages on demand. */
export default function AdminAudit() {
  const users = useLoad(() => api.users().catch(() => []));
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const form = useForm();
  const query = (before?: number): AuditQuery => ({
    ...(actor ? { actor } : {}),
    ...(action ? { action } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to: `${to}T23:59:59.999Z` } : {}),
    ...(before ? { before: String(before) } : {}),
    limit: PAGE,
  });
  const search = (before?: number) =>
    void form.run(
      async () => {
        const page = await api.audit(query(before));
        setEntries((prev) => (before && prev ? [...prev, ...page] : page));
        setMore(page.length === PAGE);
      },
      from && to && from > to ? { to: t('admin.periodInvalid') } : {},
    );
  const dateId = 'audit-action-list';
  return (
    <section class="page">
      <PageTitle text={t('admin.auditTitle')} />
      <AdminNav />
      <Form onSubmit={() => search()} label={t('admin.auditFilters')} class="form filters">
        <Select label={t('admin.actor')} name="actor" value={actor} onChange={setActor} options={[{ value: '', label: t('admin.anyone') }, ...(users.data ?? []).map((u) => ({ value: String(u.id), label: `${u.displayName} <${u.email}>` }))]} />
        <div class="field">
          <label for="audit-action">{t('admin.action')}</label>
          <input id="audit-action" name="action" list={dateId} value={action} onInput={(e) => setAction((e.currentTarget as HTMLInputElement).value)} aria-describedby="audit-action-hint" />
          <datalist id={dateId}>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
          <p class="hint" id="audit-action-hint">
            {t('admin.actionHint')}
          </p>
        </div>
        <Field label={t('admin.from')} name="from" type="date" value={from} onInput={setFrom} error={form.fieldError('from')} />
        <Field label={t('admin.to')} name="to" type="date" value={to} onInput={setTo} error={form.fieldError('to')} />
        <button type="submit" class="primary" disabled={form.busy}>
          {t('admin.search')}
        </button>
      </Form>
      <LiveRegion message={form.message} />
      {entries === null ? null : entries.length === 0 ? (
        <p class="empty">{t('admin.noEntries')}</p>
      ) : (
        <>
          <table class="audit">
            <thead>
              <tr>
                <th scope="col">{t('admin.when')}</th>
                <th scope="col">{t('admin.actor')}</th>
                <th scope="col">{t('admin.action')}</th>
                <th scope="col">{t('admin.target')}</th>
                <th scope="col">{t('admin.details')}</th>
                <th scope="col">IP</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>{formatDate(e.at, true)}</td>
                  <td>{users.data?.find((u) => u.id === e.actorUserId)?.email ?? e.actor}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{e.target ?? ''}</td>
                  <td>
                    <code class="details">{e.details && typeof e.details === 'object' && Object.keys(e.details).length ? JSON.stringify(e.details) : ''}</code>
                  </td>
                  <td>{e.ip ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {more ? (
            <button type="button" onClick={() => search(entries[entries.length - 1]?.id)} disabled={form.busy}>
              {t('admin.older')}
            </button>
          ) : null}
        </>
      )}
    </section>
  );
}
