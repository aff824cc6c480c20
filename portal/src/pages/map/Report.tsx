import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, DECLARATION_TYPES, WORKS_THEMES, type DeclarationType, type L93Geometry, type NewDeclaration, type VersionRow, type WorksTheme } from '../../app/api.js';
import { Checkbox, Field, Form, LiveRegion, Select, TextArea, useForm } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import { useSession } from '../../app/session.js';
import { themeText, typeText } from '../declarations/labels.js';
import { FilePicker, UploadList, useUploads } from '../declarations/uploads.js';
import { drawOnce, type Drawing, type Shape } from './declarations-layer.js';
import type { PcrsMap } from './ol-map.js';

/**
 * "Signaler" on the map: draw a point, a line or an area, then say what it is (type, title,
 * description, the layer concerned, the works' DT-DICT fields), attach photos (sent once the
 * declaration exists, each with its progress and its own error). Without an account: an invitation
 * to sign in, and an error can still be reported with an e-mail address (confirmed by a link).
 */

type Step = 'closed' | 'shape' | 'drawing' | 'form' | 'done';

const L93_CRS = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
/** The codes of errors that concern one field of the form. */
const FIELD_OF_CODE: Record<string, string> = {
  'invalid-geometry': 'geometry',
  'outside-territory': 'geometry',
  'invalid-dates': 'plannedEnd',
  'unknown-layer': 'layer',
  'invalid-works': 'works',
};

export function Report({ map, versions, onCreated, onDrawing }: { map: PcrsMap | null; versions: VersionRow[] | null; onCreated: () => void; onDrawing: (drawing: boolean) => void }) {
  const s = useSession();
  const [step, setStep] = useState<Step>('closed');
  const [shape, setShape] = useState<Shape>('Point');
  const [geometry, setGeometry] = useState<L93Geometry | null>(null);
  const [created, setCreated] = useState<{ id: number } | 'anonymous' | null>(null);
  const drawing = useRef<Drawing | null>(null);
  const uploads = useUploads();

  const stopDrawing = () => {
    drawing.current?.cancel();
    drawing.current = null;
  };
  useEffect(() => () => stopDrawing(), []);
  useEffect(() => onDrawing(step === 'drawing'), [step]);

  const start = (kind: Shape) => {
    if (!map) return;
    stopDrawing();
    setShape(kind);
    setGeometry(null);
    setStep('drawing');
    const d = drawOnce(map.map, kind);
    drawing.current = d;
    void d.done.then((g) => {
      if (drawing.current !== d) return;
      setGeometry(g);
      setStep('form');
    });
  };
  const close = () => {
    stopDrawing();
    setGeometry(null);
    setCreated(null);
    uploads.clear();
    setStep('closed');
  };

  if (step === 'closed')
    return (
      <div class="report">
        <button type="button" class="primary report-button" disabled={!map} onClick={() => setStep('shape')}>
          {t('report.button')}
        </button>
      </div>
    );

  const shapeName = shape === 'Point' ? t('report.point') : shape === 'LineString' ? t('report.line') : t('report.polygon');
  return (
    <section class="report open" aria-label={t('report.title')}>
      <h2>{t('report.title')}</h2>
      {s.loaded && !s.user && step !== 'done' ? (
        <p class="notice info">
          {t('report.signInFirst')} <a href={href('/connexion', { retour: '/carte' })}>{t('nav.signIn')}</a>
          {s.available ? <> {t('report.anonymous')}</> : null}
        </p>
      ) : null}
      {step === 'shape' || step === 'drawing' ? (
        <div role="group" aria-label={t('report.chooseShape')} class="shape-choice">
          <p>{t('report.chooseShape')}</p>
          {(['Point', 'LineString', 'Polygon'] as const).map((k) => (
            <button key={k} type="button" aria-pressed={step === 'drawing' && shape === k} onClick={() => start(k)}>
              {k === 'Point' ? t('report.point') : k === 'LineString' ? t('report.line') : t('report.polygon')}
            </button>
          ))}
        </div>
      ) : null}
      {step === 'drawing' ? (
        <p class="hint draw-hint" role="status">
          {shape === 'Point' ? t('report.drawPoint') : shape === 'LineString' ? t('report.drawLine') : t('report.drawPolygon')}
        </p>
      ) : null}
      {step === 'form' && geometry ? (
        <>
          <p>
            {t('report.drawn', { shape: shapeName })}{' '}
            <button type="button" class="link" onClick={() => start(shape)}>
              {t('report.redraw')}
            </button>
          </p>
          {s.user ? (
            <DeclarationForm
              geometry={geometry}
              versions={versions}
              organisations={s.user.organisations.filter((o) => o.status === 'active').map((o) => o.slug)}
              onCreated={(id, files) => {
                stopDrawing();
                setCreated({ id });
                setStep('done');
                onCreated();
                if (files.length) void uploads.send(id, files);
              }}
            />
          ) : s.available ? (
            <AnonymousForm
              geometry={geometry}
              onSent={() => {
                stopDrawing();
                setCreated('anonymous');
                setStep('done');
              }}
            />
          ) : null}
        </>
      ) : null}
      {step === 'done' && created ? (
        <div class="report-done">
          {created === 'anonymous' ? (
            <p role="status" class="notice ok">
              {t('report.anonymousSent')}
            </p>
          ) : (
            <>
              <p role="status" class="notice ok">
                {t('report.created', { id: created.id })} <a href={href(`/declarations/${created.id}`)}>{t('report.open', { id: created.id })}</a>
              </p>
              <UploadList uploads={uploads.uploads} onRetry={(f) => void uploads.retry(created.id, f)} />
            </>
          )}
          <button type="button" onClick={() => setStep('shape')}>
            {t('report.another')}
          </button>
        </div>
      ) : null}
      <button type="button" class="link cancel" onClick={close}>
        {step === 'done' ? t('common.close') : t('report.cancel')}
      </button>
    </section>
  );
}

/** Adds the field an error code concerns to the ApiError, so that the form shows it there. */
function markField(e: unknown): never {
  if (e instanceof ApiError) {
    const field = FIELD_OF_CODE[e.code];
    if (field) e.fields[field] ??= e.detail;
  }
  throw e;
}

function DeclarationForm(p: { geometry: L93Geometry; versions: VersionRow[] | null; organisations: string[]; onCreated: (id: number, files: File[]) => void }) {
  const [type, setType] = useState<DeclarationType>('error');
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [layer, setLayer] = useState('');
  const [dtDict, setDtDict] = useState('');
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const [themes, setThemes] = useState<WorksTheme[]>([]);
  const [files, setFiles] = useState<File[]>([]);
  const form = useForm();
  const layers = [
    { value: '', label: t('report.noLayer') },
    { value: 'ortho', label: t('map.orthoLayer') },
    { value: 'vector', label: t('map.vectorStreams') },
    ...(p.versions ?? []).map((v) => ({ value: `${v.datasetId}/${v.name}`, label: `${v.datasetId} ${v.name}` })),
  ];

  const submit = () => {
    const local: Record<string, string> = {};
    if (!title.trim()) local['title'] = t('report.titleRequired');
    if (!description.trim()) local['description'] = t('report.descriptionRequired');
    if (type === 'works' && start && end && end < start) local['plannedEnd'] = t('report.datesOrder');
    void form.run(async () => {
      const [dataset, version] = layer.split('/');
      const body: NewDeclaration = {
        type,
        title: title.trim(),
        description: description.trim(),
        geometry: { ...p.geometry, crs: L93_CRS },
        ...(dataset ? { layer: version ? { dataset, version } : { dataset } } : {}),
        ...(type === 'works'
          ? { works: { ...(dtDict.trim() ? { dtDictRef: dtDict.trim() } : {}), ...(start ? { plannedStart: start } : {}), ...(end ? { plannedEnd: end } : {}), ...(themes.length ? { themes } : {}) } }
          : {}),
      };
      const created = await api.createDeclaration(body).catch(markField);
      p.onCreated(created.id, files);
    }, local);
  };

  return (
    <Form onSubmit={submit} label={t('report.title')}>
      {form.fieldError('geometry') ? <p class="field-error">{form.fieldError('geometry')}</p> : null}
      <Select label={t('report.type')} name="type" value={type} options={DECLARATION_TYPES.map((v) => ({ value: v, label: typeText(v) }))} onChange={setType} />
      <Field label={t('report.titleField')} name="title" value={title} onInput={setTitle} required error={form.fieldError('title')} />
      <TextArea label={t('report.description')} name="description" value={description} onInput={setDescription} error={form.fieldError('description')} />
      <Select label={t('report.layer')} name="layer" value={layer} options={layers} onChange={setLayer} error={form.fieldError('layer')} />
      {type === 'works' ? (
        <fieldset class={form.fieldError('works') ? 'invalid' : ''}>
          <legend>{t('report.worksLegend')}</legend>
          <Field label={t('report.dtDict')} name="dtDictRef" value={dtDict} onInput={setDtDict} />
          <Field label={t('report.plannedStart')} name="plannedStart" type="date" value={start} onInput={setStart} />
          <Field label={t('report.plannedEnd')} name="plannedEnd" type="date" value={end} onInput={setEnd} error={form.fieldError('plannedEnd')} />
          <fieldset class="themes">
            <legend>{t('report.themes')}</legend>
            {WORKS_THEMES.map((th) => (
              <Checkbox key={th} label={themeText(th)} name="themes" value={th} checked={themes.includes(th)} onChange={(on) => setThemes((list) => (on ? [...list, th] : list.filter((x) => x !== th)))} />
            ))}
          </fieldset>
          {form.fieldError('works') ? <p class="field-error">{form.fieldError('works')}</p> : null}
        </fieldset>
      ) : null}
      <FilePicker label={t('report.photos')} hint={t('report.photosHint')} files={files} onChange={setFiles} />
      <LiveRegion message={form.message} />
      <button type="submit" class="primary" disabled={form.busy}>
        {t('report.submit')}
      </button>
    </Form>
  );
}

/** An error without an account: its author's e-mail, and the honeypot `website` that people do not see. */
function AnonymousForm(p: { geometry: L93Geometry; onSent: () => void }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [email, setEmail] = useState('');
  const [website, setWebsite] = useState('');
  const form = useForm();
  const submit = () => {
    const local: Record<string, string> = {};
    if (!title.trim()) local['title'] = t('report.titleRequired');
    if (!description.trim()) local['description'] = t('report.descriptionRequired');
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email.trim())) local['email'] = t('report.emailRequired');
    void form.run(async () => {
      await api.declareAnonymously({ type: 'error', title: title.trim(), description: description.trim(), geometry: { ...p.geometry, crs: L93_CRS }, email: email.trim(), website }).catch(markField);
      p.onSent();
    }, local);
  };
  return (
    <Form onSubmit={submit} label={t('report.title')}>
      {form.fieldError('geometry') ? <p class="field-error">{form.fieldError('geometry')}</p> : null}
      <p>
        {t('report.type')} : {typeText('error')}
      </p>
      <Field label={t('report.titleField')} name="title" value={title} onInput={setTitle} required error={form.fieldError('title')} />
      <TextArea label={t('report.description')} name="description" value={description} onInput={setDescription} error={form.fieldError('description')} />
      <Field label={t('report.email')} name="email" type="email" autocomplete="email" value={email} onInput={setEmail} required error={form.fieldError('email')} />
      <div class="hp" aria-hidden="true">
        <label>
          {t('report.website')} <input type="text" name="website" tabIndex={-1} autocomplete="off" value={website} onInput={(e) => setWebsite((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </div>
      <LiveRegion message={form.message} />
      <button type="submit" class="primary" disabled={form.busy}>
        {t('report.submit')}
      </button>
    </Form>
  );
}
