import { useState } from 'preact/hooks';
import { api, PLATFORM_ROLES, type PlatformRole, type User } from '../../app/api.js';
import { Checkbox, ConfirmButton, Field, LiveRegion, Loaded, PageTitle, useLoad, type Message } from '../../app/components.js';
import { errorText, formatDate, t } from '../../app/i18n.js';
import { roleLabel } from '../account/labels.js';
import { AdminNav } from './AdminNav.js';

/** Users and their platform roles (platform admins only); disabling an account. */
export default function AdminUsers() {
  const users = useLoad(() => api.users());
  const [filter, setFilter] = useState('');
  const [news, setNews] = useState<Message>(null);
  const save = async (u: User, body: { platformRoles?: PlatformRole[]; disabled?: boolean }, ok: string) => {
    try {
      await api.updateUser(u.id, body);
      setNews({ kind: 'ok', text: ok });
      users.reload();
    } catch (e) {
      setNews({ kind: 'error', text: errorText(e) });
    }
  };
  return (
    <section class="page">
      <PageTitle text={t('admin.usersTitle')} />
      <AdminNav />
      <Field label={t('admin.filterUsers')} name="filter" type="search" value={filter} onInput={setFilter} />
      <LiveRegion message={news} />
      <Loaded state={users} empty={(d) => d.length === 0}>
        {(list) => {
          const f = filter.trim().toLowerCase();
          return (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('form.displayName')}</th>
                  <th scope="col">{t('form.email')}</th>
                  <th scope="col">{t('admin.platformRoles')}</th>
                  <th scope="col">{t('admin.createdAt')}</th>
                  <th scope="col">{t('common.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {list
                  .filter((u) => !f || u.email.includes(f) || u.displayName.toLowerCase().includes(f))
                  .map((u) => (
                    <UserRow key={u.id} u={u} onSave={save} />
                  ))}
              </tbody>
            </table>
          );
        }}
      </Loaded>
    </section>
  );
}

function UserRow({ u, onSave }: { u: User; onSave: (u: User, body: { platformRoles?: PlatformRole[]; disabled?: boolean }, ok: string) => Promise<void> }) {
  const [roles, setRoles] = useState<PlatformRole[]>(u.platformRoles);
  const changed = roles.length !== u.platformRoles.length || roles.some((r) => !u.platformRoles.includes(r));
  return (
    <tr class={u.disabled ? 'revoked' : ''}>
      <td>{u.displayName}</td>
      <td>{u.email}</td>
      <td>
        <fieldset class="inline">
          <legend class="visually-hidden">{t('admin.rolesOf', { name: u.email })}</legend>
          {PLATFORM_ROLES.map((r) => (
            <Checkbox key={r} name="platformRoles" value={r} label={roleLabel(r)} checked={roles.includes(r)} onChange={(on) => setRoles(on ? [...roles, r] : roles.filter((x) => x !== r))} />
          ))}
        </fieldset>
        {changed ? (
          <button type="button" class="primary" onClick={() => void onSave(u, { platformRoles: roles }, t('admin.rolesSaved', { name: u.email }))}>
            {t('common.save')}
          </button>
        ) : null}
      </td>
      <td>{formatDate(u.createdAt)}</td>
      <td>
        {u.disabled ? (
          <button type="button" onClick={() => void onSave(u, { disabled: false }, t('admin.enabled', { name: u.email }))}>
            {t('admin.enable')}
          </button>
        ) : (
          <ConfirmButton label={t('admin.disable')} confirm={t('admin.disableConfirm', { name: u.email })} onConfirm={() => void onSave(u, { disabled: true }, t('admin.disabled', { name: u.email }))} />
        )}
      </td>
    </tr>
  );
}
