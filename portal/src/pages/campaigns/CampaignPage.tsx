import { useEffect, useRef, useState } from 'preact/hooks';
import { api, CAMPAIGN_TRANSITIONS, type Campaign, type CampaignChanges, type CampaignDalles } from '../../app/api.js';
import { ConfirmButton, Loaded, LiveRegion, PageTitle, useLoad } from '../../app/components.js';
import { errorText, formatDate, t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';
import { href } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';
import { isPlatformAdmin, useSession } from '../../app/session.js';
import type { CampaignMap } from './campaign-map.js';
import { CampaignStatusBadge, campaignStatusText, DALLE_COLOURS } from './labels.js';

/**
 * #/campagnes/:slug: a campaign — its facts, its progress, the map of its dalles by state (and,
 * once published, the dalles it changed), the refused dalles and why; for administrators, the
 * next steps (status, the check of the received dalles, the publication) and the log.
 */
export default function CampaignPage({ params }: ScreenProps) {
  const slug = params['slug'] ?? '';
  const state = useLoad(() => Promise.all([api.campaign(slug), api.campaignDalles(slug)]), [slug]);
  return (
    <section class="page campaign-page">
      <Loaded state={state}>{([c, dalles]) => <View initial={c} initialDalles={dalles} />}</Loaded>
      <p>
        <a href={href('/campagnes')}>{t('campaigns.title')}</a>
      </p>
    </section>
  );
}

function View({ initial, initialDalles }: { initial: Campaign; initialDalles: CampaignDalles }) {
  const s = useSession();
  const admin = Boolean(s.user && isPlatformAdmin(s.user));
  const [c, setC] = useState(initial);
  const [dalles, setDalles] = useState(initialDalles);
  const [changes, setChanges] = useState<CampaignChanges | null>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error' | 'info'; text: string } | null>(null);
  const [checking, setChecking] = useState(false);
  const reload = async () => {
    const [fresh, d] = await Promise.all([api.campaign(c.slug), api.campaignDalles(c.slug)]);
    setC(fresh);
    setDalles(d);
    return fresh;
  };
  useEffect(() => {
    if (c.status === 'published') void api.campaignChanges(c.slug).then(setChanges, () => undefined);
  }, [c.status]);
  // While the check runs in the background, the page asks every second until nothing waits.
  useEffect(() => {
    if (!checking) return;
    const timer = setInterval(() => {
      void reload().then((fresh) => {
        if (fresh.progress.received === 0) {
          setChecking(false);
          setMessage({ kind: 'ok', text: t('campaign.checked', { accepted: fresh.progress.accepted, rejected: fresh.progress.rejected }) });
        }
      });
    }, 1000);
    return () => clearInterval(timer);
  }, [checking]);
  const act = async (f: () => Promise<unknown>, ok: (fresh: Campaign) => string) => {
    setMessage(null);
    try {
      await f();
      const fresh = await reload();
      setMessage({ kind: 'ok', text: ok(fresh) });
    } catch (e) {
      setMessage({ kind: 'error', text: errorText(e) });
    }
  };
  const p = c.progress;
  const refused = dalles.features.filter((f) => f.properties.state === 'rejected');
  return (
    <>
      <PageTitle text={t('campaign.pageTitleNamed', { title: c.title })} />
      <p class="campaign-facts">
        <CampaignStatusBadge status={c.status} /> {t('campaign.facts', { kind: t(`campaign.kind.${c.kind}` as MessageKey), size: c.dalleSize, area: c.areaKm2 })} · {formatDate(c.plannedStart)} – {formatDate(c.plannedEnd)}
        <br />
        {c.contractor ? t('campaign.contractor', { name: c.contractor.name }) : t('campaign.noContractor')}
      </p>
      <p class="campaign-progress">
        <progress max={Math.max(1, p.expected)} value={p.received + p.accepted} aria-label={t('campaigns.progressText', { done: p.received + p.accepted, expected: p.expected })} />{' '}
        <span class="counts">{t('campaign.counts', { expected: p.expected, received: p.received, accepted: p.accepted, rejected: p.rejected, missing: p.missing, outside: p.outside })}</span>
      </p>
      {changes ? <p class="campaign-changed">{t('campaign.changed', { n: changes.changed, percent: Math.round(changes.threshold * 1000) / 10 })}</p> : null}
      {changes ? (
        <dl class="campaign-change-streams">
          <dt>{t('campaign.changeMapWmts')}</dt>
          <dd>
            <code>{`${location.origin}${changes.changeMapWmts}`}</code>
          </dd>
          <dt>{t('campaign.changeMapXyz')}</dt>
          <dd>
            <code>{`${location.origin}${changes.changeMap}`}</code>
          </dd>
        </dl>
      ) : null}
      <DallesMap dalles={dalles} changeThreshold={changes?.threshold ?? null} />
      <Legend changed={changes !== null} />
      {refused.length > 0 ? (
        <table class="campaign-refused">
          <caption>{t('campaign.refused')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('campaign.dalle')}</th>
              <th scope="col">{t('campaign.reason')}</th>
            </tr>
          </thead>
          <tbody>
            {refused.map((f) => (
              <tr key={f.id}>
                <td>{f.properties.label}</td>
                <td>{f.properties.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <LiveRegion message={checking ? { kind: 'info', text: t('campaign.checking') } : message} />
      <Timeline slug={c.slug} version={c.status + p.received + p.accepted + p.rejected} />
      {admin ? (
        <section class="campaign-actions" aria-label={t('campaign.actions')}>
          <h2>{t('campaign.actions')}</h2>
          <p>
            {CAMPAIGN_TRANSITIONS[c.status].map((to) => (
              <button key={to} type="button" onClick={() => void act(() => api.setCampaignStatus(c.slug, to), (fresh) => t('campaign.statusChanged', { status: campaignStatusText(fresh.status) }))}>
                {t('campaign.moveTo', { status: campaignStatusText(to) })}
              </button>
            ))}{' '}
            {p.received > 0 && (c.status === 'in-acquisition' || c.status === 'delivered') ? (
              <button type="button" disabled={checking} onClick={() => void api.checkCampaign(c.slug).then(() => setChecking(true), (e: unknown) => setMessage({ kind: 'error', text: errorText(e) }))}>
                {t('campaign.check')}
              </button>
            ) : null}{' '}
            {c.status === 'checked' ? <ConfirmButton label={t('campaign.publish')} confirm={t('campaign.publishConfirm')} onConfirm={() => void act(() => api.publishCampaign(c.slug), () => t('campaign.published'))} /> : null}
          </p>
          <Journal slug={c.slug} version={c.status + p.accepted + p.rejected} />
        </section>
      ) : null}
    </>
  );
}

function DallesMap({ dalles, changeThreshold }: { dalles: CampaignDalles; changeThreshold: number | null }) {
  const target = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let made: CampaignMap | null = null;
    let cancelled = false;
    void import('./campaign-map.js').then(async (m) => {
      if (cancelled || !target.current) return;
      made = await m.createCampaignMap(target.current, dalles, changeThreshold);
      if (cancelled) made.dispose();
    });
    return () => {
      cancelled = true;
      made?.dispose();
    };
  }, [dalles, changeThreshold]);
  return <div class="campaign-map" ref={target} role="img" aria-label={t('campaign.mapLabel')} style={{ height: '420px' }} />;
}

function Legend({ changed }: { changed: boolean }) {
  const keys: Array<keyof typeof DALLE_COLOURS> = ['expected', 'received', 'accepted', 'rejected', 'outside', ...(changed ? (['changed'] as const) : [])];
  return (
    <ul class="legend" aria-label={t('campaign.legend')}>
      {keys.map((k) => (
        <li key={k}>
          <span class="swatch" style={{ background: DALLE_COLOURS[k] }} /> {k === 'changed' ? t('campaign.changedLegend') : t(`campaign.dalleState.${k}` as MessageKey)}
        </li>
      ))}
    </ul>
  );
}

/** When the campaign was created, ordered, delivered, checked, published: for everyone. */
function Timeline({ slug, version }: { slug: string; version: string }) {
  const state = useLoad(() => api.campaignTimeline(slug), [slug, version]);
  return (
    <Loaded state={state}>
      {(d) => (
        <section class="campaign-timeline" aria-label={t('campaign.timeline')}>
          <h2>{t('campaign.timeline')}</h2>
          <ol>
            {d.timeline.map((e, i) => (
              <li key={i}>
                <time dateTime={e.at}>{formatDate(e.at)}</time> — {t(`campaign.event.${e.action}` as MessageKey)}
                {e.status && e.action !== 'created' ? ` → ${campaignStatusText(e.status)}` : ''}
              </li>
            ))}
          </ol>
        </section>
      )}
    </Loaded>
  );
}

function Journal({ slug, version }: { slug: string; version: string }) {
  const state = useLoad(() => api.campaignEvents(slug), [slug, version]);
  return (
    <Loaded state={state}>
      {(d) => (
        <table class="campaign-journal">
          <caption>{t('campaign.journal')}</caption>
          <tbody>
            {d.events.map((e) => (
              <tr key={e.id}>
                <td>{formatDate(e.at, true)}</td>
                <td>
                  {t(`campaign.event.${e.action}` as MessageKey)}
                  {e.toStatus ? ` → ${campaignStatusText(e.toStatus)}` : ''}
                </td>
                <td>{e.note ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Loaded>
  );
}
