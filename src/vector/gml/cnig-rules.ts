/**
 * CNIG PCRS v2.0 rules that the XSD cannot express (or expresses without object context),
 * checked feature by feature while the file streams: document root, classes, required
 * properties and code lists, geometry validity, CRS consistency and location, identifier
 * uniqueness, references.
 *
 * Memory: the V8 heap is bounded whatever the number of features. Identifiers are kept as 64-bit
 * hashes in typed-array tables (id-hash.ts: ~12–38 bytes per id, off the heap), hash hits are
 * confirmed exactly at the end by re-reading only the lines of the first occurrences; references
 * are resolved against the same tables (only the hashes of still-unresolved targets are kept); the
 * feature line spans (XSD error context) are three typed arrays (12 bytes per feature). Distinct
 * class names counted are capped (`MAX_CLASSES`).
 */
import type { Bbox, PointTransform } from './srs-name.js';
import { crsDef, innerAreaOfUse, parseSrsName, pointTransform, transformBboxWith } from './srs-name.js';
import type { GmlHeader } from './gml-reader.js';
import type { GmlGeometryKind, PcrsFeature, PcrsGeometry, PcrsGeometryType, PcrsValue, Position } from './pcrs-model.js';
import { CODE_LISTS, PCRS_NS, PCRS_ROOT, PCRS_VERSION, forEachPosition, isValidCode, pcrsClass } from './pcrs-model.js';
import type { FindingCollector } from './report.js';
import { H1, H2, hashId, IdHashTable, U32Vec, verifyIdLines } from './id-hash.js';

/** Distinct class names counted separately; beyond, features are counted under `OTHER_CLASSES`. */
export const MAX_CLASSES = 1000;
export const OTHER_CLASSES = '(other classes)';
/** Candidate duplicates kept for the exact confirmation pass; beyond, hash equality is trusted. */
const MAX_CANDIDATES = 10_000;
/** Unresolved references whose href and object context are kept for the messages. */
const MAX_REF_DETAILS = 1_000;
/** Value of a pending reference once its target has been seen. */
const RESOLVED = 0xfffffffe;
/** Recent features whose ids are kept for the XSD findings' context (xmllint may lag the reader). */
const RECENT = 4096;

export interface CnigRuleOptions {
  /** Territory bbox in EPSG:2154 ([minX, minY, maxX, maxY]); no territory check without it. */
  territoryBbox?: Bbox;
  /** Name of the territory, for messages. */
  territoryName?: string;
}

const EXPECTED_TYPES: Record<GmlGeometryKind, readonly PcrsGeometryType[] | null> = {
  Point: ['Point'],
  Curve: ['LineString'],
  Polygon: ['Polygon'],
  Surface: ['Polygon', 'MultiPolygon'],
  MultiPoint: ['MultiPoint'],
  MultiCurve: ['MultiLineString'],
  MultiSurface: ['MultiPolygon'],
  Geometry: null,
};

type IdKind = 'gml-id' | 'id-objet' | 'id-habillage';

interface Candidate {
  kind: IdKind;
  id: string;
  /** Line holding the first occurrence's id text. */
  firstLine: number;
  line: number;
  ctx: Ctx;
}

export interface Span {
  start: number;
  end: number;
  cls: string;
  idObjet?: string;
  gmlId?: string;
}

type Ctx = { class: string; idObjet?: string; gmlId?: string };

export class CnigRuleChecker {
  readonly featuresByClass = new Map<string, number>();
  readonly crs = new Set<string>();
  featureCount = 0;
  private fileCrs: { code: string; line: number } | null = null;
  /** Hash of each id → line of its first occurrence's text. */
  private readonly gmlIds = new IdHashTable(4096);
  private readonly idObjets = new IdHashTable(4096);
  private readonly idHabillages = new IdHashTable(64);
  /** Reference targets not yet seen as gml:id when first used → line of first use (RESOLVED once seen). */
  private readonly pendingRefs = new IdHashTable(64);
  private pendingCount = 0;
  private readonly refDetails = new Map<string, { href: string; ctx: Ctx }>();
  private readonly candidates: Candidate[] = [];
  private bareRefs = 0;
  private bareExample: string | null = null;
  /** Feature spans in emission order: start line, end line, class index. */
  private readonly spanStart = new U32Vec();
  private readonly spanEnd = new U32Vec();
  private readonly spanClass = new U32Vec();
  private readonly classNames: string[] = [];
  private readonly classIndex = new Map<string, number>();
  /** Lines (XSD errors) whose innermost feature's ids are wanted: line → context, filled as features pass. */
  private readonly watched = new Map<number, Span | null>();
  private watchedLines: number[] = [];
  /** Ids of the last RECENT features (XSD errors arriving after the reader passed their line). */
  private readonly recent: (Span | undefined)[] = new Array<Span | undefined>(RECENT);
  private recentNext = 0;
  private readonly territory: Bbox | undefined;

  constructor(
    private readonly out: FindingCollector,
    private readonly options: CnigRuleOptions = {},
  ) {
    this.territory = options.territoryBbox;
  }

  /** Root element checks. */
  header(h: GmlHeader): void {
    if (h.rootName !== PCRS_ROOT) {
      this.out.report('root-element', h.line, `the root element is ${h.rootName}, expected ${PCRS_ROOT}`);
    }
    if (h.rootNamespace !== PCRS_NS) {
      this.out.report('namespace', h.line, `the root element is in namespace '${h.rootNamespace || '(none)'}', expected '${PCRS_NS}'`);
    }
    if (h.rootName === PCRS_ROOT && h.version !== PCRS_VERSION) {
      this.out.report(
        'version',
        h.line,
        h.version === null
          ? `the root element has no version attribute, expected version="${PCRS_VERSION}"`
          : `version="${h.version}": this validator checks CNIG PCRS v${PCRS_VERSION} (convert the file to v${PCRS_VERSION})`,
      );
    }
  }

  feature(f: PcrsFeature): void {
    this.featureCount++;
    const key = this.featuresByClass.has(f.class) ? f.class : this.featuresByClass.size < MAX_CLASSES ? className(f.class) : OTHER_CLASSES;
    this.featuresByClass.set(key, (this.featuresByClass.get(key) ?? 0) + 1);
    // Context strings: only kept with findings (bounded), copied so that they do not retain parser chunks.
    const idObjet = f.idObjet ? own(f.idObjet) : undefined;
    const gmlId = f.gmlId ? own(f.gmlId) : undefined;
    const ctx: Ctx = { class: className(f.class), ...(idObjet ? { idObjet } : {}), ...(gmlId ? { gmlId } : {}) };
    this.spanStart.push(f.line);
    this.spanEnd.push(f.endLine);
    this.spanClass.push(this.classId(ctx.class));
    if (this.watchedLines.length > 0) this.resolveWatched(f.line, f.endLine, ctx);
    this.recent[this.recentNext] = { start: f.line, end: f.endLine, cls: ctx.class, ...(idObjet ? { idObjet } : {}), ...(gmlId ? { gmlId } : {}) };
    this.recentNext = (this.recentNext + 1) % RECENT;

    this.checkIds(f, ctx);
    this.collectRefs(f.attributes, f.line, ctx);

    const def = pcrsClass(f.class);
    if (!def || def.namespace !== f.namespace) {
      this.out.report(
        'unknown-class',
        f.line,
        def
          ? `${f.class} is in namespace '${f.namespace}', expected '${def.namespace}'`
          : `${f.class} (namespace '${f.namespace || '(none)'}') is not a class of CNIG PCRS v2.0 or PCRS-INFO v2.0`,
        ctx,
      );
    } else if (def.abstract) {
      this.out.report('abstract-class', f.line, `${f.class} is abstract: use one of its concrete classes`, ctx);
    }

    if (def) {
      for (const prop of def.properties) {
        const has = Object.hasOwn(f.attributes, prop.name);
        const v = f.attributes[prop.name];
        if (prop.required && (!has || (Array.isArray(v) && v.length === 0))) {
          this.out.report('required-attribute', f.line, `${prop.name} is required for ${f.class}`, ctx);
          continue;
        }
        const at = f.propertyLines?.[prop.name] ?? f.line;
        if (prop.required && v === '' && !prop.codeList) {
          // The XSD accepts empty strings; an empty identifier is an error, other empty values a warning.
          if (prop.name.startsWith('id')) this.out.report('required-attribute', at, `${prop.name} is required for ${f.class} and must not be empty`, ctx);
          else this.out.report('empty-attribute', at, `${prop.name} is required for ${f.class} but empty`, ctx);
          continue;
        }
        if (has && prop.codeList) {
          const list = CODE_LISTS[prop.codeList];
          for (const item of Array.isArray(v) ? v : [v]) {
            if (item === null) continue;
            const value = typeof item === 'string' ? item : JSON.stringify(item);
            if (!isValidCode(prop.codeList, value)) {
              this.out.report(
                'code-list',
                at,
                `${prop.name} = '${value.slice(0, 40)}' is not in the code list ${list.xsdType} (${Object.keys(list.values).sort().join(', ')}${list.extensible ? ", or 'other: …'" : ''})`,
                ctx,
              );
            }
          }
        }
      }
    }

    const readerGeometryError = f.issues?.some((i) => i.severity === 'error') ?? false;
    if (def?.geometry && !def.abstract) {
      if (f.geometry === null) {
        if (def.geometry.required && !readerGeometryError) {
          this.out.report('geometry-missing', f.line, `${f.class} has no geometry (property ${def.geometry.property}, ${def.geometry.kind} expected)`, ctx);
        }
      } else {
        const expected = EXPECTED_TYPES[def.geometry.kind];
        if (expected && !expected.includes(f.geometry.type)) {
          this.out.report('geometry-type', gline(f), `${f.class} expects a ${def.geometry.kind} geometry, found ${f.geometry.type}`, ctx);
        }
      }
    }
    if (f.geometry) this.checkGeometry(f, f.geometry, ctx);
  }

  private checkIds(f: PcrsFeature, ctx: Ctx): void {
    if (f.gmlId === null) {
      this.out.report('gml-id-missing', f.line, `${f.class} has no gml:id`, ctx);
    } else {
      hashId(f.gmlId);
      const prev = this.gmlIds.putIfAbsent(H1, H2, f.line);
      if (prev === -1) {
        if (this.pendingCount > 0) this.resolvePending(H1, H2);
      } else this.candidate('gml-id', f.gmlId, prev, f.line, ctx);
    }
    if (f.idObjet) {
      const at = f.propertyLines?.['idObjet'] ?? f.line;
      hashId(f.idObjet);
      const prev = this.idObjets.putIfAbsent(H1, H2, at);
      if (prev !== -1) this.candidate('id-objet', f.idObjet, prev, at, ctx);
    }
    const idH = f.attributes['idHabillage'];
    if (typeof idH === 'string' && idH !== '') {
      const at = f.propertyLines?.['idHabillage'] ?? f.line;
      hashId(idH);
      const prev = this.idHabillages.putIfAbsent(H1, H2, at);
      if (prev !== -1) this.candidate('id-habillage', idH, prev, f.line, ctx);
    }
  }

  /** A hash hit: confirmed (and reported) by `confirmDuplicates`; beyond the cap, hash equality is trusted. */
  private candidate(kind: IdKind, id: string, firstLine: number, line: number, ctx: Ctx): void {
    const c: Candidate = { kind, id: own(id), firstLine, line, ctx };
    if (this.candidates.length < MAX_CANDIDATES) this.candidates.push(c);
    else this.reportDuplicate(c);
  }

  private reportDuplicate(c: Candidate): void {
    const span = this.featureAt(c.firstLine);
    const prev = span ? `${span.cls} at line ${span.start}` : `line ${c.firstLine}`;
    if (c.kind === 'gml-id') this.out.report('duplicate-gml-id', c.line, `gml:id '${c.id}' is already used by ${prev}`, c.ctx);
    else if (c.kind === 'id-objet') this.out.report('duplicate-id-objet', c.line, `idObjet '${c.id}' is already used by ${prev}`, c.ctx);
    else this.out.report('duplicate-id-habillage', c.line, `idHabillage '${c.id}' is already used by ${prev}`, c.ctx);
  }

  /**
   * Reports the duplicate candidates that are real duplicates (exact check of the first
   * occurrence's text: one byte scan of the file, only when there are candidates).
   */
  async confirmDuplicates(file: string, encoding: string): Promise<void> {
    const list = this.candidates.splice(0);
    if (list.length === 0) return;
    const ok = await verifyIdLines(
      file,
      encoding,
      list.map((c) => ({ line: c.firstLine, id: c.id })),
    );
    list.forEach((c, i) => {
      if (ok[i]) this.reportDuplicate(c);
    });
  }

  private resolvePending(h1: number, h2: number): void {
    const v = this.pendingRefs.get(h1, h2);
    if (v === -1 || v === RESOLVED) return;
    this.pendingRefs.update(h1, h2, RESOLVED);
    this.pendingCount--;
    this.refDetails.delete(`${h1}:${h2}`);
  }

  private classId(cls: string): number {
    let i = this.classIndex.get(cls);
    if (i === undefined) {
      if (this.classNames.length >= MAX_CLASSES) return MAX_CLASSES;
      i = this.classNames.length;
      this.classNames.push(cls);
      this.classIndex.set(cls, i);
    }
    return i;
  }

  /** Asks for the ids of the feature containing `line` (called for the kept XSD errors: bounded). */
  watch(line: number): void {
    if (this.watched.has(line)) return;
    this.watched.set(line, null);
    this.watchedLines.push(line);
    this.watchedLines.sort((a, b) => a - b);
  }

  private resolveWatched(start: number, end: number, ctx: Ctx): void {
    const w = this.watchedLines;
    let lo = 0;
    let hi = w.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((w[mid] as number) < start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < w.length && (w[i] as number) <= end; i++) {
      const line = w[i] as number;
      const prev = this.watched.get(line);
      // Innermost: the smallest span containing the line.
      if (!prev || end - start < prev.end - prev.start) {
        this.watched.set(line, { start, end, cls: ctx.class, ...(ctx.idObjet ? { idObjet: ctx.idObjet } : {}), ...(ctx.gmlId ? { gmlId: ctx.gmlId } : {}) });
      }
    }
  }

  private collectRefs(v: PcrsValue, line: number, ctx: Ctx): void {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const item of v) this.collectRefs(item, line, ctx);
      return;
    }
    for (const [k, item] of Object.entries(v)) {
      if (k === 'href' && typeof item === 'string') this.addRef(item, line, ctx);
      else this.collectRefs(item, line, ctx);
    }
  }

  private addRef(href: string, line: number, ctx: Ctx): void {
    let id: string;
    if (href.startsWith('#')) id = href.slice(1);
    else if (href === '' || /^[a-z][a-z0-9+.-]*:/i.test(href) || href.includes('/')) return; // external or empty
    else {
      // Quirk of real files (Métropole de Lyon): bare ids, no '#'.
      id = href;
      this.bareRefs++;
      this.bareExample ??= href;
    }
    hashId(id);
    if (this.gmlIds.get(H1, H2) !== -1) return; // target already seen
    if (this.pendingRefs.putIfAbsent(H1, H2, line) === -1) {
      this.pendingCount++;
      if (this.refDetails.size < MAX_REF_DETAILS) this.refDetails.set(`${H1}:${H2}`, { href: own(href), ctx });
    }
  }

  private checkGeometry(f: PcrsFeature, g: PcrsGeometry, ctx: Ctx): void {
    // Validity
    this.checkShape(f, g, ctx);

    // CRS
    if (f.srsName === null) {
      this.out.report('crs-missing', gline(f), `${f.class}: no srsName on the geometry, its ancestors or gml:boundedBy`, ctx);
      return;
    }
    const info = parseSrsName(f.srsName);
    const def = info.code ? crsDef(info.code) : undefined;
    if (!info.code || !def) {
      this.out.report('crs-unsupported', gline(f), `srsName '${f.srsName}' is ${info.code ? 'not a CRS a PCRS may use here' : 'not understood'} (expected e.g. EPSG:2154 or EPSG:3942–3950)`, ctx);
      return;
    }
    this.crs.add(def.code);
    if (this.fileCrs === null) this.fileCrs = { code: def.code, line: f.line };
    else if (this.fileCrs.code !== def.code) {
      this.out.report('crs-mixed', gline(f), `${def.code} here, but the file started with ${this.fileCrs.code} (line ${this.fileCrs.line}): one CRS per file`, ctx);
    }

    // Location
    const bbox = geometryBbox(g);
    if (!bbox) return;
    const margin = 0.05;
    const inner = innerAreaOfUse(def.code, margin);
    const surelyInside = inner !== null && bbox[0] >= inner[0] && bbox[1] >= inner[1] && bbox[2] <= inner[2] && bbox[3] <= inner[3];
    const toLonLat = def.geographic || surelyInside ? null : pointTransform(def.code, 'EPSG:4326');
    // Feature bboxes are small: their corners are enough at this tolerance.
    const ll = toLonLat ? transformBboxWith(toLonLat, bbox, 0) : bbox;
    const a = def.areaOfUse;
    if (!surelyInside && !(ll[0] >= a[0] - margin && ll[1] >= a[1] - margin && ll[2] <= a[2] + margin && ll[3] <= a[3] + margin)) {
      this.out.report(
        'outside-crs-area',
        gline(f),
        `coordinates (${fmtBbox(bbox)}) are outside the area where ${def.code} (${def.name}) is used: wrong srsName or swapped axes?`,
        ctx,
      );
      return;
    }
    if (this.territory) this.checkTerritory(f, g, def.code, bbox, ctx);
  }

  private checkTerritory(f: PcrsFeature, g: PcrsGeometry, code: string, bbox: Bbox, ctx: Ctx): void {
    const t = this.territory as Bbox;
    const to93: PointTransform = pointTransform(code, 'EPSG:2154');
    const b93 = transformBboxWith(to93, bbox, 1);
    if (b93[0] >= t[0] && b93[1] >= t[1] && b93[2] <= t[2] && b93[3] <= t[3]) return; // entirely inside
    // Partly or wholly outside: count vertices outside.
    let outside = 0;
    let total = 0;
    let example: [number, number] | null = null;
    forEachPosition(g, (p) => {
      total++;
      const [x, y] = to93(p[0] as number, p[1] as number);
      if (!(x >= t[0] && x <= t[2] && y >= t[1] && y <= t[3])) {
        outside++;
        example ??= [x, y];
      }
    });
    if (outside > 0) {
      const ex = example as [number, number] | null;
      this.out.report(
        'outside-territory',
        gline(f),
        `${outside} of ${total} positions are outside the territory${this.options.territoryName ? ` ${this.options.territoryName}` : ''} (e.g. ${ex ? `${ex[0].toFixed(2)} ${ex[1].toFixed(2)}` : '?'} in EPSG:2154)`,
        ctx,
      );
    }
  }

  private checkShape(f: PcrsFeature, g: PcrsGeometry, ctx: Ctx): void {
    let bad = false;
    forEachPosition(g, (p) => {
      if (!bad && !p.every((v) => Number.isFinite(v))) bad = true;
    });
    if (bad) {
      this.out.report('coordinate-value', gline(f), 'the geometry has a coordinate that is not a finite number', ctx);
      return;
    }
    switch (g.type) {
      case 'Point':
      case 'MultiPoint':
        if (g.type === 'MultiPoint' && g.coordinates.length === 0) this.out.report('geometry-degenerate', gline(f), 'empty MultiPoint', ctx);
        return;
      case 'LineString':
        this.checkLine(f, g.coordinates, ctx, '');
        return;
      case 'MultiLineString':
        if (g.coordinates.length === 0) this.out.report('geometry-degenerate', gline(f), 'empty MultiCurve', ctx);
        g.coordinates.forEach((l, i) => this.checkLine(f, l, ctx, ` (curve ${i + 1})`));
        return;
      case 'Polygon':
        this.checkPolygon(f, g.coordinates, ctx, '');
        return;
      case 'MultiPolygon':
        if (g.coordinates.length === 0) this.out.report('geometry-degenerate', gline(f), 'empty MultiSurface', ctx);
        g.coordinates.forEach((poly, i) => this.checkPolygon(f, poly, ctx, ` (surface ${i + 1})`));
        return;
      case 'GeometryCollection':
        for (const m of g.geometries) this.checkShape(f, m, ctx);
        return;
    }
  }

  private checkLine(f: PcrsFeature, line: Position[], ctx: Ctx, where: string): void {
    if (distinct2d(line, 2) < 2) {
      this.out.report('geometry-degenerate', gline(f), `line${where} has ${line.length === 0 ? 'no position' : 'fewer than 2 distinct positions'}`, ctx);
    }
  }

  private checkPolygon(f: PcrsFeature, rings: Position[][], ctx: Ctx, where: string): void {
    rings.forEach((ring, i) => {
      const name = `${i === 0 ? 'exterior ring' : `interior ring ${i}`}${where}`;
      if (ring.length < 4) {
        this.out.report('ring-too-few-points', gline(f), `${name} has ${ring.length} positions (at least 4 needed, first = last)`, ctx);
        return;
      }
      const first = ring[0] as Position;
      const last = ring[ring.length - 1] as Position;
      if (first[0] !== last[0] || first[1] !== last[1]) {
        this.out.report('ring-not-closed', gline(f), `${name} is not closed: starts at (${first.slice(0, 2).join(' ')}), ends at (${last.slice(0, 2).join(' ')})`, ctx);
        return;
      }
      if (distinct2d(ring, 3) < 3 || ringArea(ring) <= 1e-12 * ringScale(ring) ** 2) {
        this.out.report('geometry-degenerate', gline(f), `${name} has zero area`, ctx);
      }
    });
  }

  /** End-of-file checks. */
  finish(fatal: boolean): void {
    if (!fatal) {
      if (this.pendingCount > 0) {
        const unresolved: { line: number; key: string }[] = [];
        this.pendingRefs.forEach((h1, h2, line) => {
          if (line === RESOLVED) return;
          if (unresolved.length < this.out.maxPerRule * 4) unresolved.push({ line, key: `${h1}:${h2}` });
          else {
            // Only the first ones (by line) are listed: drop the last when full.
            unresolved.sort((a, b) => a.line - b.line);
            unresolved.length = this.out.maxPerRule;
            unresolved.push({ line, key: `${h1}:${h2}` });
          }
        });
        unresolved.sort((a, b) => a.line - b.line);
        const listed = unresolved.slice(0, this.out.maxPerRule);
        for (const r of listed) {
          const d = this.refDetails.get(r.key);
          const span = d ? undefined : this.featureAt(r.line);
          this.out.report(
            'xlink-unresolved',
            r.line,
            d ? `xlink:href '${d.href}' points to no gml:id of this file` : 'an xlink:href of this object points to no gml:id of this file',
            d ? d.ctx : span ? { class: span.cls } : {},
          );
        }
        this.out.countOnly('xlink-unresolved', 'warning', this.pendingCount - listed.length);
      }
      if (this.featureCount === 0) this.out.report('empty-file', null, 'the file contains no feature');
    }
    if (this.bareRefs > 0) {
      this.out.report('xlink-form', null, `${this.bareRefs} xlink:href values are bare ids (e.g. '${this.bareExample}') instead of '#id'; they were resolved as ids`);
    }
  }

  /** Feature (innermost) containing `line`, for giving XSD errors their object context. */
  featureAt(line: number): Span | undefined {
    const w = this.watched.get(line);
    if (w) return w;
    // Spans are in emission order: start lines increase, except inline features (emitted before
    // their parent, which starts earlier). Binary search on start, then look back a little.
    const n = this.spanStart.length;
    const starts = this.spanStart.data;
    let lo = 0;
    let hi = n - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((starts[mid] as number) <= line) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    let found: Span | undefined;
    for (let i = Math.min(n - 1, best + 64); i >= 0 && i > best - 64; i--) {
      const s = starts[i] as number;
      const e = this.spanEnd.at(i);
      if (s <= line && e >= line && (!found || e - s < found.end - found.start)) {
        const c = this.spanClass.at(i);
        found = { start: s, end: e, cls: this.classNames[c] ?? OTHER_CLASSES };
      }
    }
    if (found) {
      const f = found;
      const r = this.recent.find((x) => x !== undefined && x.start === f.start && x.end === f.end);
      if (r) return r;
    }
    return found;
  }

  /** Bytes held by the identifier tables and spans (off the V8 heap). */
  get indexBytes(): number {
    return this.gmlIds.bytes + this.idObjets.bytes + this.idHabillages.bytes + this.pendingRefs.bytes + this.spanStart.bytes + this.spanEnd.bytes + this.spanClass.bytes;
  }
}

/**
 * A copy of a string that does not keep its parent alive. Strings from the XML parser are slices
 * of the ~64 KB chunk they were read from (V8 sliced strings): keeping one id per feature would
 * otherwise keep every chunk of the file in memory (measured: O(file size)).
 */
export function own(s: string): string {
  return (' ' + s).slice(1);
}

/** The catalogue's interned class name when known (no per-feature copy). */
function className(cls: string): string {
  return pcrsClass(cls)?.name ?? own(cls);
}


export function geometryBbox(g: PcrsGeometry): Bbox | null {
  const b: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
  forEachPosition(g, (p) => {
    const x = p[0] as number;
    const y = p[1] as number;
    if (x < b[0]) b[0] = x;
    if (y < b[1]) b[1] = y;
    if (x > b[2]) b[2] = x;
    if (y > b[3]) b[3] = y;
  });
  return Number.isFinite(b[0]) ? b : null;
}

/** Number of distinct 2D positions, counting up to `enough`. */
function distinct2d(points: Position[], enough: number): number {
  const seen: Position[] = [];
  for (const p of points) {
    if (!seen.some((q) => q[0] === p[0] && q[1] === p[1])) {
      seen.push(p);
      if (seen.length >= enough) break;
    }
  }
  return seen.length;
}

/** Shoelace area of a closed ring (2D), relative to the first vertex for precision. */
function ringArea(ring: Position[]): number {
  const x0 = (ring[0] as Position)[0] as number;
  const y0 = (ring[0] as Position)[1] as number;
  let s = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const a = ring[i] as Position;
    const b = ring[i + 1] as Position;
    s += ((a[0] as number) - x0) * ((b[1] as number) - y0) - ((b[0] as number) - x0) * ((a[1] as number) - y0);
  }
  return Math.abs(s) / 2;
}

function ringScale(ring: Position[]): number {
  let minX = Infinity,
    minY = Infinity,
    maxX = -Infinity,
    maxY = -Infinity;
  for (const p of ring) {
    const x = p[0] as number;
    const y = p[1] as number;
    if (x < minX) minX = x;
    if (y < minY) minY = y;
    if (x > maxX) maxX = x;
    if (y > maxY) maxY = y;
  }
  return Math.max(maxX - minX, maxY - minY);
}

function fmtBbox(b: Bbox): string {
  return b.map((v) => (Math.abs(v) >= 1000 ? v.toFixed(1) : v.toFixed(6))).join(', ');
}

/** Line of the geometry property (falls back to the feature's line). */
function gline(f: PcrsFeature): number {
  return (f.geometryProperty ? f.propertyLines?.[f.geometryProperty] : undefined) ?? f.line;
}
