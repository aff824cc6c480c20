/**
 * The bulk publication tree end to end on PGlite and PostgreSQL, over a listening server and the
 * streams fixture (dalles ingested through the real ingest path): `wget -m -np` copies the tree,
 * every dalle byte-identical to its stored master and `sha256sum -c SHA256SUMS` accepting the
 * mirrored folder; Range, HEAD and ETag behave; a restricted version is neither listed nor served;
 * traversal and unknown names are 404s.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { streamsFixture, type StreamsFixture } from '../raster/test-support/streams-fixture.js';
import { buildServer } from '../server/app.js';
import { ENGINES } from '../test-support/db.js';
import { execTool } from '../util/exec.js';
import { publicationCapability } from './capability.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.each(ENGINES)('bulk publication tree on $engine', ({ engine, open }) => {
  let f: StreamsFixture;
  let ctx: AppContext;
  let app: FastifyInstance;
  let base: string;
  let version: string;
  let versions: Array<{ id: number; name: string }>;
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-publication-'));
  const get = (p: string, headers: Record<string, string> = {}, method = 'GET') => fetch(`${base}${p}`, { headers, method, redirect: 'manual' });
  /** The stored masters of one version (the first published one unless named). */
  const masters = async (versionName = version) => {
    const id = versions.find((v) => v.name === versionName)?.id;
    return (await ctx.catalog.assets.list({ kind: 'master', state: 'stored' })).filter((a) => a.datasetId === 'ortho' && a.sha256 && a.versionId === id);
  };

  beforeAll(async () => {
    f = await streamsFixture({}, { ...(engine === 'postgres' ? { open } : {}) });
    ctx = buildAppContext(f.config, f.t.db);
    app = await buildServer(ctx, { logger: false, capabilities: [publicationCapability] });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    versions = (await ctx.catalog.listVersions('ortho')).filter((v) => v.status === 'published').map((v) => ({ id: v.id, name: v.name }));
    expect(versions.length).toBeGreaterThan(0);
    version = versions[0]?.name as string;
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await ctx?.access.close?.().catch(() => undefined);
    await f?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('wget -m -np copies the tree: every dalle identical to its stored master, SHA256SUMS checks, the licence is there', async () => {
    const out = path.join(dir, 'mirror');
    const wget = await execTool('wget', ['-q', '-m', '-np', '-nH', '-e', 'robots=off', '-P', out, `${base}/telechargement/`], { timeoutMs: 120_000 });
    expect(wget.code, wget.stderr).toBe(0);
    expect(readdirSync(path.join(out, 'telechargement', 'ortho')).sort()).toEqual([...versions.map((v) => v.name), 'index.html'].sort());
    for (const v of versions) {
      const folder = path.join(out, 'telechargement', 'ortho', v.name);
      const stored = await masters(v.name);
      const tifs = readdirSync(folder).filter((n) => n.endsWith('.tif'));
      expect(tifs.length).toBe(stored.length);
      expect(tifs.length).toBeGreaterThan(0);
      for (const n of tifs) {
        const bytes = readFileSync(path.join(folder, n));
        expect(stored.some((m) => m.sha256 === sha256(bytes) && m.bytes === bytes.length && m.location.endsWith(n))).toBe(true);
      }
      const check = await execTool('sha256sum', ['-c', 'SHA256SUMS'], { cwd: folder });
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout.trim().split('\n')).toHaveLength(tifs.length);
      expect(readFileSync(path.join(folder, 'LICENCE.txt'), 'utf8')).toContain('LICENCE OUVERTE');
      const index = readFileSync(path.join(folder, 'index.html'), 'utf8');
      for (const n of tifs) expect(index).toContain(`href="${n}"`);
    }
  }, 180_000);

  it('a dalle: Range 206 with the right bytes, HEAD with its length, ETag = SHA-256 and 304; directories without a slash redirect', async () => {
    const [m] = await masters();
    if (!m?.sha256) throw new Error('no master');
    const name = m.location.split('/').pop() as string;
    const url = `/telechargement/ortho/${version}/${name}`;
    const whole = Buffer.from(await (await get(url)).arrayBuffer());
    expect(sha256(whole)).toBe(m.sha256);
    const part = await get(url, { range: 'bytes=100-1099' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-1099/${m.bytes}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(100, 1100))).toBe(true);
    const head = await get(url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(m.bytes));
    expect(head.headers.get('etag')).toBe(`"${m.sha256}"`);
    expect((await get(url, { 'if-none-match': `"${m.sha256}"` })).status).toBe(304);
    expect((await get(url, { range: `bytes=${m.bytes + 10}-` })).status).toBe(416);
    const redirect = await get(`/telechargement/ortho/${version}`);
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe(`/telechargement/ortho/${version}/`);
    const index = await get(`/telechargement/ortho/${version}/`);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect((await get(`/telechargement/ortho/${version}/`, { 'if-none-match': index.headers.get('etag') as string })).status).toBe(304);
  });

  it('traversal, encoded slashes and unknown names are 404s with no path in the answer', async () => {
    const [m] = await masters();
    const name = m?.location.split('/').pop() as string;
    for (const p of [
      `/telechargement/ortho/${version}/..%2F..%2F..%2Fetc%2Fpasswd`,
      `/telechargement/ortho/${version}/%2e%2e`,
      `/telechargement/ortho/%2e%2e/${name}`,
      `/telechargement/ortho/${version}/${name.replace(/\.tif$/, '.jp2')}`,
      `/telechargement/ortho/${version}/${name}.tif`,
      `/telechargement/ortho/nope/`,
      `/telechargement/raw-at/`,
      `/telechargement/ortho/${version}/index.php`,
      `/telechargement/ortho/${version}/../../../../etc/passwd`,
      `/telechargement/ortho/${version}/..`,
    ]) {
      // curl --path-as-is: sent as written (fetch would resolve the dot segments before sending).
      const r = await execTool('curl', ['-s', '--path-as-is', '-w', '\n%{http_code}', `${base}${p}`]);
      const status = r.stdout.slice(r.stdout.lastIndexOf('\n') + 1);
      expect(status, p).toBe('404');
      expect(r.stdout).not.toContain(f.config.dataDir);
      expect(r.stdout).not.toContain('/tmp/');
      expect(r.stdout).not.toContain('root:');
    }
  });

  it('a restricted version is not published: absent from the indexes, 404 for its pages and files', async () => {
    const [m] = await masters();
    const name = m?.location.split('/').pop() as string;
    await ctx.db.query(`UPDATE datasets SET visibility = 'restricted' WHERE id = 'ortho'`);
    await ctx.access.invalidate({ all: true });
    try {
      expect(await (await get('/telechargement/')).text()).not.toContain('href="ortho/"');
      for (const p of ['/telechargement/ortho/', `/telechargement/ortho/${version}/`, `/telechargement/ortho/${version}/SHA256SUMS`, `/telechargement/ortho/${version}/${name}`]) {
        expect((await get(p)).status, p).toBe(404);
      }
    } finally {
      await ctx.db.query(`UPDATE datasets SET visibility = 'public' WHERE id = 'ortho'`);
      await ctx.access.invalidate({ all: true });
    }
    expect(await (await get('/telechargement/')).text()).toContain('href="ortho/"');
  });
});
