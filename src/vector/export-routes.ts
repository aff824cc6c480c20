/**
 * Area exports over HTTP: `GET /api/vector/export?format=gml|geojson|gpkg|dxf&bbox=xmin,ymin,xmax,ymax[&version=V]`
 * (bbox in EPSG:2154; without version: the current PCRS), or `POST` the same as JSON with a
 * `polygon` (GeoJSON geometry in EPSG:2154) instead of the bbox. The file is built in a scratch
 * directory, streamed, then removed.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertValidBbox, type Bbox } from '../grid/bbox.js';
import type { AppContext } from '../server/app.js';
import { UserError } from '../util/errors.js';
import { EXPORT_MEDIA_TYPES, exportVector, parseExportFormat } from './export.js';
import { VECTOR_DATASET } from './ogc-features.js';

interface ExportParams {
  format?: string;
  bbox?: string | number[];
  polygon?: Record<string, unknown>;
  version?: string;
}

async function handle(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, p: ExportParams): Promise<FastifyReply> {
  const format = parseExportFormat(p.format ?? 'gml');
  let bbox: Bbox | undefined;
  if (p.bbox !== undefined) {
    const b = (typeof p.bbox === 'string' ? p.bbox.split(',') : p.bbox).map(Number);
    assertValidBbox(b, 'bbox');
    bbox = b;
  }
  if (!bbox && !p.polygon) throw new UserError('area-required', 'Give the area: bbox=xmin,ymin,xmax,ymax (EPSG:2154) or a polygon (POST).');
  await ctx.access?.checkRead(request, { datasetId: VECTOR_DATASET, ...(p.version ? { version: p.version } : {}) });
  const versionId = p.version && p.version !== 'current' ? (await ctx.catalog.getVersion(VECTOR_DATASET, p.version)).id : undefined;
  const dir = await mkdtemp(path.join(tmpdir(), 'pcrs-vexport-'));
  const file = path.join(dir, `pcrs-${p.version ?? 'current'}.${format}`);
  try {
    await exportVector(ctx.db, {
      datasetId: VECTOR_DATASET,
      ...(versionId !== undefined ? { versionId } : {}),
      ...(bbox ? { bbox } : {}),
      ...(p.polygon ? { polygon: p.polygon } : {}),
      format,
      output: file,
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const stream = createReadStream(file);
  stream.on('close', () => void rm(dir, { recursive: true, force: true }));
  return reply
    .type(EXPORT_MEDIA_TYPES[format])
    .header('Content-Disposition', `attachment; filename="${path.basename(file)}"`)
    .send(stream);
}

export function registerExportRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/api/vector/export', async (request, reply) => handle(ctx, request, reply, request.query as ExportParams));
  app.post('/api/vector/export', async (request, reply) => handle(ctx, request, reply, (request.body ?? {}) as ExportParams));
}
