import { Upload } from 'tus-js-client';
import { api } from '../../app/api.js';

/**
 * One file sent to a contribution with the tus protocol (tus-js-client): in chunks, retried after a
 * cut connection from the offset the server has (HEAD), and resumed after a reload of the page
 * (the client remembers the upload's address for this file in localStorage).
 */
export interface FileUpload {
  done: Promise<void>;
  abort(): void;
}

const CHUNK = 8 * 1024 * 1024;

export async function uploadFile(contributionId: number, file: File, onProgress: (sent: number, total: number) => void, onRetry?: () => void): Promise<FileUpload> {
  const headers = await api.writeHeaders();
  let upload: Upload | null = null;
  const done = new Promise<void>((resolve, reject) => {
    upload = new Upload(file, {
      endpoint: api.contributionUploadsUrl(),
      headers,
      chunkSize: CHUNK,
      metadata: { contribution: String(contributionId), filename: file.name },
      // Retried with growing pauses; a refusal (4xx other than 409/423) is not retried.
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      removeFingerprintOnSuccess: true,
      onShouldRetry: (err, attempt) => {
        const status = err.originalResponse?.getStatus() ?? 0;
        const retry = status === 0 || status >= 500 || status === 409 || status === 423;
        if (retry && attempt >= 0) onRetry?.();
        return retry;
      },
      onProgress: (sent, total) => onProgress(sent, total),
      onError: (e) => reject(e),
      onSuccess: () => resolve(),
    });
    const u = upload;
    // An upload of this file begun before (a closed tab, a reload) goes on from where it stopped.
    void u.findPreviousUploads().then((previous) => {
      const last = previous[0];
      if (last) u.resumeFromPreviousUpload(last);
      u.start();
    });
  });
  return { done, abort: () => void (upload as Upload | null)?.abort() };
}

/** The server's words of a failed upload (its problem's detail is English: the status picks our sentence). */
export function uploadStatus(e: unknown): number {
  const res = (e as { originalResponse?: { getStatus(): number } }).originalResponse;
  return res ? res.getStatus() : 0;
}
