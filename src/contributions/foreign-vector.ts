import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { execTool } from '../util/exec.js';

/**
 * Vector files in the formats partners have (GeoPackage, GeoJSON, zipped Shapefile, DXF), read with
 * GDAL into GeoJSON features in Lambert-93 (EPSG:2154) — what the PCRS conversion (`pcrs-mapping.ts`)
 * and business data (`src/business/`) consume. One reader for both.
 *
 * - The format is told from the bytes, not the name: a `.gpkg` that is not a GeoPackage is refused.
 * - A zip is opened entry by entry (yauzl: sizes checked against what inflating gives) and refused
 *   whole, before anything is written, when an entry's path climbs out (`../`, absolute, a drive or
 *   a backslash: "zip slip"), is a symbolic link, or when the entries would inflate beyond the
 *   limits (a "zip bomb": total size, ratio, count). Only the Shapefile parts are extracted.
 * - A Shapefile without its `.prj` is refused: its coordinates could be anything.
 * - DXF carries no CRS: its coordinates are taken as Lambert-93 (documented; a warning says so).
 */

export type ForeignFormat = 'gpkg' | 'geojson' | 'shapefile' | 'dxf';

export const FOREIGN_VECTOR_EXTENSIONS = ['.gpkg', '.geojson', '.json', '.zip', '.dxf'] as const;

export interface ForeignFinding {
  severity: 'error' | 'warning';
  rule: string;
  message: string;
  layer?: string;
}

export interface ForeignFeature {
  /** The feature id GDAL gives (the GeoPackage fid, the Shapefile record number…). */
  fid: number | string | null;
  properties: Record<string, unknown>;
  /** GeoJSON geometry in EPSG:2154 (null when the feature has none). */
  geometry: { type: string; coordinates?: unknown; geometries?: unknown[] } | null;
}

export interface ForeignLayer {
  name: string;
  /** Where its features were written, one GeoJSON feature per line (read with `features`). */
  file: string;
  count: number;
  geometryTypes: string[];
  fields: string[];
  /** EPSG:2154 extent of its geometries. */
  bbox: [number, number, number, number] | null;
}

export interface ForeignRead {
  format: ForeignFormat;
  layers: ForeignLayer[];
  findings: ForeignFinding[];
}

export interface ZipLimits {
  /** Total inflated bytes of the entries extracted. */
  maxTotalBytes: number;
  /** Largest inflated/compressed ratio of an entry above 1 MiB. */
  maxRatio: number;
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxTotalBytes: 4 * 1024 ** 3, maxRatio: 200, maxEntries: 2000 };

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');
const SHAPEFILE_PARTS = new Set(['.shp', '.shx', '.dbf', '.prj', '.cpg']);

export class ForeignFileError extends Error {
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}

/** The format of a file from its first bytes (the extension only tells GeoJSON from JSON-looking DXF never). */
export async function sniffForeignFormat(file: string): Promise<ForeignFormat> {
  const fh = await open(file, 'r');
  const head = Buffer.alloc(4096);
  let n: number;
  try {
    ({ bytesRead: n } = await fh.read(head, 0, head.length, 0));
  } finally {
    await fh.close();
  }
  const data = head.subarray(0, n);
  if (data.length >= 16 && data.subarray(0, 16).equals(SQLITE_MAGIC)) return 'gpkg';
  if (data.subarray(0, 4).equals(ZIP_MAGIC)) return 'shapefile';
  let text = data.toString('latin1');
  if (text.startsWith('\xef\xbb\xbf')) text = text.slice(3);
  const start = text.trimStart();
  if (start.startsWith('{')) return 'geojson';
  // DXF (ASCII): group code 0 then SECTION on the next line.
  if (/^0\s*\r?\n\s*SECTION\b/.test(start) || /^999\s*\r?\n/.test(start)) return 'dxf';
  throw new ForeignFileError('unknown-format', 'The file is neither a GeoPackage, nor GeoJSON, nor a zipped Shapefile, nor an ASCII DXF (read from its content, not its name).');
}

/** The entry's path is safe to extract under a directory: relative, no `..`, no drive, no backslash. */
export function safeEntryPath(name: string): boolean {
  if (name.length === 0 || name.length > 500) return false;
  if (name.startsWith('/') || name.includes('\\') || /^[A-Za-z]:/.test(name) || name.includes('\0')) return false;
  return !name.split('/').some((part) => part === '..');
}

/**
 * Extracts the Shapefile parts of a zip into `dir`, refusing the whole zip (nothing extracted that
 * stays) on a dangerous path, a symbolic link, or beyond the limits. Returns the `.shp` files.
 */
export async function extractShapefileZip(zipFile: string, dir: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<string[]> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(zipFile, { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true, strictFileNames: false }, (e, z) => (e || !z ? reject(new ForeignFileError('unreadable-zip', `The zip cannot be read: ${e?.message ?? 'unknown error'}.`)) : resolve(z))),
  );
  // First pass over the central directory: the whole zip is judged before a byte is written.
  const entries: yauzl.Entry[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        entries.push(entry);
        if (entries.length > limits.maxEntries) return reject(new ForeignFileError('zip-bomb', `The zip holds more than ${limits.maxEntries} entries.`));
        zip.readEntry();
      });
      zip.on('end', resolve);
      // yauzl itself refuses `../` and absolute names (as it should): the same refusal as ours.
      zip.on('error', (e: Error) => reject(/invalid relative path|absolute path|invalid characters in fileName/i.test(e.message) ? new ForeignFileError('zip-unsafe-path', `The zip holds an entry whose path leaves its folder (${e.message}): refused whole.`) : new ForeignFileError('unreadable-zip', `The zip cannot be read: ${e.message}.`)));
      zip.readEntry();
    });
  } catch (e) {
    zip.close();
    throw e;
  }
  let total = 0;
  const wanted: yauzl.Entry[] = [];
  for (const entry of entries) {
    if (!safeEntryPath(entry.fileName)) {
      zip.close();
      throw new ForeignFileError('zip-unsafe-path', `The zip holds an entry whose path leaves its folder ('${entry.fileName.slice(0, 200)}'): refused whole.`);
    }
    // Unix mode in the upper 16 bits of the external attributes: S_IFLNK.
    if (((entry.externalFileAttributes >>> 16) & 0o170000) === 0o120000) {
      zip.close();
      throw new ForeignFileError('zip-symlink', `The zip holds a symbolic link ('${entry.fileName.slice(0, 200)}'): refused whole.`);
    }
    if (entry.fileName.endsWith('/')) continue;
    if (!SHAPEFILE_PARTS.has(path.extname(entry.fileName).toLowerCase())) continue;
    total += entry.uncompressedSize;
    const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
    if (total > limits.maxTotalBytes || (entry.uncompressedSize > 1024 * 1024 && ratio > limits.maxRatio)) {
      zip.close();
      throw new ForeignFileError('zip-bomb', `The zip would inflate beyond what is accepted (${(limits.maxTotalBytes / 1024 ** 3).toFixed(1)} GiB in all, a ratio of ${limits.maxRatio}:1 per entry): refused.`);
    }
    wanted.push(entry);
  }
  // Second pass: the parts, flattened into `dir` (a Shapefile's parts sit side by side); inflated bytes counted again (a header may lie: yauzl checks the size).
  const written = new Map<string, string>();
  let inflated = 0;
  try {
    for (const entry of wanted) {
      const base = path.basename(entry.fileName);
      if (!/^[^/\\]{1,200}$/.test(base) || base.startsWith('.')) continue;
      if (written.has(base.toLowerCase())) throw new ForeignFileError('zip-duplicate', `The zip holds two files named ${base} in different folders: keep one Shapefile per name.`);
      written.set(base.toLowerCase(), base);
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => zip.openReadStream(entry, (e, s) => (e || !s ? reject(new ForeignFileError('unreadable-zip', `The entry ${base} cannot be read: ${e?.message ?? ''}`)) : resolve(s))));
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          inflated += chunk.length;
          if (inflated > limits.maxTotalBytes) return done(new ForeignFileError('zip-bomb', 'The zip inflates beyond what its entries declare: refused.'));
          done(null, chunk);
        },
      });
      await pipeline(stream, counter, createWriteStream(path.join(dir, base), { flags: 'wx' }));
    }
  } catch (e) {
    throw e instanceof ForeignFileError ? e : new ForeignFileError('unreadable-zip', `The zip cannot be read: ${(e as Error).message}.`);
  } finally {
    zip.close();
  }
  return [...written].filter(([lower]) => lower.endsWith('.shp')).map(([, base]) => path.join(dir, base));
}

/** The layers of a vector file as GDAL names them (`ogrinfo -ro -q`: "1: name (Type)"). */
async function layerNames(source: string): Promise<string[]> {
  const r = await execTool('ogrinfo', ['-ro', '-q', source], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new ForeignFileError('unreadable', `GDAL cannot read the file: ${firstGdalError(r.stderr)}`);
  const names: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*\d+:\s+(.+?)(?:\s+\([^()]*\))?\s*$/.exec(line);
    if (m?.[1]) names.push(m[1]);
  }
  return names;
}

function firstGdalError(stderr: string): string {
  const line = stderr.split('\n').find((l) => /ERROR/.test(l)) ?? stderr.split('\n')[0] ?? '';
  return line.replace(/^ERROR \d+:\s*/, '').trim().slice(0, 300) || 'unknown error';
}

/**
 * Reads every layer of a foreign vector file into GeoJSON features in EPSG:2154 (files under
 * `workDir`), with what it found. Throws `ForeignFileError` when the file as a whole is refused.
 */
export async function readForeignVector(file: string, workDir: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ForeignRead> {
  const format = await sniffForeignFormat(file);
  await mkdir(workDir, { recursive: true });
  // GDAL's messages quote paths: never the server's in a report.
  const hidePaths = (m: string) => m.split(`${workDir}${path.sep}`).join('').split(workDir).join('').split(file).join(path.basename(file));
  const findings: ForeignFinding[] = [];
  const sources: Array<{ source: string; layer: string | null; label: string }> = [];
  if (format === 'shapefile') {
    const dir = path.join(workDir, 'unzipped');
    await mkdir(dir, { recursive: true });
    const shps = await extractShapefileZip(file, dir, limits);
    if (shps.length === 0) throw new ForeignFileError('zip-without-shapefile', 'The zip holds no Shapefile (.shp with its .shx, .dbf and .prj).');
    const present = new Set((await readdir(dir)).map((n) => n.toLowerCase()));
    for (const shp of shps) {
      const stem = path.basename(shp).slice(0, -4);
      for (const part of ['.shx', '.dbf', '.prj']) {
        if (!present.has(`${stem}${part}`.toLowerCase())) {
          throw new ForeignFileError(
            part === '.prj' ? 'shapefile-without-prj' : 'shapefile-incomplete',
            part === '.prj'
              ? `The Shapefile ${stem}.shp has no ${stem}.prj: its coordinate reference system is unknown. Add the .prj beside it in the zip (QGIS and ArcGIS write it), or send a GeoPackage.`
              : `The Shapefile ${stem}.shp comes without its ${part}: put the .shp, .shx, .dbf and .prj together in the zip.`,
          );
        }
      }
      sources.push({ source: shp, layer: null, label: stem });
    }
  } else {
    for (const name of await layerNames(file).catch((e: unknown) => {
      throw e instanceof ForeignFileError ? new ForeignFileError(e.rule, hidePaths(e.message)) : e;
    }))
      sources.push({ source: file, layer: name, label: name });
    if (sources.length === 0) throw new ForeignFileError('no-layer', 'The file holds no vector layer.');
  }
  if (format === 'dxf') findings.push({ severity: 'warning', rule: 'dxf-crs-assumed', message: 'A DXF file carries no coordinate reference system: its coordinates are read as Lambert-93 (EPSG:2154).' });
  const layers: ForeignLayer[] = [];
  for (const [i, s] of sources.entries()) {
    const out = path.join(workDir, `layer-${i}.geojson`);
    // The GeoJSON driver (not GeoJSONSeq, which always writes WGS84) in Lambert-93, one feature per line; fids kept.
    const args = ['-f', 'GeoJSON', '-t_srs', 'EPSG:2154', '-lco', 'WRITE_BBOX=NO', '-lco', 'COORDINATE_PRECISION=4', '-preserve_fid', ...(format === 'dxf' ? ['-s_srs', 'EPSG:2154'] : []), out, s.source, ...(s.layer ? [s.layer] : [])];
    const r = await execTool('ogr2ogr', args, { timeoutMs: 30 * 60_000 });
    if (r.code !== 0) {
      const message = hidePaths(firstGdalError(r.stderr));
      const noCrs = /no coordinate system|source layer has no|Can't transform/i.test(message);
      findings.push({
        severity: 'error',
        rule: noCrs ? 'layer-without-crs' : 'unreadable-layer',
        layer: s.label,
        message: noCrs ? `The layer ${s.label} has no coordinate reference system: set one in the file (QGIS: Layer properties > Source).` : `The layer ${s.label} cannot be read: ${message}`,
      });
      continue;
    }
    layers.push(await summarise(s.label, out));
  }
  return { format, layers, findings };
}

/** Counts, geometry types, fields and extent of a converted layer (one streaming pass). */
async function summarise(name: string, file: string): Promise<ForeignLayer> {
  const types = new Set<string>();
  const fields = new Set<string>();
  let count = 0;
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  for await (const f of features(file)) {
    count++;
    for (const k of Object.keys(f.properties)) if (fields.size < 500) fields.add(k);
    if (!f.geometry) continue;
    types.add(f.geometry.type);
    walkPositions(f.geometry, (x, y) => {
      if (x < (b[0] as number)) b[0] = x;
      if (y < (b[1] as number)) b[1] = y;
      if (x > (b[2] as number)) b[2] = x;
      if (y > (b[3] as number)) b[3] = y;
    });
  }
  return { name, file, count, geometryTypes: [...types].sort(), fields: [...fields], bbox: Number.isFinite(b[0]) ? (b as [number, number, number, number]) : null };
}

export function walkPositions(g: { coordinates?: unknown; geometries?: unknown[] }, visit: (x: number, y: number) => void): void {
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number') visit(c[0] as number, c[1] as number);
    else if (Array.isArray(c)) for (const x of c) walk(x);
  };
  if (g.geometries) for (const m of g.geometries) walkPositions(m as { coordinates?: unknown }, visit);
  else walk(g.coordinates);
}

/** The features of a converted layer, one at a time (GDAL's GeoJSON writer puts one feature per line). */
export async function* features(file: string): AsyncGenerator<ForeignFeature> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const raw of lines) {
    const line = raw.trim().replace(/,$/, '');
    if (!line.startsWith('{ "type": "Feature"') && !line.startsWith('{"type":"Feature"')) continue;
    const f = JSON.parse(line) as { id?: number | string; properties?: Record<string, unknown> | null; geometry?: ForeignFeature['geometry'] };
    yield { fid: f.id ?? null, properties: f.properties ?? {}, geometry: f.geometry ?? null };
  }
}
