import { useRef, useState } from 'preact/hooks';
import { api, type Geometry, type NewCampaign as NewCampaignBody } from '../../app/api.js';
import { Field, Form, LiveRegion, PageTitle, RequireSignIn, Select, useForm } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import { navigate } from '../../app/router.js';
import { isPlatformAdmin } from '../../app/session.js';
import { useAreaMap } from '../map/use-area-map.js';

type AreaSource = 'to-update' | 'drawn' | 'communes' | 'older-than';

/**
 * #/campagnes/nouvelle (administrators): a campaign — its name, what it surveys, its grid, its area
 * (what ended works marked "to update", a polygon drawn on the map, communes, or the dalles older
 * than N years), its contractor and planned window. Its page then follows it.
 */
export default function NewCampaign() {
  return (
    <section class="page campaign-new">
      <PageTitle text={t('campaignNew.title')} />
      <RequireSignIn returnTo="/campagnes/nouvelle" admin={isPlatformAdmin}>
        <CampaignForm />
      </RequireSignIn>
    </section>
  );
}

function CampaignForm() {
  const form = useForm();
  const [slug, setSlug] = useState('');
  const [title, setTitle] = useState('');
  const [kind, setKind] = useState<NewCampaignBody['kind']>('ortho');
  const [size, setSize] = useState<'200' | '1000'>('200');
  const [source, setSource] = useState<AreaSource>('to-update');
  const [insee, setInsee] = useState('');
  const [years, setYears] = useState('5');
  const [contractor, setContractor] = useState('');
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  // The map to draw the area on, loaded with OpenLayers when "drawn" is chosen.
  const mapTarget = useRef<HTMLDivElement>(null);
  const { map: areaMap, state: mapState } = useAreaMap(mapTarget, null, source === 'drawn');
  const [drawing, setDrawing] = useState(false);
  const [polygon, setPolygon] = useState<Geometry | null>(null);
  const startDrawing = () => {
    const m = areaMap.current;
    if (!m) return;
    setPolygon(null);
    setDrawing(true);
    void m.draw().done.then((geometry) => {
      setDrawing(false);
      setPolygon({ ...geometry, crs: { type: 'name', properties: { name: 'EPSG:2154' } } });
    });
  };
  const submit = () => {
    const local: Record<string, string> = {};
    if (!/^[a-z0-9][a-z0-9-]{0,47}$/.test(slug.trim())) local['slug'] = t('campaignNew.needSlug');
    if (!title.trim()) local['title'] = t('campaignNew.needTitle');
    const codes = insee.split(/[\s,;]+/).filter(Boolean);
    if (source === 'communes' && codes.length === 0) local['area.insee'] = t('campaignNew.needCommunes');
    if (source === 'drawn' && !polygon) local['area'] = t('campaignNew.needDrawing');
    const area: NewCampaignBody['area'] =
      source === 'communes' ? { source, insee: codes } : source === 'older-than' ? { source, years: Number(years) } : source === 'drawn' ? { source, geometry: polygon as Geometry } : { source };
    void form.run(async () => {
      const c = await api.createCampaign({
        slug: slug.trim(),
        title: title.trim(),
        kind,
        dalleSize: size === '200' ? 200 : 1000,
        area,
        ...(contractor.trim() ? { contractor: contractor.trim() } : {}),
        ...(start ? { plannedStart: start } : {}),
        ...(end ? { plannedEnd: end } : {}),
      });
      navigate(`/campagnes/${c.slug}`);
    }, local);
  };
  return (
    <Form onSubmit={submit} label={t('campaignNew.title')}>
      <Field label={t('campaignNew.titleLabel')} name="title" value={title} onInput={setTitle} required error={form.fieldError('title')} />
      <Field label={t('campaignNew.slug')} name="slug" value={slug} onInput={setSlug} required error={form.fieldError('slug')} hint={t('campaignNew.slugHint')} />
      <Select
        label={t('campaignNew.kind')}
        name="kind"
        value={kind}
        options={(['ortho', 'vector', 'mixed'] as const).map((k) => ({ value: k, label: t(`campaign.kind.${k}`) }))}
        onChange={setKind}
      />
      <Select
        label={t('campaignNew.size')}
        name="dalleSize"
        value={size}
        options={[
          { value: '200', label: t('campaignNew.size200') },
          { value: '1000', label: t('campaignNew.size1000') },
        ]}
        onChange={setSize}
      />
      <Select
        label={t('campaignNew.area')}
        name="area"
        value={source}
        options={[
          { value: 'to-update', label: t('campaignNew.areaToUpdate') },
          { value: 'drawn', label: t('campaignNew.areaDrawn') },
          { value: 'communes', label: t('campaignNew.areaCommunes') },
          { value: 'older-than', label: t('campaignNew.areaOlder') },
        ]}
        onChange={setSource}
      />
      <div class={`campaign-draw${source === 'drawn' ? '' : ' hidden'}`}>
        <button type="button" onClick={startDrawing} disabled={mapState !== 'ready' || drawing}>
          {polygon ? t('campaignNew.drawAgain') : t('campaignNew.draw')}
        </button>
        <p class={`hint${form.fieldError('area') ? ' error' : ''}`} aria-live="polite">
          {mapState === 'failed' ? t('map.mapError') : drawing ? t('campaignNew.drawHint') : polygon ? t('campaignNew.drawn') : (form.fieldError('area') ?? t('campaignNew.drawStart'))}
        </p>
        <div class="area-map" ref={mapTarget} role="application" aria-label={t('campaignNew.drawMap')} />
      </div>
      {source === 'communes' ? <Field label={t('campaignNew.insee')} name="insee" value={insee} onInput={setInsee} required error={form.fieldError('area.insee')} hint={t('campaignNew.inseeHint')} /> : null}
      {source === 'older-than' ? <Field label={t('campaignNew.years')} name="years" type="number" value={years} onInput={setYears} error={form.fieldError('area.years')} /> : null}
      <Field label={t('campaignNew.contractor')} name="contractor" value={contractor} onInput={setContractor} error={form.fieldError('contractor')} hint={t('campaignNew.contractorHint')} />
      <Field label={t('campaignNew.start')} name="plannedStart" type="date" value={start} onInput={setStart} error={form.fieldError('plannedStart')} />
      <Field label={t('campaignNew.end')} name="plannedEnd" type="date" value={end} onInput={setEnd} error={form.fieldError('plannedEnd')} />
      <LiveRegion message={form.message} />
      <button type="submit" class="primary" disabled={form.busy}>
        {t('campaignNew.submit')}
      </button>
    </Form>
  );
}
