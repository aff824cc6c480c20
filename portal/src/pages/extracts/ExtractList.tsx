import { api } from '../../app/api.js';
import { Loaded, PageTitle, RequireSignIn, useLoad } from '../../app/components.js';
import { formatBytes, formatDate, t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import { contentsText, ExtractStateBadge } from './labels.js';

/** #/extraits: my extracts, newest first, each with its state and, once ready, its download. */
export default function ExtractList() {
  return (
    <section class="page extract-list">
      <PageTitle text={t('extracts.title')} />
      <p>
        <a class="button primary" href={href('/extraits/nouveau')}>
          {t('extracts.new')}
        </a>
      </p>
      <RequireSignIn returnTo="/extraits">
        <Mine />
      </RequireSignIn>
    </section>
  );
}

function Mine() {
  const state = useLoad(() => api.extracts(), []);
  return (
    <Loaded state={state} empty={(d) => d.extracts.length === 0} emptyText={t('extracts.none')}>
      {(d) => (
        <table class="extracts">
          <caption class="visually-hidden">{t('extracts.title')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('extracts.number')}</th>
              <th scope="col">{t('extract.area')}</th>
              <th scope="col">{t('extract.contents')}</th>
              <th scope="col">{t('extracts.state')}</th>
              <th scope="col">{t('extract.asked')}</th>
              <th scope="col">{t('extracts.size')}</th>
            </tr>
          </thead>
          <tbody>
            {d.extracts.map((e) => (
              <tr key={e.id}>
                <td>
                  <a href={href(`/extraits/${e.id}`)}>n° {e.id}</a>
                </td>
                <td>{e.area.label}</td>
                <td>{contentsText(e)}</td>
                <td>
                  <ExtractStateBadge state={e.state} />
                </td>
                <td>{formatDate(e.createdAt, true)}</td>
                <td>{e.state === 'ready' && e.download ? <a href={e.download} download>{formatBytes(e.zipBytes)}</a> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Loaded>
  );
}
