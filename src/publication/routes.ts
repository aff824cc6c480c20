import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RouteApp } from '../context/capability.js';
import { LICENCE_OUVERTE } from '../licences/texts.js';
import { sendMaster } from '../raster/http/download.js';
import { UserError } from '../util/errors.js';
import { xmlEscape } from '../util/xml.js';
import { indexPage } from './html.js';
import type { PublicationService } from './service.js';

/**
 * The bulk publication tree, `/telechargement/`: plain pages and files that `wget -m -np` or any
 * HTTP mirror copies — per orthophoto version, one file per dalle (the master, from its tier),
 * `SHA256SUMS` and `LICENCE.txt`. Public by nature: restricted data is not published (404).
 */

const tags = ['publication'];
export const TREE = '/telechargement';
/** Names the tree answers for; anything else (`..`, encoded slashes, odd characters) is a 404 before any lookup. */
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const segment = z.string().min(1).max(400);
const PUBLIC_CACHE = 'public, max-age=300';

const notFound = () => new UserError('not-found', 'Nothing is published at this address.', { status: 404, hint: `The published versions are listed at ${TREE}/` });

/** A text answer with its ETag (304 when the client has it) and cache headers. */
function sendText(request: FastifyRequest, reply: FastifyReply, type: string, body: string, lastModified: Date | null): FastifyReply {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  reply.header('etag', etag).header('cache-control', PUBLIC_CACHE).type(type);
  if (lastModified) reply.header('last-modified', lastModified.toUTCString());
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.send(body);
}

const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null);
const latest = (dates: ReadonlyArray<Date | null>): Date | null => dates.reduce<Date | null>((a, b) => (b && (!a || b > a) ? b : a), null);

export function registerPublicationRoutes(app: RouteApp, service: PublicationService): void {
  const redirect = (to: string) => async (_request: FastifyRequest, reply: FastifyReply) => reply.code(301).header('location', to).send();
  const version = async (dataset: string, name: string) => {
    if (!SAFE.test(dataset) || !SAFE.test(name)) throw notFound();
    const found = await service.version(dataset, name);
    if (!found) throw notFound();
    return found;
  };

  app.get(TREE, { config: { access: 'public' }, schema: { tags, hide: true } }, redirect(`${TREE}/`));

  app.get(`${TREE}/`, { config: { access: 'public' }, schema: { tags, summary: 'Bulk download tree: the published datasets (HTML index, for wget -m and mirrors)' } }, async (request, reply) => {
    const datasets = await service.datasets();
    const rows = datasets.map(({ dataset }) => ({ href: `${dataset.id}/`, label: `${dataset.id}/ — ${dataset.title}` }));
    const intro = 'Données publiées en téléchargement libre (Licence Ouverte 2.0). Copie complète : <code>wget -m -np -nH https://…/telechargement/</code>.';
    return sendText(request, reply, 'text/html; charset=utf-8', indexPage('Téléchargement du PCRS', intro, rows, false), null);
  });

  app.get(`${TREE}/:dataset`, { config: { access: 'public' }, schema: { tags, hide: true, params: z.strictObject({ dataset: segment }) } }, async (request, reply) => {
    if (!SAFE.test(request.params.dataset)) throw notFound();
    return reply.code(301).header('location', `${TREE}/${request.params.dataset}/`).send();
  });

  app.get(`${TREE}/:dataset/`, { config: { access: 'public' }, schema: { tags, summary: 'Bulk download tree: the published versions of a dataset', params: z.strictObject({ dataset: segment }) } }, async (request, reply) => {
    const { dataset } = request.params;
    const entry = SAFE.test(dataset) ? (await service.datasets()).find((d) => d.dataset.id === dataset) : undefined;
    if (!entry) throw notFound();
    const rows = entry.versions.map((v, i) => ({ href: `${v.name}/`, label: `${v.name}/${i === 0 ? ' (la plus récente)' : ''}${v.acquisitionDate ? ` — prise de vue ${v.acquisitionDate}` : ''}` }));
    return sendText(request, reply, 'text/html; charset=utf-8', indexPage(entry.dataset.title, xmlEscape(entry.dataset.description ?? ''), rows, true), latest(entry.versions.map((v) => v.publishedAt)));
  });

  app.get(`${TREE}/:dataset/:version`, { config: { access: 'public' }, schema: { tags, hide: true, params: z.strictObject({ dataset: segment, version: segment }) } }, async (request, reply) => {
    const { dataset, version: name } = request.params;
    await version(dataset, name);
    return reply.code(301).header('location', `${TREE}/${dataset}/${name}/`).send();
  });

  app.get(
    `${TREE}/:dataset/:version/`,
    { config: { access: 'public' }, schema: { tags, summary: 'Bulk download tree: one version — its dalles (masters) with sizes and SHA-256, SHA256SUMS, LICENCE.txt', params: z.strictObject({ dataset: segment, version: segment }) } },
    async (request, reply) => {
      const { dataset, version: v } = await version(request.params.dataset, request.params.version);
      const files = await service.files(v);
      const rows = [
        { href: 'SHA256SUMS', label: 'SHA256SUMS' },
        { href: 'LICENCE.txt', label: 'LICENCE.txt' },
        ...files.map((f) => ({ href: f.filename, label: f.filename, size: f.bytes, date: day(f.verifiedAt), sha256: f.sha256 })),
      ];
      const intro = `${xmlEscape(dataset.title)}, version ${xmlEscape(v.name)}${v.acquisitionDate ? `, prise de vue ${xmlEscape(v.acquisitionDate)}` : ''} : ${files.length} dalles (fichiers originaux), ${xmlEscape(LICENCE_OUVERTE.name)}. Vérification : <code>sha256sum -c SHA256SUMS</code>.`;
      return sendText(request, reply, 'text/html; charset=utf-8', indexPage(`${dataset.title} — ${v.name}`, intro, rows, true), latest([v.publishedAt, ...files.map((f) => f.verifiedAt)]));
    },
  );

  app.get(
    `${TREE}/:dataset/:version/:file`,
    { config: { access: 'public' }, schema: { tags, summary: 'Bulk download tree: a dalle (its master, byte for byte; Range, ETag = SHA-256), SHA256SUMS or LICENCE.txt', params: z.strictObject({ dataset: segment, version: segment, file: segment }) } },
    async (request, reply) => {
      const { dataset, version: name, file } = request.params;
      const { version: v } = await version(dataset, name);
      if (!SAFE.test(file)) throw notFound();
      if (file === 'SHA256SUMS') {
        const files = await service.files(v);
        return sendText(request, reply, 'text/plain; charset=utf-8', files.map((f) => `${f.sha256}  ${f.filename}\n`).join(''), latest([v.publishedAt, ...files.map((f) => f.verifiedAt)]));
      }
      if (file === 'LICENCE.txt') return sendText(request, reply, 'text/plain; charset=utf-8', `${LICENCE_OUVERTE.text}\n`, v.publishedAt);
      const master = await service.master(dataset, name, file);
      if (!master) throw notFound();
      return sendMaster(service.ctx, request, reply, master, 'public, max-age=86400');
    },
  );
}
