import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline as streamPipeline, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AppContext } from '../context/app-context.js';
import type { Caller } from '../context/access.js';
import type { Database, Queryable } from '../db/database.js';
import type { ObjectStore } from '../storage/object-store.js';
import { errorMessage, isUserError, UserError } from '../util/errors.js';
import { sanitizeFilename, sniffAttachment, SNIFF_BYTES, type AttachmentContentType } from './attachment-sniff.js';
import { CLOSED, type Status } from './model.js';
import { notFound } from './store.js';

/**
 * Attachments of declarations (photos, PDF, GML and DXF extracts). An upload streams to a scratch
 * file under `${dataDir}/tmp` while its SHA-256 and size are computed (never more than the limit
 * is read, nothing held in memory), is sniffed (attachment-sniff.ts), then stored in the
 * intermediate tier under `declarations/<id>/attachments/<sha256>` — a key the user's file name
 * never enters — and recorded in `declaration_attachments`. A refused upload (too big, wrong
 * kind, too many, not allowed) leaves nothing in the tier nor in the table. Reads check the stored
 * size (and, while streaming, the SHA-256) against the record.
 */

export interface Attachment {
  id: number;
  filename: string;
  contentType: AttachmentContentType;
  size: number;
  sha256: string;
  createdAt: string;
}

export interface AttachmentRecord extends Attachment {
  declarationId: number;
  storageKey: string;
  uploaderActor: string;
  uploaderUserId: number | null;
}

interface Row {
  id: string;
  declaration_id: string;
  filename: string;
  content_type: AttachmentContentType;
  size: string;
  sha256: string;
  storage_key: string;
  uploader_actor: string;
  uploader_user_id: string | null;
  created_at: Date | string;
}

const COLUMNS = `id::text, declaration_id::text, filename, content_type, size::text, sha256, storage_key, uploader_actor, uploader_user_id::text, created_at`;

function toRecord(r: Row): AttachmentRecord {
  return {
    id: Number(r.id),
    declarationId: Number(r.declaration_id),
    filename: r.filename,
    contentType: r.content_type,
    size: Number(r.size),
    sha256: r.sha256,
    createdAt: new Date(r.created_at).toISOString(),
    storageKey: r.storage_key,
    uploaderActor: r.uploader_actor,
    uploaderUserId: r.uploader_user_id === null ? null : Number(r.uploader_user_id),
  };
}

/** The public part of a record (what the detail of a declaration lists). */
export const publicAttachment = (a: AttachmentRecord): Attachment => ({ id: a.id, filename: a.filename, contentType: a.contentType, size: a.size, sha256: a.sha256, createdAt: a.createdAt });

export const attachmentKey = (declarationId: number, sha256: string) => `declarations/${declarationId}/attachments/${sha256}`;

/** The live (not deleted) attachments of a declaration, oldest first. */
export async function listAttachments(db: Queryable, declarationId: number): Promise<Attachment[]> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM declaration_attachments WHERE declaration_id = $1 AND deleted_at IS NULL ORDER BY id`, [declarationId]);
  return rows.map((r) => publicAttachment(toRecord(r)));
}

/** The SQL of `declaration_attachments`; nothing else writes it. */
export class AttachmentStore {
  constructor(readonly db: Database) {}

  async get(declarationId: number, id: number, tx: Queryable = this.db): Promise<AttachmentRecord | null> {
    const { rows } = await tx.query<Row>(`SELECT ${COLUMNS} FROM declaration_attachments WHERE id = $1 AND declaration_id = $2 AND deleted_at IS NULL`, [id, declarationId]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Live attachments of a declaration and whether one has these bytes already. */
  async live(declarationId: number, sha256: string, tx: Queryable = this.db): Promise<{ count: number; sameBytes: number | null }> {
    const { rows } = await tx.query<{ n: number; same: string | null }>(
      `SELECT count(*)::int AS n, (array_agg(id::text) FILTER (WHERE sha256 = $2))[1] AS same FROM declaration_attachments WHERE declaration_id = $1 AND deleted_at IS NULL`,
      [declarationId, sha256],
    );
    return { count: rows[0]?.n ?? 0, sameBytes: rows[0]?.same ? Number(rows[0].same) : null };
  }

  async insert(tx: Queryable, a: Omit<AttachmentRecord, 'id' | 'createdAt'>): Promise<AttachmentRecord> {
    const { rows } = await tx.query<Row>(
      `INSERT INTO declaration_attachments (declaration_id, filename, content_type, size, sha256, storage_key, uploader_actor, uploader_user_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [a.declarationId, a.filename, a.contentType, a.size, a.sha256, a.storageKey, a.uploaderActor, a.uploaderUserId],
    );
    return toRecord(rows[0] as Row);
  }

  async markDeleted(tx: Queryable, id: number, by: string): Promise<void> {
    await tx.query(`UPDATE declaration_attachments SET deleted_at = now(), deleted_by = $2 WHERE id = $1 AND deleted_at IS NULL`, [id, by]);
  }

  /** Whether a live attachment still uses this storage key. */
  async keyInUse(key: string, tx: Queryable = this.db): Promise<boolean> {
    return (await tx.query(`SELECT 1 FROM declaration_attachments WHERE storage_key = $1 AND deleted_at IS NULL LIMIT 1`, [key])).rows.length > 0;
  }

  /** The declaration's status and author, its row locked until the transaction ends (404 when none). */
  async lockDeclaration(tx: Queryable, id: number): Promise<Owner> {
    const { rows } = await tx.query<OwnerRow>(`SELECT status, author_user_id::text, author_actor FROM declarations WHERE id = $1 FOR UPDATE`, [id]);
    if (!rows[0]) throw notFound(id);
    return owner(rows[0]);
  }

  async declaration(id: number): Promise<Owner> {
    const { rows } = await this.db.query<OwnerRow>(`SELECT status, author_user_id::text, author_actor FROM declarations WHERE id = $1`, [id]);
    if (!rows[0]) throw notFound(id);
    return owner(rows[0]);
  }
}

interface Owner {
  status: Status;
  authorUserId: number | null;
  authorActor: string;
}
interface OwnerRow {
  status: Status;
  author_user_id: string | null;
  author_actor: string;
}
const owner = (r: OwnerRow): Owner => ({ status: r.status, authorUserId: r.author_user_id === null ? null : Number(r.author_user_id), authorActor: r.author_actor });

/**
 * The parts of a multipart upload, as @fastify/multipart yields them: one file part named `file`;
 * other fields are ignored. The reader stops a file at `limits.maxBytes` and sets `truncated`.
 */
export type UploadPart =
  | { type: 'file'; fieldname: string; filename: string; file: Readable & { truncated?: boolean } }
  | { type: 'field'; fieldname: string };

export interface AttachmentLimits {
  maxBytes: number;
  maxPerDeclaration: number;
}

const isModerator = (caller: Caller) => caller.roles.has('moderator') || caller.roles.has('platform-admin');
const isAuthor = (caller: Caller, d: Owner) => (d.authorUserId !== null && caller.userId === d.authorUserId) || caller.id === d.authorActor;

export const tooLarge = (maxBytes: number) =>
  new UserError('attachment-too-large', `The file is larger than ${formatBytes(maxBytes)}, the largest attachment accepted: nothing was stored.`, {
    status: 413,
    hint: 'Reduce the photo or split the extract (the limit is declarations.attachments.maxBytes).',
  });

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / (1024 * 1024)) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KiB`;
  return `${n} bytes`;
}

const SCRATCH_MAX_AGE_MS = 24 * 3_600_000;

const storageFailed = () => new UserError('attachment-storage', 'The attachment storage did not answer as expected; nothing was changed. Try again later.', { status: 503 });

export class AttachmentService {
  readonly store: AttachmentStore;
  private readonly tier: ObjectStore;
  private readonly scratch: string;

  constructor(
    readonly ctx: AppContext,
    readonly limits: AttachmentLimits = ctx.config.declarations.attachments,
  ) {
    this.store = new AttachmentStore(ctx.db);
    this.tier = ctx.tiers.intermediate;
    this.scratch = path.join(ctx.config.dataDir, 'tmp', 'attachments');
  }

  /**
   * Checks the caller may attach to the declaration (author while it is open, or a moderator) and
   * that it has room for one more. Called before the body is read, and again under lock.
   */
  private checkMayAttach(caller: Caller, id: number, d: Owner, count: number): void {
    if (!isModerator(caller)) {
      if (!isAuthor(caller, d)) throw new UserError('forbidden', `Only the author of declaration ${id} or a moderator may attach files to it.`, { status: 403 });
      if (CLOSED.has(d.status)) throw new UserError('declaration-closed', `Declaration ${id} is ${d.status}: its author can no longer attach files (a moderator can, or reopen it).`, { status: 409 });
    }
    if (count >= this.limits.maxPerDeclaration) {
      throw new UserError('too-many-attachments', `Declaration ${id} already has ${count} attachments, the most it may have: nothing was stored.`, { status: 409, hint: 'Delete an attachment first, or put several photos in one PDF.' });
    }
  }

  /** Before reading the upload: 404, 403, 409 as soon as they can be told. */
  async precheck(caller: Caller, id: number): Promise<void> {
    const d = await this.store.declaration(id);
    const { count } = await this.store.live(id, '');
    this.checkMayAttach(caller, id, d, count);
  }

  /**
   * Receives the one file of an upload (the whole request is read before anything is stored, so a
   * second file or a broken body stores nothing), sniffs it, stores it, records it.
   */
  async upload(caller: Caller, id: number, parts: AsyncIterable<UploadPart>, origin: { ip?: string } = {}): Promise<Attachment> {
    await this.precheck(caller, id);
    await mkdir(this.scratch, { recursive: true });
    this.sweepScratch();
    const scratchFile = path.join(this.scratch, `upload-${randomUUID()}`);
    try {
      let received: { filename: string; size: number; sha256: string; head: Buffer } | undefined;
      try {
        for await (const part of parts) {
          if (part.type !== 'file') continue;
          if (part.fieldname !== 'file' || received) {
            part.file.resume();
            throw new UserError('invalid-upload', received ? 'Send one file per request: nothing was stored.' : `The file part must be named "file" (it is named "${part.fieldname.slice(0, 40)}"): nothing was stored.`, { status: 400 });
          }
          received = { filename: sanitizeFilename(part.filename), ...(await this.receive(part.file, scratchFile)) };
        }
      } catch (e) {
        throw uploadError(e, this.limits.maxBytes);
      }
      if (!received) throw new UserError('invalid-upload', 'No file in the request: send multipart/form-data with one part named "file".', { status: 400 });
      return await this.commit(caller, id, scratchFile, received, origin);
    } finally {
      await rm(scratchFile, { force: true });
    }
  }

  private async commit(caller: Caller, id: number, scratchFile: string, received: { filename: string; size: number; sha256: string; head: Buffer }, origin: { ip?: string }): Promise<Attachment> {
    const { filename, size, sha256, head } = received;
    if (size === 0) throw new UserError('empty-attachment', 'The file is empty: nothing was stored.', { status: 400 });
    const kind = await sniffAttachment(head, filename);
    const key = attachmentKey(id, sha256);
    // Cheap refusals before the bytes go to the tier (checked again under lock below).
    const before = await this.store.live(id, sha256);
    if (before.sameBytes !== null) throw duplicate(id, before.sameBytes);
    await this.put(key, scratchFile, sha256, kind.contentType);
    let record: AttachmentRecord;
    try {
      record = await this.ctx.db.transaction(async (tx) => {
        const d = await this.store.lockDeclaration(tx, id);
        const live = await this.store.live(id, sha256, tx);
        if (live.sameBytes !== null) throw duplicate(id, live.sameBytes);
        this.checkMayAttach(caller, id, d, live.count);
        const r = await this.store.insert(tx, { declarationId: id, filename, contentType: kind.contentType, size, sha256, storageKey: key, uploaderActor: caller.id, uploaderUserId: caller.userId ?? null });
        // A delete of the same bytes (deletes remove bytes under this lock) may have come between
        // our put and this lock: put them back.
        if ((await this.tier.head(key).catch(() => null))?.bytes !== size) await this.put(key, scratchFile, sha256, kind.contentType);
        await tx.query(`UPDATE declarations SET updated_at = now() WHERE id = $1`, [id]);
        await this.ctx.audit.record(caller, { action: 'declaration.attachment.add', target: `declaration:${id}`, details: { attachment: r.id, filename, contentType: kind.contentType, size, sha256 }, ...(origin.ip ? { ip: origin.ip } : {}) }, tx);
        return r;
      });
    } catch (e) {
      // Refused under lock: take the bytes back unless a live attachment uses them.
      if (!(await this.store.keyInUse(key).catch(() => true))) await this.tier.delete(key).catch(() => undefined);
      throw e;
    }
    this.ctx.log.info({ declaration: id, attachment: record.id, size, contentType: kind.contentType, by: caller.id }, 'declaration attachment added');
    return publicAttachment(record);
  }

  private lastSweep = 0;

  /**
   * Removes scratch files a crashed process left (older than a day: no upload lasts that long), at
   * most once an hour, in the background.
   */
  private sweepScratch(now = Date.now()): void {
    if (now - this.lastSweep < 3_600_000) return;
    this.lastSweep = now;
    const sweep = async () => {
      for (const name of await readdir(this.scratch)) {
        const file = path.join(this.scratch, name);
        const st = await stat(file).catch(() => null);
        if (st?.isFile() && now - st.mtimeMs > SCRATCH_MAX_AGE_MS) await rm(file, { force: true });
      }
    };
    sweep().catch((e: unknown) => this.ctx.log.warn({ err: errorMessage(e) }, 'declaration attachments: scratch sweep failed'));
  }

  /** Streams a file to the scratch file, hashing and counting; 413 past the limit. */
  private async receive(stream: Readable & { truncated?: boolean }, file: string): Promise<{ size: number; sha256: string; head: Buffer }> {
    const hash = createHash('sha256');
    const headChunks: Buffer[] = [];
    let headBytes = 0;
    let size = 0;
    const max = this.limits.maxBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > max) return done(tooLarge(max));
        hash.update(chunk);
        if (headBytes < SNIFF_BYTES) {
          const piece = chunk.subarray(0, SNIFF_BYTES - headBytes);
          headChunks.push(Buffer.from(piece));
          headBytes += piece.length;
        }
        done(null, chunk);
      },
    });
    // The multipart reader stops the file at the limit and says so: stop at once, without reading
    // the rest of the body (the answer closes the connection).
    const onLimit = () => meter.destroy(tooLarge(max));
    stream.once('limit', onLimit);
    try {
      await pipeline(stream, meter, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    } finally {
      stream.off('limit', onLimit);
    }
    if (stream.truncated) throw tooLarge(max);
    return { size, sha256: hash.digest('hex'), head: Buffer.concat(headChunks) };
  }

  private async put(key: string, file: string, sha256: string, contentType: string): Promise<void> {
    try {
      await this.tier.put(key, { file }, { expectedSha256: sha256, contentType, metadata: { kind: 'declaration-attachment' } });
    } catch (e) {
      this.ctx.log.error({ err: errorMessage(e), key }, 'declaration attachment: the intermediate tier refused the bytes');
      throw storageFailed();
    }
  }

  /** The record of a live attachment (404 for an unknown declaration or attachment, or a deleted one). */
  async get(declarationId: number, id: number): Promise<AttachmentRecord> {
    await this.store.declaration(declarationId);
    const a = await this.store.get(declarationId, id);
    if (!a) throw attachmentNotFound(declarationId, id);
    return a;
  }

  /**
   * The bytes of an attachment, checked: the stored size (and the SHA-256 where the tier keeps it)
   * must match the record before anything is sent, and the stream fails (the answer is cut short)
   * if the bytes read do not hash to the recorded SHA-256.
   */
  async open(a: AttachmentRecord): Promise<Readable> {
    let head;
    try {
      head = await this.tier.head(a.storageKey);
    } catch (e) {
      this.ctx.log.error({ err: errorMessage(e), key: a.storageKey }, 'declaration attachment: the intermediate tier did not answer');
      throw storageFailed();
    }
    if (!head || head.bytes !== a.size || (head.sha256 !== undefined && head.sha256 !== a.sha256)) {
      this.ctx.log.error({ key: a.storageKey, expected: { size: a.size, sha256: a.sha256 }, found: head ? { size: head.bytes, sha256: head.sha256 } : null }, 'declaration attachment: stored bytes missing or not matching their record');
      throw new UserError('attachment-unavailable', `The bytes of attachment ${a.id} are missing or damaged in storage; the operators have been told.`, { status: 503 });
    }
    let source: Readable;
    try {
      source = await this.tier.get(a.storageKey);
    } catch (e) {
      this.ctx.log.error({ err: errorMessage(e), key: a.storageKey }, 'declaration attachment: could not be read');
      throw storageFailed();
    }
    const hash = createHash('sha256');
    let seen = 0;
    const log = this.ctx.log;
    const check = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        seen += chunk.length;
        hash.update(chunk);
        if (seen > a.size) return done(new Error('attachment longer than recorded'));
        done(null, chunk);
      },
      flush(done) {
        const sha = hash.digest('hex');
        if (seen !== a.size || sha !== a.sha256) {
          log.error({ key: a.storageKey, seen, sha }, 'declaration attachment: bytes read do not match their record');
          return done(new Error('attachment bytes do not match their record'));
        }
        done();
      },
    });
    // Either side failing or closing early (the client went away) releases the other.
    streamPipeline(source, check, () => undefined);
    return check;
  }

  /** Deletes an attachment: its author while the declaration is submitted, or a moderator. */
  async delete(caller: Caller, declarationId: number, id: number, origin: { ip?: string } = {}): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      const d = await this.store.lockDeclaration(tx, declarationId);
      const a = await this.store.get(declarationId, id, tx);
      if (!a) throw attachmentNotFound(declarationId, id);
      if (!isModerator(caller)) {
        if (!isAuthor(caller, d)) throw new UserError('forbidden', `Only the author of declaration ${declarationId} or a moderator may delete its attachments.`, { status: 403 });
        if (d.status !== 'submitted') throw new UserError('forbidden', `Declaration ${declarationId} is ${d.status}: its author may delete attachments only while it is submitted; ask a moderator.`, { status: 403 });
      }
      await this.store.markDeleted(tx, id, caller.id);
      await tx.query(`UPDATE declarations SET updated_at = now() WHERE id = $1`, [declarationId]);
      await this.ctx.audit.record(caller, { action: 'declaration.attachment.delete', target: `declaration:${declarationId}`, details: { attachment: id, filename: a.filename, sha256: a.sha256 }, ...(origin.ip ? { ip: origin.ip } : {}) }, tx);
      // Under the declaration's lock, so that an upload of the same bytes cannot slip in between.
      if (!(await this.store.keyInUse(a.storageKey, tx))) {
        try {
          await this.tier.delete(a.storageKey);
        } catch (e) {
          this.ctx.log.error({ err: errorMessage(e), key: a.storageKey }, 'declaration attachment: the bytes could not be deleted');
          throw storageFailed();
        }
      }
    });
    this.ctx.log.info({ declaration: declarationId, attachment: id, by: caller.id }, 'declaration attachment deleted');
  }
}

/** What went wrong while reading an upload, as a UserError (limits of the multipart reader included). */
function uploadError(e: unknown, maxBytes: number): UserError {
  if (isUserError(e)) return e;
  const code = (e as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxBytes);
  if (code === 'FST_FILES_LIMIT') return new UserError('invalid-upload', 'Send one file per request: nothing was stored.', { status: 400 });
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') return new UserError('invalid-upload', 'Too many parts in the upload: send one part named "file".', { status: 400 });
  return new UserError('invalid-upload', `The upload did not arrive whole or is not valid multipart/form-data (${errorMessage(e).slice(0, 100)}): nothing was stored.`, { status: 400 });
}

function duplicate(declarationId: number, existing: number): UserError {
  return new UserError('duplicate-attachment', `Declaration ${declarationId} already has this file (attachment ${existing}): nothing was stored.`, { status: 409 });
}

function attachmentNotFound(declarationId: number, id: number): UserError {
  return new UserError('not-found', `Declaration ${declarationId} has no attachment ${id}.`, { status: 404 });
}
