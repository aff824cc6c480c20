/**
 * Moderation's before/after and partial acceptance (issue 12), on PGlite and PostgreSQL over a
 * listening server, against a current vector PCRS (the demo's street in Cahors):
 * - a vector contribution (GeoJSON with a `classe` per object) that changes an attribute, moves a
 *   tree, removes a façade and adds a tree: its comparison lists exactly those, matched by idObjet;
 * - a rejected contribution leaves the current PCRS byte for byte as it was (OGC API features and
 *   vector tiles, hashed) and its staged version is gone;
 * - a partial acceptance (the changed attribute and the new tree only) publishes exactly those: the
 *   tree not moved, the façade not removed; the tiles outside the area are unchanged;
 * - a dalle's review gives its Lambert-93 extent and a JPEG preview to swipe over the current layer.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import { loadConfig } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { CAHORS_CENTRE, getScene } from '../demo/synthetic-scene.js';
import { writeDemoGml } from '../demo/vector.js';
import { transformPoint } from '../grid/crs.js';
import { buildServer } from '../server/app.js';
import { userWithKey } from '../test-support/access.js';
import { runPcrs } from '../test-support/cli.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { generateDelivery, validDalle } from '../test-support/imagery.js';
import { ingestDelivery } from '../raster/ingest/ingest.js';
import { ingestServices } from '../raster/ingest/services.js';
import { importIntoVersion } from '../vector/import.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface GeoJsonFeature {
  type: 'Feature';
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: number[] | number[][] };
}

const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-review-'));
const baseGml = path.join(dir, 'base.gml');
/** The street as a partner re-surveyed it: one GeoJSON, a `classe` per object. */
const updated = path.join(dir, 'rue-modifiee.geojson');
let removedFacade = '';

beforeAll(async () => {
  await writeDemoGml(getScene({ seed: 46, centre: CAHORS_CENTRE }), [575_000, 6_373_400, 575_100, 6_373_500], baseGml);
  const gpkg = path.join(dir, 'base.gpkg');
  execFileSync('ogr2ogr', ['-f', 'GPKG', gpkg, baseGml]);
  const features: GeoJsonFeature[] = [];
  for (const cls of ['LimiteVoiriePCRS', 'FacadePCRS', 'ArbrePCRS']) {
    const out = path.join(dir, `${cls}.geojson`);
    execFileSync('ogr2ogr', ['-f', 'GeoJSON', out, gpkg, cls]);
    for (const f of (JSON.parse(readFileSync(out, 'utf8')) as { features: GeoJsonFeature[] }).features) features.push({ ...f, properties: { ...f.properties, classe: cls } });
  }
  const lv = features.find((f) => f.properties['idObjet'] === 'ido_demo-lv-1') as GeoJsonFeature;
  lv.properties['producteur'] = 'Cabinet Dupont';
  const tree = features.find((f) => f.properties['idObjet'] === 'ido_demo-ar-47') as GeoJsonFeature;
  tree.geometry = { ...tree.geometry, coordinates: (tree.geometry.coordinates as number[]).map((v, i) => (i === 0 ? v + 1.5 : v)) };
  const facadeIndex = features.findIndex((f) => f.properties['classe'] === 'FacadePCRS' && f.properties['idObjet'] !== undefined);
  removedFacade = String(features[facadeIndex]?.properties['idObjet']);
  features.splice(facadeIndex, 1);
  const newTree = structuredClone(tree);
  newTree.properties = { ...newTree.properties, idObjet: 'ido_nouvel-arbre', gml_id: 'nouvel-arbre' };
  newTree.geometry = { ...newTree.geometry, coordinates: (tree.geometry.coordinates as number[]).map((v, i) => (i === 1 ? v + 3 : v)) };
  features.push(newTree);
  writeFileSync(updated, JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } }, features }));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(ENGINES)('reviewing and accepting part of a contribution on $engine', ({ open }) => {
  let t: TestDatabase;
  let ctx: AppContext;
  let app: FastifyInstance;
  let base: string;
  let alice: string;
  let moderator: string;

  beforeAll(async () => {
    t = await open();
    const config = loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR as string, PCRS_LOG_LEVEL: 'silent' });
    await new Catalog(t.db).ensureStandardDatasets('46');
    ctx = buildAppContext(config, t.db);
    await importIntoVersion(ctx, [baseGml], { versionName: 'pcrs-2024', date: '2024-05-02' });
    app = await buildServer(ctx, { logger: false });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    alice = (await userWithKey(ctx, 'alice@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read', 'contributions:write'] })).key;
    moderator = (await userWithKey(ctx, 'moderateur@fdel46.fr', { platformRoles: ['moderator'], scopes: ['contributions:write'] })).key;
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    await t?.dispose();
  });

  const call = (key: string | null, method: string, url: string, body?: unknown) =>
    fetch(`${base}${url}`, { method, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });

  async function contribution(kind: 'vector' | 'raster', title: string, files: Array<[string, Buffer]>): Promise<{ id: number; files: Array<{ id: number; name: string; status: string }> }> {
    const res = await call(alice, 'POST', '/api/v1/contributions', { kind, title, organisation: 'cahors', surveyedOn: '2026-11-03', producer: 'Cabinet Dupont' });
    expect(res.status, await res.clone().text()).toBe(201);
    const id = ((await res.json()) as { id: number }).id;
    for (const [name, data] of files) {
      const created = await fetch(`${base}/api/v1/contributions/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice}`, 'tus-resumable': '1.0.0', 'upload-length': String(data.length), 'upload-metadata': `contribution ${b64(String(id))},filename ${b64(name)}` },
      });
      expect(created.status).toBe(201);
      const sent = await fetch(`${base}${created.headers.get('location')}`, { method: 'PATCH', headers: { authorization: `Bearer ${alice}`, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: data });
      expect(sent.status).toBe(204);
    }
    for (let i = 0; i < 900; i++) {
      const c = (await (await call(alice, 'GET', `/api/v1/contributions/${id}`)).json()) as { state: string; files: Array<{ id: number; name: string; status: string }> };
      if (c.state !== 'validating' && c.state !== 'draft') {
        expect(c.state).toBe('valid');
        return { id, files: c.files };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('validation did not finish');
  }

  async function settle(id: number): Promise<string> {
    for (let i = 0; i < 900; i++) {
      const c = (await (await call(moderator, 'GET', `/api/v1/contributions/${id}`)).json()) as { state: string; reason: string | null };
      if (c.state !== 'publishing') return c.state === 'valid' ? `failed: ${c.reason}` : c.state;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('publication did not finish');
  }

  // Web Mercator tiles at z17 over the street, and one 3 tiles east (outside the area).
  const tileOf = (x: number, y: number, z: number) => {
    const [lon, lat] = transformPoint('EPSG:2154', 'EPSG:4326', [x, y]);
    const r = (lat * Math.PI) / 180;
    return [z, Math.floor(((lon + 180) / 360) * 2 ** z), Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z)] as const;
  };
  /** Everything a reader of the current vector PCRS gets, hashed: each class's features, and tiles in and out of the area. */
  async function fingerprint(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const cls of ['LimiteVoiriePCRS', 'FacadePCRS', 'ArbrePCRS']) {
      const fc = (await (await call(null, 'GET', `/ogc/collections/${cls}/items?limit=1000&crs=http://www.opengis.net/def/crs/EPSG/0/2154`)).json()) as { features: unknown[] };
      out[cls] = sha(JSON.stringify(fc.features));
    }
    const [z, x, y] = tileOf(575_050, 6_373_450, 17);
    out.tile = sha(Buffer.from(await (await call(null, 'GET', `/tiles/vector/WebMercatorQuad/${z}/${x}/${y}.mvt`)).arrayBuffer()));
    out.tileOutside = sha(Buffer.from(await (await call(null, 'GET', `/tiles/vector/WebMercatorQuad/${z}/${x + 3}/${y}.mvt`)).arrayBuffer()));
    return out;
  }
  const features = async (cls: string) =>
    ((await (await call(null, 'GET', `/ogc/collections/${cls}/items?limit=1000&crs=http://www.opengis.net/def/crs/EPSG/0/2154`)).json()) as { features: Array<{ properties: Record<string, unknown>; geometry: { coordinates: number[] } }> }).features;

  it('the comparison lists what changed, by idObjet; a rejected contribution leaves the current PCRS byte for byte as it was', async () => {
    const before = await fingerprint();
    const c = await contribution('vector', 'Rue re-levée', [['rue.geojson', readFileSync(updated)]]);
    const review = await call(moderator, 'GET', `/api/v1/contributions/${c.id}/review`);
    expect(review.status, await review.clone().text()).toBe(200);
    const diff = (await review.json()) as {
      kind: string;
      summary: { added: number; removed: number; changed: number; unchanged: number };
      added: Array<{ key: string }>;
      removed: Array<{ key: string }>;
      changed: Array<{ key: string; attributes: Record<string, [unknown, unknown]>; geometryChanged: boolean }>;
      area: { type: string };
    };
    expect(diff.kind).toBe('vector');
    expect(diff.summary).toEqual({ added: 1, removed: 1, changed: 2, unchanged: 58 });
    expect(diff.added.map((o) => o.key)).toEqual(['ArbrePCRS:ido_nouvel-arbre']);
    expect(diff.removed.map((o) => o.key)).toEqual([`FacadePCRS:${removedFacade}`]);
    const changed = Object.fromEntries(diff.changed.map((o) => [o.key, o]));
    expect(changed['LimiteVoiriePCRS:ido_demo-lv-1']).toMatchObject({ geometryChanged: false, attributes: { producteur: ['Géomètre du Lot', 'Cabinet Dupont'] } });
    expect(changed['ArbrePCRS:ido_demo-ar-47']).toMatchObject({ geometryChanged: true, attributes: {} });
    expect(diff.area.type).toMatch(/Polygon/);
    // The operator's CLI says the same (PostgreSQL: PGlite is one process's database).
    if (t.engine === 'postgres') {
      const cli = await runPcrs(t, ctx.config.dataDir, ['contributions', 'review', String(c.id)]);
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toContain('1 added, 1 removed, 2 changed, 58 unchanged');
      expect(cli.stdout).toMatch(/changed\s+LimiteVoiriePCRS:ido_demo-lv-1\s+producteur: "Géomètre du Lot" → "Cabinet Dupont"/);
      const wrong = await runPcrs(t, ctx.config.dataDir, ['contributions', 'reject', String(c.id), '--reason', 'x', '--objects', 'ArbrePCRS:ido_nouvel-arbre']);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toContain('--objects and --files choose what an acceptance publishes.');
    }
    // The contributor sees the comparison of their own contribution; staging it changed nothing for readers.
    expect((await call(alice, 'GET', `/api/v1/contributions/${c.id}/review`)).status).toBe(200);
    expect(await fingerprint()).toEqual(before);
    // Its staged version is nobody's to read.
    expect((await call(alice, 'GET', `/ogc/collections/ArbrePCRS/items?version=contribution-${c.id}`)).status).toBe(403);

    const rejected = await call(moderator, 'POST', `/api/v1/contributions/${c.id}/decision`, { decision: 'reject', reason: 'La façade n’a pas été démolie.' });
    expect(rejected.status).toBe(200);
    expect(await fingerprint()).toEqual(before);
    expect((await ctx.db.query(`SELECT 1 FROM versions WHERE name = $1`, [`contribution-${c.id}`])).rows).toHaveLength(0);
    // A selection only goes with an acceptance, and names parts of the contribution.
    const other = await contribution('vector', 'Rue re-levée, encore', [['rue.geojson', readFileSync(updated)]]);
    expect((await call(moderator, 'POST', `/api/v1/contributions/${other.id}/decision`, { decision: 'reject', reason: 'x', selection: { objects: ['ArbrePCRS:ido_nouvel-arbre'] } })).status).toBe(400);
    expect((await call(moderator, 'POST', `/api/v1/contributions/${other.id}/decision`, { decision: 'accept', selection: { files: [other.files[0]!.id] } })).status).toBe(400);
  }, 240_000);

  it('a partial acceptance publishes exactly the chosen objects; the rest of the current PCRS stays', async () => {
    const before = await fingerprint();
    const treesBefore = await features('ArbrePCRS');
    const c = await contribution('vector', 'Rue re-levée (partiel)', [['rue.geojson', readFileSync(updated)]]);
    const accepted = await call(moderator, 'POST', `/api/v1/contributions/${c.id}/decision`, { decision: 'accept', selection: { objects: ['LimiteVoiriePCRS:ido_demo-lv-1', 'ArbrePCRS:ido_nouvel-arbre'] } });
    expect(accepted.status, await accepted.clone().text()).toBe(202);
    expect(await settle(c.id)).toBe('accepted');
    const after = await fingerprint();
    expect(after.tileOutside).toBe(before.tileOutside);
    expect(after.FacadePCRS).toBe(before.FacadePCRS);
    expect(after.LimiteVoiriePCRS).not.toBe(before.LimiteVoiriePCRS);
    const lv = (await features('LimiteVoiriePCRS')).find((f) => f.properties['idObjet'] === 'ido_demo-lv-1');
    expect(lv?.properties).toMatchObject({ producteur: 'Cabinet Dupont', version: `contribution-${c.id}`, provenance: { contribution: c.id } });
    const trees = await features('ArbrePCRS');
    expect(trees).toHaveLength(treesBefore.length + 1);
    expect(trees.find((f) => f.properties['idObjet'] === 'ido_nouvel-arbre')?.properties['version']).toBe(`contribution-${c.id}`);
    // The moved tree was not chosen: where it was, from the version it was.
    const moved = trees.find((f) => f.properties['idObjet'] === 'ido_demo-ar-47');
    const was = treesBefore.find((f) => f.properties['idObjet'] === 'ido_demo-ar-47');
    expect(moved?.geometry).toEqual(was?.geometry);
    expect(moved?.properties['version']).toBe('pcrs-2024');
    expect((await ctx.db.query<{ selection: unknown }>(`SELECT selection FROM contributions WHERE id = $1`, [c.id])).rows[0]?.selection).toEqual({ objects: ['LimiteVoiriePCRS:ido_demo-lv-1', 'ArbrePCRS:ido_nouvel-arbre'] });
  }, 240_000);

  it('two contributions accepted at the same moment both publish, one above the other; the one published last wins where both change', async () => {
    const [a, b] = await Promise.all([
      contribution('vector', 'Rue re-levée (A)', [['rue.geojson', readFileSync(updated)]]),
      contribution('vector', 'Rue re-levée (B)', [['rue.geojson', readFileSync(updated)]]),
    ]);
    // Both compared (staged) before either is accepted.
    for (const c of [a, b]) expect((await call(moderator, 'GET', `/api/v1/contributions/${c.id}/review`)).status).toBe(200);
    const answers = await Promise.all([a, b].map((c) => call(moderator, 'POST', `/api/v1/contributions/${c.id}/decision`, { decision: 'accept' })));
    expect(answers.map((r) => r.status)).toEqual([202, 202]);
    expect(await Promise.all([settle(a.id), settle(b.id)])).toEqual(['accepted', 'accepted']);
    const { rows } = await ctx.db.query<{ name: string; priority: number; status: string; published_at: Date }>(`SELECT name, priority, status, published_at FROM versions WHERE name = ANY($1::text[]) ORDER BY priority`, [[`contribution-${a.id}`, `contribution-${b.id}`]]);
    expect(rows.map((r) => r.status)).toEqual(['published', 'published']);
    expect(rows[0]!.priority).toBeLessThan(rows[1]!.priority);
    // Everything in the area comes from the higher one (whole contributions: they replace the same area).
    const last = rows[1]!.name;
    for (const cls of ['LimiteVoiriePCRS', 'ArbrePCRS']) for (const f of await features(cls)) expect(f.properties['version']).toBe(last);
  }, 240_000);

  it('dalles: a refusal leaves the WMTS tiles byte for byte; accepting one of two dalles changes the tiles exactly there', async () => {
    // The current orthophoto: four dalles of 200 m; the contribution: two dalles of another scene over the northern two.
    const baseDir = path.join(dir, `ortho-${t.engine}`);
    await generateDelivery({ outDir: baseDir, bbox: [575_000, 6_373_200, 575_400, 6_373_600], dalleSize: 200, seed: 46, year: 2025 });
    await ingestDelivery(ingestServices(ctx), { dir: baseDir, datasetId: 'ortho', versionName: 'ortho-2025', date: '2025-06-01' });
    const newDir = path.join(dir, `contribution-${t.engine}`);
    const fresh = await generateDelivery({ outDir: newDir, bbox: [575_000, 6_373_400, 575_400, 6_373_600], dalleSize: 200, seed: 7, year: 2026 });
    const west = fresh.find((d) => d.bbox[0] === 575_000) as (typeof fresh)[number];
    // 2154_5cm at level 22 (5 cm, 12.8 m tiles): the tile holding a point.
    const tileAt = async (x: number, y: number) => {
      const size = 256 * 0.05;
      const res = await call(null, 'GET', `/wmts/1.0.0/PCRS.ORTHO/default/2154_5cm/22/${Math.floor((12_000_000 - y) / size)}/${Math.floor(x / size)}.jpeg`);
      expect(res.status).toBe(200);
      return sha(Buffer.from(await res.arrayBuffer()));
    };
    const places = { inWest: [575_100, 6_373_500], inEast: [575_300, 6_373_500], south: [575_100, 6_373_300] } as const;
    const tiles = async () => Object.fromEntries(await Promise.all(Object.entries(places).map(async ([k, [x, y]]) => [k, await tileAt(x, y)] as const)));
    const before = await tiles();

    const refused = await contribution('raster', 'Deux dalles refusées', fresh.map((d) => [path.basename(d.file), readFileSync(d.file)] as [string, Buffer]));
    expect((await call(moderator, 'POST', `/api/v1/contributions/${refused.id}/decision`, { decision: 'reject', reason: 'Mauvais millésime.' })).status).toBe(200);
    expect(await tiles()).toEqual(before);

    const c = await contribution('raster', 'Deux dalles, une retenue', fresh.map((d) => [path.basename(d.file), readFileSync(d.file)] as [string, Buffer]));
    const keep = c.files.find((f) => f.name === path.basename(west.file))!.id;
    expect((await call(moderator, 'POST', `/api/v1/contributions/${c.id}/decision`, { decision: 'accept', selection: { files: [keep] } })).status).toBe(202);
    expect(await settle(c.id)).toBe('accepted');
    // The serving node reads the published versions again within its catalogue cache's TTL (5 s).
    await expect.poll(async () => (await tiles()).inWest, { timeout: 15_000, interval: 500 }).not.toBe(before.inWest);
    const after = await tiles();
    expect(after.inEast).toBe(before.inEast);
    expect(after.south).toBe(before.south);
    const dalles = await ctx.catalog.listDalles({ versionId: (await ctx.catalog.getVersion('ortho', `contribution-${c.id}`)).id });
    expect(dalles.map((d) => d.bbox)).toEqual([west.bbox]);
  }, 300_000);

  it('a dalle’s review: its extent and a JPEG preview to swipe over the current layer', async () => {
    const d = await validDalle(dir, { xmin: 575_000, ymax: 6_373_600 });
    const c = await contribution('raster', 'Une dalle', [[path.basename(d.file), readFileSync(d.file)]]);
    const review = (await (await call(moderator, 'GET', `/api/v1/contributions/${c.id}/review`)).json()) as { kind: string; dalles: Array<{ fileId: number; bbox2154: number[]; preview: string }> };
    expect(review.kind).toBe('raster');
    expect(review.dalles[0]?.bbox2154).toEqual([575_000, 6_373_400, 575_200, 6_373_600]);
    const jpeg = await call(moderator, 'GET', review.dalles[0]!.preview);
    expect(jpeg.status).toBe(200);
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    const meta = await sharp(Buffer.from(await jpeg.arrayBuffer())).metadata();
    expect(meta.format).toBe('jpeg');
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBe(2048);
    // Another organisation's member sees neither.
    const bob = (await userWithKey(ctx, 'bob@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['contributions:write'] })).key;
    expect((await call(bob, 'GET', `/api/v1/contributions/${c.id}/review`)).status).toBe(404);
    expect((await call(bob, 'GET', review.dalles[0]!.preview)).status).toBe(404);
  }, 240_000);
});
