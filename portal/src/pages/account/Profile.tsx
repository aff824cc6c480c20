import { useState } from 'preact/hooks';
import { api, type Language } from '../../app/api.js';
import { ConfirmButton, Field, Form, LiveRegion, PageTitle, Select, useForm } from '../../app/components.js';
import { setLanguage, t } from '../../app/i18n.js';
import { href, navigate } from '../../app/router.js';
import { refreshSession, setSignedIn, useSession } from '../../app/session.js';
import { MIN_PASSWORD, validPassword } from '../auth/validate.js';
import { roleLabel, statusLabel } from './labels.js';

/** The profile: name, language of the e-mails and of the portal, password, sign-out (here or everywhere). */
export default function Profile() {
  const { user } = useSession();
  const [displayName, setDisplayName] = useState(user?.displayName ?? '');
  const [language, setLang] = useState<Language>(user?.language ?? 'fr');
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const profile = useForm();
  const password = useForm();
  const signout = useForm();
  if (!user) return null;

  const saveProfile = () =>
    void profile.run(
      async () => {
        await api.updateMe({ displayName: displayName.trim(), language });
        await refreshSession();
        setLanguage(language);
        return t('account.saved');
      },
      displayName.trim() ? {} : { displayName: t('form.required') },
    );

  const changePassword = () =>
    void password.run(
      async () => {
        await api.updateMe({ password: { current, new: next } });
        setCurrent('');
        setNext('');
        setConfirm('');
        return t('account.passwordChanged');
      },
      {
        ...(current ? {} : { current: t('form.required') }),
        ...(validPassword(next) ? {} : { new: t('form.passwordTooShort', { min: MIN_PASSWORD }) }),
        ...(confirm === next ? {} : { confirm: t('form.passwordsDiffer') }),
      },
    );

  const signOut = (everywhere: boolean) =>
    void signout.run(async () => {
      await api.signout(everywhere);
      setSignedIn(null);
      navigate('/connexion');
    });

  return (
    <section class="page narrow">
      <PageTitle text={t('account.profileTitle')} />
      <dl class="facts">
        <dt>{t('form.email')}</dt>
        <dd>{user.email}</dd>
        <dt>{t('account.roles')}</dt>
        <dd>{user.roles.length ? user.roles.map(roleLabel).join(', ') : t('account.noRole')}</dd>
        <dt>{t('account.organisations')}</dt>
        <dd>
          {user.organisations.length ? user.organisations.map((o) => `${o.name} (${roleLabel(o.role)}, ${statusLabel(o.status)})`).join(' ; ') : t('account.noOrganisation')}{' '}
          <a href={href('/compte/organisations')}>{t('orgs.manage')}</a>
        </dd>
      </dl>

      <h2>{t('account.identity')}</h2>
      <Form onSubmit={saveProfile} label={t('account.identity')}>
        <Field label={t('form.displayName')} name="displayName" required value={displayName} onInput={setDisplayName} error={profile.fieldError('displayName')} />
        <Select<Language>
          label={t('account.language')}
          name="language"
          value={language}
          onChange={setLang}
          options={[
            { value: 'fr', label: 'Français' },
            { value: 'en', label: 'English' },
          ]}
        />
        <LiveRegion message={profile.message} />
        <button type="submit" class="primary" disabled={profile.busy}>
          {t('common.save')}
        </button>
      </Form>

      <h2>{t('account.passwordTitle')}</h2>
      <Form onSubmit={changePassword} label={t('account.passwordTitle')}>
        <Field label={t('form.currentPassword')} name="current" type="password" autocomplete="current-password" required value={current} onInput={setCurrent} error={password.fieldError('current')} />
        <Field
          label={t('form.newPassword')}
          name="new"
          type="password"
          autocomplete="new-password"
          required
          hint={t('form.passwordHint', { min: MIN_PASSWORD })}
          value={next}
          onInput={setNext}
          error={password.fieldError('new') ?? password.fieldError('password')}
        />
        <Field label={t('form.passwordConfirm')} name="confirm" type="password" autocomplete="new-password" required value={confirm} onInput={setConfirm} error={password.fieldError('confirm')} />
        <LiveRegion message={password.message} />
        <button type="submit" class="primary" disabled={password.busy}>
          {t('account.changePassword')}
        </button>
      </Form>

      <h2>{t('account.sessionsTitle')}</h2>
      <p>{t('account.sessionsHint')}</p>
      <p class="actions">
        <button type="button" onClick={() => signOut(false)} disabled={signout.busy}>
          {t('nav.signOut')}
        </button>{' '}
        <ConfirmButton label={t('account.signOutEverywhere')} confirm={t('account.signOutEverywhereConfirm')} onConfirm={() => signOut(true)} />
      </p>
      <LiveRegion message={signout.message} />
    </section>
  );
}
