import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { serverSecret } from '../access/server-secret.js';
import type { Caller } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import { startLeasedLoop } from '../jobs/leases.js';
import { errorMessage, UserError } from '../util/errors.js';
import type { Action } from './store.js';
import { portalLink, publicOf, type PublicDeclaration } from './public.js';
import type { DeclarationService } from './service.js';
import { checkWebhookUrl, postEvent } from './webhook-delivery.js';

/**
 * Webhooks: moderators register URLs; every action of the append-only log (declaration_actions) is
 * an event `declaration.<action>` posted to each webhook in the log's order, one at a time per
 * webhook, signed with the webhook's secret. Each webhook has a cursor (the last action delivered);
 * a failed attempt (network error, timeout, non-2xx) is retried after an exponential backoff; after
 * `maxAttempts` failures at one event the webhook is marked failing and paused — the event is not
 * skipped: resuming retries it. The background loop runs on one node at a time (a lease).
 *
 * The signing secret is shown once; it is stored encrypted (AES-256-GCM, key derived by HKDF from
 * the server secret) because signing needs it back. It is never logged nor answered again.
 */

export const EVENT_TYPES = ['opened', 'commented', 'status-changed', 'assigned', 'merged-duplicate', 'closed', 'reopened'].map((a) => `declaration.${a}`) as [string, ...string[]];

export interface Webhook {
  id: number;
  url: string;
  /** Event types it receives; empty = all. */
  events: string[];
  state: 'active' | 'failing';
  /** The last action (event id) delivered or passed over by the events filter. */
  lastEventId: number;
  /** Failed attempts at the next event. */
  failures: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  failingSince: string | null;
  createdBy: string;
  createdAt: string;
}

export interface Delivery {
  id: number;
  eventId: number;
  attempt: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  at: string;
  /** After a failure: when the next attempt is due (the backoff). */
  retryAt: string | null;
}

interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  state: 'active' | 'failing';
  last_action_id: string;
  failures: number;
  next_attempt_at: Date | string | null;
  last_error: string | null;
  failing_since: Date | string | null;
  created_by: string;
  created_at: Date | string;
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

function toWebhook(r: WebhookRow): Webhook {
  return {
    id: Number(r.id),
    url: r.url,
    events: r.events,
    state: r.state,
    lastEventId: Number(r.last_action_id),
    failures: Number(r.failures),
    nextAttemptAt: iso(r.next_attempt_at),
    lastError: r.last_error,
    failingSince: iso(r.failing_since),
    createdBy: r.created_by,
    createdAt: iso(r.created_at) as string,
  };
}

const COLUMNS = `id::text, url, events, state, last_action_id::text, failures, next_attempt_at, last_error, failing_since, created_by, created_at`;
const SEAL_AAD = Buffer.from('pcrs declaration webhook secret v1');

/** AES-256-GCM with a key derived from the server secret: `v1.<iv>.<ciphertext>.<tag>` (base64url). */
export class SecretBox {
  private readonly key: Buffer;
  constructor(serverKey: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', serverKey, Buffer.from('pcrs-declarations'), Buffer.from('webhook signing secrets'), 32));
  }
  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(SEAL_AAD);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv, ct, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }
  open(sealed: string): string {
    const [v, iv, ct, tag] = sealed.split('.');
    if (v !== 'v1' || !iv || !ct || !tag) throw new Error('webhook secret: unknown sealing format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url')).setAAD(SEAL_AAD);
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** Each webhook costs a POST per action: a bound keeps a mistake (a script registering in a loop) cheap. */
const MAX_WEBHOOKS = 100;

const notFound = (id: number) => new UserError('not-found', `There is no webhook ${id}.`, { status: 404 });

export class WebhookService {
  private box: SecretBox | undefined;
  private delivering = false;

  constructor(
    readonly ctx: AppContext,
    private readonly declarations: DeclarationService,
  ) {}

  private get settings() {
    return this.ctx.config.declarations.webhooks;
  }

  private secretBox(): SecretBox {
    this.box ??= new SecretBox(serverSecret(this.ctx.config));
    return this.box;
  }

  /** Registers a URL; answers the webhook and its signing secret (the only time it is shown). */
  async create(caller: Caller, input: { url: string; events?: readonly string[] | undefined }, ip?: string): Promise<Webhook & { secret: string }> {
    const url = await checkWebhookUrl(input.url, this.settings.allowPrivateNetworks);
    const { rows: counted } = await this.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM declaration_webhooks`);
    if (Number(counted[0]?.n ?? 0) >= MAX_WEBHOOKS) {
      throw new UserError('too-many-webhooks', `There are already ${MAX_WEBHOOKS} webhooks; delete one first.`, { status: 409 });
    }
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const events = [...new Set(input.events ?? [])];
    const webhook = await this.ctx.db.transaction(async (tx) => {
      // It receives what happens after its registration.
      const { rows } = await tx.query<WebhookRow>(
        `INSERT INTO declaration_webhooks (url, events, secret_sealed, created_by, created_by_user_id, last_action_id)
         VALUES ($1, $2::text[], $3, $4, $5, (SELECT coalesce(max(id), 0) FROM declaration_actions))
         RETURNING ${COLUMNS}`,
        [url.toString(), events, this.secretBox().seal(secret), caller.id, caller.userId ?? null],
      );
      const w = toWebhook(rows[0] as WebhookRow);
      await this.ctx.audit.record(caller, { action: 'declaration.webhook.create', target: `webhook:${w.id}`, details: { url: w.url, events }, ...(ip ? { ip } : {}) }, tx);
      return w;
    });
    this.ctx.log.info({ webhook: webhook.id, url: webhook.url, by: caller.id }, 'declarations: webhook registered');
    return { ...webhook, secret };
  }

  async list(): Promise<Webhook[]> {
    const { rows } = await this.ctx.db.query<WebhookRow>(`SELECT ${COLUMNS} FROM declaration_webhooks w ORDER BY w.id`);
    return rows.map(toWebhook);
  }

  async get(id: number): Promise<Webhook> {
    const { rows } = await this.ctx.db.query<WebhookRow>(`SELECT ${COLUMNS} FROM declaration_webhooks WHERE id = $1`, [id]);
    if (!rows[0]) throw notFound(id);
    return toWebhook(rows[0]);
  }

  async delete(caller: Caller, id: number, ip?: string): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      const { rowCount } = await tx.query(`DELETE FROM declaration_webhooks WHERE id = $1`, [id]);
      if (rowCount === 0) throw notFound(id);
      await this.ctx.audit.record(caller, { action: 'declaration.webhook.delete', target: `webhook:${id}`, ...(ip ? { ip } : {}) }, tx);
    });
  }

  /** Resumes a failing webhook: the event it failed at is tried again at once. */
  async resume(caller: Caller, id: number, ip?: string): Promise<Webhook> {
    await this.ctx.db.transaction(async (tx) => {
      const { rowCount } = await tx.query(`UPDATE declaration_webhooks SET state = 'active', failing_since = NULL, failures = 0, next_attempt_at = NULL WHERE id = $1`, [id]);
      if (rowCount === 0) throw notFound(id);
      await this.ctx.audit.record(caller, { action: 'declaration.webhook.resume', target: `webhook:${id}`, ...(ip ? { ip } : {}) }, tx);
    });
    return this.get(id);
  }

  async deliveries(id: number, page: { limit: number; before?: number | undefined }): Promise<Delivery[]> {
    await this.get(id);
    const { rows } = await this.ctx.db.query<{ id: string; event_id: string; attempt: number; status_code: number | null; error: string | null; duration_ms: number; at: Date | string; retry_at: Date | string | null }>(
      `SELECT d.id::text, d.event_id::text, d.attempt, d.status_code, d.error, d.duration_ms, d.at, d.retry_at FROM declaration_webhook_deliveries d
        WHERE d.webhook_id = $1 AND ($2::bigint IS NULL OR d.id < $2::bigint) ORDER BY d.id DESC LIMIT $3`,
      [id, page.before ?? null, page.limit],
    );
    return rows.map((r) => ({ id: Number(r.id), eventId: Number(r.event_id), attempt: Number(r.attempt), statusCode: r.status_code === null ? null : Number(r.status_code), error: r.error, durationMs: Number(r.duration_ms), at: iso(r.at) as string, retryAt: iso(r.retry_at) }));
  }

  /** The payload of an action: the event and the declaration's public fields now. */
  async eventBody(action: Pick<Action, 'id' | 'action' | 'at' | 'fromStatus' | 'toStatus'> & { declarationId: number }): Promise<string> {
    const d = await this.declarations.store.get(action.declarationId);
    const declaration: (PublicDeclaration & { url?: string }) | null = d ? publicOf(d) : null;
    const base = this.ctx.config.publicUrl?.replace(/\/+$/, '');
    if (declaration && base) declaration.url = portalLink(base, declaration.id);
    return JSON.stringify({
      id: action.id,
      type: `declaration.${action.action}`,
      at: action.at,
      declaration,
      ...(action.toStatus && action.action !== 'opened' ? { change: { from: action.fromStatus, to: action.toStatus } } : action.action === 'opened' ? { change: { from: null, to: 'submitted' } } : {}),
    });
  }

  /**
   * One run of the delivery loop: every active webhook whose backoff has passed gets its pending
   * events in order, one at a time, until it is caught up or an attempt fails. Webhooks proceed
   * side by side; a slow one does not hold the others' events.
   */
  async deliverPending(signal: AbortSignal): Promise<boolean> {
    // The lease keeps other nodes out, not a second loop of this process (two servers in one process).
    if (this.delivering) return true;
    this.delivering = true;
    try {
      return await this.deliverEach(signal);
    } finally {
      this.delivering = false;
    }
  }

  private async deliverEach(signal: AbortSignal): Promise<boolean> {
    const { rows } = await this.ctx.db.query<WebhookRow & { secret_sealed: string }>(
      `SELECT ${COLUMNS}, secret_sealed FROM declaration_webhooks w WHERE state = 'active' AND (next_attempt_at IS NULL OR next_attempt_at <= now()) ORDER BY w.id`,
    );
    await Promise.all(rows.map((r) => this.deliverOne(toWebhook(r), r.secret_sealed, signal).catch((e: unknown) => this.ctx.log.warn({ webhook: Number(r.id), err: errorMessage(e) }, 'declarations: webhook delivery stopped'))));
    return !signal.aborted;
  }

  private async deliverOne(w: Webhook, sealed: string, signal: AbortSignal): Promise<void> {
    let secret: string;
    try {
      secret = this.secretBox().open(sealed);
    } catch {
      // The server secret changed (or the row was altered): nothing can be signed; say so once, pause.
      const error = 'The signing secret cannot be decrypted (was the server secret, PCRS_SECRET_KEY, changed?): delete this webhook and register it again.';
      await this.ctx.db.query(`UPDATE declaration_webhooks SET state = 'failing', failing_since = now(), last_error = $2, next_attempt_at = NULL WHERE id = $1`, [w.id, error]);
      this.ctx.log.warn({ webhook: w.id }, 'declarations: webhook paused, its secret cannot be decrypted');
      return;
    }
    const wanted = new Set(w.events);
    let cursor = w.lastEventId;
    let failures = w.failures;
    for (;;) {
      if (signal.aborted) return;
      const { rows } = await this.ctx.db.query<{ id: string; declaration_id: string; action: Action['action']; at: Date | string; from_status: Action['fromStatus']; to_status: Action['toStatus'] }>(
        `SELECT a.id::text, a.declaration_id::text, a.action, a.at, a.from_status, a.to_status FROM declaration_actions a WHERE a.id > $1 ORDER BY a.id LIMIT 100`,
        [cursor],
      );
      if (rows.length === 0) return;
      for (const r of rows) {
        if (signal.aborted) return;
        const eventId = Number(r.id);
        if (wanted.size > 0 && !wanted.has(`declaration.${r.action}`)) {
          if (!(await this.advance(w.id, cursor, eventId))) return;
          cursor = eventId;
          continue;
        }
        const body = await this.eventBody({ id: eventId, declarationId: Number(r.declaration_id), action: r.action, at: iso(r.at) as string, fromStatus: r.from_status, toStatus: r.to_status });
        const result = await postEvent(w.url, { id: eventId, body }, secret, { timeoutMs: this.settings.timeoutSeconds * 1000, allowPrivateNetworks: this.settings.allowPrivateNetworks, signal });
        // Stopped by the server shutting down: not the receiver's failure.
        if (signal.aborted && !result.ok) return;
        const attempt = Number((await this.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM declaration_webhook_deliveries WHERE webhook_id = $1 AND event_id = $2`, [w.id, eventId])).rows[0]?.n ?? 0) + 1;
        if (result.ok) {
          const moved = await this.ctx.db.transaction(async (tx) => {
            await tx.query(`INSERT INTO declaration_webhook_deliveries (webhook_id, event_id, attempt, status_code, duration_ms) VALUES ($1, $2, $3, $4, $5)`, [w.id, eventId, attempt, result.statusCode, result.durationMs]);
            const { rowCount } = await tx.query(
              `UPDATE declaration_webhooks SET last_action_id = $3, failures = 0, next_attempt_at = NULL, last_error = NULL WHERE id = $1 AND last_action_id = $2`,
              [w.id, cursor, eventId],
            );
            return rowCount > 0;
          });
          if (!moved) return;
          cursor = eventId;
          failures = 0;
          continue;
        }
        failures += 1;
        const error = result.error ?? `HTTP ${result.statusCode}`;
        const pause = failures >= this.settings.maxAttempts;
        const backoffSeconds = Math.min(this.settings.backoffBaseSeconds * 2 ** (failures - 1), this.settings.backoffMaxSeconds);
        await this.ctx.db.transaction(async (tx) => {
          await tx.query(
            `INSERT INTO declaration_webhook_deliveries (webhook_id, event_id, attempt, status_code, error, duration_ms, retry_at)
             VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN NULL ELSE now() + make_interval(secs => $8) END)`,
            [w.id, eventId, attempt, result.statusCode, result.error, result.durationMs, pause, backoffSeconds],
          );
          await tx.query(
            pause
              ? `UPDATE declaration_webhooks SET failures = $2, last_error = $3, state = 'failing', failing_since = now(), next_attempt_at = NULL WHERE id = $1`
              : `UPDATE declaration_webhooks SET failures = $2, last_error = $3, next_attempt_at = now() + make_interval(secs => $4) WHERE id = $1`,
            pause ? [w.id, failures, error] : [w.id, failures, error, backoffSeconds],
          );
        });
        if (pause) this.ctx.log.warn({ webhook: w.id, url: w.url, eventId, failures, error }, 'declarations: webhook paused after repeated failures');
        else this.ctx.log.info({ webhook: w.id, eventId, failures, error, retryInSeconds: backoffSeconds }, 'declarations: webhook delivery failed, will retry');
        return;
      }
    }
  }

  /** Moves the cursor past an event the webhook does not want; false when the webhook changed meanwhile (deleted). */
  private async advance(webhookId: number, from: number, to: number): Promise<boolean> {
    const { rowCount } = await this.ctx.db.query(`UPDATE declaration_webhooks SET last_action_id = $3 WHERE id = $1 AND last_action_id = $2`, [webhookId, from, to]);
    return rowCount > 0;
  }

  /** The delivery loop of a listening server (one node at a time, by lease); returns its stop. */
  startLoop(): () => Promise<void> {
    const s = this.settings;
    return startLeasedLoop(this.ctx.db, {
      name: 'declaration-webhooks',
      everySeconds: 0,
      leaseSeconds: Math.max(120, Math.ceil(s.timeoutSeconds * 4)),
      tickMs: Math.max(50, Math.round(s.pollSeconds * 1000)),
      log: this.ctx.log,
      run: (signal) => this.deliverPending(signal),
    });
  }
}
