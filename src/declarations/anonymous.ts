import { createHash, randomBytes } from 'node:crypto';
import { ANONYMOUS } from '../context/access.js';
import type { Logger } from '../context/logger.js';
import { startLeasedLoop } from '../jobs/leases.js';
import { UserError } from '../util/errors.js';
import { DECLARATION_MESSAGES } from './messages.js';
import { toLambert93, type InputGeometry, type L93Geometry } from './model.js';
import type { DeclarationDetail, DeclarationService, Origin } from './service.js';

/**
 * Anonymous error declarations (config `declarations.anonymous`): anyone may report an error with
 * an e-mail address to follow it. The report waits in declaration_anonymous_pending until the
 * address is confirmed by the link mailed to it (a 32-byte random token, kept as its SHA-256);
 * only then does it become a declaration (status submitted, author 'anonymous') followed by that
 * address. Unconfirmed reports expire after CONFIRM_HOURS and are deleted. A filled honeypot field
 * is answered like a good report, and nothing is stored. The per-IP rate limit is the route's.
 */

export const CONFIRM_HOURS = 48;

export interface AnonymousInput {
  type: 'error';
  title: string;
  description: string;
  geometry: InputGeometry;
  email: string;
  /** The honeypot: a form field people do not see, so leave empty; robots fill it. */
  website?: string | undefined;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export class AnonymousDeclarations {
  constructor(private readonly service: DeclarationService) {}

  private get ctx() {
    return this.service.ctx;
  }

  /** 403 when the platform does not take anonymous declarations. */
  checkEnabled(): void {
    if (!this.ctx.config.declarations.anonymous) {
      throw new UserError('anonymous-declarations-off', 'Anonymous declarations are turned off on this platform: sign in (or create an account) to declare an error.', {
        status: 403,
        hint: 'Operators turn them on with declarations.anonymous (PCRS_DECLARATIONS_ANONYMOUS=true).',
      });
    }
  }

  /** Keeps the report pending and mails the confirmation link (a honeypot hit stores and mails nothing). */
  async submit(input: AnonymousInput, origin: Origin): Promise<void> {
    this.checkEnabled();
    if (input.website !== undefined && input.website !== '') {
      this.ctx.log.warn({ ip: origin.ip }, 'declarations: anonymous declaration with the honeypot field filled, ignored (a robot?)');
      return;
    }
    const geometry = toLambert93(input.geometry, this.ctx.config.territory.extent);
    const validity = await this.service.store.validity(geometry);
    if (!validity.valid) throw new UserError('invalid-geometry', `The geometry is not valid: ${validity.reason}.`, { status: 400, hint: 'A polygon must not cross itself; rings must be closed.' });
    const email = input.email.trim().toLowerCase();
    const token = randomBytes(32).toString('base64url');
    await this.ctx.db.query(
      `INSERT INTO declaration_anonymous_pending (token_hash, email, type, geom, title, description, expires_at)
       VALUES ($1, $2, $3, ST_SetSRID(ST_GeomFromGeoJSON($4::text), 2154), $5, $6, now() + make_interval(hours => $7::int))`,
      [sha256(token), email, input.type, JSON.stringify(geometry), input.title, input.description, CONFIRM_HOURS],
    );
    this.ctx.log.info({ ip: origin.ip }, 'declarations: anonymous declaration pending its e-mail confirmation');
    await this.ctx.mail.send({ to: email, ...DECLARATION_MESSAGES.confirmAnonymous({ title: input.title, link: `${origin.base}/#/declarations/confirmer?token=${token}`, hours: CONFIRM_HOURS }) });
  }

  /**
   * Confirms the address: the pending report becomes a declaration followed by that address
   * (`created`), or — a second click — the declaration it already became. Followers of an area it
   * lies in are told.
   */
  async confirm(token: string, origin: Origin): Promise<{ declaration: DeclarationDetail; created: boolean }> {
    this.checkEnabled();
    const invalid = () =>
      new UserError('invalid-confirmation-token', 'This confirmation link is not valid, or expired long ago: copy the whole link from the e-mail, or declare again.', { status: 400 });
    if (!TOKEN.test(token)) throw invalid();
    const store = this.service.store;
    const result = await this.ctx.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: string; email: string; geometry: string; title: string; description: string; declaration_id: string | null; expired: boolean }>(
        `SELECT id::text, email, ST_AsGeoJSON(geom, 3, 0) AS geometry, title, description, declaration_id::text, expires_at < now() AS expired
           FROM declaration_anonymous_pending WHERE token_hash = $1 FOR UPDATE`,
        [sha256(token)],
      );
      const p = rows[0];
      if (!p) throw invalid();
      if (p.declaration_id !== null) return { id: Number(p.declaration_id), email: p.email, created: false };
      if (p.expired) {
        throw new UserError('confirmation-expired', `This confirmation link expired (links last ${CONFIRM_HOURS} hours): nothing was recorded. Declare again to get a new one.`, { status: 410 });
      }
      const id = await store.insert(tx, {
        type: 'error',
        geometry: JSON.parse(p.geometry) as L93Geometry,
        title: p.title,
        description: p.description,
        layer: null,
        authorUserId: null,
        authorActor: ANONYMOUS.id,
        authorOrganisationId: null,
        works: null,
      });
      await store.addAction(tx, { declarationId: id, action: 'opened', actor: ANONYMOUS.id, actorUserId: null, toStatus: 'submitted', details: { confirmedByEmail: true } });
      await this.service.followers.subscribeEmail(tx, id, p.email);
      await tx.query(`UPDATE declaration_anonymous_pending SET confirmed_at = now(), declaration_id = $2 WHERE id = $1`, [Number(p.id), id]);
      return { id, email: p.email, created: true };
    });
    const declaration = await this.service.read(result.id);
    if (result.created) {
      this.ctx.log.info({ declaration: result.id, ip: origin.ip }, 'declarations: anonymous declaration confirmed');
      await this.service.followers.notify(
        result.id,
        { email: result.email },
        origin.base,
        (f) => DECLARATION_MESSAGES.created(f, { id: result.id, title: declaration.title, type: declaration.type, by: 'anonyme / anonymous', link: `${origin.base}/#/declarations/${result.id}` }),
        { areasOnly: true },
      );
    }
    return { declaration, created: result.created };
  }

  /** Deletes the pending reports whose link expired (confirmed ones are declarations by then). */
  async purgeExpired(): Promise<number> {
    const { rowCount } = await this.ctx.db.query(`DELETE FROM declaration_anonymous_pending WHERE expires_at < now()`);
    return rowCount;
  }

  /** Hourly purge in a listening server (one node of several, by lease). */
  startPurge(log: Logger): () => Promise<void> {
    return startLeasedLoop(this.ctx.db, {
      name: 'declarations-anonymous-purge',
      everySeconds: 3600,
      leaseSeconds: 120,
      log,
      run: async () => {
        const n = await this.purgeExpired();
        if (n > 0) log.info({ deleted: n }, 'declarations: expired anonymous declarations deleted');
        return true;
      },
    });
  }
}
