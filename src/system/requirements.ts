import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { openDatabase } from '../db/open.js';
import { errorMessage } from '../util/errors.js';
import { execTool, INSTALL_HINTS } from '../util/exec.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** How to fix it, when not ok. */
  hint?: string;
  /** Required checks stop `pcrs start`; optional ones only warn. */
  required: boolean;
}

export const MIN_NODE_MAJOR = 20;
export const MIN_GDAL: [number, number] = [3, 4];

export function parseVersion(text: string): [number, number, number] | null {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

export function checkNode(version = process.versions.node): CheckResult {
  const v = parseVersion(version);
  const ok = v !== null && v[0] >= MIN_NODE_MAJOR;
  return { name: 'Node.js', ok, required: true, detail: `v${version}`, ...(ok ? {} : { hint: `Install Node.js ${MIN_NODE_MAJOR} or newer (https://nodejs.org or your distribution's nodejs package).` }) };
}

export async function checkGdal(): Promise<CheckResult> {
  try {
    const { stdout, code } = await execTool('gdalinfo', ['--version'], { timeoutMs: 15_000 });
    const v = parseVersion(stdout);
    if (code !== 0 || !v) return { name: 'GDAL', ok: false, required: true, detail: `gdalinfo --version failed: ${stdout.trim()}`, hint: INSTALL_HINTS.gdalinfo };
    const ok = v[0] > MIN_GDAL[0] || (v[0] === MIN_GDAL[0] && v[1] >= MIN_GDAL[1]);
    return { name: 'GDAL', ok, required: true, detail: stdout.trim(), ...(ok ? {} : { hint: `GDAL ${MIN_GDAL.join('.')} or newer is needed. ${INSTALL_HINTS.gdalinfo}` }) };
  } catch (e) {
    return { name: 'GDAL', ok: false, required: true, detail: errorMessage(e), hint: INSTALL_HINTS.gdalinfo };
  }
}

export async function checkXmllint(): Promise<CheckResult> {
  try {
    const { stderr, stdout } = await execTool('xmllint', ['--version'], { timeoutMs: 15_000 });
    const line = (stderr || stdout).split('\n')[0] ?? '';
    return { name: 'xmllint (libxml2)', ok: true, required: true, detail: line.trim() };
  } catch (e) {
    return { name: 'xmllint (libxml2)', ok: false, required: true, detail: errorMessage(e), hint: INSTALL_HINTS.xmllint };
  }
}

export function checkDataDir(dataDir: string): CheckResult {
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.W_OK | constants.R_OK);
    return { name: 'Data directory', ok: true, required: true, detail: dataDir };
  } catch (e) {
    return {
      name: 'Data directory',
      ok: false,
      required: true,
      detail: `${dataDir}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`,
      hint: 'Make it writable (chown/chmod) or set PCRS_DATA_DIR to a writable directory.',
    };
  }
}

export async function checkDatabase(config: Config): Promise<CheckResult> {
  try {
    const db = await openDatabase(config);
    try {
      const { rows } = await db.query<{ v: string }>(`SELECT default_version AS v FROM pg_available_extensions WHERE name = 'postgis'`);
      const postgis = rows[0]?.v;
      if (!postgis) {
        return {
          name: 'Database',
          ok: false,
          required: true,
          detail: `${db.describe()}: the PostGIS extension is not available on this server`,
          hint: 'Install PostGIS on the database server: sudo apt-get install -y postgresql-15-postgis-3',
        };
      }
      return { name: 'Database', ok: true, required: true, detail: `${db.describe()} (PostGIS ${postgis} available)` };
    } finally {
      await db.close();
    }
  } catch (e) {
    return {
      name: 'Database',
      ok: false,
      required: true,
      detail: errorMessage(e),
      hint: (e as { hint?: string }).hint ?? 'Check DATABASE_URL, or unset it to use the embedded database.',
    };
  }
}

/** Everything `pcrs doctor` checks, in display order. */
export async function runChecks(config: Config, options: { database?: boolean } = {}): Promise<CheckResult[]> {
  const results = [checkNode(), await checkGdal(), await checkXmllint(), checkDataDir(config.dataDir)];
  for (const sub of ['storage']) results.push({ ...checkDataDir(path.join(config.dataDir, sub)), name: `Storage directory (${sub})` });
  if (options.database !== false) results.push(await checkDatabase(config));
  return results;
}
