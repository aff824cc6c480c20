/**
 * Streaming reader of CNIG PCRS v2.0 GML files: fs read stream → text decoder → XmlTokenizer → one small
 * element tree per feature → `PcrsFeature`, yielded one by one by an async generator.
 *
 * Memory is bounded by the largest single feature (plus one read chunk), whatever the file size:
 * only the feature being read is held, and the consumer pulls features (back-pressure).
 *
 * XML safety: a DOCTYPE (hence any entity declaration — billion laughs, external entities) is
 * rejected before anything is expanded or fetched; the tokenizer never resolves entities and knows
 * only the five predefined ones. Malformed XML stops the reader with a `GmlReadError` (rule, line).
 * Problems inside a feature (bad coordinates, unknown geometry element, …) do not stop it: they are
 * reported through `onIssue` (and in `feature.issues`) with the line and object id, and the feature
 * is still yielded, with `geometry: null` when the geometry could not be read.
 */
import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';
import type { Readable } from 'node:stream';
import { UserError } from '../../util/errors.js';
import { parseSrsName } from './srs-name.js';
import { XmlTokenizer, type XmlAttribute, type XmlTag } from './xml-tokenizer.js';
import { GML_GEOMETRY_ELEMENTS, GeometryError, gmlAttr, isGmlNs, parseGmlGeometry, attr, type XAttr, type XNode } from './gml-geometry.js';
import type { GmlIssue, PcrsFeature, PcrsGeometry, PcrsValue } from './pcrs-model.js';
import { PCRS_INFO_NS, PCRS_NS, XLINK_NS, XSI_NS, pcrsClass, pcrsProperty } from './pcrs-model.js';

export interface GmlReadOptions {
  /** srsName for geometries that have none on themselves, their ancestors or a `gml:boundedBy`. */
  defaultSrsName?: string;
  /** Max chord error when linearising circular arcs, in metres (default 0.005). */
  arcTolerance?: number;
  /** Called for every problem found (feature-level and file-level warnings). */
  onIssue?: (issue: GmlIssue) => void;
  /** Called once, when the root element has been read. */
  onHeader?: (header: GmlHeader) => void;
  /** Fill `feature.propertyLines` (used by the validator to point at the offending property). */
  propertyLines?: boolean;
  /** Largest accepted feature, in characters of XML text (default 256 Mi). */
  maxFeatureChars?: number;
  /** Read chunk size in bytes (default 256 KiB). */
  chunkSize?: number;
  signal?: AbortSignal;
}

export interface GmlHeader {
  /** Local name of the root element (PCRS: `PlanCorpsRueSimplifie`). */
  rootName: string;
  rootNamespace: string;
  /** `version` attribute of the root, if any. */
  version: string | null;
  gmlId: string | null;
  /** Encoding used to decode the file. */
  encoding: string;
  /** Line of the root start tag. */
  line: number;
}

/** A fatal problem: the file cannot be read further (not XML, malformed, DOCTYPE, encoding). */
export class GmlReadError extends UserError {
  constructor(
    readonly rule: string,
    readonly line: number,
    message: string,
  ) {
    super(rule, message, { status: 422 });
    this.name = 'GmlReadError';
  }
}

/** Feature collection properties whose children are features. */
const MEMBER_ONE = new Set(['featureMember', 'member']);
const MEMBER_MANY = new Set(['featureMembers']);

interface Builder {
  root: XNode;
  /** Open elements inside this feature, root first. */
  path: XNode[];
  chars: number;
  parent: Builder | null;
  /** Property element of the parent feature that contains this (inline nested) feature. */
  parentProperty: XNode | null;
  gmlId: string | null;
}

type Frame = 'root' | 'member' | 'members' | 'rootBoundedBy' | 'skip' | 'feature';

/**
 * Reads the features of a PCRS GML file (path or readable byte stream), one at a time.
 * Throws `GmlReadError` on malformed XML / DOCTYPE / undecodable text, `UserError` if the file
 * cannot be opened.
 */
export async function* readPcrsGml(source: string | Readable, options: GmlReadOptions = {}): AsyncGenerator<PcrsFeature, void, undefined> {
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const stream = typeof source === 'string' ? createReadStream(source, { highWaterMark: chunkSize }) : source;
  const state = new ReaderState(options);
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  try {
    let decoder: TextDecoder | null = null;
    let head: Buffer[] = [];
    let headBytes = 0;
    for (;;) {
      let next: IteratorResult<Buffer | string>;
      try {
        next = await iterator.next();
      } catch (e) {
        throw openError(e, source);
      }
      if (next.done) break;
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      if (!decoder) {
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes < 1024) continue;
        const buf = Buffer.concat(head);
        head = [];
        decoder = state.makeDecoder(buf);
        state.write(decoder.decode(buf, { stream: true }));
      } else {
        state.write(decoder.decode(chunk, { stream: true }));
      }
      // Complete features first, then the fatal error (if any) that stopped the parse.
      yield* state.drain();
      state.throwIfFatal();
    }
    if (!decoder) {
      const buf = Buffer.concat(head);
      decoder = state.makeDecoder(buf);
      state.write(decoder.decode(buf, { stream: true }));
    }
    state.write(decoder.decode());
    state.close();
    yield* state.drain();
    state.throwIfFatal();
  } finally {
    // Early exit (consumer break, error): release the file / stream.
    if (typeof source === 'string') stream.destroy();
    else await iterator.return?.();
  }
}

function openError(e: unknown, source: string | Readable): unknown {
  const err = e as NodeJS.ErrnoException;
  if (typeof source === 'string' && (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR')) {
    return new UserError('file-unreadable', `cannot read ${source}: ${err.message}`, { status: 400 });
  }
  return e;
}

class ReaderState {
  private readonly parser: XmlTokenizer;
  private readonly queue: PcrsFeature[] = [];
  private fatal: GmlReadError | null = null;
  private readonly frames: Frame[] = [];
  private builder: Builder | null = null;
  private rootBoundedBy: XNode[] | null = null;
  private rootSrsName: string | null = null;
  /** First srsDimension declared anywhere in the file: default for posLists without one. */
  private fileDimension: number | null = null;
  private tagLine = 1;
  private sawRoot = false;
  private sawText = false;
  private encoding = 'utf-8';
  private encodingIssues = 0;
  private prologTail = '';
  private prologLines = 0;

  constructor(private readonly options: GmlReadOptions) {
    this.parser = new XmlTokenizer({
      error: (message) => this.fail('xml-malformed', this.describeError(message)),
      doctype: () => this.fail('xml-doctype', DOCTYPE_MESSAGE),
      openTag: (tag, line) => {
        this.tagLine = line;
        this.open(tag);
      },
      closeTag: () => this.close1(),
      text: (t) => this.text(t),
    });
  }

  makeDecoder(head: Buffer): TextDecoder {
    let label = 'utf-8';
    if (head[0] === 0xff && head[1] === 0xfe) label = 'utf-16le';
    else if (head[0] === 0xfe && head[1] === 0xff) label = 'utf-16be';
    else if (!(head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf)) {
      const decl = /^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head.subarray(0, 512).toString('latin1'));
      if (decl?.[1]) label = decl[1];
    }
    try {
      const d = new TextDecoder(label);
      this.encoding = d.encoding;
      return d;
    } catch {
      throw new GmlReadError('xml-encoding', 1, `unsupported character encoding '${label}' declared in the XML declaration`);
    }
  }

  /** Feeds decoded text; a fatal error is recorded (see `throwIfFatal`), later text is ignored. */
  write(text: string): void {
    if (this.fatal) return;
    if (!this.sawText) {
      const t = text.replace(/^\uFEFF/, '').trimStart();
      if (t.length > 0) {
        this.sawText = true;
        if (!t.startsWith('<')) {
          this.fatal = new GmlReadError('not-xml', 1, `not an XML file: it starts with '${t.slice(0, 20).replace(/\s+/g, ' ')}' instead of '<'`);
          return;
        }
      }
    }
    if (!this.sawRoot) {
      const doctype = this.findDoctype(text);
      if (doctype) {
        this.fatal = doctype;
        return;
      }
    }
    this.parser.write(text);
  }

  /**
   * Rejects a DOCTYPE before the XML parser even sees it (so that a huge internal subset is
   * never buffered), with the line where it starts. the tokenizer's own doctype stop is the backstop.
   * Only the prolog (before the first start tag) is searched.
   */
  private findDoctype(text: string): GmlReadError | null {
    const hay = this.prologTail + text;
    const rootAt = hay.search(/<[A-Za-z_:]/);
    const prolog = rootAt >= 0 ? hay.slice(0, rootAt) : hay;
    const i = prolog.indexOf('<!DOCTYPE');
    if (i >= 0) {
      const line = this.prologLines - countNewlines(this.prologTail) + countNewlines(hay.slice(0, i)) + 1;
      return new GmlReadError('xml-doctype', line, DOCTYPE_MESSAGE);
    }
    this.prologLines += countNewlines(text);
    this.prologTail = hay.slice(-8);
    return null;
  }

  close(): void {
    if (this.fatal) return;
    if (!this.sawText) {
      this.fatal = new GmlReadError('not-xml', 1, 'the file is empty');
      return;
    }
    this.parser.close();
  }

  throwIfFatal(): void {
    if (this.fatal) throw this.fatal;
  }

  *drain(): Generator<PcrsFeature> {
    // Features are queued while a chunk is parsed, then handed out before the next chunk is read.
    for (let i = 0; i < this.queue.length; i++) yield this.queue[i] as PcrsFeature;
    this.queue.length = 0;
  }

  private describeError(msg: string): string {
    if (!this.sawRoot) return `not a well-formed XML document: ${msg}`;
    if (/unexpected end of document/.test(msg)) return `the XML is truncated or not closed: ${msg}`;
    return `malformed XML: ${msg}`;
  }

  private fail(rule: string, message: string): void {
    if (this.fatal) return;
    this.fatal = new GmlReadError(rule, this.parser.line, message);
  }

  private issue(i: GmlIssue, into?: GmlIssue[]): void {
    into?.push(i);
    this.options.onIssue?.(i);
  }

  // --- SAX events -----------------------------------------------------------------------------

  private open(tag: XmlTag): void {
    if (this.fatal) return;
    const line = this.tagLine;
    const uri = tag.uri;
    const local = tag.local;
    const attrs = toAttrs(tag.attributes);
    if (this.fileDimension === null) {
      const d = tag.attributes['srsDimension']?.value;
      if (d === '2' || d === '3') this.fileDimension = Number(d);
    }

    if (this.builder) {
      const b = this.builder;
      const current = b.path[b.path.length - 1] as XNode;
      // An inline feature inside a property of the current feature: read it as a feature of its own.
      if (b.path.length === 2 && !isGmlNs(uri) && (gmlAttrOf(attrs, 'id') !== undefined || pcrsClass(local) !== undefined)) {
        this.startFeature(uri, local, attrs, line, b, current);
        this.frames.push('feature');
        return;
      }
      const node: XNode = { uri, local, line, attrs, children: [], text: '' };
      current.children.push(node);
      b.path.push(node);
      this.frames.push('feature');
      return;
    }

    const parent = this.frames[this.frames.length - 1];
    if (parent === undefined) {
      // Root element.
      this.sawRoot = true;
      this.options.onHeader?.({
        rootName: local,
        rootNamespace: uri,
        version: attrs.find((a) => a.local === 'version' && a.uri === '')?.value ?? null,
        gmlId: gmlAttrOf(attrs, 'id') ?? null,
        encoding: this.encoding,
        line,
      });
      if (pcrsClass(local) && local !== 'PlanCorpsRueSimplifie' && (uri === PCRS_NS || uri === PCRS_INFO_NS)) {
        // A single feature as the document.
        this.startFeature(uri, local, attrs, line, null, null);
        this.frames.push('feature');
      } else {
        this.frames.push('root');
      }
      return;
    }
    if (parent === 'root') {
      if (MEMBER_ONE.has(local)) {
        this.frames.push('member');
        const href = attrs.find((a) => a.local === 'href' && a.uri === XLINK_NS);
        if (href) {
          this.issue({ severity: 'warning', rule: 'feature-reference', line, message: `${local} refers to a remote feature (${href.value}); not read` });
        }
      } else if (MEMBER_MANY.has(local)) {
        this.frames.push('members');
      } else if (local === 'boundedBy' && isGmlNs(uri)) {
        this.rootBoundedBy = [{ uri, local, line, attrs, children: [], text: '' }];
        this.frames.push('rootBoundedBy');
      } else {
        this.frames.push('skip');
      }
      return;
    }
    if (parent === 'member' || parent === 'members') {
      this.startFeature(uri, local, attrs, line, null, null);
      this.frames.push('feature');
      return;
    }
    if (parent === 'rootBoundedBy' && this.rootBoundedBy) {
      const node: XNode = { uri, local, line, attrs, children: [], text: '' };
      (this.rootBoundedBy[this.rootBoundedBy.length - 1] as XNode).children.push(node);
      this.rootBoundedBy.push(node);
      this.frames.push('rootBoundedBy');
      return;
    }
    this.frames.push('skip');
  }

  private startFeature(uri: string, local: string, attrs: XAttr[], line: number, parent: Builder | null, parentProperty: XNode | null): void {
    const root: XNode = { uri, local, line, attrs, children: [], text: '' };
    this.builder = { root, path: [root], chars: 0, parent, parentProperty, gmlId: gmlAttrOf(attrs, 'id') ?? null };
  }

  private text(t: string): void {
    if (this.fatal) return;
    if (t.includes('\uFFFD') && this.encodingIssues++ < 100) {
      this.issue({
        severity: 'error',
        rule: 'xml-encoding',
        line: this.parser.line,
        message: `bytes that are not valid ${this.encoding} (replaced by U+FFFD): check the encoding declared in the XML declaration`,
      });
    }
    const b = this.builder;
    if (b) {
      const node = b.path[b.path.length - 1] as XNode;
      node.text += t;
      b.chars += t.length;
      const max = this.options.maxFeatureChars ?? 256 * 1024 * 1024;
      if (b.chars > max) this.fail('feature-too-large', `feature ${b.root.local} starting line ${b.root.line} is larger than ${max} characters`);
      return;
    }
    if (this.rootBoundedBy) {
      (this.rootBoundedBy[this.rootBoundedBy.length - 1] as XNode).text += t;
    }
  }

  private close1(): void {
    if (this.fatal) return;
    const frame = this.frames.pop();
    if (frame === 'feature') {
      const b = this.builder as Builder;
      const node = b.path.pop() as XNode;
      if (b.path.length > 0) return;
      this.builder = b.parent;
      const feature = this.toFeature(node, b, this.parser.line);
      this.queue.push(feature);
      if (b.parentProperty) {
        // Replace the inline feature by a reference in the parent's property.
        b.parentProperty.attrs.push({ uri: XLINK_NS, local: 'href', value: feature.gmlId ? `#${feature.gmlId}` : '' });
        b.parentProperty.attrs.push({ uri: INLINE, local: 'class', value: feature.class });
      }
      return;
    }
    if (frame === 'rootBoundedBy' && this.rootBoundedBy) {
      const node = this.rootBoundedBy.pop();
      if (this.rootBoundedBy.length === 0 && node) {
        const env = node.children.find((c) => isGmlNs(c.uri) && c.local === 'Envelope');
        this.rootSrsName = env ? (attr(env, 'srsName') ?? null) : null;
        const dim = env ? attr(env, 'srsDimension') : undefined;
        if ((dim === '2' || dim === '3') && this.fileDimension === null) this.fileDimension = Number(dim);
        this.rootBoundedBy = null;
      }
    }
  }

  // --- feature conversion ---------------------------------------------------------------------

  private toFeature(node: XNode, b: Builder, endLine: number): PcrsFeature {
    const cls = node.local;
    const classDef = pcrsClass(cls);
    const attributes: Record<string, PcrsValue> = {};
    const problems: { severity: 'error' | 'warning'; rule: string; line: number; message: string }[] = [];
    let geometry: PcrsGeometry | null = null;
    let geometryProperty: string | undefined;
    let otherGeometries: Record<string, PcrsGeometry> | undefined;
    let srsName: string | null = null;
    let dimension: 2 | 3 | null = null;
    let curved = false;
    const srsNames = new Set<string>();

    // srsName inherited from the feature's own gml:boundedBy, else the root's, else the option.
    let inherited = this.rootSrsName ?? this.options.defaultSrsName ?? null;
    const bounded = node.children.find((c) => isGmlNs(c.uri) && c.local === 'boundedBy');
    const env = bounded?.children.find((c) => isGmlNs(c.uri) && c.local === 'Envelope');
    const envSrs = env ? attr(env, 'srsName') : undefined;
    if (envSrs) inherited = envSrs;

    const lines: Record<string, number> | null = this.options.propertyLines ? {} : null;
    for (const prop of node.children) {
      if (isGmlNs(prop.uri)) {
        if (prop.local === 'boundedBy') continue;
        addValue(attributes, `gml:${prop.local}`, convertValue(prop, undefined), false);
        continue;
      }
      const name = prop.local;
      if (lines && !Object.hasOwn(lines, name)) lines[name] = prop.line;
      const elements = prop.children;
      const declaredGeometry = classDef?.geometry?.property === name;
      const only = elements.length === 1 ? elements[0] : undefined;
      const gmlChild = only && isGmlNs(only.uri) && (declaredGeometry || GML_GEOMETRY_ELEMENTS.has(only.local)) ? only : undefined;
      if (gmlChild || (declaredGeometry && elements.length === 0)) {
        if (!gmlChild) {
          const href = attr(prop, 'href', XLINK_NS);
          if (href !== undefined) {
            problems.push({ severity: 'error', rule: 'geometry-xlink', line: prop.line, message: `geometry property ${name} refers to '${href}' by xlink:href: not supported` });
          }
          continue; // empty geometry property: reported by the validator (geometry-missing)
        }
        try {
          const parsed = parseGmlGeometry(gmlChild, {
            srsName: inherited,
            fileDimension: this.fileDimension,
            arcTolerance: this.options.arcTolerance,
          });
          for (const w of parsed.warnings) problems.push({ severity: 'warning', ...w });
          for (const s of parsed.srsNames) srsNames.add(s);
          if (geometry === null) {
            geometry = parsed.geometry;
            geometryProperty = name;
            srsName = parsed.srsName;
            dimension = parsed.dimension;
          } else {
            otherGeometries ??= {};
            otherGeometries[name] = parsed.geometry;
          }
          curved ||= parsed.curved;
        } catch (e) {
          if (!(e instanceof GeometryError)) throw e;
          problems.push({ severity: 'error', rule: e.rule, line: e.line || gmlChild.line, message: e.message });
          geometryProperty ??= name;
          srsName ??= attr(gmlChild, 'srsName') ?? inherited;
        }
        continue;
      }
      const def = classDef ? pcrsProperty(cls, name) : undefined;
      const value = convertValue(prop, def?.type, (message) =>
        problems.push({ severity: 'error', rule: 'attribute-value', line: prop.line, message }),
      );
      addValue(attributes, name, value, def?.multiple === true);
    }

    const idObjet = typeof attributes['idObjet'] === 'string' ? attributes['idObjet'] : undefined;
    const gmlId = gmlAttr(node, 'id') ?? null;

    if (srsNames.size > 1) {
      const codes = new Set([...srsNames].map((s) => parseSrsName(s).code ?? s));
      if (codes.size > 1) {
        problems.push({
          severity: 'error',
          rule: 'crs-mixed',
          line: node.line,
          message: `the geometry mixes several CRSs: ${[...srsNames].join(', ')}`,
        });
      }
    }

    const feature: PcrsFeature = {
      class: cls,
      namespace: node.uri,
      gmlId,
      ...(idObjet !== undefined ? { idObjet } : {}),
      attributes,
      geometry,
      ...(geometryProperty !== undefined ? { geometryProperty } : {}),
      ...(otherGeometries ? { otherGeometries } : {}),
      srsName,
      sourceCrs: srsName ? parseSrsName(srsName).code : null,
      dimension: geometry ? dimension : null,
      ...(curved ? { curved: true } : {}),
      line: node.line,
      endLine,
      ...(lines ? { propertyLines: lines } : {}),
      ...(b.parent?.gmlId ? { parentGmlId: b.parent.gmlId } : {}),
    };
    if (problems.length > 0) {
      const issues: GmlIssue[] = [];
      for (const pr of problems) {
        this.issue(
          {
            ...pr,
            ...(gmlId ? { gmlId } : {}),
            ...(idObjet !== undefined ? { idObjet } : {}),
            class: cls,
          },
          issues,
        );
      }
      feature.issues = issues;
    }
    return feature;
  }
}

const DOCTYPE_MESSAGE =
  'the file has a DOCTYPE declaration: DTDs and entity declarations are not allowed in PCRS GML and are never expanded (XML bomb / external entity protection); remove the DOCTYPE';

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Pseudo-namespace marking the attributes the reader adds for inline nested features. */
const INLINE = 'urn:pcrs-platform:inline';

function toAttrs(attributes: Record<string, XmlAttribute>): XAttr[] {
  const out: XAttr[] = [];
  for (const k in attributes) {
    const a = attributes[k] as XmlAttribute;
    if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
    out.push({ uri: a.uri, local: a.local, value: a.value });
  }
  return out;
}

function gmlAttrOf(attrs: XAttr[], local: string): string | undefined {
  return attrs.find((a) => a.local === local && isGmlNs(a.uri))?.value;
}

function addValue(target: Record<string, PcrsValue>, key: string, value: PcrsValue, multiple: boolean): void {
  if (!Object.hasOwn(target, key)) {
    target[key] = multiple ? [value] : value;
    return;
  }
  const prev = target[key] as PcrsValue;
  if (multiple && Array.isArray(prev)) prev.push(value);
  else target[key] = [prev, value];
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** Element → PcrsValue (see `PcrsValue` for the mapping). */
function convertValue(el: XNode, type: string | undefined, onBad?: (message: string) => void): PcrsValue {
  if (attr(el, 'nil', XSI_NS) === 'true') return null;
  const href = attr(el, 'href', XLINK_NS);
  const extra: [string, string][] = [];
  for (const a of el.attrs) {
    if (a.uri === XSI_NS || a.uri === INLINE || (a.uri === XLINK_NS && a.local === 'href')) continue;
    extra.push([a.uri === XLINK_NS ? a.local : `@${a.local}`, a.value]);
  }
  if (el.children.length === 0 && href !== undefined) {
    const ref: Record<string, PcrsValue> = { href };
    for (const [k, v] of extra) ref[k] = v;
    return ref;
  }
  if (el.children.length > 0) {
    const obj: Record<string, PcrsValue> = {};
    for (const [k, v] of extra) obj[k] = v;
    for (const c of el.children) addValue(obj, isGmlNs(c.uri) ? `gml:${c.local}` : c.local, convertValue(c, undefined, onBad), false);
    return obj;
  }
  const text = el.text.trim();
  let value: PcrsValue = text;
  if ((type === 'double' || type === 'integer') && text !== '') {
    if ((type === 'double' ? NUMBER : INTEGER).test(text)) value = Number(text);
    else onBad?.(`${el.local} = '${text.slice(0, 40)}' is not ${type === 'double' ? 'a number' : 'an integer'}`);
  }
  if (extra.length === 0) return value;
  const obj: Record<string, PcrsValue> = { '#text': value };
  for (const [k, v] of extra) obj[k] = v;
  return obj;
}
