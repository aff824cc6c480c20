import { createHmac, timingSafeEqual } from 'node:crypto';
import { serverSecret } from '../access/server-secret.js';
import type { AppContext } from '../context/app-context.js';
import type { Queryable } from '../db/database.js';
import type { MailMessage } from '../notify/mailer.js';
import { errorMessage, UserError } from '../util/errors.js';
import type { Follower } from './messages.js';
import type { L93Geometry } from './model.js';

/**
 * Who follows a declaration and the mails they get (tables declaration_subscriptions and
 * declaration_area_subscriptions): its author (subscribed when it declares), users who subscribe,
 * users following an area its geometry intersects, and the e-mail address of an anonymous
 * declarant. On every change each of them but the one who made it gets one mail, with a one-click
 * unsubscribe link: a token naming the subscription row, signed with HMAC-SHA-256 under a key
 * derived from the server secret (so it needs no storage and cannot be forged), verified in
 * constant time. RFC 8058 headers (List-Unsubscribe, List-Unsubscribe-Post) carry the same link.
 */

/** 'd': a subscription to one declaration; 'a': an area subscription. */
export type SubscriptionKind = 'd' | 'a';

/** Who made a change: never mailed about it. */
export interface ChangeActor {
  userId?: number | undefined;
  email?: string | undefined;
}

export interface AreaSubscription {
  id: number;
  name: string;
  /** Lambert-93. */
  geometry: L93Geometry;
  createdAt: string;
}

interface RecipientRow {
  kind: SubscriptionKind;
  id: string;
  email: string;
  name: string | null;
  user_id: string | null;
  area: string | null;
  yours: boolean;
}

/** Mails sent at the same time for one change. */
const MAIL_CONCURRENCY = 4;

/** Areas one user may follow. */
export const MAX_AREAS_PER_USER = 50;

const TOKEN = /^([da])([1-9]\d{0,15})\.([A-Za-z0-9_-]{43})$/;

/** Signs and verifies unsubscribe tokens `<kind><id>.<HMAC>` with a key derived from the server secret. */
export class UnsubscribeTokens {
  private key: Buffer | undefined;

  constructor(private readonly config: AppContext['config']) {}

  private mac(payload: string): string {
    this.key ??= createHmac('sha256', 'pcrs-declarations-unsubscribe').update(serverSecret(this.config)).digest();
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  sign(kind: SubscriptionKind, id: number): string {
    const payload = `${kind}${id}`;
    return `${payload}.${this.mac(payload)}`;
  }

  /** The subscription a token names; a 400 for anything not signed here. */
  verify(token: string): { kind: SubscriptionKind; id: number } {
    const invalid = () => new UserError('invalid-unsubscribe-token', 'This unsubscribe link is not valid: it may have been cut or altered. Copy the whole link from the e-mail.', { status: 400 });
    const m = TOKEN.exec(token);
    if (!m) throw invalid();
    const [, kind, id, mac] = m as unknown as [string, SubscriptionKind, string, string];
    const expected = Buffer.from(this.mac(`${kind}${id}`));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
    return { kind, id: Number(id) };
  }
}

export class Followers {
  readonly tokens: UnsubscribeTokens;

  constructor(readonly ctx: AppContext) {
    this.tokens = new UnsubscribeTokens(ctx.config);
  }

  /** Subscribes a user to a declaration (nothing when it already is). */
  async subscribe(tx: Queryable, declarationId: number, userId: number): Promise<void> {
    await tx.query(
      `INSERT INTO declaration_subscriptions (declaration_id, user_id) VALUES ($1, $2) ON CONFLICT (declaration_id, user_id) WHERE user_id IS NOT NULL DO NOTHING`,
      [declarationId, userId],
    );
  }

  /** Subscribes an e-mail address (an anonymous declarant) to a declaration. */
  async subscribeEmail(tx: Queryable, declarationId: number, email: string): Promise<void> {
    await tx.query(
      `INSERT INTO declaration_subscriptions (declaration_id, email) VALUES ($1, $2) ON CONFLICT (declaration_id, lower(email)) WHERE email IS NOT NULL DO NOTHING`,
      [declarationId, email],
    );
  }

  /** Whether the user was subscribed (and no longer is). */
  async unsubscribe(declarationId: number, userId: number): Promise<boolean> {
    const { rowCount } = await this.ctx.db.query(`DELETE FROM declaration_subscriptions WHERE declaration_id = $1 AND user_id = $2`, [declarationId, userId]);
    return rowCount > 0;
  }

  async isSubscribed(declarationId: number, userId: number | undefined): Promise<boolean> {
    if (userId === undefined) return false;
    const { rows } = await this.ctx.db.query(`SELECT 1 FROM declaration_subscriptions WHERE declaration_id = $1 AND user_id = $2`, [declarationId, userId]);
    return rows.length > 0;
  }

  async areas(userId: number): Promise<AreaSubscription[]> {
    const { rows } = await this.ctx.db.query<{ id: string; name: string; geometry: string; created_at: Date | string }>(
      `SELECT id::text, name, ST_AsGeoJSON(geom, 3, 0) AS geometry, created_at FROM declaration_area_subscriptions WHERE user_id = $1 ORDER BY id`,
      [userId],
    );
    return rows.map((r) => ({ id: Number(r.id), name: r.name, geometry: JSON.parse(r.geometry) as L93Geometry, createdAt: new Date(r.created_at).toISOString() }));
  }

  /** Follows an area (a valid Lambert-93 polygon, checked by the caller); at most MAX_AREAS_PER_USER per user. */
  async addArea(userId: number, name: string, geometry: L93Geometry): Promise<AreaSubscription> {
    const id = await this.ctx.db.transaction(async (tx) => {
      // One user's concurrent additions queue on its row: the limit holds.
      await tx.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [userId]);
      const { rows: n } = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM declaration_area_subscriptions WHERE user_id = $1`, [userId]);
      if (Number(n[0]?.n ?? 0) >= MAX_AREAS_PER_USER) {
        throw new UserError('too-many-areas', `You already follow ${MAX_AREAS_PER_USER} areas: remove one first.`, { status: 409 });
      }
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO declaration_area_subscriptions (user_id, name, geom) VALUES ($1, $2, ST_SetSRID(ST_GeomFromGeoJSON($3::text), 2154)) RETURNING id::text`,
        [userId, name, JSON.stringify(geometry)],
      );
      return Number(rows[0]?.id);
    });
    const area = (await this.areas(userId)).find((a) => a.id === id);
    if (!area) throw new Error(`area subscription ${id} vanished`);
    return area;
  }

  /** Removes one of the user's areas; 404 when it has none with this id. */
  async removeArea(userId: number, id: number): Promise<void> {
    const { rowCount } = await this.ctx.db.query(`DELETE FROM declaration_area_subscriptions WHERE id = $1 AND user_id = $2`, [id, userId]);
    if (rowCount === 0) throw new UserError('not-found', `You follow no area ${id}.`, { status: 404 });
  }

  /**
   * One-click unsubscribe: removes the subscription the token names. A valid token whose
   * subscription is already gone succeeds too (a second click, a mail client's POST after a GET).
   */
  async unsubscribeByToken(token: string): Promise<{ kind: SubscriptionKind; removed: boolean }> {
    const { kind, id } = this.tokens.verify(token);
    const table = kind === 'd' ? 'declaration_subscriptions' : 'declaration_area_subscriptions';
    const { rowCount } = await this.ctx.db.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
    if (rowCount > 0) this.ctx.log.info({ subscription: `${kind}${id}` }, 'declarations: unsubscribed by link');
    return { kind, removed: rowCount > 0 };
  }

  /**
   * Who follows the declaration, one entry per e-mail address (a subscription to the declaration
   * wins over an area; the oldest area first): active users and anonymous declarants' addresses.
   */
  async recipients(declarationId: number, options: { areasOnly?: boolean } = {}): Promise<RecipientRow[]> {
    const { rows } = await this.ctx.db.query<RecipientRow>(
      `SELECT * FROM (
         SELECT 'd' AS kind, s.id::text, coalesce(u.email, s.email) AS email, u.display_name AS name, s.user_id::text,
                NULL::text AS area, coalesce(s.email IS NOT NULL OR s.user_id = d.author_user_id, false) AS yours, 0 AS rank, s.id AS ord
           FROM declaration_subscriptions s
           JOIN declarations d ON d.id = s.declaration_id
           LEFT JOIN users u ON u.id = s.user_id
          WHERE s.declaration_id = $1 AND NOT $2::boolean AND (s.user_id IS NULL OR u.disabled_at IS NULL)
         UNION ALL
         SELECT 'a', a.id::text, u.email, u.display_name, a.user_id::text, a.name, coalesce(a.user_id = d.author_user_id, false), 1, a.id
           FROM declarations d
           JOIN declaration_area_subscriptions a ON ST_Intersects(a.geom, d.geom)
           JOIN users u ON u.id = a.user_id AND u.disabled_at IS NULL
          WHERE d.id = $1
       ) r ORDER BY rank, ord`,
      [declarationId, options.areasOnly === true],
    );
    const seen = new Set<string>();
    return rows.filter((r) => {
      const key = r.email.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  /**
   * Mails every follower of the declaration but the actor, each with its unsubscribe link. Never
   * fails the act that caused it: a failure is logged.
   */
  async notify(
    declarationId: number,
    actor: ChangeActor,
    base: string,
    mail: (f: Follower) => Omit<MailMessage, 'to'>,
    options: { areasOnly?: boolean } = {},
  ): Promise<void> {
    try {
      const actorEmail = actor.email?.toLowerCase();
      const recipients = (await this.recipients(declarationId, options)).filter(
        (r) => !(actor.userId !== undefined && r.user_id !== null && Number(r.user_id) === actor.userId) && !(actorEmail !== undefined && r.email.toLowerCase() === actorEmail),
      );
      const send = (r: RecipientRow) => {
        const unsubscribe = `${base}/api/v1/declarations/unsubscribe?token=${this.tokens.sign(r.kind, Number(r.id))}`;
        const m = mail({ name: r.name, yours: r.yours, area: r.area, unsubscribe });
        return this.ctx.mail.send({
          to: r.email,
          ...m,
          headers: { ...m.headers, 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
        });
      };
      // A few at a time: an area followed by many must not open as many SMTP connections at once.
      let next = 0;
      const worker = async () => {
        while (next < recipients.length) await send(recipients[next++] as RecipientRow);
      };
      await Promise.all(Array.from({ length: Math.min(MAIL_CONCURRENCY, recipients.length) }, worker));
    } catch (e) {
      this.ctx.log.warn({ err: errorMessage(e), declaration: declarationId }, 'declarations: the followers could not be told');
    }
  }
}
