import { ANONYMOUS } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import type { Dataset, Version } from '../catalog/catalog.js';
import { findDalleMaster, type DalleMaster } from '../raster/serving/dalle-download.js';
import { PublicationStore, type PublishedFile } from './store.js';
import { VectorPublication, type VectorFile } from './vector.js';

/**
 * What the bulk publication tree shows: the orthophoto datasets and their published versions that
 * an anonymous caller may read (restricted ones are not published: they answer 404), and each
 * version's verified masters. Nothing is copied: the files are the masters in their tiers.
 */
export class PublicationService {
  readonly store: PublicationStore;
  /** The vector PCRS per commune (`/telechargement/vecteur/`). */
  readonly vector: VectorPublication;

  constructor(readonly ctx: AppContext) {
    this.store = new PublicationStore(ctx.db);
    this.vector = new VectorPublication(ctx);
  }

  /** The vector build the tree serves, with its files; null when the vector PCRS is not published (restricted, or nothing built yet). */
  async vectorFiles(): Promise<{ finishedAt: Date; stamp: string; files: VectorFile[] } | null> {
    if (!(await this.vector.published())) return null;
    const build = await this.vector.current();
    if (!build?.finishedAt) return null;
    return { finishedAt: build.finishedAt, stamp: build.stamp, files: await this.vector.files(build.stamp) };
  }

  /** Orthophoto datasets with at least one published version anyone may read. */
  async datasets(): Promise<Array<{ dataset: Dataset; versions: Version[] }>> {
    const out: Array<{ dataset: Dataset; versions: Version[] }> = [];
    for (const dataset of await this.ctx.catalog.listDatasets()) {
      if (dataset.kind !== 'orthophoto') continue;
      const versions = await this.versions(dataset.id);
      if (versions.length > 0) out.push({ dataset, versions });
    }
    return out;
  }

  /** The published versions of an orthophoto dataset anyone may read, newest acquisition first; null when the dataset is not published. */
  async versions(datasetId: string): Promise<Version[]> {
    const all = await this.ctx.catalog.listVersions(datasetId);
    const out: Version[] = [];
    for (const v of all) if (v.status === 'published' && (await this.ctx.access.canRead(ANONYMOUS, { datasetId, version: v.name }))) out.push(v);
    return out.sort((a, b) => String(b.acquisitionDate ?? '').localeCompare(String(a.acquisitionDate ?? '')) || b.id - a.id);
  }

  /** A published version by name, or null (unknown, unpublished, restricted, not an orthophoto). */
  async version(datasetId: string, name: string): Promise<{ dataset: Dataset; version: Version } | null> {
    const dataset = (await this.ctx.catalog.listDatasets()).find((d) => d.id === datasetId && d.kind === 'orthophoto');
    if (!dataset) return null;
    const version = (await this.versions(datasetId)).find((v) => v.name === name);
    return version ? { dataset, version } : null;
  }

  files(version: Version): Promise<PublishedFile[]> {
    return this.store.files(version.id);
  }

  /** The master a file name of the tree names (`{dalle}.tif`), or null. */
  async master(datasetId: string, version: string, filename: string): Promise<DalleMaster | null> {
    const dalle = filename.replace(/\.(tiff?|jp2)$/i, '');
    if (dalle === filename) return null;
    const master = await findDalleMaster(this.ctx, datasetId, version, dalle).catch(() => null);
    return master && master.filename === filename ? master : null;
  }
}
