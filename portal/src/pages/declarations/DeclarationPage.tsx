import { useEffect, useRef, useState } from 'preact/hooks';
import { api, CLOSING_STATUSES, TRANSITIONS, type Attachment, type DeclarationAction, type DeclarationDetail, type DeclarationStatus, type Organisation, type User } from '../../app/api.js';
import { Field, Form, LiveRegion, Loaded, PageTitle, Select, TextArea, useForm, useLoad, type Message } from '../../app/components.js';
import { errorText, formatDate, t } from '../../app/i18n.js';
import { href } from '../../app/router.js';
import type { ScreenProps } from '../../app/screen.js';
import { isModerator, useSession } from '../../app/session.js';
import type { DeclarationsMap } from './decl-map.js';
import { StatusBadge, statusText, themeText, typeText } from './labels.js';
import { FilePicker, UploadList, useUploads } from './uploads.js';

/**
 * One declaration (`#/declarations/:id`, where the mails link): its fields, a mini-map, the
 * attachments (images as thumbnails), the history of its actions, a comment form, following it,
 * and for moderators the status change (a reason to close) and the assignment. Every text a user
 * wrote is rendered as text (Preact escapes it), never as markup.
 */
export default function DeclarationPage({ params }: ScreenProps) {
  const id = Number(params['id']);
  const state = useLoad(() => api.declaration(id), [id]);
  const [detail, setDetail] = useState<DeclarationDetail | undefined>(undefined);
  useEffect(() => setDetail(state.data), [state.data]);
  const shown = { ...state, data: detail ?? state.data };
  return (
    <section class="page declaration-page">
      <Loaded state={shown}>{(d) => <Declaration d={d} onChange={setDetail} reload={state.reload} />}</Loaded>
      {state.error !== undefined ? <PageTitle text={t('decl.pageTitle')} /> : null}
    </section>
  );
}

function Declaration({ d, onChange, reload }: { d: DeclarationDetail; onChange: (d: DeclarationDetail) => void; reload: () => void }) {
  const s = useSession();
  const moderator = isModerator(s.user);
  const mayAttach = moderator || (s.user !== null && d.author.userId === s.user.id);
  return (
    <>
      <PageTitle text={t('decl.heading', { id: d.id, title: d.title })} />
      <p>
        <a href={href('/declarations')}>{t('decl.backToList')}</a>
      </p>
      <div class="declaration-top">
        <dl class="declaration-fields">
          <dt>{t('decl.type')}</dt>
          <dd>{typeText(d.type)}</dd>
          <dt>{t('decl.status')}</dt>
          <dd>
            <StatusBadge status={d.status} />
            {d.duplicateOf ? (
              <>
                {' '}
                <a href={href(`/declarations/${d.duplicateOf}`)}>{t('decl.duplicateOf', { id: d.duplicateOf })}</a>
              </>
            ) : null}
          </dd>
          <dt>{t('decl.author')}</dt>
          <dd>
            {d.author.displayName ?? d.author.actor}
            {d.author.organisation ? ` (${d.author.organisation.slug})` : ''}
          </dd>
          <dt>{t('decl.created')}</dt>
          <dd>{formatDate(d.createdAt, true)}</dd>
          <dt>{t('decl.updated')}</dt>
          <dd>{formatDate(d.updatedAt, true)}</dd>
          <dt>{t('decl.assigned')}</dt>
          <dd>{[d.assigned.user?.displayName, d.assigned.organisation?.slug].filter(Boolean).join(' · ') || t('decl.unassigned')}</dd>
          {d.layer ? (
            <>
              <dt>{t('decl.layer')}</dt>
              <dd>{`${d.layer.dataset}${d.layer.version ? ` ${d.layer.version}` : ''}`}</dd>
            </>
          ) : null}
          {d.dalles.length ? (
            <>
              <dt>{t('decl.dalles')}</dt>
              <dd>{d.dalles.map((x) => x.name).join(', ')}</dd>
            </>
          ) : null}
          {d.works ? (
            <>
              <dt>{t('decl.dtDict')}</dt>
              <dd>{d.works.dtDictRef ?? '—'}</dd>
              <dt>{t('decl.period')}</dt>
              <dd>{`${formatDate(d.works.plannedStart)} → ${formatDate(d.works.plannedEnd)}`}</dd>
              <dt>{t('decl.themes')}</dt>
              <dd>{d.works.themes.map(themeText).join(', ') || '—'}</dd>
            </>
          ) : null}
        </dl>
        <MiniMap d={d} />
      </div>
      <p class="description">{d.description}</p>
      {d.subscribed !== undefined || s.user ? <Follow d={d} onChange={onChange} /> : null}
      <Attachments d={d} mayAttach={mayAttach} reload={reload} />
      <h2>{t('decl.history')}</h2>
      <ol class="history">
        {d.actions.map((a) => (
          <HistoryItem key={a.id} a={a} />
        ))}
      </ol>
      <CommentForm d={d} onChange={onChange} />
      {moderator ? <Moderation d={d} onChange={onChange} /> : null}
    </>
  );
}

function MiniMap({ d }: { d: DeclarationDetail }) {
  const target = useRef<HTMLDivElement>(null);
  const made = useRef<DeclarationsMap | null>(null);
  useEffect(() => {
    let live = true;
    // OpenLayers only when this screen is shown (its own chunk, shared with the map's screen).
    void import('./decl-map.js').then(({ createDeclarationsMap }) =>
      createDeclarationsMap(target.current as HTMLElement, [d]).then(
        (m) => {
          if (!live) return m.dispose();
          made.current = m;
          m.layer.highlight([d.id]);
        },
        () => undefined,
      ),
    );
    return () => {
      live = false;
      made.current?.dispose();
      made.current = null;
    };
  }, [d.id]);
  useEffect(() => made.current?.layer.setItems([d]), [d.status]);
  return <div class="mini-map" ref={target} role="img" aria-label={t('decl.map')} />;
}

function HistoryItem({ a }: { a: DeclarationAction }) {
  const known = ['opened', 'commented', 'status-changed', 'assigned', 'merged-duplicate', 'closed', 'reopened'].includes(a.action);
  return (
    <li class={`action ${a.action}`}>
      <time dateTime={a.at}>{formatDate(a.at, true)}</time> — <strong>{a.actorName ?? a.actor}</strong> {known ? t(`declAction.${a.action}` as 'declAction.opened') : a.action}
      {a.fromStatus && a.toStatus ? <> ({t('decl.statusFromTo', { from: statusText(a.fromStatus), to: statusText(a.toStatus) })})</> : null}
      {a.text ? <p class="action-text">{a.text}</p> : null}
    </li>
  );
}

function Follow({ d, onChange }: { d: DeclarationDetail; onChange: (d: DeclarationDetail) => void }) {
  const [news, setNews] = useState<Message>(null);
  const [busy, setBusy] = useState(false);
  const subscribed = d.subscribed === true;
  const toggle = async () => {
    setBusy(true);
    try {
      if (subscribed) await api.unsubscribe(d.id);
      else await api.subscribe(d.id);
      onChange({ ...d, subscribed: !subscribed });
      setNews({ kind: 'ok', text: subscribed ? t('decl.unsubscribed') : t('decl.subscribed') });
    } catch (e) {
      setNews({ kind: 'error', text: errorText(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="follow">
      <button type="button" aria-pressed={subscribed} disabled={busy} onClick={() => void toggle()}>
        {subscribed ? t('decl.unsubscribe') : t('decl.subscribe')}
      </button>
      <LiveRegion message={news} />
    </div>
  );
}

const isImage = (a: Attachment) => /^image\/(png|jpeg|gif|webp)$/.test(a.contentType);

function Attachments({ d, mayAttach, reload }: { d: DeclarationDetail; mayAttach: boolean; reload: () => void }) {
  const [files, setFiles] = useState<File[]>([]);
  const uploads = useUploads(reload);
  const list = d.attachments ?? [];
  return (
    <section class="attachments" aria-label={t('decl.attachments')}>
      <h2>{t('decl.attachments')}</h2>
      {list.length === 0 ? <p class="empty">{t('decl.noAttachments')}</p> : null}
      <ul class="attachment-list">
        {list.map((a) => {
          const url = api.attachmentUrl(d.id, a.id);
          return (
            <li key={a.id}>
              <a href={url} download={a.filename}>
                {isImage(a) ? <img class="thumb" src={url} alt={a.filename} loading="lazy" /> : null}
                <span>{a.filename}</span>
              </a>{' '}
              <span class="hint">({Math.max(1, Math.round(a.size / 1024))} ko)</span>
            </li>
          );
        })}
      </ul>
      {mayAttach ? (
        <Form
          label={t('decl.addPhotos')}
          onSubmit={() => {
            if (files.length) void uploads.send(d.id, files);
          }}
        >
          <FilePicker label={t('decl.addPhotos')} files={files} onChange={setFiles} name="attachments" />
          <button type="submit">{t('decl.send')}</button>
          <UploadList uploads={uploads.uploads} onRetry={(f) => void uploads.retry(d.id, f)} />
        </Form>
      ) : null}
    </section>
  );
}

function CommentForm({ d, onChange }: { d: DeclarationDetail; onChange: (d: DeclarationDetail) => void }) {
  const [text, setText] = useState('');
  const form = useForm();
  return (
    <Form
      label={t('decl.commentSubmit')}
      onSubmit={() =>
        void form.run(
          async () => {
            const next = await api.commentDeclaration(d.id, text.trim());
            onChange({ ...next, subscribed: next.subscribed ?? d.subscribed });
            setText('');
            return t('decl.commented');
          },
          text.trim() ? {} : { text: t('decl.commentRequired') },
        )
      }
    >
      <TextArea label={t('decl.comment')} name="comment" value={text} onInput={setText} error={form.fieldError('text')} />
      <LiveRegion message={form.message} />
      <button type="submit" disabled={form.busy}>
        {t('decl.commentSubmit')}
      </button>
    </Form>
  );
}

function Moderation({ d, onChange }: { d: DeclarationDetail; onChange: (d: DeclarationDetail) => void }) {
  const next = TRANSITIONS[d.status];
  const [status, setStatus] = useState<DeclarationStatus>(next[0] ?? 'submitted');
  useEffect(() => setStatus(next[0] ?? 'submitted'), [d.status]);
  const [reason, setReason] = useState('');
  const [dup, setDup] = useState('');
  const statusForm = useForm();
  const s = useSession();
  // Any user for a platform admin (GET /users); a moderator assigns to themself or an organisation.
  const users = useLoad<User[]>(() => api.users().catch(() => []));
  const orgs = useLoad<Organisation[]>(() => api.organisations().catch(() => []));
  const [userId, setUserId] = useState(d.assigned.user ? String(d.assigned.user.id) : '');
  const [org, setOrg] = useState(d.assigned.organisation?.slug ?? '');
  const assignForm = useForm();
  const keep = (n: DeclarationDetail) => onChange({ ...n, subscribed: n.subscribed ?? d.subscribed, attachments: n.attachments ?? d.attachments });

  const userOptions = [
    { value: '', label: t('decl.assignNobody') },
    ...(s.user ? [{ value: String(s.user.id), label: `${t('decl.assignMe')} (${s.user.displayName})` }] : []),
    ...(d.assigned.user && d.assigned.user.id !== s.user?.id ? [{ value: String(d.assigned.user.id), label: d.assigned.user.displayName }] : []),
    ...(users.data ?? []).filter((u) => u.id !== s.user?.id && u.id !== d.assigned.user?.id && !u.disabled).map((u) => ({ value: String(u.id), label: `${u.displayName} <${u.email}>` })),
  ];
  const orgOptions = [{ value: '', label: t('decl.assignNobody') }, ...(orgs.data ?? []).map((o) => ({ value: o.slug, label: o.name }))];
  if (org && !orgOptions.some((o) => o.value === org)) orgOptions.push({ value: org, label: org });

  return (
    <section class="moderation" aria-label={t('decl.moderation')}>
      <h2>{t('decl.moderation')}</h2>
      {next.length ? (
        <Form
          label={t('decl.changeStatus')}
          onSubmit={() => {
            const local: Record<string, string> = {};
            if (CLOSING_STATUSES.includes(status) && !reason.trim()) local['reason'] = t('decl.reasonRequired');
            if (status === 'duplicate' && !/^\d+$/.test(dup.trim())) local['duplicateOf'] = t('decl.duplicateRequired');
            void statusForm.run(async () => {
              const n = await api.setDeclarationStatus(d.id, { status, ...(reason.trim() ? { reason: reason.trim() } : {}), ...(status === 'duplicate' ? { duplicateOf: Number(dup) } : {}) });
              keep(n);
              setReason('');
              return t('decl.statusChanged', { status: statusText(n.status) });
            }, local);
          }}
        >
          <Select label={t('decl.newStatus')} name="status" value={status} options={next.map((v) => ({ value: v, label: statusText(v) }))} onChange={setStatus} />
          <TextArea label={t('decl.reason')} name="reason" value={reason} onInput={setReason} hint={t('decl.reasonHint')} error={statusForm.fieldError('reason')} />
          {status === 'duplicate' ? <Field label={t('decl.duplicateField')} name="duplicateOf" type="number" value={dup} onInput={setDup} error={statusForm.fieldError('duplicateOf')} /> : null}
          <LiveRegion message={statusForm.message} />
          <button type="submit" disabled={statusForm.busy}>
            {t('decl.changeStatus')}
          </button>
        </Form>
      ) : null}
      <Form
        label={t('decl.assignTitle')}
        onSubmit={() =>
          void assignForm.run(async () => {
            keep(await api.assignDeclaration(d.id, { userId: userId ? Number(userId) : null, organisation: org || null }));
            return t('decl.assignedDone');
          })
        }
      >
        <h3>{t('decl.assignTitle')}</h3>
        <Select label={t('decl.assignUser')} name="assignUser" value={userId} options={userOptions} onChange={setUserId} />
        <Select label={t('decl.assignOrg')} name="assignOrganisation" value={org} options={orgOptions} onChange={setOrg} />
        <LiveRegion message={assignForm.message} />
        <button type="submit" disabled={assignForm.busy}>
          {t('decl.assignSubmit')}
        </button>
      </Form>
    </section>
  );
}
