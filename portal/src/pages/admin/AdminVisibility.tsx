import { useState } from 'preact/hooks';
import { api, type Visibility } from '../../app/api.js';
import { LiveRegion, Loaded, PageTitle, Select, useLoad, type Message } from '../../app/components.js';
import { errorText, t, versionStatusText } from '../../app/i18n.js';
import { AdminNav } from './AdminNav.js';

type VersionChoice = 'inherit' | Visibility;

/** Visibility per dataset and per version (a version may follow its dataset or say its own). */
export default function AdminVisibility() {
  const datasets = useLoad(() => api.datasets());
  const [news, setNews] = useState<Message>(null);
  const act = async (what: () => Promise<unknown>, ok: string) => {
    try {
      await what();
      setNews({ kind: 'ok', text: ok });
      datasets.reload();
    } catch (e) {
      setNews({ kind: 'error', text: errorText(e) });
    }
  };
  const visOptions = [
    { value: 'public' as const, label: t('visibility.public') },
    { value: 'restricted' as const, label: t('visibility.restricted') },
  ];
  return (
    <section class="page">
      <PageTitle text={t('admin.visibilityTitle')} />
      <AdminNav />
      <p>{t('admin.visibilityHelp')}</p>
      <LiveRegion message={news} />
      <Loaded state={datasets} empty={(d) => d.length === 0}>
        {(list) => (
          <>
            {list.map((d) => (
              <section key={d.id} class="dataset-visibility">
                <h2>
                  {d.title} <code>{d.id}</code>
                </h2>
                <Select<Visibility>
                  label={t('admin.datasetVisibility', { id: d.id })}
                  name={`visibility-${d.id}`}
                  value={d.visibility}
                  options={visOptions}
                  onChange={(v) => void act(() => api.setDatasetVisibility(d.id, v), t('admin.visibilitySaved', { what: d.id }))}
                />
                {d.versions.length ? (
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">{t('map.version')}</th>
                        <th scope="col">{t('map.status')}</th>
                        <th scope="col">{t('admin.ownVisibility')}</th>
                        <th scope="col">{t('admin.effectiveVisibility')}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.versions.map((v) => (
                        <tr key={v.name}>
                          <td>{v.name}</td>
                          <td>{versionStatusText(v.status)}</td>
                          <td>
                            <Select<VersionChoice>
                              label={t('admin.versionVisibility', { id: d.id, version: v.name })}
                              name={`visibility-${d.id}-${v.name}`}
                              value={v.visibility ?? 'inherit'}
                              options={[{ value: 'inherit', label: t('admin.inherit') }, ...visOptions]}
                              onChange={(c) => void act(() => api.setVersionVisibility(d.id, v.name, c === 'inherit' ? null : c), t('admin.visibilitySaved', { what: `${d.id}/${v.name}` }))}
                            />
                          </td>
                          <td>
                            <span class={`badge ${v.effectiveVisibility}`}>{v.effectiveVisibility === 'restricted' ? t('visibility.restricted') : t('visibility.public')}</span>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                ) : null}
              </section>
            ))}
          </>
        )}
      </Loaded>
    </section>
  );
}
