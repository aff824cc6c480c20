import { api } from '../../app/api.js';
import { Loaded, PageTitle, useLoad } from '../../app/components.js';
import { formatDate, t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';
import { href } from '../../app/router.js';
import { isPlatformAdmin, useSession } from '../../app/session.js';
import { CampaignStatusBadge } from './labels.js';

/** #/campagnes: the update campaigns and their progress (public). */
export default function CampaignList() {
  const s = useSession();
  const state = useLoad(() => api.campaigns(), []);
  return (
    <section class="page campaign-list">
      <PageTitle text={t('campaigns.title')} />
      <p>{t('campaigns.intro')}</p>
      {s.user && isPlatformAdmin(s.user) ? (
        <p>
          <a class="button primary" href={href('/campagnes/nouvelle')}>
            {t('campaignNew.link')}
          </a>
        </p>
      ) : null}
      <Loaded state={state} empty={(d) => d.campaigns.length === 0} emptyText={t('campaigns.none')}>
        {(d) => (
          <table class="campaigns">
            <caption class="visually-hidden">{t('campaigns.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('campaigns.titleColumn')}</th>
                <th scope="col">{t('campaigns.status')}</th>
                <th scope="col">{t('campaigns.progress')}</th>
                <th scope="col">{t('campaigns.period')}</th>
              </tr>
            </thead>
            <tbody>
              {d.campaigns.map((c) => {
                const done = c.progress.received + c.progress.accepted;
                return (
                  <tr key={c.slug}>
                    <td>
                      <a href={href(`/campagnes/${c.slug}`)}>{c.title}</a>
                      <br />
                      <small>{t(`campaign.kind.${c.kind}` as MessageKey)}</small>
                    </td>
                    <td>
                      <CampaignStatusBadge status={c.status} />
                    </td>
                    <td>
                      <progress max={Math.max(1, c.progress.expected)} value={done} aria-label={t('campaigns.progressText', { done, expected: c.progress.expected })} />{' '}
                      {t('campaigns.progressText', { done, expected: c.progress.expected })}
                    </td>
                    <td>
                      {formatDate(c.plannedStart)} – {formatDate(c.plannedEnd)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}
