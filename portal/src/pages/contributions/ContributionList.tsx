import { api } from '../../app/api.js';
import { Loaded, PageTitle, RequireSignIn, useLoad } from '../../app/components.js';
import { formatDate, t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';
import { href } from '../../app/router.js';
import { ContributionStateBadge } from './labels.js';

/** #/contributions: the contributions of my organisations, newest first (moderators: all). */
export default function ContributionList() {
  return (
    <section class="page contribution-list">
      <PageTitle text={t('contributions.title')} />
      <p>
        <a class="button primary" href={href('/contributions/nouvelle')}>
          {t('contributions.new')}
        </a>
      </p>
      <RequireSignIn returnTo="/contributions">
        <Mine />
      </RequireSignIn>
    </section>
  );
}

function Mine() {
  const state = useLoad(() => api.contributions(), []);
  return (
    <Loaded state={state} empty={(d) => d.contributions.length === 0} emptyText={t('contributions.none')}>
      {(d) => (
        <table class="contributions">
          <caption class="visually-hidden">{t('contributions.title')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('contributions.titleColumn')}</th>
              <th scope="col">{t('contributions.kind')}</th>
              <th scope="col">{t('contributions.organisation')}</th>
              <th scope="col">{t('contributions.state')}</th>
              <th scope="col">{t('contributions.created')}</th>
            </tr>
          </thead>
          <tbody>
            {d.contributions.map((c) => (
              <tr key={c.id}>
                <td>
                  <a href={href(`/contributions/${c.id}`)}>{c.title}</a>
                </td>
                <td>{t(`contribution.kind.${c.kind}` as MessageKey)}</td>
                <td>{c.organisation}</td>
                <td>
                  <ContributionStateBadge state={c.state} />
                </td>
                <td>{formatDate(c.createdAt, true)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Loaded>
  );
}
