import { useState } from 'preact/hooks';
import { api, type Organisation } from '../../app/api.js';
import { Field, Form, LiveRegion, Loaded, PageTitle, useForm, useLoad } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import { refreshSession, useSession } from '../../app/session.js';
import { kindLabel, roleLabel, statusLabel } from './labels.js';

/** Suggested organisations (the user's e-mail domain) first, then by name. */
export function sortOrganisations(list: readonly Organisation[]): Organisation[] {
  return [...list].sort((a, b) => Number(!!b.suggested) - Number(!!a.suggested) || a.name.localeCompare(b.name, 'fr'));
}

/** My organisations: memberships and requests, and a request to join another one (suggested ones first). */
export default function Organisations() {
  const { user } = useSession();
  const all = useLoad(() => api.organisations());
  const [filter, setFilter] = useState('');
  const mine = user?.organisations ?? [];

  return (
    <section class="page">
      <PageTitle text={t('orgs.title')} />
      <h2>{t('orgs.mine')}</h2>
      {mine.length === 0 ? (
        <p class="empty">{t('account.noOrganisation')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('orgs.name')}</th>
              <th scope="col">{t('orgs.kind')}</th>
              <th scope="col">{t('orgs.role')}</th>
              <th scope="col">{t('orgs.status')}</th>
            </tr>
          </thead>
          <tbody>
            {mine.map((o) => (
              <tr key={o.id}>
                <td>{o.name}</td>
                <td>{kindLabel(o.kind)}</td>
                <td>{roleLabel(o.role)}</td>
                <td>{statusLabel(o.status)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>{t('orgs.join')}</h2>
      <p>{t('orgs.joinIntro')}</p>
      <Field label={t('orgs.filter')} name="filter" type="search" value={filter} onInput={setFilter} />
      <Loaded state={all} empty={(d) => d.length === 0} emptyText={t('orgs.none')}>
        {(list) => {
          const f = filter.trim().toLowerCase();
          const shown = sortOrganisations(list).filter((o) => !f || o.name.toLowerCase().includes(f) || o.slug.includes(f) || (o.insee ?? '').startsWith(f));
          return (
            <ul class="org-list">
              {shown.map((o) => (
                <JoinItem key={o.id} org={o} membership={mine.find((m) => m.id === o.id)?.status} />
              ))}
            </ul>
          );
        }}
      </Loaded>
    </section>
  );
}

function JoinItem({ org, membership }: { org: Organisation; membership: string | undefined }) {
  const [open, setOpen] = useState(false);
  const [message, setMessage] = useState('');
  const form = useForm();
  const send = () =>
    void form.run(async () => {
      await api.requestMembership(org.slug, message.trim() || undefined);
      setOpen(false);
      await refreshSession();
      return t('orgs.requested', { name: org.name });
    });
  return (
    <li class={org.suggested ? 'suggested' : ''}>
      <strong>{org.name}</strong> <span class="sub">({kindLabel(org.kind)}{org.insee ? ` · INSEE ${org.insee}` : ''})</span>
      {org.suggested ? <span class="badge suggested">{t('orgs.suggested')}</span> : null}{' '}
      {membership ? (
        <span class="sub">{statusLabel(membership as 'requested' | 'active' | 'refused')}</span>
      ) : open ? (
        <Form onSubmit={send} label={t('orgs.requestTo', { name: org.name })} class="inline">
          <Field label={t('orgs.message')} name="message" value={message} onInput={setMessage} hint={t('orgs.messageHint')} />
          <button type="submit" class="primary" disabled={form.busy}>
            {t('orgs.send')}
          </button>{' '}
          <button type="button" onClick={() => setOpen(false)}>
            {t('common.cancel')}
          </button>
        </Form>
      ) : (
        <button type="button" onClick={() => setOpen(true)} aria-label={t('orgs.requestTo', { name: org.name })}>
          {t('orgs.request')}
        </button>
      )}
      <LiveRegion message={form.message} />
    </li>
  );
}
