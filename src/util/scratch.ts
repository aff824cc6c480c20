import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from './process.js';


/**
 * A private scratch directory `<parent>/<pid>-<uuid>` for one piece of work. Directories left by
 * processes that died (kill -9) are removed first, so interrupted work never leaves garbage behind
 * for long; live processes' directories are never touched.
 */
export async function createScratchDir(parent: string): Promise<{ dir: string; remove(): Promise<void> }> {
  await mkdir(parent, { recursive: true });
  for (const entry of await readdir(parent, { withFileTypes: true })) {
    const m = /^(\d+)-[0-9a-f-]{36}$/.exec(entry.name);
    if (m && Number(m[1]) !== process.pid && !isProcessAlive(Number(m[1]))) await rm(path.join(parent, entry.name), { recursive: true, force: true });
  }
  const dir = path.join(parent, `${process.pid}-${randomUUID()}`);
  await mkdir(dir, { recursive: true });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
