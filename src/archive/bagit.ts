/**
 * BagIt (RFC 8493) packages of raw data, serialized as one tar stream `<bag>/bagit.txt …
 * <bag>/data/…`. The payload is read once: each file is hashed (SHA-256 and SHA-512) while it
 * streams into the tar, and the tag files (which only need the digests) come after the payload.
 *
 * The tar itself is tar-stream's (ustar; a pax header for names ustar cannot hold — non-ASCII,
 * or too long for its name/prefix split — and, as this module asks, for sizes ≥ 8 GiB and
 * mtimes outside 1970–2038). Packages written before (pcrs' own ustar + pax writer) read the same.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { extract, pack, type Pack } from 'tar-stream';
import { UserError } from '../util/errors.js';

export interface PayloadFile {
  /** Path relative to the payload root, '/'-separated. */
  rel: string;
  abs: string;
  bytes: number;
  mtime: Date;
}

/** Every regular file under `dir`, sorted; symlinks and special files are refused (a bag holds bytes, not links). */
export async function collectPayload(dir: string): Promise<PayloadFile[]> {
  let top;
  try {
    top = await lstat(dir);
  } catch {
    throw new UserError('archive-source-missing', `Nothing to archive: ${dir} does not exist.`, { exitCode: 66, status: 404 });
  }
  if (!top.isDirectory()) throw new UserError('archive-source-not-dir', `${dir} is not a directory.`, { exitCode: 66 });
  const out: PayloadFile[] = [];
  async function walk(abs: string, rel: string): Promise<void> {
    const entries = await readdir(abs, { withFileTypes: true });
    for (const e of entries) {
      const a = path.join(abs, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(a, r);
      else if (e.isFile()) {
        const st = await lstat(a);
        out.push({ rel: r, abs: a, bytes: st.size, mtime: st.mtime });
      } else {
        throw new UserError('archive-unsupported-file', `Cannot archive ${a}: only regular files and folders can go into a bag (symbolic links and special files cannot).`, {
          hint: 'Replace links by the files they point to, or remove them from the folder.',
        });
      }
    }
  }
  await walk(dir, '');
  out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  if (out.length === 0) throw new UserError('archive-empty', `Nothing to archive: ${dir} holds no files.`, { exitCode: 66 });
  return out;
}

/** RFC 8493 §2.1.3: CR, LF and % in manifest paths are percent-encoded. */
export function encodeManifestPath(p: string): string {
  return p.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function decodeManifestPath(p: string): string {
  return p.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
}

export interface BagInfo {
  /** Extra bag-info.txt fields (label → value), after the standard ones. */
  fields: Record<string, string>;
  baggingDate: string;
}

export interface BagDigests {
  /** data/… path → digests */
  payload: Map<string, { sha256: string; sha512: string; bytes: number }>;
  tagFiles: Map<string, { sha256: string; sha512: string }>;
}

function digests(text: string | Buffer): { sha256: string; sha512: string } {
  return { sha256: createHash('sha256').update(text).digest('hex'), sha512: createHash('sha512').update(text).digest('hex') };
}

export function bagitTxt(): string {
  return 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';
}

export function bagInfoTxt(info: BagInfo, payloadBytes: number, payloadFiles: number): string {
  const lines = [`Bagging-Date: ${info.baggingDate}`, `Payload-Oxum: ${payloadBytes}.${payloadFiles}`, `Bag-Size: ${(payloadBytes / 1e9).toFixed(3)} GB`];
  for (const [k, v] of Object.entries(info.fields)) lines.push(`${k}: ${v.replace(/\r?\n/g, ' ')}`);
  return `${lines.join('\n')}\n`;
}

function manifestTxt(entries: Array<[string, string]>): string {
  return entries.map(([p, h]) => `${h}  ${encodeManifestPath(p)}\n`).join('');
}

/**
 * The tar stream of a bag named `bagName` holding `files` (read from disk as they are packed).
 * `digests` is filled while the stream is read; its tag files are at the end of the tar.
 */
export function bagTarStream(bagName: string, files: readonly PayloadFile[], info: BagInfo): { stream: Readable; digests: BagDigests } {
  const result: BagDigests = { payload: new Map(), tagFiles: new Map() };
  const payloadBytes = files.reduce((s, f) => s + f.bytes, 0);
  async function* entries(): AsyncGenerator<TarInput> {
    for (const f of files) {
      const rel = `data/${f.rel}`;
      yield {
        name: `${bagName}/${rel}`,
        size: f.bytes,
        mtime: f.mtime,
        content: async function* () {
          const h256 = createHash('sha256');
          const h512 = createHash('sha512');
          let bytes = 0;
          for await (const chunk of createReadStream(f.abs, { highWaterMark: 1 << 20 })) {
            const b = chunk as Buffer;
            h256.update(b);
            h512.update(b);
            bytes += b.length;
            yield b;
          }
          result.payload.set(rel, { sha256: h256.digest('hex'), sha512: h512.digest('hex'), bytes });
        },
      };
    }
    const now = new Date();
    const tags: Array<[string, string]> = [
      ['bagit.txt', bagitTxt()],
      ['bag-info.txt', bagInfoTxt(info, payloadBytes, files.length)],
      ['manifest-sha256.txt', manifestTxt([...result.payload].map(([p, d]) => [p, d.sha256]))],
      ['manifest-sha512.txt', manifestTxt([...result.payload].map(([p, d]) => [p, d.sha512]))],
    ];
    for (const [name, text] of tags) result.tagFiles.set(name, digests(text));
    tags.push(['tagmanifest-sha256.txt', manifestTxt(tags.map(([n]) => [n, result.tagFiles.get(n)!.sha256]))]);
    tags.push(['tagmanifest-sha512.txt', manifestTxt(tags.slice(0, 4).map(([n]) => [n, result.tagFiles.get(n)!.sha512]))]);
    for (const [name, text] of tags) {
      const body = Buffer.from(text, 'utf8');
      yield { name: `${bagName}/${name}`, size: body.length, mtime: now, content: () => [body] };
    }
  }
  return { stream: tarStream(entries()), digests: result };
}

// ---------------------------------------------------------------------------------------------
// tar, through tar-stream

const BLOCK = 512;
/** Largest size the 11 octal digits of a ustar header hold (8 GiB - 1). */
const USTAR_MAX_SIZE = 0o77777777777;
/** tar-stream writes the ustar mtime as a signed 32-bit count of seconds. */
const USTAR_MAX_MTIME = 2 ** 31 - 1;

interface TarInput {
  name: string;
  size: number;
  mtime: Date;
  /** The bytes; exactly `size` of them (a different count throws). */
  content: () => AsyncIterable<Buffer> | Iterable<Buffer>;
}

function tarHeader(entry: TarInput): Parameters<Pack['entry']>[0] {
  const mtime = Math.floor(entry.mtime.getTime() / 1000);
  const pax: Record<string, string> = {};
  // tar-stream alone would write a size ≥ 8 GiB in base-256 (a GNU extension): a pax `size`
  // record too, as the POSIX way (and as earlier packages did).
  if (entry.size > USTAR_MAX_SIZE) pax.size = String(entry.size);
  if (mtime < 0 || mtime > USTAR_MAX_MTIME) pax.mtime = String(mtime);
  return {
    name: entry.name,
    type: 'file',
    size: entry.size,
    mtime: new Date(Math.min(Math.max(mtime, 0), USTAR_MAX_MTIME) * 1000),
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: 'pcrs',
    gname: 'pcrs',
    ...(Object.keys(pax).length > 0 ? { pax } : {}),
  };
}

interface Drainable {
  readonly destroying: boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/** Resolves when `stream` (a streamx writable) can take more, rejects if it is or gets destroyed. */
function drained(stream: Drainable): Promise<void> {
  if (stream.destroying) return Promise.reject(new Error('tar: the stream was closed'));
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('tar: the stream was closed'));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}

async function packEntries(packer: Pack, entries: AsyncIterable<TarInput>): Promise<void> {
  for await (const entry of entries) {
    await new Promise<void>((resolve, reject) => {
      const sink = packer.entry(tarHeader(entry), (err) => (err ? reject(err) : resolve()));
      sink.on('error', () => undefined); // reported by the pack stream (and this promise)
      (async () => {
        let seen = 0;
        for await (const chunk of entry.content()) {
          seen += chunk.length;
          if (seen > entry.size) throw new Error(`tar: ${entry.name} has more than the ${entry.size} bytes announced (did it change while being archived?)`);
          if (chunk.length > 0 && !sink.write(chunk)) await drained(sink);
        }
        if (seen !== entry.size) throw new Error(`tar: ${entry.name} has ${seen} bytes, ${entry.size} announced (did it change while being archived?)`);
        sink.end(null);
      })().catch((e: unknown) => {
        sink.destroy(e as Error);
        reject(e as Error);
      });
    });
  }
  packer.finalize();
}

/** A tar stream of the given entries, read one after the other (one chunk in memory at a time). */
function tarStream(entries: AsyncIterable<TarInput>): Readable {
  const packer = pack();
  packEntries(packer, entries).catch((e: unknown) => packer.destroy(e as Error));
  return Readable.from(packer, { objectMode: false });
}

interface TarEntrySink {
  data(chunk: Buffer): void;
  end(): void | Promise<void>;
}

/**
 * Reads a tar stream; `onEntry` returns a sink for each entry (or null to skip it). Checks header
 * checksums; an archive cut short — even between two entries — throws.
 */
async function readTar(source: AsyncIterable<Buffer | Uint8Array>, onEntry: (header: { name: string; size: number; type: 'file' | 'directory' | 'other' }) => TarEntrySink | null): Promise<void> {
  // As before: headers without the ustar magic (v7, GNU) are read too; the option is not in tar-stream's types.
  const options: Parameters<typeof extract>[0] & { allowUnknownFormat: boolean } = { allowUnknownFormat: true };
  const extractor = extract(options);
  let total = 0;
  let lastNonZero = -1; // offset of the last non-zero byte read
  void (async () => {
    for await (const c of source) {
      const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      let i = chunk.length - 1;
      while (i >= 0 && chunk[i] === 0) i--;
      if (i >= 0) lastNonZero = total + i;
      total += chunk.length;
      if (!extractor.write(chunk)) await drained(extractor);
    }
    extractor.end(null);
  })().catch((e: unknown) => extractor.destroy(e as Error));
  let end = 0; // where the last entry (header and padded data) ends
  try {
    for await (const entry of extractor) {
      const h = entry.header;
      const size = h.size ?? 0;
      const type = h.type === 'file' ? 'file' : h.type === 'directory' ? 'directory' : 'other';
      end = entry.offset + BLOCK + (type === 'directory' ? 0 : Math.ceil(size / BLOCK) * BLOCK);
      const sink = onEntry({ name: h.name, size, type });
      for await (const chunk of entry) sink?.data(chunk as Buffer);
      await sink?.end();
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : '';
    if (message === 'Unexpected end of data') throw truncated();
    if (message.startsWith('Invalid tar header')) throw new Error('tar: header checksum mismatch (not a tar archive, or corrupted)');
    throw e;
  }
  // tar-stream accepts an archive that stops right after an entry: the end-of-archive marker
  // (zero blocks, nothing else) must follow the last entry.
  if (total < end + BLOCK || lastNonZero >= end) throw truncated();
}

function truncated(): Error {
  return new Error('tar: the archive is truncated (no end-of-archive marker)');
}

export interface BagVerification {
  valid: boolean;
  bagName: string | null;
  payloadFiles: number;
  payloadBytes: number;
  /** Exact problems, one line each (empty when valid). */
  problems: string[];
  bagInfo: Record<string, string>;
}

function parseManifest(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-fA-F]+)[ \t]+(.+)$/.exec(line.replace(/\r$/, ''));
    if (m) out.set(decodeManifestPath(m[2]!.replace(/^\*/, '')), m[1]!.toLowerCase());
  }
  return out;
}

/**
 * Validates a serialized bag (RFC 8493 §3): bagit.txt present, every payload file listed in every
 * payload manifest with the right digest and nothing listed that is absent, tag manifests right,
 * Payload-Oxum right. Reads the stream once.
 */
export async function verifyBagTar(source: AsyncIterable<Buffer | Uint8Array>): Promise<BagVerification> {
  const computed = new Map<string, { sha256: string; sha512: string; bytes: number }>();
  const tagText = new Map<string, string>();
  const roots = new Set<string>();
  await readTar(source, (h) => {
    if (h.type !== 'file') return null;
    const slash = h.name.indexOf('/');
    roots.add(slash === -1 ? '' : h.name.slice(0, slash));
    const rel = slash === -1 ? h.name : h.name.slice(slash + 1);
    const h256 = createHash('sha256');
    const h512 = createHash('sha512');
    const isTag = !rel.startsWith('data/');
    const texts: Buffer[] = [];
    let bytes = 0;
    return {
      data(chunk) {
        h256.update(chunk);
        h512.update(chunk);
        bytes += chunk.length;
        if (isTag) texts.push(Buffer.from(chunk));
      },
      end() {
        computed.set(rel, { sha256: h256.digest('hex'), sha512: h512.digest('hex'), bytes });
        if (isTag) tagText.set(rel, Buffer.concat(texts).toString('utf8'));
      },
    };
  });
  const problems: string[] = [];
  if (roots.size !== 1) problems.push(`expected one top-level bag folder, found ${roots.size}`);
  if (!tagText.has('bagit.txt')) problems.push('bagit.txt is missing');
  const payload = [...computed].filter(([p]) => p.startsWith('data/'));
  const payloadBytes = payload.reduce((s, [, d]) => s + d.bytes, 0);
  let manifests = 0;
  for (const alg of ['sha256', 'sha512'] as const) {
    const text = tagText.get(`manifest-${alg}.txt`);
    if (text === undefined) continue;
    manifests++;
    const listed = parseManifest(text);
    for (const [p, d] of payload) {
      const want = listed.get(p);
      if (want === undefined) problems.push(`${p}: not in manifest-${alg}.txt`);
      else if (want !== d[alg]) problems.push(`${p}: ${alg} ${d[alg]} ≠ manifest ${want}`);
    }
    for (const p of listed.keys()) if (!computed.has(p)) problems.push(`${p}: listed in manifest-${alg}.txt but absent`);
  }
  if (manifests === 0) problems.push('no payload manifest (manifest-sha256.txt / manifest-sha512.txt)');
  for (const alg of ['sha256', 'sha512'] as const) {
    const text = tagText.get(`tagmanifest-${alg}.txt`);
    if (text === undefined) continue;
    for (const [p, want] of parseManifest(text)) {
      const d = computed.get(p);
      if (!d) problems.push(`${p}: listed in tagmanifest-${alg}.txt but absent`);
      else if (d[alg] !== want) problems.push(`${p}: ${alg} does not match tagmanifest-${alg}.txt`);
    }
  }
  const bagInfo: Record<string, string> = {};
  for (const line of (tagText.get('bag-info.txt') ?? '').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) bagInfo[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  const oxum = bagInfo['Payload-Oxum'];
  if (oxum && oxum !== `${payloadBytes}.${payload.length}`) problems.push(`Payload-Oxum ${oxum} ≠ actual ${payloadBytes}.${payload.length}`);
  return { valid: problems.length === 0, bagName: roots.size === 1 ? [...roots][0]! : null, payloadFiles: payload.length, payloadBytes, problems, bagInfo };
}
