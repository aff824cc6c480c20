import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { EXPORT_MEDIA_TYPES } from '../vector/export.js';
import path from 'node:path';
import { serverSecret } from '../access/server-secret.js';
import type { Caller } from '../context/access.js';
import { UserError } from '../util/errors.js';
import type { ExtractService } from './service.js';
import type { EntryRow, ExtractRecord } from './store.js';
import type { ZipEntrySource } from './zip.js';

/**
 * Signed URL delivery (issue 13), for areas too large for one comfortable ZIP: an extract asked
 * with `delivery: 'urls'` lists one URL per file of its plan (masters, GML, texts), each
 * `/api/v1/extracts/{id}/files/{seq}/{name}?expires=…&sig=…`, where `sig` is an HMAC-SHA-256 of
 * (id, seq, name, expires) under a key derived by HKDF from the server secret, and `expires` the
 * extract's own expiry. The signature is the authorisation (no session: `wget -i`, `aria2c -i`),
 * checked in constant time. Such links can be passed on, which is why they exist only for the
 * extracts asked that way. The files are read as the ZIP reads its entries.
 */

export type UrlListFormat = 'text' | 'aria2' | 'json';

export interface SignedFile {
  name: string;
  size: number;
  sha256: string;
  url: string;
}

const SIG = /^[A-Za-z0-9_-]{43}$/;
const EXPIRES = /^[0-9]{1,12}$/;

const badSignature = () => new UserError('bad-signature', 'This link is not valid: it may have been cut or altered. Copy it whole from the list.', { status: 403, exitCode: 77 });

/** The path of one file of an extract (each segment of its name percent-encoded). */
export function filePath(extractId: number, seq: number, name: string): string {
  return `/api/v1/extracts/${extractId}/files/${seq}/${name.split('/').map(encodeURIComponent).join('/')}`;
}

/** Content-Type of a file of an extract, from its name (the names are the plan's own). */
export function fileContentType(name: string): string {
  const ext = path.extname(name).toLowerCase();
  // The vector files take the export's own media types (GML, GeoPackage, DXF).
  const vector = (EXPORT_MEDIA_TYPES as Record<string, string | undefined>)[ext.slice(1)];
  if (vector) return vector;
  return ext === '.tif' || ext === '.tiff' ? 'image/tiff' : ext === '.jp2' ? 'image/jp2' : ext === '.vrt' ? 'application/xml' : ext === '.txt' || ext === '.sha256' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
}

export class ExtractUrls {
  private key: Buffer | undefined;

  constructor(private readonly service: ExtractService) {}

  private mac(extractId: number, seq: number, name: string, expires: number): Buffer {
    this.key ??= Buffer.from(hkdfSync('sha256', serverSecret(this.service.ctx.config), Buffer.from('pcrs-extracts'), Buffer.from('signed file urls v1'), 32));
    return createHmac('sha256', this.key).update(`${extractId}\n${seq}\n${name}\n${expires}`).digest();
  }

  /** The signed path and query of one file, valid until `expires` (Unix seconds). */
  sign(extractId: number, seq: number, name: string, expires: number): string {
    return `${filePath(extractId, seq, name)}?expires=${expires}&sig=${this.mac(extractId, seq, name, expires).toString('base64url')}`;
  }

  /** One signed URL per file of the caller's ready extract (others: 404; not asked as URLs: 409). */
  async list(caller: Caller, extractId: number, base: string): Promise<SignedFile[]> {
    const e = await this.service.getFor(caller, extractId);
    this.service.assertReady(e);
    if (e.request.delivery !== 'urls') {
      throw new UserError('not-url-delivery', `Extract ${e.id} was asked as one ZIP: download it, or ask again with delivery 'urls'.`, { status: 409, hint: `GET /api/v1/extracts/${e.id}/download`, exitCode: 1 });
    }
    const expires = expiresOf(e);
    return (await this.service.store.entries(e.id)).map((r) => ({ name: r.name, size: r.bytes, sha256: r.sha256, url: `${base}${this.sign(e.id, r.seq, r.name, expires)}` }));
  }

  /**
   * The file a signed URL names: 403 when the signature is missing or wrong, 410 when the link or
   * the extract has expired, 404 when there is no such file.
   */
  async file(extractId: number, seq: number, name: string, expires: string | undefined, sig: string | undefined): Promise<{ extract: ExtractRecord; entry: EntryRow; source: ZipEntrySource }> {
    if (sig === undefined || expires === undefined || !SIG.test(sig) || !EXPIRES.test(expires)) throw badSignature();
    const given = Buffer.from(sig, 'base64url');
    const expected = this.mac(extractId, seq, name, Number(expires));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw badSignature();
    const gone = () => new UserError('expired', `Extract ${extractId} has expired: ask for it again.`, { status: 410, exitCode: 1 });
    if (Number(expires) * 1000 <= Date.now()) throw gone();
    const notFound = () => new UserError('not-found', `There is no such file in extract ${extractId}.`, { status: 404 });
    const extract = await this.service.store.get(extractId);
    if (!extract || extract.request.delivery !== 'urls') throw notFound();
    if (extract.state === 'expired' || (extract.expiresAt !== null && new Date(extract.expiresAt).getTime() <= Date.now())) throw gone();
    if (extract.state !== 'ready') throw notFound();
    const entry = await this.service.store.entry(extractId, seq);
    if (!entry || entry.name !== name) throw notFound();
    return { extract, entry, source: await this.service.entrySource(entry) };
  }
}

const expiresOf = (e: ExtractRecord) => Math.floor(new Date(e.expiresAt as string).getTime() / 1000);

/**
 * The list as `wget -i` reads it (one URL a line), as `aria2c -i` reads it (the URL, then indented
 * `out=` and `checksum=sha-256=` options), or as JSON.
 */
export function formatUrlList(files: readonly SignedFile[], format: UrlListFormat): { contentType: string; body: string } {
  if (format === 'json') return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(files) };
  if (format === 'aria2') return { contentType: 'text/plain; charset=utf-8', body: files.map((f) => `${f.url}\n  out=${f.name}\n  checksum=sha-256=${f.sha256}\n`).join('') };
  return { contentType: 'text/plain; charset=utf-8', body: files.map((f) => `${f.url}\n`).join('') };
}
