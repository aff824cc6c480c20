import { errorMessage, UserError } from '../util/errors.js';
import { isDeadLocalOwner, PROCESS_OWNER, type Job, type JobStore } from './jobs.js';

export interface JobContext<C> {
  job: Job<unknown, C>;
  /** Last checkpoint saved by a previous (interrupted) run, or null. */
  checkpoint: C | null;
  /** Reports progress; saves the checkpoint with it when given. Cheap to call often (throttled). */
  progress(done: number, total: number | null, message?: string, checkpoint?: C): Promise<void>;
  /** Aborted on graceful shutdown: the work stops at a safe point and returns. */
  signal: AbortSignal;
}

export interface RunJobOptions {
  /** Called on every progress update (CLI progress bar). */
  onProgress?: (done: number, total: number | null, message: string | undefined) => void;
  signal?: AbortSignal;
  heartbeatMs?: number;
  retryFailed?: boolean;
}

/** Thrown when a job stopped on request and stays resumable. */
export class JobInterruptedError extends UserError {
  constructor(jobId: number) {
    super('job-interrupted', `Job ${jobId} was interrupted; run the same command again to resume it.`, { exitCode: 130, status: 503 });
  }
}

/**
 * Runs `work` as the persistent job `job`: claims it, keeps its heartbeat, records progress and
 * checkpoints, and marks it succeeded or failed. Interrupted (signal) ⇒ released, resumable.
 */
export async function runJob<C, R>(
  store: JobStore,
  job: Job,
  work: (ctx: JobContext<C>) => Promise<R>,
  options: RunJobOptions = {},
): Promise<R> {
  let claimed = await store.claim<unknown, C, R>(job.id, PROCESS_OWNER, { retryFailed: options.retryFailed ?? true });
  if (!claimed) {
    const current = await store.get(job.id);
    if (isDeadLocalOwner(current.owner)) claimed = await store.claim<unknown, C, R>(job.id, PROCESS_OWNER, { retryFailed: true, takeOverFrom: current.owner as string });
  }
  if (!claimed) {
    const current = await store.get(job.id);
    throw new UserError('job-busy', `Job ${job.id} (${job.kind}) is being run by ${current.owner ?? 'another process'}.`, {
      hint: 'Wait for it to finish, or if that process is dead, try again in a minute (its heartbeat will be stale).',
      exitCode: 75,
      status: 409,
    });
  }
  if (claimed.state === 'succeeded') return claimed.result as R;

  const controller = new AbortController();
  const onOuterAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onOuterAbort);
  if (options.signal?.aborted) controller.abort();
  const heartbeat = setInterval(() => {
    store.heartbeat(job.id).catch(() => undefined);
  }, options.heartbeatMs ?? 5_000);
  heartbeat.unref();

  let lastWrite = 0;
  let pending: Promise<void> = Promise.resolve();
  const ctx: JobContext<C> = {
    job: claimed,
    checkpoint: claimed.checkpoint,
    signal: controller.signal,
    async progress(done, total, message, checkpoint) {
      options.onProgress?.(done, total, message);
      const now = Date.now();
      // Checkpoints are always written (they carry resumability); plain progress at most every 500 ms.
      if (checkpoint === undefined && now - lastWrite < 500 && done !== total) return;
      lastWrite = now;
      pending = pending.then(() => store.progress(job.id, done, total, message ?? null, checkpoint));
      await pending;
    },
  };
  try {
    const result = await work(ctx);
    await pending;
    if (controller.signal.aborted) {
      await store.release(job.id);
      throw new JobInterruptedError(job.id);
    }
    await store.succeed(job.id, result);
    return result;
  } catch (e) {
    await pending.catch(() => undefined);
    if (e instanceof JobInterruptedError) throw e;
    if (controller.signal.aborted) {
      await store.release(job.id);
      throw new JobInterruptedError(job.id);
    }
    await store.fail(job.id, errorMessage(e));
    throw e;
  } finally {
    clearInterval(heartbeat);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}
