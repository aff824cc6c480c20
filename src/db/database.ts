/**
 * One small database interface over two engines that speak the same SQL:
 * a PostgreSQL server through `pg` (production, `DATABASE_URL`) and embedded PGlite with PostGIS
 * (the no-setup default, data under `${dataDir}/db`). Everything above this file writes plain
 * parameterised SQL and never knows which engine runs it.
 */
export type SqlParam = string | number | bigint | boolean | null | Date | Buffer | readonly unknown[] | Record<string, unknown>;

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<Row>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Bulk-loads rows written in PostgreSQL's binary COPY format (header, then per row a field
   * count and length-prefixed values in each type's binary form, then the -1 trailer) into
   * `target`: a table and its column list, e.g. `t (a, b)`. `target` is written by our code,
   * never taken from input. Far cheaper than INSERT for many rows.
   */
  copyFrom(target: string, data: Uint8Array): Promise<void>;
}

/** A connection pinned for a sequence of statements (session-level locks need one). */
export interface Session extends Queryable {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
}

export interface Database extends Session {
  readonly engine: 'postgres' | 'pglite';
  /** Where the data lives, for messages (password removed). */
  describe(): string;
  /** Runs `fn` on one dedicated connection (advisory locks, migrations). */
  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  /**
   * Receives the NOTIFYs of `channel` (every node that listens gets them, the sender too). The
   * PostgreSQL engine uses a dedicated connection, reopened when lost: `onGap` is then called
   * (notifications may have been missed in between). Resolves once listening; returns the stop.
   */
  listen(channel: string, handler: (payload: string) => void, onGap?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
