import { useState } from 'preact/hooks';
import { api } from '../../app/api.js';
import { Field, Form, LiveRegion, Notice, PageTitle, useForm } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import { validEmail } from './validate.js';

/** Asks for a reset link; the answer never says whether the e-mail has an account. */
export default function Forgot() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const form = useForm();
  const submit = () =>
    void form.run(
      async () => {
        await api.forgotPassword(email.trim());
        setSent(true);
      },
      validEmail(email) ? {} : { email: t('form.emailInvalid') },
    );
  return (
    <section class="page narrow">
      <PageTitle text={t('auth.forgotTitle')} />
      {sent ? (
        <Notice kind="ok">{t('auth.forgotSent')}</Notice>
      ) : (
        <Form onSubmit={submit} label={t('auth.forgotTitle')}>
          <p>{t('auth.forgotIntro')}</p>
          <Field label={t('form.email')} name="email" type="email" autocomplete="email" required value={email} onInput={setEmail} error={form.fieldError('email')} />
          <LiveRegion message={form.message} />
          <button type="submit" class="primary" disabled={form.busy}>
            {t('auth.forgotButton')}
          </button>
        </Form>
      )}
      <p>
        <a href={href('/connexion')}>{t('auth.backToSignIn')}</a>
      </p>
    </section>
  );
}
