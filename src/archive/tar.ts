/**
 * A small POSIX tar (ustar + pax extended headers) writer and reader, streaming, for BagIt
 * packages. Names longer than ustar allows, non-ASCII names and sizes ≥ 8 GiB get a pax header
 * (`path`, `size`), which GNU tar, bsdtar and Python's tarfile read.
 */
import { Readable } from 'node:stream';

const BLOCK = 512;
const USTAR_MAX_SIZE = 0o77777777777; // 11 octal digits

export interface TarEntryHeader {
  name: string;
  size: number;
  mtime?: Date;
  mode?: number;
  type?: 'file' | 'directory';
}

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function writeString(buf: Buffer, offset: number, length: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > length) throw new RangeError(`tar: field too long (${text})`);
  bytes.copy(buf, offset);
}

function isAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

function rawHeader(name: string, size: number, mtime: number, mode: number, typeflag: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, name);
  writeString(h, 100, 8, octal(mode, 8));
  writeString(h, 108, 8, octal(0, 8));
  writeString(h, 116, 8, octal(0, 8));
  writeString(h, 124, 12, octal(size, 12));
  writeString(h, 136, 12, octal(mtime, 12));
  h.fill(0x20, 148, 156); // checksum placeholder: spaces
  writeString(h, 156, 1, typeflag);
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  writeString(h, 265, 32, 'pcrs');
  writeString(h, 297, 32, 'pcrs');
  let sum = 0;
  for (const b of h) sum += b;
  writeString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/** One pax record: "<len> <key>=<value>\n" where len counts the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body, 'utf8');
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return `${len}${body}`;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The header block(s) of an entry: a pax header first when ustar cannot hold the name or size. */
export function tarHeader(entry: TarEntryHeader): Buffer {
  const type = entry.type ?? 'file';
  const name = type === 'directory' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const mtime = Math.floor((entry.mtime ?? new Date(0)).getTime() / 1000);
  const mode = entry.mode ?? (type === 'directory' ? 0o755 : 0o644);
  const size = type === 'directory' ? 0 : entry.size;
  const records: string[] = [];
  const nameFits = isAscii(name) && Buffer.byteLength(name) <= 100;
  if (!nameFits) records.push(paxRecord('path', name));
  if (size > USTAR_MAX_SIZE) records.push(paxRecord('size', String(size)));
  const blocks: Buffer[] = [];
  if (records.length > 0) {
    const pax = Buffer.from(records.join(''), 'utf8');
    const paxName = `PaxHeader/${name.replace(/[^\x20-\x7e]/g, '_').slice(-80)}`;
    blocks.push(rawHeader(paxName.slice(0, 100), pax.length, mtime, 0o644, 'x'), pax, padding(pax.length));
  }
  const shortName = nameFits ? name : name.replace(/[^\x20-\x7e]/g, '_').slice(-100);
  blocks.push(rawHeader(shortName, size > USTAR_MAX_SIZE ? 0 : size, mtime, mode, type === 'directory' ? '5' : '0'));
  return Buffer.concat(blocks);
}

export interface TarInput extends TarEntryHeader {
  /** The bytes; exactly `size` of them (a different count throws). */
  content?: () => AsyncIterable<Buffer> | Iterable<Buffer>;
}

/** A tar stream of the given entries, read one after the other (nothing held in memory). */
export function tarStream(entries: AsyncIterable<TarInput> | Iterable<TarInput>): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    for await (const entry of entries) {
      yield tarHeader(entry);
      if ((entry.type ?? 'file') === 'directory') continue;
      let seen = 0;
      if (entry.content) {
        for await (const chunk of entry.content()) {
          seen += chunk.length;
          if (seen > entry.size) throw new Error(`tar: ${entry.name} has more than the ${entry.size} bytes announced (did it change while being archived?)`);
          yield chunk;
        }
      }
      if (seen !== entry.size) throw new Error(`tar: ${entry.name} has ${seen} bytes, ${entry.size} announced (did it change while being archived?)`);
      const pad = padding(entry.size);
      if (pad.length > 0) yield pad;
    }
    yield Buffer.alloc(BLOCK * 2); // end of archive
  }
  return Readable.from(generate(), { objectMode: false });
}

// ---------------------------------------------------------------------------------------------
// Reader

export interface TarEntrySink {
  data(chunk: Buffer): void;
  end(): void | Promise<void>;
}

function readString(h: Buffer, offset: number, length: number): string {
  const field = h.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

function readOctal(h: Buffer, offset: number, length: number): number {
  const text = readString(h, offset, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space === -1) break;
    const len = Number(data.subarray(i, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0) throw new Error('tar: malformed pax header');
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * Reads a tar stream; `onEntry` returns a sink for each regular file (or null to skip it).
 * Checks header checksums; a truncated archive throws.
 */
export async function readTar(source: AsyncIterable<Buffer | Uint8Array>, onEntry: (header: { name: string; size: number; type: 'file' | 'directory' | 'other' }) => TarEntrySink | null): Promise<number> {
  let buffer = Buffer.alloc(0);
  let state: 'header' | 'body' | 'pax' | 'done' = 'header';
  let remaining = 0;
  let pad = 0;
  let sink: TarEntrySink | null = null;
  let paxChunks: Buffer[] = [];
  let pax: Record<string, string> = {};
  let files = 0;
  for await (const c of source) {
    buffer = buffer.length === 0 ? Buffer.from(c) : Buffer.concat([buffer, c]);
    for (;;) {
      if (state === 'done') break;
      if (state === 'header') {
        if (buffer.length < BLOCK) break;
        const h = buffer.subarray(0, BLOCK);
        buffer = buffer.subarray(BLOCK);
        if (h.every((b) => b === 0)) {
          state = 'done';
          break;
        }
        let sum = 0;
        for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
        if (sum !== readOctal(h, 148, 8)) throw new Error('tar: header checksum mismatch (not a tar archive, or corrupted)');
        const typeflag = String.fromCharCode(h[156] as number);
        const prefix = readString(h, 345, 155);
        let name = readString(h, 0, 100);
        if (prefix) name = `${prefix}/${name}`;
        let size = readOctal(h, 124, 12);
        if (typeflag === 'x') {
          remaining = size;
          pad = (BLOCK - (size % BLOCK)) % BLOCK;
          paxChunks = [];
          state = 'pax';
          continue;
        }
        if (pax.path) name = pax.path;
        if (pax.size) size = Number(pax.size);
        pax = {};
        const type = typeflag === '0' || typeflag === '\0' ? 'file' : typeflag === '5' ? 'directory' : 'other';
        sink = onEntry({ name, size, type });
        if (type === 'file') files++;
        remaining = type === 'directory' ? 0 : size;
        pad = (BLOCK - (remaining % BLOCK)) % BLOCK;
        state = 'body';
        if (remaining === 0 && pad === 0) {
          await sink?.end();
          sink = null;
          state = 'header';
        }
        continue;
      }
      // body or pax: content then padding
      if (remaining > 0) {
        if (buffer.length === 0) break;
        const take = Math.min(remaining, buffer.length);
        const part = buffer.subarray(0, take);
        if (state === 'pax') paxChunks.push(Buffer.from(part));
        else sink?.data(part);
        buffer = buffer.subarray(take);
        remaining -= take;
        if (remaining > 0) break;
      }
      if (pad > 0) {
        const take = Math.min(pad, buffer.length);
        buffer = buffer.subarray(take);
        pad -= take;
        if (pad > 0) break;
      }
      if (state === 'pax') pax = parsePax(Buffer.concat(paxChunks));
      else {
        await sink?.end();
        sink = null;
      }
      state = 'header';
    }
  }
  if (state !== 'done') throw new Error('tar: the archive is truncated (no end-of-archive marker)');
  return files;
}
