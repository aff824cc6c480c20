import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Dalle } from '../../catalog/catalog.js';
import { readRasterInfo, type RasterInfo } from '../raster-info.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { execTool } from '../../util/exec.js';
import { bboxToPixels } from './layout.js';
import type { PyramidSource } from './raster-source.js';

/**
 * Turns catalogued dalles into pyramid sources: a local, window-readable, north-up Lambert-93
 * raster on the 5 cm lattice. Masters that already are (tiled GeoTIFF in EPSG:2154, RGB or RGBA)
 * are read in place; others (JPEG 2000, CC zones, strip TIFFs, internal masks, remote tiers) are
 * prepared once into a scratch directory with GDAL and removed by `cleanup()`.
 */
export class SourcePreparer {
  private readonly prepared = new Map<string, Promise<PyramidSource>>();
  private readonly scratch: string;

  constructor(
    private readonly masters: ObjectStore,
    scratchDir: string,
  ) {
    this.scratch = scratchDir;
  }

  source(dalle: Dalle, masterKey: string, priority: number): Promise<PyramidSource> {
    let p = this.prepared.get(masterKey);
    if (!p) {
      p = this.prepare(dalle, masterKey, priority);
      this.prepared.set(masterKey, p);
      p.catch(() => this.prepared.delete(masterKey));
    }
    return p.then((s) => ({ ...s, priority }));
  }

  private async localCopy(key: string): Promise<string> {
    if (this.masters.localPath) return this.masters.localPath(key);
    const file = path.join(this.scratch, 'download', key);
    try {
      await stat(file);
      return file;
    } catch {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.part`;
      await pipeline(await this.masters.get(key), createWriteStream(tmp));
      await rename(tmp, file);
      return file;
    }
  }

  private async prepare(dalle: Dalle, key: string, priority: number): Promise<PyramidSource> {
    const file = await this.localCopy(key);
    const info = await readRasterInfo(file);
    const label = `${dalle.name} (${key})`;
    if (isDirectlyUsable(info)) {
      return { path: file, rect: bboxToPixels(info.bbox as [number, number, number, number]), hasAlpha: info.bands.length === 4, priority, label };
    }
    await mkdir(this.scratch, { recursive: true });
    const out = path.join(this.scratch, `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.prepared.tif`);
    const tmp = `${out}.part.tif`;
    const bands = info.bands.length === 3 && info.bands[0]?.hasMask ? ['-b', '1', '-b', '2', '-b', '3', '-b', 'mask', '-colorinterp_4', 'alpha'] : [];
    const creation = ['-co', 'TILED=YES', '-co', 'BLOCKXSIZE=256', '-co', 'BLOCKYSIZE=256', '-co', 'BIGTIFF=IF_SAFER', '-co', 'COMPRESS=NONE'];
    const result =
      info.crs === 'EPSG:2154'
        ? await execTool('gdal_translate', ['-q', ...bands, ...creation, file, tmp], { timeoutMs: 3_600_000 })
        : // Reprojection: onto the 5 cm lattice of Lambert-93 (-tap), alpha where the rotated dalle is not.
          await execTool('gdalwarp', ['-q', '-overwrite', '-t_srs', 'EPSG:2154', '-tr', '0.05', '0.05', '-tap', '-r', 'bilinear', '-dstalpha', '-multi', '-wo', 'NUM_THREADS=ALL_CPUS', ...creation, file, tmp], {
            timeoutMs: 3_600_000,
          });
    if (result.code !== 0) throw new Error(`GDAL could not prepare ${label}: ${result.stderr.trim().split('\n')[0]}`);
    await rename(tmp, out);
    const prepared = await readRasterInfo(out);
    return { path: out, rect: bboxToPixels(prepared.bbox as [number, number, number, number]), hasAlpha: prepared.bands.length === 4, priority, label };
  }

  async cleanup(): Promise<void> {
    this.prepared.clear();
    await rm(this.scratch, { recursive: true, force: true });
  }
}

/** A tiled (or finely striped) GeoTIFF in Lambert-93, 3 bands or RGBA, no separate mask. */
export function isDirectlyUsable(info: RasterInfo): boolean {
  const [, blockHeight] = info.blockSize ?? [0, 0];
  return (
    info.driver === 'GTiff' &&
    info.crs === 'EPSG:2154' &&
    info.bbox !== null &&
    blockHeight > 0 &&
    blockHeight <= 512 &&
    (info.bands.length === 4 || (info.bands.length === 3 && !info.bands[0]?.hasMask))
  );
}
