import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Contribution, type ContributionDecision, type ContributionFile, type ContributionSelection } from '../../app/api.js';
import { Form, Loaded, LiveRegion, Notice, PageTitle, RequireSignIn, TextArea, useForm, useLoad } from '../../app/components.js';
import { errorText, formatBytes, formatDate, t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';
import { href } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';
import { isModerator, useSession } from '../../app/session.js';
import { ContributionStateBadge, FileStatusBadge } from './labels.js';
import { Review } from './Review.js';

/** States in which the contribution still takes files. */
const OPEN = new Set(['draft', 'validating', 'invalid', 'valid', 'changes-requested']);

const VECTOR_FILES = '.gpkg,.geojson,.json,.zip,.dxf';
const ACCEPT = { raster: '.tif,.tiff,.jp2,image/tiff,image/jp2', vector: `.gml,.xml,application/gml+xml,${VECTOR_FILES}`, business: VECTOR_FILES } as const;
const FILES_LABEL = { raster: 'contribution.filesRaster', vector: 'contribution.filesVector', business: 'contribution.filesBusiness' } as const;

interface Sending {
  name: string;
  sent: number;
  total: number;
  state: 'sending' | 'retrying' | 'done' | 'failed';
  error?: string;
}

/**
 * #/contributions/:id: the contribution, its files sent with tus (a progress bar per file; a cut
 * connection is retried from where the server stopped, a reload resumes the same file), and each
 * file's validation — its status while it runs, then the report as the CLI prints it.
 */
export default function ContributionPage({ params }: ScreenProps) {
  const id = Number(params['id']);
  return (
    <section class="page contribution-page">
      <RequireSignIn returnTo={`/contributions/${params['id'] ?? ''}`}>{Number.isSafeInteger(id) && id > 0 ? <View id={id} /> : <Notice kind="error">{t('error.notFound')}</Notice>}</RequireSignIn>
      <p>
        <a href={href('/contributions')}>{t('contributions.title')}</a>
      </p>
    </section>
  );
}

function View({ id }: { id: number }) {
  const s = useSession();
  const state = useLoad(() => api.contribution(id), [id]);
  const [fresh, setFresh] = useState<Contribution | null>(null);
  const c = fresh ?? state.data;
  // While a file is being validated, the page asks again every two seconds.
  useEffect(() => {
    if (!c || (c.state !== 'validating' && c.state !== 'publishing' && !(c.files ?? []).some((f) => f.status === 'pending'))) return;
    const timer = setTimeout(() => void api.contribution(id).then(setFresh, () => undefined), 2000);
    return () => clearTimeout(timer);
  }, [c]);
  const refresh = () => void api.contribution(id).then(setFresh, () => undefined);
  // What the moderator ticked in the comparison (null: the whole contribution).
  const [selection, setSelection] = useState<ContributionSelection | null>(null);
  const moderator = Boolean(s.user && isModerator(s.user));
  return (
    <>
      <PageTitle text={c ? t('contribution.pageTitle', { title: c.title }) : t('contribution.pageTitleShort')} />
      <Loaded state={state}>
        {() =>
          c ? (
            <>
              <Details c={c} onUploaded={refresh} />
              <Review c={c} moderator={moderator} onSelection={setSelection} />
              {moderator ? <Moderation c={c} selection={selection} onDecided={setFresh} /> : null}
            </>
          ) : null
        }
      </Loaded>
    </>
  );
}

function Details({ c, onUploaded }: { c: Contribution; onUploaded: () => void }) {
  const [sending, setSending] = useState<Sending[]>([]);
  const input = useRef<HTMLInputElement>(null);
  const update = (name: string, change: Partial<Sending>) => setSending((all) => all.map((s) => (s.name === name ? { ...s, ...change } : s)));
  const send = async (files: File[]) => {
    setSending((all) => [...all.filter((s) => !files.some((f) => f.name === s.name)), ...files.map((f) => ({ name: f.name, sent: 0, total: f.size, state: 'sending' as const }))]);
    const { uploadFile } = await import('./tus-upload.js');
    // One after the other: a partner's connection is rarely wider than one file's stream.
    for (const file of files) {
      try {
        const u = await uploadFile(c.id, file, (sent, total) => update(file.name, { sent, total, state: 'sending' }), () => update(file.name, { state: 'retrying' }));
        await u.done;
        update(file.name, { state: 'done', sent: file.size });
      } catch (e) {
        const { uploadStatus } = await import('./tus-upload.js');
        const status = uploadStatus(e);
        update(file.name, { state: 'failed', error: status === 415 ? t('error.fileType') : status === 413 ? t('contribution.tooLarge') : status === 404 ? t('error.notFound') : status === 403 ? t('error.forbidden') : errorText(e) });
      }
      onUploaded();
    }
    if (input.current) input.current.value = '';
  };
  return (
    <div class="contribution-details">
      <p class="contribution-status" aria-live="polite">
        <ContributionStateBadge state={c.state} /> {c.state === 'accepted' && c.campaign ? t('contribution.stateLine.acceptedInCampaign') : t(`contribution.stateLine.${c.state}` as MessageKey)}
      </p>
      <dl class="facts">
        <div>
          <dt>{t('contributions.kind')}</dt>
          <dd>{t(`contribution.kindLong.${c.kind}` as MessageKey)}</dd>
        </div>
        <div>
          <dt>{t('contributions.organisation')}</dt>
          <dd>{c.organisation}</dd>
        </div>
        {c.surveyedOn ? (
          <div>
            <dt>{t('contributionNew.surveyedOn')}</dt>
            <dd>{formatDate(c.surveyedOn)}</dd>
          </div>
        ) : null}
        {c.producer ? (
          <div>
            <dt>{t('contributionNew.producer')}</dt>
            <dd>{c.producer}</dd>
          </div>
        ) : null}
        {c.business ? (
          <div>
            <dt>{t('contribution.dataset')}</dt>
            <dd>
              {c.business.title} (<code>{c.business.dataset}</code>, {t(`contribution.visibility.${c.business.visibility}`)}
              {c.business.readers.length ? ` — ${t('contribution.readers')} : ${c.business.readers.join(', ')}` : ''})
            </dd>
          </div>
        ) : null}
      </dl>
      {c.description ? <p class="description">{c.description}</p> : null}
      {c.reason ? (
        <p class="moderation-reason">
          <strong>{t('contribution.reason')}</strong> {c.reason}
        </p>
      ) : null}
      {c.campaign ? (
        <p class="contribution-campaign">
          {t('contribution.campaignDelivery')} <a href={href(`/campagnes/${c.campaign}`)}>{c.campaign}</a>
        </p>
      ) : null}
      {c.version ? <p class="notice ok">{c.campaign ? t('contribution.deliveredTo', { version: c.version }) : t('contribution.publishedAs', { version: c.version })}</p> : null}

      {OPEN.has(c.state) ? (
        <>
          <h2>{t('contribution.send')}</h2>
          <div class="field">
            <label for="contribution-files">{t(FILES_LABEL[c.kind])}</label>
            <input id="contribution-files" ref={input} type="file" multiple accept={ACCEPT[c.kind]} aria-describedby="contribution-files-hint" onChange={(e) => void send([...((e.currentTarget as HTMLInputElement).files ?? [])])} />
            <p class="hint" id="contribution-files-hint">
              {t('contribution.filesHint')}
            </p>
          </div>
          {sending.length ? (
            <ul class="uploads" aria-label={t('contribution.sending')}>
              {sending.map((s) => (
                <li key={s.name}>
                  <span class="name">{s.name}</span> <progress max={s.total || 1} value={s.sent} aria-label={t('contribution.progressOf', { name: s.name })} />{' '}
                  <span class="upload-state">
                    {s.state === 'failed' ? `${t('contribution.upload.failed')} — ${s.error ?? ''}` : t(`contribution.upload.${s.state}` as MessageKey, { sent: formatBytes(s.sent), total: formatBytes(s.total) })}
                  </span>
                </li>
              ))}
            </ul>
          ) : null}
        </>
      ) : null}

      <h2>{t('contribution.files')}</h2>
      {(c.files ?? []).length === 0 ? <p class="empty">{t('contribution.noFile')}</p> : <Files files={c.files ?? []} />}
    </div>
  );
}

function Files({ files }: { files: ContributionFile[] }) {
  const [shown, setShown] = useState<{ id: number; text: string } | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const show = (f: ContributionFile) => {
    setFailure(null);
    api.contributionReportText(f.report).then((text) => setShown({ id: f.id, text }), (e: unknown) => setFailure(errorText(e)));
  };
  return (
    <>
      <table class="contribution-files">
        <thead>
          <tr>
            <th scope="col">{t('contribution.file')}</th>
            <th scope="col">{t('extracts.size')}</th>
            <th scope="col">{t('contribution.validation')}</th>
            <th scope="col">SHA-256</th>
            <th scope="col">{t('contribution.report')}</th>
          </tr>
        </thead>
        <tbody>
          {files.map((f) => (
            <tr key={f.id}>
              <td>{f.name}</td>
              <td>{formatBytes(f.bytes)}</td>
              <td>
                <FileStatusBadge status={f.status} />
              </td>
              <td>
                {f.sha256 ? <code title={f.sha256}>{f.sha256.slice(0, 12)}…</code> : '…'}
              </td>
              <td>
                {f.status === 'pending' ? (
                  '—'
                ) : (
                  <button type="button" class="link" onClick={() => show(f)} aria-expanded={shown?.id === f.id}>
                    {t('contribution.showReport', { name: f.name })}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {failure ? <Notice kind="error">{failure}</Notice> : null}
      {shown ? (
        <section class="report-text" aria-label={t('contribution.report')}>
          <pre>{shown.text}</pre>
        </section>
      ) : null}
    </>
  );
}

/**
 * Moderators: accept a contribution whose files all passed (published as an update version, the
 * page follows it), ask for changes or refuse it — both with a reason the contributor reads.
 */
function Moderation({ c, selection, onDecided }: { c: Contribution; selection: ContributionSelection | null; onDecided: (c: Contribution) => void }) {
  const form = useForm();
  const [reason, setReason] = useState('');
  if (!OPEN.has(c.state)) return null;
  const decide = (decision: ContributionDecision) => {
    const local: Record<string, string> = {};
    if (decision !== 'accept' && !reason.trim()) local['reason'] = t('contribution.needReason');
    void form.run(async () => {
      onDecided(await api.decideContribution(c.id, decision, decision === 'accept' ? undefined : reason.trim(), decision === 'accept' ? (selection ?? undefined) : undefined));
      setReason('');
      return t(`contribution.decided.${decision}` as MessageKey);
    }, local);
  };
  return (
    <section class="moderation" aria-labelledby="moderation-title">
      <h2 id="moderation-title">{t('contribution.moderation')}</h2>
      <Form onSubmit={() => decide('changes')} label={t('contribution.moderation')}>
        <TextArea label={t('contribution.reasonLabel')} name="reason" value={reason} onInput={setReason} error={form.fieldError('reason')} hint={t('contribution.reasonHint')} />
        <LiveRegion message={form.message} />
        <button type="button" class="primary" disabled={form.busy || c.state !== 'valid'} onClick={() => decide('accept')}>
          {selection
            ? t(c.campaign ? 'contribution.acceptPartToCampaign' : 'contribution.acceptPart', { n: (selection.objects ?? selection.files ?? []).length })
            : t(c.campaign ? 'contribution.acceptToCampaign' : 'contribution.accept')}
        </button>{' '}
        <button type="submit" disabled={form.busy}>
          {t('contribution.askChanges')}
        </button>{' '}
        <button type="button" class="danger" disabled={form.busy} onClick={() => decide('reject')}>
          {t('contribution.reject')}
        </button>
        {c.state !== 'valid' ? <p class="hint">{t('contribution.acceptOnlyValid')}</p> : null}
      </Form>
    </section>
  );
}
