/**
 * Exports of the vector PCRS for an area (bbox or polygon, EPSG:2154) and a version (or the
 * current PCRS): CNIG GML v2.0 (our serializer, valid against the XSD), GeoJSON (EPSG:2154 with
 * a `crs` member, as GDAL reads it), GeoPackage and DXF (ogr2ogr from a GeoJSON we write: one
 * GPKG layer per class; DXF layer = class). Features are read page by page (bounded memory).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type { Queryable } from '../db/database.js';
import type { Bbox } from '../grid/bbox.js';
import { execTool } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { allowsMultiGeometry, featureMemberXml, flatten, type Geo, GML_FOOTER, GML_HEADER } from './gml-writer.js';
import type { PcrsValue } from './gml/pcrs-model.js';
import { queryFeatures, type StoredFeature } from './store.js';

export type ExportFormat = 'gml' | 'geojson' | 'gpkg' | 'dxf';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['gml', 'geojson', 'gpkg', 'dxf'];

export const EXPORT_MEDIA_TYPES: Record<ExportFormat, string> = {
  gml: 'application/gml+xml; version=3.2',
  geojson: 'application/geo+json',
  gpkg: 'application/geopackage+sqlite3',
  dxf: 'image/vnd.dxf',
};

export function parseExportFormat(text: string): ExportFormat {
  const f = text.toLowerCase() === 'json' ? 'geojson' : text.toLowerCase();
  if (!(EXPORT_FORMATS as readonly string[]).includes(f)) {
    throw new UserError('invalid-format', `Unknown export format '${text}': use ${EXPORT_FORMATS.join(', ')}.`, { exitCode: 64 });
  }
  return f as ExportFormat;
}

export interface ExportRequest {
  datasetId: string;
  versionId?: number;
  bbox?: Bbox;
  polygon?: Record<string, unknown>;
  class?: string;
  format: ExportFormat;
  output: string;
  /**
   * Cut the geometries to the area (`polygon`, or `bbox`) instead of whole objects touching it. A
   * cut that leaves several parts gives one object per part (gml:id and idObjet suffixed `.p1`, `.p2`…) where
   * the CNIG schema wants a single geometry; nothing left of the object's dimension drops it.
   */
  clip?: boolean;
}

const PAGE = 2000;

async function* pages(db: Queryable, r: ExportRequest): AsyncGenerator<StoredFeature[]> {
  let offset = 0;
  for (;;) {
    const page = await queryFeatures(db, {
      datasetId: r.datasetId,
      ...(r.versionId !== undefined ? { versionId: r.versionId } : {}),
      ...(r.bbox ? { bbox: r.bbox } : {}),
      ...(r.polygon ? { polygon: r.polygon } : {}),
      ...(r.class ? { class: r.class } : {}),
      ...(r.clip ? { clipTo: r.polygon ?? bboxPolygon(r.bbox) } : {}),
      decimals: 15,
      withAttached: true,
      limit: PAGE,
      offset,
    });
    if (page.length === 0) return;
    yield r.clip ? page.flatMap(clipParts) : page;
    offset += page.length;
    if (page.length < PAGE) return;
  }
}

const bboxPolygon = (b: Bbox | undefined): Record<string, unknown> | undefined =>
  b ? { type: 'Polygon', coordinates: [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]] } : undefined;

/** A clipped feature as the schema takes it: dropped when empty, one feature per part when its class wants a single geometry. */
function clipParts(f: StoredFeature): StoredFeature[] {
  if (f.geometry === null) return [f];
  const g = JSON.parse(f.geometry) as Geo;
  if (flatten(g).length === 0) return [];
  if (!g.type.startsWith('Multi') || allowsMultiGeometry(f.class)) return [f];
  const single = g.type.slice('Multi'.length);
  const parts = (g.coordinates as unknown[]).filter((c) => flatten({ type: single, coordinates: c }).length > 0);
  if (parts.length === 1) return [{ ...f, geometry: JSON.stringify({ type: single, coordinates: parts[0] }) }];
  const base = f.gmlId ?? `pcrs.f${f.id}`;
  // The CNIG rules want idObjet unique too: each part's is the object's, suffixed the same way.
  const idObjet = f.attributes['idObjet'];
  const partId = (i: number): PcrsValue | undefined =>
    typeof idObjet === 'string' ? `${idObjet}.p${i}` : idObjet && typeof idObjet === 'object' && !Array.isArray(idObjet) && typeof idObjet['#text'] === 'string' ? { ...idObjet, '#text': `${idObjet['#text']}.p${i}` } : idObjet;
  return parts.map((c, i) => {
    const id = partId(i + 1);
    return {
      ...f,
      gmlId: `${base}.p${i + 1}`,
      idObjet: f.idObjet === null ? null : `${f.idObjet}.p${i + 1}`,
      attributes: id === undefined ? f.attributes : { ...f.attributes, idObjet: id },
      geometry: JSON.stringify({ type: single, coordinates: c }),
    };
  });
}

async function writeStream(file: string, produce: (write: (s: string) => Promise<void>) => Promise<void>): Promise<void> {
  const out = createWriteStream(file);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await produce(write);
  out.end();
  await once(out, 'finish');
}

function geojsonFeature(f: StoredFeature, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: 'Feature',
    id: f.gmlId ?? String(f.id),
    geometry: f.geometry ? (JSON.parse(f.geometry) as unknown) : null,
    properties: { class: f.class, gmlId: f.gmlId, ...f.attributes, sourceCrs: f.sourceCrs, ...extra },
  });
}

const CRS_2154 = { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } };

async function writeGeojson(
  db: Queryable,
  r: ExportRequest,
  file: string,
  extra?: (f: StoredFeature) => Record<string, unknown>,
  geometryOnly = false,
  classes?: Set<string>,
): Promise<number> {
  let n = 0;
  await writeStream(file, async (write) => {
    await write(`{"type":"FeatureCollection","crs":${JSON.stringify(CRS_2154)},"features":[\n`);
    for await (const page of pages(db, r)) {
      for (const f of page) {
        if (geometryOnly && !f.geometry) continue;
        classes?.add(f.class);
        await write(`${n ? ',\n' : ''}${geojsonFeature(f, extra?.(f))}`);
        n++;
      }
    }
    await write('\n]}\n');
  });
  return n;
}

async function writeGml(db: Queryable, r: ExportRequest, file: string): Promise<number> {
  let n = 0;
  await writeStream(file, async (write) => {
    await write(GML_HEADER);
    for await (const page of pages(db, r)) {
      for (const f of page) {
        await write(featureMemberXml(f, `pcrs.f${f.id}`));
        n++;
      }
    }
    await write(GML_FOOTER);
  });
  return n;
}

async function ogr2ogr(args: string[]): Promise<void> {
  const res = await execTool('ogr2ogr', args, { timeoutMs: 30 * 60_000 });
  if (res.code !== 0) throw new Error(`ogr2ogr failed: ${res.stderr.trim()}`);
}

/** Writes the export to `output` (atomically: a temporary file renamed at the end). */
export async function exportVector(db: Queryable, r: ExportRequest): Promise<{ features: number }> {
  const tmp = await mkdtemp(path.join(path.dirname(path.resolve(r.output)), '.pcrs-export-'));
  try {
    const target = path.join(tmp, `out.${r.format}`);
    let features: number;
    if (r.format === 'gml') features = await writeGml(db, r, target);
    else if (r.format === 'geojson') features = await writeGeojson(db, r, target);
    else {
      const src = path.join(tmp, 'src.geojson');
      // DXF keeps one attribute, the layer (the class), and only features with a geometry.
      const classes = new Set<string>();
      features = await writeGeojson(db, r, src, r.format === 'dxf' ? (f) => ({ Layer: f.class }) : undefined, r.format === 'dxf', classes);
      if (r.format === 'gpkg') {
        // One layer per class, like the GML application schema.
        let first = true;
        for (const cls of [...classes].sort()) {
          const args = [...(first ? [] : ['-update']), '-f', 'GPKG', target, src, '-nln', cls, '-where', `class = '${cls.replace(/'/g, "''")}'`, '-a_srs', 'EPSG:2154', '-nlt', 'GEOMETRY'];
          await ogr2ogr(args);
          first = false;
        }
        if (first) await ogr2ogr(['-f', 'GPKG', target, src, '-nln', 'pcrs', '-a_srs', 'EPSG:2154']);
      } else {
        await ogr2ogr(['-f', 'DXF', target, src, '-select', 'Layer']);
      }
    }
    await rename(target, r.output);
    return { features };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
