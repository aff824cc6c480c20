import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { bagTarStream, collectPayload, encodeManifestPath, decodeManifestPath, verifyBagTar } from './bagit.js';

const work = mkdtempSync(path.join(tmpdir(), 'pcrs-bagit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function openAndClose(file: string): string {
  closeSync(openSync(file, 'w'));
  return file;
}

async function toBuffer(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function packToBuffer(payloadDir: string, bagName = 'b'): Promise<Buffer> {
  return toBuffer(bagTarStream(bagName, await collectPayload(payloadDir), { baggingDate: '2026-01-01', fields: {} }).stream);
}

describe('tar (tar-stream)', () => {
  it('writes bags that GNU tar lists and extracts, with long and non-ASCII names and mtimes past 2038', async () => {
    const src = path.join(work, 'names');
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(50)}.bin`; // > 100 bytes, split into ustar prefix/name
    const files: Record<string, Buffer> = {
      'small.txt': Buffer.from('hello\n'),
      [long]: randomBytes(1000),
      [`${'g'.repeat(170)}.bin`]: randomBytes(3), // one component > 100 bytes: a pax path
      'été/dalle-ü.tif': randomBytes(512),
      empty: Buffer.alloc(0),
    };
    for (const [rel, b] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      writeFileSync(path.join(src, rel), b);
    }
    const y2040 = new Date('2040-06-01T00:00:00Z');
    utimesSync(path.join(src, 'small.txt'), y2040, y2040);
    const tar = await packToBuffer(src, 'bag');
    expect(tar.length % 512).toBe(0);
    const file = path.join(work, 't.tar');
    writeFileSync(file, tar);
    // A UTF-8 locale: in the C locale (CI may have no LANG) GNU tar lists non-ASCII bytes as octal escapes.
    const env = { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' };
    const listed = execFileSync('tar', ['-tf', file], { encoding: 'utf8', env }).trim().split('\n');
    const names = Object.keys(files).map((rel) => `bag/data/${rel}`);
    expect(listed.filter((n) => n.startsWith('bag/data/')).sort()).toEqual(names.sort());
    expect(execFileSync('tar', ['-tvf', file, 'bag/data/small.txt'], { encoding: 'utf8', env })).toMatch(/ 6 2040-06-01 00:00 bag\/data\/small.txt/);
    const out = path.join(work, 'x');
    mkdirSync(out);
    execFileSync('tar', ['--warning=no-timestamp', '-xf', file, '-C', out]);
    for (const [rel, b] of Object.entries(files)) expect(readFileSync(path.join(out, 'bag', 'data', rel)).equals(b)).toBe(true);
    // and read back exactly the same, however the stream is cut into chunks
    const v = await verifyBagTar(Readable.from([tar.subarray(0, 700), tar.subarray(700, 1501), tar.subarray(1501)]));
    expect(v).toMatchObject({ valid: true, bagName: 'bag', payloadFiles: 5, payloadBytes: 1521 });
  });

  it('refuses truncated archives (even cut between two entries) and damaged headers', async () => {
    const src = path.join(work, 'trunc');
    mkdirSync(src);
    writeFileSync(path.join(src, 'x'), 'abc');
    const tar = await packToBuffer(src);
    expect((await verifyBagTar(Readable.from([tar]))).valid).toBe(true);
    await expect(verifyBagTar(Readable.from([tar.subarray(0, 600)]))).rejects.toThrow(/truncated/);
    await expect(verifyBagTar(Readable.from([tar.subarray(0, tar.length - 1024)]))).rejects.toThrow(/truncated/); // no end-of-archive marker
    await expect(verifyBagTar(Readable.from([tar.subarray(0, 1024)]))).rejects.toThrow(/truncated/); // after the first entry
    await expect(verifyBagTar(Readable.from([]))).rejects.toThrow(/truncated/);
    const damaged = Buffer.from(tar);
    damaged[1024 + 3] = 0x41; // in the second header's name
    await expect(verifyBagTar(Readable.from([damaged]))).rejects.toThrow(/checksum mismatch/);
  });

  it('fails when a file changes size while being archived', async () => {
    const src = path.join(work, 'changing');
    mkdirSync(src);
    writeFileSync(path.join(src, 'x'), 'abcd');
    const payload = await collectPayload(src);
    writeFileSync(path.join(src, 'x'), 'abc');
    await expect(toBuffer(bagTarStream('b', payload, { baggingDate: '2026-01-01', fields: {} }).stream)).rejects.toThrow(/x has 3 bytes, 4 announced/);
    writeFileSync(path.join(src, 'x'), 'abcde');
    await expect(toBuffer(bagTarStream('b', payload, { baggingDate: '2026-01-01', fields: {} }).stream)).rejects.toThrow(/x has more than the 4 bytes announced/);
  });

  it('writes the size of a file ≥ 8 GiB in a pax header, which GNU tar reads', async () => {
    const src = path.join(work, 'big');
    mkdirSync(src);
    const size = 9 * 1024 ** 3;
    truncateSync(openAndClose(path.join(src, 'huge.tif')), size); // sparse: no disk used
    const { stream } = bagTarStream('b', await collectPayload(src), { baggingDate: '2026-01-01', fields: {} });
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const c of stream) {
      chunks.push(c as Buffer);
      bytes += (c as Buffer).length;
      if (bytes >= 4096) break; // the headers are there; leaving the loop destroys the stream
    }
    const head = Buffer.concat(chunks);
    expect(head.toString('latin1')).toContain(` size=${size}\n`);
    // GNU tar lists the entry (then complains that the archive is cut short, as it is)
    const r = spawnSync('tar', ['-tvf', '-'], { input: head, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    expect(r.stdout).toMatch(new RegExp(` ${size} .* b/data/huge\\.tif`));
  });
});

// ---------------------------------------------------------------------------------------------
// Packages written before tar-stream, by pcrs' own tar writer (src/archive/tar.ts until 2026):
// ustar, owner pcrs/pcrs, mode 0644 in 7 octal digits + NUL, checksum "%06o\0 ", a pax header
// named PaxHeader/<name> with `path` (non-ASCII or > 100 bytes, no prefix split) and `size`
// (≥ 8 GiB, the ustar size then 0), two zero blocks at the end. Reproduced here byte for byte
// (the digests below are of that writer's output) to keep such packages readable.

function oldHeader(name: string, size: number, mtime: number, paxSizeAbove = 0o77777777777): Buffer {
  const raw = (n: string, sz: number, flag: string): Buffer => {
    const h = Buffer.alloc(512);
    const oct = (v: number, width: number): string => `${v.toString(8).padStart(width - 1, '0')}\0`;
    for (const [at, text] of [[0, n], [100, oct(0o644, 8)], [108, oct(0, 8)], [116, oct(0, 8)], [124, oct(sz, 12)], [136, oct(mtime, 12)], [156, flag], [257, 'ustar\0'], [263, '00'], [265, 'pcrs'], [297, 'pcrs']] as const) h.write(text, at, 'utf8');
    h.fill(0x20, 148, 156);
    h.write(`${h.reduce((s, b) => s + b, 0).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    return h;
  };
  const record = (key: string, value: string): string => {
    const body = ` ${key}=${value}\n`;
    const bodyLen = Buffer.byteLength(body);
    let len = bodyLen + 1;
    while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
    return `${len}${body}`;
  };
  const ascii = (t: string) => t.replace(/[^\x20-\x7e]/g, '_');
  const fits = /^[\x20-\x7e]*$/.test(name) && Buffer.byteLength(name) <= 100;
  const records = [...(fits ? [] : [record('path', name)]), ...(size > paxSizeAbove ? [record('size', String(size))] : [])];
  const blocks: Buffer[] = [];
  if (records.length > 0) {
    const pax = Buffer.from(records.join(''), 'utf8');
    blocks.push(raw(`PaxHeader/${ascii(name).slice(-80)}`.slice(0, 100), pax.length, 'x'), pax, Buffer.alloc((512 - (pax.length % 512)) % 512));
  }
  blocks.push(raw(fits ? name : ascii(name).slice(-100), size > paxSizeAbove ? 0 : size, '0'));
  return Buffer.concat(blocks);
}

function oldTar(entries: Array<{ name: string; content: Buffer; paxSizeAbove?: number }>, mtime: number): Buffer {
  return Buffer.concat([
    ...entries.flatMap((e) => [oldHeader(e.name, e.content.length, mtime, e.paxSizeAbove), e.content, Buffer.alloc((512 - (e.content.length % 512)) % 512)]),
    Buffer.alloc(1024),
  ]);
}

/** A complete bag, as archiveDirectory wrote it (payload, then the tag files). */
function oldBag(payload: Record<string, Buffer>, paxSizeAbove?: number): Array<{ name: string; content: Buffer; paxSizeAbove?: number }> {
  const hex = (alg: string, b: Buffer | string) => createHash(alg).update(b).digest('hex');
  const rels = Object.keys(payload).map((r) => `data/${r}`);
  const bytes = Object.values(payload).reduce((s, b) => s + b.length, 0);
  const tags: Array<[string, string]> = [
    ['bagit.txt', 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n'],
    ['bag-info.txt', `Bagging-Date: 2025-06-01\nPayload-Oxum: ${bytes}.${rels.length}\nBag-Size: 0.000 GB\nSource-Organization: Te46\n`],
    ['manifest-sha256.txt', Object.entries(payload).map(([r, b]) => `${hex('sha256', b)}  data/${encodeManifestPath(r)}\n`).join('')],
    ['manifest-sha512.txt', Object.entries(payload).map(([r, b]) => `${hex('sha512', b)}  data/${encodeManifestPath(r)}\n`).join('')],
  ];
  tags.push(['tagmanifest-sha256.txt', tags.map(([n, t]) => `${hex('sha256', t)}  ${n}\n`).join('')]);
  return [
    ...Object.entries(payload).map(([r, content]) => ({ name: `raw-at-2024/data/${r}`, content, ...(paxSizeAbove === undefined ? {} : { paxSizeAbove }) })),
    ...tags.map(([n, t]) => ({ name: `raw-at-2024/${n}`, content: Buffer.from(t, 'utf8') })),
  ];
}

const OLD_PAYLOAD: Record<string, Buffer> = {
  'images/IMG_0001.tif': Buffer.alloc(1500, 'pcrs'),
  [`${'l'.repeat(120)}/IMG_0002.tif`]: Buffer.from('long path\n'),
  'aero/été 100%.xml': Buffer.from('<at/>\n'),
  'vide.txt': Buffer.alloc(0),
};
const OLD_MTIME = 1_750_000_000;

describe('packages written by the former tar writer', () => {
  it('are reproduced byte for byte here (the digests are of that writer’s output)', () => {
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(digest(oldTar(oldBag(OLD_PAYLOAD), OLD_MTIME))).toBe('1c89152175c728b17c0bff5699dba1a81b403c32a6cb9e30a1bc80944c4cccb2');
    // the headers of a 9 GiB file: pax `size` record, ustar size 0
    expect(digest(oldHeader('raw-at-2024/data/ortho.tif', 9 * 1024 ** 3, OLD_MTIME))).toBe('2e94257882706d9a1b353e351acc45b257089eb8d3f2049a99c1da3cc62d7c43');
  });

  it('verify as valid bags, and a flipped byte is still found', async () => {
    const tar = oldTar(oldBag(OLD_PAYLOAD), OLD_MTIME);
    const ok = await verifyBagTar(Readable.from([tar.subarray(0, 1000), tar.subarray(1000)]));
    expect(ok).toMatchObject({ valid: true, bagName: 'raw-at-2024', payloadFiles: 4, payloadBytes: 1516, problems: [] });
    const bad = Buffer.from(tar);
    const at = tar.indexOf('pcrspcrs') + 5; // in IMG_0001.tif
    bad[at] = (bad[at] as number) ^ 0xff;
    expect((await verifyBagTar(Readable.from([bad]))).problems).toEqual([expect.stringMatching(/^data\/images\/IMG_0001.tif: sha256/), expect.stringMatching(/sha512/)]);
  });

  it('read the size from the pax header, as written for files ≥ 8 GiB (ustar size 0)', async () => {
    const tar = oldTar(oldBag(OLD_PAYLOAD, 0), OLD_MTIME); // every payload file with a pax `size`
    expect(tar.toString('latin1')).toContain(' size=1500\n');
    expect(await verifyBagTar(Readable.from([tar]))).toMatchObject({ valid: true, payloadFiles: 4, payloadBytes: 1516 });
  });
});

describe('BagIt (RFC 8493)', () => {
  it('percent-encodes CR, LF and % in manifest paths', () => {
    expect(encodeManifestPath('data/a%b\nc\r')).toBe('data/a%25b%0Ac%0D');
    expect(decodeManifestPath('data/a%25b%0Ac%0D')).toBe('data/a%b\nc\r');
  });

  it('packs a folder as a valid bag in one read, readable by tar, and detects a flipped byte', async () => {
    const src = path.join(work, 'raw');
    mkdirSync(path.join(src, 'images', 'bande 1'), { recursive: true });
    const files: Record<string, Buffer> = { 'images/bande 1/IMG_0001.tif': randomBytes(70_000), 'images/IMG_0002.tif': randomBytes(513), 'aero/triangulation 100%.xml': Buffer.from('<at/>') };
    mkdirSync(path.join(src, 'aero'));
    for (const [rel, b] of Object.entries(files)) writeFileSync(path.join(src, rel), b);
    const payload = await collectPayload(src);
    expect(payload.map((p) => p.rel)).toEqual(['aero/triangulation 100%.xml', 'images/IMG_0002.tif', 'images/bande 1/IMG_0001.tif']);
    const { stream, digests } = bagTarStream('raw-at-2025', payload, { baggingDate: '2026-11-24', fields: { 'Source-Organization': 'Te46', 'External-Identifier': 'raw-at/2025' } });
    const file = path.join(work, 'bag.tar');
    await pipeline(stream, createWriteStream(file));
    expect(digests.payload.get('data/images/IMG_0002.tif')?.sha256).toBe(createHash('sha256').update(files['images/IMG_0002.tif']!).digest('hex'));

    const out = path.join(work, 'bagx');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    const bag = path.join(out, 'raw-at-2025');
    expect(readFileSync(path.join(bag, 'bagit.txt'), 'utf8')).toBe('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n');
    const info = readFileSync(path.join(bag, 'bag-info.txt'), 'utf8');
    expect(info).toContain('Payload-Oxum: 70518.3\n');
    expect(info).toContain('Bagging-Date: 2026-11-24\n');
    const m256 = readFileSync(path.join(bag, 'manifest-sha256.txt'), 'utf8');
    expect(m256).toContain('  data/aero/triangulation 100%25.xml\n');
    // sha256sum agrees with the manifest (paths without encoded characters)
    const check = execFileSync('sha256sum', ['-c', '--quiet', 'tagmanifest-sha256.txt'], { cwd: bag, encoding: 'utf8' });
    expect(check).toBe('');
    expect(readFileSync(path.join(bag, 'manifest-sha512.txt'), 'utf8').split('\n').filter(Boolean)).toHaveLength(3);

    const ok = await verifyBagTar(createReadStream(file));
    expect(ok).toMatchObject({ valid: true, bagName: 'raw-at-2025', payloadFiles: 3, payloadBytes: 70518, problems: [] });

    // flip one payload byte without changing the size
    const tar = readFileSync(file);
    const at = tar.indexOf(files['images/bande 1/IMG_0001.tif']!.subarray(0, 64));
    tar[at + 10] = (tar[at + 10] as number) ^ 0xff;
    const bad = await verifyBagTar(Readable.from([tar]));
    expect(bad.valid).toBe(false);
    expect(bad.problems).toEqual([expect.stringMatching(/^data\/images\/bande 1\/IMG_0001.tif: sha256 [0-9a-f]+ ≠ manifest/), expect.stringMatching(/IMG_0001.tif: sha512/)]);
  });

  it('refuses an empty folder, a missing one and symbolic links with clear messages', async () => {
    const empty = path.join(work, 'empty');
    mkdirSync(empty);
    await expect(collectPayload(empty)).rejects.toThrow(/holds no files/);
    await expect(collectPayload(path.join(work, 'nope'))).rejects.toThrow(/does not exist/);
    const withLink = path.join(work, 'link');
    mkdirSync(withLink);
    execFileSync('ln', ['-s', '/etc/hostname', path.join(withLink, 'l')]);
    await expect(collectPayload(withLink)).rejects.toThrow(/symbolic links/);
  });
});
