import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Root of the installed package (same relative path from src/util and dist/util). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
