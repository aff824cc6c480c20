/**
 * BagIt (RFC 8493) packages of raw data, serialized as one tar stream `<bag>/bagit.txt …
 * <bag>/data/…`. The payload is read once: each file is hashed (SHA-256 and SHA-512) while it
 * streams into the tar, and the tag files (which only need the digests) come after the payload.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { UserError } from '../util/errors.js';
import { readTar, tarStream, type TarInput } from './tar.js';

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
