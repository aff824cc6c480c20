import { api } from '../../app/api.js';
import { Loaded, PageTitle, useLoad } from '../../app/components.js';
import { formatDate, t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';
import { StatusBadge, typeText } from './labels.js';

/** "Mes déclarations": the caller's own declarations (GET /declarations?author=me), newest change first. */
export default function DeclarationList(_: ScreenProps) {
  const list = useLoad(() => api.declarations({ author: 'me', limit: 200 }));
  return (
    <section class="page">
      <PageTitle text={t('decl.listTitle')} />
      <p>{t('decl.listIntro')}</p>
      <Loaded state={list} empty={(d) => d.declarations.length === 0} emptyText={t('decl.none')}>
        {(page) => (
          <table class="declarations">
            <thead>
              <tr>
                <th scope="col">{t('decl.number')}</th>
                <th scope="col">{t('decl.title')}</th>
                <th scope="col">{t('decl.type')}</th>
                <th scope="col">{t('decl.status')}</th>
                <th scope="col">{t('decl.updated')}</th>
              </tr>
            </thead>
            <tbody>
              {page.declarations.map((d) => (
                <tr key={d.id}>
                  <td>{d.id}</td>
                  <td>
                    <a href={href(`/declarations/${d.id}`)}>{d.title}</a>
                  </td>
                  <td>{typeText(d.type)}</td>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td>{formatDate(d.updatedAt, true)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}
