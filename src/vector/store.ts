/**
 * PostGIS store of the vector PCRS: one `vector_features` table (class column + typed common
 * columns + all attributes in jsonb, geometry in EPSG:2154), see docs/vector-store.md.
 *
 * Reads go through `FeatureQuery`: a version (or the current PCRS: the latest published version
 * per area), a class, a bbox, property filters, a date interval, paging; geometries come out as
 * GeoJSON text transformed in SQL (same SQL on PostgreSQL and PGlite).
 */
import { endianness } from 'node:os';
import { publishedVersionsSql } from '../catalog/catalog.js';
import type { Queryable, SqlParam } from '../db/database.js';
import type { Bbox } from '../grid/bbox.js';
import { UserError } from '../util/errors.js';
import type { PcrsFeature, PcrsGeometry, PcrsValue, Position } from './gml/pcrs-model.js';

/** The catalogue dataset of the vector PCRS. */
export const VECTOR_DATASET = 'vector';

/** Typed columns filled from the attributes of the same name (queryable as `?name=value`). */
export const TYPED_COLUMNS: Readonly<Record<string, string>> = {
  idObjet: 'id_objet',
  thematique: 'thematique',
  qualiteCategorisation: 'qualite_categorisation',
  precisionPlanimetrique: 'precision_planimetrique',
  precisionAltimetrique: 'precision_altimetrique',
  producteur: 'producteur',
  dateLeve: 'date_leve',
  gmlId: 'gml_id',
};

/** Rows per INSERT statement (one jsonb parameter per batch). */
export const INSERT_BATCH = 500;

const textOf = (v: PcrsValue | undefined): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

function sridOf(crs: string | null): number | null {
  if (!crs) return null;
  const m = /^EPSG:(\d+)$/.exec(crs);
  return m ? Number(m[1]) : null;
}

/** One row ready for insertion (JSON-serialised into the batch parameter). */
export interface FeatureRow {
  class: string;
  namespace: string;
  gml_id: string | null;
  id_objet: string | null;
  thematique: string | null;
  qualite_categorisation: string | null;
  precision_planimetrique: string | null;
  precision_altimetrique: string | null;
  producteur: string | null;
  date_leve: string | null;
  attributes: Record<string, PcrsValue>;
  /** The geometry in its source CRS (`srid`); it goes to PostGIS as EWKB. */
  geometry: PcrsGeometry | null;
  srid: number | null;
  dimension: number | null;
  curved: boolean;
  source_crs: string | null;
  srs_name: string | null;
  source_line: number;
}

const WKB_TYPE: Record<PcrsGeometry['type'], number> = { Point: 1, LineString: 2, Polygon: 3, MultiPoint: 4, MultiLineString: 5, MultiPolygon: 6, GeometryCollection: 7 };

function firstPosition(g: PcrsGeometry): Position | undefined {
  if (g.type === 'GeometryCollection') {
    for (const m of g.geometries) {
      const p = firstPosition(m);
      if (p) return p;
    }
    return undefined;
  }
  let c: unknown = g.coordinates;
  while (Array.isArray(c) && Array.isArray(c[0])) c = c[0];
  return Array.isArray(c) && c.length > 0 ? (c as Position) : undefined;
}

/** Our doubles are in WKB's little-endian order as they are in memory (the usual case). */
const LITTLE_ENDIAN = endianness() === 'LE';
/** Positions of the geometry being written (grows with the largest). */
let scratch = new Float64Array(3 * 1024);
let scratchBytes = Buffer.from(scratch.buffer);

/** Bytes of a geometry's EWKB (see `writeEwkb`). */
export function ewkbByteLength(g: PcrsGeometry, srid: number | null): number {
  const dims = (firstPosition(g)?.length ?? 2) >= 3 ? 3 : 2;
  const sizeOf = (x: PcrsGeometry): number => {
    switch (x.type) {
      case 'Point':
        return 5 + 8 * dims;
      case 'LineString':
        return 9 + x.coordinates.length * 8 * dims;
      case 'Polygon':
        return 9 + x.coordinates.reduce((n, r) => n + 4 + r.length * 8 * dims, 0);
      case 'MultiPoint':
        return 9 + x.coordinates.length * (5 + 8 * dims);
      case 'MultiLineString':
        return 9 + x.coordinates.reduce((n, l) => n + 9 + l.length * 8 * dims, 0);
      case 'MultiPolygon':
        return 9 + x.coordinates.reduce((n, p) => n + 9 + p.reduce((m, r) => m + 4 + r.length * 8 * dims, 0), 0);
      case 'GeometryCollection':
        return 9 + x.geometries.reduce((n, m) => n + sizeOf(m), 0);
    }
  };
  return sizeOf(g) + (srid !== null ? 4 : 0);
}

/**
 * Writes the EWKB of a geometry (little-endian, Z when its first position has one, SRID when
 * known) — what PostGIS' binary input and `ST_GeomFromEWKB` read — at `offset` of `buf`, which
 * must hold `ewkbByteLength` bytes; returns the offset after it. A position without Z in a 3D
 * geometry gets NaN (PostGIS keeps it), one with extra ordinates loses them.
 */
export function writeEwkb(g: PcrsGeometry, srid: number | null, buf: Buffer, offset: number): number {
  const hasZ = (firstPosition(g)?.length ?? 2) >= 3;
  let o = offset;
  const header = (type: number, withSrid: boolean) => {
    o = buf.writeUInt8(1, o);
    o = buf.writeUInt32LE((type | (hasZ ? 0x80000000 : 0) | (withSrid ? 0x20000000 : 0)) >>> 0, o);
    if (withSrid) o = buf.writeUInt32LE(srid as number, o);
  };
  /** Positions as doubles, gathered in a Float64Array and copied at once (`writeDoubleLE` per value was slow). */
  const positions = (ps: Position[]) => {
    const n = ps.length * (hasZ ? 3 : 2);
    if (!LITTLE_ENDIAN) {
      for (const p of ps) {
        o = buf.writeDoubleLE(p[0] ?? Number.NaN, o);
        o = buf.writeDoubleLE(p[1] ?? Number.NaN, o);
        if (hasZ) o = buf.writeDoubleLE(p[2] ?? Number.NaN, o);
      }
      return;
    }
    if (scratch.length < n) {
      scratch = new Float64Array(n * 2);
      scratchBytes = Buffer.from(scratch.buffer);
    }
    let k = 0;
    for (const p of ps) {
      scratch[k++] = p[0] ?? Number.NaN;
      scratch[k++] = p[1] ?? Number.NaN;
      if (hasZ) scratch[k++] = p[2] ?? Number.NaN;
    }
    o += scratchBytes.copy(buf, o, 0, n * 8);
  };
  const pos = (p: Position) => positions([p]);
  const points = (ps: Position[]) => {
    o = buf.writeUInt32LE(ps.length, o);
    positions(ps);
  };
  const write = (x: PcrsGeometry, top: boolean) => {
    header(WKB_TYPE[x.type], top && srid !== null);
    switch (x.type) {
      case 'Point':
        pos(x.coordinates.length ? x.coordinates : [Number.NaN, Number.NaN, Number.NaN]);
        return;
      case 'LineString':
        points(x.coordinates);
        return;
      case 'Polygon':
        o = buf.writeUInt32LE(x.coordinates.length, o);
        for (const r of x.coordinates) points(r);
        return;
      case 'MultiPoint':
        return members(x.coordinates.map((coordinates) => ({ type: 'Point', coordinates })));
      case 'MultiLineString':
        return members(x.coordinates.map((coordinates) => ({ type: 'LineString', coordinates })));
      case 'MultiPolygon':
        return members(x.coordinates.map((coordinates) => ({ type: 'Polygon', coordinates })));
      case 'GeometryCollection':
        return members(x.geometries);
    }
  };
  /** A multi-geometry's or collection's parts: a count, then each as plain (SRID-less) WKB. */
  const members = (parts: PcrsGeometry[]) => {
    o = buf.writeUInt32LE(parts.length, o);
    for (const m of parts) write(m, false);
  };
  write(g, true);
  return o;
}

/** Hex EWKB of a geometry (see `writeEwkb`): what `ST_GeomFromEWKB(decode(…, 'hex'))` reads. */
export function ewkbHex(g: PcrsGeometry, srid: number | null): string {
  const buf = Buffer.allocUnsafe(ewkbByteLength(g, srid));
  writeEwkb(g, srid, buf, 0);
  return buf.toString('hex');
}

export function featureRow(f: PcrsFeature, fallbackCrs: string | null = null): FeatureRow {
  const a = f.attributes;
  const crs = f.sourceCrs ?? (f.geometry ? fallbackCrs : null);
  return {
    class: f.class,
    namespace: f.namespace,
    gml_id: f.gmlId,
    id_objet: f.idObjet ?? textOf(a.idObjet),
    thematique: textOf(a.thematique),
    qualite_categorisation: textOf(a.qualiteCategorisation),
    precision_planimetrique: textOf(a.precisionPlanimetrique),
    precision_altimetrique: textOf(a.precisionAltimetrique),
    producteur: textOf(a.producteur),
    date_leve: textOf(a.dateLeve),
    attributes: a,
    geometry: f.geometry,
    srid: sridOf(crs),
    dimension: f.dimension,
    curved: f.curved === true,
    source_crs: crs,
    srs_name: f.srsName,
    source_line: f.line,
  };
}

/** What `FeatureWriter` loads with COPY: the table and its columns, in the order `BinaryCopyBuffer` writes them. */
const COPY_TARGET = `vector_features (version_id, import_id, class, namespace, gml_id, id_objet, thematique, qualite_categorisation,
  precision_planimetrique, precision_altimetrique, producteur, date_leve, attributes, geometry, dimension, curved,
  source_crs, srs_name, source_line)`;

/**
 * Whether PostGIS can take the row's geometry as it is: Lambert-93 hex EWKB (the geometry
 * column's text input reads it), or no geometry. The others need `ST_Transform` (INSERT path).
 */
function copyable(r: FeatureRow): boolean {
  return r.geometry === null || r.srid === 2154;
}

/** PostgreSQL's binary COPY: signature, flags, header extension length (no extension). */
const PGCOPY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** Field count -1: the end of the data. */
const PGCOPY_TRAILER_BYTES = 2;
/** Fields of `COPY_TARGET`. */
const COPY_FIELDS = 19;

/**
 * Appends rows of `COPY_TARGET` in PostgreSQL's binary COPY format to a buffer: lengths instead of
 * escapes, and the geometry as EWKB bytes (PostGIS' binary input) instead of twice as much hex
 * text for the server to decode (BENCHMARKS.md, gml-import).
 */
class BinaryCopyBuffer {
  readonly buf: Buffer;
  length: number;
  rows = 0;
  constructor(capacity: number) {
    // A buffer of its own, not Node's shared pool: it is transferred to another thread.
    this.buf = Buffer.allocUnsafeSlow(capacity);
    this.length = PGCOPY_HEADER.copy(this.buf, 0);
  }

  /** An upper bound of the bytes `append` writes for a row (strings counted at 3 bytes per unit). */
  static bound(r: FeatureRow, attributesJson: string, geometryBytes: number): number {
    let n = 2 + COPY_FIELDS * 4 + 8 + 8 + 2 + 1 + 4 + 1 + geometryBytes + attributesJson.length * 3;
    for (const v of [r.class, r.namespace, r.gml_id, r.id_objet, r.thematique, r.qualite_categorisation, r.precision_planimetrique, r.precision_altimetrique, r.producteur, r.date_leve, r.source_crs, r.srs_name]) {
      if (v !== null) n += v.length * 3;
    }
    return n;
  }

  room(): number {
    return this.buf.length - this.length - PGCOPY_TRAILER_BYTES;
  }

  append(versionId: number, importId: number, r: FeatureRow, attributesJson: string, geometryBytes: number): void {
    const b = this.buf;
    let o = b.writeInt16BE(COPY_FIELDS, this.length);
    o = int8(b, o, versionId);
    o = int8(b, o, importId);
    o = text(b, o, r.class);
    o = text(b, o, r.namespace);
    o = text(b, o, r.gml_id);
    o = text(b, o, r.id_objet);
    o = text(b, o, r.thematique);
    o = text(b, o, r.qualite_categorisation);
    o = text(b, o, r.precision_planimetrique);
    o = text(b, o, r.precision_altimetrique);
    o = text(b, o, r.producteur);
    o = text(b, o, r.date_leve);
    // jsonb's binary form: a version byte (1), then the JSON text.
    const jsonBytes = b.write(attributesJson, o + 5, 'utf8');
    o = b.writeInt32BE(jsonBytes + 1, o);
    o = b.writeUInt8(1, o) + jsonBytes;
    if (r.geometry) {
      o = b.writeInt32BE(geometryBytes, o);
      o = writeEwkb(r.geometry, r.srid, b, o);
    } else o = b.writeInt32BE(-1, o);
    if (r.dimension === null) o = b.writeInt32BE(-1, o);
    else o = b.writeInt16BE(r.dimension, b.writeInt32BE(2, o));
    o = b.writeUInt8(r.curved ? 1 : 0, b.writeInt32BE(1, o));
    o = text(b, o, r.source_crs);
    o = text(b, o, r.srs_name);
    o = b.writeInt32BE(r.source_line, b.writeInt32BE(4, o));
    this.length = o;
    this.rows++;
  }

  /** The COPY data, trailer included. */
  finish(): Uint8Array {
    this.length = this.buf.writeInt16BE(-1, this.length);
    return this.buf.subarray(0, this.length);
  }
}

function int8(b: Buffer, o: number, v: number): number {
  return b.writeBigInt64BE(BigInt(v), b.writeInt32BE(8, o));
}

function text(b: Buffer, o: number, v: string | null): number {
  if (v === null) return b.writeInt32BE(-1, o);
  const n = b.write(v, o + 4, 'utf8');
  b.writeInt32BE(n, o);
  return o + 4 + n;
}

/**
 * A batch of rows, in file order: binary COPY data for the rows PostGIS takes as they are, or
 * rows for the INSERT that transforms them to Lambert-93 in SQL. Plain data: it crosses threads.
 */
export type FeatureBatch = { kind: 'copy'; data: Uint8Array; rows: number } | { kind: 'insert'; rows: FeatureRow[] };

/** COPY data per batch (the whole batch is one COPY statement). */
export const COPY_BATCH_BYTES = 4 << 20;

/**
 * Groups rows into `FeatureBatch`es in file order (a batch ends when the kind changes, so that
 * ids follow the file). Used where the rows are built: in the import's worker thread, or in
 * `FeatureWriter` itself.
 */
export class FeatureBatcher {
  /** COPY data being filled. */
  private copy: BinaryCopyBuffer | null = null;
  private rows: FeatureRow[] = [];

  constructor(
    private readonly versionId: number,
    private readonly importId: number,
    private readonly emit: (batch: FeatureBatch) => Promise<void>,
    private readonly insertBatch = INSERT_BATCH,
  ) {}

  async add(row: FeatureRow): Promise<void> {
    if (copyable(row)) {
      if (this.rows.length > 0) await this.emitRows();
      const json = JSON.stringify(row.attributes);
      const geometryBytes = row.geometry ? ewkbByteLength(row.geometry, row.srid) : 0;
      const need = BinaryCopyBuffer.bound(row, json, geometryBytes);
      if (this.copy && need > this.copy.room()) await this.emitCopy();
      this.copy ??= new BinaryCopyBuffer(Math.max(COPY_BATCH_BYTES, PGCOPY_HEADER.length + need + PGCOPY_TRAILER_BYTES));
      this.copy.append(this.versionId, this.importId, row, json, geometryBytes);
      if (this.copy.length >= COPY_BATCH_BYTES) await this.emitCopy();
    } else {
      if (this.copy) await this.emitCopy();
      this.rows.push(row);
      if (this.rows.length >= this.insertBatch) await this.emitRows();
    }
  }

  /** Emits what is buffered. */
  async flush(): Promise<void> {
    if (this.copy) await this.emitCopy();
    if (this.rows.length > 0) await this.emitRows();
  }

  private async emitCopy(): Promise<void> {
    const copy = this.copy as BinaryCopyBuffer;
    this.copy = null;
    await this.emit({ kind: 'copy', data: copy.finish(), rows: copy.rows });
  }

  private async emitRows(): Promise<void> {
    const rows = this.rows;
    this.rows = [];
    await this.emit({ kind: 'insert', rows });
  }
}

/**
 * Loads features inside the caller's transaction: COPY for Lambert-93 rows, multi-row INSERT
 * with `ST_Transform` for the others, in file order. One batch stays in flight while the caller
 * goes on parsing the next one (PostgreSQL works in its own process meanwhile); a load error
 * surfaces at the next `add`/`write`/`flush`.
 */
export class FeatureWriter {
  private readonly batcher: FeatureBatcher;
  private inFlight: Promise<void> | null = null;
  count = 0;
  constructor(
    private readonly tx: Queryable,
    private readonly versionId: number,
    private readonly importId: number,
    batchSize = INSERT_BATCH,
  ) {
    this.batcher = new FeatureBatcher(versionId, importId, (b) => this.write(b), batchSize);
  }

  async add(row: FeatureRow): Promise<void> {
    await this.batcher.add(row);
  }

  /** Sends a batch made elsewhere (same version and import ids), after the one in flight. */
  async write(batch: FeatureBatch): Promise<void> {
    await this.settle();
    const p = batch.kind === 'copy' ? this.tx.copyFrom(COPY_TARGET, batch.data) : this.insert(batch.rows);
    const rows = batch.kind === 'copy' ? batch.rows : batch.rows.length;
    // Observed at the next settle(); never an unhandled rejection in between.
    p.catch(() => undefined);
    this.inFlight = p.then(() => {
      this.count += rows;
    });
    this.inFlight.catch(() => undefined);
  }

  /** Sends what is buffered and waits until every batch is loaded. */
  async flush(): Promise<void> {
    await this.batcher.flush();
    await this.settle();
  }

  /** Waits for the batch in flight, ignoring its outcome (before a rollback). */
  async abandon(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    this.inFlight = null;
  }

  private async settle(): Promise<void> {
    const p = this.inFlight;
    this.inFlight = null;
    if (p) await p;
  }

  private async insert(rows: FeatureRow[]): Promise<void> {
    await this.tx.query(
      `INSERT INTO vector_features (version_id, import_id, class, namespace, gml_id, id_objet, thematique, qualite_categorisation,
         precision_planimetrique, precision_altimetrique, producteur, date_leve, attributes, geometry, dimension, curved,
         source_crs, srs_name, source_line)
       SELECT $1, $2, r.class, r.namespace, r.gml_id, r.id_objet, r.thematique, r.qualite_categorisation,
         r.precision_planimetrique, r.precision_altimetrique, r.producteur, r.date_leve, r.attributes,
         CASE WHEN r.g IS NULL THEN NULL
              WHEN r.srid = 2154 THEN ST_GeomFromEWKB(decode(r.g, 'hex'))
              ELSE ST_Transform(ST_GeomFromEWKB(decode(r.g, 'hex')), 2154) END,
         r.dimension, r.curved, r.source_crs, r.srs_name, r.source_line
       FROM jsonb_to_recordset($3::jsonb) AS r(class text, namespace text, gml_id text, id_objet text, thematique text,
         qualite_categorisation text, precision_planimetrique text, precision_altimetrique text, producteur text, date_leve text,
         attributes jsonb, g text, srid integer, dimension smallint, curved boolean, source_crs text, srs_name text, source_line integer)`,
      [this.versionId, this.importId, JSON.stringify(rows.map(({ geometry, ...r }) => ({ ...r, g: geometry ? ewkbHex(geometry, r.srid) : null })))],
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Queries

export type OutputCrs = 2154 | 4326 | 3857;

export interface FeatureQuery {
  datasetId: string;
  /** A version id; absent = the current PCRS (latest published version per area). */
  versionId?: number;
  class?: string;
  /** One feature by store id. */
  id?: number;
  /** In EPSG:2154. */
  bbox?: Bbox;
  /** Or a polygon (GeoJSON geometry in EPSG:2154). */
  polygon?: Record<string, unknown>;
  /** Equality filters on typed columns (keys of TYPED_COLUMNS) or attributes (`attributes->>key`). */
  filters?: Record<string, string>;
  /** dateLeve interval (inclusive, YYYY-MM-DD; null = open). */
  dateInterval?: [string | null, string | null];
  limit?: number;
  offset?: number;
  outSrid?: OutputCrs;
  /** Clip to this bbox (EPSG:2154) and transform, for tiles. */
  clip?: Bbox;
  /**
   * Cut each geometry to this polygon (GeoJSON in EPSG:2154; exports clipped to an area): what
   * remains of the geometry's own dimension (a line stays lines, a polygon polygons), possibly
   * empty or multi-part; the caller splits or drops (see `vector/export.ts`).
   */
  clipTo?: Record<string, unknown>;
  /** Decimal digits of output coordinates (default 9 for 4326, 3 otherwise). */
  decimals?: number;
  /** Latitude first (EPSG:4326 authority axis order, for OGC API `crs=EPSG:4326` and WFS urn). */
  latLon?: boolean;
  /** Drop Z (vector tiles). */
  force2d?: boolean;
  /**
   * Only the objects this (unpublished) version would replace once published: those whose point
   * on surface lies in one of its areas — the current PCRS's own rule (moderation's before/after).
   */
  replacedBy?: number;
  /**
   * With an area: also return the features without geometry (AffleurantPCRS,
   * AffleurantGeometriquePCRS) of the imported files that have features in the area (exports).
   */
  withAttached?: boolean;
}

export interface StoredFeature {
  id: number;
  versionId: number;
  class: string;
  namespace: string;
  gmlId: string | null;
  idObjet: string | null;
  thematique: string | null;
  attributes: Record<string, PcrsValue>;
  /** GeoJSON text in the requested CRS, or null. */
  geometry: string | null;
  dimension: number | null;
  sourceCrs: string | null;
  sourceLine: number;
}

class Params {
  readonly values: SqlParam[] = [];
  add(v: SqlParam): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** FROM + WHERE of a feature query (alias `f`). */
function whereOf(q: FeatureQuery, p: Params): string {
  const conds: string[] = [];
  if (q.versionId !== undefined) {
    conds.push(`f.version_id = ${p.add(q.versionId)}`);
  } else {
    const published = publishedVersionsSql(p.add(q.datasetId));
    conds.push(`f.version_id IN (SELECT id FROM ${published} pv)`);
    conds.push(`NOT EXISTS (SELECT 1 FROM vector_areas a JOIN ${published} w ON w.id = a.version_id
      WHERE w.priority > (SELECT priority FROM versions v WHERE v.id = f.version_id)
        AND f.geometry IS NOT NULL AND a.footprint && f.geometry
        AND ST_Covers(a.footprint, ST_PointOnSurface(f.geometry)))`);
  }
  if (q.replacedBy !== undefined) {
    conds.push(`f.geometry IS NOT NULL AND EXISTS (SELECT 1 FROM vector_areas r WHERE r.version_id = ${p.add(q.replacedBy)} AND r.footprint && f.geometry AND ST_Covers(r.footprint, ST_PointOnSurface(f.geometry)))`);
  }
  if (q.class) conds.push(`f.class = ${p.add(q.class)}`);
  if (q.id !== undefined) conds.push(`f.id = ${p.add(q.id)}`);
  const areas: string[] = [];
  if (q.bbox) {
    const [x0, y0, x1, y1] = q.bbox;
    areas.push(`ST_MakeEnvelope(${p.add(x0)}, ${p.add(y0)}, ${p.add(x1)}, ${p.add(y1)}, 2154)`);
  }
  if (q.polygon) areas.push(`ST_SetSRID(ST_GeomFromGeoJSON(${p.add(JSON.stringify(q.polygon))}), 2154)`);
  for (const area of areas) {
    const hit = (alias: string) => `(${alias}.geometry && ${area} AND ST_Intersects(${alias}.geometry, ${area}))`;
    if (q.withAttached) {
      conds.push(
        `(${hit('f')} OR (f.geometry IS NULL AND f.import_id IN (SELECT g.import_id FROM vector_features g WHERE g.version_id = f.version_id AND ${hit('g')})))`,
      );
    } else {
      conds.push(hit('f'));
    }
  }
  for (const [key, value] of Object.entries(q.filters ?? {})) {
    const col = TYPED_COLUMNS[key];
    if (col) conds.push(`f.${col} = ${p.add(value)}`);
    else conds.push(`f.attributes->>${p.add(key)} = ${p.add(value)}`);
  }
  if (q.dateInterval) {
    const [a, b] = q.dateInterval;
    if (a) conds.push(`f.date_leve >= ${p.add(a)}`);
    if (b) conds.push(`f.date_leve <= ${p.add(b)}`);
  }
  return `FROM vector_features f WHERE ${conds.length ? conds.join(' AND ') : 'true'}`;
}

function geometryExpr(q: FeatureQuery, p: Params): string {
  const srid = q.outSrid ?? 2154;
  const digits = q.decimals ?? (srid === 4326 ? 9 : 3);
  let g = 'f.geometry';
  if (q.clip) {
    const [x0, y0, x1, y1] = q.clip;
    g = `ST_ClipByBox2D(${g}, ST_MakeEnvelope(${p.add(x0)}, ${p.add(y0)}, ${p.add(x1)}, ${p.add(y1)}, 2154))`;
  }
  if (q.clipTo) g = `ST_CollectionExtract(ST_Intersection(${g}, ST_SetSRID(ST_GeomFromGeoJSON(${p.add(JSON.stringify(q.clipTo))}), 2154)), ST_Dimension(${g}) + 1)`;
  if (q.force2d) g = `ST_Force2D(${g})`;
  if (srid !== 2154) g = `ST_Transform(${g}, ${srid})`;
  if (q.latLon) g = `ST_FlipCoordinates(${g})`;
  return `ST_AsGeoJSON(${g}, ${digits}, 0)`;
}

interface FeatureDbRow {
  id: number;
  version_id: number;
  class: string;
  namespace: string;
  gml_id: string | null;
  id_objet: string | null;
  thematique: string | null;
  attributes: Record<string, PcrsValue> | string;
  geom: string | null;
  dimension: number | null;
  source_crs: string | null;
  source_line: number;
}

export async function queryFeatures(db: Queryable, q: FeatureQuery): Promise<StoredFeature[]> {
  const p = new Params();
  const geom = geometryExpr(q, p);
  const where = whereOf(q, p);
  const limit = q.limit !== undefined ? ` LIMIT ${p.add(q.limit)}` : '';
  const offset = q.offset ? ` OFFSET ${p.add(q.offset)}` : '';
  const { rows } = await db.query<FeatureDbRow>(
    `SELECT f.id, f.version_id, f.class, f.namespace, f.gml_id, f.id_objet, f.thematique, f.attributes, ${geom} AS geom,
       f.dimension, f.source_crs, f.source_line ${where} ORDER BY f.id${limit}${offset}`,
    p.values,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    versionId: Number(r.version_id),
    class: r.class,
    namespace: r.namespace,
    gmlId: r.gml_id,
    idObjet: r.id_objet,
    thematique: r.thematique,
    attributes: typeof r.attributes === 'string' ? (JSON.parse(r.attributes) as Record<string, PcrsValue>) : r.attributes,
    geometry: r.geom,
    dimension: r.dimension,
    sourceCrs: r.source_crs,
    sourceLine: r.source_line,
  }));
}

export async function countFeatures(db: Queryable, q: FeatureQuery): Promise<number> {
  const p = new Params();
  const where = whereOf(q, p);
  const { rows } = await db.query<{ n: number }>(`SELECT COUNT(*)::int AS n ${where}`, p.values);
  return rows[0]?.n ?? 0;
}

export interface ClassSummary {
  class: string;
  count: number;
  /** EPSG:2154 extent, null without geometry. */
  bbox: Bbox | null;
  minDate: string | null;
  maxDate: string | null;
}

/** Classes present in a version (or the current PCRS) with counts and extents. */
export async function classSummaries(db: Queryable, q: Pick<FeatureQuery, 'datasetId' | 'versionId'>): Promise<ClassSummary[]> {
  const p = new Params();
  const where = whereOf(q, p);
  const { rows } = await db.query<{ class: string; n: number; xmin: number | null; ymin: number | null; xmax: number | null; ymax: number | null; d0: string | null; d1: string | null }>(
    `SELECT f.class, COUNT(*)::int AS n, ST_XMin(ST_Extent(f.geometry)) AS xmin, ST_YMin(ST_Extent(f.geometry)) AS ymin,
       ST_XMax(ST_Extent(f.geometry)) AS xmax, ST_YMax(ST_Extent(f.geometry)) AS ymax, MIN(f.date_leve) AS d0, MAX(f.date_leve) AS d1
     ${where} GROUP BY f.class ORDER BY f.class`,
    p.values,
  );
  return rows.map((r) => ({
    class: r.class,
    count: r.n,
    bbox: r.xmin === null || r.ymin === null || r.xmax === null || r.ymax === null ? null : [r.xmin, r.ymin, r.xmax, r.ymax],
    minDate: r.d0,
    maxDate: r.d1,
  }));
}

/** Counts per class of one import or version (what `ogrinfo -so -al` counts). */
export async function countsByClass(db: Queryable, where: { versionId: number; importId?: number }): Promise<Record<string, number>> {
  const { rows } = await db.query<{ class: string; n: number }>(
    `SELECT class, COUNT(*)::int AS n FROM vector_features WHERE version_id = $1 AND ($2::bigint IS NULL OR import_id = $2) GROUP BY class ORDER BY class`,
    [where.versionId, where.importId ?? null],
  );
  return Object.fromEntries(rows.map((r) => [r.class, r.n]));
}

/** Property names safe to use as filters: typed ones, or attribute names (letters, digits, _). */
export function assertFilterKey(key: string): void {
  if (!TYPED_COLUMNS[key] && !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key)) {
    throw new UserError('invalid-filter', `'${key}' is not a property that can be filtered.`, { status: 400 });
  }
}
