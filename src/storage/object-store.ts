/**
 * The one small interface behind every storage tier (DESIGN §4): hot pyramid, intermediate masters,
 * NAS mirror, cold archive. Adapters: `LocalObjectStore` (filesystem) and `S3ObjectStore`.
 *
 * Contract shared by every adapter (enforced by `object-store.contract.ts`):
 * - Keys are `/`-separated relative paths, checked by `validateKey` (the only place that does it).
 * - `put` is atomic: readers see the old object or the complete new one, never a partial one; a
 *   failed put (source error, checksum mismatch, crash) leaves no object and nothing visible in `list`.
 * - `put` computes the SHA-256 of the bytes while they stream; big sources are never held in memory.
 * - `get`, `getRange`, `copy` on a missing key throw `ObjectNotFoundError`; `head` answers `null`;
 *   `delete` of a missing key is a no-op (idempotent, like S3).
 * - `list(prefix)` yields every object whose key starts with `prefix` (a plain string prefix, as in
 *   S3), in ascending order of the keys' UTF-8 bytes (S3 order), so two stores can be merge-compared.
 * - Configuration, credential, connectivity and capacity problems are `UserError`s with a hint.
 */
import type { Readable } from 'node:stream';
import { UserError } from '../util/errors.js';

/** Bytes to store: a stream, bytes in memory, or a local file (read, never moved). */
export type PutSource = Readable | Buffer | Uint8Array | { file: string };

export interface PutOptions {
  /** MIME type (S3 Content-Type). Not kept by the local adapter. */
  contentType?: string;
  /** User metadata (ASCII keys and values). Not kept by the local adapter. `sha256` is ours. */
  metadata?: Record<string, string>;
  /** S3 storage class (e.g. `STANDARD`, `STANDARD_IA`, `GLACIER`, `DEEP_ARCHIVE`). Ignored locally. */
  storageClass?: string;
  /** Lowercase hex SHA-256 the bytes must have; on mismatch nothing is stored and `ChecksumMismatchError` is thrown. */
  expectedSha256?: string;
}

export interface PutResult {
  key: string;
  /** Number of bytes stored. */
  bytes: number;
  /** Lowercase hex SHA-256 of the bytes stored (computed while they streamed). */
  sha256: string;
}

export interface RestoreStatus {
  /** `true` while an archive restore is running; `false` once a restored copy is readable. */
  ongoing: boolean;
  /** When the restored copy goes away again (only when `ongoing` is false). */
  expiry?: Date;
}

export interface HeadResult {
  bytes: number;
  /** Our SHA-256, where the backend keeps it (S3: `x-amz-meta-sha256`; local: not kept, see LocalObjectStore). */
  sha256?: string;
  lastModified: Date;
  /** Backend storage class (S3 reports `STANDARD` when the header is absent). */
  storageClass?: string;
  /** Archive restore state (S3 `x-amz-restore`); absent when no restore was ever requested. */
  restore?: RestoreStatus;
  contentType?: string;
  /** User metadata, without our `sha256`. */
  metadata?: Record<string, string>;
}

export interface ListEntry {
  key: string;
  bytes: number;
  lastModified: Date;
}

export interface ObjectStore {
  put(key: string, source: PutSource, opts?: PutOptions): Promise<PutResult>;
  /** The whole object as a stream. Throws `ObjectNotFoundError` before returning when the key is missing. */
  get(key: string): Promise<Readable>;
  /** Exactly `length` bytes from `offset`; a range not entirely inside the object throws `RangeNotSatisfiableError`. */
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  head(key: string): Promise<HeadResult | null>;
  list(prefix: string): AsyncIterable<ListEntry>;
  /** Server-side copy, metadata included. The destination is replaced atomically. */
  copy(fromKey: string, toKey: string): Promise<void>;
  /**
   * Local disk only: moves a finished file of the same filesystem into the store (rename + fsync, no
   * copy); throws with code EXDEV across filesystems. Absent on remote stores: `put` the file.
   */
  adopt?(key: string, file: string): Promise<{ key: string; bytes: number }>;
  delete(key: string): Promise<void>;
  /** A time-limited URL that GETs the object without credentials; only on backends that have one. */
  presignedGetUrl?(key: string, expiresSeconds: number): Promise<string>;
  /** Where this store points, for messages: `file:///srv/pcrs/hot/` or `s3://bucket/prefix/`. */
  describe(): string;

  // Optional capabilities: a caller tests for the method (`if (store.localPath)`), never for the
  // adapter's class, so that wrappers (FaultyStore) and future adapters take part.

  /**
   * The object's path on a local filesystem, on stores that are one: readers then use file handles
   * (positional reads, GDAL in place, renames) instead of copies. Validates the key like every call.
   */
  localPath?(key: string): string;
  /**
   * A directory on the same filesystem as the paths `localPath` gives, never listed and never part
   * of an object, where a caller prepares files that it then renames to `localPath(key)`: an atomic
   * publish without a copy. Only on stores with `localPath`; the directory may not exist yet (the
   * caller creates it and what it puts there, and cleans up after itself).
   */
  stagingDir?(): string;
  /**
   * Removes the temporaries of writes that crashed (kill -9, power loss) under `prefix` (default:
   * everywhere): those of dead processes of this host at once, others once last modified more than
   * `olderThanMs` ago (default one day, so running writes are never touched). Returns how many were
   * removed. Only on stores that leave temporaries a sweep must find (local: temp files next to
   * their final name; S3 leaves its temporary keys to a bucket lifecycle rule).
   */
  removeStaleTemporaries?(olderThanMs?: number, prefix?: string): Promise<number>;
  /**
   * Asks for a readable copy of an object in an archive storage class, kept `days` days (S3
   * RestoreObject, retrieval `tier`, default `Standard`). Resolves to `started` (a restore began),
   * `already-in-progress` (someone asked before and it is still running: not an error) or
   * `extended` (a restored copy exists; its expiry was extended). Progress shows in `head().restore`.
   * Only on stores with archive classes.
   */
  requestRestore?(key: string, days: number, tier?: RestoreTier): Promise<RestoreRequestOutcome>;
}

/** S3 retrieval tiers of a restore (speed against cost). */
export type RestoreTier = 'Expedited' | 'Standard' | 'Bulk';

/** What `requestRestore` did. */
export type RestoreRequestOutcome = 'started' | 'already-in-progress' | 'extended';

export type StoreOperation = 'put' | 'get' | 'getRange' | 'head' | 'list' | 'copy' | 'delete' | 'presignedGetUrl' | 'removeStaleTemporaries' | 'requestRestore';

// ---------------------------------------------------------------------------------------------
// Keys

/**
 * Segments starting with this are reserved for the adapters' own temporary objects (local temp files
 * next to their final name, S3 temporary upload keys). They are rejected as keys and hidden by `list`.
 */
export const RESERVED_SEGMENT_PREFIX = '.pcrs-tmp';

/** S3's limit; also keeps keys portable to every tier. */
export const MAX_KEY_BYTES = 1024;
/** NAME_MAX of common filesystems. */
export const MAX_SEGMENT_BYTES = 255;

export class InvalidKeyError extends UserError {
  readonly key: string;
  constructor(key: string, reason: string) {
    super('invalid-storage-key', `Invalid storage key ${JSON.stringify(key)}: ${reason}.`, {
      status: 400,
      hint: 'Keys are relative paths such as "46/2025/dalles/46-2025-0575-6374-LA93-0M05-RVB.tif": "/" between non-empty segments, no "." or ".." segments, no backslash or control characters.',
    });
    this.name = 'InvalidKeyError';
    this.key = key;
  }
}

// C0 and C1 controls, DEL, Unicode line/paragraph separators, lone surrogates (not encodable in UTF-8).
const FORBIDDEN_CHARS = /[\p{Cc}\u2028\u2029]|\p{Cs}/u;

function checkPath(key: string, what: 'key' | 'prefix'): void {
  if (typeof key !== 'string') throw new InvalidKeyError(String(key), `${what} must be a string`);
  if (FORBIDDEN_CHARS.test(key)) throw new InvalidKeyError(key, 'control characters (including NUL and newlines) are not allowed');
  if (key.includes('\\')) throw new InvalidKeyError(key, 'backslashes are not allowed; use "/" between segments');
  if (key.startsWith('/')) throw new InvalidKeyError(key, `a ${what} is relative and must not start with "/"`);
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes in UTF-8`);
}

function checkSegment(key: string, segment: string, complete: boolean): void {
  if (segment === '..') throw new InvalidKeyError(key, '".." segments are not allowed');
  if (complete && segment === '') throw new InvalidKeyError(key, 'empty segments ("//" or a trailing "/") are not allowed');
  if (complete && segment === '.') throw new InvalidKeyError(key, '"." segments are not allowed');
  if (segment.startsWith(RESERVED_SEGMENT_PREFIX)) throw new InvalidKeyError(key, `segments starting with "${RESERVED_SEGMENT_PREFIX}" are reserved for temporary files`);
  if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) throw new InvalidKeyError(key, `segment longer than ${MAX_SEGMENT_BYTES} bytes`);
}

/**
 * Checks an object key and returns it unchanged. The single gatekeeper of every adapter: once a key
 * passed here, joining its segments under a root directory cannot leave that directory.
 */
export function validateKey(key: string): string {
  checkPath(key, 'key');
  if (key === '') throw new InvalidKeyError(key, 'the key is empty');
  for (const segment of key.split('/')) checkSegment(key, segment, true);
  return key;
}

/**
 * Checks a `list` prefix: `''` (everything), a folder (`a/b/`) or any string prefix of a key
 * (`a/b/46-2025-`). The same rules as keys, except that it may be empty or end with `/`.
 */
export function validatePrefix(prefix: string): string {
  checkPath(prefix, 'prefix');
  if (prefix === '') return prefix;
  const segments = prefix.split('/');
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    // The last segment may be partial ('' after a trailing "/", or the start of a name).
    checkSegment(prefix, segment, !last);
  });
  return prefix;
}

/** True for keys or names of the adapters' temporary objects (never returned by `list`). */
export function isReservedKey(key: string): boolean {
  return key.split('/').some((s) => s.startsWith(RESERVED_SEGMENT_PREFIX));
}

/** Compares keys by their UTF-8 bytes (S3 listing order). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Normalises an expected SHA-256 (hex, any case) to lowercase, or throws a UserError. */
export function normalizeSha256(value: string): string {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!SHA256_HEX.test(v)) {
    throw new UserError('invalid-sha256', `Invalid SHA-256 ${JSON.stringify(value)}: expected 64 hexadecimal digits.`, { status: 400 });
  }
  return v;
}

/** Checks `getRange` arguments (programming errors, not user errors). */
export function checkRangeArgs(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`getRange: offset must be a non-negative integer, got ${offset}`);
  if (!Number.isSafeInteger(length) || length < 1) throw new RangeError(`getRange: length must be a positive integer, got ${length}`);
}

/** Checks a presigned URL lifetime: SigV4 allows 1 s to 7 days. */
export function checkExpiresSeconds(expiresSeconds: number): void {
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > 604_800) {
    throw new RangeError(`presignedGetUrl: expiresSeconds must be an integer between 1 and 604800 (7 days), got ${expiresSeconds}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Errors (all UserErrors: a user or an operator can act on each of them)

export class ObjectNotFoundError extends UserError {
  readonly key: string;
  constructor(key: string, where: string, options: { cause?: unknown } = {}) {
    super('object-not-found', `No object "${key}" in ${where}.`, { status: 404, ...options });
    this.name = 'ObjectNotFoundError';
    this.key = key;
  }
}

/** The object is in an archive storage class and has no restored copy yet (S3 403 InvalidObjectState). */
export class ObjectNotRestoredError extends UserError {
  readonly key: string;
  constructor(key: string, where: string, options: { cause?: unknown } = {}) {
    super('object-not-restored', `Object "${key}" in ${where} is archived and not restored: it cannot be read yet.`, {
      status: 409,
      hint: 'Request a restore from the cold tier (RestoreObject) and retry once head() reports restore.ongoing = false.',
      ...options,
    });
    this.name = 'ObjectNotRestoredError';
    this.key = key;
  }
}

export class RangeNotSatisfiableError extends UserError {
  readonly key: string;
  readonly offset: number;
  readonly length: number;
  /** Size of the object, when the backend told it. */
  readonly objectBytes: number | undefined;
  constructor(key: string, offset: number, length: number, objectBytes: number | undefined, options: { cause?: unknown } = {}) {
    const size = objectBytes === undefined ? '' : ` (the object has ${objectBytes} bytes)`;
    super('range-not-satisfiable', `Range ${offset}–${offset + length - 1} of "${key}" is past the end of the object${size}.`, { status: 416, ...options });
    this.name = 'RangeNotSatisfiableError';
    this.key = key;
    this.offset = offset;
    this.length = length;
    this.objectBytes = objectBytes;
  }
}

export class ChecksumMismatchError extends UserError {
  readonly key: string;
  readonly expected: string;
  readonly actual: string;
  constructor(key: string, expected: string, actual: string) {
    super('checksum-mismatch', `SHA-256 of the data for "${key}" is ${actual}, expected ${expected}; nothing was stored.`, {
      status: 422,
      hint: 'The source is corrupt or changed while it was read, or the expected checksum is wrong. Check the source file and its manifest, then retry.',
    });
    this.name = 'ChecksumMismatchError';
    this.key = key;
    this.expected = expected;
    this.actual = actual;
  }
}
