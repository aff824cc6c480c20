/**
 * Spawning the GDAL command-line tools for the demo generator (kept local to `src/demo`, so the
 * generator does not depend on the platform's own raster layer).
 */
import { execFile } from 'node:child_process';
import { UserError } from '../util/errors.js';

export interface ToolResult {
  stdout: string;
  stderr: string;
}

/** Runs a tool; throws `UserError('tool-missing')` if not installed, an Error with stderr on failure. */
export function runTool(cmd: string, args: readonly string[], options: { signal?: AbortSignal; timeoutMs?: number; input?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', signal: options.signal, timeout: options.timeoutMs ?? 0, env: { ...process.env, GDAL_PAM_ENABLED: 'NO' } },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          reject(new UserError('tool-missing', `${cmd} is not installed (needed to write the synthetic dalles)`, { hint: 'install GDAL: apt-get install gdal-bin', cause: error }));
          return;
        }
        if (error.name === 'AbortError') {
          reject(error);
          return;
        }
        const msg = stderr.trim().split('\n').slice(-5).join('\n') || error.message;
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${msg}`, { cause: error }));
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Transforms points between CRSs with `gdaltransform` (GDAL/PROJ, the same maths as gdalwarp). */
export async function transformPoints(points: ReadonlyArray<readonly [number, number]>, from: string, to: string): Promise<Array<[number, number]>> {
  const { stdout } = await runTool('gdaltransform', ['-s_srs', from, '-t_srs', to, '-output_xy'], { input: points.map((p) => `${p[0]} ${p[1]}`).join('\n') + '\n' });
  const out = stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  if (out.length !== points.length || out.some((p) => p.length < 2 || !p.every(Number.isFinite))) throw new Error(`gdaltransform returned unexpected output: ${stdout}`);
  return out;
}

/** The subset of `gdalinfo -json` the demo module and its tests read. */
export interface GdalInfo {
  driverShortName: string;
  size: [number, number];
  geoTransform?: number[];
  coordinateSystem?: { wkt?: string };
  metadata?: Record<string, Record<string, string> | undefined>;
  bands: Array<{ band: number; type: string; colorInterpretation?: string; block?: [number, number]; overviews?: unknown[]; checksum?: number }>;
  cornerCoordinates?: Record<string, [number, number]>;
}

export async function gdalInfo(file: string, extraArgs: readonly string[] = []): Promise<GdalInfo> {
  const { stdout } = await runTool('gdalinfo', ['-json', ...extraArgs, file]);
  return JSON.parse(stdout) as GdalInfo;
}

/** EPSG code at the end of a WKT (the CRS's own ID), or null. */
export function epsgOf(info: GdalInfo): number | null {
  const wkt = info.coordinateSystem?.wkt ?? '';
  const m = /ID\["EPSG",(\d+)\]\]\s*$/.exec(wkt);
  return m ? Number(m[1]) : null;
}

let drivers: Promise<Set<string>> | undefined;

/** Short names of the raster drivers of the installed GDAL (`gdalinfo --formats`), cached. */
export function gdalDrivers(): Promise<Set<string>> {
  drivers ??= runTool('gdalinfo', ['--formats']).then(({ stdout }) => {
    const set = new Set<string>();
    for (const line of stdout.split('\n')) {
      const m = /^\s+(\S+)\s+-[a-z,]*raster[a-z,]*-/.exec(line);
      if (m) set.add(m[1]!);
    }
    return set;
  });
  return drivers;
}
