import type { Caller } from '../context/access.js';
import type { Database, Queryable, SqlParam } from '../db/database.js';

/** One line of the append-only audit log (the table refuses updates and deletes). */
export interface AuditEntry {
  /** Dotted verb: 'auth.signin', 'auth.signin-failed', 'key.create', 'permission.grant', … */
  action: string;
  /** What was acted on: 'user:12', 'key:7', 'dataset:orthophoto', 'organisation:3'. */
  target?: string;
  details?: Record<string, unknown>;
  ip?: string;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'ip' | 'target'>> {
  id: number;
  at: string;
  actor: string;
  actorUserId: number | null;
  organisationId: number | null;
  target: string | null;
  ip: string | null;
}

export interface AuditQuery {
  actorUserId?: number;
  /** Exact action, or a prefix ending with '.' ('auth.'). */
  action?: string;
  from?: Date;
  to?: Date;
  limit?: number;
  /** Entries with an id below this one (paging backwards in time). */
  before?: number;
}

/**
 * Who did what, when, from where. Every capability records its sensitive acts here (sign-ins and
 * failures, roles, permissions, visibility, keys, restores, admin actions); admins query it.
 */
export class AuditLog {
  constructor(private readonly db: Database) {}

  /** Appends one entry; pass the transaction when the act itself is in one (both or neither). */
  async record(caller: Pick<Caller, 'id' | 'userId' | 'organisationIds'>, entry: AuditEntry, tx: Queryable = this.db): Promise<void> {
    await tx.query(
      `INSERT INTO audit_log (actor, actor_user_id, organisation_id, action, target, details, ip)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)`,
      [caller.id, caller.userId ?? null, caller.organisationIds?.[0] ?? null, entry.action, entry.target ?? null, JSON.stringify(entry.details ?? {}), entry.ip ?? null],
    );
  }

  async query(q: AuditQuery = {}): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    const add = (sql: string, value: SqlParam) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.actorUserId !== undefined) add('actor_user_id = ?', q.actorUserId);
    if (q.action !== undefined) {
      if (q.action.endsWith('.')) add("starts_with(action, ?)", q.action);
      else add('action = ?', q.action);
    }
    if (q.from) add('at >= ?', q.from.toISOString());
    if (q.to) add('at < ?', q.to.toISOString());
    if (q.before !== undefined) add('id < ?', q.before);
    params.push(Math.min(Math.max(q.limit ?? 100, 1), 1000));
    const { rows } = await this.db.query<{
      id: string; at: Date | string; actor: string; actor_user_id: string | null; organisation_id: string | null;
      action: string; target: string | null; details: Record<string, unknown>; ip: string | null;
    }>(
      `SELECT id::text, at, actor, actor_user_id::text, organisation_id::text, action, target, details, ip
         FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: new Date(r.at).toISOString(),
      actor: r.actor,
      actorUserId: r.actor_user_id === null ? null : Number(r.actor_user_id),
      organisationId: r.organisation_id === null ? null : Number(r.organisation_id),
      action: r.action,
      target: r.target,
      details: r.details,
      ip: r.ip,
    }));
  }
}
