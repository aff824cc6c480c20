import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import type { Asset } from '../catalog/asset-store.js';
import type { AppContext } from '../context/app-context.js';
import { openMaster } from '../raster/serving/dalle-download.js';
import { execTool } from '../util/exec.js';
import type { ExportFormat } from '../vector/export.js';
import type { ExtractStore } from './store.js';

/**
 * The derived contents of an extract: each dalle as a Cloud-Optimized GeoTIFF compressed in JPEG
 * at the hot tier's quality (cached in the intermediate tier per master and quality, so another
 * extract over the same dalles re-uses it), and the vector PCRS files (GML, GeoPackage, DXF).
 */

export type VectorContent = 'vector-gml' | 'vector-gpkg' | 'vector-dxf';

/** Each vector content: its export format and its path in the ZIP. */
export const VECTOR_FILES: Record<VectorContent, { format: ExportFormat; name: string; contentType: string }> = {
  'vector-gml': { format: 'gml', name: 'vecteur/pcrs.gml', contentType: 'application/gml+xml' },
  'vector-gpkg': { format: 'gpkg', name: 'vecteur/pcrs.gpkg', contentType: 'application/geopackage+sqlite3' },
  'vector-dxf': { format: 'dxf', name: 'vecteur/pcrs.dxf', contentType: 'image/vnd.dxf' },
};

export interface StoredObject {
  /** Key in the intermediate tier. */
  location: string;
  bytes: number;
  sha256: string;
  crc32: number;
}

/** SHA-256 and CRC-32 of a file, in one streamed read. */
export async function fileDigests(file: string): Promise<{ sha256: string; crc32: number; bytes: number }> {
  const hash = createHash('sha256');
  let crc = 0;
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    crc = crc32(chunk, crc);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), crc32: crc, bytes };
}

const exists = (file: string) => access(file).then(() => true, () => false);

/** Where a dalle's COG at this quality is kept: one object per (master content, quality). */
export const cogKey = (masterSha256: string, quality: number) => `extracts/ortho-cog/q${quality}/${masterSha256}.tif`;

/**
 * The dalle as a COG (JPEG at `quality`, YCbCr for RGB — GDAL's COG driver does that for 3-band
 * Byte —, overviews at the same quality; the master's georeferencing unchanged): taken from the
 * cache when an extract's plan lists it and the object is there, else made with gdal_translate from
 * the master (read from its tier; copied to a temporary file when the tier is not a local disk) and
 * put in the intermediate tier. One dalle at a time; files are hashed as streams.
 * `claim(key)` is called first so that expiry keeps the object while this extract is built.
 */
export async function compressedDalle(ctx: AppContext, store: ExtractStore, claim: (key: string) => Promise<void>, asset: Asset, quality: number, signal?: AbortSignal): Promise<StoredObject & { reused: boolean }> {
  const key = cogKey(asset.sha256 as string, quality);
  const tier = ctx.tiers.intermediate;
  await claim(key);
  const known = await store.plannedObject(key);
  if (known) {
    const head = await tier.head(key);
    if (head && head.bytes === known.bytes) return { location: key, ...known, reused: true };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'pcrs-extract-cog-'));
  try {
    const local = ctx.tiers[asset.tier].localPath?.(asset.location);
    let source: string;
    if (local !== undefined && (await exists(local))) source = local;
    else {
      source = path.join(dir, 'master.tif');
      await pipeline(await openMaster(ctx.tiers, asset), createWriteStream(source));
    }
    const out = path.join(dir, 'cog.tif');
    const q = String(quality);
    const res = await execTool('gdal_translate', ['-q', '-of', 'COG', '-co', 'COMPRESS=JPEG', '-co', `QUALITY=${q}`, '-co', `OVERVIEW_QUALITY=${q}`, '-co', 'BIGTIFF=IF_SAFER', source, out], {
      timeoutMs: 30 * 60_000,
      ...(signal ? { signal } : {}),
    });
    if (res.code !== 0) throw new Error(`gdal_translate to COG failed for ${path.basename(asset.location)}: ${res.stderr.trim().slice(0, 300)}`);
    const d = await fileDigests(out);
    const put = await tier.put(key, { file: out }, { contentType: 'image/tiff; application=geotiff; profile=cloud-optimized' });
    if (put.sha256 !== d.sha256 || put.bytes !== d.bytes) throw new Error(`the COG of ${path.basename(asset.location)} changed while it was stored`);
    return { location: key, bytes: d.bytes, sha256: d.sha256, crc32: d.crc32, reused: false };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
