import { cpus } from 'node:os';
import path from 'node:path';
import type { Asset, Dalle, Version } from '../../catalog/catalog.js';
import type { AppContext } from '../../context/app-context.js';
import { primaryTier } from '../../storage/placement.js';
import { buildVersionPyramid } from './build-version.js';
import { fileBbox, filesForBbox, type FileFamily, type PyramidFileRef } from './layout.js';
import { bboxUnion } from '../../grid/bbox.js';
import { PyramidCatalog } from './pyramid-catalog.js';

/**
 * Re-runs the pyramid build for the one file an asset holds, from the version's masters (fixity
 * repair of a damaged hot file). Returns the asset that now holds the file, or null when nothing
 * could be built (not a pyramid file, no masters there).
 */
export async function rebuildPyramidFile(ctx: Pick<AppContext, 'config' | 'db' | 'catalog' | 'assets' | 'tiers'>, asset: Asset, signal?: AbortSignal): Promise<Asset | null> {
  if (asset.kind !== 'pyramid' || asset.versionId === null) return null;
  const { rows } = await ctx.db.query<{ family: FileFamily; col: number; row: number }>('SELECT family, col, row FROM pyramid_files WHERE asset_id = $1', [asset.id]);
  const row = rows[0];
  if (!row) return null;
  const ref: PyramidFileRef = { family: row.family, col: row.col, row: row.row };
  const version = await ctx.catalog.getVersionById(asset.versionId);
  const dalles = (await ctx.catalog.listDalles({ versionId: version.id, bbox: fileBbox(ref) })).filter((d) => d.state === 'registered' || d.state === 'published');
  if (dalles.length === 0) return null;
  await buildVersionPyramid(
    { db: ctx.db, catalog: ctx.catalog, masters: ctx.tiers[primaryTier('master')], hot: ctx.tiers[primaryTier('pyramid')], scratchDir: path.join(ctx.config.dataDir, 'tmp') },
    version,
    dalles,
    { quality: ctx.config.pyramid.jpegQuality, concurrency: ctx.config.pyramid.concurrency ?? Math.max(1, cpus().length), ...(signal ? { signal } : {}) },
  );
  const now = await new PyramidCatalog(ctx.db).get(version.id, ref);
  if (!now) return null;
  return ctx.assets.get(now.assetId);
}

/**
 * Takes dalles out of a version — withdrawn in the catalogue, and out of its pyramid: the files
 * under them are rebuilt from the version's other dalles, and a file left with none leaves the
 * pyramid (the current orthophoto then shows the older versions there). A campaign's dalles
 * refused by its acceptance check go this way before the campaign is published.
 */
export async function withdrawDallesFromPyramid(
  ctx: Pick<AppContext, 'config' | 'db' | 'catalog' | 'tiers'>,
  version: Version,
  dalles: readonly Dalle[],
  signal?: AbortSignal,
): Promise<void> {
  if (dalles.length === 0) return;
  for (const d of dalles) await ctx.catalog.withdrawDalle(d.id);
  const pyramid = new PyramidCatalog(ctx.db);
  const usableIn = async (ref: PyramidFileRef) =>
    (await ctx.catalog.listDalles({ versionId: version.id, bbox: fileBbox(ref) })).some((d) => d.state === 'registered' || d.state === 'published');
  const details = new Map<string, PyramidFileRef>();
  for (const d of dalles) for (const ref of filesForBbox('detail', d.bbox)) details.set(`${ref.col}:${ref.row}`, ref);
  for (const ref of details.values()) if (!(await usableIn(ref))) await pyramid.remove(version.id, ref);
  await buildVersionPyramid(
    { db: ctx.db, catalog: ctx.catalog, masters: ctx.tiers[primaryTier('master')], hot: ctx.tiers[primaryTier('pyramid')], scratchDir: path.join(ctx.config.dataDir, 'tmp') },
    version,
    dalles,
    { quality: ctx.config.pyramid.jpegQuality, concurrency: ctx.config.pyramid.concurrency ?? Math.max(1, cpus().length), ...(signal ? { signal } : {}) },
  );
  // Overview files built from no detail file at all are not rewritten by the build: they go too.
  const area = bboxUnion(dalles[0]!.bbox, ...dalles.slice(1).map((d) => d.bbox));
  for (const ref of filesForBbox('overview', area)) if (!(await usableIn(ref))) await pyramid.remove(version.id, ref);
}
