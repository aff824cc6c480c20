import { PageTitle } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import { isPlatformAdmin, useSession } from '../../app/session.js';

/** Administration: what the signed-in admin may manage (platform admins everything, organisation admins their organisations). */
export default function AdminHome() {
  const { user } = useSession();
  const platform = isPlatformAdmin(user);
  const items: Array<[string, string, string]> = [
    ['/admin/organisations', t('admin.orgsTitle'), t('admin.orgsIntro')],
    ['/admin/permissions', t('admin.permissionsTitle'), t('admin.permissionsIntro')],
    ...(platform
      ? ([
          ['/admin/utilisateurs', t('admin.usersTitle'), t('admin.usersIntro')],
          ['/admin/visibilite', t('admin.visibilityTitle'), t('admin.visibilityIntro')],
          ['/admin/journal', t('admin.auditTitle'), t('admin.auditIntro')],
        ] as Array<[string, string, string]>)
      : []),
  ];
  return (
    <section class="page">
      <PageTitle text={t('admin.title')} />
      <ul class="cards">
        {items.map(([to, title, intro]) => (
          <li key={to}>
            <a href={href(to)}>{title}</a>
            <p>{intro}</p>
          </li>
        ))}
      </ul>
    </section>
  );
}
