import { z } from 'zod';
import type { AppContext } from '../context/app-context.js';
import type { RouteApp } from '../context/capability.js';
import { baseUrl, linksWithApiKey } from '../http/base-url.js';
import { UserError } from '../util/errors.js';
import { PACKAGE_VERSION } from '../util/package-info.js';
import { OPENAPI_JSON, openApiDocument, type OgcRegistry } from './registry.js';

/** OGC API common part under /ogc: landing page, API definition, conformance, collections. */
export function registerOgcCommonRoutes(app: RouteApp, ctx: AppContext, registry: OgcRegistry): void {
  const options = { config: { access: 'public' as const }, schema: { hide: true } };
  const json = 'application/json';
  app.get('/ogc', options, async (request) => {
    const base = `${baseUrl(request, ctx.config)}/ogc`;
    return linksWithApiKey({
      title: `PCRS — ${ctx.config.territory.name} (${ctx.config.territory.code})`,
      description: 'Plan de Corps de Rue Simplifié: orthophotographie 5 cm et levé vectoriel CNIG, en OGC API.',
      attribution: 'PCRS — Licence Ouverte / Etalab 2.0',
      version: PACKAGE_VERSION,
      links: [
        { href: base, rel: 'self', type: json, title: 'This document' },
        { href: `${base}/api`, rel: 'service-desc', type: OPENAPI_JSON, title: 'API definition (OpenAPI 3.0)' },
        { href: `${base}/conformance`, rel: 'conformance', type: json, title: 'Conformance classes' },
        { href: `${base}/conformance`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/conformance', type: json, title: 'Conformance classes' },
        { href: `${base}/collections`, rel: 'data', type: json, title: 'Collections' },
        { href: `${base}/collections`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/data', type: json, title: 'Collections' },
        ...registry.landingLinks(base),
      ],
    }, request, base);
  });
  app.get('/ogc/api', options, async (request, reply) => {
    const base = `${baseUrl(request, ctx.config)}/ogc`;
    return reply.type(OPENAPI_JSON).send(JSON.stringify(openApiDocument(ctx.config, registry, base)));
  });
  app.get('/ogc/conformance', options, async () => ({ conformsTo: registry.conformance() }));
  app.get('/ogc/collections', options, async (request) => {
    const base = `${baseUrl(request, ctx.config)}/ogc`;
    // Only the collections the caller may read (each provider filters); links keep the apikey parameter.
    return linksWithApiKey({ links: [{ href: `${base}/collections`, rel: 'self', type: json }], collections: await registry.collections(request, base) }, request, base);
  });
  app.get('/ogc/collections/:collectionId', { ...options, schema: { hide: true, params: z.object({ collectionId: z.string() }) } }, async (request) => {
    const { collectionId } = request.params;
    const base = `${baseUrl(request, ctx.config)}/ogc`;
    const found = (await registry.collections(request, base)).find((c) => c.id === collectionId);
    if (!found) throw new UserError('unknown-collection', `No collection '${collectionId}'. See ${base}/collections.`, { status: 404 });
    return linksWithApiKey(found, request, base);
  });
}
