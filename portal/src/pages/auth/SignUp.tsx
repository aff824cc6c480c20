import { useState } from 'preact/hooks';
import { api } from '../../app/api.js';
import { Field, Form, LiveRegion, Notice, PageTitle, useForm } from '../../app/components.js';
import { t, useLanguage } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import { useSession } from '../../app/session.js';
import { MIN_PASSWORD, validEmail, validPassword } from './validate.js';

/** Sign-up: the server answers the same whether the e-mail exists or not, and so does this screen. */
export default function SignUp() {
  const s = useSession();
  const lang = useLanguage();
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [sent, setSent] = useState(false);
  const form = useForm();

  const submit = () =>
    void form.run(
      async () => {
        await api.signup({ email: email.trim(), password, displayName: displayName.trim(), language: lang });
        setSent(true);
      },
      {
        ...(validEmail(email) ? {} : { email: t('form.emailInvalid') }),
        ...(displayName.trim() ? {} : { displayName: t('form.required') }),
        ...(validPassword(password) ? {} : { password: t('form.passwordTooShort', { min: MIN_PASSWORD }) }),
        ...(confirm === password ? {} : { confirm: t('form.passwordsDiffer') }),
      },
    );

  return (
    <section class="page narrow">
      <PageTitle text={t('auth.signUpTitle')} />
      {s.loaded && s.available && !s.signup ? <Notice kind="info">{t('auth.signupClosed')}</Notice> : null}
      {sent ? (
        <Notice kind="ok">{t('auth.signUpSent', { email: email.trim() })}</Notice>
      ) : (
        <Form onSubmit={submit} label={t('auth.signUpTitle')}>
          <Field label={t('form.email')} name="email" type="email" autocomplete="email" required value={email} onInput={setEmail} error={form.fieldError('email')} />
          <Field label={t('form.displayName')} name="displayName" autocomplete="name" required value={displayName} onInput={setDisplayName} error={form.fieldError('displayName')} />
          <Field
            label={t('form.password')}
            name="password"
            type="password"
            autocomplete="new-password"
            required
            minLength={MIN_PASSWORD}
            hint={t('form.passwordHint', { min: MIN_PASSWORD })}
            value={password}
            onInput={setPassword}
            error={form.fieldError('password')}
          />
          <Field label={t('form.passwordConfirm')} name="confirm" type="password" autocomplete="new-password" required value={confirm} onInput={setConfirm} error={form.fieldError('confirm')} />
          <LiveRegion message={form.message} />
          <button type="submit" class="primary" disabled={form.busy}>
            {t('auth.signUpButton')}
          </button>
        </Form>
      )}
      <p>
        <a href={href('/connexion')}>{t('auth.haveAccount')}</a>
      </p>
    </section>
  );
}
