/**
 * The virtual ZIP against real readers: Info-ZIP's `unzip -t` (every CRC checked) and Python's
 * zipfile, whole and in ranges (a resumed download is byte-identical to a whole one), ZIP64 forced
 * on small files and needed for an entry over 4 GiB (a sparse file, so the test writes no 4 GiB).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync, ftruncateSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { execTool } from '../util/exec.js';
import { VirtualZip, type ZipEntry } from './zip.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-zip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bufferEntry(name: string, data: Buffer, chunk = 7919): ZipEntry {
  return {
    name,
    size: data.length,
    crc32: crc32(data),
    // Streamed in odd-sized chunks, as a tier would.
    source: { open: async (start, end) => Readable.from((function* () { for (let i = start; i <= end; i += chunk) yield data.subarray(i, Math.min(end + 1, i + chunk)); })()) },
  };
}

async function bytesOf(zip: VirtualZip, start?: number, end?: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of zip.read(start, end)) parts.push(b);
  return Buffer.concat(parts);
}

const files = () => [
  bufferEntry('ortho/46-2025-05738-63744-LA93-0M05-RVB.tif', randomBytes(300_000)),
  bufferEntry('vector/pcrs.gml', Buffer.from('<?xml version="1.0"?>\n<gml/>\n')),
  bufferEntry('LISEZMOI-é.txt', Buffer.from('Données PCRS — accents in the name and the text\n')),
  bufferEntry('empty.txt', Buffer.alloc(0)),
];

const python = (file: string) =>
  execTool('/usr/bin/python3', ['-c', 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist(): print(i.filename, i.file_size, i.compress_type)', file]);

describe('VirtualZip', () => {
  for (const forceZip64 of [false, true]) {
    it(`is a valid archive for unzip -t and Python's zipfile${forceZip64 ? ' (ZIP64 records forced)' : ''}, with the planned names and bytes`, async () => {
      const entries = files();
      const zip = new VirtualZip(entries, { modified: new Date('2026-12-03T10:20:30Z'), forceZip64 });
      const whole = await bytesOf(zip);
      expect(whole.length).toBe(zip.size);
      const file = path.join(dir, `whole-${forceZip64}.zip`);
      await writeFile(file, whole);
      const t = await execTool('unzip', ['-t', file]);
      expect(t.code, t.stdout + t.stderr).toBe(0);
      expect(t.stdout).toContain('No errors detected');
      const py = await python(file);
      expect(py.code, py.stderr).toBe(0);
      expect(py.stdout.trim().split('\n')).toEqual(entries.map((e) => `${e.name} ${e.size} 0`));
      const listing = await execTool('zipinfo', ['-T', file]);
      expect(listing.stdout).toContain('20261203.102030');
      // The bytes of an entry come back identical.
      const out = path.join(dir, `x-${forceZip64}`);
      expect((await execTool('unzip', ['-q', file, '-d', out])).code).toBe(0);
    });
  }

  it('gives any byte range: a download resumed anywhere is identical to a whole one', async () => {
    const zip = new VirtualZip(files(), { modified: new Date('2026-12-03T00:00:00Z') });
    const whole = await bytesOf(zip);
    for (const cut of [1, 29, 30, 77, 300_000, 300_100, zip.size - 23, zip.size - 1]) {
      const resumed = Buffer.concat([await bytesOf(zip, 0, cut - 1), await bytesOf(zip, cut)]);
      expect(resumed.equals(whole), `cut at ${cut}`).toBe(true);
    }
    expect((await bytesOf(zip, 1000, 1999)).equals(whole.subarray(1000, 2000))).toBe(true);
    await expect(zip.read(0, zip.size).next()).rejects.toThrow(RangeError);
  });

  it('refuses unsafe or duplicate names, and a source that no longer matches its plan', async () => {
    const ok = files()[1] as ZipEntry;
    expect(() => new VirtualZip([{ ...ok, name: '../etc/passwd' }], { modified: new Date() })).toThrow(/unsafe/);
    expect(() => new VirtualZip([{ ...ok, name: '/abs' }], { modified: new Date() })).toThrow(/unsafe/);
    expect(() => new VirtualZip([ok, ok], { modified: new Date() })).toThrow(/duplicate/);
    const shrunk = { ...ok, source: { open: async () => Buffer.from('short') } };
    await expect(bytesOf(new VirtualZip([shrunk], { modified: new Date() }))).rejects.toThrow(/expected/);
  });

  it('writes ZIP64 records for an entry over 4 GiB, read back by unzip and Python', async () => {
    const size = 4 * 1024 ** 3 + 12_345;
    const zeros = Buffer.alloc(1 << 24);
    let crc = 0;
    for (let done = 0; done < size; done += zeros.length) crc = crc32(zeros.subarray(0, Math.min(zeros.length, size - done)), crc);
    const big: ZipEntry = { name: 'big.bin', size, crc32: crc, source: { open: async () => { throw new Error('not read: the test writes a sparse file'); } } };
    const small = bufferEntry('after.txt', Buffer.from('after the big one\n'));
    const zip = new VirtualZip([big, small], { modified: new Date('2026-12-03T00:00:00Z') });
    // Write every byte but the zeros of big.bin, which stay a hole of the sparse file.
    const file = path.join(dir, 'big.zip');
    const fd = openSync(file, 'w');
    try {
      ftruncateSync(fd, zip.size);
      const headerEnd = 30 + 'big.bin'.length + 20;
      writeSync(fd, await bytesOf(zip, 0, headerEnd - 1), 0, headerEnd, 0);
      const tailStart = headerEnd + size;
      writeSync(fd, await bytesOf(zip, tailStart), 0, zip.size - tailStart, tailStart);
    } finally {
      closeSync(fd);
    }
    const listing = await execTool('unzip', ['-l', file]);
    expect(listing.code, listing.stderr).toBe(0);
    expect(listing.stdout).toContain(String(size));
    const py = await execTool('/usr/bin/python3', ['-c', 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint([(i.filename, i.file_size, i.header_offset) for i in z.infolist()])\nprint(z.read("after.txt").decode())', file]);
    expect(py.code, py.stderr).toBe(0);
    expect(py.stdout).toContain(`('big.bin', ${size}, 0)`);
    expect(py.stdout).toContain('after the big one');
  }, 60_000);
});
