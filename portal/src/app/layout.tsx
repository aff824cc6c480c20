import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, getJson, type Health } from './api.js';
import { LANGUAGES, setLanguage, t, useLanguage } from './i18n.js';
import { href, navigate, useLocation } from './router.js';
import { canAdminister, isModerator, setSignedIn, useSession } from './session.js';

/** The header of every screen: the platform and its territory, the navigation, who is signed in, FR/EN. */
export function Layout({ children }: { children: ComponentChildren }) {
  const lang = useLanguage();
  const s = useSession();
  const { path } = useLocation();
  const [territory, setTerritory] = useState<Health['territory'] | null>(null);
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => {
    getJson<Health>('/health').then((h) => setTerritory(h.territory), () => undefined);
  }, []);
  useEffect(() => setMenuOpen(false), [path]);

  const link = (to: string, label: string, exact = false) => {
    const current = exact ? path === to : path === to || path.startsWith(`${to}/`);
    return (
      <li>
        <a href={href(to)} aria-current={current ? 'page' : undefined}>
          {label}
        </a>
      </li>
    );
  };

  async function signOut() {
    try {
      await api.signout();
    } finally {
      setSignedIn(null);
      navigate('/connexion');
    }
  }

  return (
    <>
      <a class="skip" href="#contenu" onClick={(e) => { e.preventDefault(); document.getElementById('contenu')?.focus(); }}>
        {t('nav.skip')}
      </a>
      <header class="top">
        <p class="brand">
          <a href={href('/carte')}>PCRS</a>
          {territory ? <span class="territory"> — {territory.name} ({territory.code})</span> : null}
          <span class="tagline">{t('common.tagline')}</span>
        </p>
        <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="nav-main" onClick={() => setMenuOpen(!menuOpen)}>
          {t('nav.menu')}
        </button>
        <nav id="nav-main" aria-label={t('nav.main')} class={menuOpen ? 'open' : ''}>
          <ul>
            {link('/carte', t('nav.map'))}
            {link('/campagnes', t('nav.campaigns'))}
            {s.user ? (
              <>
                {link('/declarations', t('nav.declarations'), true)}
                {isModerator(s.user) ? link('/triage', t('nav.triage')) : null}
                {link('/declarations/stats', t('nav.stats'))}
                {link('/statistiques', t('nav.usage'))}
                {link('/extraits', t('nav.extracts'))}
                {link('/contributions', t('nav.contributions'))}
                {link('/compte', t('nav.profile'), true)}
                {link('/compte/cles', t('nav.keys'))}
                {link('/compte/organisations', t('nav.organisations'))}
                {canAdminister(s.user) ? link('/financement', t('nav.financing')) : null}
                {canAdminister(s.user) ? link('/admin', t('nav.admin')) : null}
              </>
            ) : null}
          </ul>
        </nav>
        <div class="user">
          {s.user ? (
            <>
              <span class="whoami">{t('nav.signedInAs', { name: s.user.displayName })}</span>{' '}
              <button type="button" class="link" onClick={() => void signOut()}>
                {t('nav.signOut')}
              </button>
            </>
          ) : s.available ? (
            <>
              <a href={href('/connexion')}>{t('nav.signIn')}</a>
              {s.signup ? (
                <>
                  {' · '}
                  <a href={href('/inscription')}>{t('nav.signUp')}</a>
                </>
              ) : null}
            </>
          ) : null}
        </div>
        <div class="lang" role="group" aria-label={t('nav.language')}>
          {LANGUAGES.map((l) => (
            <button key={l} type="button" lang={l} aria-pressed={lang === l} onClick={() => setLanguage(l)} title={l === 'fr' ? 'Français' : 'English'}>
              {l.toUpperCase()}
            </button>
          ))}
        </div>
      </header>
      <main id="contenu" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
