import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { api, getJson, type Commune, type DatasetAccess, type Declaration, type DeclarationDetail, type Health, type PointHistory, type VersionRow } from '../../app/api.js';
import { Checkbox, PageTitle, Select } from '../../app/components.js';
import { errorText, formatDate, t, versionStatusText } from '../../app/i18n.js';
import { rememberedKeys } from '../../app/remembered-keys.js';
import { href, navigate, replaceQuery } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';
import { useSession } from '../../app/session.js';
import { StatusBadge, StatusLegend, typeText } from '../declarations/labels.js';
import { useLicenceGate } from '../extracts/licence.js';
import { CommuneSearch } from './CommuneSearch.js';
import { addDeclarationsLayer, type DeclarationsLayer } from './declarations-layer.js';
import { createMap, type DalleInfo, type PcrsMap } from './ol-map.js';
import { Report } from './Report.js';
import { CURRENT_ORTHO, layerStreams, layerVisibility, looksLikeKey } from './streams.js';

interface ClickInfo {
  x: number;
  y: number;
  dalles: DalleInfo[];
  objects: Array<Record<string, unknown>>;
  /** The declaration under the click, if any (read from the server). */
  declaration?: DeclarationDetail | null;
  /** The versions that covered the point ("what changed here"). */
  history?: PointHistory | null;
}

const DECLARATIONS_KEY = 'pcrs.map.declarations';
const declarationsShown = (): boolean => {
  try {
    return localStorage.getItem(DECLARATIONS_KEY) !== 'false';
  } catch {
    return true;
  }
};

/** The last view shown, for a return to the map from another screen (the address has it while on the map). */
let lastView: string | null = null;

/**
 * The map: orthophoto layer, opacity, vector PCRS, what is under a click, the stream addresses
 * for a GIS (with the user's key on restricted layers), the versions. Loaded first: the portal's
 * home, and the only chunk with OpenLayers.
 */
export default function MapPage({ query }: ScreenProps) {
  const target = useRef<HTMLDivElement>(null);
  const [m, setMap] = useState<PcrsMap | null>(null);
  const [failed, setFailed] = useState(false);
  const [settings, setSettings] = useState({ layer: '', opacity: 1, vector: true });
  const [info, setInfo] = useState<ClickInfo | null>(null);
  const [health, setHealth] = useState<Health | null | 'error'>(null);
  const [versions, setVersions] = useState<VersionRow[] | null>(null);
  const initialView = useRef(query.get('vue') ?? lastView);
  const s = useSession();
  const declLayer = useRef<DeclarationsLayer | null>(null);
  const [showDecl, setShowDecl] = useState(declarationsShown);
  const [declCount, setDeclCount] = useState<number | null>(null);
  const drawing = useRef(false);
  const refreshDeclarations = useRef<() => void>(() => undefined);
  const ids = { layer: useId(), opacity: useId(), swipe: useId() };
  /** The layer compared with the shown one (left of the bar), and where the bar is (0–1). */
  const [compared, setCompared] = useState<string | null>(null);
  const [swipe, setSwipe] = useState(0.5);
  // Which layers are restricted (streams with a key; the charter rather than the licence before a download).
  const [datasets, setDatasets] = useState<DatasetAccess[] | null>(null);
  useEffect(() => {
    // Only when the platform has the access API; the answer depends on who is signed in.
    if (!s.loaded) return;
    api.datasets().then(setDatasets, () => setDatasets(null));
  }, [s.loaded, s.user?.id]);

  useEffect(() => {
    let live = true;
    let created: PcrsMap | null = null;
    createMap(target.current as HTMLElement, {
        view: initialView.current,
        onView: (vue) => {
          lastView = vue;
          replaceQuery({ vue });
        },
      }).then(
      (map) => {
        if (!live) {
          map.map.setTarget(undefined);
          return;
        }
        created = map;
        setMap(map);
        setSettings({ ...map.settings });
        const layer = addDeclarationsLayer(map.map);
        declLayer.current = layer;
        map.map.on('singleclick', (e) => {
          if (drawing.current) return;
          const [x, y] = e.coordinate as [number, number];
          const hit = layer.layer.getVisible() ? layer.idsAt(e.pixel)[0] : undefined;
          layer.highlight(hit === undefined ? [] : [hit]);
          const declaration = hit === undefined ? Promise.resolve(null) : api.declaration(hit).catch(() => null);
          void Promise.all([map.dallesAt(x, y), map.objectsAt(e.pixel), declaration, api.history(x, y).catch(() => null)]).then(([dalles, objects, d, history]) => setInfo({ x, y, dalles, objects, declaration: d, history }));
        });
        map.map.on('moveend', () => refreshDeclarations.current());
      },
      () => live && setFailed(true),
    );
    getJson<Health>('/health').then((h) => live && setHealth(h), () => live && setHealth('error'));
    getJson<{ versions: VersionRow[] }>('/api/versions').then((r) => live && setVersions(r.versions), () => live && setVersions([]));
    return () => {
      live = false;
      created?.map.setTarget(undefined);
    };
  }, []);

  // The declarations in view (signed-in users: the list needs an account), again after every move.
  useEffect(() => {
    let seq = 0;
    refreshDeclarations.current = () => {
      const layer = declLayer.current;
      if (!m || !layer) return;
      if (!s.user || !showDecl) {
        layer.setItems([]);
        setDeclCount(null);
        return;
      }
      const extent = m.map.getView().calculateExtent(m.map.getSize());
      const mine = ++seq;
      api.declarations({ bbox: [extent[0]!, extent[1]!, extent[2]!, extent[3]!], limit: 500 }).then(
        (page) => {
          if (mine !== seq) return;
          layer.setItems(page.declarations);
          setDeclCount(page.total);
        },
        () => mine === seq && setDeclCount(null),
      );
    };
    declLayer.current?.setVisible(showDecl);
    refreshDeclarations.current();
  }, [m, s.user?.id, showDecl]);

  const toggleDeclarations = (on: boolean) => {
    setShowDecl(on);
    try {
      localStorage.setItem(DECLARATIONS_KEY, String(on));
    } catch {
      // private mode: for this page only
    }
  };

  const apply = (change: Partial<typeof settings>) => {
    m?.apply(change);
    setSettings((s) => ({ ...s, ...change }));
  };
  const compare = (layer: string | null) => {
    m?.compare(layer);
    setCompared(layer);
  };
  const chooseLayer = (layer: string) => {
    if (layer === compared) compare(null);
    apply({ layer });
  };
  const moveSwipe = (fraction: number) => {
    m?.swipe(fraction);
    setSwipe(fraction);
  };
  /** From "what changed here": the older version left of the bar, the newer one shown right of it. */
  const compareVersions = (before: string, after: string) => {
    apply({ layer: after });
    compare(before);
    moveSwipe(0.5);
    target.current?.scrollIntoView({ block: 'nearest' });
  };

  return (
    <section class="page map-page">
      <PageTitle text={t('map.title')} />
      <p id="status" aria-live="polite" class={health && health !== 'error' ? health.status : health === 'error' ? 'degraded' : ''}>
        {health === 'error' ? t('map.loadError') : health ? `${health.status === 'ok' ? t('map.healthOk') : t('map.healthDegraded')} · v${health.version}` : ''}
      </p>
      <div id="viewer">
        <div class="map-frame">
          <div id="map" ref={target} role="application" aria-label={t('map.label')} />
          {compared ? (
            <>
              <div class="swipe-bar" style={{ left: `${swipe * 100}%` }} aria-hidden="true" />
              <span class="swipe-label left">{compared}</span>
              <span class="swipe-label right">{settings.layer}</span>
            </>
          ) : null}
        </div>
        <aside id="panel" aria-label={t('map.panel')}>
          <Report map={m} versions={versions} onCreated={() => refreshDeclarations.current()} onDrawing={(on) => (drawing.current = on)} />
          <GoToCommune map={m} />
          <h2>{t('map.display')}</h2>
          <div class="field">
            <label for={ids.layer}>{t('map.orthoLayer')}</label>
            <select id={ids.layer} name="layer" data-testid="layer" value={settings.layer} disabled={!m} onChange={(e) => chooseLayer((e.currentTarget as HTMLSelectElement).value)}>
              {(m?.layers ?? []).map((id) => (
                <option key={id} value={id}>
                  {id}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for={ids.opacity}>{t('map.opacity')}</label>
            <input id={ids.opacity} name="opacity" type="range" min="0" max="1" step="0.05" value={String(settings.opacity)} onInput={(e) => apply({ opacity: Number((e.currentTarget as HTMLInputElement).value) })} />
          </div>
          <Select
            label={t('map.compareWith')}
            name="compare"
            value={compared ?? ''}
            options={[{ value: '', label: t('map.compareNone') }, ...(m?.layers ?? []).filter((id) => id !== settings.layer).map((id) => ({ value: id, label: id }))]}
            onChange={(v) => compare(v || null)}
          />
          {compared ? (
            <div class="field">
              <label for={ids.swipe}>{t('map.swipe')}</label>
              <input id={ids.swipe} name="swipe" type="range" min="0" max="1" step="0.01" value={String(swipe)} onInput={(e) => moveSwipe(Number((e.currentTarget as HTMLInputElement).value))} />
              <p class="hint">{t('map.swipeHint', { left: compared, right: settings.layer })}</p>
            </div>
          ) : null}
          <Checkbox label={t('map.vectorLayer')} name="vector" checked={settings.vector} onChange={(vector) => apply({ vector })} />
          {s.available ? (
            <div class="declarations-layer">
              <Checkbox label={t('declLayer.toggle')} name="declarations" checked={showDecl} onChange={toggleDeclarations} />
              {showDecl ? (
                s.user ? (
                  <>
                    <StatusLegend />
                    {declCount !== null ? <p class="hint">{t('declLayer.count', { count: declCount })}</p> : null}
                  </>
                ) : (
                  <p class="hint">{t('declLayer.signIn')}</p>
                )
              ) : null}
            </div>
          ) : null}
          <h2>{t('map.here')}</h2>
          <div id="info" aria-live="polite">
            {failed ? <p role="alert">{t('map.mapError')}</p> : <ClickPanel info={info} datasets={datasets} layers={m?.layers ?? []} onCompare={compareVersions} />}
          </div>
          <h2>{t('map.streams')}</h2>
          <Streams layers={m?.layers ?? []} datasets={datasets} />
        </aside>
      </div>
      <h2>{t('map.versions')}</h2>
      <table id="versions">
        <thead>
          <tr>
            <th scope="col">{t('map.dataset')}</th>
            <th scope="col">{t('map.version')}</th>
            <th scope="col">{t('map.status')}</th>
            <th scope="col">{t('map.date')}</th>
            <th scope="col">{t('map.dalles')}</th>
            <th scope="col">km²</th>
          </tr>
        </thead>
        <tbody>
          {versions === null ? null : versions.length === 0 ? (
            <tr>
              <td colSpan={6}>{t('map.noVersions')}</td>
            </tr>
          ) : (
            versions.map((v) => (
              <tr key={`${v.datasetId}/${v.name}`}>
                <td>{v.datasetId}</td>
                <td>{v.name}</td>
                <td>{versionStatusText(v.status)}</td>
                <td>{v.acquisitionDate ?? ''}</td>
                <td>{v.dalleCount}</td>
                <td>{v.coverageKm2.toFixed(2)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </section>
  );
}

function ClickPanel({ info, datasets, layers, onCompare }: { info: ClickInfo | null; datasets: DatasetAccess[] | null; layers: readonly string[]; onCompare: (before: string, after: string) => void }) {
  const gate = useLicenceGate();
  if (!info) return <p class="hint">{t('map.clickHint')}</p>;
  // The first download shows the licence (the charter for a restricted version), then goes on.
  const download = (e: MouseEvent, d: DalleInfo) => {
    e.preventDefault();
    const restricted = layerVisibility(`${CURRENT_ORTHO}.${d.version}`, datasets) === 'restricted';
    void gate.ask(restricted ? 'charter' : 'licence-ouverte').then((ok) => {
      if (ok) location.assign(d.download);
    });
  };
  return (
    <>
      {info.declaration ? <DeclarationSummary d={info.declaration} /> : null}
      <p>
        x {info.x.toFixed(2)} · y {info.y.toFixed(2)} (Lambert-93)
      </p>
      {info.dalles.length === 0 ? <p>{t('map.noDalle')}</p> : null}
      {info.dalles.map((d) => (
        <p class="dalle" key={`${d.version}/${d.name}`}>
          <strong>{d.name}</strong> — {d.version}
          {d.date ? ` (${d.date})` : ''} · <a href={d.download} onClick={(e) => download(e, d)}>{t('map.download')}</a>
          {d.provenance ? (
            <span class="provenance">
              {' '}
              · {t('map.provenance', { id: d.provenance.contribution, organisation: d.provenance.organisation })}
              {d.provenance.producer ? ` (${d.provenance.producer})` : ''}
              {d.provenance.surveyedOn ? `, ${t('map.surveyedOn', { date: formatDate(d.provenance.surveyedOn) })}` : ''}
            </span>
          ) : null}
        </p>
      ))}
      {info.history && info.history.versions.length > 0 ? <History key={`${info.x},${info.y}`} history={info.history} layers={layers} onCompare={onCompare} /> : null}
      {info.objects.length ? (
        <>
          <h3>
            {t('map.objects')} ({info.objects.length})
          </h3>
          {info.objects.slice(0, 5).map((o, i) => (
            <p key={i}>{t('map.object', { cls: String(o['class'] ?? ''), id: String(o['idObjet'] ?? ''), theme: String(o['thematique'] ?? '') })}</p>
          ))}
        </>
      ) : null}
      {gate.dialog}
    </>
  );
}

/** "What changed here": the versions that covered the clicked point, newest first, the one shown marked. */
function History({ history, layers, onCompare }: { history: PointHistory; layers: readonly string[]; onCompare: (before: string, after: string) => void }) {
  // The orthophoto versions of this point the map can show, newest first: any two compare under a swipe bar.
  const comparable = history.versions.filter((v) => v.dataset === 'ortho' && layers.includes(`${CURRENT_ORTHO}.${v.version}`)).map((v) => `${CURRENT_ORTHO}.${v.version}`);
  const [after, setAfter] = useState(comparable[0] ?? '');
  const [before, setBefore] = useState(comparable[1] ?? '');
  const versionOptions = comparable.map((id) => ({ value: id, label: id.slice(CURRENT_ORTHO.length + 1) }));
  return (
    <section class="point-history" aria-label={t('map.history')}>
      <h3>{t('map.history')}</h3>
      <ul>
        {history.versions.map((v) => (
          <li key={`${v.dataset}/${v.version}`}>
            <strong>{v.version}</strong> ({t(v.dataset === 'vector' ? 'map.historyVector' : 'map.historyOrtho')}
            {v.acquisitionDate ? `, ${formatDate(v.acquisitionDate)}` : ''})
            {v.current ? ` · ${t('map.historyCurrent')}` : ''}
            {v.status === 'withdrawn' ? ` · ${t('map.historyWithdrawn')}` : ''}
            {v.campaign ? (
              <>
                {' '}
                · <a href={href(`/campagnes/${v.campaign}`)}>{t('map.historyCampaign', { slug: v.campaign })}</a>
              </>
            ) : null}
            {v.contribution !== null ? (
              <>
                {' '}
                · <a href={href(`/contributions/${v.contribution}`)}>{t('map.historyContribution', { id: v.contribution })}</a>
              </>
            ) : null}
          </li>
        ))}
      </ul>
      {comparable.length >= 2 ? (
        <div class="history-compare">
          <Select label={t('map.compareBefore')} name="before" value={before} options={versionOptions} onChange={setBefore} />
          <Select label={t('map.compareAfter')} name="after" value={after} options={versionOptions} onChange={setAfter} />
          <button type="button" disabled={before === after} onClick={() => onCompare(before, after)}>
            {t('map.compareVersions')}
          </button>
        </div>
      ) : null}
    </section>
  );
}

/** "Aller à une commune": the commune outlined and in view, and its extract one click away. */
function GoToCommune({ map }: { map: PcrsMap | null }) {
  const [shown, setShown] = useState<Commune | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const go = (c: Commune) => {
    setShown(c);
    setNote(null);
    api.commune(c.insee).then(
      (f) => {
        if (f.geometry) map?.outline(f.geometry);
        else setNote(t('extractNew.noOutline', { name: c.name }));
      },
      (e: unknown) => setNote(errorText(e)),
    );
  };
  return (
    <div class="go-to-commune">
      <CommuneSearch label={t('map.goToCommune')} onSelect={go} />
      {shown ? (
        <p>
          <strong>{t('map.communeShown', { name: shown.name, insee: shown.insee })}</strong> ·{' '}
          <a href={href('/extraits/nouveau', { commune: shown.insee })}>{t('map.extractCommune')}</a>
        </p>
      ) : null}
      {note ? <p class="notice info">{note}</p> : null}
      <p>
        <a
          href={href('/extraits/nouveau')}
          onClick={(e) => {
            // The extract screen opens on the view the user is looking at.
            e.preventDefault();
            navigate('/extraits/nouveau', lastView ? { vue: lastView } : {});
          }}
        >
          {t('map.extractView')}
        </a>
      </p>
    </div>
  );
}

/**
 * Stream addresses per layer. On restricted layers they carry the key the user pastes or picks
 * among those kept in this tab; the key stays in the page (never stored, never sent by the page).
 */
function Streams({ layers, datasets }: { layers: string[]; datasets: DatasetAccess[] | null }) {
  const [key, setKey] = useState('');
  const [kept] = useState(() => rememberedKeys());
  const keyId = useId();
  const k = key.trim();
  const entries = layerStreams(location.origin, layers, true, datasets, k || null);
  const anyRestricted = entries.some((e) => e.visibility === 'restricted');
  return (
    <div id="streams-panel">
      <p class="hint">{t('map.streamsHint')}</p>
      {anyRestricted ? (
        <div class="key-choice">
          <div class="field">
            <label for={keyId}>{t('map.keyLabel')}</label>
            <input id={keyId} name="apikey" type="text" autocomplete="off" spellcheck={false} value={key} aria-describedby={`${keyId}-hint`} onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)} />
            <p class="hint" id={`${keyId}-hint`}>
              {k && !looksLikeKey(k) ? t('map.keyMalformed') : t('map.keyHint')}
            </p>
          </div>
          {kept.length ? (
            <div class="kept-keys">
              {t('map.keptKeys')}{' '}
              {kept.map((r) => (
                <button type="button" class="link" key={r.key} onClick={() => setKey(r.key)}>
                  {r.name}
                </button>
              ))}
            </div>
          ) : null}
        </div>
      ) : null}
      <div id="streams">
        {entries.map((e) => (
          <section key={e.layer} class="layer-streams" aria-label={e.layer === 'vector' ? t('map.vectorStreams') : e.layer}>
            <h3>
              {e.layer === 'vector' ? t('map.vectorStreams') : e.layer}{' '}
              <span class={`badge ${e.visibility}`}>{e.visibility === 'restricted' ? t('visibility.restricted') : t('visibility.public')}</span>
            </h3>
            {e.needsKey ? <p class="hint">{t('map.needsKey')}</p> : null}
            <dl>
              {e.links.map((l) => (
                <div key={l.kind}>
                  <dt>{l.kind}</dt>
                  <dd>
                    <code>{l.url}</code>
                  </dd>
                </div>
              ))}
            </dl>
          </section>
        ))}
      </div>
    </div>
  );
}

/** The declaration clicked on the map: what, its status, when, and its page. */
function DeclarationSummary({ d }: { d: Declaration }) {
  return (
    <section class="declaration-summary" aria-label={t('declLayer.panel', { id: d.id })}>
      <h3>
        <a href={href(`/declarations/${d.id}`)}>{t('decl.heading', { id: d.id, title: d.title })}</a>
      </h3>
      <p>
        {typeText(d.type)} · <StatusBadge status={d.status} /> · {formatDate(d.createdAt)}
      </p>
      <p class="description">{d.description.length > 300 ? `${d.description.slice(0, 300)}…` : d.description}</p>
    </section>
  );
}
