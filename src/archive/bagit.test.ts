import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { bagTarStream, collectPayload, encodeManifestPath, decodeManifestPath, verifyBagTar } from './bagit.js';
import { readTar, tarStream } from './tar.js';

const work = mkdtempSync(path.join(tmpdir(), 'pcrs-bagit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function toBuffer(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('tar writer/reader', () => {
  it('writes archives that GNU tar lists and extracts, with long and non-ASCII names (pax)', async () => {
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(50)}.bin`;
    const entries = [
      { name: 'a/small.txt', content: Buffer.from('hello\n') },
      { name: `a/${long}`, content: randomBytes(1000) },
      { name: 'a/été/dalle-ü.tif', content: randomBytes(512) },
      { name: 'a/empty', content: Buffer.alloc(0) },
    ];
    const tar = await toBuffer(tarStream(entries.map((e) => ({ name: e.name, size: e.content.length, content: () => [e.content] }))));
    expect(tar.length % 512).toBe(0);
    const file = path.join(work, 't.tar');
    writeFileSync(file, tar);
    // A UTF-8 locale: in the C locale (CI may have no LANG) GNU tar lists non-ASCII bytes as octal escapes.
    const listed = execFileSync('tar', ['-tf', file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } }).trim().split('\n');
    expect(listed).toEqual(entries.map((e) => e.name));
    const out = path.join(work, 'x');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    for (const e of entries) expect(readFileSync(path.join(out, e.name)).equals(e.content)).toBe(true);
    // and our reader reads back exactly the same
    const seen = new Map<string, Buffer>();
    await readTar(Readable.from([tar.subarray(0, 700), tar.subarray(700)]), (h) => {
      const parts: Buffer[] = [];
      return { data: (c) => parts.push(Buffer.from(c)), end: () => void seen.set(h.name, Buffer.concat(parts)) };
    });
    for (const e of entries) expect(seen.get(e.name)?.equals(e.content)).toBe(true);
  });

  it('refuses truncated archives and content that changed size', async () => {
    const tar = await toBuffer(tarStream([{ name: 'x', size: 3, content: () => [Buffer.from('abc')] }]));
    await expect(readTar(Readable.from([tar.subarray(0, 600)]), () => null)).rejects.toThrow(/truncated/);
    await expect(toBuffer(tarStream([{ name: 'x', size: 4, content: () => [Buffer.from('abc')] }]))).rejects.toThrow(/3 bytes, 4 announced/);
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
