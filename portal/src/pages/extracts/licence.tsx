import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, api, type Licence, type LicenceId } from '../../app/api.js';
import { errorText, t } from '../../app/i18n.js';

/**
 * The licence before a download (issue 13, item 3): the first download of open data shows the
 * Licence Ouverte, of restricted data the usage charter; the acceptance is recorded by the server
 * (for the user, or for this browser when nobody is signed in) and not asked again for the same
 * version. `ask(id)` resolves true once accepted (now or before), false when the user declines;
 * the screen renders `dialog`.
 */
export function useLicenceGate(): { ask: (id: LicenceId) => Promise<boolean>; dialog: preact.JSX.Element | null } {
  const [asking, setAsking] = useState<{ licence: Licence; resolve: (ok: boolean) => void; changed?: boolean } | null>(null);
  const accepted = useRef(new Set<string>());
  const ask = async (id: LicenceId): Promise<boolean> => {
    const { licences } = await api.licences();
    const licence = licences.find((l) => l.id === id);
    if (!licence) return true;
    if (licence.acceptedAt || accepted.current.has(`${id}@${licence.version}`)) return true;
    return new Promise<boolean>((resolve) => setAsking({ licence, resolve }));
  };
  const dialog = asking ? (
    <LicenceDialog
      licence={asking.licence}
      changed={asking.changed ?? false}
      onDecline={() => {
        asking.resolve(false);
        setAsking(null);
      }}
      onAccept={async () => {
        try {
          await api.acceptLicence(asking.licence.id, asking.licence.version);
        } catch (e) {
          // The text changed while it was shown: show the new one.
          if (e instanceof ApiError && e.code === 'licence-version-changed') {
            const fresh = (await api.licences()).licences.find((l) => l.id === asking.licence.id);
            if (fresh) {
              setAsking({ ...asking, licence: fresh, changed: true });
              return null;
            }
          }
          return errorText(e);
        }
        accepted.current.add(`${asking.licence.id}@${asking.licence.version}`);
        asking.resolve(true);
        setAsking(null);
        return null;
      }}
    />
  ) : null;
  return { ask, dialog };
}

/** A modal dialog with the text: "J'accepte" records the acceptance, "Annuler" (or Échap) declines. */
function LicenceDialog(p: { licence: Licence; changed: boolean; onAccept: () => Promise<string | null>; onDecline: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  const restricted = p.licence.appliesTo === 'restricted-data';
  return (
    <dialog
      ref={ref}
      class="licence-dialog"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-intro`}
      onCancel={(e) => {
        e.preventDefault();
        p.onDecline();
      }}
    >
      <h2 id={`${id}-title`}>{p.licence.name}</h2>
      <p id={`${id}-intro`}>
        {restricted ? t('licence.introCharter', { version: p.licence.version }) : t('licence.introOpen', { version: p.licence.version })}
      </p>
      {p.changed ? <p class="notice info">{t('licence.changed')}</p> : null}
      <div class="licence-text" tabIndex={0} aria-label={t('licence.textLabel')}>
        {p.licence.text}
      </div>
      {p.licence.url ? (
        <p>
          <a href={p.licence.url} target="_blank" rel="noopener noreferrer">
            {t('licence.link')}
          </a>
        </p>
      ) : null}
      {failure ? (
        <p class="notice error" role="alert">
          {failure}
        </p>
      ) : null}
      <div class="actions">
        <button
          type="button"
          class="primary"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setFailure(await p.onAccept());
            setBusy(false);
          }}
        >
          {t('licence.accept')}
        </button>{' '}
        <button type="button" onClick={p.onDecline}>
          {t('common.cancel')}
        </button>
      </div>
    </dialog>
  );
}
