import type { Queryable } from '../db/database.js';

/** The only SQL on `licence_acceptances` (append-only: a trigger refuses updates and deletes). */

export type LicenceId = 'licence-ouverte' | 'charter';

export interface Acceptance {
  licence: LicenceId;
  version: string;
  acceptedAt: string;
}

/** Who accepts: a user, or an anonymous browser known by the SHA-256 of its cookie. */
export type Acceptor = { userId: number } | { browserHash: string };

export class LicenceStore {
  constructor(private readonly db: Queryable) {}

  async record(who: Acceptor, licence: LicenceId, version: string): Promise<Acceptance> {
    const { rows } = await this.db.query<{ accepted_at: Date }>(
      'INSERT INTO licence_acceptances (licence, version, user_id, browser_hash) VALUES ($1, $2, $3, $4) RETURNING accepted_at',
      [licence, version, 'userId' in who ? who.userId : null, 'browserHash' in who ? who.browserHash : null],
    );
    return { licence, version, acceptedAt: new Date((rows[0] as { accepted_at: Date }).accepted_at).toISOString() };
  }

  /** The latest acceptance of each licence version by this user or browser. */
  async acceptances(who: Acceptor): Promise<Acceptance[]> {
    const byUser = 'userId' in who;
    const { rows } = await this.db.query<{ licence: LicenceId; version: string; accepted_at: Date }>(
      `SELECT licence, version, max(accepted_at) AS accepted_at FROM licence_acceptances
        WHERE ${byUser ? 'user_id' : 'browser_hash'} = $1 GROUP BY licence, version ORDER BY 3 DESC`,
      [byUser ? who.userId : who.browserHash],
    );
    return rows.map((r) => ({ licence: r.licence, version: r.version, acceptedAt: new Date(r.accepted_at).toISOString() }));
  }

  /** Acceptances for operators (`pcrs licences acceptances`), newest first. */
  async list(limit: number): Promise<Array<Acceptance & { user: string | null; anonymous: boolean }>> {
    const { rows } = await this.db.query<{ licence: LicenceId; version: string; accepted_at: Date; email: string | null; browser_hash: string | null }>(
      `SELECT a.licence, a.version, a.accepted_at, u.email, a.browser_hash
         FROM licence_acceptances a LEFT JOIN users u ON u.id = a.user_id ORDER BY a.id DESC LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ licence: r.licence, version: r.version, acceptedAt: new Date(r.accepted_at).toISOString(), user: r.email, anonymous: r.email === null }));
  }
}
