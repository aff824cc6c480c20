import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** SHA-256 (lowercase hex) of a file, streamed. */
export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  return sha256Stream(createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }));
}

/** SHA-256 (lowercase hex) of what a stream gives, and its length. */
export async function sha256Stream(stream: AsyncIterable<unknown>): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** SHA-256 (lowercase hex) of a text or buffer: how session cookies and one-time links are stored. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
