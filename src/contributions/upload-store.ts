import { createWriteStream, fdatasync } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileStore } from '@tus/file-store';
import { ERRORS } from '@tus/server';

/** Bytes between two flushes to disk while an upload is written. */
const FLUSH_EVERY = 64 * 1024 * 1024;
/**
 * Bytes the file stream may hold before it pushes back: large, so that the socket's 64 KiB chunks
 * reach the disk as few large `writev` calls (with Node's 16 KiB default, 1 GB cost 3.3–4.5 s of
 * writes on one core; with 8 MiB, 1.7–1.9 s — BENCHMARKS.md).
 */
const WRITE_BUFFER = 8 * 1024 * 1024;

/**
 * The tus file store, writing each upload in large batches with its flushes to disk spread along the way: every
 * 64 MiB written, an `fdatasync` starts (one at a time, not waited for), so that the disk writes
 * while the network still sends and the file's last fsync — when the finished upload is moved into
 * the tier (`ObjectStore.adopt`) — has little left to flush. Otherwise the same as `FileStore`.
 */
export class FlushingFileStore extends FileStore {
  override async write(readable: Readable, fileId: string, offset: number): Promise<number> {
    const writable = createWriteStream(path.join(this.directory, fileId), { flags: 'r+', start: offset, highWaterMark: WRITE_BUFFER });
    let received = 0;
    let sinceFlush = 0;
    let flushing = false;
    let fd: number | null = null;
    writable.on('open', (opened: number) => (fd = opened));
    writable.on('close', () => (fd = null));
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        sinceFlush += chunk.length;
        if (sinceFlush >= FLUSH_EVERY && !flushing && fd !== null) {
          sinceFlush = 0;
          flushing = true;
          fdatasync(fd, () => (flushing = false));
        }
        callback(null, chunk);
      },
    });
    try {
      await pipeline(readable, counter, writable);
    } catch {
      // What arrived is kept (the client resumes from the size reached), as FileStore does.
      throw ERRORS.FILE_WRITE_ERROR;
    }
    return offset + received;
  }
}
