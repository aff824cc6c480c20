import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../app/api.js';
import { Notice, PageTitle } from '../../app/components.js';
import { errorText, t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';

/** Where the verification e-mail's link lands: `#/verifier?token=…`. */
export default function Verify({ query }: ScreenProps) {
  const token = query.get('token') ?? '';
  const [state, setState] = useState<{ ok: boolean; text: string } | null>(null);
  const sent = useRef<string | null>(null);
  useEffect(() => {
    if (!token) {
      setState({ ok: false, text: t('auth.tokenMissing') });
      return;
    }
    if (sent.current === token) return;
    sent.current = token;
    api.verify(token).then(
      () => setState({ ok: true, text: t('auth.verified') }),
      (e: unknown) => setState({ ok: false, text: errorText(e) }),
    );
  }, [token]);
  return (
    <section class="page narrow">
      <PageTitle text={t('auth.verifyTitle')} />
      <div aria-live="polite">
        {state === null ? <p class="loading">{t('auth.verifying')}</p> : <Notice kind={state.ok ? 'ok' : 'error'}>{state.text}</Notice>}
      </div>
      {state?.ok ? (
        <p>
          <a class="button primary" href={href('/connexion', { retour: '/compte/organisations' })}>
            {t('auth.signInButton')}
          </a>
        </p>
      ) : null}
    </section>
  );
}
