import { useCallback, useId, useState } from 'preact/hooks';
import { api } from '../../app/api.js';
import { errorText, t } from '../../app/i18n.js';

/**
 * Photos of a declaration: a file input for several files, then one upload per file
 * (POST /declarations/:id/attachments, multipart `file`) with its progress and, on failure, its
 * own error in the user's language and a retry. Used after a declaration is created on the map
 * and on the declaration's page.
 */

export interface Upload {
  file: File;
  /** 0…1 */
  progress: number;
  state: 'waiting' | 'sending' | 'done' | 'failed';
  error?: string;
}

export function FilePicker(p: { label: string; hint?: string; files: File[]; onChange: (files: File[]) => void; name?: string }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name ?? 'photos'}
        type="file"
        multiple
        accept="image/*,application/pdf"
        aria-describedby={p.hint ? `${id}-hint` : undefined}
        onChange={(e) => p.onChange([...((e.currentTarget as HTMLInputElement).files ?? [])])}
      />
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
    </div>
  );
}

export function useUploads(onUploaded?: () => void) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const update = (file: File, change: Partial<Upload>) => setUploads((list) => list.map((u) => (u.file === file ? { ...u, ...change } : u)));
  const sendOne = useCallback(async (declarationId: number, file: File) => {
    update(file, { state: 'sending', progress: 0, error: undefined });
    try {
      await api.uploadAttachment(declarationId, file, file.name, (progress) => update(file, { progress }));
      update(file, { state: 'done', progress: 1 });
      return true;
    } catch (e) {
      update(file, { state: 'failed', error: errorText(e) });
      return false;
    }
  }, []);
  /** Sends the files one after the other (a failure does not stop the others). */
  const send = useCallback(
    async (declarationId: number, files: File[]) => {
      setUploads((list) => [...list.filter((u) => !files.includes(u.file)), ...files.map((file) => ({ file, progress: 0, state: 'waiting' as const }))]);
      let any = false;
      for (const f of files) any = (await sendOne(declarationId, f)) || any;
      if (any) onUploaded?.();
    },
    [sendOne, onUploaded],
  );
  const retry = useCallback(
    async (declarationId: number, file: File) => {
      if (await sendOne(declarationId, file)) onUploaded?.();
    },
    [sendOne, onUploaded],
  );
  return { uploads, send, retry, clear: () => setUploads([]) };
}

export function UploadList({ uploads, onRetry }: { uploads: Upload[]; onRetry: (file: File) => void }) {
  if (!uploads.length) return null;
  return (
    <ul class="uploads" aria-live="polite">
      {uploads.map((u) => (
        <li key={`${u.file.name}-${u.file.size}-${u.file.lastModified}`} class={`upload ${u.state}`}>
          {u.state === 'failed' ? (
            <>
              <span role="alert">{t('report.uploadFailed', { name: u.file.name, error: u.error ?? '' })}</span>{' '}
              <button type="button" class="link" onClick={() => onRetry(u.file)}>
                {t('report.retry')}
              </button>
            </>
          ) : u.state === 'done' ? (
            t('report.uploaded', { name: u.file.name })
          ) : (
            <>
              <progress max={1} value={u.progress} aria-label={u.file.name} /> {t('report.uploading', { name: u.file.name, percent: Math.round(u.progress * 100) })}
            </>
          )}
        </li>
      ))}
    </ul>
  );
}
