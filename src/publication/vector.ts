import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ANONYMOUS } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import type { Queryable } from '../db/database.js';
import type { Job } from '../jobs/jobs.js';
import { runJob, type RunJobOptions } from '../jobs/run-job.js';
import { slugify } from '../util/slug.js';
import { exportVector } from '../vector/export.js';

/**
 * The vector PCRS per commune in the bulk publication tree: one CNIG GML file per commune of the
 * territory whose outline the current PCRS touches (every object touching the commune, whole: an
 * object on a boundary is in both files, under the same idObjet), built by a persistent job into
 * the intermediate tier. A build belongs to one state of its inputs — its stamp, the SHA-256 of
 * the published vector versions (their imports and feature counts), of the commune outlines and of
 * the file format —; the tree serves the newest finished build, and a new build starts when the
 * stamp changes. Only published when anyone may read the vector dataset.
 */

export const VECTOR_PUBLICATION_JOB = 'publication.vector';
const VECTOR = 'vector';
/** Bumped when the files' content changes for the same inputs (the export's format). */
const FORMAT = 'cnig-gml-v2.0/whole-objects/1';
/** Finished builds kept besides the newest: a mirror copying the previous one can finish. */
const KEEP_PREVIOUS = 1;

export interface VectorFile {
  insee: string;
  name: string;
  bytes: number;
  sha256: string;
  location: string;
  features: number;
  builtAt: Date;
}

export interface VectorBuild {
  stamp: string;
  startedAt: Date;
  finishedAt: Date | null;
  files: number | null;
}

interface FileRow {
  insee: string;
  name: string;
  bytes: string | number;
  sha256: string;
  location: string;
  features: number;
  built_at: Date | string;
}

const fileOf = (r: FileRow): VectorFile => ({ insee: r.insee, name: r.name, bytes: Number(r.bytes), sha256: r.sha256, location: r.location, features: r.features, builtAt: new Date(r.built_at) });

export class VectorPublication {
  constructor(readonly ctx: AppContext) {}

  private get db(): Queryable {
    return this.ctx.db;
  }

  /** Whether the vector PCRS is open data (else it is not published at all). */
  published(): Promise<boolean> {
    return this.ctx.access.canRead(ANONYMOUS, { datasetId: VECTOR });
  }

  /** The SHA-256 of what the files are made from; null when nothing is to be published (no published vector version, or no commune outline). */
  async stamp(): Promise<string | null> {
    const versions = await this.db.query<{ id: string; priority: number; imports: string; features: string; last_import: string }>(
      `SELECT v.id, v.priority, count(i.id) AS imports, coalesce(sum(i.feature_count), 0) AS features, coalesce(max(i.id), 0) AS last_import
         FROM versions v JOIN vector_imports i ON i.version_id = v.id
        WHERE v.dataset_id = $1 AND v.status = 'published'
        GROUP BY v.id, v.priority ORDER BY v.id`,
      [VECTOR],
    );
    const outlines = await this.db.query<{ n: string; last: Date | string | null }>(`SELECT count(geom) AS n, max(geom_updated_at) AS last FROM communes`);
    const o = outlines.rows[0];
    if (versions.rows.length === 0 || !o || Number(o.n) === 0) return null;
    const text = JSON.stringify({ FORMAT, versions: versions.rows.map((r) => [r.id, r.priority, r.imports, r.features, r.last_import]), outlines: [o.n, o.last === null ? null : new Date(o.last).toISOString()] });
    return createHash('sha256').update(text).digest('hex');
  }

  /** The newest finished build, the one the tree serves. */
  async current(): Promise<VectorBuild | null> {
    const { rows } = await this.db.query<{ stamp: string; started_at: Date | string; finished_at: Date | string; files: number }>(
      `SELECT stamp, started_at, finished_at, files FROM publication_vector_builds WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, started_at DESC LIMIT 1`,
    );
    const r = rows[0];
    return r ? { stamp: r.stamp, startedAt: new Date(r.started_at), finishedAt: new Date(r.finished_at), files: r.files } : null;
  }

  async files(stamp: string): Promise<VectorFile[]> {
    const { rows } = await this.db.query<FileRow>(`SELECT insee, name, bytes, sha256, location, features, built_at FROM publication_vector_files WHERE stamp = $1 ORDER BY name`, [stamp]);
    return rows.map(fileOf);
  }

  async file(stamp: string, name: string): Promise<VectorFile | null> {
    const { rows } = await this.db.query<FileRow>(`SELECT insee, name, bytes, sha256, location, features, built_at FROM publication_vector_files WHERE stamp = $1 AND name = $2`, [stamp, name]);
    return rows[0] ? fileOf(rows[0]) : null;
  }

  /**
   * Builds the files of the current inputs, unless a finished build has them already (returns it).
   * A persistent job (one per stamp): resumed where it stopped, communes done are not redone.
   */
  async build(options: RunJobOptions = {}): Promise<{ stamp: string | null; files: number; reused: boolean }> {
    if (!(await this.published())) return { stamp: null, files: 0, reused: false };
    const stamp = await this.stamp();
    if (!stamp) return { stamp: null, files: 0, reused: false };
    const done = await this.db.query<{ files: number }>(`SELECT files FROM publication_vector_builds WHERE stamp = $1 AND finished_at IS NOT NULL`, [stamp]);
    if (done.rows[0]) return { stamp, files: done.rows[0].files, reused: true };
    const job = await this.ctx.jobs.findOrCreate(VECTOR_PUBLICATION_JOB, `${VECTOR_PUBLICATION_JOB}:${stamp}`, { stamp });
    await this.db.query(`INSERT INTO publication_vector_builds (stamp, job_id) VALUES ($1, $2) ON CONFLICT (stamp) DO NOTHING`, [stamp, job.id]);
    const files = await runJob(this.ctx.jobs, job as Job, (j) => this.work(stamp, j.progress, j.signal), options);
    await this.prune();
    return { stamp, files, reused: false };
  }

  private async work(stamp: string, progress: (done: number, total: number | null, message?: string) => Promise<void>, signal: AbortSignal): Promise<number> {
    // Communes whose outline a published version's area touches.
    const { rows: communes } = await this.db.query<{ insee: string; name: string; outline: string }>(
      `SELECT c.insee, c.name, ST_AsGeoJSON(c.geom, 3) AS outline
         FROM communes c
        WHERE c.geom IS NOT NULL
          AND EXISTS (SELECT 1 FROM vector_areas a JOIN versions v ON v.id = a.version_id
                       WHERE v.dataset_id = $1 AND v.status = 'published' AND a.footprint && c.geom AND ST_Intersects(a.footprint, c.geom))
        ORDER BY c.insee`,
      [VECTOR],
    );
    const built = new Set((await this.db.query<{ insee: string }>(`SELECT insee FROM publication_vector_files WHERE stamp = $1`, [stamp])).rows.map((r) => r.insee));
    const dir = await mkdtemp(path.join(tmpdir(), 'pcrs-publication-vector-'));
    try {
      let i = 0;
      for (const c of communes) {
        if (signal.aborted) break;
        await progress(i, communes.length, `${c.name} (${c.insee})`);
        i++;
        if (built.has(c.insee)) continue;
        const name = `${c.insee}-${slugify(c.name, 'commune', 80)}.gml`;
        const file = path.join(dir, name);
        const { features } = await exportVector(this.db, { datasetId: VECTOR, polygon: JSON.parse(c.outline) as Record<string, unknown>, format: 'gml', output: file });
        // A commune the areas touch but with no object inside: no empty file.
        if (features > 0) {
          const put = await this.ctx.tiers.intermediate.put(`publication/vecteur/${stamp.slice(0, 16)}/${name}`, { file }, { contentType: 'application/gml+xml' });
          await this.db.query(
            `INSERT INTO publication_vector_files (stamp, insee, name, bytes, sha256, location, features) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (stamp, insee) DO NOTHING`,
            [stamp, c.insee, name, put.bytes, put.sha256, put.key, features],
          );
        }
        await rm(file, { force: true });
      }
      if (signal.aborted) return 0;
      await progress(communes.length, communes.length, 'done');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const { rows } = await this.db.query<{ n: number }>(
      `UPDATE publication_vector_builds SET finished_at = now(), files = (SELECT count(*)::int FROM publication_vector_files WHERE stamp = $1) WHERE stamp = $1 RETURNING files AS n`,
      [stamp],
    );
    return rows[0]?.n ?? 0;
  }

  /** Deletes the files of builds older than the newest finished one and the one before it (and of abandoned unfinished ones older than both). */
  async prune(): Promise<number> {
    const { rows: keep } = await this.db.query<{ stamp: string }>(`SELECT stamp FROM publication_vector_builds WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT $1`, [1 + KEEP_PREVIOUS]);
    const oldest = keep.at(-1);
    if (!oldest || keep.length <= KEEP_PREVIOUS) return 0;
    const { rows: old } = await this.db.query<{ stamp: string }>(
      `SELECT stamp FROM publication_vector_builds
        WHERE NOT (stamp = ANY($1::text[])) AND started_at < (SELECT started_at FROM publication_vector_builds WHERE stamp = $2)`,
      [keep.map((k) => k.stamp), oldest.stamp],
    );
    for (const b of old) {
      for (const f of await this.files(b.stamp)) await this.ctx.tiers.intermediate.delete(f.location).catch(() => undefined);
      await this.db.query(`DELETE FROM publication_vector_builds WHERE stamp = $1`, [b.stamp]);
    }
    return old.length;
  }
}
