/**
 * Signed URL delivery end to end on PGlite and PostgreSQL, over a listening server: an extract asked
 * with delivery 'urls' lists one URL per file (text for wget -i, aria2c's input format, JSON);
 * `wget -i` fetches them all into a tree that `sha256sum -c MANIFEST.sha256` accepts, each file's
 * SHA-256 as listed and the masters identical to the stored ones; Range, HEAD and ETag behave; a
 * tampered or missing signature is 403, an expired link or extract 410; only the requester lists.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { BASE_BBOX, streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { buildServer } from '../server/app.js';
import { userWithKey } from '../test-support/access.js';
import { ENGINES } from '../test-support/db.js';
import { execTool } from '../util/exec.js';
import { extractsCapability } from './capability.js';
import { ExtractUrls, fileContentType, type SignedFile } from './delivery.js';
import { ExtractService } from './service.js';

const L93 = { type: 'name', properties: { name: 'EPSG:2154' } } as const;
const rect = (x0: number, y0: number, x1: number, y1: number) => ({ type: 'Polygon' as const, coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]], crs: L93 });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.each(ENGINES)('extracts as signed URLs on $engine', ({ engine, open }) => {
  let f: StreamsFixture;
  let ctx: AppContext;
  let app: FastifyInstance;
  let base: string;
  let key: string;
  let otherKey: string;
  let id: number;
  let files: SignedFile[];
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-extract-urls-'));
  const auth = (k: string) => ({ authorization: `Bearer ${k}` });
  const get = (url: string, headers: Record<string, string> = {}, method = 'GET') => fetch(url.startsWith('http') ? url : `${base}${url}`, { headers, method });

  async function ask(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const created = await fetch(`${base}/api/v1/extracts`, { method: 'POST', headers: { ...auth(key), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect([201, 202]).toContain(created.status);
    let state = (await created.json()) as Record<string, unknown>;
    for (let i = 0; i < 600 && state.state !== 'ready'; i++) {
      expect(state.state).not.toBe('failed');
      await new Promise((r) => setTimeout(r, 100));
      state = (await (await get(`/api/v1/extracts/${String(state.id)}`, auth(key))).json()) as Record<string, unknown>;
    }
    expect(state.state).toBe('ready');
    return state;
  }

  beforeAll(async () => {
    f = await streamsFixture({}, { vector: true, ...(engine === 'postgres' ? { open } : {}) });
    ctx = buildAppContext({ ...f.config, extracts: { keepDays: 7, maxBytes: 50e9, maxAreaKm2: 1000 } }, f.t.db);
    key = (await userWithKey(ctx, 'geometre@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['read', 'downloads'] })).key;
    otherKey = (await userWithKey(ctx, 'autre@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['read', 'downloads'] })).key;
    app = await buildServer(ctx, { logger: false, capabilities: [extractsCapability] });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    const state = await ask({ area: { geometry: rect(...BASE_BBOX) }, contents: ['ortho-master', 'vector-gml'], delivery: 'urls' });
    expect(state).toMatchObject({ delivery: 'urls', urls: `/api/v1/extracts/${String(state.id)}/urls` });
    id = state.id as number;
    files = (await (await get(`/api/v1/extracts/${id}/urls?format=json`, auth(key))).json()) as SignedFile[];
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    await f?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every URL gives bytes whose SHA-256 and size are the listing’s; the masters are the stored ones', async () => {
    const names = files.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['vecteur/pcrs.gml', 'ortho/mosaique.vrt', 'LICENCE.txt', 'LISEZMOI.txt', 'MANIFEST.sha256']));
    const masters = (await ctx.catalog.assets.list({ kind: 'master', state: 'stored' })).filter((a) => a.versionId !== null);
    const tifs = files.filter((x) => x.name.endsWith('.tif'));
    expect(tifs.length).toBeGreaterThan(1);
    for (const file of files) {
      expect(file.url).toMatch(new RegExp(`^${base}/api/v1/extracts/${id}/files/\\d+/${file.name}\\?expires=\\d+&sig=[A-Za-z0-9_-]{43}$`));
      const res = await get(file.url);
      expect(res.status, file.name).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.length).toBe(file.size);
      expect(Number(res.headers.get('content-length'))).toBe(file.size);
      expect(sha256(bytes)).toBe(file.sha256);
      expect(res.headers.get('etag')).toBe(`"${file.sha256}"`);
      if (file.name.endsWith('.tif')) expect(masters.some((m) => m.sha256 === file.sha256 && m.bytes === file.size)).toBe(true);
      // Each file says what it is (a download manager, a browser opening it).
      const type = { '.tif': 'image/tiff', '.gml': 'application/gml+xml; version=3.2', '.vrt': 'application/xml', '.txt': 'text/plain; charset=utf-8', '.sha256': 'text/plain; charset=utf-8' }[path.extname(file.name)];
      expect(res.headers.get('content-type'), file.name).toBe(type);
    }
  }, 120_000);

  it('vector files of other formats carry their own media types', () => {
    expect(fileContentType('vecteur/pcrs.gpkg')).toBe('application/geopackage+sqlite3');
    expect(fileContentType('vecteur/pcrs.dxf')).toBe('image/vnd.dxf');
    expect(fileContentType('ortho-cog/x.TIF')).toBe('image/tiff');
    expect(fileContentType('autre.bin')).toBe('application/octet-stream');
  });

  it('wget -i the text list: the tree sha256sum -c MANIFEST.sha256 accepts; aria2c -i of the aria2 list, which checks each SHA-256', async () => {
    const text = await get(`/api/v1/extracts/${id}/urls?format=text`, auth(key));
    expect(text.headers.get('content-type')).toContain('text/plain');
    const list = await text.text();
    expect(list.trim().split('\n')).toEqual(files.map((x) => x.url));
    writeFileSync(path.join(dir, 'list.txt'), list);
    const out = path.join(dir, 'wget');
    const wget = await execTool('wget', ['-q', '-x', '-nH', '--cut-dirs=6', '--content-disposition', '-P', out, '-i', path.join(dir, 'list.txt')], { timeoutMs: 120_000 });
    expect(wget.code, wget.stderr).toBe(0);
    expect(readdirSync(path.join(out, 'ortho')).filter((n) => n.endsWith('.tif'))).toHaveLength(files.filter((x) => x.name.endsWith('.tif')).length);
    const check = await execTool('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: out });
    expect(check.code, check.stdout + check.stderr).toBe(0);

    const aria2 = await (await get(`/api/v1/extracts/${id}/urls?format=aria2`, auth(key))).text();
    expect(aria2).toBe(files.map((x) => `${x.url}\n  out=${x.name}\n  checksum=sha-256=${x.sha256}\n`).join(''));
    // aria2c itself: it checks each file's SHA-256 against the list, and fails on a mismatch.
    writeFileSync(path.join(dir, 'list.aria2'), aria2);
    const out2 = path.join(dir, 'aria2');
    const fetched = await execTool('aria2c', ['-q', '--check-integrity=true', '--max-connection-per-server=1', '-d', out2, '-i', path.join(dir, 'list.aria2')], { timeoutMs: 120_000 });
    expect(fetched.code, fetched.stdout + fetched.stderr).toBe(0);
    const check2 = await execTool('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: out2 });
    expect(check2.code, check2.stdout + check2.stderr).toBe(0);
    const lying = aria2.replace(/checksum=sha-256=[0-9a-f]{64}/, `checksum=sha-256=${'0'.repeat(64)}`);
    writeFileSync(path.join(dir, 'lying.aria2'), lying);
    const refused = await execTool('aria2c', ['-q', '--check-integrity=true', '-d', path.join(dir, 'aria2-lying'), '-i', path.join(dir, 'lying.aria2')], { timeoutMs: 120_000 });
    expect(refused.code).not.toBe(0);
  }, 180_000);

  it('Range gives 206 with the right bytes; HEAD and If-None-Match; 416 beyond the end', async () => {
    const master = files.find((x) => x.name.endsWith('.tif')) as SignedFile;
    const whole = Buffer.from(await (await get(master.url)).arrayBuffer());
    const part = await get(master.url, { range: 'bytes=1000-4999' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-4999/${master.size}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(1000, 5000))).toBe(true);
    const tail = await get(master.url, { range: 'bytes=-10' });
    expect(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(whole.length - 10))).toBe(true);
    const gml = files.find((x) => x.name === 'vecteur/pcrs.gml') as SignedFile;
    const gmlPart = await get(gml.url, { range: 'bytes=5-' });
    expect(gmlPart.status).toBe(206);
    expect(sha256(Buffer.concat([Buffer.from(await (await get(gml.url, { range: 'bytes=0-4' })).arrayBuffer()), Buffer.from(await gmlPart.arrayBuffer())]))).toBe(gml.sha256);
    const head = await get(master.url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(master.size);
    expect((await get(master.url, { 'if-none-match': `"${master.sha256}"` })).status).toBe(304);
    expect((await get(master.url, { range: `bytes=${master.size + 10}-` })).status).toBe(416);
  });

  it('a tampered or missing signature is 403, an expired link 410, an unknown file 404; only the requester lists', async () => {
    const file = files[0] as SignedFile;
    const url = new URL(file.url);
    const sig = url.searchParams.get('sig') as string;
    const tampered = new URL(url);
    tampered.searchParams.set('sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
    expect((await get(tampered.toString())).status).toBe(403);
    const unsigned = new URL(url);
    unsigned.searchParams.delete('sig');
    expect((await get(unsigned.toString())).status).toBe(403);
    const later = new URL(url);
    later.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 86_400));
    expect((await get(later.toString())).status).toBe(403);
    // The signature of one file does not open another.
    const other = files[1] as SignedFile;
    expect((await get(`${base}/api/v1/extracts/${id}/files/${new URL(other.url).pathname.split('/')[6]}/${other.name}${url.search}`)).status).toBe(403);
    const body = (await (await get(tampered.toString())).json()) as { type: string };
    expect(body.type).toBe('urn:pcrs:problem:bad-signature');

    const signer = new ExtractUrls(new ExtractService(ctx));
    const seq = Number(url.pathname.split('/')[6]);
    const past = Math.floor(Date.now() / 1000) - 60;
    expect((await get(`${base}${signer.sign(id, seq, file.name, past)}`)).status).toBe(410);
    const future = Math.floor(Date.now() / 1000) + 3600;
    expect((await get(`${base}${signer.sign(id, 999, 'nothing.txt', future)}`)).status).toBe(404);

    expect((await get(`/api/v1/extracts/${id}/urls`, auth(otherKey))).status).toBe(404);
    expect((await get(`/api/v1/extracts/${id}/urls`)).status).toBe(401);
    expect((await get(`/api/v1/extracts/${id}/urls?format=xml`, auth(key))).status).toBe(400);

    // The same content as one ZIP is another request (delivery is part of the hash), without URLs.
    const zip = await ask({ area: { geometry: rect(...BASE_BBOX) }, contents: ['ortho-master', 'vector-gml'] });
    expect(zip).toMatchObject({ delivery: 'zip', urls: null });
    expect(zip.id).not.toBe(id);
    const zipHead = await get(`/api/v1/extracts/${String(zip.id)}/download`, auth(key), 'HEAD');
    expect(Number(zipHead.headers.get('content-length'))).toBe(zip.zipBytes);
    const listing = await get(`/api/v1/extracts/${String(zip.id)}/urls`, auth(key));
    expect(listing.status).toBe(409);
    expect(((await listing.json()) as { type: string }).type).toBe('urn:pcrs:problem:not-url-delivery');
    expect((await get(`${base}${signer.sign(zip.id as number, 0, file.name, future)}`)).status).toBe(404);
  });

  it('once the extract has expired, its links answer 410', async () => {
    const file = files[0] as SignedFile;
    expect((await get(file.url)).status).toBe(200);
    await ctx.db.query(`UPDATE extracts SET expires_at = now() - interval '1 minute' WHERE id = $1`, [id]);
    const gone = await get(file.url);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { type: string }).type).toBe('urn:pcrs:problem:expired');
    expect((await get(`/api/v1/extracts/${id}/urls`, auth(key))).status).toBe(410);
  });
});
