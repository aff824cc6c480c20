import { useState } from 'preact/hooks';
import { api, ORGANISATION_KINDS, type Geometry, type OrganisationKind } from '../../app/api.js';
import { Field, Form, LiveRegion, Loaded, PageTitle, Select, TextArea, useForm, useLoad } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import { administeredOrganisations, isPlatformAdmin, useSession } from '../../app/session.js';
import { kindLabel } from '../account/labels.js';
import { AdminNav } from './AdminNav.js';

/** Organisations: platform admins create and list them all; organisation admins see theirs. */
export default function AdminOrganisations() {
  const { user } = useSession();
  const platform = isPlatformAdmin(user);
  const list = useLoad(async () => {
    const all = await api.organisations();
    if (platform) return all;
    const mine = new Set(administeredOrganisations(user).map((o) => o.id));
    return all.filter((o) => mine.has(o.id));
  });
  return (
    <section class="page">
      <PageTitle text={t('admin.orgsTitle')} />
      <AdminNav />
      {platform ? <CreateOrganisation onCreated={list.reload} /> : null}
      <h2>{t('admin.orgsList')}</h2>
      <Loaded state={list} empty={(d) => d.length === 0} emptyText={t('orgs.none')}>
        {(orgs) => (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('orgs.name')}</th>
                <th scope="col">{t('admin.slug')}</th>
                <th scope="col">{t('orgs.kind')}</th>
                <th scope="col">SIREN</th>
                <th scope="col">INSEE</th>
                <th scope="col">{t('admin.emailDomains')}</th>
                <th scope="col">{t('admin.area')}</th>
              </tr>
            </thead>
            <tbody>
              {orgs.map((o) => (
                <tr key={o.id}>
                  <td>
                    <a href={href(`/admin/organisations/${encodeURIComponent(o.slug)}`)}>{o.name}</a>
                  </td>
                  <td>
                    <code>{o.slug}</code>
                  </td>
                  <td>{kindLabel(o.kind)}</td>
                  <td>{o.siren ?? ''}</td>
                  <td>{o.insee ?? ''}</td>
                  <td>{o.emailDomains.join(', ')}</td>
                  <td>{o.hasArea ? t('common.yes') : t('common.no')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}

export const slugify = (name: string): string =>
  name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);

function CreateOrganisation({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [kind, setKind] = useState<OrganisationKind>('commune');
  const [siren, setSiren] = useState('');
  const [insee, setInsee] = useState('');
  const [domains, setDomains] = useState('');
  const [area, setArea] = useState('');
  const form = useForm();
  const effectiveSlug = slug || slugify(name);
  const submit = () => {
    let geometry: Geometry | undefined;
    const local: Record<string, string> = {};
    if (!name.trim()) local['name'] = t('form.required');
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(effectiveSlug)) local['slug'] = t('admin.slugInvalid');
    if (siren && !/^\d{9}$/.test(siren)) local['siren'] = t('admin.sirenInvalid');
    if (insee && !/^(\d{5}|2[AB]\d{3}|\d{9})$/.test(insee)) local['insee'] = t('admin.inseeInvalid');
    if (area.trim()) {
      try {
        const g = JSON.parse(area) as Geometry & { geometry?: Geometry };
        geometry = g.type === 'Feature' && g.geometry ? g.geometry : g;
        if (!/Polygon$/.test(geometry.type)) local['area'] = t('admin.areaInvalid');
      } catch {
        local['area'] = t('admin.areaInvalid');
      }
    }
    void form.run(async () => {
      await api.createOrganisation({
        slug: effectiveSlug,
        name: name.trim(),
        kind,
        ...(siren ? { siren } : {}),
        ...(insee ? { insee } : {}),
        ...(domains.trim() ? { emailDomains: domains.split(/[\s,]+/).filter(Boolean) } : {}),
        ...(geometry ? { area: geometry } : {}),
      });
      setName('');
      setSlug('');
      setSiren('');
      setInsee('');
      setDomains('');
      setArea('');
      onCreated();
      return t('admin.orgCreated', { name: name.trim() });
    }, local);
  };
  return (
    <>
      <h2>{t('admin.orgCreate')}</h2>
      <Form onSubmit={submit} label={t('admin.orgCreate')}>
        <Field label={t('orgs.name')} name="name" required value={name} onInput={setName} error={form.fieldError('name')} />
        <Field label={t('admin.slug')} name="slug" hint={t('admin.slugHint', { slug: effectiveSlug || '…' })} value={slug} onInput={setSlug} error={form.fieldError('slug')} />
        <Select<OrganisationKind> label={t('orgs.kind')} name="kind" value={kind} onChange={setKind} options={ORGANISATION_KINDS.map((k) => ({ value: k, label: kindLabel(k) }))} error={form.fieldError('kind')} />
        <Field label="SIREN" name="siren" value={siren} onInput={setSiren} error={form.fieldError('siren')} />
        <Field label={t('admin.insee')} name="insee" value={insee} onInput={setInsee} error={form.fieldError('insee')} />
        <Field label={t('admin.emailDomains')} name="emailDomains" hint={t('admin.emailDomainsHint')} value={domains} onInput={setDomains} error={form.fieldError('emailDomains')} />
        <TextArea label={t('admin.area')} name="area" hint={t('admin.areaHint')} value={area} onInput={setArea} error={form.fieldError('area')} />
        <LiveRegion message={form.message} />
        <button type="submit" class="primary" disabled={form.busy}>
          {t('admin.orgCreateButton')}
        </button>
      </Form>
    </>
  );
}
