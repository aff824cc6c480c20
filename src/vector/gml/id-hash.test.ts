import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { H1, H2, hashId, IdHashTable, verifyIdLines } from './id-hash.js';

const dir = mkdtempSync(join(tmpdir(), 'pcrs-idhash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('IdHashTable', () => {
  it('stores, finds and keeps the first value while growing; 200 k distinct ids give no hash collision', () => {
    const t = new IdHashTable(16);
    for (let i = 0; i < 200_000; i++) {
      hashId(`ido_f${i}`);
      expect(t.putIfAbsent(H1, H2, i + 1)).toBe(-1);
    }
    expect(t.size).toBe(200_000);
    expect(t.bytes).toBeLessThanOrEqual(524_288 * 12);
    hashId('ido_f12345');
    expect(t.putIfAbsent(H1, H2, 7)).toBe(12_346);
    expect(t.get(H1, H2)).toBe(12_346);
    t.update(H1, H2, 3);
    expect(t.get(H1, H2)).toBe(3);
    hashId('ido_f200000');
    expect(t.get(H1, H2)).toBe(-1);
    let n = 0;
    t.forEach(() => n++);
    expect(n).toBe(200_000);
  });
});

describe('verifyIdLines', () => {
  it('finds the id as a token from the target line on (start tag over several lines, escaped text), and only there', async () => {
    const file = join(dir, 'a.gml');
    const lines = ['<?xml version="1.0"?>', '<Root>', '<ArbrePCRS', '  xmlns:a="x"', '  xmlns:b="y"', '  gml:id="A&amp;1">', '<idObjet>', '  OBJ-7', '</idObjet>', '</ArbrePCRS>', '<Other gml:id="A&amp;12"/>', '</Root>'];
    writeFileSync(file, lines.join('\n'));
    expect(
      await verifyIdLines(file, 'UTF-8', [
        { line: 3, id: 'A&1' },
        { line: 7, id: 'OBJ-7' },
        { line: 7, id: 'OBJ-' }, // not a whole token
        { line: 11, id: 'A&1' }, // a different id on that line: a hash collision, not a duplicate
        { line: 11, id: 'A&12' },
      ]),
    ).toEqual([true, true, false, false, true]);
  });
});
