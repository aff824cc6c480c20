/**
 * S3 adapter of `ObjectStore` (AWS, OVH, Ceph RGW, MinIO…): the intermediate tier of the masters,
 * the cold tier (archive storage classes) and optionally the hot tier.
 *
 * Our SHA-256 is stored in the object's user metadata (`x-amz-meta-sha256`), because S3 ETags are
 * not file digests (multipart ETags are digests of part digests) and the S3 "additional checksums"
 * are neither universal (Ceph RGW 16 lacks them) nor whole-object SHA-256 for multipart uploads.
 * Metadata must be sent when an upload starts, but a stream's digest is only known at its end, so:
 *
 * - `Buffer`: hashed in memory, then uploaded with the metadata.
 * - `{ file }`: hashed in a first read (an `expectedSha256` mismatch fails before any byte is sent),
 *   then uploaded with the metadata while being hashed again: if the file changed in between, the
 *   upload is aborted before it completes and `ChecksumMismatchError` is thrown.
 * - stream with `expectedSha256`: uploaded in one pass with the expected digest as metadata; the
 *   bytes are hashed on the way and the upload is aborted before completion on a mismatch.
 * - stream without `expectedSha256`: uploaded to a temporary key `<prefix>.pcrs-tmp/<uuid>` (always
 *   STANDARD class, so it can be copied), then copied server-side to the final key with the
 *   metadata replaced (digest, content type, storage class), then the temporary key is deleted. This
 *   costs a server-side copy but never buffers the stream and never exposes an object without its
 *   digest. Temporary keys of killed processes should be expired by a bucket lifecycle rule on the
 *   `.pcrs-tmp/` prefix (and one that aborts incomplete multipart uploads after a day).
 *
 * Sources larger than one part are sent as multipart uploads (our own uploader: parts read one at a
 * time into part-sized buffers, at most `uploadConcurrency` in flight, each part retried by the SDK's
 * standard retry strategy — exponential backoff with jitter — since its body is a replayable Buffer;
 * the first failure stops reading, aborts the upload and is the error thrown). The part size grows
 * for files to stay within 10 000 parts, and doubles every 2 000 parts for streams of unknown size.
 * Objects larger than `multipartCopyThreshold` (default 5 GiB, CopyObject's limit) are copied with
 * UploadPartCopy.
 *
 * Checksums: `requestChecksumCalculation`/`responseChecksumValidation` are `WHEN_REQUIRED`, because
 * servers such as Ceph RGW 16 reject the SDK's new default CRC32 trailers.
 */
import { randomUUID, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  RestoreObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { UserError } from '../util/errors.js';
import {
  checkExpiresSeconds,
  checkRangeArgs,
  ChecksumMismatchError,
  isReservedKey,
  normalizeSha256,
  ObjectNotFoundError,
  ObjectNotRestoredError,
  RangeNotSatisfiableError,
  RESERVED_SEGMENT_PREFIX,
  validateKey,
  validatePrefix,
  type HeadResult,
  type ListEntry,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type PutSource,
  type RestoreRequestOutcome,
  type RestoreStatus,
  type RestoreTier,
} from './object-store.js';
import { HashingSource, hashFile, isFileSource } from './source.js';

export interface S3ObjectStoreConfig {
  /** Endpoint URL for non-AWS servers, e.g. `http://127.0.0.1:7480` (Ceph RGW) or `https://s3.gra.io.cloud.ovh.net`. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket (a "folder"), e.g. `pcrs/masters/`. */
  prefix?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by most non-AWS servers. */
  forcePathStyle?: boolean;
  /** Static credentials; without them the SDK's default chain is used (env, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Storage class of new objects unless `put` says otherwise (e.g. `GLACIER` for the cold tier). */
  storageClass?: string;
  /** Size of multipart upload parts (default 8 MiB; S3 minimum 5 MiB). Sources not larger go in one PutObject. */
  partSize?: number;
  /** Parts uploaded at the same time (default 4). Memory used ≈ (concurrency + 1) × partSize. */
  uploadConcurrency?: number;
  /** Objects larger than this are copied part by part with UploadPartCopy (default 5 GiB, the CopyObject limit). */
  multipartCopyThreshold?: number;
  /** Part size of multipart copies (default 512 MiB; minimum 5 MiB). */
  copyPartSize?: number;
  /** Keys per ListObjectsV2 page (1–1000, default 1000). */
  listPageSize?: number;
  /** Time to establish a TCP/TLS connection (default 3 s). */
  connectTimeoutMs?: number;
  /** Time a socket may stay idle during a request (default 30 s). */
  socketTimeoutMs?: number;
  /** Attempts per request, including the first, with exponential backoff (default 3). */
  maxAttempts?: number;
  /** An existing client (its own settings then apply; endpoint/credential options above are ignored). */
  client?: S3Client;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3 limits. */
const MIN_PART = 5 * MiB;
const MAX_PART = 5 * GiB;
const MAX_PARTS = 10_000;
/** Streams of unknown size: the part size doubles every this many parts. */
const PARTS_PER_SIZE_STEP = 2_000;

/** Reads the usual S3 settings from the environment (S3_ENDPOINT, S3_REGION, S3_BUCKET, S3_PREFIX, S3_FORCE_PATH_STYLE, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_STORAGE_CLASS). */
export function s3ConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<S3ObjectStoreConfig> = {}): S3ObjectStoreConfig {
  const bucket = overrides.bucket ?? env.S3_BUCKET;
  if (!bucket) throw new UserError('storage-config', 'No S3 bucket configured.', { status: 503, hint: 'Set S3_BUCKET (and S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY).' });
  const cfg: S3ObjectStoreConfig = {
    region: env.S3_REGION || 'us-east-1',
    bucket,
    forcePathStyle: /^(1|true|yes)$/i.test(env.S3_FORCE_PATH_STYLE ?? ''),
  };
  if (env.S3_ENDPOINT) cfg.endpoint = env.S3_ENDPOINT;
  if (env.S3_PREFIX) cfg.prefix = env.S3_PREFIX;
  if (env.S3_ACCESS_KEY_ID) cfg.accessKeyId = env.S3_ACCESS_KEY_ID;
  if (env.S3_SECRET_ACCESS_KEY) cfg.secretAccessKey = env.S3_SECRET_ACCESS_KEY;
  if (env.S3_STORAGE_CLASS) cfg.storageClass = env.S3_STORAGE_CLASS;
  return { ...cfg, ...overrides };
}

/**
 * Parses `x-amz-restore`: `ongoing-request="true"`, or
 * `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`. Undefined when absent or unreadable.
 */
export function parseRestoreHeader(value: string | undefined | null): RestoreStatus | undefined {
  if (!value) return undefined;
  const ongoing = /ongoing-request\s*=\s*"?(true|false)"?/i.exec(value);
  if (!ongoing) return undefined;
  const status: RestoreStatus = { ongoing: ongoing[1]!.toLowerCase() === 'true' };
  const expiry = /expiry-date\s*=\s*"([^"]+)"/i.exec(value);
  if (expiry) {
    const d = new Date(expiry[1]!);
    if (!Number.isNaN(d.getTime())) status.expiry = d;
  }
  return status;
}

function encodeCopySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function checkMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(k)) throw new TypeError(`put: metadata key ${JSON.stringify(k)} must be ASCII letters, digits, ".", "_" or "-"`);
    if (typeof v !== 'string' || !/^[\x20-\x7e]*$/.test(v)) throw new TypeError(`put: metadata value of ${k} must be printable ASCII`);
    if (k.toLowerCase() === 'sha256') continue; // ours, computed
    out[k.toLowerCase()] = v;
  }
  return out;
}

interface ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  errors?: { code?: string }[];
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EPROTO', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']);

function networkCode(e: ErrorShape): string | undefined {
  if (e.code && NETWORK_CODES.has(e.code)) return e.code;
  const inner = e.errors?.find((x) => x.code && NETWORK_CODES.has(x.code));
  if (inner?.code) return inner.code;
  if (e.name === 'TimeoutError') return 'timeout';
  return undefined;
}

interface Part {
  PartNumber: number;
  ETag: string;
}

export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  /** Normalised key prefix: '' or ending with '/'. */
  readonly prefix: string;
  readonly endpoint: string;
  private readonly storageClass: string | undefined;
  private readonly accessKeyId: string | undefined;
  private readonly partSize: number;
  private readonly uploadConcurrency: number;
  private readonly multipartCopyThreshold: number;
  private readonly copyPartSize: number;
  private readonly listPageSize: number;
  private bucketVerified = false;

  constructor(config: S3ObjectStoreConfig) {
    if (!config.bucket) throw new UserError('storage-config', 'No S3 bucket configured.', { status: 503, hint: 'Set the bucket name of this storage tier.' });
    this.bucket = config.bucket;
    let prefix = (config.prefix ?? '').replace(/^\/+/, '');
    if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
    if (prefix !== '') validatePrefix(prefix);
    this.prefix = prefix;
    this.endpoint = config.endpoint ?? `AWS S3 (${config.region})`;
    this.storageClass = config.storageClass;
    this.accessKeyId = config.accessKeyId;
    this.partSize = config.partSize ?? 8 * MiB;
    if (this.partSize < MIN_PART || this.partSize > MAX_PART) throw new RangeError(`S3 partSize must be between 5 MiB and 5 GiB, got ${this.partSize}`);
    this.uploadConcurrency = Math.max(1, config.uploadConcurrency ?? 4);
    this.multipartCopyThreshold = config.multipartCopyThreshold ?? 5 * GiB;
    this.copyPartSize = config.copyPartSize ?? 512 * MiB;
    if (this.copyPartSize < MIN_PART || this.copyPartSize > MAX_PART) throw new RangeError(`S3 copyPartSize must be between 5 MiB and 5 GiB, got ${this.copyPartSize}`);
    this.listPageSize = config.listPageSize ?? 1000;
    if (!Number.isInteger(this.listPageSize) || this.listPageSize < 1 || this.listPageSize > 1000) throw new RangeError(`S3 listPageSize must be 1–1000, got ${this.listPageSize}`);
    if (config.endpoint !== undefined) {
      try {
        new URL(config.endpoint);
      } catch (e) {
        throw new UserError('storage-config', `Invalid S3 endpoint URL ${JSON.stringify(config.endpoint)}.`, { status: 503, hint: 'Use a full URL such as http://127.0.0.1:7480 or https://s3.gra.io.cloud.ovh.net.', cause: e });
      }
    }
    if ((config.accessKeyId === undefined) !== (config.secretAccessKey === undefined)) {
      throw new UserError('storage-config', 'S3 access key id and secret access key must be given together.', { status: 503, hint: 'Set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither to use the default AWS credential chain.' });
    }
    this.client =
      config.client ??
      new S3Client({
        region: config.region,
        ...(config.endpoint !== undefined && { endpoint: config.endpoint }),
        forcePathStyle: config.forcePathStyle ?? false,
        ...(config.accessKeyId !== undefined &&
          config.secretAccessKey !== undefined && {
            credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, ...(config.sessionToken !== undefined && { sessionToken: config.sessionToken }) },
          }),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: config.maxAttempts ?? 3,
        requestHandler: {
          connectionTimeout: config.connectTimeoutMs ?? 3_000,
          socketTimeout: config.socketTimeoutMs ?? 30_000,
          httpAgent: { keepAlive: true, maxSockets: 64 },
          httpsAgent: { keepAlive: true, maxSockets: 64 },
        },
      });
  }

  describe(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  /** Full S3 key of an object key (validated). */
  objectKey(key: string): string {
    return this.prefix + validateKey(key);
  }

  /** Releases the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }

  // -------------------------------------------------------------------------------------------
  // Errors

  private bucketMissing(cause: unknown): UserError {
    return new UserError('storage-bucket-missing', `S3 bucket "${this.bucket}" does not exist at ${this.endpoint}.`, {
      status: 503,
      hint: `Create the bucket (aws s3 mb s3://${this.bucket} --endpoint-url …, or in the provider's console) or fix the configured bucket name.`,
      cause,
    });
  }

  /** Turns SDK and network errors into the errors of the ObjectStore contract. */
  private mapError(err: unknown, op: string, key?: string): unknown {
    if (err instanceof UserError) return err;
    const e = (err ?? {}) as ErrorShape;
    const status = e.$metadata?.httpStatusCode;
    const where = this.describe();
    const what = key === undefined ? where : `"${key}" in ${where}`;
    switch (e.name) {
      case 'NoSuchBucket':
        return this.bucketMissing(err);
      case 'NoSuchKey':
      case 'NotFound':
        if (key !== undefined) return new ObjectNotFoundError(key, where, { cause: err });
        break;
      case 'InvalidObjectState':
        if (key !== undefined) return new ObjectNotRestoredError(key, where, { cause: err });
        break;
      case 'InvalidAccessKeyId':
        return new UserError('storage-credentials-rejected', `S3 at ${this.endpoint} does not know the access key${this.accessKeyId ? ` "${this.accessKeyId}"` : ''} (InvalidAccessKeyId).`, {
          status: 503,
          hint: 'Check S3_ACCESS_KEY_ID (and S3_ENDPOINT: keys of one provider are unknown to another).',
          cause: err,
        });
      case 'SignatureDoesNotMatch':
        return new UserError('storage-credentials-rejected', `S3 at ${this.endpoint} rejected the request signature: the secret key does not match the access key${this.accessKeyId ? ` "${this.accessKeyId}"` : ''} (SignatureDoesNotMatch).`, {
          status: 503,
          hint: 'Check S3_SECRET_ACCESS_KEY (copy it again, without spaces or quotes) and S3_REGION.',
          cause: err,
        });
      case 'RequestTimeTooSkewed':
        return new UserError('storage-clock-skew', `S3 at ${this.endpoint} rejected the request: this machine's clock is too far off.`, { status: 503, hint: 'Synchronise the clock (NTP, timedatectl set-ntp true).', cause: err });
      case 'AccessDenied':
      case 'AllAccessDisabled':
        return new UserError('storage-access-denied', `S3 denied ${op} of ${what} (AccessDenied).`, {
          status: 503,
          hint: `Give the access key the needed rights on bucket "${this.bucket}" (bucket policy / user policy: s3:GetObject, PutObject, DeleteObject, ListBucket…).`,
          cause: err,
        });
      case 'QuotaExceeded':
      case 'EntityTooLarge':
        return new UserError('storage-quota-exceeded', `S3 refused ${op} of ${what}: ${e.name} (${e.message ?? ''}).`, { status: 507, hint: 'Raise the bucket/user quota or free space, then retry.', cause: err });
      case 'InvalidStorageClass':
        return new UserError('storage-invalid-storage-class', `S3 at ${this.endpoint} does not offer the requested storage class for ${what}.`, {
          status: 503,
          hint: 'Use a storage class the provider supports (Ceph: one defined in the zone placement; AWS: STANDARD, STANDARD_IA, GLACIER, DEEP_ARCHIVE…).',
          cause: err,
        });
      case 'CredentialsProviderError':
        return new UserError('storage-credentials-missing', `No S3 credentials for ${where}: ${e.message ?? ''}`, { status: 503, hint: 'Set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or an AWS profile / instance role).', cause: err });
    }
    const net = networkCode(e);
    if (net !== undefined) {
      return new UserError('storage-unreachable', `Cannot reach the S3 endpoint ${this.endpoint} (${net === 'timeout' ? 'timed out' : net}) during ${op} of ${what}.`, {
        status: 503,
        hint: 'Check the endpoint URL (S3_ENDPOINT), that the S3 service is running and that this host can reach it (firewall, proxy, DNS, TLS certificate).',
        cause: err,
      });
    }
    if (status === 403) {
      // HEAD answers have no body, hence no error code: wrong credentials or missing permission.
      return new UserError('storage-access-denied', `S3 at ${this.endpoint} refused ${op} of ${what} (HTTP 403): wrong credentials or missing permission.`, {
        status: 503,
        hint: `Check S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY and the key's rights on bucket "${this.bucket}".`,
        cause: err,
      });
    }
    if (status !== undefined && status >= 500) {
      return new UserError('storage-unavailable', `S3 at ${this.endpoint} failed ${op} of ${what} after retries (HTTP ${status} ${e.name ?? ''}).`, { status: 503, hint: 'The S3 service is overloaded or failing; retry later and check its health.', cause: err });
    }
    return new Error(`S3 ${op} of ${what} failed: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`, { cause: err });
  }

  private async call<T>(op: string, key: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.mapError(e, op, key);
    }
  }

  /** Checks once that the bucket exists (HEAD answers have no error body, so a 404 alone is ambiguous). */
  async checkBucket(): Promise<void> {
    if (this.bucketVerified) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      const s = (e as ErrorShape).$metadata?.httpStatusCode;
      if (s === 404 || (e as ErrorShape).name === 'NotFound' || (e as ErrorShape).name === 'NoSuchBucket') throw this.bucketMissing(e);
      throw this.mapError(e, 'checking the bucket');
    }
    this.bucketVerified = true;
  }

  // -------------------------------------------------------------------------------------------
  // put

  async put(key: string, source: PutSource, opts: PutOptions = {}): Promise<PutResult> {
    const fullKey = this.objectKey(key);
    const expected = opts.expectedSha256 === undefined ? undefined : normalizeSha256(opts.expectedSha256);
    const metadata = checkMetadata(opts.metadata);
    const storageClass = opts.storageClass ?? this.storageClass;
    const common = {
      ...(opts.contentType !== undefined && { ContentType: opts.contentType }),
      ...(storageClass !== undefined && { StorageClass: storageClass as StorageClass }),
    };

    if (source instanceof Uint8Array) {
      const buf = Buffer.isBuffer(source) ? source : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
      const sha256 = createHash('sha256').update(buf).digest('hex');
      if (expected !== undefined && expected !== sha256) throw new ChecksumMismatchError(key, expected, sha256);
      const src = await HashingSource.open(buf, key, sha256);
      await this.upload(key, fullKey, src, { ...common, Metadata: { ...metadata, sha256 } }, buf.length);
      return { key, bytes: buf.length, sha256 };
    }

    if (isFileSource(source)) {
      const first = await hashFile(source.file);
      if (expected !== undefined && expected !== first.sha256) throw new ChecksumMismatchError(key, expected, first.sha256);
      const src = await HashingSource.open(source, key, first.sha256); // re-verified: the file must not change meanwhile
      await this.upload(key, fullKey, src, { ...common, Metadata: { ...metadata, sha256: first.sha256 } }, first.bytes);
      return { key, ...src.result() };
    }

    if (expected !== undefined) {
      const src = await HashingSource.open(source, key, expected);
      await this.upload(key, fullKey, src, { ...common, Metadata: { ...metadata, sha256: expected } });
      return { key, ...src.result() };
    }

    // Stream of unknown digest: temporary key, then server-side copy with the digest in the metadata.
    const tmpKey = `${this.prefix}${RESERVED_SEGMENT_PREFIX}/${randomUUID()}`;
    const src = await HashingSource.open(source, key);
    let uploaded = false;
    try {
      await this.upload(key, tmpKey, src, { Metadata: metadata });
      uploaded = true;
      const digest = src.result();
      await this.serverCopy(key, tmpKey, fullKey, digest.bytes, { ...common, Metadata: { ...metadata, sha256: digest.sha256 } });
      return { key, ...digest };
    } finally {
      // A failed upload left nothing (aborted); a lost answer may leave the temporary key to the lifecycle rule.
      if (uploaded) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: tmpKey })).catch(() => undefined);
    }
  }

  /**
   * Uploads a hashing source to `fullKey`: one PutObject when it fits in one part, else a multipart
   * upload. Nothing is committed unless the source was read to its end (and its digest verified).
   */
  private async upload(
    key: string,
    fullKey: string,
    src: HashingSource,
    params: { ContentType?: string; StorageClass?: StorageClass; Metadata: Record<string, string> },
    sizeHint?: number,
  ): Promise<void> {
    const base = sizeHint === undefined ? this.partSize : Math.min(MAX_PART, Math.max(this.partSize, Math.ceil(sizeHint / MAX_PARTS / MiB) * MiB));
    const sizeOfPart = (n: number) => (sizeHint === undefined ? Math.min(MAX_PART, base * 2 ** Math.floor((n - 1) / PARTS_PER_SIZE_STEP)) : base);
    const parts = toParts(src, sizeOfPart)[Symbol.asyncIterator]();
    let uploadId: string | undefined;
    const done: Part[] = [];
    const inflight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    try {
      const first = await parts.next();
      const second = first.done ? first : await parts.next();
      if (second.done) {
        // The whole source fits in one part and was verified: a plain PutObject.
        const body = first.done ? Buffer.alloc(0) : first.value;
        await this.call('upload', key, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: fullKey, Body: body, ContentLength: body.length, ...params })));
        return;
      }
      const created = await this.call('upload', key, () => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: fullKey, ...params })));
      uploadId = created.UploadId;
      if (!uploadId) throw new Error(`S3 CreateMultipartUpload for ${fullKey} returned no UploadId`);
      const id = uploadId;
      const launch = (partNumber: number, body: Buffer) => {
        if (partNumber > MAX_PARTS) throw new UserError('object-too-large', `"${key}" needs more than ${MAX_PARTS} parts.`, { status: 413, hint: 'Give a { file } source (its size is known up front) or a larger partSize.' });
        const p: Promise<void> = this.client
          .send(new UploadPartCommand({ Bucket: this.bucket, Key: fullKey, UploadId: id, PartNumber: partNumber, Body: body, ContentLength: body.length }))
          .then((r) => {
            if (!r.ETag) throw new Error(`S3 UploadPart ${partNumber} of ${fullKey} returned no ETag`);
            done.push({ PartNumber: partNumber, ETag: r.ETag });
          })
          .catch((e: unknown) => {
            failure ??= { error: this.mapError(e, 'upload', key) };
          })
          .finally(() => inflight.delete(p));
        inflight.add(p);
      };
      launch(1, first.value!);
      launch(2, second.value);
      for (let n = 3; ; n++) {
        while (inflight.size >= this.uploadConcurrency && !failure) await Promise.race(inflight);
        if (failure) break;
        const next = await parts.next(); // throws ChecksumMismatchError / source errors at the end
        if (next.done) break;
        launch(n, next.value);
      }
      await Promise.all(inflight);
      if (failure) throw failure.error;
      done.sort((a, b) => a.PartNumber - b.PartNumber);
      const completed: CompletedPart[] = done;
      await this.call('upload', key, () =>
        this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: fullKey, UploadId: id, MultipartUpload: { Parts: completed } })),
      );
      uploadId = undefined;
    } catch (e) {
      await parts.return?.(undefined).catch(() => undefined); // stop reading (closes the source)
      src.destroy();
      await Promise.allSettled(inflight);
      if (uploadId !== undefined) {
        const id = uploadId;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: fullKey, UploadId: id })).catch(() => undefined);
      }
      throw e; // S3 errors were mapped where they happened; the source's own errors pass unchanged
    }
  }

  /** Server-side copy with metadata replaced (CopyObject, or UploadPartCopy above the threshold). */
  private async serverCopy(
    key: string,
    fromFull: string,
    toFull: string,
    bytes: number,
    params: { ContentType?: string; StorageClass?: StorageClass; Metadata: Record<string, string> },
  ): Promise<void> {
    const copySource = encodeCopySource(this.bucket, fromFull);
    if (bytes <= this.multipartCopyThreshold) {
      await this.call('copy', key, () =>
        this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: toFull, CopySource: copySource, MetadataDirective: 'REPLACE', ...params })),
      );
      return;
    }
    const partSize = Math.max(this.copyPartSize, Math.ceil(bytes / MAX_PARTS / MiB) * MiB);
    const created = await this.call('copy', key, () => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: toFull, ...params })));
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`S3 CreateMultipartUpload for ${toFull} returned no UploadId`);
    try {
      const count = Math.ceil(bytes / partSize);
      const results: Part[] = [];
      let next = 1;
      const worker = async () => {
        while (next <= count) {
          const n = next++;
          const start = (n - 1) * partSize;
          const end = Math.min(bytes, start + partSize) - 1;
          const r = await this.call('copy', key, () =>
            this.client.send(new UploadPartCopyCommand({ Bucket: this.bucket, Key: toFull, UploadId: uploadId, PartNumber: n, CopySource: copySource, CopySourceRange: `bytes=${start}-${end}` })),
          );
          const etag = r.CopyPartResult?.ETag;
          if (!etag) throw new Error(`S3 UploadPartCopy ${n} of ${toFull} returned no ETag`);
          results.push({ PartNumber: n, ETag: etag });
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.uploadConcurrency, count) }, worker));
      results.sort((a, b) => a.PartNumber - b.PartNumber);
      await this.call('copy', key, () => this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: toFull, UploadId: uploadId, MultipartUpload: { Parts: results } })));
    } catch (e) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: toFull, UploadId: uploadId })).catch(() => undefined);
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------------
  // reads

  async get(key: string): Promise<Readable> {
    const fullKey = this.objectKey(key);
    const r = await this.call('read', key, () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey })));
    const body = r.Body;
    if (body instanceof Readable) return body;
    if (body && typeof (body as { transformToWebStream?: unknown }).transformToWebStream === 'function') {
      return Readable.fromWeb((body as { transformToWebStream(): import('node:stream/web').ReadableStream }).transformToWebStream());
    }
    throw new Error(`S3 GetObject of ${fullKey} returned no body stream`);
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    checkRangeArgs(offset, length);
    const fullKey = this.objectKey(key);
    let r;
    try {
      r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey, Range: `bytes=${offset}-${offset + length - 1}` }));
    } catch (e) {
      const shape = e as ErrorShape;
      if (shape.name === 'InvalidRange' || shape.$metadata?.httpStatusCode === 416) {
        const total = /\/(\d+)\s*$/.exec(shape.$response?.headers?.['content-range'] ?? '');
        throw new RangeNotSatisfiableError(key, offset, length, total ? Number(total[1]) : undefined, { cause: e });
      }
      throw this.mapError(e, 'read', key);
    }
    const bytes = await this.call('read', key, async () => {
      const arr = await r.Body!.transformToByteArray();
      return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
    });
    const total = /\/(\d+)\s*$/.exec(r.ContentRange ?? '');
    if (!r.ContentRange && bytes.length > length) {
      // A server that ignored Range answered the whole object.
      if (offset + length <= bytes.length) return bytes.subarray(offset, offset + length);
      throw new RangeNotSatisfiableError(key, offset, length, bytes.length);
    }
    if (bytes.length !== length) throw new RangeNotSatisfiableError(key, offset, length, total ? Number(total[1]) : undefined);
    return bytes;
  }

  async head(key: string): Promise<HeadResult | null> {
    const fullKey = this.objectKey(key);
    let r;
    try {
      r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
    } catch (e) {
      const shape = e as ErrorShape;
      if (shape.$metadata?.httpStatusCode === 404 || shape.name === 'NotFound' || shape.name === 'NoSuchKey') {
        await this.checkBucket(); // a 404 on HEAD may also mean "no such bucket"
        return null;
      }
      throw this.mapError(e, 'head', key);
    }
    this.bucketVerified = true;
    const { sha256, ...metadata } = r.Metadata ?? {};
    const result: HeadResult = {
      bytes: r.ContentLength ?? 0,
      lastModified: r.LastModified ?? new Date(0),
      storageClass: r.StorageClass ?? 'STANDARD',
      metadata,
    };
    if (sha256) result.sha256 = sha256;
    if (r.ContentType) result.contentType = r.ContentType;
    const restore = parseRestoreHeader(r.Restore);
    if (restore) result.restore = restore;
    return result;
  }

  async *list(prefix: string): AsyncIterable<ListEntry> {
    validatePrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.call('list', undefined, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, MaxKeys: this.listPageSize, ...(token !== undefined && { ContinuationToken: token }) })),
      );
      this.bucketVerified = true;
      for (const o of page.Contents ?? []) {
        if (!o.Key?.startsWith(this.prefix)) continue;
        const key = o.Key.slice(this.prefix.length);
        if (isReservedKey(key)) continue;
        try {
          validateKey(key); // keys written by other tools that are no valid keys are not objects of ours
        } catch {
          continue;
        }
        yield { key, bytes: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  // -------------------------------------------------------------------------------------------
  // copy, delete, presign

  async copy(fromKey: string, toKey: string): Promise<void> {
    const fromFull = this.objectKey(fromKey);
    const toFull = this.objectKey(toKey);
    const src = await this.call('copy', fromKey, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fromFull }))).catch(async (e: unknown) => {
      if (e instanceof ObjectNotFoundError) await this.checkBucket();
      throw e;
    });
    if (fromFull === toFull) return;
    // S3 does not keep the storage class on copy unless it is given again.
    const storageClass = src.StorageClass !== undefined ? { StorageClass: src.StorageClass } : {};
    const bytes = src.ContentLength ?? 0;
    if (bytes <= this.multipartCopyThreshold) {
      await this.call('copy', fromKey, () =>
        this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: toFull, CopySource: encodeCopySource(this.bucket, fromFull), MetadataDirective: 'COPY', ...storageClass })),
      );
      return;
    }
    // UploadPartCopy does not copy metadata: it is set on the new upload.
    const params = { Metadata: src.Metadata ?? {}, ...(src.ContentType !== undefined && { ContentType: src.ContentType }), ...storageClass };
    await this.serverCopy(fromKey, fromFull, toFull, bytes, params);
  }

  async delete(key: string): Promise<void> {
    const fullKey = this.objectKey(key);
    await this.call('delete', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey })));
  }

  /**
   * RestoreObject: 202 Accepted → `started`; 409 RestoreAlreadyInProgress → `already-in-progress`
   * (not an error); 200 (a restored copy exists, its expiry is extended) → `extended`.
   */
  async requestRestore(key: string, days: number, tier: RestoreTier = 'Standard'): Promise<RestoreRequestOutcome> {
    const fullKey = this.objectKey(key);
    try {
      const r = await this.client.send(new RestoreObjectCommand({ Bucket: this.bucket, Key: fullKey, RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } } }));
      return r.$metadata.httpStatusCode === 200 ? 'extended' : 'started';
    } catch (e) {
      const shape = e as ErrorShape;
      if (shape.name === 'RestoreAlreadyInProgress' || shape.$metadata?.httpStatusCode === 409) return 'already-in-progress';
      throw this.mapError(e, 'restore', key);
    }
  }

  async presignedGetUrl(key: string, expiresSeconds: number): Promise<string> {
    checkExpiresSeconds(expiresSeconds);
    const fullKey = this.objectKey(key);
    return this.call('presign', key, () => getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: fullKey }), { expiresIn: expiresSeconds }));
  }
}

/**
 * Cuts a stream of chunks into parts of `sizeOfPart(n)` bytes (the last one shorter). An empty
 * source gives no part at all.
 */
async function* toParts(chunks: AsyncIterable<Buffer>, sizeOfPart: (partNumber: number) => number): AsyncGenerator<Buffer> {
  let n = 1;
  let buf: Buffer | undefined;
  let fill = 0;
  for await (const chunk of chunks) {
    let off = 0;
    while (off < chunk.length) {
      buf ??= Buffer.allocUnsafe(sizeOfPart(n));
      const take = Math.min(buf.length - fill, chunk.length - off);
      chunk.copy(buf, fill, off, off + take);
      fill += take;
      off += take;
      if (fill === buf.length) {
        yield buf;
        n++;
        buf = undefined;
        fill = 0;
      }
    }
  }
  if (buf !== undefined && fill > 0) yield buf.subarray(0, fill);
}
