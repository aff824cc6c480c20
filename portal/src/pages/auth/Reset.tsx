import { useState } from 'preact/hooks';
import { api } from '../../app/api.js';
import { Field, Form, LiveRegion, Notice, PageTitle, useForm } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';
import { MIN_PASSWORD, validPassword } from './validate.js';

/** Where the reset e-mail's link lands: `#/reinitialiser?token=…`. */
export default function Reset({ query }: ScreenProps) {
  const token = query.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [done, setDone] = useState(false);
  const form = useForm();
  const submit = () =>
    void form.run(
      async () => {
        await api.resetPassword(token, password);
        setDone(true);
      },
      {
        ...(validPassword(password) ? {} : { password: t('form.passwordTooShort', { min: MIN_PASSWORD }) }),
        ...(confirm === password ? {} : { confirm: t('form.passwordsDiffer') }),
      },
    );
  return (
    <section class="page narrow">
      <PageTitle text={t('auth.resetTitle')} />
      {!token ? (
        <Notice kind="info">
          {t('auth.resetNoToken')} <a href={href('/mot-de-passe-oublie')}>{t('auth.forgotButton')}</a>
        </Notice>
      ) : done ? (
        <>
          <Notice kind="ok">{t('auth.resetDone')}</Notice>
          <p>
            <a class="button primary" href={href('/connexion')}>
              {t('auth.signInButton')}
            </a>
          </p>
        </>
      ) : (
        <Form onSubmit={submit} label={t('auth.resetTitle')}>
          <Field
            label={t('form.newPassword')}
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
            {t('auth.resetButton')}
          </button>
        </Form>
      )}
    </section>
  );
}
