import { useState } from 'preact/hooks';
import { api, type DatasetAccess, type Geometry, type Organisation } from '../../app/api.js';
import { ConfirmButton, Field, Form, LiveRegion, Loaded, PageTitle, Select, TextArea, useForm, useLoad, type Message } from '../../app/components.js';
import { errorText, formatDate, t } from '../../app/i18n.js';
import { administeredOrganisations, isPlatformAdmin, useSession } from '../../app/session.js';
import { AdminNav } from './AdminNav.js';

/**
 * Permissions on restricted data: to an organisation or a user, for a dataset (and version),
 * optionally within a perimeter and until a date, with the charter accepted. Platform admins grant
 * any; an organisation admin grants its members and contractors a part of its own.
 */
export default function AdminPermissions() {
  const { user } = useSession();
  const platform = isPlatformAdmin(user);
  const data = useLoad(() => Promise.all([api.permissions(), api.datasets(), api.organisations()]));
  const [news, setNews] = useState<Message>(null);
  const revoke = async (id: number) => {
    try {
      await api.revokePermission(id);
      setNews({ kind: 'ok', text: t('admin.permissionRevoked') });
      data.reload();
    } catch (e) {
      setNews({ kind: 'error', text: errorText(e) });
    }
  };
  return (
    <section class="page">
      <PageTitle text={t('admin.permissionsTitle')} />
      <AdminNav />
      <Loaded state={data}>
        {([permissions, datasets, organisations]) => {
          const orgs = platform ? organisations : organisations.filter((o) => administeredOrganisations(user).some((m) => m.id === o.id));
          const orgName = (id: number, slug: string) => organisations.find((o) => o.id === id)?.name ?? slug;
          return (
            <>
              <Grant datasets={datasets} orgs={orgs} onGranted={data.reload} />
              <h2>{t('admin.permissionsList')}</h2>
              <LiveRegion message={news} />
              {permissions.length === 0 ? (
                <p class="empty">{t('admin.noPermissions')}</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('admin.grantee')}</th>
                      <th scope="col">{t('map.dataset')}</th>
                      <th scope="col">{t('map.version')}</th>
                      <th scope="col">{t('admin.perimeter')}</th>
                      <th scope="col">{t('admin.until')}</th>
                      <th scope="col">{t('admin.charter')}</th>
                      <th scope="col">{t('common.actions')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {permissions.map((p) => (
                      <tr key={p.id} class={p.revokedAt ? 'revoked' : ''}>
                        <td>{p.user ? p.user.email : p.organisation ? orgName(p.organisation.id, p.organisation.slug) : ''}</td>
                        <td>{p.dataset}</td>
                        <td>{p.version ?? t('admin.allVersions')}</td>
                        <td>{p.perimeter ? t('common.yes') : t('common.no')}</td>
                        <td>{p.validUntil ? formatDate(p.validUntil) : t('keys.never')}</td>
                        <td>{p.charter ?? ''}</td>
                        <td>{p.revokedAt ? t('keys.revokedOn', { date: formatDate(p.revokedAt) }) : <ConfirmButton label={t('keys.revoke')} confirm={t('admin.permissionRevokeConfirm')} onConfirm={() => void revoke(p.id)} />}</td>
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

function Grant({ datasets, orgs, onGranted }: { datasets: DatasetAccess[]; orgs: Organisation[]; onGranted: () => void }) {
  const [to, setTo] = useState<'organisation' | 'user'>('organisation');
  const [organisation, setOrganisation] = useState(orgs[0]?.slug ?? '');
  const [email, setEmail] = useState('');
  const [dataset, setDataset] = useState(datasets.find((d) => d.visibility === 'restricted')?.id ?? datasets[0]?.id ?? '');
  const [version, setVersion] = useState('');
  const [until, setUntil] = useState('');
  const [perimeter, setPerimeter] = useState('');
  const [charter, setCharter] = useState('');
  const form = useForm();
  const versions = datasets.find((d) => d.id === dataset)?.versions ?? [];
  const submit = () => {
    const local: Record<string, string> = {};
    let geometry: Geometry | undefined;
    if (to === 'organisation' && !organisation) local['organisation'] = t('form.required');
    if (to === 'user' && !/^[^@\s]+@[^@\s]+$/.test(email.trim())) local['user'] = t('form.emailInvalid');
    if (!dataset) local['dataset'] = t('form.required');
    if (perimeter.trim()) {
      try {
        const g = JSON.parse(perimeter) as Geometry & { geometry?: Geometry };
        geometry = g.type === 'Feature' && g.geometry ? g.geometry : g;
        if (!/Polygon$/.test(geometry.type)) local['perimeter'] = t('admin.areaInvalid');
      } catch {
        local['perimeter'] = t('admin.areaInvalid');
      }
    }
    void form.run(async () => {
      await api.grantPermission({
        ...(to === 'organisation' ? { organisation } : { user: email.trim().toLowerCase() }),
        dataset,
        ...(version ? { version } : {}),
        ...(geometry ? { perimeter: geometry } : {}),
        ...(until ? { until } : {}),
        ...(charter.trim() ? { charter: charter.trim() } : {}),
      });
      onGranted();
      return t('admin.permissionGranted');
    }, local);
  };
  return (
    <>
      <h2>{t('admin.grantTitle')}</h2>
      <Form onSubmit={submit} label={t('admin.grantTitle')}>
        <Select<'organisation' | 'user'>
          label={t('admin.grantTo')}
          name="to"
          value={to}
          onChange={setTo}
          options={[
            { value: 'organisation', label: t('admin.toOrganisation') },
            { value: 'user', label: t('admin.toUser') },
          ]}
        />
        {to === 'organisation' ? (
          <Select label={t('keys.organisation')} name="organisation" value={organisation} onChange={setOrganisation} error={form.fieldError('organisation')} options={orgs.map((o) => ({ value: o.slug, label: o.name }))} />
        ) : (
          <Field label={t('admin.userEmail')} name="user" type="email" value={email} onInput={setEmail} error={form.fieldError('user')} />
        )}
        <Select
          label={t('map.dataset')}
          name="dataset"
          value={dataset}
          onChange={(d) => {
            setDataset(d);
            setVersion('');
          }}
          error={form.fieldError('dataset')}
          options={datasets.map((d) => ({ value: d.id, label: `${d.title} (${d.id}) — ${d.visibility === 'restricted' ? t('visibility.restricted') : t('visibility.public')}` }))}
        />
        <Select label={t('map.version')} name="version" value={version} onChange={setVersion} error={form.fieldError('version')} options={[{ value: '', label: t('admin.allVersions') }, ...versions.map((v) => ({ value: v.name, label: v.name }))]} />
        <Field label={t('admin.until')} name="until" type="date" hint={t('admin.untilHint')} value={until} onInput={setUntil} error={form.fieldError('until')} />
        <TextArea label={t('admin.perimeter')} name="perimeter" hint={t('admin.perimeterHint')} value={perimeter} onInput={setPerimeter} error={form.fieldError('perimeter')} />
        <Field label={t('admin.charter')} name="charter" hint={t('admin.charterHint')} value={charter} onInput={setCharter} error={form.fieldError('charter')} />
        <LiveRegion message={form.message} />
        <button type="submit" class="primary" disabled={form.busy}>
          {t('admin.grant')}
        </button>
      </Form>
    </>
  );
}
