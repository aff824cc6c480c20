import fastifyMultipart from '@fastify/multipart';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccessNeed } from '../context/access.js';
import type { RouteApp } from '../context/capability.js';
import { UserError } from '../util/errors.js';
import { contentDisposition } from './attachment-sniff.js';
import type { AttachmentService, UploadPart } from './attachments.js';

/**
 * /api/v1/declarations/:id/attachments: upload (multipart/form-data, one part `file`), download,
 * delete. Multipart parsing is registered in a plugin scope of its own: only these routes accept
 * multipart bodies, every other route keeps its body handling.
 *
 * Downloads are served so that no browser renders them in the platform's origin: the sniffed
 * Content-Type, `Content-Disposition: attachment` (sanitised name, RFC 6266 `filename*`),
 * `X-Content-Type-Options: nosniff` and `Content-Security-Policy: sandbox`.
 */

const tags = ['declarations'];
const WRITE: AccessNeed = { signedIn: true, scope: 'declarations:write' };
const READ: AccessNeed = { signedIn: true };

const id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const declarationParams = z.strictObject({ id });
const attachmentParams = z.strictObject({ id, attachmentId: id });

export async function registerAttachmentRoutes(parent: RouteApp, service: AttachmentService): Promise<void> {
  await parent.register(async (scope) => {
    const { maxBytes } = service.limits;
    await scope.register(fastifyMultipart, {
      // Only what an upload of one file needs; the file itself stops at maxBytes (then 413).
      limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: 1024, parts: 12, headerPairs: 50 },
      throwFileSizeLimit: true,
    });
    const app = scope.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/api/v1/declarations/:id/attachments',
      {
        config: { access: WRITE },
        schema: {
          tags,
          summary: 'Attach a file to a declaration (its author while it is open, or a moderator): multipart/form-data with one part named file',
          description: `A photo (JPEG, PNG, WebP, HEIC/HEIF), a PDF, a GML extract (root element in a GML or CNIG PCRS namespace) or a DXF, at most ${maxBytes} bytes and ${service.limits.maxPerDeclaration} attachments per declaration. The kind is told from the bytes and must agree with the file name's extension (415 otherwise); 413 when too big; nothing is stored on any refusal. Answers 201 with { id, filename, contentType, size, sha256, createdAt }.`,
          consumes: ['multipart/form-data'],
          params: declarationParams,
        },
      },
      async (request, reply) => {
        if (!request.isMultipart()) {
          throw new UserError('multipart-required', 'Send the file as multipart/form-data with one part named "file".', { status: 415 });
        }
        try {
          const created = await service.upload(request.caller, request.params.id, request.parts() as AsyncIterable<UploadPart>, { ip: request.ip });
          return await reply.code(201).header('location', `/api/v1/declarations/${request.params.id}/attachments/${created.id}`).send(created);
        } catch (e) {
          // The rest of a refused body is not read: close the connection after the answer.
          reply.header('connection', 'close');
          throw e;
        }
      },
    );

    app.get(
      '/api/v1/declarations/:id/attachments/:attachmentId',
      { config: { access: READ }, schema: { tags, summary: 'The bytes of an attachment (as a download, never rendered in the platform’s origin)', params: attachmentParams } },
      async (request, reply) => {
        const a = await service.get(request.params.id, request.params.attachmentId);
        const body = await service.open(a);
        return reply
          .header('content-type', a.contentType)
          .header('content-length', a.size)
          .header('content-disposition', contentDisposition(a.filename))
          .header('x-content-type-options', 'nosniff')
          .header('content-security-policy', "sandbox; default-src 'none'")
          .header('cache-control', 'private, no-cache')
          .header('etag', `"${a.sha256}"`)
          .send(body);
      },
    );

    app.delete(
      '/api/v1/declarations/:id/attachments/:attachmentId',
      { config: { access: WRITE }, schema: { tags, summary: 'Delete an attachment (its author while the declaration is submitted, or a moderator)', params: attachmentParams } },
      async (request, reply) => {
        await service.delete(request.caller, request.params.id, request.params.attachmentId, { ip: request.ip });
        return reply.code(204).send();
      },
    );
  });
}
