import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { api, SCOPES, type ApiKey, type CreatedKey, type Scope } from '../../app/api.js';
import { Checkbox, ConfirmButton, Field, Form, LiveRegion, Loaded, PageTitle, Select, useForm, useLoad, type Message } from '../../app/components.js';
import { errorText, formatDate, t } from '../../app/i18n.js';
import { forgetKeyByPrefix, rememberKey } from '../../app/remembered-keys.js';
import { useSession } from '../../app/session.js';
import { scopeLabel } from './labels.js';

const lines = (s: string): string[] => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

/**
 * My API keys: create (name, scopes, optional expiry, organisation, IP ranges, referers), see the
 * key once with a copy button, list, rename, revoke (after a confirmation).
 */
export default function Keys() {
  const { user } = useSession();
  const keys = useLoad(() => api.myKeys());
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [news, setNews] = useState<Message>(null);
  const orgs = (user?.organisations ?? []).filter((o) => o.status === 'active');

  return (
    <section class="page">
      <PageTitle text={t('keys.title')} />
      <p>{t('keys.intro')}</p>
      {created ? (
        <ShownOnce key={created.id} created={created} onDone={() => setCreated(null)} />
      ) : (
        <CreateKey
          orgs={orgs}
          onCreated={(k) => {
            setCreated(k);
            keys.reload();
          }}
        />
      )}
      <h2>{t('keys.listTitle')}</h2>
      <LiveRegion message={news} />
      <Loaded state={keys} empty={(d) => d.length === 0} emptyText={t('keys.none')}>
        {(list) => (
          <table class="keys">
            <caption class="visually-hidden">{t('keys.listTitle')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('keys.name')}</th>
                <th scope="col">{t('keys.prefix')}</th>
                <th scope="col">{t('keys.scopes')}</th>
                <th scope="col">{t('keys.expires')}</th>
                <th scope="col">{t('keys.lastUsed')}</th>
                <th scope="col">{t('keys.requests')}</th>
                <th scope="col">{t('keys.state')}</th>
                <th scope="col">{t('common.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <KeyRow
                  key={k.id}
                  k={k}
                  orgName={orgs.find((o) => o.id === k.organisationId)?.name}
                  onChange={(m) => {
                    setNews(m);
                    keys.reload();
                  }}
                />
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}

function CreateKey({ orgs, onCreated }: { orgs: Array<{ slug: string; name: string }>; onCreated: (k: CreatedKey) => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['read']);
  const [expiresAt, setExpiresAt] = useState('');
  const [organisation, setOrganisation] = useState('');
  const [cidrs, setCidrs] = useState('');
  const [referers, setReferers] = useState('');
  const form = useForm();
  const scopesId = useId();
  const today = new Date().toISOString().slice(0, 10);
  const submit = () =>
    void form.run(
      async () => {
        const k = await api.createKey({
          name: name.trim(),
          scopes,
          ...(expiresAt ? { expiresAt } : {}),
          ...(organisation ? { organisation } : {}),
          ...(lines(cidrs).length ? { allowedCidrs: lines(cidrs) } : {}),
          ...(lines(referers).length ? { allowedReferers: lines(referers) } : {}),
        });
        onCreated(k);
      },
      {
        ...(name.trim() ? {} : { name: t('form.required') }),
        ...(scopes.length ? {} : { scopes: t('keys.scopeRequired') }),
        ...(expiresAt && expiresAt <= today ? { expiresAt: t('keys.expiryPast') } : {}),
      },
    );
  return (
    <>
      <h2>{t('keys.createTitle')}</h2>
      <Form onSubmit={submit} label={t('keys.createTitle')}>
        <Field label={t('keys.name')} name="name" required hint={t('keys.nameHint')} value={name} onInput={setName} error={form.fieldError('name')} />
        <fieldset aria-describedby={form.fieldError('scopes') ? `${scopesId}-error` : undefined}>
          <legend>{t('keys.scopes')}</legend>
          {SCOPES.map((s) => (
            <Checkbox key={s} name="scopes" value={s} label={`${s} — ${scopeLabel(s)}`} checked={scopes.includes(s)} onChange={(on) => setScopes(on ? [...scopes, s] : scopes.filter((x) => x !== s))} />
          ))}
          {form.fieldError('scopes') ? (
            <p class="field-error" id={`${scopesId}-error`}>
              {form.fieldError('scopes')}
            </p>
          ) : null}
        </fieldset>
        <Field label={t('keys.expires')} name="expiresAt" type="date" hint={t('keys.expiresHint')} value={expiresAt} onInput={setExpiresAt} error={form.fieldError('expiresAt')} />
        {orgs.length ? (
          <Select
            label={t('keys.organisation')}
            name="organisation"
            value={organisation}
            onChange={setOrganisation}
            error={form.fieldError('organisation')}
            options={[{ value: '', label: t('keys.noOrganisation') }, ...orgs.map((o) => ({ value: o.slug, label: o.name }))]}
          />
        ) : null}
        <details>
          <summary>{t('keys.restrictions')}</summary>
          <Field label={t('keys.cidrs')} name="allowedCidrs" hint={t('keys.cidrsHint')} value={cidrs} onInput={setCidrs} error={form.fieldError('allowedCidrs')} />
          <Field label={t('keys.referers')} name="allowedReferers" hint={t('keys.referersHint')} value={referers} onInput={setReferers} error={form.fieldError('allowedReferers')} />
        </details>
        <LiveRegion message={form.message} />
        <button type="submit" class="primary" disabled={form.busy}>
          {t('keys.create')}
        </button>
      </Form>
    </>
  );
}

/** The new key, once: copy it, optionally keep it in this tab for the stream addresses, then it is gone. */
function ShownOnce({ created, onDone }: { created: CreatedKey; onDone: () => void }) {
  const [copied, setCopied] = useState<Message>(null);
  const [keep, setKeep] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const id = useId();
  useEffect(() => heading.current?.focus(), []);
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied({ kind: 'ok', text: t('keys.copied') });
    } catch {
      input.current?.select();
      setCopied({ kind: 'info', text: t('keys.copyManually') });
    }
  }
  return (
    <section class="shown-once" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} tabIndex={-1} ref={heading}>
        {t('keys.newKeyTitle', { name: created.name })}
      </h2>
      <p class="notice warning">
        <strong>{t('keys.shownOnceWarning')}</strong>
      </p>
      <div class="field">
        <label for={id}>{t('keys.yourKey')}</label>
        <div class="copy-row">
          <input id={id} ref={input} class="key-text" type="text" readOnly value={created.key} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
          <button type="button" class="primary" onClick={() => void copy()}>
            {t('keys.copy')}
          </button>
        </div>
      </div>
      <LiveRegion message={copied} />
      <Checkbox label={t('keys.keepInTab')} name="keep" checked={keep} onChange={setKeep} />
      <p>
        <button
          type="button"
          onClick={() => {
            if (keep) rememberKey({ name: created.name, key: created.key });
            onDone();
          }}
        >
          {t('keys.done')}
        </button>
      </p>
    </section>
  );
}

function KeyRow({ k, orgName, onChange }: { k: ApiKey; orgName: string | undefined; onChange: (m: Message) => void }) {
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(k.name);
  const form = useForm();
  const expired = !!k.expiresAt && new Date(k.expiresAt).getTime() < Date.now();
  const state = k.revokedAt ? t('keys.revokedOn', { date: formatDate(k.revokedAt) }) : expired ? t('keys.expired') : t('keys.active');
  const rename = () =>
    void form.run(
      async () => {
        await api.renameKey(k.id, name.trim());
        setRenaming(false);
        onChange({ kind: 'ok', text: t('keys.renamed', { name: name.trim() }) });
      },
      name.trim() ? {} : { name: t('form.required') },
    );
  async function revoke() {
    try {
      await api.revokeKey(k.id);
      forgetKeyByPrefix(k.prefix);
      onChange({ kind: 'ok', text: t('keys.revoked', { name: k.name }) });
    } catch (e) {
      onChange({ kind: 'error', text: errorText(e) });
    }
  }
  return (
    <tr class={k.revokedAt ? 'revoked' : ''} data-key-id={k.id}>
      <td>
        {renaming ? (
          <Form onSubmit={rename} label={t('keys.rename')} class="inline">
            <Field label={t('keys.newName')} name="name" value={name} onInput={setName} error={form.fieldError('name')} />
            <button type="submit" disabled={form.busy}>
              {t('common.save')}
            </button>{' '}
            <button type="button" onClick={() => setRenaming(false)}>
              {t('common.cancel')}
            </button>
            <LiveRegion message={form.message} />
          </Form>
        ) : (
          <>
            {k.name}
            {orgName ? <span class="sub"> · {orgName}</span> : null}
          </>
        )}
      </td>
      <td>
        <code>pcrs_{k.prefix}_…</code>
      </td>
      <td>{k.scopes.join(', ')}</td>
      <td>{k.expiresAt ? formatDate(k.expiresAt) : t('keys.never')}</td>
      <td>{k.lastUsedAt ? formatDate(k.lastUsedAt, true) : t('keys.neverUsed')}</td>
      <td>{k.requestCount}</td>
      <td>{state}</td>
      <td class="actions">
        {k.revokedAt ? null : (
          <>
            {renaming ? null : (
              <button type="button" onClick={() => setRenaming(true)} aria-label={t('keys.renameNamed', { name: k.name })}>
                {t('keys.rename')}
              </button>
            )}{' '}
            <ConfirmButton label={t('keys.revoke')} confirm={t('keys.revokeConfirm', { name: k.name })} onConfirm={() => void revoke()} />
          </>
        )}
      </td>
    </tr>
  );
}
