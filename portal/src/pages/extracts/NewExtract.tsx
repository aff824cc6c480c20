import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, EXTRACT_CONTENTS, getJson, type Commune, type DatasetAccess, type Epci, type ExtractArea, type ExtractContent, type ExtractDelivery, type Geometry, type LicenceId, type VectorClip, type VersionRow } from '../../app/api.js';
import { Checkbox, Field, Form, LiveRegion, PageTitle, RequireSignIn, useForm } from '../../app/components.js';
import { errorText, t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';
import { navigate } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';
import { useSession } from '../../app/session.js';
import { CommuneSearch } from '../map/CommuneSearch.js';
import { CURRENT_ORTHO, layerVisibility, VECTOR_LAYER } from '../map/streams.js';
import { useAreaMap } from '../map/use-area-map.js';
import { formatKm2 } from './labels.js';
import { useLicenceGate } from './licence.js';

type AreaSource = 'draw' | 'commune' | 'epci' | 'file' | 'organisation' | 'declaration';
const SOURCES: readonly AreaSource[] = ['commune', 'draw', 'file', 'epci', 'organisation', 'declaration'];
const ORTHO_CONTENTS: readonly ExtractContent[] = ['ortho-master', 'ortho-cog'];

/**
 * #/extraits/nouveau: an extract over an area — a commune, a polygon drawn on the map, an uploaded
 * GeoJSON/KML/GeoPackage, an EPCI, the user's organisation's perimeter, a declaration's footprint
 * (`?commune=`, `?epci=`, `?declaration=`, `?organisation=` open it so chosen) — of a version, with
 * the contents and delivery chosen. The licence (or the charter, for restricted data) is shown
 * before the first download; then the screen goes to the extract's page, which follows its progress.
 */
export default function NewExtract({ query }: ScreenProps) {
  return (
    <section class="page extract-new">
      <PageTitle text={t('extractNew.title')} />
      <RequireSignIn returnTo={`/extraits/nouveau${query.toString() ? `?${query.toString()}` : ''}`}>
        <ExtractForm query={query} />
      </RequireSignIn>
    </section>
  );
}

function initialSource(query: URLSearchParams): AreaSource {
  for (const s of ['commune', 'epci', 'declaration', 'organisation'] as const) if (query.get(s)) return s;
  return 'commune';
}

function ExtractForm({ query }: { query: URLSearchParams }) {
  const s = useSession();
  const form = useForm();
  const gate = useLicenceGate();
  const mapTarget = useRef<HTMLDivElement>(null);
  const { map: areaMap, state: mapState } = useAreaMap(mapTarget, query.get('vue'));
  const [source, setSource] = useState<AreaSource>(() => initialSource(query));
  const [commune, setCommune] = useState<Commune | null>(null);
  const [epcis, setEpcis] = useState<Epci[] | null>(null);
  const [epci, setEpci] = useState(query.get('epci') ?? '');
  const [declaration, setDeclaration] = useState(query.get('declaration') ?? '');
  const memberships = (s.user?.organisations ?? []).filter((o) => o.status === 'active');
  const [organisation, setOrganisation] = useState(query.get('organisation') ?? memberships[0]?.slug ?? '');
  /** The polygon drawn or read from a file (Lambert-93), with its area. */
  const [polygon, setPolygon] = useState<{ geometry: Geometry; km2: number | null; from: 'draw' | 'file'; polygons?: number; format?: string } | null>(null);
  const [drawing, setDrawing] = useState(false);
  const [uploading, setUploading] = useState(false);
  const [fileError, setFileError] = useState<string | null>(null);
  const [areaNote, setAreaNote] = useState<string | null>(null);
  const [versions, setVersions] = useState<VersionRow[]>([]);
  const [datasets, setDatasets] = useState<DatasetAccess[] | null>(null);
  const [orthoVersion, setOrthoVersion] = useState('');
  const [contents, setContents] = useState<Set<ExtractContent>>(() => new Set(['ortho-master', 'vector-gml']));
  const [clip, setClip] = useState<VectorClip>('dalles');
  const [delivery, setDelivery] = useState<ExtractDelivery>('zip');

  useEffect(() => {
    let live = true;
    getJson<{ versions: VersionRow[] }>('/api/versions').then((r) => live && setVersions(r.versions.filter((v) => v.datasetId === 'ortho' && v.status === 'published')), () => undefined);
    api.datasets().then((d) => live && setDatasets(d), () => undefined);
    const insee = query.get('commune');
    if (insee) api.commune(insee).then((f) => live && setCommune(f.properties), (e: unknown) => live && setAreaNote(errorText(e)));
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    if (source === 'epci' && epcis === null) api.epcis().then((r) => setEpcis(r.epcis), (e: unknown) => setAreaNote(errorText(e)));
  }, [source]);

  // What the map outlines: the chosen commune's or EPCI's outline, or the polygon.
  useEffect(() => {
    const m = areaMap.current;
    if (!m || drawing) return;
    let live = true;
    setAreaNote(null);
    if (source === 'commune' && commune) {
      api.commune(commune.insee).then((f) => {
        if (!live) return;
        m.show(f.geometry);
        if (!f.geometry) setAreaNote(t('extractNew.noOutline', { name: commune.name }));
      }, (e: unknown) => live && setAreaNote(errorText(e)));
    } else if (source === 'epci' && epci) {
      api.epci(epci).then((f) => {
        if (!live) return;
        m.show(f.geometry);
        if (!f.geometry) setAreaNote(t('extractNew.noOutline', { name: f.properties.name }));
      }, (e: unknown) => live && setAreaNote(errorText(e)));
    } else if ((source === 'draw' || source === 'file') && polygon?.from === source) {
      m.show(polygon.geometry);
    } else {
      m.show(null);
    }
    return () => {
      live = false;
    };
  }, [source, commune?.insee, epci, polygon, mapState]);

  const startDrawing = () => {
    const m = areaMap.current;
    if (!m) return;
    setPolygon(null);
    setDrawing(true);
    const d = m.draw();
    void d.done.then((geometry) => {
      setDrawing(false);
      setPolygon({ geometry: { ...geometry, crs: { type: 'name', properties: { name: 'EPSG:2154' } } }, km2: polygonKm2(geometry), from: 'draw' });
    });
  };

  const upload = async (file: File | undefined) => {
    if (!file) return;
    setFileError(null);
    setUploading(true);
    try {
      const read = await api.uploadArea(file);
      setPolygon({ geometry: read.geometry, km2: read.km2, from: 'file', polygons: read.polygons, format: read.format });
    } catch (e) {
      setPolygon(null);
      setFileError(errorText(e));
    } finally {
      setUploading(false);
    }
  };

  const area = (): ExtractArea | string => {
    switch (source) {
      case 'commune':
        return commune ? { commune: commune.insee } : t('extractNew.needCommune');
      case 'epci':
        return epci ? { epci } : t('extractNew.needEpci');
      case 'organisation':
        return organisation ? { organisation } : t('extractNew.needOrganisation');
      case 'declaration':
        return /^[1-9][0-9]{0,14}$/.test(declaration.trim()) ? { declaration: Number(declaration.trim()) } : t('extractNew.needDeclaration');
      default:
        return polygon?.from === source ? { geometry: polygon.geometry } : t(source === 'draw' ? 'extractNew.needDrawing' : 'extractNew.needFile');
    }
  };

  const wantsOrtho = [...contents].some((c) => ORTHO_CONTENTS.includes(c));
  const wantsVector = [...contents].some((c) => !ORTHO_CONTENTS.includes(c));
  /** The licence the data falls under: the charter as soon as a part of it is restricted. */
  const licenceNeeded = (): LicenceId => {
    const orthoLayer = orthoVersion ? `${CURRENT_ORTHO}.${orthoVersion}` : CURRENT_ORTHO;
    const restricted = (wantsOrtho && layerVisibility(orthoLayer, datasets) === 'restricted') || (wantsVector && layerVisibility(VECTOR_LAYER, datasets) === 'restricted');
    return restricted ? 'charter' : 'licence-ouverte';
  };

  const submit = () => {
    const chosen = area();
    const local: Record<string, string> = {};
    if (typeof chosen === 'string') local['area'] = chosen;
    if (contents.size === 0) local['contents'] = t('extractNew.needContents');
    void form.run(async () => {
      const body = {
        area: chosen as ExtractArea,
        contents: EXTRACT_CONTENTS.filter((c) => contents.has(c)),
        ...(wantsVector ? { vectorClip: clip } : {}),
        ...(orthoVersion && wantsOrtho ? { orthoVersion } : {}),
        delivery,
      };
      if (!(await gate.ask(licenceNeeded()))) return form.setMessage({ kind: 'info', text: t('extractNew.licenceDeclined') });
      let created;
      try {
        created = await api.createExtract(body);
      } catch (e) {
        // Restricted data the screen took for open data: the charter, then once more.
        if (!(e instanceof ApiError && e.code === 'charter-not-accepted')) throw e;
        if (!(await gate.ask('charter'))) return form.setMessage({ kind: 'info', text: t('extractNew.licenceDeclined') });
        created = await api.createExtract(body);
      }
      navigate(`/extraits/${created.id}`);
    }, local);
  };

  const toggle = (c: ExtractContent, on: boolean) =>
    setContents((old) => {
      const next = new Set(old);
      if (on) next.add(c);
      else next.delete(c);
      return next;
    });

  return (
    <div class="extract-layout">
      <Form onSubmit={submit} label={t('extractNew.title')} class="form extract-form">
        <fieldset class={form.fieldError('area') ? 'invalid' : ''}>
          <legend>{t('extractNew.area')}</legend>
          <div class="choices" role="radiogroup" aria-label={t('extractNew.areaKind')}>
            {SOURCES.map((k) => (
              <label key={k} class="radio">
                <input type="radio" name="area-kind" value={k} checked={source === k} onChange={() => setSource(k)} /> {t(`extractNew.source.${k}` as MessageKey)}
              </label>
            ))}
          </div>
          {source === 'commune' ? <CommuneSearch label={t('extractNew.communeLabel')} selected={commune} onSelect={setCommune} /> : null}
          {source === 'draw' ? (
            <div class="draw-area">
              <button type="button" onClick={startDrawing} disabled={mapState !== 'ready' || drawing}>
                {polygon?.from === 'draw' ? t('extractNew.drawAgain') : t('extractNew.draw')}
              </button>
              <p class="hint draw-hint" aria-live="polite">
                {drawing ? t('extractNew.drawHint') : polygon?.from === 'draw' ? t('extractNew.drawn', { km2: formatKm2(polygon.km2) }) : t('extractNew.drawStart')}
              </p>
            </div>
          ) : null}
          {source === 'file' ? (
            <div class={`field${fileError ? ' invalid' : ''}`}>
              <label for="extract-area-file">{t('extractNew.fileLabel')}</label>
              <input id="extract-area-file" name="area-file" type="file" accept=".geojson,.json,.kml,.gpkg,application/geo+json,application/vnd.google-earth.kml+xml,application/geopackage+sqlite3" aria-describedby="extract-area-file-hint" aria-invalid={fileError ? 'true' : undefined} onChange={(e) => void upload((e.currentTarget as HTMLInputElement).files?.[0])} />
              <p class="hint" id="extract-area-file-hint" aria-live="polite">
                {uploading ? t('extractNew.fileReading') : polygon?.from === 'file' ? t('extractNew.fileRead', { format: polygon.format ?? '', polygons: polygon.polygons ?? 1, km2: formatKm2(polygon.km2) }) : t('extractNew.fileHint')}
              </p>
              {fileError ? <p class="field-error" role="alert">{fileError}</p> : null}
            </div>
          ) : null}
          {source === 'epci' ? (
            <div class="field">
              <label for="extract-epci">{t('extractNew.epciLabel')}</label>
              <select id="extract-epci" name="epci" value={epci} onChange={(e) => setEpci((e.currentTarget as HTMLSelectElement).value)}>
                <option value="">{t('extractNew.choose')}</option>
                {(epcis ?? []).map((x) => (
                  <option key={x.siren} value={x.siren}>
                    {x.name} ({x.communes.length})
                  </option>
                ))}
              </select>
            </div>
          ) : null}
          {source === 'organisation' ? (
            memberships.length ? (
              <div class="field">
                <label for="extract-org">{t('extractNew.organisationLabel')}</label>
                <select id="extract-org" name="organisation" value={organisation} onChange={(e) => setOrganisation((e.currentTarget as HTMLSelectElement).value)}>
                  {memberships.map((o) => (
                    <option key={o.slug} value={o.slug}>
                      {o.name}
                    </option>
                  ))}
                </select>
                <p class="hint">{t('extractNew.organisationHint')}</p>
              </div>
            ) : (
              <p class="hint">{t('extractNew.noOrganisation')}</p>
            )
          ) : null}
          {source === 'declaration' ? <Field label={t('extractNew.declarationLabel')} name="declaration" value={declaration} onInput={setDeclaration} hint={t('extractNew.declarationHint')} /> : null}
          {areaNote ? <p class="notice info">{areaNote}</p> : null}
          {form.fieldError('area') ? <p class="field-error">{form.fieldError('area')}</p> : null}
        </fieldset>

        <fieldset class={form.fieldError('contents') ? 'invalid' : ''}>
          <legend>{t('extractNew.contents')}</legend>
          {EXTRACT_CONTENTS.map((c) => (
            <Checkbox key={c} label={t(`extract.content.${c}` as MessageKey)} name="contents" value={c} checked={contents.has(c)} onChange={(on) => toggle(c, on)} />
          ))}
          {form.fieldError('contents') ? <p class="field-error">{form.fieldError('contents')}</p> : null}
        </fieldset>

        {wantsOrtho ? (
          <div class="field">
            <label for="extract-version">{t('extractNew.version')}</label>
            <select id="extract-version" name="orthoVersion" value={orthoVersion} onChange={(e) => setOrthoVersion((e.currentTarget as HTMLSelectElement).value)}>
              <option value="">{t('extractNew.currentVersion')}</option>
              {versions.map((v) => (
                <option key={v.name} value={v.name}>
                  {v.name}
                  {v.acquisitionDate ? ` (${v.acquisitionDate})` : ''}
                </option>
              ))}
            </select>
          </div>
        ) : null}

        {wantsVector ? (
          <fieldset>
            <legend>{t('extractNew.clip')}</legend>
            {(['dalles', 'area'] as const).map((c) => (
              <label key={c} class="radio">
                <input type="radio" name="vectorClip" value={c} checked={clip === c} onChange={() => setClip(c)} /> {t(`extractNew.clip.${c}` as MessageKey)}
              </label>
            ))}
          </fieldset>
        ) : null}

        <fieldset>
          <legend>{t('extractNew.delivery')}</legend>
          {(['zip', 'urls'] as const).map((d) => (
            <label key={d} class="radio">
              <input type="radio" name="delivery" value={d} checked={delivery === d} onChange={() => setDelivery(d)} /> {t(`extractNew.delivery.${d}` as MessageKey)}
            </label>
          ))}
        </fieldset>

        <LiveRegion message={form.message} />
        <button type="submit" class="primary" disabled={form.busy || drawing || uploading}>
          {form.busy ? t('extractNew.sending') : t('extractNew.submit')}
        </button>
      </Form>
      <div class="extract-map">
        <div id="extract-map" ref={mapTarget} role="application" aria-label={t('extractNew.mapLabel')} />
        {mapState === 'failed' ? <p role="alert">{t('map.mapError')}</p> : null}
      </div>
      {gate.dialog}
    </div>
  );
}

/** Area of a Lambert-93 polygon drawn on the map (shoelace; the projection's scale error is < 0.1 % in the Lot). */
function polygonKm2(g: Geometry): number | null {
  if (g.type !== 'Polygon') return null;
  const rings = g.coordinates as number[][][];
  let m2 = 0;
  rings.forEach((ring, i) => {
    let a = 0;
    for (let k = 0; k + 1 < ring.length; k++) a += (ring[k]![0]! * ring[k + 1]![1]!) - (ring[k + 1]![0]! * ring[k]![1]!);
    m2 += (i === 0 ? 1 : -1) * Math.abs(a / 2);
  });
  return m2 / 1e6;
}
