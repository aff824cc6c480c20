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
import type { FastifyReply, FastifyRequest } from 'fastify';
import { assertValidBbox, type Bbox } from '../../grid/bbox.js';
import { WHOLE_AREA } from '../../context/access.js';
import type { AppContext } from '../../context/app-context.js';
import type { RouteApp } from '../../context/capability.js';
import { z } from 'zod';
import { UserError } from '../../util/errors.js';
import { EXPORT_MEDIA_TYPES, exportVector, parseExportFormat } from '../export.js';
import { VECTOR_DATASET } from '../store.js';

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
  await ctx.access.checkRead(request.caller, { datasetId: VECTOR_DATASET, ...(p.version ? { version: p.version } : {}), bbox: bbox ? (bbox as unknown as [number, number, number, number]) : WHOLE_AREA });
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

const exportQuery = z.object({
  format: z.string().max(20).optional(),
  bbox: z.string().max(200).optional(),
  version: z.string().max(200).optional(),
});
const exportBody = z.object({
  format: z.string().max(20).optional(),
  bbox: z.union([z.string().max(200), z.array(z.number()).length(4)]).optional(),
  polygon: z.record(z.string(), z.unknown()).optional(),
  version: z.string().max(200).optional(),
});

export function registerExportRoutes(app: RouteApp, ctx: AppContext): void {
  const tags = ['vector'];
  const summary = 'Export the vector PCRS over an area (GML CNIG, GeoJSON, GeoPackage, DXF)';
  app.get('/api/vector/export', { config: { access: 'public', usage: 'download' }, schema: { tags, summary, querystring: exportQuery } }, async (request, reply) => handle(ctx, request, reply, request.query));
  app.post('/api/vector/export', { config: { access: 'public', usage: 'download' }, schema: { tags, summary: `${summary}; POST takes a polygon`, body: exportBody.optional() } }, async (request, reply) => handle(ctx, request, reply, request.body ?? {}));
}
