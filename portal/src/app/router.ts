import { createStore, useStore } from './store.js';

/**
 * The portal's hash router: `#/carte`, `#/compte/cles`, `#/verifier?token=…`. A hash keeps the
 * server simple (one static index.html, no rewrite rules) and lets links from e-mails and
 * permalinks land on any screen. The route table is in routes.ts; this file only parses and
 * navigates.
 */
export interface Location {
  /** Path without the leading '#', always starting with '/': '/compte/cles'. */
  path: string;
  query: URLSearchParams;
}

export const HOME = '/carte';

/**
 * Parses a location hash. Empty → the map. The map's former view hash `#x,y,zoom` (links shared
 * before the router) → `/carte?vue=x,y,zoom`.
 */
export function parseHash(hash: string): Location {
  const h = hash.replace(/^#/, '');
  if (/^\d+(?:\.\d+)?,\d+(?:\.\d+)?,\d+(?:\.\d+)?$/.test(h)) return { path: HOME, query: new URLSearchParams({ vue: h }) };
  if (h === '' || h === '/') return { path: HOME, query: new URLSearchParams() };
  const q = h.indexOf('?');
  const rawPath = q < 0 ? h : h.slice(0, q);
  const rawQuery = q < 0 ? '' : h.slice(q + 1);
  let path = rawPath.startsWith('/') ? rawPath : `/${rawPath}`;
  if (path.length > 1) path = path.replace(/\/+$/, '');
  return { path: decodeURI(path), query: new URLSearchParams(rawQuery) };
}

/** A hash for a path and query: `href('/verifier', { token })` → `#/verifier?token=…`. */
export function href(path: string, query: Record<string, string | undefined> = {}): string {
  // Commas and slashes stay readable (`vue=575100.0,6373700.0,19`, `retour=/compte/cles`).
  const enc = (v: string) => encodeURIComponent(v).replace(/%2C/g, ',').replace(/%2F/g, '/');
  const s = Object.entries(query)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join('&');
  return `#${path}${s ? `?${s}` : ''}`;
}

/** Matches a path against a pattern with `:name` segments; the parameters, or null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i] as string;
    const got = s[i] as string;
    if (want.startsWith(':')) {
      if (!got) return null;
      params[want.slice(1)] = decodeURIComponent(got);
    } else if (want !== got) return null;
  }
  return params;
}

export const location$ = createStore<Location>(parseHash(typeof location === 'undefined' ? '' : location.hash));

let navigations = 0;
/** Whether the user has moved from the first screen (then a new screen's title takes the focus). */
export const hasNavigated = (): boolean => navigations > 0;

/** Starts following the address bar (once, at start-up). */
export function startRouter(): void {
  const update = () => {
    const next = parseHash(location.hash);
    if (next.path !== location$.get().path) navigations++;
    location$.set(next);
  };
  window.addEventListener('hashchange', update);
  update();
}

export function navigate(path: string, query: Record<string, string | undefined> = {}, options: { replace?: boolean } = {}): void {
  const target = href(path, query);
  if (path !== location$.get().path) navigations++;
  if (options.replace) {
    history.replaceState(null, '', target);
    location$.set(parseHash(target));
  } else if (location.hash === target) {
    location$.set(parseHash(target));
  } else {
    location.hash = target;
  }
}

/**
 * Replaces the query of the current address without a new screen (the map's view follows the
 * map this way: no history entry per pan, no re-render).
 */
export function replaceQuery(query: Record<string, string | undefined>): void {
  history.replaceState(null, '', href(location$.get().path, query));
}

export const useLocation = (): Location => useStore(location$);
