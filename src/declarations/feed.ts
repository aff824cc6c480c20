import { requireNeed } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import type { RouteApp } from '../context/capability.js';
import { baseUrl } from '../http/base-url.js';
import { PACKAGE_VERSION } from '../util/package-info.js';
import { xmlText } from '../util/xml.js';
import { STATUS_FR } from './messages.js';
import type { DeclarationType, L93Geometry, Status } from './model.js';
import { checkPublicRead, portalLink, publicOf, type PublicDeclaration } from './public.js';
import { listFilterOf, listQuery } from './routes.js';
import type { DeclarationService } from './service.js';

/**
 * The changed-since feed as Atom 1.0 (RFC 4287): the declarations of the list's filters
 * (`updated_since` included), most recently updated first, one entry per declaration whose `id` is
 * a stable tag: URI and whose `updated` is the declaration's last change — a feed reader or another
 * program sees a status change as an updated entry. Public fields only (title, type, status,
 * dates, a GeoRSS geometry, the link to the portal's page). Every text goes through `xmlText`:
 * HTML or script in a title comes out as escaped text, never markup.
 */

export const ATOM = 'application/atom+xml; charset=utf-8';

const TYPE_FR: Record<DeclarationType, string> = {
  error: 'erreur',
  'update-request': 'demande de mise à jour',
  works: 'travaux',
  intervention: 'intervention',
};

const feedQuery = listQuery.pick({ bbox: true, 'bbox-crs': true, status: true, type: true, theme: true, updated_since: true, organisation: true, limit: true, offset: true });

/** The tag: URI authority: the public host name (tag URIs need a domain name or an e-mail address). */
function tagAuthority(base: string): string {
  return new URL(base).hostname || 'localhost';
}

/** GeoRSS Simple: "lat lon" pairs (a point, a line, a polygon's outer ring). */
function georss(g: L93Geometry): string {
  const pairs = (ps: number[][]) => ps.map((p) => `${p[1]} ${p[0]}`).join(' ');
  if (g.type === 'Point') return `<georss:point>${pairs([g.coordinates as number[]])}</georss:point>`;
  if (g.type === 'LineString') return `<georss:line>${pairs(g.coordinates as number[][])}</georss:line>`;
  return `<georss:polygon>${pairs((g.coordinates as number[][][])[0] ?? [])}</georss:polygon>`;
}

export function atomEntry(d: PublicDeclaration, base: string): string {
  const link = portalLink(base, d.id);
  const status = STATUS_FR[d.status as Status];
  const summary = `${TYPE_FR[d.type]} — statut : ${status}${d.plannedStart || d.plannedEnd ? ` — travaux prévus du ${d.plannedStart ?? '?'} au ${d.plannedEnd ?? '?'}` : ''}`;
  return [
    '<entry>',
    `<id>tag:${xmlText(tagAuthority(base))},2026:declaration:${d.id}</id>`,
    `<title type="text">${xmlText(d.title)}</title>`,
    `<updated>${d.updatedAt}</updated>`,
    `<published>${d.createdAt}</published>`,
    `<link rel="alternate" type="text/html" href="${xmlText(link)}"/>`,
    `<category scheme="${xmlText(base)}/api/v1/declarations#type" term="${d.type}" label="${xmlText(TYPE_FR[d.type])}"/>`,
    `<category scheme="${xmlText(base)}/api/v1/declarations#status" term="${d.status}" label="${xmlText(status)}"/>`,
    ...d.themes.map((t) => `<category scheme="${xmlText(base)}/api/v1/declarations#theme" term="${t}"/>`),
    `<summary type="text">${xmlText(summary)}</summary>`,
    georss(d.geometry),
    '</entry>',
  ].join('');
}

export function registerFeedRoutes(app: RouteApp, ctx: AppContext, service: DeclarationService): void {
  const config = ctx.config;
  app.get(
    '/api/v1/declarations/feed.atom',
    {
      config: { access: 'public' },
      schema: {
        tags: ['declarations'],
        summary: 'Atom 1.0 feed of the declarations changed (the list’s filters, updated_since included), most recently updated first; public fields only (signed in when declarations.publicCollection is off; organisation needs a sign-in)',
        querystring: feedQuery,
      },
    },
    async (request, reply) => {
      checkPublicRead(request, config);
      const q = request.query;
      // The author's organisation is not public: filtering by it needs a sign-in.
      if (q.organisation) requireNeed(request.caller, { signedIn: true });
      const { items, total } = await service.list(listFilterOf(q));
      const base = baseUrl(request, config);
      const self = new URL(request.url, `${base}/`);
      const page = (offset: number) => {
        const u = new URL(self);
        u.searchParams.set('offset', String(offset));
        u.searchParams.set('limit', String(q.limit));
        return u.toString();
      };
      const entries = items.map((d) => publicOf(d));
      const updated = entries[0]?.updatedAt ?? new Date().toISOString();
      const territory = `${config.territory.name} (${config.territory.code})`;
      const xml = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:georss="http://www.georss.org/georss" xml:lang="fr">',
        `<id>tag:${xmlText(tagAuthority(base))},2026:declarations</id>`,
        `<title type="text">${xmlText(`Déclarations PCRS — ${territory}`)}</title>`,
        `<subtitle type="text">${xmlText(`Erreurs, demandes de mise à jour, travaux et interventions déclarés sur le PCRS ; ${total} déclaration(s) répondent aux filtres.`)}</subtitle>`,
        `<updated>${updated}</updated>`,
        `<link rel="self" type="application/atom+xml" href="${xmlText(self.toString())}"/>`,
        `<link rel="alternate" type="text/html" href="${xmlText(`${base}/#/declarations`)}"/>`,
        ...(q.offset + items.length < total ? [`<link rel="next" type="application/atom+xml" href="${xmlText(page(q.offset + q.limit))}"/>`] : []),
        ...(q.offset > 0 ? [`<link rel="previous" type="application/atom+xml" href="${xmlText(page(Math.max(0, q.offset - q.limit)))}"/>`] : []),
        `<author><name>${xmlText(`PCRS ${territory}`)}</name></author>`,
        `<generator version="${xmlText(PACKAGE_VERSION)}">pcrs-platform</generator>`,
        ...entries.map((d) => atomEntry(d, base)),
        '</feed>\n',
      ].join('');
      return reply.type(ATOM).header('cache-control', 'no-cache').send(xml);
    },
  );
}
