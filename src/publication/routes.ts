import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RouteApp } from '../context/capability.js';
import { LICENCE_OUVERTE } from '../licences/texts.js';
import { sendFile, sendMaster } from '../raster/http/download.js';
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
/** The folder of the vector PCRS per commune. */
export const VECTOR_FOLDER = 'vecteur';
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
    const [datasets, vector] = await Promise.all([service.datasets(), service.vectorFiles()]);
    const rows = datasets.map(({ dataset }) => ({ href: `${dataset.id}/`, label: `${dataset.id}/ — ${dataset.title}` }));
    if (vector) rows.push({ href: `${VECTOR_FOLDER}/`, label: `${VECTOR_FOLDER}/ — PCRS vecteur (levé du corps de rue), un fichier GML CNIG par commune` });
    const intro = 'Données publiées en téléchargement libre (Licence Ouverte 2.0). Copie complète : <code>wget -m -np -nH https://…/telechargement/</code>.';
    return sendText(request, reply, 'text/html; charset=utf-8', indexPage('Téléchargement du PCRS', intro, rows, false), null);
  });

  // The vector PCRS per commune: static routes, found before the orthophoto's parametric ones.
  const vectorBuild = async () => {
    const found = await service.vectorFiles();
    if (!found) throw notFound();
    return found;
  };
  app.get(
    `${TREE}/${VECTOR_FOLDER}/`,
    { config: { access: 'public' }, schema: { tags, summary: 'Bulk download tree: the vector PCRS, one CNIG GML file per commune, with sizes and SHA-256, SHA256SUMS, LICENCE.txt' } },
    async (request, reply) => {
      const { files, finishedAt } = await vectorBuild();
      const rows = [
        { href: 'SHA256SUMS', label: 'SHA256SUMS' },
        { href: 'LICENCE.txt', label: 'LICENCE.txt' },
        ...files.map((f) => ({ href: f.name, label: `${f.name} (${f.features} objets)`, size: f.bytes, date: day(f.builtAt), sha256: f.sha256 })),
      ];
      const intro = `PCRS vecteur en cours (la version publiée la plus récente sur chaque zone), au format GML CNIG PCRS v2.0 : ${files.length} communes, chacune avec tous les objets qui touchent son contour (un objet en limite est dans les deux communes, avec le même idObjet). Fichiers produits le ${xmlEscape(day(finishedAt) ?? '')}, ${xmlEscape(LICENCE_OUVERTE.name)}. Vérification : <code>sha256sum -c SHA256SUMS</code>.`;
      return sendText(request, reply, 'text/html; charset=utf-8', indexPage('PCRS vecteur par commune', intro, rows, true), finishedAt);
    },
  );
  app.get(
    `${TREE}/${VECTOR_FOLDER}/:file`,
    { config: { access: 'public' }, schema: { tags, summary: 'Bulk download tree: the vector PCRS of a commune (CNIG GML; Range, ETag = SHA-256), SHA256SUMS or LICENCE.txt', params: z.strictObject({ file: segment }) } },
    async (request, reply) => {
      const { file } = request.params;
      if (!SAFE.test(file)) throw notFound();
      const { files, finishedAt, stamp } = await vectorBuild();
      if (file === 'SHA256SUMS') return sendText(request, reply, 'text/plain; charset=utf-8', files.map((f) => `${f.sha256}  ${f.name}\n`).join(''), finishedAt);
      if (file === 'LICENCE.txt') return sendText(request, reply, 'text/plain; charset=utf-8', `${LICENCE_OUVERTE.text}\n`, finishedAt);
      const found = await service.vector.file(stamp, file);
      if (!found) throw notFound();
      const store = service.ctx.tiers.intermediate;
      return sendFile(
        request,
        reply,
        {
          sha256: found.sha256,
          filename: found.name,
          contentType: 'application/gml+xml; charset=utf-8',
          bytes: found.bytes,
          lastModified: found.builtAt,
          open: async (range) => {
            // On local disk, streamed; in object storage, the whole object streamed, or the range asked.
            const local = store.localPath?.(found.location);
            if (local !== undefined) return createReadStream(local, range ? { start: range.start, end: range.end } : {});
            return range ? store.getRange(found.location, range.start, range.end - range.start + 1) : store.get(found.location);
          },
        },
        PUBLIC_CACHE,
      );
    },
  );

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
