/**
 * Reading a `PutSource` as a stream of Buffers while computing its SHA-256 and byte count: the one
 * way both adapters consume their input, so digests are computed identically everywhere.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { UserError } from '../util/errors.js';
import { ChecksumMismatchError, type PutSource } from './object-store.js';

/** Read size for file sources. */
const FILE_CHUNK = 1 << 20;

export interface Digest {
  bytes: number;
  sha256: string;
}

export function isFileSource(source: PutSource): source is { file: string } {
  return typeof source === 'object' && source !== null && !(source instanceof Uint8Array) && !(source instanceof Readable) && typeof (source as { file?: unknown }).file === 'string';
}

function checkSource(source: PutSource): void {
  if (source instanceof Uint8Array || source instanceof Readable || isFileSource(source)) return;
  // Duck-typed streams (e.g. from another copy of the stream module) are accepted if async-iterable.
  if (typeof source === 'object' && source !== null && Symbol.asyncIterator in source) return;
  throw new TypeError('put: source must be a Readable, a Buffer/Uint8Array or { file: string }');
}

function sourceFileError(file: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new UserError('source-not-found', `Source file ${file} does not exist.`, { status: 400, cause: e });
  if (code === 'EACCES' || code === 'EPERM') return new UserError('source-not-readable', `Source file ${file} cannot be read: permission denied.`, { status: 400, hint: 'Check the file permissions of the source.', cause: e });
  if (code === 'EISDIR') return new UserError('source-not-a-file', `Source ${file} is a directory, not a file.`, { status: 400, cause: e });
  return e;
}

export interface OpenedSource {
  chunks: AsyncIterable<Buffer>;
  /** Releases the source (closes a file, destroys a stream) when it will not be read to its end. */
  destroy(): void;
}

/** Raw chunks of a source, without hashing. File sources are opened eagerly so a missing file fails here. */
export async function openSource(source: PutSource): Promise<OpenedSource> {
  checkSource(source);
  if (source instanceof Uint8Array) {
    const buf = Buffer.isBuffer(source) ? source : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return {
      chunks: (async function* () {
        yield buf;
      })(),
      destroy: () => undefined,
    };
  }
  if (isFileSource(source)) {
    let fh;
    try {
      fh = await open(source.file, 'r');
      const st = await fh.stat();
      if (!st.isFile()) throw Object.assign(new Error(`${source.file} is not a regular file`), { code: 'EISDIR' });
    } catch (e) {
      await fh?.close().catch(() => undefined);
      throw sourceFileError(source.file, e);
    }
    const stream = fh.createReadStream({ highWaterMark: FILE_CHUNK, autoClose: true });
    return { chunks: toBuffers(stream), destroy: () => stream.destroy() };
  }
  const stream = source as Readable;
  return {
    chunks: toBuffers(stream as AsyncIterable<unknown>),
    destroy: () => {
      if (typeof stream.destroy === 'function') stream.destroy();
    },
  };
}

async function* toBuffers(stream: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    if (Buffer.isBuffer(chunk)) yield chunk;
    else if (chunk instanceof Uint8Array) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8');
    else throw new TypeError('put: the source stream must produce Buffers, Uint8Arrays or strings');
  }
}

/**
 * Chunks of a source with a running SHA-256. When the source ends, `digest` is set and, if
 * `expectedSha256` is given and differs, the iteration throws `ChecksumMismatchError` instead of
 * finishing, so that a consumer never commits the data (the last chunk was already yielded, but
 * the consumer only commits after the iteration completes).
 */
export class HashingSource implements AsyncIterable<Buffer> {
  digest: Digest | undefined;
  private readonly hash = createHash('sha256');
  private bytes = 0;

  constructor(
    private readonly source: OpenedSource,
    private readonly key: string,
    private readonly expectedSha256?: string,
  ) {}

  static async open(source: PutSource, key: string, expectedSha256?: string): Promise<HashingSource> {
    return new HashingSource(await openSource(source), key, expectedSha256);
  }

  /** Releases the underlying source early (after a failure elsewhere). Idempotent. */
  destroy(): void {
    this.source.destroy();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for await (const chunk of this.source.chunks) {
      this.hash.update(chunk);
      this.bytes += chunk.length;
      yield chunk;
    }
    const sha256 = this.hash.digest('hex');
    this.digest = { bytes: this.bytes, sha256 };
    if (this.expectedSha256 !== undefined && sha256 !== this.expectedSha256) {
      throw new ChecksumMismatchError(this.key, this.expectedSha256, sha256);
    }
  }

  /** The digest, once the iteration completed. */
  result(): Digest {
    if (!this.digest) throw new Error('HashingSource: the source was not read to its end');
    return this.digest;
  }
}

/** SHA-256 and size of a local file, streamed. */
export async function hashFile(file: string): Promise<Digest> {
  const src = await HashingSource.open({ file }, file);
  for await (const _ of src) {
    // consume
  }
  return src.result();
}
