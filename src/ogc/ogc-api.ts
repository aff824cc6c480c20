import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../server/app.js';
import { baseUrl } from '../server/base-url.js';
import { PACKAGE_VERSION } from '../util/package-info.js';
import { UserError } from '../util/errors.js';

/**
 * OGC API common part under /ogc: landing page, conformance, the list of collections. Each
 * capability (raster tiles, vector features) is a provider that contributes its conformance
 * classes, its collections and its own routes below /ogc/collections/{id}/…; this file only
 * assembles them, so the landing page always tells the truth about what is served.
 */
export interface OgcLink {
  href: string;
  rel: string;
  type?: string;
  title?: string;
  templated?: boolean;
  [extra: string]: unknown;
}

export interface OgcCollection {
  id: string;
  title: string;
  description?: string;
  links: OgcLink[];
  extent?: { spatial: { bbox: number[][]; crs: string }; temporal?: { interval: Array<Array<string | null>> } };
  itemType?: string;
  crs?: string[];
  storageCrs?: string;
  dataType?: 'map' | 'vector' | 'coverage';
  [extra: string]: unknown;
}

export interface OgcProvider {
  /** Conformance class URIs this provider implements. */
  conformance: string[];
  /** Its collections, with absolute links built from `base`. */
  collections(request: FastifyRequest, base: string): Promise<OgcCollection[]>;
  /** Extra links on the landing page (e.g. /ogc/tileMatrixSets). */
  landingLinks?(base: string): OgcLink[];
}

export const CORE_CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page',
  'http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json',
  'http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections',
];

export class OgcRegistry {
  private readonly providers: OgcProvider[] = [];
  register(provider: OgcProvider): void {
    this.providers.push(provider);
  }
  async collections(request: FastifyRequest, base: string): Promise<OgcCollection[]> {
    return (await Promise.all(this.providers.map((p) => p.collections(request, base)))).flat();
  }
  conformance(): string[] {
    return [...new Set([...CORE_CONFORMANCE, ...this.providers.flatMap((p) => p.conformance)])];
  }
  landingLinks(base: string): OgcLink[] {
    return this.providers.flatMap((p) => p.landingLinks?.(base) ?? []);
  }
}

export function registerOgcCommonRoutes(app: FastifyInstance, ctx: AppContext, registry: OgcRegistry): void {
  const json = 'application/json';
  app.get('/ogc', async (request) => {
    const base = `${baseUrl(request, ctx.config)}/ogc`;
    return {
      title: `PCRS — ${ctx.config.territory.name} (${ctx.config.territory.code})`,
      description: 'Plan de Corps de Rue Simplifié: orthophotographie 5 cm et levé vectoriel CNIG, en OGC API.',
      attribution: 'PCRS — Licence Ouverte / Etalab 2.0',
      version: PACKAGE_VERSION,
      links: [
        { href: base, rel: 'self', type: json, title: 'This document' },
        { href: `${base}/conformance`, rel: 'conformance', type: json, title: 'Conformance classes' },
        { href: `${base}/conformance`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/conformance', type: json, title: 'Conformance classes' },
        { href: `${base}/collections`, rel: 'data', type: json, title: 'Collections' },
        { href: `${base}/collections`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/data', type: json, title: 'Collections' },
        ...registry.landingLinks(base),
      ],
    };
  });
  app.get('/ogc/conformance', async () => ({ conformsTo: registry.conformance() }));
  app.get('/ogc/collections', async (request) => {
    const base = `${baseUrl(request, ctx.config)}/ogc`;
    return { links: [{ href: `${base}/collections`, rel: 'self', type: json }], collections: await registry.collections(request, base) };
  });
  app.get('/ogc/collections/:collectionId', async (request) => {
    const { collectionId } = request.params as { collectionId: string };
    const base = `${baseUrl(request, ctx.config)}/ogc`;
    const found = (await registry.collections(request, base)).find((c) => c.id === collectionId);
    if (!found) throw new UserError('unknown-collection', `No collection '${collectionId}'. See ${base}/collections.`, { status: 404 });
    return found;
  });
}
