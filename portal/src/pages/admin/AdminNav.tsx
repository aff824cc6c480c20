import { t } from '../../app/i18n.js';
import { href, useLocation } from '../../app/router.js';
import { isPlatformAdmin, useSession } from '../../app/session.js';

/** The administration's own menu, above each admin screen. */
export function AdminNav() {
  const { user } = useSession();
  const { path } = useLocation();
  const items: Array<[string, string]> = [
    ['/admin/organisations', t('admin.orgsTitle')],
    ['/admin/permissions', t('admin.permissionsTitle')],
    ...(isPlatformAdmin(user)
      ? ([
          ['/admin/utilisateurs', t('admin.usersTitle')],
          ['/admin/visibilite', t('admin.visibilityTitle')],
          ['/admin/journal', t('admin.auditTitle')],
        ] as Array<[string, string]>)
      : []),
  ];
  return (
    <nav class="subnav" aria-label={t('admin.title')}>
      <ul>
        {items.map(([to, label]) => (
          <li key={to}>
            <a href={href(to)} aria-current={path === to || path.startsWith(`${to}/`) ? 'page' : undefined}>
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
