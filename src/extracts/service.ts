import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { Asset } from '../catalog/asset-store.js';
import { CommuneStore } from '../communes/store.js';
import { DeclarationStore } from '../declarations/store.js';
import type { AppContext } from '../context/app-context.js';
import type { Caller } from '../context/access.js';
import { runJob, type RunJobOptions } from '../jobs/run-job.js';
import { openMaster } from '../raster/serving/dalle-download.js';
import { errorMessage, UserError } from '../util/errors.js';
import { exportVector } from '../vector/export.js';
import { AREA_LIMITS, readAreaFile, sridOfCrsName, type AreaFileFormat } from './area-file.js';
import { ExtractStore, type EntryRow, type ExtractContent, type ExtractDelivery, type ExtractRecord, type NormalisedRequest, type VectorClip } from './store.js';
import { compressedDalle, VECTOR_FILES } from './formats.js';
import { LicenceService } from '../licences/service.js';
import { LICENCE_OUVERTE } from '../licences/texts.js';
import { manifest, mosaicVrt, readme, type PlannedMaster } from './texts.js';
import { VirtualZip, type ZipEntry } from './zip.js';

/**
 * Extracts by area: a request (an area — drawn, a commune, an EPCI —, contents, versions) is
 * checked and sized before any work (territory, validity, permission and perimeter per dalle,
 * quota), then a job reads each master once (its CRC-32 for the ZIP, its SHA-256 checked against
 * the catalogue on the same read; both cached), writes the vector PCRS as CNIG GML into the
 * intermediate tier, and stores the plan. The ZIP is never written: `open` computes it.
 */

export const EXTRACT_JOB = 'extract';
const ORTHO = 'ortho';
const VECTOR = 'vector';

export type AreaInput =
  | { geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown; crs?: { type: 'name'; properties: { name: string } } | undefined } }
  | { commune: string }
  | { epci: string }
  /** A declaration's footprint (works, typically): a point or a line buffered as works marks are (`worksToUpdate.bufferMetres`). */
  | { declaration: number }
  /** The union of the perimeters of the permissions granted to an organisation (its members only). */
  | { organisation: string };

/** An uploaded area file, ready to be passed as `area: { geometry }`. */
export interface UploadedArea {
  format: AreaFileFormat;
  /** Polygons read from the file (before the union). */
  polygons: number;
  geometry: { type: 'MultiPolygon'; coordinates: number[][][][]; crs: { type: 'name'; properties: { name: 'EPSG:2154' } } };
  km2: number;
  bbox: [number, number, number, number];
}

export interface ExtractInput {
  area: AreaInput;
  contents: readonly ExtractContent[];
  /** Orthophoto version (default: the newest published full version). */
  orthoVersion?: string | undefined;
  /** Vector version (default: the current PCRS, newest version wins per area). */
  vectorVersion?: string | undefined;
  /** One ZIP (default), or also a list of signed URLs, one per file (`delivery.ts`), for very large areas. */
  delivery?: ExtractDelivery | undefined;
  /** `dalles` (default): whole objects touching the area; `area`: objects cut to the area. */
  vectorClip?: VectorClip | undefined;
}

interface Area {
  /** Lambert-93 MultiPolygon GeoJSON. */
  geojson: string;
  label: string;
  kind: NormalisedRequest['area']['kind'];
  code?: string;
  km2: number;
  bbox: [number, number, number, number];
}

interface MasterRow {
  dalle: string;
  bbox: [number, number, number, number];
  sourceCrs: string;
  acquisitionDate: string | null;
  asset: Asset | null;
}

const sha256Hex = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

export class ExtractService {
  readonly store: ExtractStore;
  private readonly licences: LicenceService;

  constructor(readonly ctx: AppContext) {
    this.store = new ExtractStore(ctx.db);
    this.licences = new LicenceService(ctx);
  }

  private async resolveArea(caller: Caller, input: AreaInput): Promise<Area> {
    let geojson: string;
    let label: string;
    let kind: Area['kind'];
    let code: string | undefined;
    if ('commune' in input) {
      const c = await new CommuneStore(this.ctx.db).get(input.commune.toUpperCase());
      if (!c) throw new UserError('unknown-commune', `There is no commune ${input.commune} in the territory.`, { status: 400, exitCode: 64 });
      if (!c.outline) throw new UserError('no-outline', `The commune ${c.name} (${c.insee}) has no outline yet.`, { status: 409, hint: 'An operator imports them: pcrs communes import ADMIN-EXPRESS.gpkg', exitCode: 1 });
      [geojson, label, kind, code] = [c.outline, `${c.name} (${c.insee})`, 'commune', c.insee];
    } else if ('epci' in input) {
      const e = await new CommuneStore(this.ctx.db).epci(input.epci);
      if (!e) throw new UserError('unknown-epci', `There is no EPCI ${input.epci} in the territory.`, { status: 400, exitCode: 64 });
      if (!e.outline) throw new UserError('no-outline', `No commune of ${e.name} has an outline yet.`, { status: 409, exitCode: 1 });
      [geojson, label, kind, code] = [e.outline, `${e.name} (${e.siren})`, 'epci', e.siren];
    } else if ('declaration' in input) {
      const d = await new DeclarationStore(this.ctx.db).get(input.declaration);
      if (!d) throw new UserError('unknown-declaration', `There is no declaration ${input.declaration}.`, { status: 400, exitCode: 64 });
      const { rows } = await this.ctx.db.query<{ g: string }>(
        `SELECT ST_AsGeoJSON(ST_Multi(CASE WHEN GeometryType(g) = 'POLYGON' THEN g ELSE ST_Buffer(g, $2) END), 2) AS g FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1::text), 2154) AS g) s`,
        [JSON.stringify(d.geometry), this.ctx.config.worksToUpdate.bufferMetres],
      );
      [geojson, label, kind, code] = [rows[0]?.g as string, `déclaration n° ${d.id} — ${d.title.slice(0, 80)}`, 'declaration', String(d.id)];
    } else if ('organisation' in input) {
      const org = await this.store.organisationPerimeter(input.organisation);
      if (!org) throw new UserError('unknown-organisation', `There is no organisation '${input.organisation}'.`, { status: 400, exitCode: 64 });
      const member = caller.kind === 'operator' || caller.roles.has('platform-admin') || (caller.organisationIds ?? []).includes(org.id);
      if (!member) throw new UserError('not-a-member', `Only members of ${org.name} may use its perimeter as an area.`, { status: 403, exitCode: 77 });
      if (!org.perimeter) {
        throw new UserError('no-perimeter', `${org.name} has no permission with a perimeter: there is no area to extract.`, { status: 400, hint: 'Give the area otherwise (a commune, an EPCI, a drawn or uploaded polygon), or ask a platform admin for a permission over your area.', exitCode: 64 });
      }
      [geojson, label, kind, code] = [org.perimeter, `périmètre de ${org.name}`, 'organisation', org.slug];
    } else {
      const { crs, ...g } = input.geometry;
      geojson = await this.lambert93([JSON.stringify(g)], await this.sridOf(crs?.properties.name ?? 'OGC:CRS84'));
      [label, kind] = ['zone dessinée / drawn area', 'geometry'];
    }
    return { geojson, label, kind, ...(code ? { code } : {}), ...(await this.measure(geojson)) };
  }

  /** The SRID a CRS name gives, if PostGIS can reproject from it; else unsupported-crs (400). */
  private async sridOf(name: string): Promise<number> {
    const srid = sridOfCrsName(name);
    const known = srid === 4326 || srid === 2154 || (srid !== null && (await this.ctx.db.query(`SELECT 1 FROM spatial_ref_sys WHERE srid = $1`, [srid])).rows.length > 0);
    if (srid === null || !known) throw new UserError('unsupported-crs', `The area's CRS ${name.slice(0, 60)} is not supported: give WGS84 or an EPSG code such as EPSG:2154.`, { status: 400, exitCode: 64 });
    return srid;
  }

  /**
   * Polygons (GeoJSON texts, coordinates in `srid`) as one Lambert-93 MultiPolygon (GeoJSON, cm):
   * each reprojected and checked valid (invalid-area, 400, saying which and why), then unioned.
   */
  private async lambert93(parts: readonly string[], srid: number): Promise<string> {
    const { rows } = await this.ctx.db
      .query<{ g: string | null; valid: boolean; reason: string | null; bad: string | null }>(
        `WITH parts AS (SELECT n, ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(j), $2::int), 2154) AS g FROM unnest($1::text[]) WITH ORDINALITY AS t (j, n))
         SELECT CASE WHEN bool_and(ST_IsValid(g)) THEN ST_AsGeoJSON(ST_Multi(CASE WHEN count(*) = 1 THEN (array_agg(g))[1] ELSE ST_UnaryUnion(ST_Collect(g)) END), 2) END AS g,
                bool_and(ST_IsValid(g)) AS valid,
                (array_agg(ST_IsValidReason(g) ORDER BY n) FILTER (WHERE NOT ST_IsValid(g)))[1] AS reason,
                (array_agg(n::text ORDER BY n) FILTER (WHERE NOT ST_IsValid(g)))[1] AS bad
           FROM parts`,
        [parts, srid],
      )
      .catch((e: unknown) => {
        throw new UserError('invalid-area', `The area is not a readable polygon: ${errorMessage(e).slice(0, 160)}.`, { status: 400, exitCode: 64 });
      });
    const r = rows[0];
    if (!r?.valid || r.g === null) {
      const which = parts.length > 1 && r?.bad ? ` (polygon ${r.bad} of ${parts.length})` : '';
      throw new UserError('invalid-area', `The area is not a valid polygon${which}: ${r?.reason ?? 'unreadable'}.`, { status: 400, hint: 'A polygon must not cross itself.', exitCode: 64 });
    }
    return r.g;
  }

  /** Surface and extent of a Lambert-93 area, checked: not empty, in the territory, not too large. */
  private async measure(geojson: string): Promise<Pick<Area, 'km2' | 'bbox'>> {
    const { rows } = await this.ctx.db.query<{ km2: number; xmin: number; ymin: number; xmax: number; ymax: number; inside: boolean }>(
      `SELECT ST_Area(g) / 1e6 AS km2, ST_XMin(g) AS xmin, ST_YMin(g) AS ymin, ST_XMax(g) AS xmax, ST_YMax(g) AS ymax,
              ST_Intersects(g, ST_MakeEnvelope($2, $3, $4, $5, 2154)) AS inside
         FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1::text), 2154) AS g) s`,
      [geojson, ...this.ctx.config.territory.extent],
    );
    const r = rows[0] as { km2: number; xmin: number; ymin: number; xmax: number; ymax: number; inside: boolean };
    if (!(Number(r.km2) > 0)) throw new UserError('empty-area', 'The area is empty (no surface).', { status: 400, exitCode: 64 });
    if (!r.inside) throw new UserError('outside-territory', `The area lies outside ${this.ctx.config.territory.name}.`, { status: 400, exitCode: 64 });
    const max = this.ctx.config.extracts.maxAreaKm2;
    if (Number(r.km2) > max) throw new UserError('area-too-large', `The area covers ${Number(r.km2).toFixed(1)} km², more than the ${max} km² an extract may cover.`, { status: 400, hint: 'Split it, or download the bulk publication.', exitCode: 64 });
    return { km2: Number(r.km2), bbox: [Number(r.xmin), Number(r.ymin), Number(r.xmax), Number(r.ymax)] };
  }

  /**
   * An uploaded area file (GeoJSON, KML, GeoPackage: `area-file.ts`) as the Lambert-93
   * MultiPolygon to pass as `area: { geometry }`: reprojected, each polygon checked, unioned, and
   * checked as any area is (empty, outside the territory, too large).
   */
  async uploadedArea(data: Buffer): Promise<UploadedArea> {
    const file = await readAreaFile(data);
    const geojson = await this.lambert93(file.polygons, await this.sridOf(`EPSG:${file.srid}`));
    const { km2, bbox } = await this.measure(geojson);
    const geometry = JSON.parse(geojson) as { type: 'MultiPolygon'; coordinates: number[][][][] };
    const tooComplex =
      geometry.coordinates.length > AREA_LIMITS.polygons ||
      geometry.coordinates.some((p) => p.length > AREA_LIMITS.ringsPerPolygon || p.some((ring) => ring.length > AREA_LIMITS.positionsPerRing));
    if (tooComplex) {
      throw new UserError('area-too-complex', `The area has more than ${AREA_LIMITS.polygons} polygons, ${AREA_LIMITS.ringsPerPolygon} rings per polygon or ${AREA_LIMITS.positionsPerRing} points per ring.`, { status: 400, hint: 'Simplify it (QGIS: Vector > Geometry Tools > Simplify), or split it.', exitCode: 64 });
    }
    return { format: file.format, polygons: file.polygons.length, geometry: { ...geometry, crs: { type: 'name', properties: { name: 'EPSG:2154' } } }, km2: Math.round(km2 * 1e6) / 1e6, bbox };
  }

  private async orthoVersion(name: string | undefined): Promise<{ id: number; name: string; acquisitionDate: string | null }> {
    if (name !== undefined) {
      const v = await this.ctx.catalog.getVersion(ORTHO, name).catch(() => null);
      if (!v || v.status !== 'published') throw new UserError('unknown-version', `The orthophoto has no published version '${name}'.`, { status: 400, exitCode: 64 });
      return { id: v.id, name: v.name, acquisitionDate: v.acquisitionDate ?? null };
    }
    const versions = (await this.ctx.catalog.listVersions(ORTHO)).filter((v) => v.status === 'published' && v.kind === 'full');
    const newest = versions.sort((a, b) => String(b.acquisitionDate ?? '').localeCompare(String(a.acquisitionDate ?? '')) || b.id - a.id)[0];
    if (!newest) throw new UserError('no-version', 'The orthophoto has no published version yet.', { status: 409, exitCode: 1 });
    return { id: newest.id, name: newest.name, acquisitionDate: newest.acquisitionDate ?? null };
  }

  /** The dalles of the version over the area, each with its verified master (null when none yet). */
  private async masters(versionId: number, areaGeoJson: string): Promise<MasterRow[]> {
    const { rows } = await this.ctx.db.query<{ id: string; name: string; xmin: number; ymin: number; xmax: number; ymax: number; source_crs: string; acquisition_date: string | null }>(
      `SELECT d.id::text, d.name, ST_XMin(d.footprint) AS xmin, ST_YMin(d.footprint) AS ymin, ST_XMax(d.footprint) AS xmax, ST_YMax(d.footprint) AS ymax,
              d.source_crs, to_char(d.acquisition_date, 'YYYY-MM-DD') AS acquisition_date
         FROM dalles d
        WHERE d.version_id = $1 AND d.state <> 'withdrawn'
          AND ST_Intersects(d.footprint, ST_SetSRID(ST_GeomFromGeoJSON($2::text), 2154))
          AND NOT ST_Touches(d.footprint, ST_SetSRID(ST_GeomFromGeoJSON($2::text), 2154))
        ORDER BY d.name`,
      [versionId, areaGeoJson],
    );
    const out: MasterRow[] = [];
    for (const r of rows) {
      const asset = (await this.ctx.catalog.assets.list({ dalleId: Number(r.id), kind: 'master', state: 'stored' })).find((a) => a.sha256) ?? null;
      out.push({ dalle: r.name, bbox: [Number(r.xmin), Number(r.ymin), Number(r.xmax), Number(r.ymax)], sourceCrs: r.source_crs, acquisitionDate: r.acquisition_date, asset });
    }
    return out;
  }

  private async vectorVersionId(name: string | null): Promise<number | undefined> {
    if (name === null) return undefined;
    const v = await this.ctx.catalog.getVersion(VECTOR, name).catch(() => null);
    if (!v || v.status !== 'published') throw new UserError('unknown-version', `The vector PCRS has no published version '${name}'.`, { status: 400, exitCode: 64 });
    return v.id;
  }

  /**
   * Checks and sizes the request, then answers at once: a ready copy of an extract of the same
   * content, or a queued extract whose job `run` does (the server starts it in the background).
   */
  async create(caller: Caller, input: ExtractInput): Promise<{ extract: ExtractRecord; reused: boolean }> {
    const contents = [...new Set(input.contents)].sort() as ExtractContent[];
    if (contents.length === 0) throw new UserError('no-content', 'Say what the extract holds: ortho-master, ortho-cog, vector-gml, vector-gpkg and/or vector-dxf.', { status: 400, exitCode: 64 });
    const area = await this.resolveArea(caller, input.area);
    const hashParts: unknown[] = [area.geojson];
    let ortho: NormalisedRequest['ortho'] = null;
    let plannedBytes = 0;
    if (contents.some((c) => c.startsWith('ortho-'))) {
      const v = await this.orthoVersion(input.orthoVersion);
      await this.ctx.access.checkRead(caller, { datasetId: ORTHO, version: v.name });
      const masters = await this.masters(v.id, area.geojson);
      const readable: MasterRow[] = [];
      for (const m of masters) if (m.asset && (await this.ctx.access.canRead(caller, { datasetId: ORTHO, version: v.name, bbox: m.bbox }))) readable.push(m);
      if (masters.length === 0) throw new UserError('no-dalle', `The orthophoto version ${v.name} has no dalle over ${area.label}.`, { status: 400, exitCode: 1 });
      if (readable.length === 0) throw new UserError('outside-perimeter', `None of the ${masters.length} dalles over ${area.label} is within what you may download.`, { status: 403, exitCode: 1 });
      plannedBytes += readable.reduce((n, m) => n + (m.asset?.bytes ?? 0), 0);
      const excluded = masters.filter((m) => m.asset && !readable.includes(m)).map((m) => m.dalle);
      ortho = { version: v.name, excluded };
      hashParts.push(v.id, readable.map((m) => m.asset?.sha256));
      // The COGs depend on the hot tier's JPEG quality too.
      if (contents.includes('ortho-cog')) hashParts.push({ cogQuality: this.ctx.config.pyramid.jpegQuality });
    }
    let vector: NormalisedRequest['vector'] = null;
    if (contents.some((c) => c.startsWith('vector-'))) {
      const name = input.vectorVersion ?? null;
      const versionId = await this.vectorVersionId(name);
      await this.ctx.access.checkRead(caller, { datasetId: VECTOR, ...(name ? { version: name } : {}), bbox: area.bbox });
      vector = { version: name, clip: input.vectorClip ?? 'dalles' };
      const { rows } = await this.ctx.db.query<{ last: string | null }>(`SELECT max(id)::text AS last FROM vector_imports`);
      hashParts.push(versionId ?? 'current', rows[0]?.last ?? null);
    }
    // Restricted data (what an anonymous caller may not read) comes under the usage charter, which the requester must have accepted.
    const restricted =
      (ortho !== null && (await this.licences.restricted({ datasetId: ORTHO, version: ortho.version }))) ||
      (vector !== null && (await this.licences.restricted({ datasetId: VECTOR, ...(vector.version ? { version: vector.version } : {}), bbox: area.bbox })));
    if (restricted) await this.licences.requireCharter(caller);
    const limit = this.ctx.config.extracts.maxBytes;
    const unlimited = caller.kind === 'operator' || caller.roles.has('platform-admin');
    if (!unlimited && plannedBytes > limit) {
      throw new UserError('quota-exceeded', `This extract would hold ${(plannedBytes / 1e9).toFixed(2)} GB of masters, more than the ${(limit / 1e9).toFixed(0)} GB allowed per extract.`, { status: 413, hint: 'Choose a smaller area, or use the bulk download tree.', exitCode: 1 });
    }
    const request: NormalisedRequest = { area: { kind: area.kind, ...(area.code ? { code: area.code } : {}), label: area.label, km2: Math.round(area.km2 * 1e6) / 1e6 }, contents, ortho, vector, ...(restricted ? { licence: 'charter' as const } : {}), ...(input.delivery === 'urls' ? { delivery: 'urls' as const } : {}) };
    // The delivery is part of what is asked (a ZIP's request hash stays what it was before URL delivery existed).
    const requestHash = sha256Hex(JSON.stringify([request.contents, request.ortho, request.vector, request.licence ?? null, ...hashParts, ...(request.delivery ? [request.delivery] : [])]));
    const id = await this.store.insert({ requesterActor: caller.id, requesterUserId: caller.userId ?? null, request, requestHash, areaGeoJson: area.geojson });
    await this.ctx.audit.record(caller, { action: 'extract.create', target: `extract:${id}`, details: { area: request.area.label, contents, bytes: plannedBytes } });
    const previous = await this.store.reusable(requestHash);
    if (previous && previous.id !== id) {
      await this.store.copyFrom(id, previous, this.ctx.config.extracts.keepDays);
      return { extract: (await this.store.get(id)) as ExtractRecord, reused: true };
    }
    const job = await this.ctx.jobs.findOrCreate(EXTRACT_JOB, `extract:${id}`, { extractId: id });
    await this.store.setJob(id, job.id);
    return { extract: (await this.store.get(id)) as ExtractRecord, reused: false };
  }

  /** Runs (or resumes) the extract's job to the end: the plan is stored and the extract ready. */
  async run(id: number, options: RunJobOptions = {}): Promise<ExtractRecord> {
    const extract = await this.get(id);
    if (extract.state === 'ready') return extract;
    if (extract.jobId === null) throw new Error(`extract ${id} has no job`);
    const job = await this.ctx.jobs.get(extract.jobId);
    await this.store.setState(id, 'running');
    try {
      await runJob(this.ctx.jobs, job, async (jc) => this.build(extract, jc.progress, jc.signal), options);
    } catch (e) {
      const interrupted = e instanceof UserError && e.code === 'job-interrupted';
      await this.store.setState(id, interrupted ? 'queued' : 'failed', interrupted ? null : errorMessage(e).slice(0, 500));
      throw e;
    }
    const done = await this.get(id);
    await this.announce(done);
    return done;
  }

  private async build(extract: ExtractRecord, progress: (done: number, total: number | null, message?: string) => Promise<void>, signal: AbortSignal): Promise<{ zipBytes: number }> {
    const req = extract.request;
    const areaGeoJson = await this.store.areaGeoJson(extract.id);
    const entries: Array<Omit<EntryRow, 'seq'>> = [];
    const planned: PlannedMaster[] = [];
    let orthoFacts: Parameters<typeof readme>[0]['ortho'] = null;
    if (req.ortho) {
      const v = await this.orthoVersion(req.ortho.version);
      const masters = await this.masters(v.id, areaGeoJson);
      const excluded: string[] = [];
      const missing: string[] = [];
      const readable: Array<MasterRow & { asset: Asset }> = [];
      for (const m of masters) {
        if (!m.asset) missing.push(m.dalle);
        // Outside the requester's perimeter when asked: decided by create(), kept in the request.
        else if (req.ortho.excluded.includes(m.dalle)) excluded.push(m.dalle);
        else readable.push(m as MasterRow & { asset: Asset });
      }
      const fileName = (m: MasterRow & { asset: Asset }) => path.basename(m.asset.location).replace(/[^\w.-]/g, '_');
      const interrupted = () => {
        if (signal.aborted) throw new UserError('job-interrupted', 'interrupted', { status: 503 });
      };
      // Requests made before ortho-cog existed hold ortho-master only.
      if (req.contents.includes('ortho-master')) {
        const total = readable.reduce((n, m) => n + m.asset.bytes, 0);
        let done = 0;
        for (const m of readable) {
          interrupted();
          const crc = (await this.store.cachedCrc32(m.asset.id)) ?? (await this.readMaster(m.asset));
          const name = `ortho/${fileName(m)}`;
          entries.push({ name, bytes: m.asset.bytes, crc32: crc, sha256: m.asset.sha256 as string, assetId: m.asset.id, tier: null, location: null, inline: null });
          planned.push({ name, dalle: m.dalle, version: v.name, acquisitionDate: m.acquisitionDate, bbox: m.bbox, sourceCrs: m.sourceCrs });
          done += m.asset.bytes;
          await progress(done, total, `${m.dalle}`);
        }
        const vrt = mosaicVrt(planned);
        if (vrt) entries.push(inlineEntry('ortho/mosaique.vrt', vrt));
      }
      let cogQuality: number | null = null;
      if (req.contents.includes('ortho-cog')) {
        cogQuality = this.ctx.config.pyramid.jpegQuality;
        const cogs: PlannedMaster[] = [];
        let n = 0;
        for (const m of readable) {
          interrupted();
          const claim = (key: string) => this.store.claim(extract.id, n, key);
          const cog = await compressedDalle(this.ctx, this.store, claim, m.asset, cogQuality, signal).catch((e: unknown) => {
            // gdal_translate killed by the stop: resumable, not a failure.
            interrupted();
            throw e;
          });
          const name = `ortho-cog/${fileName(m).replace(/\.[^.]*$/, '')}.tif`;
          entries.push({ name, bytes: cog.bytes, crc32: cog.crc32, sha256: cog.sha256, assetId: null, tier: 'intermediate', location: cog.location, inline: null });
          cogs.push({ name, dalle: m.dalle, version: v.name, acquisitionDate: m.acquisitionDate, bbox: m.bbox, sourceCrs: m.sourceCrs });
          await progress(++n, readable.length, `COG ${m.dalle}${cog.reused ? ' (déjà prêt / cached)' : ''}`);
        }
        const vrt = mosaicVrt(cogs);
        if (vrt) entries.push(inlineEntry('ortho-cog/mosaique.vrt', vrt));
      }
      orthoFacts = { version: v.name, acquisitionDate: v.acquisitionDate, dalles: readable.length, excluded, missing, masters: req.contents.includes('ortho-master'), cogQuality };
    }
    let vectorFacts: Parameters<typeof readme>[0]['vector'] = null;
    if (req.vector) {
      const versionId = await this.vectorVersionId(req.vector.version);
      const clip = req.vector.clip ?? 'dalles';
      const dir = await mkdtemp(path.join(tmpdir(), 'pcrs-extract-'));
      try {
        let features = 0;
        const files: string[] = [];
        for (const content of (['vector-gml', 'vector-gpkg', 'vector-dxf'] as const).filter((c) => req.contents.includes(c))) {
          const { format, name, contentType } = VECTOR_FILES[content];
          await progress(0, null, `vector PCRS → ${format.toUpperCase()}`);
          const file = path.join(dir, path.basename(name));
          const res = await exportVector(this.ctx.db, { datasetId: VECTOR, ...(versionId !== undefined ? { versionId } : {}), polygon: JSON.parse(areaGeoJson) as Record<string, unknown>, format, output: file, clip: clip === 'area' });
          if (format !== 'dxf' || files.length === 0) features = res.features;
          const crc = await fileCrc32(file);
          const put = await this.ctx.tiers.intermediate.put(`extracts/${extract.id}/${path.basename(name)}`, { file }, { contentType });
          entries.push({ name, bytes: put.bytes, crc32: crc, sha256: put.sha256, assetId: null, tier: 'intermediate', location: put.key, inline: null });
          files.push(path.basename(name));
          await rm(file, { force: true });
        }
        vectorFacts = { version: req.vector.version ?? 'PCRS courant (la version la plus récente par zone)', features, clip, files };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const licence = req.licence === 'charter' ? this.licences.charter() : LICENCE_OUVERTE;
    entries.push(inlineEntry('LICENCE.txt', licence.text));
    entries.push(
      inlineEntry(
        'LISEZMOI.txt',
        readme({ areaLabel: req.area.label, areaKm2: req.area.km2, createdAt: new Date(extract.createdAt), platformUrl: this.ctx.config.publicUrl ?? 'la plateforme PCRS', territory: this.ctx.config.territory.name, ortho: orthoFacts, vector: vectorFacts, licence }),
      ),
    );
    entries.push(inlineEntry('MANIFEST.sha256', manifest(entries)));
    const contentHash = sha256Hex(entries.map((e) => `${e.name}\t${e.sha256}`).join('\n'));
    const contentTime = new Date(extract.createdAt);
    const zipBytes = new VirtualZip(entries.map((e) => ({ name: e.name, size: e.bytes, crc32: e.crc32, source: NO_SOURCE })), { modified: contentTime }).size;
    await this.store.finish(extract.id, entries, contentHash, zipBytes, contentTime, this.ctx.config.extracts.keepDays);
    return { zipBytes };
  }

  /** Reads a master once: its CRC-32 for the ZIP, and its SHA-256 against the catalogue's. */
  private async readMaster(asset: Asset): Promise<number> {
    const stream = await openMaster(this.ctx.tiers, asset);
    const hash = createHash('sha256');
    let crc = 0;
    let bytes = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      crc = crc32(chunk, crc);
      bytes += chunk.length;
    }
    const sha = hash.digest('hex');
    if (sha !== asset.sha256 || bytes !== asset.bytes) {
      throw new Error(`the stored master ${path.basename(asset.location)} does not match the catalogue (${bytes} bytes, SHA-256 ${sha.slice(0, 12)}…): run pcrs storage verify --repair`);
    }
    await this.store.cacheCrc32(asset.id, crc);
    return crc;
  }

  private async announce(extract: ExtractRecord): Promise<void> {
    if (extract.requesterUserId === null) return;
    try {
      const { rows } = await this.ctx.db.query<{ email: string; display_name: string }>(`SELECT email, display_name FROM users WHERE id = $1 AND disabled_at IS NULL`, [extract.requesterUserId]);
      const user = rows[0];
      if (!user) return;
      const link = `${this.ctx.config.publicUrl ?? ''}/#/extraits/${extract.id}`;
      // Delivered as URLs: where the list is (signed in; wget -i / aria2c -i), never the URLs themselves.
      const urlsLine = extract.request.delivery === 'urls' ? `Liste des fichiers à télécharger (wget -i, aria2c -i) : ${this.ctx.config.publicUrl ?? ''}/api/v1/extracts/${extract.id}/urls?format=text\n` : '';
      await this.ctx.mail.send({
        to: user.email,
        subject: `Votre extrait PCRS est prêt — ${extract.areaLabel}`,
        text: `Bonjour ${user.display_name},\n\nL’extrait « ${extract.areaLabel} » est prêt (${((extract.zipBytes ?? 0) / 1e6).toFixed(1)} Mo) : ${link}\nIl reste téléchargeable jusqu’au ${extract.expiresAt?.slice(0, 10) ?? ''}.\n${urlsLine}\n— English —\nYour PCRS extract "${extract.areaLabel}" is ready: ${link}\n`,
      });
    } catch (e) {
      this.ctx.log.warn({ err: errorMessage(e), extract: extract.id }, 'extracts: the requester could not be told');
    }
  }

  async get(id: number): Promise<ExtractRecord> {
    const e = await this.store.get(id);
    if (!e) throw new UserError('not-found', `There is no extract ${id}.`, { status: 404 });
    return e;
  }

  /** The extract, if the caller asked for it (or is a platform admin / the operator); else 404, not 403 (ids are guessable). */
  async getFor(caller: Caller, id: number): Promise<ExtractRecord> {
    const e = await this.get(id);
    const own = e.requesterActor === caller.id || (e.requesterUserId !== null && e.requesterUserId === caller.userId);
    if (!own && caller.kind !== 'operator' && !caller.roles.has('platform-admin')) throw new UserError('not-found', `There is no extract ${id}.`, { status: 404 });
    return e;
  }

  /** The ZIP of a ready extract, computed from its plan. */
  async open(extract: ExtractRecord): Promise<VirtualZip> {
    this.assertReady(extract);
    const rows = await this.store.entries(extract.id);
    const entries: ZipEntry[] = [];
    for (const r of rows) entries.push({ name: r.name, size: r.bytes, crc32: r.crc32, source: await this.entrySource(r) });
    return new VirtualZip(entries, { modified: new Date(extract.contentTime ?? extract.createdAt) });
  }

  /** 410 when the extract has expired, 409 when it is not ready (yet, or failed). */
  assertReady(extract: ExtractRecord): void {
    if (extract.state === 'expired' || (extract.expiresAt && new Date(extract.expiresAt) < new Date())) throw new UserError('expired', `Extract ${extract.id} has expired: ask for it again.`, { status: 410, exitCode: 1 });
    if (extract.state !== 'ready') throw new UserError('not-ready', `Extract ${extract.id} is ${extract.state}${extract.error ? `: ${extract.error}` : ''}.`, { status: 409, exitCode: 1 });
  }

  /** How to read one entry of a ready extract's plan (any byte range): for the ZIP and for its signed URLs. */
  async entrySource(r: EntryRow): Promise<ZipEntry['source']> {
    if (r.inline) {
      const data = r.inline;
      return { open: async (start, end) => data.subarray(start, end + 1) };
    }
    if (r.assetId !== null) {
      const asset = await this.ctx.catalog.assets.get(r.assetId);
      if (!asset) throw new Error(`extract entry ${r.name}: asset ${r.assetId} is gone`);
      const local = this.ctx.tiers[asset.tier].localPath?.(asset.location);
      return {
        // A master on local disk is read in 1 MiB chunks (the default 64 KiB costs a turn of the
        // event loop per chunk); elsewhere, or when it is gone, through openMaster (NAS fallback).
        open: async (start, end): Promise<Readable> => (local !== undefined && (await exists(local)) ? createReadStream(local, { start, end, highWaterMark: READ_CHUNK }) : openMaster(this.ctx.tiers, asset, { start, end })),
      };
    }
    const store = this.ctx.tiers[r.tier ?? 'intermediate'];
    const location = r.location as string;
    return {
      open: async (start, end) => {
        const file = store.localPath?.(location);
        if (file !== undefined) return createReadStream(file, { start, end, highWaterMark: READ_CHUNK });
        return start === 0 && end === r.bytes - 1 ? store.get(location) : store.getRange(location, start, end - start + 1);
      },
    };
  }

  /** Expires what is past its date and deletes the objects only expired extracts used. */
  async expire(): Promise<number> {
    const objects = await this.store.expire();
    for (const o of objects) await this.ctx.tiers[o.tier].delete(o.location).catch(() => undefined);
    return objects.length;
  }
}

const READ_CHUNK = 1 << 20;

const exists = (file: string) => access(file).then(() => true, () => false);

const NO_SOURCE: ZipEntry['source'] = {
  open: () => Promise.reject(new Error('sizing only')),
};

function inlineEntry(name: string, text: string): Omit<EntryRow, 'seq'> {
  const data = Buffer.from(text, 'utf8');
  return { name, bytes: data.length, crc32: crc32(data), sha256: sha256Hex(data), assetId: null, tier: null, location: null, inline: data };
}

async function fileCrc32(file: string): Promise<number> {
  let crc = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) crc = crc32(chunk, crc);
  return crc;
}
