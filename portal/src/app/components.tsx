import type { ComponentChildren, TargetedEvent } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { errorText, t } from './i18n.js';
import { hasNavigated, href } from './router.js';
import { useSession } from './session.js';

/**
 * Shared pieces of every screen: fields with their label and their error next to them, a form
 * that shows its failure in an alert, a status line read by screen readers, loading and empty
 * states, a two-step confirmation for what cannot be undone.
 */

export interface FieldProps {
  label: string;
  name: string;
  value: string;
  onInput: (value: string) => void;
  type?: 'text' | 'email' | 'password' | 'date' | 'search' | 'number';
  error?: string | undefined;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  minLength?: number;
  disabled?: boolean;
  placeholder?: string;
}

export function Field(p: FieldProps) {
  const id = useId();
  const describedBy = [p.hint ? `${id}-hint` : '', p.error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${p.error ? ' invalid' : ''}${p.required ? ' required' : ''}`}>
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        // (one type at a time for Preact's typings, which narrow other attributes by input type)
        type={(p.type ?? 'text') as 'text'}
        value={p.value}
        required={p.required}
        autocomplete={p.autocomplete}
        minLength={p.minLength}
        disabled={p.disabled}
        placeholder={p.placeholder}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={describedBy}
        onInput={(e) => p.onInput((e.currentTarget as HTMLInputElement).value)}
      />
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
      {p.error ? <p class="field-error" id={`${id}-error`}>{p.error}</p> : null}
    </div>
  );
}

export function Select<T extends string>(p: { label: string; name: string; value: T; options: ReadonlyArray<{ value: T; label: string }>; onChange: (v: T) => void; error?: string | undefined }) {
  const id = useId();
  return (
    <div class={`field${p.error ? ' invalid' : ''}`}>
      <label for={id}>{p.label}</label>
      <select id={id} name={p.name} value={p.value} aria-invalid={p.error ? 'true' : undefined} aria-describedby={p.error ? `${id}-error` : undefined} onChange={(e) => p.onChange((e.currentTarget as HTMLSelectElement).value as T)}>
        {p.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {p.error ? <p class="field-error" id={`${id}-error`}>{p.error}</p> : null}
    </div>
  );
}

export function Checkbox(p: { label: string; name: string; checked: boolean; onChange: (v: boolean) => void; value?: string }) {
  return (
    <label class="checkbox">
      <input type="checkbox" name={p.name} value={p.value} checked={p.checked} onChange={(e) => p.onChange((e.currentTarget as HTMLInputElement).checked)} /> {p.label}
    </label>
  );
}

/** A multi-line field (GeoJSON, charters) with its label, hint and error. */
export function TextArea(p: { label: string; name: string; value: string; onInput: (v: string) => void; hint?: string; error?: string | undefined; rows?: number }) {
  const id = useId();
  const describedBy = [p.hint ? `${id}-hint` : '', p.error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${p.error ? ' invalid' : ''}`}>
      <label for={id}>{p.label}</label>
      <textarea id={id} name={p.name} rows={p.rows ?? 4} value={p.value} aria-invalid={p.error ? 'true' : undefined} aria-describedby={describedBy} onInput={(e) => p.onInput((e.currentTarget as HTMLTextAreaElement).value)} />
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
      {p.error ? <p class="field-error" id={`${id}-error`}>{p.error}</p> : null}
    </div>
  );
}

/** Messages for screen readers: `polite` news (saved, sent) or an `alert` (failed). */
export function Notice({ kind, children }: { kind: 'ok' | 'error' | 'info'; children: ComponentChildren }) {
  return (
    <div class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** Where a screen's news goes: always in the page (aria-live regions must exist before they speak). */
export function LiveRegion({ message }: { message: { kind: 'ok' | 'error' | 'info'; text: string } | null }) {
  return (
    <div class="live" aria-live="polite">
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
    </div>
  );
}

export type Message = { kind: 'ok' | 'error' | 'info'; text: string } | null;

/**
 * A form: runs `onSubmit`, shows a failure in French above the button and gives the server's
 * per-field errors to the fields (`fieldError(name)`).
 */
export function useForm() {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const run = useCallback(async (action: () => Promise<string | void>, local: Record<string, string> = {}) => {
    setFields(local);
    if (Object.keys(local).length) {
      setMessage({ kind: 'error', text: t('form.fixErrors') });
      return false;
    }
    setBusy(true);
    setMessage(null);
    try {
      const ok = await action();
      if (ok) setMessage({ kind: 'ok', text: ok });
      return true;
    } catch (e) {
      if (e instanceof ApiError && Object.keys(e.fields).length) {
        setFields(Object.fromEntries(Object.keys(e.fields).map((k) => [k, t('form.invalidValue')])));
      }
      setMessage({ kind: 'error', text: errorText(e) });
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, message, setMessage, fieldError: (name: string) => fields[name], run };
}

export function Form(p: { onSubmit: () => void; children: ComponentChildren; label?: string; class?: string }) {
  return (
    <form
      class={p.class ?? 'form'}
      aria-label={p.label}
      noValidate
      onSubmit={(e: TargetedEvent<HTMLFormElement>) => {
        e.preventDefault();
        const form = e.currentTarget;
        p.onSubmit();
        // A refused form: the keyboard goes to the first field to fix.
        setTimeout(() => form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(), 0);
      }}
    >
      {p.children}
    </form>
  );
}

/** Loads data for a screen; `reload()` after a change. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [tick, ...deps]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

/** Loading, failed, empty or the content. */
export function Loaded<T>(p: { state: { data: T | undefined; error: unknown; loading: boolean }; empty?: (d: T) => boolean; emptyText?: string; children: (d: T) => ComponentChildren }) {
  if (p.state.error !== undefined) return <Notice kind="error">{errorText(p.state.error)}</Notice>;
  if (p.state.data === undefined) return <p class="loading">{t('common.loading')}</p>;
  if (p.empty?.(p.state.data)) return <p class="empty">{p.emptyText ?? t('common.empty')}</p>;
  return <>{p.children(p.state.data)}</>;
}

/** A button that asks once more before doing what cannot be undone. */
export function ConfirmButton(p: { label: string; confirm: string; onConfirm: () => void; disabled?: boolean }) {
  const [asking, setAsking] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);
  useEffect(() => {
    // The keyboard goes to "Oui" when asked, back to the button when the user says no.
    if (asking) yes.current?.focus();
    else if (wasAsking.current) trigger.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  if (!asking)
    return (
      <button type="button" class="danger" ref={trigger} disabled={p.disabled} onClick={() => setAsking(true)}>
        {p.label}
      </button>
    );
  return (
    <span class="confirm" role="group" aria-label={p.confirm}>
      <span>{p.confirm}</span>{' '}
      <button
        type="button"
        class="danger"
        ref={yes}
        onClick={() => {
          setAsking(false);
          p.onConfirm();
        }}
      >
        {t('common.yes')}
      </button>{' '}
      <button type="button" onClick={() => setAsking(false)}>
        {t('common.no')}
      </button>
    </span>
  );
}

/**
 * The page's title: the one h1 of the screen, and the tab's title. After a navigation it takes the
 * focus, so that screen readers announce the new screen (not on the first screen of a visit).
 */
export function PageTitle({ children, text }: { children?: ComponentChildren; text: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${text} — PCRS`;
  }, [text]);
  useEffect(() => {
    if (hasNavigated()) ref.current?.focus();
  }, []);
  return (
    <h1 class="page-title" tabIndex={-1} ref={ref}>
      {children ?? text}
    </h1>
  );
}

/** Screens for signed-in users only: others get a link to sign in and come back. */
export function RequireSignIn({ children, admin, returnTo }: { children: ComponentChildren; admin?: (user: NonNullable<ReturnType<typeof useSession>['user']>) => boolean; returnTo: string }) {
  const s = useSession();
  if (!s.loaded) return <p class="loading">{t('common.loading')}</p>;
  if (!s.available) return <Notice kind="info">{t('account.unavailable')}</Notice>;
  if (!s.user)
    return (
      <Notice kind="info">
        {t('auth.needSignIn')} <a href={href('/connexion', { retour: returnTo })}>{t('nav.signIn')}</a>
      </Notice>
    );
  if (admin && !admin(s.user)) return <Notice kind="error">{t('error.forbidden')}</Notice>;
  return <>{children}</>;
}
