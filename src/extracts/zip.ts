import type { Readable } from 'node:stream';

/**
 * A ZIP (stored entries, ZIP64 where sizes or offsets need it) whose bytes are computed from a
 * plan — names, sizes, CRC-32s, and a way to read each entry's bytes — instead of being written
 * anywhere. Any byte range of it can be produced on demand, so a 50 GB extract needs neither a
 * copy of the masters nor memory, and a download resumes with `Range`. The masters are already
 * compressed (TIFF/JPEG 2000), so entries are stored, which is what makes offsets computable.
 * No maintained library does this (yazl/archiver write a ZIP from start to end, they cannot start
 * in the middle), hence this file; the format is APPNOTE 6.3.x, sections 4.3 and 4.5.3.
 */

export interface ZipEntrySource {
  /** The entry's bytes from `start` to `end` (both included). */
  open(start: number, end: number): Promise<Readable | Buffer>;
}

export interface ZipEntry {
  /** Path inside the archive ('/' separators, UTF-8). */
  name: string;
  size: number;
  /** CRC-32 of the bytes (zlib.crc32). */
  crc32: number;
  source: ZipEntrySource;
}

export interface ZipOptions {
  /** Modification time written for every entry (the extract's date: the same request, the same bytes). */
  modified: Date;
  /** ZIP64 records even when nothing needs them (tests exercise the ZIP64 paths with small files). */
  forceZip64?: boolean;
}

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const UTF8_FLAG = 0x0800;
const VERSION_ZIP64 = 45;
const VERSION_DEFAULT = 20;
/** "Made by" Unix (3), so that external attributes carry rw-r--r-- permissions. */
const MADE_BY_UNIX = 3 << 8;
const FILE_MODE = 0o100644;

type Segment = { kind: 'bytes'; start: number; data: Buffer } | { kind: 'entry'; start: number; entry: ZipEntry };

function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.max(1980, d.getUTCFullYear());
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

function localHeader(name: Buffer, e: ZipEntry, zip64: boolean, when: { time: number; date: number }): Buffer {
  const extra = zip64 ? Buffer.alloc(20) : Buffer.alloc(0);
  if (zip64) {
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(16, 2);
    extra.writeBigUInt64LE(BigInt(e.size), 4);
    extra.writeBigUInt64LE(BigInt(e.size), 12);
  }
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_DEFAULT, 4);
  h.writeUInt16LE(UTF8_FLAG, 6);
  h.writeUInt16LE(0, 8); // stored
  h.writeUInt16LE(when.time, 10);
  h.writeUInt16LE(when.date, 12);
  h.writeUInt32LE(e.crc32 >>> 0, 14);
  h.writeUInt32LE(zip64 ? MAX32 : e.size, 18);
  h.writeUInt32LE(zip64 ? MAX32 : e.size, 22);
  h.writeUInt16LE(name.length, 26);
  h.writeUInt16LE(extra.length, 28);
  return Buffer.concat([h, name, extra]);
}

function centralHeader(name: Buffer, e: ZipEntry, offset: number, force: boolean, when: { time: number; date: number }): Buffer {
  const bigSize = force || e.size >= MAX32;
  const bigOffset = force || offset >= MAX32;
  const fields: bigint[] = [];
  if (bigSize) fields.push(BigInt(e.size), BigInt(e.size));
  if (bigOffset) fields.push(BigInt(offset));
  const extra = Buffer.alloc(fields.length ? 4 + 8 * fields.length : 0);
  if (fields.length) {
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(8 * fields.length, 2);
    fields.forEach((v, i) => extra.writeBigUInt64LE(v, 4 + 8 * i));
  }
  const zip64 = fields.length > 0;
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE(MADE_BY_UNIX | VERSION_ZIP64, 4);
  h.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_DEFAULT, 6);
  h.writeUInt16LE(UTF8_FLAG, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt16LE(when.time, 12);
  h.writeUInt16LE(when.date, 14);
  h.writeUInt32LE(e.crc32 >>> 0, 16);
  h.writeUInt32LE(bigSize ? MAX32 : e.size, 20);
  h.writeUInt32LE(bigSize ? MAX32 : e.size, 24);
  h.writeUInt16LE(name.length, 28);
  h.writeUInt16LE(extra.length, 30);
  h.writeUInt16LE(0, 32); // comment
  h.writeUInt16LE(0, 34); // disk
  h.writeUInt16LE(0, 36); // internal attributes
  h.writeUInt32LE((FILE_MODE << 16) >>> 0, 38);
  h.writeUInt32LE(bigOffset ? MAX32 : offset, 42);
  return Buffer.concat([h, name, extra]);
}

function endRecords(count: number, cdOffset: number, cdSize: number, force: boolean): Buffer {
  const zip64 = force || count >= MAX16 || cdOffset >= MAX32 || cdSize >= MAX32;
  const parts: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(MADE_BY_UNIX | VERSION_ZIP64, 12);
    rec.writeUInt16LE(VERSION_ZIP64, 14);
    rec.writeUInt32LE(0, 16);
    rec.writeUInt32LE(0, 20);
    rec.writeBigUInt64LE(BigInt(count), 24);
    rec.writeBigUInt64LE(BigInt(count), 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeUInt32LE(0, 4);
    locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(rec, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? MAX16 : count, 8);
  end.writeUInt16LE(zip64 ? MAX16 : count, 10);
  end.writeUInt32LE(zip64 ? MAX32 : cdSize, 12);
  end.writeUInt32LE(zip64 ? MAX32 : cdOffset, 16);
  parts.push(end);
  return Buffer.concat(parts);
}

export class VirtualZip {
  readonly size: number;
  private readonly segments: Segment[] = [];

  constructor(entries: readonly ZipEntry[], options: ZipOptions) {
    const when = dosDateTime(options.modified);
    const force = options.forceZip64 === true;
    const names = new Set<string>();
    const central: Buffer[] = [];
    let offset = 0;
    for (const e of entries) {
      if (names.has(e.name)) throw new Error(`duplicate ZIP entry ${e.name}`);
      if (!e.name || e.name.startsWith('/') || e.name.split('/').includes('..')) throw new Error(`unsafe ZIP entry name ${e.name}`);
      names.add(e.name);
      const name = Buffer.from(e.name, 'utf8');
      const header = localHeader(name, e, force || e.size >= MAX32, when);
      central.push(centralHeader(name, e, offset, force, when));
      this.segments.push({ kind: 'bytes', start: offset, data: header });
      offset += header.length;
      this.segments.push({ kind: 'entry', start: offset, entry: e });
      offset += e.size;
    }
    const cd = Buffer.concat(central);
    this.segments.push({ kind: 'bytes', start: offset, data: cd });
    const end = endRecords(entries.length, offset, cd.length, force);
    this.segments.push({ kind: 'bytes', start: offset + cd.length, data: end });
    this.size = offset + cd.length + end.length;
  }

  /** The archive's bytes from `start` to `end` (both included), in order. */
  async *read(start = 0, end = this.size - 1): AsyncGenerator<Buffer> {
    if (start < 0 || end >= this.size || start > end) throw new RangeError(`bytes ${start}-${end} outside a ZIP of ${this.size} bytes`);
    for (const s of this.segments) {
      const length = s.kind === 'bytes' ? s.data.length : s.entry.size;
      const segEnd = s.start + length - 1;
      if (length === 0 || segEnd < start) continue;
      if (s.start > end) return;
      const from = Math.max(start, s.start) - s.start;
      const to = Math.min(end, segEnd) - s.start;
      if (s.kind === 'bytes') {
        yield s.data.subarray(from, to + 1);
        continue;
      }
      const opened = await s.entry.source.open(from, to);
      if (Buffer.isBuffer(opened)) {
        if (opened.length !== to - from + 1) throw new Error(`entry ${s.entry.name}: ${opened.length} bytes read, ${to - from + 1} expected`);
        yield opened;
        continue;
      }
      let got = 0;
      for await (const chunk of opened as AsyncIterable<Buffer>) {
        got += chunk.length;
        if (got > to - from + 1) throw new Error(`entry ${s.entry.name} is longer than its plan says (${s.entry.size} bytes)`);
        yield chunk;
      }
      if (got !== to - from + 1) throw new Error(`entry ${s.entry.name}: ${got} bytes read, ${to - from + 1} expected (changed since planned?)`);
    }
  }
}
