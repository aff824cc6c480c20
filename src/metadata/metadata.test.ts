import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessServices } from '../access/services.js';
import { OPERATOR } from '../context/access.js';
import { transformBbox, transformPoint } from '../grid/crs.js';
import { userWithKey } from '../test-support/access.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES } from '../test-support/db.js';
import { runXmllint, type XsdError } from '../vector/gml/xsd.js';
import { exportMetadata } from './export.js';
import { ISO_SCHEMA } from './iso.js';
import { multihash } from './stac.js';
import { BBOX_2025, DALLES_2025, metadataFixture, type MetadataFixture } from './test-support/fixture.js';

/**
 * The published metadata over a catalogue made through the catalogue's API (test-support/fixture.ts),
 * on PGlite and PostgreSQL: ISO records valid against the offline ISO 19139 schemas, the CSW's
 * answers and errors, DCAT-AP read back as RDF by rdflib, STAC items whose checksums and footprints
 * are the catalogue's, a restricted version absent for anonymous callers and present for a key
 * holding a permission, and the export to files.
 */
const PYTHON = '/usr/bin/python3';
const run = promisify(execFile);
const RDF_CHECK = fileURLToPath(new URL('./test-support/rdf-check.py', import.meta.url));
const hasRdflib = (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import rdflib'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
})();
if (!hasRdflib) console.warn('metadata.test: python3-rdflib not found, the DCAT RDF checks are skipped (apt-get install python3-rdflib)');

async function validateIso(xml: string, dir: string, name: string): Promise<XsdError[]> {
  const file = path.join(dir, `${name}.xml`);
  writeFileSync(file, xml);
  const errors: XsdError[] = [];
  const r = await runXmllint(file, { schema: ISO_SCHEMA, onError: (e) => errors.push(e) });
  if (!r.valid && errors.length === 0) errors.push({ line: 0, message: `xmllint exit ${r.exitCode}`, kind: 'other' });
  return errors;
}

interface StacItem {
  id: string;
  geometry: { coordinates: number[][][] };
  bbox: number[];
  properties: { datetime: string; 'proj:epsg': number; 'proj:bbox': number[]; 'proj:shape': number[] };
  assets: { master: { href: string; 'file:checksum': string; 'file:size': number } };
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe.each(ENGINES)('published metadata ($engine)', ({ engine, open }) => {
  let f: MetadataFixture;
  let work: string;
  let key: string;
  const get = (url: string, headers: Record<string, string> = {}) => f.app.inject({ method: 'GET', url, headers });

  beforeAll(async () => {
    f = await metadataFixture(open);
    work = mkdtempSync(path.join(tmpdir(), 'pcrs-metadata-test-'));
    ({ key } = await userWithKey(f.ctx, 'lecteur@partenaire.fr', { scopes: ['read'] }));
    await new AccessServices(f.ctx).grantPermission(OPERATOR, { user: 'lecteur@partenaire.fr', dataset: 'ortho', version: '2019-prive' });
  }, 300_000);

  afterAll(async () => {
    await f?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ISO 19139 records validate against the shipped schemas and carry the INSPIRE elements', async () => {
    const index = (await get('/metadata')).json() as { records: Array<{ id: string; iso: string; level: string }> };
    expect(index.records.map((r) => r.id)).toEqual(['pcrs-46.ortho', 'pcrs-46.ortho.maj-2026', 'pcrs-46.ortho.2025', 'pcrs-46.vector', 'pcrs-46.vector.demo']);
    for (const r of index.records) {
      const res = await get(new URL(r.iso).pathname);
      expect(res.statusCode, r.iso).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/xml/);
      expect(await validateIso(res.body, work, r.id), r.id).toEqual([]);
    }
    const xml = (await get('/metadata/iso/ortho/2025.xml')).body;
    expect(xml).toContain('<gmd:fileIdentifier><gco:CharacterString>pcrs-46.ortho.2025</gco:CharacterString>');
    expect(xml).toContain('<gmd:parentIdentifier><gco:CharacterString>pcrs-46.ortho</gco:CharacterString>');
    expect(xml).toContain('<gmx:Anchor xlink:href="http://inspire.ec.europa.eu/theme/oi">Ortho-imagerie</gmx:Anchor>');
    expect(xml).toContain('GEMET - INSPIRE themes, version 1.0</gmx:Anchor>');
    expect(xml).toContain('<gmx:Anchor xlink:href="http://www.opengis.net/def/crs/EPSG/0/2154">EPSG:2154</gmx:Anchor>');
    expect(xml).toContain('<gco:Distance uom="m">0.05</gco:Distance>');
    expect(xml).toContain('LimitationsOnPublicAccess/noLimitations');
    expect(xml).toContain('<gmx:Anchor xlink:href="https://www.etalab.gouv.fr/licence-ouverte-open-licence">Licence Ouverte / Open Licence version 2.0</gmx:Anchor>');
    expect(xml).toContain('<gco:CharacterString>pcrs@example.fr</gco:CharacterString>');
    expect(xml).toContain('<gml:beginPosition>2025-06-15</gml:beginPosition>');
    expect(xml).toMatch(/Intégration du \d{4}-\d{2}-\d{2} : 5 fichier\(s\), 4 accepté\(s\), 1 refusé\(s\)/);
    expect(xml).toContain('OGC:WMTS</gco:CharacterString>');
    expect(xml).toContain('/api/datasets/ortho/versions/2025/dalles?limit=10000');
    expect(xml).toContain('/telechargement/ortho/2025/</gmd:URL>');
    // The WGS84 box is the dalles' extent.
    const [w, s, e, n] = transformBbox('EPSG:2154', 'OGC:CRS84', [...BBOX_2025]);
    const num = (tag: string) => Number(new RegExp(`<gmd:${tag}><gco:Decimal>([^<]+)</gco:Decimal>`).exec(xml)?.[1]);
    expect(num('westBoundLongitude')).toBeCloseTo(w, 5);
    expect(num('eastBoundLongitude')).toBeCloseTo(e, 5);
    expect(num('southBoundLatitude')).toBeCloseTo(s, 5);
    expect(num('northBoundLatitude')).toBeCloseTo(n, 5);
    // The vector version: its GML import is its lineage.
    const vector = (await get('/metadata/iso/vector/demo.xml')).body;
    expect(vector).toContain('demo.gml');
    expect(vector).toContain('http://inspire.ec.europa.eu/theme/tn');
    // The vector series links to its folder of the bulk tree (one GML per commune).
    expect((await get('/metadata/iso/vector.xml')).body).toContain('/telechargement/vecteur/</gmd:URL>');
    expect((await get('/metadata/iso/nothing.xml')).statusCode).toBe(404);
  });

  it('CSW 2.0.2: capabilities, records with paging and a text filter, by id, ISO output, and exception reports', async () => {
    const caps = await get('/csw?service=CSW&request=GetCapabilities');
    expect(caps.statusCode).toBe(200);
    expect(caps.body).toContain('<ows:ServiceTypeVersion>2.0.2</ows:ServiceTypeVersion>');
    expect(caps.body).toContain('<ows:Operation name="GetRecords">');
    const records = await get('/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&resultType=results&elementSetName=brief&maxRecords=2&startPosition=2');
    expect(records.body).toContain('numberOfRecordsMatched="5" numberOfRecordsReturned="2" nextRecord="4"');
    const like = await get(`/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&resultType=results&constraintLanguage=CQL_TEXT&constraint=${encodeURIComponent("AnyText LIKE '%mise à jour%'")}`);
    expect(like.body).toContain('numberOfRecordsMatched="2"');
    expect(like.body).toContain('<dc:identifier>pcrs-46.ortho.maj-2026</dc:identifier>');
    const filter = `<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc"><ogc:PropertyIsLike wildCard="*" singleChar="?" escapeChar="\\"><ogc:PropertyName>dc:title</ogc:PropertyName><ogc:Literal>*vecteur*</ogc:Literal></ogc:PropertyIsLike></ogc:Filter>`;
    const byFilter = await get(`/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&resultType=hits&constraintLanguage=FILTER&constraint=${encodeURIComponent(filter)}`);
    expect(byFilter.body).toContain('numberOfRecordsMatched="2" numberOfRecordsReturned="0"');
    const iso = await get(`/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecordById&id=pcrs-46.ortho.2025&outputSchema=${encodeURIComponent('http://www.isotc211.org/2005/gmd')}`);
    expect(iso.body).toContain('<csw:GetRecordByIdResponse');
    expect(iso.body).toContain('<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"');
    const post = await f.app.inject({
      method: 'POST',
      url: '/csw',
      headers: { 'content-type': 'application/xml' },
      payload: `<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2" resultType="results" outputSchema="http://www.isotc211.org/2005/gmd" maxRecords="10"><csw:Query typeNames="gmd:MD_Metadata"><csw:ElementSetName>full</csw:ElementSetName><csw:Constraint version="1.1.0"><csw:CqlText>AnyText LIKE '%vecteur%'</csw:CqlText></csw:Constraint></csw:Query></csw:GetRecords>`,
    });
    expect(post.statusCode).toBe(200);
    expect(post.body.match(/<gmd:MD_Metadata /g)).toHaveLength(2);

    const exception = async (url: string, code: string, locator: string, payload?: string) => {
      const r = payload === undefined ? await get(url) : await f.app.inject({ method: 'POST', url, headers: { 'content-type': 'text/xml' }, payload });
      expect(r.statusCode, url).toBe(400);
      expect(r.body, url).toContain('<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows"');
      expect(r.body, url).toContain(`exceptionCode="${code}"${locator ? ` locator="${locator}"` : ''}`);
    };
    await exception('/csw?SERVICE=CSW', 'MissingParameterValue', 'request');
    await exception('/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=Harvest', 'OperationNotSupported', 'request');
    await exception('/csw?SERVICE=CSW&VERSION=3.0.0&REQUEST=GetRecords', 'InvalidParameterValue', 'version');
    await exception('/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&typeNames=foo:Bar', 'InvalidParameterValue', 'typeNames');
    await exception('/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&outputSchema=urn:x', 'InvalidParameterValue', 'outputSchema');
    await exception('/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&maxRecords=-1', 'InvalidParameterValue', 'maxRecords');
    await exception(`/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&constraintLanguage=CQL_TEXT&constraint=${encodeURIComponent("title > 'a'")}`, 'InvalidParameterValue', 'constraint');
    const gt = filter.replace(/PropertyIsLike[^>]*>/, 'PropertyIsGreaterThan>').replace('</ogc:PropertyIsLike>', '</ogc:PropertyIsGreaterThan>');
    await exception(`/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&constraintLanguage=FILTER&constraint=${encodeURIComponent(gt)}`, 'InvalidParameterValue', 'constraint');
    // External entities are never resolved: a DOCTYPE is refused before anything else.
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2"><csw:Query typeNames="csw:Record"><csw:ElementSetName>&x;</csw:ElementSetName></csw:Query></csw:GetRecords>`;
    await exception('/csw', 'NoApplicableCode', '', xxe);
    await exception('/csw', 'NoApplicableCode', '', '<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"');
    const big = await f.app.inject({ method: 'POST', url: '/csw', headers: { 'content-type': 'application/xml' }, payload: `<a>${'x'.repeat(300_000)}</a>` });
    expect(big.statusCode).toBe(413);
    expect(big.body).toContain('exceptionCode="NoApplicableCode"');
  });

  it('DCAT-AP parses as RDF (RDF/XML and JSON-LD say the same) with the catalogue, datasets, distributions, licence, extent and contact', async () => {
    const rdf = await get('/metadata/dcat.rdf');
    const jsonld = await get('/metadata/dcat.jsonld');
    expect(rdf.headers['content-type']).toMatch(/^application\/rdf\+xml/);
    expect(jsonld.headers['content-type']).toMatch(/^application\/ld\+json/);
    expect(rdf.body).not.toContain('2019-prive');
    if (!hasRdflib) return;
    writeFileSync(path.join(work, 'dcat.rdf'), rdf.body);
    writeFileSync(path.join(work, 'dcat.jsonld'), jsonld.body);
    const { stdout } = await run(PYTHON, [RDF_CHECK, path.join(work, 'dcat.rdf'), path.join(work, 'dcat.jsonld')], { timeout: 120_000 });
    const g = JSON.parse(stdout) as Record<string, unknown> & { triples: number[]; downloadURLs: string[]; accessURLs: string[]; datasets: string[] };
    expect(g.isomorphic).toBe(true);
    expect(g.triples[0]).toBeGreaterThan(100);
    expect(g.catalogs).toBe(1);
    expect(g.identifiers).toEqual(['pcrs-46.ortho', 'pcrs-46.vector']);
    expect(g.datasets).toEqual(['http://localhost:80/metadata/dataset/pcrs-46.ortho', 'http://localhost:80/metadata/dataset/pcrs-46.vector']);
    expect(g.themes).toEqual(['http://inspire.ec.europa.eu/theme/bu', 'http://inspire.ec.europa.eu/theme/oi', 'http://inspire.ec.europa.eu/theme/tn']);
    expect(g.licences).toEqual(['https://www.etalab.gouv.fr/licence-ouverte-open-licence']);
    expect(g.accessRights).toEqual(['http://publications.europa.eu/resource/authority/access-right/PUBLIC']);
    expect(g.emails).toEqual(['mailto:pcrs@example.fr']);
    expect(g.startDates).toContain('2025-06-15');
    expect(g.downloadURLs).toContain('http://localhost:80/api/datasets/ortho/versions/2025/dalles?limit=10000');
    expect(g.downloadURLs).toContain('http://localhost:80/telechargement/ortho/2025/');
    expect(g.downloadURLs).toContain('http://localhost:80/telechargement/vecteur/');
    expect(g.downloadURLs.some((u) => u.startsWith('http://localhost:80/api/vector/export?format=gpkg&version=demo&bbox='))).toBe(true);
    expect(g.accessURLs).toContain('http://localhost:80/wmts/1.0.0/WMTSCapabilities.xml');
    expect(g.distributions).toBeGreaterThanOrEqual(10);
  });

  it('STAC: catalog, one collection per version, paged items whose checksums and footprints are the catalogue’s', async () => {
    const root = (await get('/stac')).json() as { type: string; links: Array<{ rel: string; href: string }> };
    expect(root.type).toBe('Catalog');
    expect(root.links.filter((l) => l.rel === 'child').map((l) => l.href)).toEqual(['http://localhost:80/stac/collections/ortho-maj-2026', 'http://localhost:80/stac/collections/ortho-2025']);
    const collection = (await get('/stac/collections/ortho-2025')).json() as Record<string, unknown> & { extent: { temporal: { interval: string[][] } }; links: Array<{ rel: string }> };
    expect(collection).toMatchObject({ type: 'Collection', stac_version: '1.0.0', id: 'ortho-2025', license: 'etalab-2.0' });
    expect(collection.extent.temporal.interval[0]?.[0]).toBe('2025-06-15T00:00:00Z');
    expect(collection.links.map((l) => l.rel)).toEqual(expect.arrayContaining(['root', 'parent', 'self', 'items', 'license', 'describedby']));

    const items: StacItem[] = [];
    let url: string | undefined = '/stac/collections/ortho-2025/items?limit=3';
    let pages = 0;
    while (url) {
      const page = (await get(url)).json() as { features: StacItem[]; numberMatched: number; links: Array<{ rel: string; href: string }> };
      expect(page.numberMatched).toBe(4);
      items.push(...page.features);
      url = page.links.find((l) => l.rel === 'next')?.href.replace('http://localhost:80', '');
      pages++;
    }
    expect(pages).toBe(2);
    expect(items).toHaveLength(DALLES_2025.length);
    for (const item of items) {
      expect(Object.keys(item)).toEqual(expect.arrayContaining(['type', 'stac_version', 'id', 'geometry', 'bbox', 'properties', 'links', 'assets', 'collection']));
      expect(item.properties.datetime).toBe('2025-06-15T00:00:00Z');
      expect(item.properties['proj:epsg']).toBe(2154);
      const expected = f.masters.get(`2025/${item.id}`);
      expect(expected, item.id).toBeDefined();
      expect(item.assets.master['file:checksum']).toBe(multihash(expected?.sha256 as string));
      expect(item.assets.master['file:size']).toBe(expected?.bytes);
      // The footprint: the dalle's corners in WGS84.
      const [xmin, ymin, xmax, ymax] = item.properties['proj:bbox'] as number[];
      expect(DALLES_2025.some(([x, y]) => x === xmin && y === ymax)).toBe(true);
      const ring = item.geometry.coordinates[0] as number[][];
      const corner = transformPoint('EPSG:2154', 'OGC:CRS84', [xmin as number, ymin as number]);
      expect(ring.some(([lon, lat]) => Math.abs((lon as number) - corner[0]) < 1e-6 && Math.abs((lat as number) - corner[1]) < 1e-6)).toBe(true);
      expect(item.bbox[0]).toBeLessThanOrEqual(corner[0]);
      expect(item.properties['proj:shape']).toEqual([Math.round(((ymax as number) - (ymin as number)) / 0.05), Math.round(((xmax as number) - (xmin as number)) / 0.05)]);
    }
    // The master asset is the stored dalle, byte for byte.
    const first = items[0] as StacItem;
    const download = await get(new URL(first.assets.master.href).pathname);
    expect(download.statusCode).toBe(200);
    expect(`1220${sha(download.rawPayload)}`).toBe(first.assets.master['file:checksum']);
    const one = (await get(`/stac/collections/ortho-2025/items/${first.id}`)).json() as Record<string, unknown>;
    expect(one.id).toBe(first.id);
    expect((await get('/stac/collections/ortho-2025/items/nope')).statusCode).toBe(404);
  });

  it('a restricted version is absent for anonymous callers and present for a key holding a permission', async () => {
    const auth = { authorization: `Bearer ${key}` };
    const ids = async (headers: Record<string, string>) => ((await get('/metadata', headers)).json() as { records: Array<{ id: string; public: boolean }> }).records;
    expect((await ids({})).map((r) => r.id)).not.toContain('pcrs-46.ortho.2019-prive');
    const mine = await ids(auth);
    expect(mine.find((r) => r.id === 'pcrs-46.ortho.2019-prive')).toMatchObject({ public: false });
    const csw = (h: Record<string, string>) => get('/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&resultType=results&maxRecords=50', h);
    expect((await csw({})).body).not.toContain('2019-prive');
    expect((await csw(auth)).body).toContain('<dc:identifier>pcrs-46.ortho.2019-prive</dc:identifier>');
    expect((await csw(auth)).headers['cache-control']).toMatch(/^private/);
    expect((await get(`/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecordById&id=pcrs-46.ortho.2019-prive`)).body).not.toContain('<csw:Record>');
    expect((await get('/metadata/dcat.jsonld')).body).not.toContain('2019-prive');
    expect((await get('/metadata/dcat.jsonld', auth)).body).toContain('2019-prive');
    expect((await get('/stac')).body).not.toContain('2019-prive');
    expect((await get('/stac/collections/ortho-2019-prive')).statusCode).toBe(401);
    expect((await get('/stac/collections/ortho-2019-prive/items', auth)).statusCode).toBe(200);
    expect((await get('/metadata/iso/ortho/2019-prive.xml')).statusCode).toBe(401);
    const iso = await get('/metadata/iso/ortho/2019-prive.xml', auth);
    expect(iso.statusCode).toBe(200);
    expect(iso.body).toContain('Charte d’usage du PCRS');
    expect(iso.body).not.toContain('noLimitations');
    // Restricted data is not in the bulk publication tree: no link to it.
    expect(iso.body).not.toContain('/telechargement/');
    expect(await validateIso(iso.body, work, 'restricted')).toEqual([]);
  });

  it('pcrs metadata export writes valid ISO records, both DCAT serialisations and a static STAC catalogue of public data only', async () => {
    const out = path.join(work, 'export');
    const base = 'https://pcrs.example.fr';
    if (engine === 'postgres') {
      // The CLI itself (PostgreSQL lets it run beside this test's own connection).
      const r = await runPcrs(f.t, f.dataDir, ['metadata', 'export', '--format', 'iso', '-o', path.join(out, 'iso'), '--base-url', base]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('5 ISO file(s) written');
    } else {
      expect((await exportMetadata(f.ctx, { format: 'iso', dir: path.join(out, 'iso'), base })).files).toBe(5);
    }
    expect(readdirSync(path.join(out, 'iso')).sort()).toEqual(['ortho', 'ortho.xml', 'vector', 'vector.xml']);
    expect(readdirSync(path.join(out, 'iso', 'ortho')).sort()).toEqual(['2025.xml', 'maj-2026.xml']);
    expect(readFileSync(path.join(out, 'iso', 'ortho', '2025.xml'), 'utf8')).toContain(`${base}/wmts/1.0.0/WMTSCapabilities.xml`);
    await exportMetadata(f.ctx, { format: 'dcat', dir: path.join(out, 'dcat'), base });
    expect(readdirSync(path.join(out, 'dcat')).sort()).toEqual(['dcat.jsonld', 'dcat.rdf']);
    const stac = await exportMetadata(f.ctx, { format: 'stac', dir: path.join(out, 'stac'), base });
    expect(stac.files).toBe(1 + 2 + DALLES_2025.length + 1);
    const catalog = JSON.parse(readFileSync(path.join(out, 'stac', 'catalog.json'), 'utf8')) as { links: Array<{ rel: string; href: string }> };
    expect(catalog.links.filter((l) => l.rel === 'child').map((l) => l.href)).toEqual(['./ortho-maj-2026/collection.json', './ortho-2025/collection.json']);
    const collection = JSON.parse(readFileSync(path.join(out, 'stac', 'ortho-2025', 'collection.json'), 'utf8')) as { links: Array<{ rel: string; href: string }> };
    const itemLinks = collection.links.filter((l) => l.rel === 'item');
    expect(itemLinks).toHaveLength(4);
    for (const l of itemLinks) {
      const item = JSON.parse(readFileSync(path.join(out, 'stac', 'ortho-2025', l.href), 'utf8')) as { id: string; links: Array<{ rel: string; href: string }>; assets: { master: { href: string; 'file:checksum': string } } };
      expect(item.links.find((x) => x.rel === 'root')?.href).toBe('../../catalog.json');
      expect(existsSync(path.join(out, 'stac', 'ortho-2025', 'items', item.links.find((x) => x.rel === 'collection')?.href as string))).toBe(true);
      expect(item.assets.master.href.startsWith(`${base}/api/datasets/ortho/versions/2025/dalles/`)).toBe(true);
      expect(item.assets.master['file:checksum']).toBe(multihash(f.masters.get(`2025/${item.id}`)?.sha256 as string));
    }
    expect(JSON.stringify(readdirSync(path.join(out, 'stac')))).not.toContain('2019');
    const usage = await runPcrs(f.t, f.dataDir, ['metadata', 'export', '--format', 'pdf', '-o', out]);
    expect(usage.code).toBe(64);
  });
});
