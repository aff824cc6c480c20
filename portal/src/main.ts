import { MESSAGES, pickLanguage, type MessageKey } from './i18n.js';
import { createMap, type PcrsMap } from './map.js';

const lang = pickLanguage(navigator.languages);
const t = (key: MessageKey): string => MESSAGES[lang][key];
document.documentElement.lang = lang;
document.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
  el.textContent = t(el.dataset.i18n as MessageKey);
});
document.querySelectorAll<HTMLElement>('[data-i18n-label]').forEach((el) => {
  el.setAttribute('aria-label', t(el.dataset.i18nLabel as MessageKey));
});

const el = <T extends HTMLElement>(tag: string, text?: string): T => {
  const e = document.createElement(tag) as T;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** The stream addresses a GIS user pastes (absolute, from this page's origin). */
function showStreams(): void {
  const o = location.origin;
  const list: Array<[string, string]> = [
    ['WMTS', `${o}/wmts/1.0.0/WMTSCapabilities.xml`],
    ['WMS', `${o}/wms`],
    ['XYZ', `${o}/tiles/PCRS.ORTHO/WebMercatorQuad/{z}/{x}/{y}.jpeg`],
    ['WFS', `${o}/wfs`],
    ['OGC API', `${o}/ogc`],
  ];
  (document.querySelector('#streams') as HTMLElement).replaceChildren(
    ...list.flatMap(([name, url]) => {
      const dd = el<HTMLElement>('dd');
      dd.append(el<HTMLElement>('code', url));
      return [el<HTMLElement>('dt', name), dd];
    }),
  );
}

async function startMap(): Promise<void> {
  const info = document.querySelector('#info') as HTMLElement;
  let m: PcrsMap;
  try {
    m = await createMap(document.querySelector('#map') as HTMLElement);
  } catch {
    info.textContent = t('mapError');
    return;
  }
  const select = document.querySelector('#layer') as HTMLSelectElement;
  select.replaceChildren(...m.layers.map((id) => Object.assign(el<HTMLOptionElement>('option', id), { value: id })));
  select.value = m.settings.layer;
  select.addEventListener('change', () => m.apply({ layer: select.value }));
  const opacity = document.querySelector('#opacity') as HTMLInputElement;
  opacity.value = String(m.settings.opacity);
  opacity.addEventListener('input', () => m.apply({ opacity: Number(opacity.value) }));
  const vector = document.querySelector('#vector') as HTMLInputElement;
  vector.checked = m.settings.vector;
  vector.addEventListener('change', () => m.apply({ vector: vector.checked }));
  m.map.on('singleclick', (e) => {
    const [x, y] = e.coordinate as [number, number];
    void Promise.all([m.dallesAt(x, y), m.objectsAt(e.pixel)]).then(([dalles, objects]) => {
      const parts: HTMLElement[] = [el('p', `x ${x.toFixed(2)} · y ${y.toFixed(2)} (Lambert-93)`)];
      if (dalles.length === 0) parts.push(el('p', t('noDalle')));
      for (const d of dalles) {
        const p = el<HTMLElement>('p');
        p.className = 'dalle';
        const a = Object.assign(el<HTMLAnchorElement>('a', t('download')), { href: d.download });
        p.append(el('strong', d.name), ` — ${d.version}${d.date ? ` (${d.date})` : ''} · `, a);
        parts.push(p);
      }
      if (objects.length) {
        parts.push(el('h3', `${t('objects')} (${objects.length})`));
        for (const o of objects.slice(0, 5)) parts.push(el('p', `${String(o['class'] ?? '')} · ${String(o['idObjet'] ?? '')} · thématique ${String(o['thematique'] ?? '')}`));
      }
      info.replaceChildren(...parts);
    });
  });
}

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
showStreams();
void startMap();
