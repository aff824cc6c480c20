/**
 * A streaming, namespace-aware XML tokenizer for the GML reader: start tags (with resolved
 * namespaces), end tags and text, with line numbers. It scans with `indexOf` and sticky regular
 * expressions over whole chunks instead of character by character, which makes it several times
 * faster than a general SAX parser on coordinate-heavy GML.
 *
 * What it checks (well-formedness as far as the reader relies on it): tags nest and match, one
 * root element, attribute syntax, no duplicate attribute, bound namespace prefixes, no text outside
 * the root, the five predefined entities and character references only — any other entity is an
 * error, never resolved. A DOCTYPE is reported to the caller (the reader refuses it) and stops the
 * tokenizer: nothing of it is ever expanded. Comments and processing instructions are skipped.
 */

export interface XmlAttribute {
  /** Qualified name as written. */
  name: string;
  prefix: string;
  local: string;
  uri: string;
  value: string;
}

export interface XmlTag {
  name: string;
  prefix: string;
  local: string;
  uri: string;
  attributes: Record<string, XmlAttribute>;
}

export interface XmlHandlers {
  /** A start tag (an empty-element tag gives `openTag` then `closeTag`); `line` is where its `<` is. */
  openTag(tag: XmlTag, line: number): void;
  closeTag(): void;
  /** Character data (entities decoded, newlines normalised), CDATA sections included. */
  text(text: string): void;
  /** A `<!DOCTYPE`: the tokenizer stops there. */
  doctype(line: number): void;
  /** A well-formedness error: the tokenizer stops there. */
  error(message: string): void;
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const NAME_START = 'A-Za-z_\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD';
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
/** A qualified name: NCName, optionally `prefix:`. */
const QNAME = `[${NAME_START}][${NAME_CHAR}]*(?::[${NAME_START}][${NAME_CHAR}]*)?`;
// The classes hold ranges of combining marks (XML NameChar), not combined sequences.
/* eslint-disable no-misleading-character-class */
const NAME_RE = new RegExp(QNAME, 'y');
const ATTR_RE = new RegExp(`[ \\t\\r\\n]+(${QNAME})[ \\t\\r\\n]*=[ \\t\\r\\n]*(?:"([^"<]*)"|'([^'<]*)')`, 'y');
const TAG_END_RE = /[ \t\r\n]*(\/?)>/y;
const CLOSE_RE = new RegExp(`</(${QNAME})[ \\t\\r\\n]*>`, 'y');
/* eslint-enable no-misleading-character-class */
const ENTITY_RE = /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([A-Za-z_][\w.-]*))?;?/g;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
/** A tag longer than this with no end in sight is malformed, not waiting for the next chunk. */
const MAX_PENDING_MARKUP = 1 << 20;

function countNewlines(s: string, from = 0, to = s.length): number {
  let n = 0;
  for (let k = s.indexOf('\n', from); k !== -1 && k < to; k = s.indexOf('\n', k + 1)) n++;
  return n;
}

const isXmlChar = (c: number) => c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);

interface OpenElement {
  name: string;
  /** Namespace bindings in scope (shared with the parent when the element declares none). */
  ns: Record<string, string>;
}

export class XmlTokenizer {
  /** Line of the current position (1-based). */
  line = 1;
  private buf = '';
  private readonly open: OpenElement[] = [];
  private rootNs: Record<string, string> = { xml: XML_NS };
  private sawRoot = false;
  private stopped = false;

  constructor(private readonly handlers: XmlHandlers) {}

  write(chunk: string): void {
    if (this.stopped) return;
    this.buf += chunk;
    this.parse(false);
  }

  close(): void {
    if (this.stopped) return;
    this.parse(true);
    if (this.stopped) return;
    if (this.open.length > 0) this.fail(`unexpected end of document: unclosed tag <${(this.open[this.open.length - 1] as OpenElement).name}>`);
    else if (!this.sawRoot) this.fail('document must contain a root element');
  }

  private fail(message: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.buf = '';
    this.handlers.error(message);
  }

  private parse(final: boolean): void {
    const b = this.buf;
    let i = 0;
    while (i < b.length && !this.stopped) {
      const lt = b.indexOf('<', i);
      if (lt === -1) {
        // Text to the end of the buffer; an entity reference may be cut by the chunk boundary.
        let end = b.length;
        if (!final) {
          const amp = b.lastIndexOf('&');
          if (amp >= i && b.indexOf(';', amp) === -1 && b.length - amp < 16) end = amp;
          else if (b.charCodeAt(end - 1) === 0x0d) end--; // a CR whose LF may come next
        }
        this.textRun(b, i, end);
        i = end;
        break;
      }
      if (lt > i) this.textRun(b, i, lt);
      if (this.stopped) return;
      const next = b.charCodeAt(lt + 1);
      if (Number.isNaN(next)) {
        if (final) this.fail('unexpected end of document inside markup');
        i = lt;
        break;
      }
      const consumed = next === 0x2f ? this.endTag(b, lt, final) : next === 0x21 ? this.declaration(b, lt, final) : next === 0x3f ? this.instruction(b, lt, final) : this.startTag(b, lt, final);
      if (consumed < 0) {
        i = lt; // incomplete: wait for the next chunk
        break;
      }
      i = consumed;
    }
    this.buf = this.stopped ? '' : b.slice(i);
  }

  private waitOrFail(b: string, at: number, final: boolean, message: string): number {
    if (!final && b.length - at < MAX_PENDING_MARKUP) return -1;
    this.fail(final && b.length - at < MAX_PENDING_MARKUP ? `unexpected end of document: ${message}` : message);
    return -1;
  }

  private textRun(b: string, from: number, to: number): void {
    if (from >= to) return;
    let text = b.slice(from, to);
    const lines = countNewlines(text);
    if (this.open.length === 0) {
      if (/[^ \t\r\n\uFEFF]/.test(text)) {
        this.fail(this.sawRoot ? 'text after the root element' : 'text before the root element');
        return;
      }
      this.line += lines;
      return;
    }
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    if (text.includes('&')) {
      const decoded = this.decodeEntities(text);
      if (decoded === null) return;
      text = decoded;
    }
    this.line += lines;
    this.handlers.text(text);
  }

  /** Replaces entity and character references; null (after reporting) on an undefined one. */
  private decodeEntities(text: string): string | null {
    let bad: string | null = null;
    const out = text.replace(ENTITY_RE, (m: string, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
      if (bad !== null) return '';
      if (!m.endsWith(';')) {
        bad = `'&' must start an entity or character reference ('${m}…')`;
        return '';
      }
      if (name !== undefined) {
        const v = PREDEFINED[name];
        if (v === undefined) bad = `undefined entity &${name}; (only &lt; &gt; &amp; &quot; &apos; and character references are allowed; entities are never resolved)`;
        return v ?? '';
      }
      const code = hex !== undefined ? parseInt(hex, 16) : Number(dec);
      if (!isXmlChar(code)) {
        bad = `invalid character reference ${m}`;
        return '';
      }
      return String.fromCodePoint(code);
    });
    if (bad !== null) {
      this.fail(bad);
      return null;
    }
    return out;
  }

  private startTag(b: string, lt: number, final: boolean): number {
    if (this.sawRoot && this.open.length === 0) {
      this.fail('more than one root element');
      return -1;
    }
    NAME_RE.lastIndex = lt + 1;
    const nm = NAME_RE.exec(b);
    if (!nm) {
      if (b.length - lt < 2 + 256 && !final) return -1;
      this.fail(`invalid start tag '${b.slice(lt, lt + 20).replace(/\s+/g, ' ')}'`);
      return -1;
    }
    const name = nm[0];
    let pos = lt + 1 + name.length;
    const raw: Array<[string, string]> = [];
    for (;;) {
      ATTR_RE.lastIndex = pos;
      const a = ATTR_RE.exec(b);
      if (!a) break;
      raw.push([a[1] as string, (a[2] ?? a[3]) as string]);
      pos = ATTR_RE.lastIndex;
    }
    TAG_END_RE.lastIndex = pos;
    const end = TAG_END_RE.exec(b);
    if (!end) return this.waitOrFail(b, lt, final, `malformed start tag <${name}> (attributes must be name="value")`);
    const selfClosing = end[1] === '/';
    const tagLine = this.line;
    const after = TAG_END_RE.lastIndex;
    // Namespace declarations first (they apply to the element and its attributes).
    const parentNs = this.open.length ? (this.open[this.open.length - 1] as OpenElement).ns : this.rootNs;
    let ns = parentNs;
    const attributes: Record<string, XmlAttribute> = {};
    for (const [qname, rawValue] of raw) {
      if (Object.hasOwn(attributes, qname)) {
        this.fail(`duplicate attribute ${qname} on <${name}>`);
        return -1;
      }
      let v = rawValue;
      if (/[\t\n\r]/.test(v)) v = v.replace(/\r\n/g, ' ').replace(/[\t\n\r]/g, ' ');
      if (v.includes('&')) {
        const d = this.decodeEntities(v);
        if (d === null) return -1;
        v = d;
      }
      const colon = qname.indexOf(':');
      const prefix = colon === -1 ? '' : qname.slice(0, colon);
      const local = colon === -1 ? qname : qname.slice(colon + 1);
      if (qname === 'xmlns' || prefix === 'xmlns') {
        if (ns === parentNs) ns = { ...parentNs };
        ns[prefix === 'xmlns' ? local : ''] = v;
      }
      attributes[qname] = { name: qname, prefix, local, uri: '', value: v };
    }
    for (const k in attributes) {
      const a = attributes[k] as XmlAttribute;
      if (a.name === 'xmlns' || a.prefix === 'xmlns') a.uri = XMLNS_NS;
      else if (a.prefix) {
        const u = ns[a.prefix];
        if (u === undefined) {
          this.fail(`unbound namespace prefix '${a.prefix}' (attribute ${a.name} on <${name}>)`);
          return -1;
        }
        a.uri = u;
      }
    }
    const colon = name.indexOf(':');
    const prefix = colon === -1 ? '' : name.slice(0, colon);
    const uri = ns[prefix] ?? (prefix === '' ? '' : undefined);
    if (uri === undefined) {
      this.fail(`unbound namespace prefix '${prefix}' (element <${name}>)`);
      return -1;
    }
    this.sawRoot = true;
    this.line += countNewlines(b, lt, after);
    this.open.push({ name, ns });
    this.handlers.openTag({ name, prefix, local: colon === -1 ? name : name.slice(colon + 1), uri, attributes }, tagLine);
    if (selfClosing && !this.stopped) {
      this.open.pop();
      this.handlers.closeTag();
    }
    return after;
  }

  private endTag(b: string, lt: number, final: boolean): number {
    CLOSE_RE.lastIndex = lt;
    const m = CLOSE_RE.exec(b);
    if (!m) return this.waitOrFail(b, lt, final, `malformed end tag '${b.slice(lt, lt + 30).replace(/\s+/g, ' ')}'`);
    const name = m[1] as string;
    const top = this.open[this.open.length - 1];
    if (!top) {
      this.fail(`end tag </${name}> without a start tag`);
      return -1;
    }
    if (top.name !== name) {
      this.fail(`unexpected end tag </${name}>: <${top.name}> is open`);
      return -1;
    }
    this.line += countNewlines(b, lt, CLOSE_RE.lastIndex);
    this.open.pop();
    this.handlers.closeTag();
    return CLOSE_RE.lastIndex;
  }

  private declaration(b: string, lt: number, final: boolean): number {
    if (b.startsWith('<!--', lt)) {
      const end = b.indexOf('-->', lt + 4);
      if (end === -1) return this.waitOrFail(b, lt, final, 'unclosed comment');
      this.line += countNewlines(b, lt, end);
      return end + 3;
    }
    if (b.startsWith('<![CDATA[', lt)) {
      const end = b.indexOf(']]>', lt + 9);
      if (end === -1) return this.waitOrFail(b, lt, final, 'unclosed CDATA section');
      if (this.open.length === 0) {
        this.fail('CDATA section outside the root element');
        return -1;
      }
      const text = b.slice(lt + 9, end);
      this.line += countNewlines(text);
      this.handlers.text(text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);
      return end + 3;
    }
    if (b.startsWith('<!DOCTYPE', lt)) {
      this.stopped = true;
      this.buf = '';
      this.handlers.doctype(this.line);
      return -1;
    }
    if (!final && b.length - lt < 9) return -1;
    this.fail(`unexpected markup '${b.slice(lt, lt + 12)}'`);
    return -1;
  }

  private instruction(b: string, lt: number, final: boolean): number {
    const end = b.indexOf('?>', lt + 2);
    if (end === -1) return this.waitOrFail(b, lt, final, 'unclosed processing instruction');
    this.line += countNewlines(b, lt, end);
    return end + 2;
  }
}
