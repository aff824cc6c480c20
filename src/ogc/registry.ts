import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { PACKAGE_VERSION } from '../util/package-info.js';

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

/** Part of the OpenAPI 3.0 definition a provider contributes (paths relative to /ogc, shared parameters). */
export interface OpenApiPart {
  paths: Record<string, unknown>;
  parameters?: Record<string, unknown>;
}

export interface OgcProvider {
  /** Conformance class URIs this provider implements. */
  conformance: string[];
  /** Its operations in the API definition at /ogc/api. */
  openapi?(): OpenApiPart;
  /** Its collections, with absolute links built from `base`. */
  collections(request: FastifyRequest, base: string): Promise<OgcCollection[]>;
  /** Extra links on the landing page (e.g. /ogc/tileMatrixSets). */
  landingLinks?(base: string): OgcLink[];
}

export const CORE_CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page',
  'http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json',
  'http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30',
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
  openapiParts(): OpenApiPart[] {
    return this.providers.flatMap((p) => (p.openapi ? [p.openapi()] : []));
  }
}

/** Media type of the API definition; QGIS' OAPIF provider looks for exactly this `service-desc` type. */
export const OPENAPI_JSON = 'application/vnd.oai.openapi+json;version=3.0';

const ok = (description: string, type = 'application/json') => ({ responses: { '200': { description, content: { [type]: {} } } } });

/**
 * The API definition (OpenAPI 3.0) of everything under /ogc: the common operations here, the
 * providers' operations and shared parameters from them. Clients read it for the paging limits
 * (QGIS: `components.parameters.limit.schema.maximum`) and the queryable properties.
 */
export function openApiDocument(config: Pick<Config, 'territory'>, registry: OgcRegistry, base: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/': { get: { summary: 'Landing page', operationId: 'getLandingPage', ...ok('Links to the API definition, the conformance classes and the collections') } },
    '/api': { get: { summary: 'This API definition', operationId: 'getApi', ...ok('OpenAPI 3.0 document', OPENAPI_JSON) } },
    '/conformance': { get: { summary: 'Conformance classes', operationId: 'getConformance', ...ok('The conformance classes implemented') } },
    '/collections': { get: { summary: 'Collections', operationId: 'getCollections', ...ok('The feature and raster collections') } },
    '/collections/{collectionId}': {
      get: { summary: 'One collection', operationId: 'describeCollection', parameters: [{ $ref: '#/components/parameters/collectionId' }], ...ok('The collection'), 'x-404': 'unknown collection' },
    },
  };
  const parameters: Record<string, unknown> = {
    collectionId: { name: 'collectionId', in: 'path', required: true, description: 'Identifier of a collection', schema: { type: 'string' } },
  };
  for (const part of registry.openapiParts()) {
    Object.assign(paths, part.paths);
    Object.assign(parameters, part.parameters ?? {});
  }
  const t = config.territory;
  return {
    openapi: '3.0.3',
    info: {
      title: `PCRS — ${t.name} (${t.code})`,
      description: 'Plan de Corps de Rue Simplifié: orthophotographie 5 cm et levé vectoriel CNIG, en OGC API (Features, Tiles).',
      version: PACKAGE_VERSION,
      license: { name: 'Licence Ouverte / Etalab 2.0', url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/' },
      contact: { name: `PCRS ${t.name}` },
    },
    servers: [{ url: base }],
    paths,
    components: { parameters },
  };
}

