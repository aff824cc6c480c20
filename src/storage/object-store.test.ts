import { describe, expect, it } from 'vitest';
import { INVALID_KEYS } from './test-support/object-store.contract.js';
import { compareKeys, InvalidKeyError, isReservedKey, normalizeSha256, validateKey, validatePrefix } from './object-store.js';

describe('validateKey', () => {
  it.each(INVALID_KEYS.map((k) => [JSON.stringify(k).slice(0, 60), k]))('rejects %s', (_label, key) => {
    expect(() => validateKey(key)).toThrow(InvalidKeyError);
  });

  it('explains why, as a UserError with a hint', () => {
    const err = (() => {
      try {
        validateKey('a/../b');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toMatchObject({ code: 'invalid-storage-key', status: 400, key: 'a/../b' });
    expect((err as Error).message).toContain('".." segments');
    expect((err as InvalidKeyError).hint).toBeTruthy();
  });

  it('accepts ordinary and unusual valid keys', () => {
    for (const k of ['a', 'a/b/c.tif', '46/2025/46-2025-0575-6374-LA93-0M05-RVB.tif', '.hidden', '...', 'a..b', 'é/日本', 'x y', 'C:/x', '100%', `${'x'.repeat(255)}`]) {
      expect(validateKey(k)).toBe(k);
    }
  });

  it('rejects non-strings', () => {
    expect(() => validateKey(undefined as unknown as string)).toThrow(InvalidKeyError);
    expect(() => validateKey(42 as unknown as string)).toThrow(InvalidKeyError);
  });
});

describe('validatePrefix', () => {
  it('accepts empty, folder and partial-name prefixes', () => {
    for (const p of ['', 'a/', 'a/b', 'a/b/46-2025-', '.', '.h']) expect(validatePrefix(p)).toBe(p);
  });
  it('rejects traversal and malformed prefixes', () => {
    for (const p of ['/', '/a', '..', '../', 'a/..', 'a/../', 'a//', 'a/./b', 'a\\', 'a\u0000', '.pcrs-tmp', 'a/.pcrs-tmp-x']) {
      expect(() => validatePrefix(p), JSON.stringify(p)).toThrow(InvalidKeyError);
    }
  });
});

describe('helpers', () => {
  it('orders keys by UTF-8 bytes, like S3', () => {
    const keys = ['a/x', 'a-b', 'é', 'z', '\uffff', '😀', 'A'];
    expect([...keys].sort(compareKeys)).toEqual(['A', 'a-b', 'a/x', 'z', 'é', '\uffff', '😀']);
  });
  it('recognises reserved temporary names', () => {
    expect(isReservedKey('a/.pcrs-tmp-123')).toBe(true);
    expect(isReservedKey('.pcrs-tmp/uuid')).toBe(true);
    expect(isReservedKey('a/b.pcrs-tmp')).toBe(false);
  });
  it('normalises SHA-256 hex digests', () => {
    expect(normalizeSha256(' ' + 'AB'.repeat(32) + '\n')).toBe('ab'.repeat(32));
    expect(() => normalizeSha256('xyz')).toThrow(/64 hexadecimal/);
    expect(() => normalizeSha256('a'.repeat(63))).toThrow();
  });
});
