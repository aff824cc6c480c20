import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../util/errors.js';

export interface DeliveryFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the delivery root, '/'-separated (stable across machines, used in reports). */
  rel: string;
  bytes: number;
  mtimeMs: number;
}

/** Raster formats a delivery may contain. Sidecars (.tfw, .aux.xml, .prj, .md5…) are listed as ignored. */
export const RASTER_EXTENSIONS = /\.(tif|tiff|jp2)$/i;

/**
 * Lists the raster files of a delivery, recursively, in a stable order (by relative path).
 * Symbolic links are not followed (a delivery is a plain tree; a link could point anywhere).
 */
export async function discoverDelivery(dir: string): Promise<{ root: string; files: DeliveryFile[]; ignored: string[] }> {
  const root = path.resolve(dir);
  let st;
  try {
    st = await stat(root);
  } catch (e) {
    throw new UserError('delivery-not-found', `Delivery directory ${root} does not exist or cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, { exitCode: 66, status: 404 });
  }
  if (!st.isDirectory()) throw new UserError('delivery-not-a-directory', `${root} is not a directory: give the folder that holds the dalles.`, { exitCode: 66 });
  const files: DeliveryFile[] = [];
  const ignored: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    const entries = await readdir(abs, { withFileTypes: true });
    for (const e of entries) {
      const childAbs = path.join(abs, e.name);
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(childAbs, childRel);
      else if (e.isFile() && RASTER_EXTENSIONS.test(e.name)) {
        const s = await stat(childAbs);
        files.push({ path: childAbs, rel: childRel, bytes: s.size, mtimeMs: s.mtimeMs });
      } else ignored.push(childRel);
    }
  };
  await walk(root, '');
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  ignored.sort();
  return { root, files, ignored };
}
