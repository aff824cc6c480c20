import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serverSecret } from './server-secret.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the server secret', () => {
  it('is the configured one, else generated once into the data dir (mode 0600) and read back', () => {
    expect(serverSecret({ secretKey: 'k'.repeat(40), dataDir: dir }).toString()).toBe('k'.repeat(40));
    const first = serverSecret({ dataDir: dir });
    const file = path.join(dir, 'secret-key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.length).toBeGreaterThanOrEqual(43);
    expect(serverSecret({ dataDir: dir }).equals(first)).toBe(true);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString());
  });

  it('refuses a truncated secret file instead of keying hashes with it', () => {
    const other = mkdtempSync(path.join(dir, 'short-'));
    writeFileSync(path.join(other, 'secret-key'), 'short\n');
    expect(() => serverSecret({ dataDir: other })).toThrow(expect.objectContaining({ code: 'secret-key-invalid' }));
  });
});
