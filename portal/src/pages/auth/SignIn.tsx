import { useState } from 'preact/hooks';
import { api, ApiError } from '../../app/api.js';
import { Field, Form, LiveRegion, Notice, PageTitle, useForm } from '../../app/components.js';
import { errorText, setLanguage, t } from '../../app/i18n.js';
import { href, navigate } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';
import { setSignedIn, useSession } from '../../app/session.js';
import { validEmail } from './validate.js';

/** Sign-in with e-mail and password, or with the platform's OpenID provider when one is configured. */
export default function SignIn({ query }: ScreenProps) {
  const s = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const form = useForm();
  const back = query.get('retour');
  const target = back && back.startsWith('/') && !back.startsWith('//') ? back : '/compte';

  const submit = () =>
    void form.run(
      async () => {
        const { user } = await api.signin(email.trim(), password);
        setSignedIn(user);
        if (user.language) setLanguage(user.language);
        navigate(target);
      },
      {
        ...(validEmail(email) ? {} : { email: t('form.emailInvalid') }),
        ...(password ? {} : { password: t('form.required') }),
      },
    );

  return (
    <section class="page narrow">
      <PageTitle text={t('auth.signInTitle')} />
      {s.user ? (
        <p>
          {t('auth.alreadySignedIn', { name: s.user.displayName })} <a href={href('/compte')}>{t('nav.profile')}</a>
        </p>
      ) : null}
      {/* The OpenID callback comes back here with ?erreur=<code> when the sign-in failed. */}
      {query.get('erreur') ? <Notice kind="error">{errorText(new ApiError(400, query.get('erreur') as string, ''))}</Notice> : null}
      {s.oidc ? (
        <p>
          <a class="button oidc" href={api.oidcStartUrl()}>
            {t('auth.signInWith', { label: s.oidc.label })}
          </a>
        </p>
      ) : null}
      {s.oidc ? <p class="or">{t('auth.orWithPassword')}</p> : null}
      <Form onSubmit={submit} label={t('auth.signInTitle')}>
        <Field label={t('form.email')} name="email" type="email" autocomplete="username" required value={email} onInput={setEmail} error={form.fieldError('email')} />
        <Field label={t('form.password')} name="password" type="password" autocomplete="current-password" required value={password} onInput={setPassword} error={form.fieldError('password')} />
        <LiveRegion message={form.message} />
        <button type="submit" class="primary" disabled={form.busy}>
          {t('auth.signInButton')}
        </button>
      </Form>
      <p>
        <a href={href('/mot-de-passe-oublie')}>{t('auth.forgotLink')}</a>
        {s.signup ? (
          <>
            {' · '}
            <a href={href('/inscription')}>{t('auth.noAccount')}</a>
          </>
        ) : null}
      </p>
    </section>
  );
}
