import { useEffect, useState } from 'preact/hooks';
import { PageTitle, RequireSignIn } from './components.js';
import { t, useLanguage } from './i18n.js';
import { Layout } from './layout.js';
import { href, matchPath, useLocation } from './router.js';
import { allowed, ROUTES, type RouteDef, type Screen } from './routes.js';

const loaded = new Map<RouteDef, Screen>();

/** Loads a screen's chunk once, shows "loading" meanwhile, and a message if the chunk fails. */
function Page({ route, params, query }: { route: RouteDef; params: Record<string, string>; query: URLSearchParams }) {
  const [screen, setScreen] = useState<Screen | undefined>(() => loaded.get(route));
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const known = loaded.get(route);
    setScreen(() => known);
    setFailed(false);
    if (known) return;
    let live = true;
    route.load().then(
      (m) => {
        loaded.set(route, m.default);
        if (live) setScreen(() => m.default);
      },
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [route]);
  if (failed) return <p role="alert">{t('error.chunk')}</p>;
  if (!screen) return <p class="loading">{t('common.loading')}</p>;
  const S = screen;
  return <S params={params} query={query} />;
}

function NotFound() {
  return (
    <section class="page">
      <PageTitle text={t('error.pageNotFound')} />
      <p>
        <a href={href('/carte')}>{t('nav.backToMap')}</a>
      </p>
    </section>
  );
}

export function App() {
  useLanguage(); // a language change re-renders every screen
  const loc = useLocation();
  let route: RouteDef | undefined;
  let params: Record<string, string> = {};
  for (const r of ROUTES) {
    const m = matchPath(r.path, loc.path);
    if (m) {
      route = r;
      params = m;
      break;
    }
  }

  let content;
  if (!route) content = <NotFound />;
  else if (!route.access) content = <Page key={route.path} route={route} params={params} query={loc.query} />;
  else {
    const r = route;
    content = (
      <RequireSignIn
        returnTo={loc.path}
        admin={r.access === 'signedIn' ? undefined : (u) => allowed(r, u)}
      >
        <Page key={r.path} route={r} params={params} query={loc.query} />
      </RequireSignIn>
    );
  }
  return <Layout>{content}</Layout>;
}
