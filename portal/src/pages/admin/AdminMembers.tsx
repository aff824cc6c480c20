import { useState } from 'preact/hooks';
import { api, MEMBER_ROLES, type Member, type MemberRole } from '../../app/api.js';
import { ConfirmButton, LiveRegion, Loaded, PageTitle, Select, useLoad, type Message } from '../../app/components.js';
import { errorText, formatDate, t } from '../../app/i18n.js';
import type { ScreenProps } from '../../app/screen.js';
import { memberRoleLabel } from '../account/labels.js';
import { AdminNav } from './AdminNav.js';

/** One organisation's members and pending requests: accept (with a role) or refuse, change a role, remove. */
export default function AdminMembers({ params }: ScreenProps) {
  const slug = params['slug'] ?? '';
  const members = useLoad(() => api.members(slug), [slug]);
  const [news, setNews] = useState<Message>(null);
  const act = async (what: () => Promise<unknown>, ok: string) => {
    try {
      await what();
      setNews({ kind: 'ok', text: ok });
      members.reload();
    } catch (e) {
      setNews({ kind: 'error', text: errorText(e) });
    }
  };
  return (
    <section class="page">
      <PageTitle text={t('admin.membersOf', { slug })} />
      <AdminNav />
      <LiveRegion message={news} />
      <Loaded state={members}>
        {(list) => {
          const pending = list.filter((m) => m.status === 'requested');
          const active = list.filter((m) => m.status === 'active');
          return (
            <>
              <h2>{t('admin.pending', { count: pending.length })}</h2>
              {pending.length === 0 ? (
                <p class="empty">{t('admin.noPending')}</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('form.displayName')}</th>
                      <th scope="col">{t('form.email')}</th>
                      <th scope="col">{t('admin.requestedAt')}</th>
                      <th scope="col">{t('orgs.role')}</th>
                      <th scope="col">{t('common.actions')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {pending.map((m) => (
                      <Pending key={m.userId} m={m} onDecide={(decision, role) => void act(() => api.decide(slug, m.userId, decision, role), t(decision === 'accept' ? 'admin.accepted' : 'admin.refused', { name: m.displayName }))} />
                    ))}
                  </tbody>
                </table>
              )}
              <h2>{t('admin.members', { count: active.length })}</h2>
              {active.length === 0 ? (
                <p class="empty">{t('admin.noMembers')}</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('form.displayName')}</th>
                      <th scope="col">{t('form.email')}</th>
                      <th scope="col">{t('orgs.role')}</th>
                      <th scope="col">{t('common.actions')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {active.map((m) => (
                      <tr key={m.userId}>
                        <td>{m.displayName}</td>
                        <td>{m.email}</td>
                        <td>
                          <Select<MemberRole>
                            label={t('admin.roleOf', { name: m.displayName })}
                            name="role"
                            value={m.role}
                            onChange={(role) => void act(() => api.setMemberRole(slug, m.userId, role), t('admin.roleChanged', { name: m.displayName }))}
                            options={MEMBER_ROLES.map((r) => ({ value: r, label: memberRoleLabel(r) }))}
                          />
                        </td>
                        <td>
                          <ConfirmButton label={t('admin.remove')} confirm={t('admin.removeConfirm', { name: m.displayName })} onConfirm={() => void act(() => api.removeMember(slug, m.userId), t('admin.removed', { name: m.displayName }))} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

function Pending({ m, onDecide }: { m: Member; onDecide: (decision: 'accept' | 'refuse', role?: MemberRole) => void }) {
  const [role, setRole] = useState<MemberRole>(m.role ?? 'member');
  return (
    <tr>
      <td>
        {m.displayName}
        {m.message ? <p class="sub request-message">« {m.message} »</p> : null}
      </td>
      <td>{m.email}</td>
      <td>{formatDate(m.requestedAt, true)}</td>
      <td>
        <Select<MemberRole> label={t('admin.roleOf', { name: m.displayName })} name="role" value={role} onChange={setRole} options={MEMBER_ROLES.map((r) => ({ value: r, label: memberRoleLabel(r) }))} />
      </td>
      <td class="actions">
        <button type="button" class="primary" onClick={() => onDecide('accept', role)}>
          {t('admin.accept')}
        </button>{' '}
        <ConfirmButton label={t('admin.refuse')} confirm={t('admin.refuseConfirm', { name: m.displayName })} onConfirm={() => onDecide('refuse')} />
      </td>
    </tr>
  );
}
