import { randomUUID } from 'node:crypto';
import { createScratchDir } from '../../util/scratch.js';
import { primaryTier } from '../../storage/placement.js';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Catalog, Dalle, Version } from '../../catalog/catalog.js';
import type { Database } from '../../db/database.js';
import { bboxUnion, type Bbox } from '../../grid/bbox.js';
import { TiledTiffWriter } from '../tiff/tiled-tiff-writer.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { buildDetailFile, buildOverviewFile, type TileSink } from './build-file.js';
import {
  bboxToPixels,
  DETAIL_FILE_LEVEL,
  fileBbox,
  filesForBbox,
  fileSizePx,
  familyLevels,
  OVERVIEW_FILE_LEVEL,
  pyramidFileKey,
  TILE,
  type PyramidFileRef,
} from './layout.js';
import { PyramidCatalog } from './pyramid-catalog.js';
import { openStoredTiff } from './stored-tiff.js';
import type { PyramidSource } from './raster-source.js';
import { SourcePreparer } from './sources.js';
import { decodeTile, type RgbaImage } from './tiles.js';

export interface PyramidServices {
  db: Database;
  catalog: Catalog;
  masters: ObjectStore;
  hot: ObjectStore;
  /** Local scratch space (staging of files, prepared sources). */
  scratchDir: string;
}

export interface PyramidBuildOptions {
  quality: number;
  concurrency: number;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message?: string) => Promise<void> | void;
  /** Files already built by an interrupted run of the same job (skipped). */
  done?: ReadonlySet<string>;
  onFileDone?: (ref: PyramidFileRef) => Promise<void> | void;
}

export function fileId(ref: PyramidFileRef): string {
  return `${ref.family}:${ref.col}:${ref.row}`;
}

/**
 * Where pyramid files are staged: next to the hot files when the hot tier is a local filesystem
 * with a staging directory (`renameTo` then gives the final path: a rename publishes the file), in
 * local scratch otherwise (the file is uploaded).
 */
interface Staging {
  dir: string;
  renameTo?: (key: string) => string;
}

/**
 * Writes one pyramid file: tiles are streamed into a staging file, which is then moved (local hot
 * tier: a rename) or uploaded under its content-addressed key, recorded as a stored asset, and
 * pointed at by `pyramid_files`. The file it replaces is deleted afterwards.
 */
async function writePyramidFile(
  services: PyramidServices,
  stagingArea: Staging,
  version: Version,
  ref: PyramidFileRef,
  fill: (sink: TileSink) => Promise<{ tiles: number }>,
): Promise<{ bytes: number; tiles: number } | null> {
  const levels = familyLevels(ref.family);
  const size = fileSizePx(ref.family);
  const cell = (5 * 2 ** (22 - (levels[0] as number))) / 100;
  const [xmin, , , ymax] = fileBbox(ref);
  const staging = path.join(stagingArea.dir, `${randomUUID()}.tif`);
  const writer = await TiledTiffWriter.create(staging, {
    levels: levels.map((_, i) => ({ width: size / 2 ** i, height: size / 2 ** i })),
    tileSize: TILE,
    georef: { epsg: 2154, originX: xmin, originY: ymax, pixelSize: cell },
    photometric: 'ycbcr',
    withMask: true,
  });
  let result;
  try {
    const stats = await fill({ addTile: (ifd, col, row, jpeg, mask) => writer.addTile(ifd, col, row, jpeg, mask) });
    if (stats.tiles === 0) {
      await writer.abort();
      return null;
    }
    result = await writer.finish();
  } catch (e) {
    await writer.abort().catch(() => undefined);
    throw e;
  }
  const key = pyramidFileKey(version.datasetId, version.name, ref, result.sha256);
  const asset = await services.catalog.assets.addPending({
    kind: 'pyramid',
    datasetId: version.datasetId,
    versionId: version.id,
    tier: primaryTier('pyramid'),
    location: key,
    bytes: result.bytes,
    sha256: result.sha256,
    metadata: { family: ref.family, col: ref.col, row: ref.row },
  });
  try {
    if (stagingArea.renameTo) {
      const target = stagingArea.renameTo(key);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(staging, target);
    } else {
      await services.hot.put(key, { file: staging }, { expectedSha256: result.sha256, contentType: 'image/tiff' });
      await rm(staging, { force: true });
    }
  } catch (e) {
    await rm(staging, { force: true });
    throw e;
  }
  const replaced = await services.db.transaction(async (tx) => {
    await services.catalog.with(tx).assets.markStored(asset.id, result.bytes, result.sha256);
    return new PyramidCatalog(tx).upsert({ versionId: version.id, ref, assetId: asset.id, key, bytes: result.bytes, sha256: result.sha256, tileCount: result.tileCount });
  });
  if (replaced) {
    await services.hot.delete(replaced.key).catch(() => undefined);
    await services.catalog.assets.setState(replaced.assetId, 'deleted');
  }
  return { bytes: result.bytes, tiles: result.tileCount };
}

/** The level-15 tiles of a version's detail files under an overview file, decoded with their masks. */
async function detailTopTiles(services: PyramidServices, version: Version, overview: PyramidFileRef): Promise<Map<string, RgbaImage>> {
  const shift = DETAIL_FILE_LEVEL - OVERVIEW_FILE_LEVEL;
  const tiles = new Map<string, RgbaImage>();
  const files = await new PyramidCatalog(services.db).list(version.id, 'detail');
  for (const f of files) {
    if (Math.floor(f.col / 2 ** shift) !== overview.col || Math.floor(f.row / 2 ** shift) !== overview.row) continue;
    const tiff = await openStoredTiff(services.hot, f.key, f.bytes);
    try {
      const top = tiff.levels.length - 1;
      const range = tiff.tileRange(top, 0, 0);
      const mask = await tiff.readMask(top, 0, 0);
      if (!range || mask === null) continue;
      const jpeg = Buffer.from(await tiff.source.read(range.offset, range.length));
      tiles.set(`${f.col}/${f.row}`, await decodeTile(jpeg, mask));
    } finally {
      await tiff.close();
    }
  }
  return tiles;
}

/**
 * (Re)builds the pyramid of `version` where `dalles` lie: every detail file they touch (from all the
 * version's dalles there, so that neighbours from earlier deliveries stay seamless), then the
 * overview files above them.
 */
export async function buildVersionPyramid(services: PyramidServices, version: Version, dalles: readonly Dalle[], options: PyramidBuildOptions): Promise<{ filesBuilt: number; tiles: number; bytes: number }> {
  if (dalles.length === 0) return { filesBuilt: 0, tiles: 0, bytes: 0 };
  const area: Bbox = bboxUnion(dalles[0]!.bbox, ...dalles.slice(1).map((d) => d.bbox));
  const touched = new Map<string, PyramidFileRef>();
  for (const d of dalles) for (const f of filesForBbox('detail', d.bbox)) touched.set(fileId(f), f);
  const detailFiles = [...touched.values()];
  const overviewFiles = filesForBbox('overview', area);
  const total = detailFiles.length + overviewFiles.length;
  let done = 0;
  let tiles = 0;
  let bytes = 0;
  let built = 0;
  // Staging next to the hot files (a rename publishes them) or in local scratch for remote tiers;
  // both private to this process, and left-overs of dead processes are removed.
  const hot = services.hot;
  const local = hot.localPath && hot.stagingDir ? { parent: hot.stagingDir(), renameTo: hot.localPath.bind(hot) } : undefined;
  const staging = await createScratchDir(local?.parent ?? path.join(services.scratchDir, 'staging'));
  const stagingArea: Staging = { dir: staging.dir, ...(local ? { renameTo: local.renameTo } : {}) };
  const scratch = await createScratchDir(path.join(services.scratchDir, 'sources'));
  const preparer = new SourcePreparer(services.masters, scratch.dir);
  try {
    for (const ref of detailFiles) {
      if (options.signal?.aborted) break;
      if (options.done?.has(fileId(ref))) {
        done++;
        continue;
      }
      await options.progress?.(done, total, `level-15 file ${ref.col},${ref.row}`);
      const inFile = await services.catalog.listDalles({ versionId: version.id, bbox: fileBbox(ref) });
      const usable = inFile.filter((d) => d.state === 'registered' || d.state === 'published');
      const sources: PyramidSource[] = [];
      for (const d of usable) {
        const master = (await services.catalog.assets.list({ dalleId: d.id, kind: 'master', state: 'stored' }))[0];
        if (!master) continue;
        // Later registrations win where dalles of one version overlap (a 200 m redo inside a 1 km).
        sources.push(await preparer.source(d, master.location, d.id));
      }
      // A file the version already has is rebuilt incrementally: only blocks near the new dalles.
      const previousRow = await new PyramidCatalog(services.db).get(version.id, ref);
      const previous = previousRow ? await openStoredTiff(services.hot, previousRow.key, previousRow.bytes).catch(() => null) : null;
      let out;
      try {
        const reuse = previous ? { previous, dirty: dalles.map((d) => bboxToPixels(d.bbox)) } : undefined;
        out = await writePyramidFile(services, stagingArea, version, ref, (sink) =>
          buildDetailFile(ref, sources, sink, { quality: options.quality, concurrency: options.concurrency, ...(options.signal ? { signal: options.signal } : {}) }, reuse),
        );
      } finally {
        await previous?.close();
      }
      if (options.signal?.aborted) break;
      if (out) {
        built++;
        tiles += out.tiles;
        bytes += out.bytes;
      }
      done++;
      await options.onFileDone?.(ref);
    }
    for (const ref of overviewFiles) {
      if (options.signal?.aborted) break;
      await options.progress?.(done, total, `overview file ${ref.col},${ref.row}`);
      const top = await detailTopTiles(services, version, ref);
      const out = await writePyramidFile(services, stagingArea, version, ref, (sink) =>
        buildOverviewFile(ref, top, sink, { quality: options.quality, concurrency: options.concurrency }),
      );
      if (out) {
        built++;
        tiles += out.tiles;
        bytes += out.bytes;
      }
      done++;
    }
    await options.progress?.(done, total, 'pyramid done');
  } finally {
    await preparer.cleanup();
    await scratch.remove();
    await staging.remove();
  }
  return { filesBuilt: built, tiles, bytes };
}

