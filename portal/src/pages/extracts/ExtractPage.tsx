import { useEffect, useState } from 'preact/hooks';
import { api, type Extract } from '../../app/api.js';
import { Loaded, Notice, PageTitle, RequireSignIn, useLoad } from '../../app/components.js';
import { formatBytes, formatDate, t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';
import { contentsText, ExtractStateBadge, formatEta, formatKm2 } from './labels.js';

/**
 * #/extraits/:id (where the "ready" e-mail links): what the extract covers and holds, its progress
 * while it runs (server-sent events), then the ZIP to download (resumable) or the lists of signed
 * URLs for wget -i / aria2c -i, until it expires.
 */
export default function ExtractPage({ params }: ScreenProps) {
  const id = Number(params['id']);
  return (
    <section class="page extract-page">
      <PageTitle text={t('extract.pageTitle', { id: Number.isSafeInteger(id) ? id : '?' })} />
      <RequireSignIn returnTo={`/extraits/${params['id'] ?? ''}`}>
        {Number.isSafeInteger(id) && id > 0 ? <ExtractView id={id} /> : <Notice kind="error">{t('error.notFound')}</Notice>}
      </RequireSignIn>
      <p>
        <a href={href('/extraits')}>{t('extract.backToList')}</a> · <a href={href('/extraits/nouveau')}>{t('extracts.new')}</a>
      </p>
    </section>
  );
}

function ExtractView({ id }: { id: number }) {
  const state = useLoad(() => api.extract(id), [id]);
  const [live, setLive] = useState<Extract | null>(null);
  const [eventsFailed, setEventsFailed] = useState(false);
  const running = (e: Extract | undefined | null) => !!e && (e.state === 'queued' || e.state === 'running');

  // While it runs: the server's events (progress every second, then ready, failed or expired).
  useEffect(() => {
    if (!running(state.data)) return;
    const source = new EventSource(api.extractEventsUrl(id));
    const take = (ev: MessageEvent<string>) => {
      try {
        setLive(JSON.parse(ev.data) as Extract);
      } catch {
        // a line that is not ours: ignored
      }
    };
    source.addEventListener('progress', take);
    for (const end of ['ready', 'failed', 'expired'] as const)
      source.addEventListener(end, (ev) => {
        take(ev as MessageEvent<string>);
        source.close();
      });
    source.addEventListener('error', () => {
      // The stream ends after the last event; anything else is a lost connection: say it, stop.
      if (source.readyState !== EventSource.OPEN) {
        source.close();
        setEventsFailed(true);
      }
    });
    return () => source.close();
  }, [state.data, id]);

  return (
    <Loaded state={state}>
      {(loaded) => {
        const e = live ?? loaded;
        return <ExtractDetails e={e} eventsFailed={eventsFailed && running(e)} onReload={() => (setLive(null), setEventsFailed(false), state.reload())} />;
      }}
    </Loaded>
  );
}

function ExtractDetails({ e, eventsFailed, onReload }: { e: Extract; eventsFailed: boolean; onReload: () => void }) {
  const p = e.progress;
  const fraction = p && p.total ? Math.min(1, p.done / p.total) : null;
  const eta = formatEta(p?.etaSeconds);
  return (
    <div class="extract-details">
      <p class="extract-status" aria-live="polite">
        <ExtractStateBadge state={e.state} /> {t(`extract.stateLine.${e.state}`)}
      </p>
      <dl class="facts">
        <div>
          <dt>{t('extract.area')}</dt>
          <dd>
            {e.area.label} · {formatKm2(e.area.km2)}
          </dd>
        </div>
        <div>
          <dt>{t('extract.contents')}</dt>
          <dd>{contentsText(e)}</dd>
        </div>
        {e.ortho ? (
          <div>
            <dt>{t('extract.orthoVersion')}</dt>
            <dd>
              {e.ortho.version}
              {e.ortho.excluded.length ? ` — ${t('extract.excluded', { count: e.ortho.excluded.length })}` : ''}
            </dd>
          </div>
        ) : null}
        {e.vector ? (
          <div>
            <dt>{t('extract.vector')}</dt>
            <dd>
              {e.vector.version ?? t('extract.vectorCurrent')} · {t(e.vector.clip === 'area' ? 'extractNew.clip.area' : 'extractNew.clip.dalles')}
            </dd>
          </div>
        ) : null}
        <div>
          <dt>{t('extract.asked')}</dt>
          <dd>{formatDate(e.createdAt, true)}</dd>
        </div>
        {e.expiresAt ? (
          <div>
            <dt>{t('extract.expires')}</dt>
            <dd>{formatDate(e.expiresAt, true)}</dd>
          </div>
        ) : null}
      </dl>

      {e.state === 'queued' || e.state === 'running' ? (
        <div class="extract-progress">
          <progress max={1} value={fraction ?? undefined} aria-label={t('extract.progress')} />
          <p class="hint" aria-live="polite">
            {/* The job counts bytes of masters, then dalles: a percentage and what it is on. */}
            {p && p.total ? t('extract.progressLine', { percent: Math.floor((100 * p.done) / p.total) }) : t('extract.waiting')}
            {p?.message ? ` — ${p.message}` : ''}
            {eta ? ` · ${t('extract.eta', { eta })}` : ''}
          </p>
          <p class="hint">{t('extract.mailWhenReady')}</p>
          {eventsFailed ? (
            <Notice kind="error">
              {t('extract.eventsLost')}{' '}
              <button type="button" class="link" onClick={onReload}>
                {t('extract.reload')}
              </button>
            </Notice>
          ) : null}
        </div>
      ) : null}

      {e.state === 'ready' && e.download ? (
        <div class="extract-ready">
          <p>
            <a class="button primary" href={e.download} download>
              {t('extract.downloadZip', { size: formatBytes(e.zipBytes) })}
            </a>
          </p>
          <p class="hint">{t('extract.zipHint', { files: e.entryCount ?? 0 })}</p>
          {e.urls ? (
            <div class="extract-urls">
              <h2>{t('extract.urlsTitle')}</h2>
              <p>{t('extract.urlsHint')}</p>
              <ul>
                <li>
                  <a href={api.extractUrlsUrl(e.id, 'aria2')} download={`pcrs-extrait-${e.id}.aria2`}>
                    {t('extract.urlsAria2')}
                  </a>{' '}
                  — <code>aria2c -i pcrs-extrait-{e.id}.aria2</code>
                </li>
                <li>
                  <a href={api.extractUrlsUrl(e.id, 'text')} download={`pcrs-extrait-${e.id}.txt`}>
                    {t('extract.urlsText')}
                  </a>{' '}
                  — <code>wget -x -nH --cut-dirs=6 -c -i pcrs-extrait-{e.id}.txt</code>
                </li>
                <li>
                  <a href={api.extractUrlsUrl(e.id, 'json')} download={`pcrs-extrait-${e.id}.json`}>
                    {t('extract.urlsJson')}
                  </a>
                </li>
              </ul>
            </div>
          ) : null}
        </div>
      ) : null}

      {e.state === 'failed' ? (
        <Notice kind="error">
          {t('extract.failed')}
          {e.error ? (
            <details>
              <summary>{t('extract.technical')}</summary>
              <code>{e.error}</code>
            </details>
          ) : null}
        </Notice>
      ) : null}
      {e.state === 'expired' ? <Notice kind="info">{t('extract.expiredText')}</Notice> : null}
    </div>
  );
}
