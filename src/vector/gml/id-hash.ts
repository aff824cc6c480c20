/**
 * Compact identifier sets for the validator: 64-bit hashes of ids (two 32-bit words) in an
 * open-addressing table (linear probing) of Uint32 triples `[h1, h2, value + 1]`, doubling when
 * 5/8 full. 12 bytes per slot, i.e. 12–38 bytes per id outside the V8 heap (ArrayBuffer), instead
 * of ~150–400 bytes per id in a `Map<string, …>` on the heap. Strings are never kept, so nothing
 * retains the parser's chunks.
 *
 * A hash hit is only a *candidate* duplicate (64-bit collisions: ~n²/2⁶⁵, 10⁻⁷ for 2 M ids):
 * callers confirm candidates exactly (see `verifyIdLines`).
 */
import { createReadStream } from 'node:fs';

/** Hash of the last `hashId` call (module-level: no allocation per id). */
export let H1 = 0;
export let H2 = 0;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 64-bit hash of `s` (UTF-16 code units) into `H1`, `H2`: FNV-1a and a multiplicative hash, both finalised with murmur3's fmix32. */
export function hashId(s: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  H1 = fmix32(a ^ s.length);
  H2 = fmix32(b + Math.imul(s.length, 0x27d4eb2d));
}

/** Map from 64-bit id hash to a uint32 value (< 0xffffffff), e.g. the line of first use. */
export class IdHashTable {
  private slots: Uint32Array;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.slots = new Uint32Array(cap * 3);
    this.mask = cap - 1;
  }

  /** Bytes held (off the V8 heap). */
  get bytes(): number {
    return this.slots.byteLength;
  }

  private find(h1: number, h2: number): number {
    const s = this.slots;
    let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & this.mask;
    for (;;) {
      const o = i * 3;
      if (s[o + 2] === 0 || (s[o] === h1 && s[o + 1] === h2)) return o;
      i = (i + 1) & this.mask;
    }
  }

  /** The value stored for the hash, or -1. */
  get(h1: number, h2: number): number {
    const o = this.find(h1, h2);
    const v = this.slots[o + 2] as number;
    return v === 0 ? -1 : v - 1;
  }

  /** Stores `value` if the hash is absent and returns -1; else returns the stored value (unchanged). */
  putIfAbsent(h1: number, h2: number, value: number): number {
    const o = this.find(h1, h2);
    const v = this.slots[o + 2] as number;
    if (v !== 0) return v - 1;
    this.slots[o] = h1;
    this.slots[o + 1] = h2;
    this.slots[o + 2] = value + 1;
    if (++this.size * 8 > (this.mask + 1) * 5) this.grow();
    return -1;
  }

  /** Replaces the value of a present hash (no-op when absent). */
  update(h1: number, h2: number, value: number): void {
    const o = this.find(h1, h2);
    if (this.slots[o + 2] !== 0) this.slots[o + 2] = value + 1;
  }

  forEach(fn: (h1: number, h2: number, value: number) => void): void {
    const s = this.slots;
    for (let o = 0; o < s.length; o += 3) if (s[o + 2] !== 0) fn(s[o] as number, s[o + 1] as number, (s[o + 2] as number) - 1);
  }

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    this.slots = new Uint32Array(cap * 3);
    this.mask = cap - 1;
    for (let o = 0; o < old.length; o += 3) {
      if (old[o + 2] === 0) continue;
      const n = this.find(old[o] as number, old[o + 1] as number);
      this.slots[n] = old[o] as number;
      this.slots[n + 1] = old[o + 1] as number;
      this.slots[n + 2] = old[o + 2] as number;
    }
  }
}

/** Growable Uint32 vector (off-heap storage). */
export class U32Vec {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Uint32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  at(i: number): number {
    return this.data[i] as number;
  }
  get bytes(): number {
    return this.data.byteLength;
  }
}

const ASCII_COMPATIBLE = /^(utf-?8|us-ascii|ascii|iso-8859-\d+|latin-?1|windows-125\d|cp125\d)$/i;

/**
 * Exact confirmation of candidate duplicates, by re-reading only the lines that hold the first
 * occurrences (one sequential byte scan, no XML parsing, bounded memory: 16 KB from the start of
 * each target line; the scan stops after the last target). Returns, per target, whether `id` occurs there as a whole
 * token (attribute value or element text, raw or XML-escaped). Files in an encoding that is not
 * ASCII-compatible (UTF-16) are not scanned: every target is answered `true` (hash equality).
 */
export async function verifyIdLines(file: string, encoding: string, targets: { line: number; id: string }[]): Promise<boolean[]> {
  if (targets.length === 0) return [];
  if (!ASCII_COMPATIBLE.test(encoding)) return targets.map(() => true);
  // 16 KB from the start of the line: enough for a start tag spread over many lines (xmlns
  // declarations) before its gml:id, or for an element whose text starts on the next line.
  const CAP = 16 * 1024;
  const wanted = new Map<number, Buffer[]>(); // start line → captured chunks
  for (const t of targets) wanted.set(t.line, []);
  const starts = [...wanted.keys()].sort((a, b) => a - b);
  let line = 1;
  let next = 0; // index in starts of the first target line not reached yet
  const open = new Map<number, number>(); // target lines being captured → bytes captured
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let pos = 0;
      while (pos < chunk.length) {
        while (next < starts.length && (starts[next] as number) <= line) open.set(starts[next++] as number, 0);
        const nl = chunk.indexOf(10, pos);
        const end = nl === -1 ? chunk.length : nl + 1;
        for (const [s, size] of open) {
          const part = Buffer.from(chunk.subarray(pos, Math.min(end, pos + CAP - size)));
          (wanted.get(s) as Buffer[]).push(part);
          if (size + part.length >= CAP) open.delete(s);
          else open.set(s, size + part.length);
        }
        pos = end;
        if (nl !== -1) line++;
      }
      if (open.size === 0 && next >= starts.length) break;
    }
  } finally {
    stream.destroy();
  }
  const decoder = new TextDecoder(/^utf-?8$/i.test(encoding) ? 'utf-8' : encoding.toLowerCase());
  const texts = new Map<number, string>();
  for (const [s, parts] of wanted) texts.set(s, decoder.decode(Buffer.concat(parts)));
  return targets.map((t) => containsToken(texts.get(t.line) ?? '', t.id));
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
const BEFORE = new Set(['"', "'", '>', ' ', '\t', '\n', '\r', '#']);
const AFTER = new Set(['"', "'", '<', ' ', '\t', '\n', '\r']);

function containsToken(text: string, id: string): boolean {
  for (const form of new Set([id, escapeXml(id), id.replace(/&/g, '&amp;').replace(/</g, '&lt;')])) {
    if (form === '') continue;
    let i = text.indexOf(form);
    while (i !== -1) {
      const b = i === 0 ? ' ' : (text[i - 1] as string);
      const a = text[i + form.length] ?? ' ';
      if (BEFORE.has(b) && AFTER.has(a)) return true;
      i = text.indexOf(form, i + 1);
    }
  }
  return false;
}
