import { hostname } from 'node:os';
import type { Queryable } from '../db/database.js';
import { UserError } from '../util/errors.js';
import { isProcessAlive } from '../util/process.js';

/**
 * Persistent, resumable jobs. A job is found again by its idempotency key (the same command re-run
 * continues the same job), owns a heartbeat while running, records progress with an ETA, and keeps
 * a checkpoint that the work function reads to skip what is already done. A job whose heartbeat is
 * older than `staleAfterMs` (its process died, e.g. kill -9) can be taken over.
 */

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Job<P = unknown, C = unknown, R = unknown> {
  id: number;
  kind: string;
  idempotencyKey: string | null;
  params: P;
  state: JobState;
  progressDone: number;
  progressTotal: number | null;
  progressMessage: string | null;
  etaSeconds: number | null;
  checkpoint: C | null;
  result: R | null;
  attempts: number;
  maxAttempts: number;
  error: string | null;
  owner: string | null;
  heartbeatAt: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

interface JobRow {
  id: number;
  kind: string;
  idempotency_key: string | null;
  params: unknown;
  state: JobState;
  progress_done: number;
  progress_total: number | null;
  progress_message: string | null;
  eta_seconds: number | null;
  checkpoint: unknown;
  result: unknown;
  attempts: number;
  max_attempts: number;
  error: string | null;
  owner: string | null;
  heartbeat_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function jobOf<P, C, R>(r: JobRow): Job<P, C, R> {
  return {
    id: r.id,
    kind: r.kind,
    idempotencyKey: r.idempotency_key,
    params: r.params as P,
    state: r.state,
    progressDone: r.progress_done,
    progressTotal: r.progress_total,
    progressMessage: r.progress_message,
    etaSeconds: r.eta_seconds,
    checkpoint: (r.checkpoint ?? null) as C | null,
    result: (r.result ?? null) as R | null,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    error: r.error,
    owner: r.owner,
    heartbeatAt: r.heartbeat_at,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export const PROCESS_OWNER = `${hostname()}:${process.pid}`;

/**
 * True when `owner` is a process of this host that no longer exists (killed): its job can be taken
 * over at once instead of waiting for the heartbeat to go stale.
 */
export function isDeadLocalOwner(owner: string | null): boolean {
  if (!owner) return false;
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  return !isProcessAlive(pid);
}

export class JobStore {
  constructor(
    private readonly db: Queryable,
    private readonly staleAfterMs = 30_000,
  ) {}

  /** Finds the job for this key or creates it (queued). Params of an existing job are kept. */
  async findOrCreate<P>(kind: string, idempotencyKey: string | null, params: P, maxAttempts = 3): Promise<Job<P>> {
    if (idempotencyKey) {
      const existing = await this.db.query<JobRow>('SELECT * FROM jobs WHERE idempotency_key = $1', [idempotencyKey]);
      if (existing.rows[0]) return jobOf<P, unknown, unknown>(existing.rows[0]);
    }
    const { rows } = await this.db.query<JobRow>(
      `INSERT INTO jobs (kind, idempotency_key, params, max_attempts) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (idempotency_key) DO UPDATE SET updated_at = jobs.updated_at
       RETURNING *`,
      [kind, idempotencyKey, JSON.stringify(params ?? {}), maxAttempts],
    );
    return jobOf<P, unknown, unknown>(rows[0] as JobRow);
  }

  async get<P = unknown, C = unknown, R = unknown>(id: number): Promise<Job<P, C, R>> {
    const { rows } = await this.db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    if (!rows[0]) throw new UserError('unknown-job', `No job with id ${id}.`, { status: 404 });
    return jobOf<P, C, R>(rows[0]);
  }

  async list(filter: { state?: JobState; kind?: string; limit?: number } = {}): Promise<Job[]> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT * FROM jobs WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2) ORDER BY id DESC LIMIT $3`,
      [filter.state ?? null, filter.kind ?? null, filter.limit ?? 50],
    );
    return rows.map((r) => jobOf(r));
  }

  /**
   * Takes the job for this process: queued, failed-with-attempts-left, or running with a stale
   * heartbeat. Returns null when another live process holds it. Atomic (one UPDATE … WHERE).
   * A succeeded job is returned as is (nothing to do).
   */
  async claim<P, C, R>(id: number, owner = PROCESS_OWNER, options: { retryFailed?: boolean; takeOverFrom?: string } = {}): Promise<Job<P, C, R> | null> {
    const { rows } = await this.db.query<JobRow>(
      `UPDATE jobs SET state = 'running', owner = $2, heartbeat_at = now(), attempts = attempts + 1,
              started_at = COALESCE(started_at, now()), error = NULL, updated_at = now(), finished_at = NULL
       WHERE id = $1 AND (
         state = 'queued'
         OR (state = 'running' AND (owner = $2 OR owner = $5 OR heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $3)))
         OR (state = 'failed' AND ($4 OR attempts < max_attempts))
         OR (state = 'cancelled' AND $4)
       )
       RETURNING *`,
      [id, owner, this.staleAfterMs / 1000, options.retryFailed ?? false, options.takeOverFrom ?? null],
    );
    if (rows[0]) return jobOf<P, C, R>(rows[0]);
    const job = await this.get<P, C, R>(id);
    return job.state === 'succeeded' ? job : null;
  }

  async heartbeat(id: number, owner = PROCESS_OWNER): Promise<boolean> {
    const { rowCount } = await this.db.query(`UPDATE jobs SET heartbeat_at = now() WHERE id = $1 AND owner = $2 AND state = 'running'`, [id, owner]);
    return rowCount > 0;
  }

  /** Progress with an ETA extrapolated from the rate since the job (re)started. */
  async progress(id: number, done: number, total: number | null, message?: string | null, checkpoint?: unknown): Promise<void> {
    await this.db.query(
      `UPDATE jobs SET progress_done = $2, progress_total = $3, progress_message = COALESCE($4, progress_message),
              eta_seconds = CASE WHEN $3::float8 IS NOT NULL AND $2::float8 > 0 AND $2::float8 < $3::float8
                THEN EXTRACT(EPOCH FROM (now() - started_at)) * ($3::float8 - $2::float8) / $2::float8 ELSE NULL END,
              checkpoint = COALESCE($5::jsonb, checkpoint), heartbeat_at = now(), updated_at = now()
       WHERE id = $1`,
      [id, done, total, message ?? null, checkpoint === undefined ? null : JSON.stringify(checkpoint)],
    );
  }

  async succeed(id: number, result: unknown): Promise<void> {
    await this.db.query(
      `UPDATE jobs SET state = 'succeeded', result = $2::jsonb, finished_at = now(), eta_seconds = 0, updated_at = now(),
              progress_done = COALESCE(progress_total, progress_done) WHERE id = $1`,
      [id, JSON.stringify(result ?? null)],
    );
  }

  async fail(id: number, error: string): Promise<void> {
    await this.db.query(`UPDATE jobs SET state = 'failed', error = $2, finished_at = now(), updated_at = now() WHERE id = $1`, [id, error]);
  }

  /** Leaves the job resumable (graceful shutdown): another run continues from the checkpoint. */
  async release(id: number): Promise<void> {
    await this.db.query(`UPDATE jobs SET state = 'queued', owner = NULL, attempts = GREATEST(attempts - 1, 0), updated_at = now() WHERE id = $1 AND state = 'running'`, [id]);
  }

  async cancel(id: number): Promise<void> {
    await this.db.query(`UPDATE jobs SET state = 'cancelled', finished_at = now(), updated_at = now() WHERE id = $1 AND state IN ('queued', 'running', 'failed')`, [id]);
  }
}
