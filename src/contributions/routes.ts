import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { MemoryLocker, Server as TusServer, type Upload } from '@tus/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessNeed, Caller } from '../context/access.js';
import type { RouteApp } from '../context/capability.js';
import { errorMessage, isUserError, UserError } from '../util/errors.js';
import { formatReportText } from '../vector/gml/report.js';
import type { ValidationReport } from '../vector/gml/report.js';
import type { BusinessReport } from '../business/service.js';
import { ContributionReview } from './review.js';
import { FlushingFileStore } from './upload-store.js';
import { DECISIONS, type ContributionService } from './service.js';
import { CONTRIBUTION_KINDS, type Contribution, type ContributionFile } from './store.js';

/**
 * /api/v1/contributions: create one for an organisation, list mine, see one with its files and
 * their reports; and `/api/v1/contributions/uploads`, the tus 1.0 endpoint (creation, HEAD for the
 * offset, PATCH to append: an upload cut off resumes where it stopped, from any browser of the same
 * user) whose finished files are hashed, stored and validated.
 */

const tags = ['contributions'];
const WRITE: AccessNeed = { signedIn: true, scope: 'contributions:write' };
export const UPLOADS = '/api/v1/contributions/uploads';
const UPLOAD_ID = /^([1-9][0-9]{0,15})-[0-9a-f-]{36}$/;

const idParams = z.strictObject({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
const createBody = z.strictObject({
  kind: z.enum(CONTRIBUTION_KINDS),
  title: z.string().trim().min(1).max(200),
  description: z.string().max(5000).optional(),
  organisation: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be an organisation slug'),
  surveyedOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD').optional(),
  producer: z.string().trim().min(1).max(200).optional(),
  /** Declarations it answers: resolved, with a link to the new version, when it is published. */
  declarations: z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)).max(50).optional(),
  /** kind vector: CNIG values for every object of its files that lacks them (a DXF carries no attributes). */
  attributeDefaults: z
    .strictObject({
      thematique: z.string().regex(/^\d{2}$/).optional(),
      qualiteCategorisation: z.string().regex(/^\d{2}$/).optional(),
      precisionPlanimetrique: z.string().regex(/^\d{3}$/).optional(),
      precisionAltimetrique: z.string().regex(/^\d{3}$/).optional(),
    })
    .optional(),
  /** kind business: the dataset the data fills (created for your organisation, or one it owns), its visibility and readers. */
  business: z
    .strictObject({
      dataset: z.string().regex(/^[a-z0-9][a-z0-9-]{2,62}$/, 'must be 3 to 63 lower-case letters, digits and hyphens'),
      title: z.string().trim().min(1).max(200),
      visibility: z.enum(['public', 'restricted']).default('restricted'),
      readers: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be an organisation slug')).max(100).default([]),
    })
    .optional(),
  /** kind raster or vector: the campaign it is a delivery of (your organisation being its contractor). */
  campaign: z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'must be a campaign slug').optional(),
});

const fileOut = (f: ContributionFile) => ({
  id: f.id,
  name: f.name,
  bytes: f.bytes,
  sha256: f.sha256,
  uploadedAt: f.uploadedAt,
  status: f.status,
  validatedAt: f.validatedAt,
  report: `/api/v1/contributions/${f.contributionId}/files/${f.id}/report`,
});
const out = (c: Contribution, files?: ContributionFile[], declarations?: number[]) => ({
  id: c.id,
  kind: c.kind,
  title: c.title,
  description: c.description,
  organisation: c.organisation,
  author: c.authorActor,
  surveyedOn: c.surveyedOn,
  producer: c.producer,
  state: c.state,
  moderatedBy: c.moderatedBy,
  moderatedAt: c.moderatedAt,
  reason: c.reason,
  version: c.versionId === null ? null : c.campaign ? `campaign-${c.campaign}` : `contribution-${c.id}`,
  campaign: c.campaign,
  business: c.business,
  attributeDefaults: c.attributeDefaults,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
  ...(files ? { files: files.map(fileOut) } : {}),
  ...(declarations ? { declarations } : {}),
});

/** tus `Upload-Metadata`: comma-separated `key base64value` pairs. */
export function parseUploadMetadata(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (header ?? '').split(',')) {
    const [key, value] = pair.trim().split(' ');
    if (key) out[key] = value ? Buffer.from(value, 'base64').toString('utf8') : '';
  }
  return out;
}

export function registerContributionRoutes(app: RouteApp, service: ContributionService, startValidation: (f: ContributionFile) => void, startPublication: (id: number) => void): { tus: TusServer; store: FlushingFileStore } {
  const { ctx } = service;
  const store = new FlushingFileStore({ directory: path.join(ctx.config.dataDir, 'uploads', 'contributions'), expirationPeriodInMilliseconds: ctx.config.contributions.uploadKeepDays * 86_400_000 });
  /** Who sent the request that finishes an upload (the tus hooks see no caller). */
  const callers = new Map<string, Caller>();
  const tus = new TusServer({
    path: UPLOADS,
    datastore: store,
    locker: new MemoryLocker(),
    relativeLocation: true,
    maxSize: ctx.config.contributions.maxFileBytes,
    // `<contribution>-<uuid>`: the contribution an upload belongs to is read from its own address.
    namingFunction: (_req, metadata) => `${Number(metadata?.['contribution'])}-${randomUUID()}`,
    onUploadFinish: async (_req, upload: Upload) => {
      const caller = callers.get(upload.id);
      const contributionId = Number(UPLOAD_ID.exec(upload.id)?.[1]);
      const name = upload.metadata?.['filename'] ?? '';
      try {
        if (!caller) throw new UserError('upload-lost', 'The upload finished without its sender: send the file again.', { status: 409 });
        const c = await service.writableFor(caller, contributionId);
        service.checkFileName(c, name);
        const file = await service.receive(caller, c, name, path.join(store.directory, upload.id), upload.id, startValidation);
        // The file itself went into the tier (moved, or copied): its upload's record goes.
        await store.remove(upload.id).catch(() => store.configstore.delete(upload.id).catch(() => undefined));
        return { status_code: 204, headers: { 'x-contribution-file': String(file.id) } };
      } catch (e) {
        await store.remove(upload.id).catch(() => undefined);
        if (!isUserError(e)) ctx.log.error({ err: errorMessage(e), upload: upload.id }, 'contribution upload: the finished file could not be stored');
        return { status_code: isUserError(e) ? e.status : 500, body: isUserError(e) ? e.message : 'The file could not be stored; send it again.' };
      }
    },
  });

  app.post(
    '/api/v1/contributions',
    { config: { access: WRITE, usage: 'contribution' }, schema: { tags, summary: 'Create a contribution (raster dalles or CNIG GML) for one of your organisations; then upload its files (tus, POST /api/v1/contributions/uploads)', body: createBody } },
    async (request, reply) => {
      const c = await service.create(request.caller, request.body);
      return reply.code(201).header('location', `/api/v1/contributions/${c.id}`).send(out(c, [], await service.store.declarations(c.id)));
    },
  );

  app.get(
    '/api/v1/contributions',
    { config: { access: WRITE }, schema: { tags, summary: 'Contributions of your organisations (moderators: all), newest first', querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) }) } },
    async (request) => ({ contributions: (await service.list(request.caller, request.query.limit)).map((c) => out(c)) }),
  );

  app.get('/api/v1/contributions/:id', { config: { access: WRITE }, schema: { tags, summary: 'A contribution, its files, their validation status', params: idParams } }, async (request) => {
    const c = await service.getFor(request.caller, request.params.id);
    return out(c, await service.store.files(c.id), await service.store.declarations(c.id));
  });

  app.post(
    '/api/v1/contributions/:id/decision',
    {
      config: { access: { roles: ['moderator', 'platform-admin'], scope: 'contributions:write' } },
      schema: {
        tags,
        summary: 'Moderators: accept a valid contribution (published as an update version, in the background), reject it, or ask for changes (a reason is required for both)',
        params: idParams,
        body: z.strictObject({
          decision: z.enum(DECISIONS),
          reason: z.string().max(2000).optional(),
          /** Accept part of it: the objects (keys `Class:idObjet` from its comparison) or the dalles (file ids) to publish. */
          selection: z
            .strictObject({
              objects: z.array(z.string().min(1).max(300)).min(1).max(100_000).optional(),
              files: z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)).min(1).max(10_000).optional(),
            })
            .optional(),
        }),
      },
    },
    async (request, reply) => {
      const c = await service.decide(request.caller, request.params.id, request.body.decision, request.body.reason, startPublication, request.body.selection);
      return reply.code(request.body.decision === 'accept' ? 202 : 200).send(out(c));
    },
  );

  const review = new ContributionReview(ctx, service);
  app.get(
    '/api/v1/contributions/:id/review',
    {
      config: { access: WRITE },
      schema: {
        tags,
        summary:
          'Before/after of a contribution: vector — the objects added, removed and changed (attributes before/after) against the current PCRS, matched by idObjet; dalles — each one’s preview and Lambert-93 extent, to swipe over the current layer',
        params: idParams,
      },
    },
    async (request) => {
      const c = await service.getFor(request.caller, request.params.id);
      if (c.kind === 'vector') return { kind: c.kind, ...(await review.vectorDiff(c)) };
      const files = await service.store.files(c.id);
      if (c.kind === 'business') return { kind: c.kind, files: files.map((f) => ({ id: f.id, name: f.name, status: f.status, layers: (f.report as { layers?: unknown[] } | null)?.layers ?? [] })) };
      return {
        kind: c.kind,
        dalles: files.map((f) => {
          const report = f.report as { bbox2154?: number[] | null; canonicalName?: string | null } | null;
          const previewable = (f.status === 'ok' || f.status === 'warning') && Array.isArray(report?.bbox2154);
          return { fileId: f.id, name: f.name, status: f.status, canonicalName: report?.canonicalName ?? null, bbox2154: report?.bbox2154 ?? null, preview: previewable ? `/api/v1/contributions/${c.id}/files/${f.id}/preview.jpg` : null };
        }),
      };
    },
  );

  app.get(
    '/api/v1/contributions/:id/files/:fileId/preview.jpg',
    {
      config: { access: WRITE },
      schema: { tags, summary: 'A JPEG preview of a contribution’s dalle (at most 2048 px, Lambert-93, its extent in the review)', params: z.strictObject({ id: idParams.shape.id, fileId: idParams.shape.id }) },
    },
    async (request, reply) => {
      const c = await service.getFor(request.caller, request.params.id);
      const f = await service.store.file(request.params.fileId);
      if (!f || f.contributionId !== c.id) throw new UserError('not-found', `There is no file ${request.params.fileId} in contribution ${c.id}.`, { status: 404 });
      const { key } = await review.rasterPreview(c, f);
      return reply.type('image/jpeg').header('cache-control', 'private, max-age=3600').send(await ctx.tiers.intermediate.get(key));
    },
  );

  app.get(
    '/api/v1/contributions/:id/files/:fileId/report',
    {
      config: { access: WRITE },
      schema: {
        tags,
        summary: 'The validation report of a file (JSON, or the text the CLI prints)',
        params: z.strictObject({ id: idParams.shape.id, fileId: idParams.shape.id }),
        querystring: z.strictObject({ format: z.enum(['json', 'text']).default('json') }),
      },
    },
    async (request, reply) => {
      const c = await service.getFor(request.caller, request.params.id);
      const f = await service.store.file(request.params.fileId);
      if (!f || f.contributionId !== c.id) throw new UserError('not-found', `There is no file ${request.params.fileId} in contribution ${c.id}.`, { status: 404 });
      if (f.status === 'pending' || f.report === null) throw new UserError('not-ready', `The file ${f.name} is still being validated.`, { status: 409 });
      if (request.query.format === 'json') return { file: f.name, status: f.status, report: f.report };
      const text = c.kind === 'vector' ? formatReportText(f.report as ValidationReport) : c.kind === 'business' ? businessReportText(f.report as BusinessReport) : rasterReportText(f.name, f.report as RasterReport);
      return reply.type('text/plain; charset=utf-8').send(text);
    },
  );

  // The tus endpoint: its own scope, no body parsing (tus reads the request stream itself).
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    // Our checks first (their refusals answered as problems by the platform's handler), then tus on the raw request.
    const handle = async (request: FastifyRequest, reply: FastifyReply, check: () => Promise<void>) => {
      await check();
      reply.hijack();
      await tus.handle(request.raw, reply.raw);
      return reply;
    };
    scope.post(UPLOADS, { config: { access: WRITE }, schema: { tags, summary: 'tus 1.0 creation: Upload-Length and Upload-Metadata `contribution` (its id) and `filename`; answers 201 with the upload’s Location' } }, (request, reply) =>
      handle(request, reply, async () => {
        const meta = parseUploadMetadata(request.headers['upload-metadata'] as string | undefined);
        const id = Number(meta['contribution']);
        if (!Number.isSafeInteger(id) || id <= 0) throw new UserError('invalid-upload', 'Upload-Metadata must name the contribution (its id) and the filename.', { status: 400 });
        const c = await service.writableFor(request.caller, id);
        service.checkFileName(c, meta['filename'] ?? '');
        const length = Number(request.headers['upload-length']);
        const max = Math.min(ctx.config.contributions.maxFileBytes, await service.remainingQuota(c));
        if (Number.isFinite(length) && length > max) {
          throw new UserError('file-too-large', `The file is ${(length / 1e9).toFixed(2)} GB: at most ${(max / 1e9).toFixed(2)} GB ${max < ctx.config.contributions.maxFileBytes ? 'remain in your organisation’s quota' : 'per file'}.`, { status: 413 });
        }
      }),
    );
    scope.route({
      method: ['HEAD', 'PATCH', 'DELETE'],
      url: `${UPLOADS}/:uploadId`,
      config: { access: WRITE },
      schema: { tags, summary: 'tus 1.0: HEAD gives the offset reached, PATCH appends from it (Upload-Offset, application/offset+octet-stream), DELETE abandons', params: z.strictObject({ uploadId: z.string().max(80) }) },
      handler: (request, reply) =>
        handle(request, reply, async () => {
          const { uploadId } = request.params as { uploadId: string };
          const m = UPLOAD_ID.exec(uploadId);
          if (!m) throw new UserError('not-found', 'There is no such upload.', { status: 404 });
          await service.writableFor(request.caller, Number(m[1]));
          if (request.method === 'PATCH') callers.set(uploadId, request.caller);
          reply.raw.on('finish', () => callers.delete(uploadId));
        }),
    });
  });
  return { tus, store };
}

interface RasterReport {
  file: string;
  status: string;
  findings: Array<{ severity: string; rule: string; message: string }>;
  canonicalName: string | null;
  sourceCrs: string | null;
}

function rasterReportText(name: string, r: RasterReport): string {
  const lines = [`Orthophoto dalle validation: ${name}`, `Result: ${r.status === 'rejected' ? 'REJECTED' : r.status.toUpperCase()}${r.canonicalName ? ` — catalogued as ${r.canonicalName}` : ''}${r.sourceCrs ? ` (${r.sourceCrs})` : ''}`];
  for (const f of r.findings) lines.push(`${f.severity.toUpperCase()} [${f.rule}] ${f.message}`);
  return `${lines.join('\n')}\n`;
}

function businessReportText(r: BusinessReport): string {
  const lines = [`Business data validation: ${r.file}`, `Result: ${r.status === 'rejected' ? 'REJECTED' : r.status.toUpperCase()}${r.format ? ` (${r.format})` : ''}`];
  for (const l of r.layers) lines.push(`  layer ${l.name}: ${l.features} object(s)${l.geometryTypes.length ? `, ${l.geometryTypes.join('/')}` : ''}${l.fields.length ? ` — ${l.fields.join(', ')}` : ''}`);
  for (const f of r.findings) lines.push(`${f.severity.toUpperCase()} [${f.rule}]${f.layer ? ` ${f.layer}:` : ''} ${f.message}`);
  return `${lines.join('\n')}\n`;
}
