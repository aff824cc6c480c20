import { fileTypeFromBuffer } from 'file-type';
import { XmlTokenizer, type XmlTag } from '../vector/gml/xml-tokenizer.js';
import { UserError } from '../util/errors.js';

/**
 * What an attachment is, told from its bytes (never from the name or the Content-Type the client
 * sent): JPEG, PNG, WebP, HEIC/HEIF and PDF by their signatures (`file-type`), GML by its root
 * element's namespace (GML or CNIG PCRS, read from the prologue by the GML reader's tokenizer: no
 * DOCTYPE, no entity ever expanded), DXF by its first group codes (`0 SECTION`, `2 HEADER`…). The
 * extension of the uploader's file name must agree; anything else (an executable renamed .jpg,
 * HTML named .png, SVG, which can carry script) is refused with 415 and the reason.
 * Also here: the file name sanitised for display, and its Content-Disposition (RFC 6266).
 */

export interface Kind {
  contentType: AttachmentContentType;
  /** Short name for messages. */
  label: string;
  /** Extensions (lowercase, no dot) a file of this kind may have. */
  extensions: readonly string[];
}

export const CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/heic', 'image/heif', 'application/pdf', 'application/gml+xml', 'image/vnd.dxf'] as const;
export type AttachmentContentType = (typeof CONTENT_TYPES)[number];

const KINDS: Readonly<Record<AttachmentContentType, Kind>> = {
  'image/jpeg': { contentType: 'image/jpeg', label: 'JPEG', extensions: ['jpg', 'jpeg', 'jpe', 'jfif'] },
  'image/png': { contentType: 'image/png', label: 'PNG', extensions: ['png'] },
  'image/webp': { contentType: 'image/webp', label: 'WebP', extensions: ['webp'] },
  'image/heic': { contentType: 'image/heic', label: 'HEIC', extensions: ['heic', 'heif', 'hif'] },
  'image/heif': { contentType: 'image/heif', label: 'HEIF', extensions: ['heif', 'heic', 'hif'] },
  'application/pdf': { contentType: 'application/pdf', label: 'PDF', extensions: ['pdf'] },
  'application/gml+xml': { contentType: 'application/gml+xml', label: 'GML', extensions: ['gml', 'xml'] },
  'image/vnd.dxf': { contentType: 'image/vnd.dxf', label: 'DXF', extensions: ['dxf'] },
};

/** What the sniffers read: the first bytes of the file (enough for every signature and prologue). */
export const SNIFF_BYTES = 64 * 1024;

const ACCEPTED = 'Accepted: JPEG, PNG, WebP, HEIC/HEIF photos, PDF, GML (GML or CNIG PCRS namespace) and DXF.';

const unsupported = (message: string) => new UserError('unsupported-attachment', message, { status: 415, hint: ACCEPTED });

/** Namespaces a GML extract's root element may be in: GML itself (any version) or the CNIG PCRS schemas. */
export function isGmlNamespace(uri: string): boolean {
  return /^http:\/\/www\.opengis\.net\/gml(\/|$)/.test(uri) || /^http:\/\/cnig\.gouv\.fr\/pcrs(-[a-z]+)?$/.test(uri);
}

type TextSniff = { kind: 'gml' } | { kind: 'dxf' } | { kind: 'refused'; reason: string } | { kind: 'unknown' };

const HTML_START = /^<(!doctype\s+html|html|head|body|script|iframe|object|embed|meta|style|title|a|div|p|img|svg|form)[\s>/]/i;
const DXF_SECTIONS = new Set(['HEADER', 'CLASSES', 'TABLES', 'BLOCKS', 'ENTITIES', 'OBJECTS', 'THUMBNAILIMAGE']);

/** GML, DXF, or the reason text content is refused, from the first bytes of a file. */
function sniffText(head: Buffer): TextSniff {
  if (head.includes(0)) return { kind: 'unknown' };
  let text = head.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const start = text.trimStart();
  if (HTML_START.test(start)) {
    return /^<svg[\s>/]/i.test(start) ? { kind: 'refused', reason: 'an SVG image (SVG can carry script)' } : { kind: 'refused', reason: 'an HTML document' };
  }
  if (start.startsWith('<')) return sniffXml(start);
  if (isDxf(start)) return { kind: 'dxf' };
  return { kind: 'unknown' };
}

/** The root element of an XML prologue: GML when in a GML/CNIG namespace. Reads no DTD, expands no entity. */
function sniffXml(text: string): TextSniff {
  let root: XmlTag | undefined;
  let doctype = false;
  let error: string | undefined;
  const tokenizer = new XmlTokenizer({
    openTag(tag) {
      root ??= tag;
    },
    closeTag() {},
    text() {},
    doctype() {
      doctype = true;
    },
    error(message) {
      error = message;
    },
  });
  // Stops at the first problem; the root's start tag is reported as soon as it is complete.
  tokenizer.write(text);
  if (root) {
    if (root.local.toLowerCase() === 'svg' || root.uri === 'http://www.w3.org/2000/svg') return { kind: 'refused', reason: 'an SVG image (SVG can carry script)' };
    if (root.local.toLowerCase() === 'html' || root.uri === 'http://www.w3.org/1999/xhtml') return { kind: 'refused', reason: 'an HTML document' };
    if (isGmlNamespace(root.uri)) return { kind: 'gml' };
    return { kind: 'refused', reason: `XML whose root element <${root.name.slice(0, 80)}> is not in a GML or CNIG PCRS namespace${root.uri ? ` (it is in ${root.uri.slice(0, 120)})` : ''}` };
  }
  if (doctype) return { kind: 'refused', reason: 'XML with a DOCTYPE (a GML extract has none)' };
  if (error) return { kind: 'refused', reason: `XML that is not well-formed (${error.slice(0, 120)})` };
  return { kind: 'refused', reason: `XML whose root element does not start within the first ${SNIFF_BYTES / 1024} KiB` };
}

/** A DXF (ASCII): group code / value lines, starting (after 999 comments) with 0 SECTION, 2 <section>. */
function isDxf(text: string): boolean {
  const lines = text.split(/\r?\n/, 40).map((l) => l.trim());
  let i = 0;
  while (lines[i] === '999') i += 2;
  return lines[i] === '0' && lines[i + 1] === 'SECTION' && lines[i + 2] === '2' && DXF_SECTIONS.has(lines[i + 3] ?? '');
}

/** The extension of a file name (lowercase, no dot), or '' when it has none. */
export function extensionOf(filename: string): string {
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(filename);
  return m ? (m[1] as string).toLowerCase() : '';
}

/**
 * The kind of a file from its first bytes, checked against the extension of its (sanitised) name.
 * Throws 415 with the reason when the content is not accepted or the name says something else.
 */
export async function sniffAttachment(head: Buffer, filename: string): Promise<Kind> {
  const ext = extensionOf(filename);
  let kind: Kind | undefined;
  const detected = await fileTypeFromBuffer(head);
  if (detected && detected.mime !== 'application/xml') {
    const known = (CONTENT_TYPES as readonly string[]).includes(detected.mime) ? KINDS[detected.mime as AttachmentContentType] : undefined;
    if (!known) throw unsupported(`This file's content is ${detected.mime} (.${detected.ext}), whatever its name says: it is not accepted as an attachment.`);
    kind = known;
  } else {
    const text = sniffText(head);
    if (text.kind === 'refused') throw unsupported(`This file's content is ${text.reason}: it is not accepted as an attachment.`);
    if (text.kind === 'unknown') throw unsupported('This file\'s content is none of the accepted kinds (its first bytes match no accepted format).');
    kind = KINDS[text.kind === 'gml' ? 'application/gml+xml' : 'image/vnd.dxf'];
  }
  if (!kind.extensions.includes(ext)) {
    throw unsupported(
      ext
        ? `The file is named .${ext} but its content is ${kind.label}: the name and the content must agree (.${kind.extensions.join(', .')}).`
        : `The file name has no extension; its content is ${kind.label}: name it .${kind.extensions[0]}.`,
    );
  }
  return kind;
}

// Controls, bidi overrides and isolates, zero-width and other invisible format characters.
const INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
const MAX_NAME = 200;

/**
 * A file name for display: the last segment of whatever path was sent (both separators), NFC,
 * without control, bidi or zero-width characters, no leading dots, at most 200 characters (the
 * extension kept). Never used to build a storage key. `fallback` when nothing is left.
 */
export function sanitizeFilename(raw: string, fallback = 'piece-jointe'): string {
  let name = raw.normalize('NFC').replace(INVISIBLE, '');
  name = name.split(/[/\\]/).pop() ?? '';
  name = name.replace(/[<>:"|?*]/g, '_').replace(/\s+/g, ' ').trim().replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if ([...name].length > MAX_NAME) {
    const ext = extensionOf(name);
    const chars = [...name];
    name = ext ? `${chars.slice(0, MAX_NAME - ext.length - 1).join('')}.${ext}` : chars.slice(0, MAX_NAME).join('');
  }
  return name || fallback;
}

/**
 * `Content-Disposition: attachment` with an ASCII `filename` (other characters as `_`) and the
 * exact UTF-8 name in `filename*` (RFC 6266, RFC 8187).
 */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
