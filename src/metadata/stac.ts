import type { Caller } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import { transformPoint } from '../grid/crs.js';
import { identifierPrefix, unknownRecord, type MetadataRecord, type MetadataRecords } from './records.js';
import type { DalleEntry } from './store.js';

/**
 * STAC 1.0 from the catalogue: a root catalog, one collection per published orthophoto version,
 * one item per dalle (footprint in WGS84, projection extension in Lambert-93, the delivered master
 * as the `data` asset with its SHA-256 as a `file:checksum` multihash, a WMS rendering as the
 * overview). Served as a browsable API (`/stac/…`, item pages with `next` links) or written as a
 * static catalogue with relative links (`pcrs metadata export --format stac`).
 */

export const STAC_VERSION = '1.0.0';
export const PROJ_EXTENSION = 'https://stac-extensions.github.io/projection/v1.1.0/schema.json';
export const FILE_EXTENSION = 'https://stac-extensions.github.io/file/v2.1.0/schema.json';

/** sha2-256 multihash (code 0x12, length 0x20) of a hex digest. */
export const multihash = (sha256Hex: string) => `1220${sha256Hex}`;

type Link = { rel: string; href: string; type?: string; title?: string; method?: string };

/**
 * Where documents live. API: absolute URLs under `{base}/stac`. Static: `catalog.json`,
 * `{collection}/collection.json`, `{collection}/items/{item}.json`, linked relatively.
 */
export type StacLayout = { kind: 'api'; base: string } | { kind: 'static'; base: string };

type Doc = { kind: 'root' } | { kind: 'collection'; id: string } | { kind: 'item'; collection: string; id: string } | { kind: 'items'; collection: string; offset?: number; limit?: number };

function href(layout: StacLayout, from: Doc['kind'], to: Doc): string {
  if (layout.kind === 'api') {
    const s = `${layout.base}/stac`;
    switch (to.kind) {
      case 'root':
        return s;
      case 'collection':
        return `${s}/collections/${encodeURIComponent(to.id)}`;
      case 'item':
        return `${s}/collections/${encodeURIComponent(to.collection)}/items/${encodeURIComponent(to.id)}`;
      case 'items':
        return `${s}/collections/${encodeURIComponent(to.collection)}/items${to.offset !== undefined ? `?limit=${to.limit}&offset=${to.offset}` : ''}`;
    }
  }
  const up = from === 'root' ? './' : from === 'collection' ? '../' : '../../';
  switch (to.kind) {
    case 'root':
      return `${up}catalog.json`;
    case 'collection':
      return `${up}${to.id}/collection.json`;
    case 'item':
      return `${up}${to.collection}/items/${to.id}.json`;
    case 'items':
      return `${up}${to.collection}/collection.json`;
  }
}

const round = (n: number, d: number) => Number(n.toFixed(d));
const licenceId = (r: MetadataRecord) => (r.public && /etalab|licence ouverte/i.test(`${r.licence.title} ${r.licence.url ?? ''}`) ? 'etalab-2.0' : r.public ? 'other' : 'proprietary');

export class StacService {
  constructor(
    private readonly ctx: Pick<AppContext, 'catalog' | 'access' | 'config'>,
    private readonly records: MetadataRecords,
  ) {}

  /** The orthophoto version records the caller may read (STAC collections). */
  async versionRecords(caller: Caller, base: string): Promise<MetadataRecord[]> {
    return (await this.records.list(caller, base)).filter((r) => r.stacCollection !== null);
  }

  private async find(caller: Caller, base: string, id: string): Promise<MetadataRecord> {
    const found = (await this.versionRecords(caller, base)).find((r) => r.stacCollection === id);
    if (found) return found;
    // `{dataset}-{version}`: a restricted version answers 401/403 as its data does.
    for (const d of await this.ctx.catalog.listDatasets()) {
      if (d.kind === 'orthophoto' && id.startsWith(`${d.id}-`)) await this.ctx.access.checkRead(caller, { datasetId: d.id, version: id.slice(d.id.length + 1) });
    }
    throw unknownRecord(`STAC collection ${id}`);
  }

  rootDocument(records: readonly MetadataRecord[], layout: StacLayout): Record<string, unknown> {
    const t = this.ctx.config.territory;
    const links: Link[] = [
      { rel: 'root', href: href(layout, 'root', { kind: 'root' }), type: 'application/json' },
      ...(layout.kind === 'api'
        ? [
            { rel: 'self', href: href(layout, 'root', { kind: 'root' }), type: 'application/json' },
            { rel: 'data', href: `${layout.base}/stac/collections`, type: 'application/json' },
          ]
        : []),
      ...records.map((r) => ({ rel: 'child', href: href(layout, 'root', { kind: 'collection', id: r.stacCollection as string }), type: 'application/json', title: r.title })),
    ];
    return {
      type: 'Catalog',
      stac_version: STAC_VERSION,
      id: identifierPrefix(this.ctx.config),
      title: `PCRS ${t.name} (${t.code}) — orthophotographie 5 cm`,
      description: 'Dalles de l’orthophotographie du Plan de Corps de Rue Simplifié : une collection par version (millésime ou mise à jour), un item par dalle livrée, avec son original et son empreinte SHA-256.',
      links,
    };
  }

  collectionDocument(r: MetadataRecord, layout: StacLayout): Record<string, unknown> {
    const id = r.stacCollection as string;
    const c = this.ctx.config.metadata.contact;
    const base = layout.base;
    const links: Link[] = [
      { rel: 'root', href: href(layout, 'collection', { kind: 'root' }), type: 'application/json' },
      { rel: 'parent', href: href(layout, 'collection', { kind: 'root' }), type: 'application/json' },
      ...(layout.kind === 'api'
        ? [
            { rel: 'self', href: href(layout, 'collection', { kind: 'collection', id }), type: 'application/json' },
            { rel: 'items', href: href(layout, 'collection', { kind: 'items', collection: id }), type: 'application/geo+json' },
          ]
        : []),
      ...(r.licence.url ? [{ rel: 'license', href: r.licence.url, title: r.licence.title }] : []),
      { rel: 'describedby', href: `${base}/metadata/iso/${r.datasetId}/${r.version}.xml`, type: 'application/xml', title: 'Fiche ISO 19139 (INSPIRE)' },
    ];
    return {
      type: 'Collection',
      stac_version: STAC_VERSION,
      stac_extensions: [PROJ_EXTENSION],
      id,
      title: r.title,
      description: r.abstract,
      keywords: r.keywords,
      license: licenceId(r),
      providers: [{ name: c.organisation, roles: ['licensor', 'host'], ...(c.url ? { url: c.url } : {}) }],
      extent: {
        spatial: { bbox: [r.bboxWgs84 ?? [-180, -90, 180, 90]] },
        temporal: { interval: [[r.temporal.start ? `${r.temporal.start}T00:00:00Z` : null, r.temporal.end ? `${r.temporal.end}T23:59:59Z` : null]] },
      },
      summaries: { gsd: [0.05], 'proj:epsg': [2154], platform: ['avion'] },
      'pcrs:version': r.version,
      'pcrs:dalles': r.dalleCount,
      links,
    };
  }

  itemDocument(r: MetadataRecord, d: DalleEntry, layout: StacLayout): Record<string, unknown> {
    const collection = r.stacCollection as string;
    const base = layout.base;
    const ring = d.ring.map(([x, y]) => transformPoint('EPSG:2154', 'OGC:CRS84', [x, y]).map((n) => round(n, 7)) as [number, number]);
    const lons = ring.map((p) => p[0]);
    const lats = ring.map((p) => p[1]);
    const [xmin, ymin, xmax, ymax] = d.bbox;
    const date = d.acquisitionDate ?? r.temporal.start ?? r.dates.creation;
    const cols = Math.round((xmax - xmin) / 0.05);
    const rows = Math.round((ymax - ymin) / 0.05);
    const assets: Record<string, unknown> = {};
    if (d.master) {
      const jp2 = /\.jp2$/i.test(d.master.location);
      assets.master = {
        href: `${base}/api/datasets/${r.datasetId}/versions/${r.version}/dalles/${encodeURIComponent(d.name)}/download`,
        type: jp2 ? 'image/jp2' : 'image/tiff; application=geotiff',
        title: 'Dalle livrée (original, octet pour octet)',
        roles: ['data'],
        'file:checksum': multihash(d.master.sha256),
        'file:size': d.master.bytes,
      };
    }
    assets.overview = {
      href: `${base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=PCRS.ORTHO.${encodeURIComponent(r.version as string)}&STYLES=&CRS=EPSG:2154&BBOX=${xmin},${ymin},${xmax},${ymax}&WIDTH=1024&HEIGHT=1024&FORMAT=image/jpeg`,
      type: 'image/jpeg',
      title: 'Rendu compressé (WMS, JPEG 1024 px)',
      roles: ['overview', 'visual'],
    };
    return {
      type: 'Feature',
      stac_version: STAC_VERSION,
      stac_extensions: [PROJ_EXTENSION, FILE_EXTENSION],
      id: d.name,
      collection,
      geometry: { type: 'Polygon', coordinates: [ring] },
      bbox: [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)],
      properties: {
        datetime: `${date ?? r.metadataDate}T00:00:00Z`,
        gsd: 0.05,
        'proj:epsg': 2154,
        'proj:bbox': [xmin, ymin, xmax, ymax],
        'proj:shape': [rows, cols],
        'proj:transform': [0.05, 0, xmin, 0, -0.05, ymax, 0, 0, 1],
        'pcrs:size_m': d.sizeM,
        'pcrs:source_crs': d.sourceCrs,
      },
      links: [
        { rel: 'root', href: href(layout, 'item', { kind: 'root' }), type: 'application/json' },
        { rel: 'parent', href: href(layout, 'item', { kind: 'collection', id: collection }), type: 'application/json' },
        { rel: 'collection', href: href(layout, 'item', { kind: 'collection', id: collection }), type: 'application/json' },
        ...(layout.kind === 'api' ? [{ rel: 'self', href: href(layout, 'item', { kind: 'item', collection, id: d.name }), type: 'application/geo+json' }] : []),
      ],
      assets,
    };
  }

  private async versionId(r: MetadataRecord): Promise<number> {
    return (await this.ctx.catalog.getVersion(r.datasetId, r.version as string)).id;
  }

  // ---- the API ----------------------------------------------------------------------------

  async root(caller: Caller, base: string) {
    return this.rootDocument(await this.versionRecords(caller, base), { kind: 'api', base });
  }

  async collections(caller: Caller, base: string) {
    const layout: StacLayout = { kind: 'api', base };
    return {
      collections: (await this.versionRecords(caller, base)).map((r) => this.collectionDocument(r, layout)),
      links: [
        { rel: 'root', href: `${base}/stac`, type: 'application/json' },
        { rel: 'self', href: `${base}/stac/collections`, type: 'application/json' },
      ],
    };
  }

  async collection(caller: Caller, base: string, id: string) {
    return this.collectionDocument(await this.find(caller, base, id), { kind: 'api', base });
  }

  async items(caller: Caller, base: string, id: string, page: { limit: number; offset: number }) {
    const r = await this.find(caller, base, id);
    const layout: StacLayout = { kind: 'api', base };
    const { dalles, total } = await this.records.dalles(await this.versionId(r), page);
    const links: Link[] = [
      { rel: 'root', href: `${base}/stac`, type: 'application/json' },
      { rel: 'collection', href: href(layout, 'collection', { kind: 'collection', id }), type: 'application/json' },
      { rel: 'self', href: href(layout, 'collection', { kind: 'items', collection: id, offset: page.offset, limit: page.limit }), type: 'application/geo+json' },
    ];
    if (page.offset + dalles.length < total) links.push({ rel: 'next', href: href(layout, 'collection', { kind: 'items', collection: id, offset: page.offset + page.limit, limit: page.limit }), type: 'application/geo+json', method: 'GET' });
    if (page.offset > 0) links.push({ rel: 'prev', href: href(layout, 'collection', { kind: 'items', collection: id, offset: Math.max(0, page.offset - page.limit), limit: page.limit }), type: 'application/geo+json', method: 'GET' });
    return { type: 'FeatureCollection', features: dalles.map((d) => this.itemDocument(r, d, layout)), numberMatched: total, numberReturned: dalles.length, links };
  }

  async item(caller: Caller, base: string, id: string, name: string) {
    const r = await this.find(caller, base, id);
    const { dalles } = await this.records.dalles(await this.versionId(r), { limit: 1, offset: 0, name });
    const d = dalles[0];
    if (!d) throw unknownRecord(`STAC item ${name} in ${id}`);
    return this.itemDocument(r, d, { kind: 'api', base });
  }

  /** Every dalle of a version, page by page (static export). */
  async *allDalles(r: MetadataRecord, pageSize = 1000): AsyncGenerator<DalleEntry> {
    const versionId = await this.versionId(r);
    for (let offset = 0; ; offset += pageSize) {
      const { dalles } = await this.records.dalles(versionId, { limit: pageSize, offset });
      yield* dalles;
      if (dalles.length < pageSize) return;
    }
  }
}
