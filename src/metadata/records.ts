import { ANONYMOUS, type Caller } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import type { Dataset, DatasetKind, Version } from '../catalog/catalog.js';
import type { Bbox } from '../grid/bbox.js';
import { transformBbox } from '../grid/crs.js';
import { UserError } from '../util/errors.js';
import { MetadataStore, type VersionFacts } from './store.js';

/**
 * The metadata records of the platform, built from the catalogue (never typed twice) and the
 * `metadata` configuration, for one caller: a record per dataset (a series: all its published
 * versions) and one per published version. ISO 19139, CSW, DCAT-AP and STAC are views of these.
 * Only what the caller may read is listed (the access policy decides, as for the streams).
 */

export const INSPIRE_THEMES = {
  oi: { fr: 'Ortho-imagerie', en: 'Orthoimagery' },
  tn: { fr: 'Réseaux de transport', en: 'Transport networks' },
  bu: { fr: 'Bâtiments', en: 'Buildings' },
  us: { fr: "Services d'utilité publique et services publics", en: 'Utility and governmental services' },
  lc: { fr: 'Occupation des terres', en: 'Land cover' },
  el: { fr: 'Altitude', en: 'Elevation' },
  au: { fr: 'Unités administratives', en: 'Administrative units' },
} as const;
export type InspireThemeCode = keyof typeof INSPIRE_THEMES;
export const inspireThemeUri = (code: InspireThemeCode) => `http://inspire.ec.europa.eu/theme/${code}`;

/** ISO 19115 topic categories per dataset kind. */
const TOPICS: Record<DatasetKind, string[]> = {
  orthophoto: ['imageryBaseMapsEarthCover'],
  vector: ['transportation', 'structure'],
  'raw-at': ['imageryBaseMapsEarthCover'],
  business: ['utilitiesCommunication'],
};

const KIND_KEYWORDS: Record<DatasetKind, string[]> = {
  orthophoto: ['orthophotographie', 'orthoimage', 'image aérienne', '5 cm'],
  vector: ['levé topographique', 'corps de rue', 'CNIG PCRS v2.0', 'GML'],
  'raw-at': ['aérotriangulation', 'images brutes', 'archive'],
  business: ['réseaux'],
};

/** A distribution: a stream, a download or an index. */
export interface MetadataLink {
  url: string;
  /** Protocol as catalogues know it: OGC:WMTS, OGC:WMS, OGC:WFS, OGC API - Tiles, OGC API - Features, WWW:DOWNLOAD-1.0-http--download, WWW:LINK. */
  protocol: string;
  /** Layer or collection name, for streams. */
  name: string;
  description: string;
  function: 'download' | 'information' | 'browsing';
  mediaType: string;
  /** Format as a human name (ISO distributionFormat, DCAT dct:format). */
  format: string;
}

export interface MetadataRecord {
  /** The fileIdentifier: `{prefix}.{dataset}[.{version}]`, stable. */
  id: string;
  level: 'series' | 'dataset';
  datasetId: string;
  kind: DatasetKind;
  /** Version name (null for a dataset's series record). */
  version: string | null;
  versionKind: 'full' | 'update' | null;
  /** The series record of a version's dataset. */
  parentId: string | null;
  /** Version records of a series (those the caller may read). */
  childIds: string[];
  /** INSPIRE unique resource identifier. */
  resourceCode: string;
  resourceCodeSpace: string;
  title: string;
  abstract: string;
  keywords: string[];
  /** The territory, as a place keyword. */
  place: string;
  themes: InspireThemeCode[];
  topics: string[];
  bbox2154: Bbox | null;
  /** [west, south, east, north] in WGS84 degrees. */
  bboxWgs84: Bbox | null;
  temporal: { start: string | null; end: string | null };
  dates: { creation: string | null; publication: string | null; revision: string | null };
  /** Date of the metadata (ISO dateStamp): the latest change of what it describes. */
  metadataDate: string;
  lineage: string;
  resolutionM: number | null;
  crs: 'EPSG:2154';
  /** Open data (anyone may read it), else restricted to permission holders. */
  public: boolean;
  licence: { title: string; url?: string };
  links: MetadataLink[];
  dalleCount: number;
  masterBytes: number;
  /** STAC collection of an orthophoto version. */
  stacCollection: string | null;
}

export type Config = AppContext['config'];

export function identifierPrefix(config: Config): string {
  return config.metadata.identifierPrefix ?? `pcrs-${config.territory.code}`;
}

export function recordId(config: Config, datasetId: string, version?: string | null): string {
  return `${identifierPrefix(config)}.${datasetId}${version ? `.${version}` : ''}`;
}

export const stacCollectionId = (datasetId: string, version: string) => `${datasetId}-${version}`;

const day = (d: Date | null | undefined): string | null => (d ? d.toISOString().slice(0, 10) : null);
const maxDate = (...ds: Array<string | null | undefined>): string | null => ds.filter((d): d is string => !!d).sort().pop() ?? null;
const minDate = (...ds: Array<string | null | undefined>): string | null => ds.filter((d): d is string => !!d).sort()[0] ?? null;
const union = (bs: Array<Bbox | null>): Bbox | null => {
  const all = bs.filter((b): b is Bbox => b !== null);
  if (all.length === 0) return null;
  return [Math.min(...all.map((b) => b[0])), Math.min(...all.map((b) => b[1])), Math.max(...all.map((b) => b[2])), Math.max(...all.map((b) => b[3]))];
};
const round = (b: Bbox, digits: number): Bbox => b.map((n) => Number(n.toFixed(digits))) as unknown as Bbox;
const gb = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toLocaleString('fr-FR', { maximumFractionDigits: 2 })} Go` : `${(bytes / 1e6).toLocaleString('fr-FR', { maximumFractionDigits: 2 })} Mo`);
const km2 = (b: Bbox | null) => (b ? ((b[2] - b[0]) * (b[3] - b[1])) / 1e6 : 0);

export function wgs84(bbox: Bbox | null): Bbox | null {
  return bbox ? round(transformBbox('EPSG:2154', 'OGC:CRS84', bbox), 6) : null;
}

/** Layer name of an orthophoto version in the streams (raster/serving/layers.ts). */
const orthoLayer = (version?: string) => (version ? `PCRS.ORTHO.${version}` : 'PCRS.ORTHO');

/** The bulk publication tree (src/publication) of a dataset or of one version: only what anyone may read is published there. */
const treeLink = (base: string, datasetId: string, version: string | null): MetadataLink => ({
  url: `${base}/telechargement/${datasetId}/${version === null ? '' : `${version}/`}`,
  protocol: 'WWW:DOWNLOAD-1.0-http--download',
  name: version === null ? 'telechargement' : `telechargement-${version}`,
  description: version === null ? 'Téléchargement en masse : un dossier par version, un fichier par dalle (originaux), SHA256SUMS (wget -m)' : `Téléchargement en masse de la version ${version} : un fichier par dalle (originaux), SHA256SUMS (wget -m)`,
  function: 'download',
  mediaType: 'text/html',
  format: 'GeoTIFF',
});

function orthoLinks(base: string, datasetId: string, version: string | null, currentReadable: boolean, published = false): MetadataLink[] {
  if (version === null && !currentReadable) return [{ url: `${base}/stac`, protocol: 'WWW:LINK', name: 'STAC', description: 'Catalogue STAC des dalles (une collection par version)', function: 'information', mediaType: 'application/json', format: 'STAC' }];
  const layer = orthoLayer(version ?? undefined);
  const links: MetadataLink[] = [
    { url: `${base}/wmts/1.0.0/WMTSCapabilities.xml`, protocol: 'OGC:WMTS', name: layer, description: `Flux WMTS 1.0.0 (2154_5cm, PM) — couche ${layer}`, function: 'browsing', mediaType: 'application/xml', format: 'image/jpeg' },
    { url: `${base}/wms?SERVICE=WMS&REQUEST=GetCapabilities`, protocol: 'OGC:WMS', name: layer, description: `Flux WMS 1.3.0 — couche ${layer}`, function: 'browsing', mediaType: 'application/xml', format: 'image/jpeg' },
    { url: `${base}/ogc/collections/${layer}`, protocol: 'OGC API - Tiles', name: layer, description: `OGC API – Tiles — collection ${layer}`, function: 'browsing', mediaType: 'application/json', format: 'image/jpeg' },
  ];
  if (published) links.push(treeLink(base, datasetId, version));
  if (version !== null) {
    links.push(
      { url: `${base}/api/datasets/${datasetId}/versions/${version}/dalles?limit=10000`, protocol: 'WWW:DOWNLOAD-1.0-http--download', name: `dalles-${version}`, description: `Index des dalles de la version ${version} (GeoJSON, Lambert-93) ; chaque dalle se télécharge à /api/datasets/${datasetId}/versions/${version}/dalles/{nom}/download`, function: 'download', mediaType: 'application/geo+json', format: 'GeoJSON' },
      { url: `${base}/stac/collections/${stacCollectionId(datasetId, version)}`, protocol: 'WWW:LINK', name: `stac-${version}`, description: `Collection STAC de la version ${version} : une entrée par dalle, originaux et empreintes SHA-256`, function: 'download', mediaType: 'application/json', format: 'STAC' },
    );
  } else {
    links.push({ url: `${base}/stac`, protocol: 'WWW:LINK', name: 'STAC', description: 'Catalogue STAC des dalles (une collection par version)', function: 'information', mediaType: 'application/json', format: 'STAC' });
  }
  return links;
}

function vectorLinks(base: string, version: string | null, bbox: Bbox | null, currentReadable: boolean, published = false): MetadataLink[] {
  if (version === null) {
    if (!currentReadable) return [];
    return [
      { url: `${base}/wfs?SERVICE=WFS&REQUEST=GetCapabilities`, protocol: 'OGC:WFS', name: 'pcrs', description: 'Service WFS 2.0.0 du PCRS vecteur actuel (une classe CNIG par type d’objet)', function: 'download', mediaType: 'application/xml', format: 'GML 3.2' },
      { url: `${base}/ogc/collections`, protocol: 'OGC API - Features', name: 'pcrs', description: 'OGC API – Features du PCRS vecteur actuel', function: 'download', mediaType: 'application/json', format: 'GeoJSON' },
      // The bulk tree (src/publication) publishes open data only.
      ...(published
        ? [{ url: `${base}/telechargement/vecteur/`, protocol: 'WWW:DOWNLOAD-1.0-http--download', name: 'telechargement', description: 'Téléchargement en masse du PCRS vecteur actuel : un fichier GML CNIG par commune, SHA256SUMS (wget -m)', function: 'download' as const, mediaType: 'text/html', format: 'GML CNIG PCRS v2.0' }]
        : []),
    ];
  }
  if (!bbox) return [];
  const b = bbox.map((n) => Math.round(n)).join(',');
  const exp = (format: string, mediaType: string, label: string): MetadataLink => ({
    url: `${base}/api/vector/export?format=${format}&version=${encodeURIComponent(version)}&bbox=${b}`,
    protocol: 'WWW:DOWNLOAD-1.0-http--download',
    name: `${version}.${format}`,
    description: `Export de la version ${version} en ${label} (Lambert-93)`,
    function: 'download',
    mediaType,
    format: label,
  });
  return [exp('gml', 'application/gml+xml', 'GML CNIG PCRS v2.0'), exp('gpkg', 'application/geopackage+sqlite3', 'GeoPackage')];
}

function lineageOf(d: Dataset, v: Version, f: VersionFacts, territory: string): string {
  const parts: string[] = [];
  const what = v.kind === 'update' ? `Mise à jour ${v.name}` : `Millésime ${v.name}`;
  if (d.kind === 'vector') {
    const files = f.vectorImports;
    const features = files.reduce((s, i) => s + i.features, 0);
    const crs = [...new Set(files.flatMap((i) => i.sourceCrs))].sort();
    parts.push(`${what} du levé vectoriel PCRS (${territory}) au standard CNIG PCRS v2.0 (GML 3.2.1).`);
    if (files.length) {
      parts.push(
        `${files.length} fichier(s) GML importé(s) (${files.map((i) => `${i.fileName} le ${day(i.importedAt)}`).join(' ; ')}), ${features} objet(s), chacun validé contre le schéma XSD CNIG et les règles du standard avant import${crs.length ? ` ; systèmes de coordonnées source : ${crs.join(', ')}, stockés en Lambert-93 (EPSG:2154)` : ''}.`,
      );
    }
  } else {
    const sizes = f.dalleSizes.map((s) => (s === 1000 ? '1 km' : `${s} m`)).join(' et ');
    parts.push(`${what} de l’orthophotographie PCRS (${territory}), pixel de 5 cm${v.acquisitionDate ? `, prise de vue du ${v.acquisitionDate}` : ''}.`);
    if (f.dalleCount) {
      parts.push(
        `Livraison de ${f.dalleCount} dalle(s)${sizes ? ` de ${sizes}` : ''} (${f.masters.formats.map((e) => (e === 'jp2' ? 'JPEG 2000' : 'GeoTIFF')).filter((x, i, a) => a.indexOf(x) === i).join(', ') || 'GeoTIFF'}) en ${f.sourceCrs.join(', ')}, ` +
          `contrôlées à l’intégration (géoréférencement, grille, résolution 5 cm, bandes RVB, nommage IGN, décodage complet).`,
      );
    }
    for (const i of f.ingests) parts.push(`Intégration du ${day(i.finishedAt)} : ${i.files} fichier(s), ${i.ok + i.warning} accepté(s)${i.warning ? ` dont ${i.warning} avec avertissement` : ''}, ${i.rejected} refusé(s).`);
    if (f.masters.count) {
      parts.push(
        `${f.masters.count} original(aux) conservé(s) octet pour octet (${gb(f.masters.bytes)}) avec leur empreinte SHA-256, vérifiée à l’écriture${f.masters.firstStored ? ` (du ${day(f.masters.firstStored)} au ${day(f.masters.lastStored)})` : ''} ; ` +
          'pyramide de tuiles 2154_5cm (JPEG) recalculée depuis les originaux pour la diffusion.',
      );
    }
  }
  if (v.campaign) parts.push(`Campagne : ${v.campaign}.`);
  if (v.publishedAt) parts.push(`Publiée le ${day(v.publishedAt)}.`);
  return parts.join(' ');
}

export const unknownRecord = (what: string) =>
  new UserError('unknown-record', `No published metadata for ${what}.`, { status: 404, hint: 'List the records: GET /metadata (or the CSW: GET /csw?SERVICE=CSW&REQUEST=GetCapabilities).' });

/** The records of the platform, for one caller. */
export class MetadataRecords {
  private readonly store: MetadataStore;

  constructor(private readonly ctx: Pick<AppContext, 'catalog' | 'access' | 'config' | 'db'>) {
    this.store = new MetadataStore(ctx.db);
  }

  get config(): Config {
    return this.ctx.config;
  }

  /** Stable whatever host a request used: configured, else the public URL, else a URN of the territory. */
  private codeSpace(): string {
    return this.config.metadata.codeSpace ?? (this.config.publicUrl ? `${this.config.publicUrl.replace(/\/+$/, '')}/` : `urn:pcrs:${this.config.territory.code}:`);
  }

  private licence(isPublic: boolean, d: Dataset): { title: string; url?: string } {
    const m = this.config.metadata;
    if (isPublic) return { title: m.openLicence.title, url: m.openLicence.url };
    return { title: d.licence && !/licence ouverte/i.test(d.licence) ? d.licence : m.restrictedLicence.title, ...(m.restrictedLicence.url ? { url: m.restrictedLicence.url } : {}) };
  }

  /**
   * Every record the caller may read: per dataset with at least one published version the caller
   * may read, its series record then one record per such version (highest priority first).
   */
  async list(caller: Caller, base: string, only?: { datasetId: string }): Promise<MetadataRecord[]> {
    const { catalog, access, config } = this.ctx;
    const out: MetadataRecord[] = [];
    const t = config.territory;
    const territory = `${t.name} (${t.code})`;
    for (const d of await catalog.listDatasets()) {
      if (only && d.id !== only.datasetId) continue;
      const readable: Version[] = [];
      for (const v of await catalog.publishedVersions(d.id)) if (await access.canRead(caller, { datasetId: d.id, version: v.name })) readable.push(v);
      if (readable.length === 0) continue;
      const facts = await this.store.versionFacts(d.id, readable);
      const currentReadable = await access.canRead(caller, { datasetId: d.id });
      const themes = (config.metadata.inspireThemes[d.kind] ?? []) as InspireThemeCode[];
      const seriesId = recordId(config, d.id);
      const codeSpace = this.codeSpace();
      const keywordsOf = (isPublic: boolean) => ['PCRS', 'Plan de Corps de Rue Simplifié', ...KIND_KEYWORDS[d.kind], t.name, `département ${t.code}`, 'DT-DICT', ...(isPublic ? ['données ouvertes'] : [])];
      const versions: MetadataRecord[] = [];
      for (const v of readable) {
        const f = facts.get(v.id) as VersionFacts;
        const isPublic = await access.canRead(ANONYMOUS, { datasetId: d.id, version: v.name });
        const lastChange = maxDate(day(v.publishedAt), day(f.masters.lastStored), ...f.vectorImports.map((i) => day(i.importedAt)), ...f.ingests.map((i) => day(i.finishedAt)));
        const what = v.kind === 'update' ? `mise à jour ${v.name}` : `millésime ${v.name}`;
        const cover = d.kind === 'vector' ? `${f.vectorImports.reduce((s, i) => s + i.features, 0)} objets levés` : `${f.dalleCount} dalle(s), environ ${km2(f.bbox).toLocaleString('fr-FR', { maximumFractionDigits: 2 })} km² d’emprise`;
        versions.push({
          id: recordId(config, d.id, v.name),
          level: 'dataset',
          datasetId: d.id,
          kind: d.kind,
          version: v.name,
          versionKind: v.kind,
          parentId: seriesId,
          childIds: [],
          resourceCode: `${d.id}/${v.name}`,
          resourceCodeSpace: codeSpace,
          title: `${d.title} — ${territory} — ${what}`,
          abstract: [d.description ?? d.title, `Territoire : ${territory}.`, `Version ${v.name} (${v.kind === 'update' ? 'mise à jour partielle, prioritaire sur les versions antérieures là où elle a des données' : 'millésime'}) : ${cover}.`, v.description ?? '']
            .filter(Boolean)
            .join(' '),
          keywords: keywordsOf(isPublic),
          place: territory,
          themes,
          topics: TOPICS[d.kind],
          bbox2154: f.bbox,
          bboxWgs84: wgs84(f.bbox),
          temporal: { start: f.firstAcquisition ?? v.acquisitionDate, end: f.lastAcquisition ?? v.acquisitionDate },
          dates: { creation: v.acquisitionDate ?? day(v.createdAt), publication: day(v.publishedAt), revision: lastChange !== day(v.publishedAt) ? lastChange : null },
          metadataDate: lastChange ?? (day(v.createdAt) as string),
          lineage: lineageOf(d, v, f, territory),
          resolutionM: d.kind === 'orthophoto' || d.kind === 'raw-at' ? 0.05 : null,
          crs: 'EPSG:2154',
          public: isPublic,
          licence: this.licence(isPublic, d),
          links: d.kind === 'orthophoto' ? orthoLinks(base, d.id, v.name, true, isPublic) : d.kind === 'vector' ? vectorLinks(base, v.name, f.bbox, true) : [],
          dalleCount: f.dalleCount,
          masterBytes: f.masters.bytes,
          stacCollection: d.kind === 'orthophoto' ? stacCollectionId(d.id, v.name) : null,
        });
      }
      const isPublic = versions.every((r) => r.public);
      const bbox = union(versions.map((r) => r.bbox2154));
      out.push({
        id: seriesId,
        level: 'series',
        datasetId: d.id,
        kind: d.kind,
        version: null,
        versionKind: null,
        parentId: null,
        childIds: versions.map((r) => r.id),
        resourceCode: d.id,
        resourceCodeSpace: codeSpace,
        title: `${d.title} — ${territory}`,
        abstract: [
          d.description ?? d.title,
          `Territoire : ${territory}.`,
          `Série de ${versions.length} version(s) publiée(s) : ${versions.map((r) => r.version).join(', ')} ; la plus récente l’emporte là où elle a des données (PCRS actuel).`,
        ].join(' '),
        keywords: keywordsOf(isPublic),
        place: territory,
        themes,
        topics: TOPICS[d.kind],
        bbox2154: bbox,
        bboxWgs84: wgs84(bbox),
        temporal: { start: minDate(...versions.map((r) => r.temporal.start)), end: maxDate(...versions.map((r) => r.temporal.end)) },
        dates: {
          creation: minDate(...versions.map((r) => r.dates.creation)),
          publication: minDate(...versions.map((r) => r.dates.publication)),
          revision: maxDate(...versions.map((r) => r.dates.revision ?? r.dates.publication)),
        },
        metadataDate: maxDate(...versions.map((r) => r.metadataDate)) as string,
        lineage: versions.map((r) => r.lineage).join('\n'),
        resolutionM: versions[0]?.resolutionM ?? null,
        crs: 'EPSG:2154',
        public: isPublic,
        licence: this.licence(isPublic, d),
        links: d.kind === 'orthophoto' ? orthoLinks(base, d.id, null, currentReadable, versions.some((r) => r.public)) : d.kind === 'vector' ? vectorLinks(base, null, bbox, currentReadable, isPublic) : [],
        dalleCount: versions.reduce((s, r) => s + r.dalleCount, 0),
        masterBytes: versions.reduce((s, r) => s + r.masterBytes, 0),
        stacCollection: null,
      });
      out.push(...versions);
    }
    return out;
  }


  /** A page of the dalles of a version (for STAC). */
  dalles(versionId: number, options: { limit: number; offset: number; name?: string }) {
    return this.store.dalles(versionId, options);
  }
}
