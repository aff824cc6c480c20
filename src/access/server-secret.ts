import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { UserError } from '../util/errors.js';

/**
 * The server secret keying the API-key hashes: `config.secretKey` (PCRS_SECRET_KEY), else a random
 * one generated once into `${dataDir}/secret-key` (mode 0600) and read back at every start. Several
 * nodes must share it (give each the same PCRS_SECRET_KEY, or the same data dir).
 */
export function serverSecret(config: Pick<Config, 'secretKey' | 'dataDir'>): Buffer {
  if (config.secretKey) return Buffer.from(config.secretKey, 'utf8');
  const file = path.join(config.dataDir, 'secret-key');
  const read = (): Buffer | null => {
    try {
      const text = readFileSync(file, 'utf8').trim();
      if (text.length < 32) throw new UserError('secret-key-invalid', `The server secret in ${file} is shorter than 32 characters.`, { hint: 'Remove the file to generate a new one (existing API keys stop working), or set PCRS_SECRET_KEY.', exitCode: 78 });
      return Buffer.from(text, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      if (e instanceof UserError) throw e;
      throw new UserError('secret-key-unreadable', `Cannot read the server secret ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { exitCode: 74 });
    }
  };
  const existing = read();
  if (existing) return existing;
  try {
    mkdirSync(config.dataDir, { recursive: true });
    // 'wx': two processes starting together never overwrite each other's secret.
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new UserError('secret-key-unwritable', `Cannot write the server secret ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { hint: 'Set PCRS_SECRET_KEY, or make the data dir writable.', exitCode: 73 });
    }
  }
  const written = read();
  if (!written) throw new UserError('secret-key-unreadable', `The server secret ${file} vanished after it was written.`, { exitCode: 74 });
  return written;
}
