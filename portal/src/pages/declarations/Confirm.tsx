import { useEffect, useState } from 'preact/hooks';
import { api } from '../../app/api.js';
import { Notice, PageTitle } from '../../app/components.js';
import { errorText, t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';

/**
 * Where the link of an anonymous declaration's mail lands (`#/declarations/confirmer?token=…`):
 * the token is sent once (POST /declarations/anonymous/confirm), and the declaration exists.
 */
export default function Confirm({ query }: ScreenProps) {
  const token = query.get('token') ?? '';
  const [state, setState] = useState<{ id: number } | { error: string } | null>(null);
  useEffect(() => {
    if (!token) return setState({ error: t('error.invalidToken') });
    let live = true;
    api.confirmAnonymous(token).then(
      (d) => live && setState({ id: d.id }),
      (e: unknown) => live && setState({ error: errorText(e) }),
    );
    return () => {
      live = false;
    };
  }, [token]);
  return (
    <section class="page">
      <PageTitle text={t('confirm.title')} />
      {state === null ? <p class="loading">{t('common.loading')}</p> : 'id' in state ? <Notice kind="ok">{t('confirm.done', { id: state.id })}</Notice> : <Notice kind="error">{state.error}</Notice>}
      <p>
        <a href={href('/carte')}>{t('nav.backToMap')}</a>
      </p>
    </section>
  );
}
