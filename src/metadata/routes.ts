import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../context/app-context.js';
import type { RouteApp } from '../context/capability.js';
import { baseUrl } from '../http/base-url.js';
import { kvp } from '../http/ows.js';
import { capabilities, getRecordByIdResponse, getRecordsResponse, parseKvpRequest, parseXmlRequest, type CswRequest } from './csw.js';
import { dcatJsonLd, dcatRdfXml } from './dcat.js';
import { isoDocument } from './iso.js';
import { MetadataRecords, unknownRecord } from './records.js';
import { StacService } from './stac.js';
import { MAX_XML_REQUEST } from './xml-dom.js';

/**
 * Published metadata over HTTP, for harvesters and browsers:
 * - `/metadata` (index), `/metadata/iso/{dataset}.xml`, `/metadata/iso/{dataset}/{version}.xml`;
 * - `/csw` (CSW 2.0.2, GET KVP and POST XML);
 * - `/metadata/dcat.rdf`, `/metadata/dcat.jsonld` (DCAT-AP);
 * - `/stac`, `/stac/collections[/{id}[/items[/{item}]]]` (STAC 1.0).
 * Every answer lists only what the caller may read; anonymous answers may be cached by shared caches.
 */

const cacheFor = (request: FastifyRequest) => (request.caller.kind === 'anonymous' ? 'public, max-age=300' : 'private, max-age=60');

function send(request: FastifyRequest, reply: FastifyReply, type: string, body: string | object): FastifyReply {
  return reply.header('access-control-allow-origin', '*').header('cache-control', cacheFor(request)).header('vary', 'Authorization, apikey, Cookie').type(type).send(body);
}

const tags = ['metadata'];
const name = z.string().min(1).max(120);
const xmlFile = z.string().min(5).max(130).regex(/\.xml$/, 'must end in .xml');
/** CSW KVP parameters (documented in lower case; names are case-insensitive, read with `kvp`, so others pass through). */
const kvpValue = z.string().max(8000).optional();
const kvpQuery = z.looseObject({
  service: kvpValue,
  version: kvpValue,
  request: kvpValue,
  typeNames: kvpValue,
  outputSchema: kvpValue,
  outputFormat: kvpValue,
  resultType: kvpValue,
  elementSetName: kvpValue,
  startPosition: kvpValue,
  maxRecords: kvpValue,
  constraintLanguage: kvpValue,
  constraint: kvpValue,
  id: kvpValue,
});

export function registerMetadataRoutes(app: RouteApp, ctx: AppContext): MetadataRecords {
  const records = new MetadataRecords(ctx);
  const stac = new StacService(ctx, records);
  const config = ctx.config;

  app.get('/metadata', { config: { access: 'public' }, schema: { tags, summary: 'Metadata records the caller may read, with their ISO, CSW, DCAT and STAC addresses' } }, async (request, reply) => {
    const base = baseUrl(request, config);
    const list = await records.list(request.caller, base);
    return send(request, reply, 'application/json', {
      csw: `${base}/csw?SERVICE=CSW&REQUEST=GetCapabilities`,
      dcat: { rdfXml: `${base}/metadata/dcat.rdf`, jsonLd: `${base}/metadata/dcat.jsonld` },
      stac: `${base}/stac`,
      records: list.map((r) => ({
        id: r.id,
        level: r.level,
        dataset: r.datasetId,
        version: r.version,
        title: r.title,
        public: r.public,
        iso: `${base}/metadata/iso/${r.datasetId}${r.version ? `/${r.version}` : ''}.xml`,
        ...(r.stacCollection ? { stac: `${base}/stac/collections/${r.stacCollection}` } : {}),
      })),
    });
  });

  const iso = async (request: FastifyRequest, reply: FastifyReply, dataset: string, version: string | null) => {
    const base = baseUrl(request, config);
    const found = (await records.list(request.caller, base, { datasetId: dataset })).find((r) => r.version === version);
    if (found) return send(request, reply, 'application/xml; charset=utf-8', isoDocument(found, config));
    // A restricted record answers 401/403 as the data itself does; anything else is unknown.
    await ctx.access.checkRead(request.caller, { datasetId: dataset, ...(version ? { version } : {}) });
    throw unknownRecord(`${dataset}${version ? `/${version}` : ''}`);
  };
  app.get('/metadata/iso/:file', { config: { access: 'public' }, schema: { tags, summary: 'ISO 19139 (INSPIRE) record of a dataset (series of its versions)', params: z.object({ file: xmlFile }) } }, async (request, reply) =>
    iso(request, reply, request.params.file.slice(0, -4), null),
  );
  app.get(
    '/metadata/iso/:dataset/:file',
    { config: { access: 'public' }, schema: { tags, summary: 'ISO 19139 (INSPIRE) record of one published version', params: z.object({ dataset: name, file: xmlFile }) } },
    async (request, reply) => iso(request, reply, request.params.dataset, request.params.file.slice(0, -4)),
  );

  // ---- CSW 2.0.2 ------------------------------------------------------------------------------
  const csw = async (request: FastifyRequest, reply: FastifyReply, req: CswRequest) => {
    const base = baseUrl(request, config);
    const xml = 'application/xml; charset=utf-8';
    if (req.request === 'GetCapabilities') return send(request, reply, xml, capabilities(config, `${base}/csw`));
    const list = await records.list(request.caller, base);
    if (req.request === 'GetRecordById') return send(request, reply, xml, getRecordByIdResponse(req, list, config));
    return send(request, reply, xml, getRecordsResponse(req, list, config));
  };
  const cswOptions = { config: { access: 'public' as const, ows: 'csw' as const, usage: 'catalogue' as const } };
  app.get('/csw', { ...cswOptions, schema: { tags, summary: 'CSW 2.0.2 (KVP): GetCapabilities, GetRecords, GetRecordById', querystring: kvpQuery } }, async (request, reply) =>
    csw(request, reply, parseKvpRequest(kvp(request.query))),
  );
  // POST bodies are read as text whatever their type (GDAL posts XML as a form): their own scope.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_XML_REQUEST }, (_request, body, done) => done(null, body));
    scope.post('/csw', { ...cswOptions, schema: { tags, summary: 'CSW 2.0.2 (XML request body): GetCapabilities, GetRecords, GetRecordById', body: z.string().max(MAX_XML_REQUEST) } }, async (request, reply) =>
      csw(request, reply, parseXmlRequest(String(request.body))),
    );
  });

  // ---- DCAT-AP --------------------------------------------------------------------------------
  app.get('/metadata/dcat.rdf', { config: { access: 'public' }, schema: { tags, summary: 'DCAT-AP catalogue (RDF/XML), as data.gouv.fr harvests it' } }, async (request, reply) => {
    const base = baseUrl(request, config);
    return send(request, reply, 'application/rdf+xml; charset=utf-8', dcatRdfXml(await records.list(request.caller, base), config, base));
  });
  app.get('/metadata/dcat.jsonld', { config: { access: 'public' }, schema: { tags, summary: 'DCAT-AP catalogue (JSON-LD)' } }, async (request, reply) => {
    const base = baseUrl(request, config);
    return send(request, reply, 'application/ld+json; charset=utf-8', JSON.stringify(dcatJsonLd(await records.list(request.caller, base), config, base)));
  });

  // ---- STAC -----------------------------------------------------------------------------------
  const json = 'application/json';
  app.get('/stac', { config: { access: 'public' }, schema: { tags, summary: 'STAC root catalog' } }, async (request, reply) => {
    const base = baseUrl(request, config);
    return send(request, reply, json, await stac.root(request.caller, base));
  });
  app.get('/stac/collections', { config: { access: 'public' }, schema: { tags, summary: 'STAC collections (one per orthophoto version)' } }, async (request, reply) => {
    const base = baseUrl(request, config);
    return send(request, reply, json, await stac.collections(request.caller, base));
  });
  app.get('/stac/collections/:collection', { config: { access: 'public' }, schema: { tags, summary: 'A STAC collection', params: z.object({ collection: name }) } }, async (request, reply) => {
    const base = baseUrl(request, config);
    return send(request, reply, json, await stac.collection(request.caller, base, request.params.collection));
  });
  app.get(
    '/stac/collections/:collection/items',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'The items (dalles) of a STAC collection, paged (links rel next)',
        params: z.object({ collection: name }),
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(10_000).optional(), offset: z.coerce.number().int().min(0).default(0) }),
      },
    },
    async (request, reply) => {
      const base = baseUrl(request, config);
      const q = request.query;
      return send(request, reply, 'application/geo+json', await stac.items(request.caller, base, request.params.collection, { limit: q.limit ?? config.metadata.stacPageSize, offset: q.offset }));
    },
  );
  app.get(
    '/stac/collections/:collection/items/:item',
    { config: { access: 'public' }, schema: { tags, summary: 'A STAC item (one dalle: footprint, master asset with its SHA-256)', params: z.object({ collection: name, item: name }) } },
    async (request, reply) => {
      const base = baseUrl(request, config);
      return send(request, reply, 'application/geo+json', await stac.item(request.caller, base, request.params.collection, request.params.item));
    },
  );
  return records;
}
