import path from 'node:path';
import { AccessStore } from '../access/store.js';
import type { VersionProvenance } from '../catalog/catalog.js';
import type { AppContext } from '../context/app-context.js';
import type { Bbox } from '../grid/bbox.js';
import { FeatureWriter, type FeatureRow } from '../vector/store.js';
import type { PcrsGeometry, PcrsValue } from '../vector/gml/pcrs-model.js';
import { features, ForeignFileError, readForeignVector, type ForeignFinding, type ForeignFormat } from '../contributions/foreign-vector.js';
import { BusinessStore } from './store.js';

/**
 * Business data (issue 12): layers that are not PCRS — hydrants, lighting, street furniture — sent
 * by a partner in any format the platform reads (GeoPackage, GeoJSON, zipped Shapefile, DXF), kept
 * as a dataset of their own (kind `business`, owned by the organisation), public or restricted to
 * named organisations through the access policy's permissions, and served like the vector PCRS:
 * OGC API Features (one collection per dataset) and vector tiles. Each accepted contribution
 * replaces the dataset's content with a new version (the previous stays addressable).
 */

export const BUSINESS_NAMESPACE = 'urn:pcrs:business';

export interface BusinessLayerSummary {
  name: string;
  features: number;
  geometryTypes: string[];
  fields: string[];
  bbox: Bbox | null;
}

export interface BusinessReport {
  file: string;
  status: 'ok' | 'warning' | 'rejected';
  format: ForeignFormat | null;
  layers: BusinessLayerSummary[];
  findings: ForeignFinding[];
}

const intersects = (a: Bbox, b: Bbox) => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
const within = (a: Bbox, b: Bbox) => a[0] >= b[0] && a[1] >= b[1] && a[2] <= b[2] && a[3] <= b[3];

/** A layer name as a feature class: letters, digits, `_` and `-` (what filters and tiles carry). */
export function layerClass(name: string): string {
  return name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 63) || 'couche';
}

export class BusinessService {
  readonly store: BusinessStore;

  constructor(readonly ctx: AppContext) {
    this.store = new BusinessStore(ctx.db);
  }

  /** Reads a business file and checks it: readable, with a CRS, with features, within the territory. */
  async check(file: string, name: string, workDir: string): Promise<BusinessReport> {
    const territory = this.ctx.config.territory.extent as Bbox;
    let read;
    try {
      read = await readForeignVector(file, workDir, { ...defaultZipLimits(this.ctx.config.contributions.maxFileBytes) });
    } catch (e) {
      if (e instanceof ForeignFileError) return { file: name, status: 'rejected', format: null, layers: [], findings: [{ severity: 'error', rule: e.rule, message: e.message }] };
      throw e;
    }
    const findings = [...read.findings];
    const layers: BusinessLayerSummary[] = read.layers.map((l) => ({ name: l.name, features: l.count, geometryTypes: l.geometryTypes, fields: l.fields, bbox: l.bbox }));
    for (const l of layers) {
      if (l.features === 0) findings.push({ severity: 'warning', rule: 'empty-layer', layer: l.name, message: `The layer ${l.name} holds no object.` });
      else if (!l.bbox) findings.push({ severity: 'warning', rule: 'no-geometry', layer: l.name, message: `The objects of ${l.name} have no geometry: they will not show on maps.` });
      else if (!intersects(l.bbox, territory)) findings.push({ severity: 'error', rule: 'outside-territory', layer: l.name, message: `The layer ${l.name} lies wholly outside ${this.ctx.config.territory.name} (wrong coordinate system?).` });
      else if (!within(l.bbox, territory)) findings.push({ severity: 'warning', rule: 'partly-outside-territory', layer: l.name, message: `Part of the layer ${l.name} lies outside ${this.ctx.config.territory.name}.` });
    }
    if (!layers.some((l) => l.features > 0)) findings.push({ severity: 'error', rule: 'no-feature', message: 'The file holds no object to publish.' });
    const status = findings.some((f) => f.severity === 'error') ? 'rejected' : findings.length ? 'warning' : 'ok';
    return { file: name, status, format: read.format, layers, findings };
  }

  /**
   * Publishes files as a new version of a business dataset (created, owned by the organisation):
   * visibility and readers set first (never a moment public when it should not be), the features
   * loaded in one transaction, then the version published. Re-running it resumes.
   */
  async publish(input: {
    dataset: string;
    title: string;
    organisationId: number;
    visibility: 'public' | 'restricted';
    readerIds: number[];
    versionName: string;
    surveyedOn: string | null;
    provenance: VersionProvenance;
    description: string;
    files: Array<{ path: string; name: string; sha256: string; bytes: number }>;
    workDir: string;
  }): Promise<number> {
    const { ctx } = this;
    const readers = [...new Set(input.readerIds.filter((id) => id !== input.organisationId))];
    await this.store.upsert({ id: input.dataset, title: input.title, organisationId: input.organisationId, visibility: input.visibility, readers, territory: ctx.config.territory.code, licence: input.visibility === 'public' ? 'Licence Ouverte / Etalab 2.0' : null });
    await this.syncReaders(input.dataset, [input.organisationId, ...readers]);
    await ctx.access.invalidate({ all: true });
    const version = await ctx.catalog.ensureVersion({ datasetId: input.dataset, name: input.versionName, kind: 'full', acquisitionDate: input.surveyedOn });
    await ctx.catalog.setVersionProvenance(version.id, input.provenance, input.description);
    const [x0, y0, x1, y1] = ctx.config.territory.extent as Bbox;
    for (const [i, f] of input.files.entries()) {
      const dir = path.join(input.workDir, `file-${i}`);
      const read = await readForeignVector(f.path, dir, defaultZipLimits(ctx.config.contributions.maxFileBytes));
      await ctx.db.transaction(async (tx) => {
        const done = await tx.query(`SELECT 1 FROM vector_imports WHERE version_id = $1 AND sha256 = $2`, [version.id, f.sha256]);
        if (done.rows.length) return;
        const ins = await tx.query<{ id: string }>(`INSERT INTO vector_imports (version_id, file_name, sha256, bytes, feature_count) VALUES ($1, $2, $3, $4, 0) RETURNING id`, [version.id, f.name, f.sha256, f.bytes]);
        const importId = Number(ins.rows[0]?.id);
        const writer = new FeatureWriter(tx, version.id, importId);
        const byClass: Record<string, number> = {};
        let n = 0;
        try {
          for (const layer of read.layers) {
            const cls = layerClass(layer.name);
            for await (const feature of features(layer.file)) {
              n++;
              byClass[cls] = (byClass[cls] ?? 0) + 1;
              await writer.add(businessRow(cls, feature.fid, feature.properties, feature.geometry, n));
            }
          }
          await writer.flush();
        } catch (e) {
          await writer.abandon();
          throw e;
        }
        await tx.query(`UPDATE vector_imports SET feature_count = $2, by_class = $3::jsonb, source_crs = ARRAY['EPSG:2154'] WHERE id = $1`, [importId, n, JSON.stringify(byClass)]);
        // A business version replaces the whole dataset: its area is the territory's (and beyond), so older versions' objects give way everywhere.
        await tx.query(`INSERT INTO vector_areas (version_id, import_id, source, footprint) VALUES ($1, $2, 'emprise', ST_Expand(ST_MakeEnvelope($3, $4, $5, $6, 2154), 100000))`, [version.id, importId, x0, y0, x1, y1]);
      });
    }
    await ctx.catalog.setVersionStatus(version.id, 'published');
    await ctx.access.invalidate({ all: true });
    return version.id;
  }

  /** Exactly these organisations hold a read permission on the whole dataset (the owner chooses its readers). */
  private async syncReaders(datasetId: string, organisationIds: number[]): Promise<void> {
    const access = new AccessStore(this.ctx.db);
    const held = await this.store.readerPermissions(datasetId);
    for (const p of held) if (!organisationIds.includes(p.organisationId)) await access.revokePermission(p.id);
    for (const org of organisationIds) {
      if (held.some((p) => p.organisationId === org)) continue;
      await access.grantPermission({ organisationId: org, userId: null, datasetId, versionName: null, perimeterEwkt: null, validUntil: null, charter: null, grantedBy: null });
    }
  }
}

/** Limits of a zip sent as business data or vector PCRS: a generous multiple of the upload limit. */
export function defaultZipLimits(maxFileBytes: number): { maxTotalBytes: number; maxRatio: number; maxEntries: number } {
  return { maxTotalBytes: Math.max(64 * 1024 ** 2, 4 * maxFileBytes), maxRatio: 200, maxEntries: 2000 };
}

function hasZ(g: { coordinates?: unknown; geometries?: unknown[] }): boolean {
  const walk = (c: unknown): boolean => (Array.isArray(c) && typeof c[0] === 'number' ? c.length >= 3 : Array.isArray(c) && c.some(walk));
  return g.geometries ? g.geometries.some((m) => hasZ(m as { coordinates?: unknown })) : walk(g.coordinates);
}

function businessRow(cls: string, fid: number | string | null, properties: Record<string, unknown>, geometry: { type: string; coordinates?: unknown } | null, line: number): FeatureRow {
  const dimension = geometry ? (hasZ(geometry) ? 3 : 2) : null;
  return {
    class: cls,
    namespace: BUSINESS_NAMESPACE,
    gml_id: fid === null ? null : `${cls}.${fid}`,
    id_objet: null,
    thematique: null,
    qualite_categorisation: null,
    precision_planimetrique: null,
    precision_altimetrique: null,
    producteur: null,
    date_leve: null,
    attributes: properties as Record<string, PcrsValue>,
    geometry: geometry as unknown as PcrsGeometry | null,
    srid: geometry ? 2154 : null,
    dimension,
    curved: false,
    source_crs: 'EPSG:2154',
    srs_name: null,
    source_line: line,
  };
}
