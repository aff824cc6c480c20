import { MESSAGES, pickLanguage, type MessageKey } from './i18n.js';

const lang = pickLanguage(navigator.languages);
const t = (key: MessageKey): string => MESSAGES[lang][key];
document.documentElement.lang = lang;
document.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
  el.textContent = t(el.dataset.i18n as MessageKey);
});

interface Health {
  status: 'ok' | 'degraded';
  version: string;
  territory: { code: string; name: string };
}
interface VersionRow {
  datasetId: string;
  name: string;
  status: string;
  acquisitionDate: string | null;
  dalleCount: number;
  coverageKm2: number;
}

async function load(): Promise<void> {
  const status = document.querySelector('#status') as HTMLElement;
  try {
    const health = (await (await fetch('/health')).json()) as Health;
    (document.querySelector('#territory') as HTMLElement).textContent = `— ${health.territory.name} (${health.territory.code})`;
    status.textContent = `${health.status === 'ok' ? t('healthOk') : t('healthDegraded')} · v${health.version}`;
    status.className = health.status;
    const { versions } = (await (await fetch('/api/versions')).json()) as { versions: VersionRow[] };
    const body = document.querySelector('#versions tbody') as HTMLElement;
    body.replaceChildren(
      ...versions.map((v) => {
        const tr = document.createElement('tr');
        for (const cell of [v.datasetId, v.name, v.status, v.acquisitionDate ?? '', String(v.dalleCount), v.coverageKm2.toFixed(2)]) {
          const td = document.createElement('td');
          td.textContent = cell;
          tr.append(td);
        }
        return tr;
      }),
    );
    if (versions.length === 0) body.innerHTML = `<tr><td colspan="6">${t('noVersions')}</td></tr>`;
  } catch {
    status.textContent = t('loadError');
    status.className = 'degraded';
  }
}

void load();
