import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Contribution, type ContributionReview, type ContributionSelection } from '../../app/api.js';
import { Loaded, useLoad } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import type { ReviewMap } from './review-map.js';

/** States in which a contribution is compared with the current PCRS. */
const COMPARABLE = new Set(['valid', 'changes-requested']);

const value = (v: unknown) => (v === null || v === undefined ? '∅' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * "Avant / après": the contribution over the current PCRS on a map — vector: the objects added,
 * removed and changed, listed with their attribute changes; dalles: their previews with a swipe bar —
 * and, for a moderator, the boxes that choose what is accepted (all by default).
 */
export function Review({ c, moderator, onSelection }: { c: Contribution; moderator: boolean; onSelection: (s: ContributionSelection | null) => void }) {
  const state = useLoad(() => api.contributionReview(c.id), [c.id, c.updatedAt]);
  if (!COMPARABLE.has(c.state) || c.kind === 'business') return null;
  return (
    <section class="review" aria-labelledby="review-title">
      <h2 id="review-title">{t('review.title')}</h2>
      <Loaded state={state}>{(r) => <Compared review={r} moderator={moderator} onSelection={onSelection} />}</Loaded>
    </section>
  );
}

function Compared({ review, moderator, onSelection }: { review: ContributionReview; moderator: boolean; onSelection: (s: ContributionSelection | null) => void }) {
  const target = useRef<HTMLDivElement>(null);
  const [map, setMap] = useState<ReviewMap | null>(null);
  const [mapFailed, setMapFailed] = useState(false);
  const [swipe, setSwipe] = useState(50);
  const keys = review.kind === 'vector' ? [...review.added, ...review.changed, ...review.removed].map((o) => o.key) : review.kind === 'raster' ? review.dalles.filter((d) => d.preview).map((d) => String(d.fileId)) : [];
  const [chosen, setChosen] = useState<Set<string>>(new Set(keys));
  useEffect(() => {
    let made: ReviewMap | null = null;
    let gone = false;
    import('./review-map.js')
      .then(async ({ createReviewMap }) => {
        if (!target.current || gone) return;
        made = await createReviewMap(target.current, review);
        if (gone) made.dispose();
        else setMap(made);
      })
      // No orthophoto to show under it (an empty platform): the lists still say everything.
      .catch(() => setMapFailed(true));
    return () => {
      gone = true;
      made?.dispose();
    };
  }, [review]);
  const toggle = (key: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(key);
    else next.delete(key);
    setChosen(next);
    // Everything chosen: the whole contribution (no selection sent).
    if (next.size === keys.length) onSelection(null);
    else onSelection(review.kind === 'vector' ? { objects: [...next] } : { files: [...next].map(Number) });
  };
  const box = (key: string, label: string) =>
    moderator ? (
      <td>
        <input type="checkbox" checked={chosen.has(key)} aria-label={t('review.keep', { what: label })} onChange={(e) => toggle(key, (e.currentTarget as HTMLInputElement).checked)} />
      </td>
    ) : null;
  return (
    <>
      {mapFailed ? <p class="hint">{t('review.noMap')}</p> : null}
      <div class="review-map" ref={target} role="region" aria-label={t('review.map')} hidden={mapFailed} />
      {review.kind === 'raster' ? (
        <div class="field swipe">
          <label for="review-swipe">{t('review.swipe')}</label>
          <input id="review-swipe" type="range" min="0" max="100" value={swipe} onInput={(e) => {
            const p = Number((e.currentTarget as HTMLInputElement).value);
            setSwipe(p);
            map?.swipe(p);
          }} />
        </div>
      ) : null}
      {review.kind === 'vector' ? (
        <>
          <p class="review-summary">{t('review.summary', { added: review.summary.added, removed: review.summary.removed, changed: review.summary.changed, unchanged: review.summary.unchanged })}</p>
          <p class="legend">
            <span class="swatch added" /> {t('review.added')} <span class="swatch removed" /> {t('review.removed')} <span class="swatch changed" /> {t('review.changed')} <span class="swatch before" /> {t('review.before')}
          </p>
          <table class="review-changes">
            <thead>
              <tr>
                {moderator ? <th scope="col">{t('review.keepColumn')}</th> : null}
                <th scope="col">{t('review.change')}</th>
                <th scope="col">{t('review.object')}</th>
                <th scope="col">{t('review.details')}</th>
              </tr>
            </thead>
            <tbody>
              {review.added.map((o) => (
                <tr key={o.key} class="added">
                  {box(o.key, o.key)}
                  <td>{t('review.added')}</td>
                  <td><button type="button" class="link" onClick={() => map?.focus(o.geometry)}>{o.key}</button></td>
                  <td />
                </tr>
              ))}
              {review.changed.map((o) => (
                <tr key={o.key} class="changed">
                  {box(o.key, o.key)}
                  <td>{t('review.changed')}</td>
                  <td><button type="button" class="link" onClick={() => map?.focus(o.geometry)}>{o.key}</button></td>
                  <td>
                    {o.geometryChanged ? <span>{t('review.moved')} </span> : null}
                    {Object.entries(o.attributes).map(([name, [before, after]]) => (
                      <span key={name} class="attribute-change">
                        {name} : {value(before)} → {value(after)}{' '}
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
              {review.removed.map((o) => (
                <tr key={o.key} class="removed">
                  {box(o.key, o.key)}
                  <td>{t('review.removed')}</td>
                  <td><button type="button" class="link" onClick={() => map?.focus(o.geometry)}>{o.key}</button></td>
                  <td />
                </tr>
              ))}
            </tbody>
          </table>
          {review.truncated ? <p class="hint">{t('review.truncated')}</p> : null}
        </>
      ) : null}
      {review.kind === 'raster' ? (
        <table class="review-changes">
          <thead>
            <tr>
              {moderator ? <th scope="col">{t('review.keepColumn')}</th> : null}
              <th scope="col">{t('contribution.file')}</th>
              <th scope="col">{t('review.dalle')}</th>
            </tr>
          </thead>
          <tbody>
            {review.dalles.filter((d) => d.preview).map((d) => (
              <tr key={d.fileId}>
                {box(String(d.fileId), d.name)}
                <td>{d.name}</td>
                <td>{d.canonicalName ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
