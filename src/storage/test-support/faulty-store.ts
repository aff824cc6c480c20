/**
 * Fault injection around any ObjectStore, for tests of the code built on storage (ingest, fixity,
 * archive): `new FaultyStore(inner, { failOnCall: 3, ops: ['put'] })` lets the first two `put`s
 * through and fails the third. Lives in src/ so every test can import it; it has no production use.
 */
import { stat } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { openSource } from '../source.js';
import type { HeadResult, ListEntry, ObjectStore, PutOptions, PutResult, PutSource, StoreOperation } from '../object-store.js';

/**
 * - `before` (default): the call fails without reaching the inner store.
 * - `after`: the inner call runs (its effect happens), then the caller gets the error: a lost
 *   answer. For `list`: every entry is yielded, then the iteration fails.
 * - `mid-stream`: `put`: the inner store gets a source that fails after `after` bytes (a crash
 *   mid-write); `get`: the stream fails after `after` bytes; `list`: fails after `after` entries.
 *   Other operations: like `before`.
 * - `corrupt` (only `get`, `getRange`): the data comes back with one bit flipped (bit rot).
 */
export type FaultMode = 'before' | 'after' | 'mid-stream' | 'corrupt';

export interface FaultOptions {
  /** 1-based index of the matching call that fails. */
  failOnCall: number;
  /** Operations that count as matching calls (default: all). */
  ops?: StoreOperation[];
  /** The error to throw, or a factory (default: an `InjectedFaultError`). */
  error?: Error | ((op: StoreOperation, call: number) => Error);
  /** Consecutive matching calls that fail from `failOnCall` on (default 1; `Infinity` = an outage). */
  times?: number;
  mode?: FaultMode;
  /**
   * `mid-stream`: bytes (or list entries) let through before the failure. Default: half of a
   * Buffer or file source, 64 KiB of other streams and of `get`, 1 list entry.
   */
  after?: number;
}

export class InjectedFaultError extends Error {
  readonly op: StoreOperation;
  readonly call: number;
  constructor(op: StoreOperation, call: number) {
    super(`Injected fault: ${op} (matching call #${call})`);
    this.name = 'InjectedFaultError';
    this.op = op;
    this.call = call;
  }
}

/** Passes `limit` bytes, then fails with `error`. */
class FailAfter extends Transform {
  private seen = 0;
  constructor(
    private readonly limit: number,
    private readonly error: Error,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const room = this.limit - this.seen;
    if (chunk.length < room) {
      this.seen += chunk.length;
      cb(null, chunk);
      return;
    }
    if (room > 0) this.push(chunk.subarray(0, room));
    this.seen = this.limit;
    // Let the partial data flow before failing, as a real broken connection would.
    setImmediate(() => cb(this.error));
  }
  override _flush(cb: TransformCallback): void {
    cb(this.error); // the source was shorter than the limit: fail at its end anyway
  }
}

/** Yields `limit` bytes of `chunks`, then throws `error`. */
async function* failAfter(chunks: AsyncIterable<Buffer>, limit: number, error: Error): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of chunks) {
    const room = limit - seen;
    if (chunk.length < room) {
      seen += chunk.length;
      yield chunk;
      continue;
    }
    if (room > 0) yield chunk.subarray(0, room);
    break;
  }
  throw error;
}

function flipOneBit(buf: Buffer): Buffer {
  if (buf.length === 0) return buf;
  const copy = Buffer.from(buf);
  const i = Math.floor(copy.length / 2);
  copy[i] = copy[i]! ^ 0x01;
  return copy;
}

/**
 * Optional capabilities of the inner store are mirrored when they go through the store, each one a
 * fault point like the other operations: `presignedGetUrl`, `removeStaleTemporaries`,
 * `requestRestore`. `localPath` and `stagingDir` are deliberately not: they hand out filesystem
 * paths that callers then read and rename around the store, so no fault could be injected there;
 * behind a FaultyStore callers take the portable path (get/getRange/put) that the faults reach.
 */
export class FaultyStore implements ObjectStore {
  /** Matching calls seen so far. */
  calls = 0;
  /** Faults injected so far. */
  faults = 0;
  presignedGetUrl?: ObjectStore['presignedGetUrl'];
  removeStaleTemporaries?: ObjectStore['removeStaleTemporaries'];
  requestRestore?: ObjectStore['requestRestore'];
  private options: FaultOptions;

  constructor(
    readonly inner: ObjectStore,
    options: FaultOptions,
  ) {
    this.options = FaultyStore.check(options);
    if (inner.presignedGetUrl) {
      const presign = inner.presignedGetUrl.bind(inner);
      this.presignedGetUrl = (key, expiresSeconds) => this.wrap('presignedGetUrl', () => presign(key, expiresSeconds));
    }
    if (inner.removeStaleTemporaries) {
      const sweep = inner.removeStaleTemporaries.bind(inner);
      this.removeStaleTemporaries = (olderThanMs, prefix) => this.wrap('removeStaleTemporaries', () => sweep(olderThanMs, prefix));
    }
    if (inner.requestRestore) {
      const restore = inner.requestRestore.bind(inner);
      this.requestRestore = (key, days, tier) => this.wrap('requestRestore', () => restore(key, days, tier));
    }
  }

  private static check(o: FaultOptions): FaultOptions {
    if (!Number.isInteger(o.failOnCall) || o.failOnCall < 1) throw new RangeError(`FaultyStore: failOnCall must be an integer ≥ 1, got ${o.failOnCall}`);
    if (o.mode === 'corrupt' && (o.ops === undefined || o.ops.some((op) => op !== 'get' && op !== 'getRange'))) {
      throw new RangeError("FaultyStore: mode 'corrupt' applies to ops ['get', 'getRange'] only; list them in ops");
    }
    return o;
  }

  /** Starts counting again, optionally with new options. */
  reset(options?: FaultOptions): void {
    if (options) this.options = FaultyStore.check(options);
    this.calls = 0;
    this.faults = 0;
  }

  private get mode(): FaultMode {
    return this.options.mode ?? 'before';
  }

  /** Counts a call; returns the error to inject if this call must fail. */
  private next(op: StoreOperation): Error | undefined {
    const { ops, failOnCall, times = 1, error } = this.options;
    if (ops && !ops.includes(op)) return undefined;
    this.calls++;
    if (this.calls < failOnCall || this.calls >= failOnCall + times) return undefined;
    this.faults++;
    if (error === undefined) return new InjectedFaultError(op, this.calls);
    return typeof error === 'function' ? error(op, this.calls) : error;
  }

  private async wrap<T>(op: StoreOperation, run: () => Promise<T>): Promise<T> {
    const fault = this.next(op);
    if (!fault) return run();
    if (this.mode === 'after') {
      await run();
      throw fault;
    }
    throw fault;
  }

  describe(): string {
    return `${this.inner.describe()} (with injected faults)`;
  }

  async put(key: string, source: PutSource, opts?: PutOptions): Promise<PutResult> {
    const fault = this.next('put');
    if (!fault) return this.inner.put(key, source, opts);
    if (this.mode === 'after') {
      await this.inner.put(key, source, opts);
      throw fault;
    }
    if (this.mode !== 'mid-stream') throw fault;
    let limit = this.options.after;
    if (limit === undefined) {
      if (source instanceof Uint8Array) limit = Math.floor(source.length / 2);
      else if (typeof source === 'object' && 'file' in source && typeof source.file === 'string') limit = Math.floor((await stat(source.file)).size / 2);
      else limit = 64 * 1024;
    }
    const opened = await openSource(source);
    const broken = Readable.from(failAfter(opened.chunks, limit, fault));
    // The consumer gets the error through its reads; this only keeps an 'error' emitted after the
    // consumer detached from becoming an uncaught exception.
    broken.on('error', () => undefined);
    return this.inner.put(key, broken, opts);
  }

  async get(key: string): Promise<Readable> {
    const fault = this.next('get');
    if (!fault) return this.inner.get(key);
    if (this.mode === 'corrupt') {
      const stream = await this.inner.get(key);
      let flipped = false;
      return stream.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            if (!flipped && chunk.length > 0) {
              flipped = true;
              cb(null, flipOneBit(chunk));
            } else cb(null, chunk);
          },
        }),
      );
    }
    if (this.mode === 'mid-stream') {
      const stream = await this.inner.get(key);
      const out = new FailAfter(this.options.after ?? 64 * 1024, fault);
      stream.on('error', (e) => out.destroy(e));
      out.on('error', () => undefined); // see put: readers still get the error
      return stream.pipe(out);
    }
    if (this.mode === 'after') {
      const stream = await this.inner.get(key);
      stream.destroy();
    }
    throw fault;
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    const fault = this.next('getRange');
    if (!fault) return this.inner.getRange(key, offset, length);
    if (this.mode === 'corrupt') return flipOneBit(await this.inner.getRange(key, offset, length));
    if (this.mode === 'after') await this.inner.getRange(key, offset, length);
    throw fault;
  }

  head(key: string): Promise<HeadResult | null> {
    return this.wrap('head', () => this.inner.head(key));
  }

  async *list(prefix: string): AsyncIterable<ListEntry> {
    const fault = this.next('list');
    if (!fault) {
      yield* this.inner.list(prefix);
      return;
    }
    if (this.mode === 'before' || this.mode === 'corrupt') throw fault;
    let n = 0;
    const limit = this.mode === 'mid-stream' ? (this.options.after ?? 1) : Infinity;
    for await (const entry of this.inner.list(prefix)) {
      if (n >= limit) throw fault;
      n++;
      yield entry;
    }
    throw fault;
  }

  copy(fromKey: string, toKey: string): Promise<void> {
    return this.wrap('copy', () => this.inner.copy(fromKey, toKey));
  }

  delete(key: string): Promise<void> {
    return this.wrap('delete', () => this.inner.delete(key));
  }
}
