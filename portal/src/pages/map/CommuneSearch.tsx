import { useEffect, useId, useState } from 'preact/hooks';
import { api, type Commune } from '../../app/api.js';
import { errorText, t } from '../../app/i18n.js';

/**
 * Finding a commune of the territory by name (accents ignored, "st" = saint), INSEE code or postal
 * code: the matches are listed as buttons under the field; choosing one calls `onSelect`. Used by
 * the map ("Aller à une commune") and the extract screen.
 */
export function CommuneSearch(p: { label: string; onSelect: (c: Commune) => void; selected?: Commune | null }) {
  const id = useId();
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Commune[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    const text = q.trim();
    if (text.length < 2) {
      setFound(null);
      return;
    }
    let live = true;
    // A pause in typing, not every key.
    const timer = setTimeout(() => {
      api.communes(text, 8).then(
        (r) => live && (setFound(r.communes), setFailure(null)),
        (e: unknown) => live && setFailure(errorText(e)),
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [q]);
  return (
    <div class="commune-search">
      <div class="field">
        <label for={id}>{p.label}</label>
        <input id={id} name="commune" type="search" autocomplete="off" value={q} placeholder={t('commune.placeholder')} aria-describedby={`${id}-hint`} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
        <p class="hint" id={`${id}-hint`}>
          {p.selected ? t('commune.selected', { name: p.selected.name, insee: p.selected.insee }) : t('commune.hint')}
        </p>
      </div>
      {failure ? <p role="alert" class="field-error">{failure}</p> : null}
      <div aria-live="polite">
        {found === null ? null : found.length === 0 ? (
          <p class="hint">{t('commune.none')}</p>
        ) : (
          <ul class="commune-results" aria-label={t('commune.results')}>
            {found.map((c) => (
              <li key={c.insee}>
                <button
                  type="button"
                  class="link"
                  onClick={() => {
                    p.onSelect(c);
                    setFound(null);
                    setQ('');
                  }}
                >
                  {c.name} ({c.insee}){c.postalCodes.length ? ` · ${c.postalCodes.join(', ')}` : ''}
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
