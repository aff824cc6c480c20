import { ApiError, type Language } from './api.js';
import { MESSAGES, type MessageKey } from './messages.js';
import { createStore, useStore } from './store.js';

/**
 * Language: French whatever the browser says (the platform's users are French; DESIGN §2),
 * English one click away in the header and remembered in localStorage. Every string a screen
 * shows comes from the one catalogue, messages.ts, through `t`.
 */
export const LANGUAGES: readonly Language[] = ['fr', 'en'];
const STORAGE_KEY = 'pcrs.lang';

/** The language to start in: the one the user chose before, else French. */
export function initialLanguage(stored: string | null): Language {
  return stored === 'en' ? 'en' : 'fr';
}

function stored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export const language$ = createStore<Language>(typeof localStorage === 'undefined' ? 'fr' : initialLanguage(stored()));

export function setLanguage(lang: Language): void {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // private mode: the choice lasts for the page
  }
  if (typeof document !== 'undefined') document.documentElement.lang = lang;
  language$.set(lang);
}

/** The catalogue's text for a key, `{name}` placeholders filled. */
export function t(key: MessageKey, params: Record<string, string | number> = {}, lang: Language = language$.get()): string {
  const text: string = MESSAGES[lang][key];
  return text.replace(/\{(\w+)\}/g, (all, name: string) => (name in params ? String(params[name]) : all));
}

export const useLanguage = (): Language => useStore(language$);

export function formatDate(iso: string | null | undefined, withTime = false): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(language$.get() === 'fr' ? 'fr-FR' : 'en-GB', withTime ? { dateStyle: 'short', timeStyle: 'short' } : { dateStyle: 'medium' }).format(d);
}

const ERROR_KEYS: Record<string, MessageKey> = {
  network: 'error.network',
  'invalid-credentials': 'error.invalidCredentials',
  locked: 'error.locked',
  unauthenticated: 'error.unauthenticated',
  forbidden: 'error.forbidden',
  'missing-scope': 'error.missingScope',
  'bad-amount': 'error.badAmount',
  'bad-key': 'error.badKey',
  'bad-entry': 'error.badEntry',
  'csrf-failed': 'error.csrf',
  'invalid-csrf-token': 'error.csrf',
  'invalid-token': 'error.invalidToken',
  'token-expired': 'error.invalidToken',
  'expired-token': 'error.invalidToken',
  'weak-password': 'error.weakPassword',
  'wrong-password': 'error.wrongPassword',
  'signup-closed': 'error.signupClosed',
  'email-not-verified': 'error.emailNotVerified',
  'already-member': 'error.alreadyMember',
  'already-exists': 'error.alreadyExists',
  conflict: 'error.alreadyExists',
  'outside-perimeter': 'error.outsidePerimeter',
  'permission-expired': 'error.permissionExpired',
  'invalid-parameter': 'error.invalidInput',
  'invalid-request': 'error.invalidInput',
  'not-found': 'error.notFound',
  'rate-limited': 'error.rateLimited',
  'account-disabled': 'error.accountDisabled',
  'last-platform-admin': 'error.lastPlatformAdmin',
  'user-exists': 'error.alreadyExists',
  'unknown-user': 'error.unknownUser',
  'no-pending-request': 'error.noPendingRequest',
  'invalid-area': 'error.invalidArea',
  'invalid-perimeter': 'error.invalidArea',
  'unreadable-perimeter': 'error.invalidArea',
  'not-a-member': 'error.notAMember',
  'no-permission': 'error.noPermission',
  'invalid-cidr': 'error.invalidCidr',
  'ip-not-allowed': 'error.forbidden',
  'referer-not-allowed': 'error.forbidden',
  'unknown-dataset': 'error.notFound',
  'unknown-version': 'error.notFound',
  'unknown-organisation': 'error.notFound',
  'unknown-key': 'error.notFound',
  'unknown-permission': 'error.notFound',
  'oidc-state': 'auth.oidcFailed',
  'oidc-failed': 'auth.oidcFailed',
  'oidc-unavailable': 'auth.oidcFailed',
  'oidc-no-email': 'auth.oidcFailed',
  'oidc-conflict': 'error.oidcConflict',
  'invalid-geometry': 'error.invalidGeometry',
  'outside-territory': 'error.outsideTerritory',
  'invalid-dates': 'error.invalidDates',
  'invalid-works': 'error.invalidInput',
  'unknown-layer': 'error.unknownLayer',
  'invalid-transition': 'error.invalidTransition',
  'reason-required': 'error.reasonRequired',
  'duplicate-of-required': 'error.duplicateOf',
  'invalid-duplicate-of': 'error.duplicateOf',
  'anonymous-declarations-off': 'error.anonymousOff',
  'invalid-period': 'error.invalidPeriod',
  'invalid-confirmation-token': 'error.invalidToken',
  'confirmation-expired': 'error.invalidToken',
  'file-too-large': 'error.fileTooLarge',
  'payload-too-large': 'error.fileTooLarge',
  'unsupported-type': 'error.fileType',
  'unsupported-media-type': 'error.fileType',
  // extracts, area files, licences (issue 13)
  'quota-exceeded': 'error.quotaExceeded',
  'area-too-large': 'error.areaTooLarge',
  'area-too-complex': 'error.areaTooComplex',
  'empty-area': 'error.emptyArea',
  'not-a-polygon': 'error.notAPolygon',
  'unsafe-xml': 'error.unsafeXml',
  'no-crs': 'error.noCrs',
  'unsupported-crs': 'error.noCrs',
  'unreadable-area': 'error.unreadableArea',
  'unreadable-area-file': 'error.unreadableArea',
  'unsupported-area-file': 'error.unreadableArea',
  'area-file-too-large': 'error.fileTooLarge',
  'no-outline': 'error.noOutline',
  'no-dalle': 'error.noDalle',
  'no-perimeter': 'error.noPerimeter',
  'unknown-commune': 'error.notFound',
  'unknown-epci': 'error.notFound',
  'unknown-declaration': 'error.unknownDeclaration',
  'charter-not-accepted': 'error.charterNotAccepted',
  'licence-version-changed': 'licence.changed',
  expired: 'error.extractExpired',
  'not-ready': 'error.extractNotReady',
  'invalid-file-name': 'error.invalidInput',
  'contribution-closed': 'error.invalidTransition',
};

const STATUS_KEYS: Record<number, MessageKey> = {
  400: 'error.invalidInput',
  401: 'error.unauthenticated',
  403: 'error.forbidden',
  404: 'error.notFound',
  409: 'error.alreadyExists',
  413: 'error.fileTooLarge',
  415: 'error.fileType',
  429: 'error.rateLimited',
};

/**
 * A failure in the user's language: the problem's code (or, failing that, its status) picks the
 * catalogue's sentence; the server's own detail (English, for developers) is not shown to users.
 */
export function errorText(e: unknown): string {
  if (!(e instanceof ApiError)) return t('error.unexpected');
  const key = ERROR_KEYS[e.code] ?? STATUS_KEYS[e.status] ?? (e.status >= 500 ? 'error.server' : 'error.unexpected');
  // Sizes the server measured (an extract's gigabytes, an area's km²): its numbers, our sentence.
  const [size = '?', limit = '?'] = (e.detail.match(/\d+(?:\.\d+)?(?= (?:GB|km²))/g) ?? []).map((n) => n.replace('.', language$.get() === 'fr' ? ',' : '.'));
  const text = t(key, { minutes: e.retryAfter ? Math.max(1, Math.ceil(e.retryAfter / 60)) : 15, size, limit });
  return e.code === 'missing-scope' || e.code === 'outside-perimeter' || e.code === 'permission-expired' ? `${text} (${e.detail})` : text;
}

/** A version's status (ingesting, published, withdrawn) in the user's language; an unknown one as the server says it. */
export function versionStatusText(status: string): string {
  const key = `versionStatus.${status}`;
  return key in MESSAGES.fr ? t(key as MessageKey) : status;
}

/** Bytes in the user's units (Mo, Go: decimal, as the server's quota says them). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const fr = language$.get() === 'fr';
  const unit = fr ? ['o', 'ko', 'Mo', 'Go', 'To'] : ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < unit.length - 1) {
    v /= 1000;
    i++;
  }
  const text = i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  return `${fr ? text.replace('.', ',') : text} ${unit[i]}`;
}
