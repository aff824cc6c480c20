/**
 * GML 3.2 (and the GML 2/3.1 forms still met in the wild) geometry → GeoJSON-like `PcrsGeometry`.
 *
 * Works on a small element tree (`XNode`) that the streaming reader builds for one feature at a
 * time. Pure functions: no I/O, errors are thrown as `GeometryError` (rule + line) and turned into
 * findings by the caller.
 *
 * Coordinate rules, explicitly:
 * - `gml:pos`, `gml:posList`: whitespace-separated numbers (any whitespace, newlines included).
 *   Dimension = `srsDimension` on the element, else on the nearest ancestor geometry element,
 *   else `count` (posList: n / count), else for `gml:pos` the number of values, else the file's
 *   dimension (the first srsDimension declared in the file), else 2 — except that a value count
 *   divisible by 3 but not by 2 is read as 3D (with a `srs-dimension` warning).
 * - `gml:coordinates`: tuples separated by `ts` (default: any whitespace), ordinates by `cs`
 *   (default `,`), decimal mark `decimal` (default `.`); whitespace and newlines around separators
 *   are ignored; the dimension is the tuple length.
 * - Positions come out x/y(/z) = easting/northing(/height); coordinates of lat/lon srsNames
 *   (URN/http forms of geographic CRSs) are swapped to lon/lat.
 * - Circular arcs (Arc, ArcString, Circle) are linearised so that the chord error stays below
 *   `arcTolerance` (CRS units); the control points are kept as vertices.
 */
import type { PcrsGeometry, Position } from './pcrs-model.js';
import { GML31_NS, GML32_NS, XLINK_NS } from './pcrs-model.js';
import { crsDef, parseSrsName } from './srs-name.js';

export interface XAttr {
  uri: string;
  local: string;
  value: string;
}

/** Element of the per-feature tree built by the reader. */
export interface XNode {
  uri: string;
  local: string;
  /** 1-based line of the start tag. */
  line: number;
  attrs: XAttr[];
  children: XNode[];
  /** Concatenated character data (whitespace between child elements included). */
  text: string;
}

export function attr(node: XNode, local: string, uri = ''): string | undefined {
  for (const a of node.attrs) if (a.local === local && a.uri === uri) return a.value;
  return undefined;
}

export function isGmlNs(uri: string): boolean {
  return uri === GML32_NS || uri === GML31_NS;
}

export function gmlAttr(node: XNode, local: string): string | undefined {
  return attr(node, local, GML32_NS) ?? attr(node, local, GML31_NS);
}

export class GeometryError extends Error {
  constructor(
    readonly rule: string,
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'GeometryError';
  }
}

export interface GeometryWarning {
  rule: string;
  line: number;
  message: string;
}

export interface GeometryOptions {
  /** srsName inherited from outside the geometry (feature or root `gml:boundedBy`, reader default). */
  srsName: string | null;
  /** Dimension used when neither the element nor its ancestors declare one (file's first srsDimension). */
  fileDimension: number | null;
  /** Max chord error when linearising arcs, in CRS units; geographic CRSs use it / 111 320. Default 0.005. */
  arcTolerance?: number;
  /** Cap on the number of positions (guards against absurd inputs). Default 50 million. */
  maxPositions?: number;
}

export interface ParsedGeometry {
  geometry: PcrsGeometry;
  /** srsName of the outermost geometry element (or inherited). */
  srsName: string | null;
  /** Every distinct srsName met inside the geometry (more than one = mixed CRS). */
  srsNames: string[];
  dimension: 2 | 3;
  curved: boolean;
  warnings: GeometryWarning[];
}

interface Ctx {
  srsName: string | null;
  latLon: boolean;
  srsDimension: number | null;
  fileDimension: number | null;
  /** Arc tolerance in metres; `tolerance` is it in CRS units. */
  baseTolerance: number;
  tolerance: number;
  state: { srsNames: Set<string>; curved: boolean; warnings: GeometryWarning[]; positions: number; maxPositions: number; maxDim: number };
}

/** Local names of the GML elements this module turns into geometries. */
export const GML_GEOMETRY_ELEMENTS: ReadonlySet<string> = new Set([
  'Point',
  'LineString',
  'Curve',
  'CompositeCurve',
  'OrientableCurve',
  'LinearRing',
  'Ring',
  'Polygon',
  'Surface',
  'PolygonPatch',
  'CompositeSurface',
  'Envelope',
  'MultiPoint',
  'MultiCurve',
  'MultiLineString',
  'MultiSurface',
  'MultiPolygon',
  'MultiGeometry',
]);

/** Parses the geometry element `node` (a child of a geometry property). Throws GeometryError. */
export function parseGmlGeometry(node: XNode, options: GeometryOptions): ParsedGeometry {
  const state = {
    srsNames: new Set<string>(),
    curved: false,
    warnings: [] as GeometryWarning[],
    positions: 0,
    maxPositions: options.maxPositions ?? 50_000_000,
    maxDim: 0,
  };
  const tolerance = options.arcTolerance ?? 0.005;
  const base = withSrs({ srsName: null, latLon: false, srsDimension: null, fileDimension: options.fileDimension, baseTolerance: tolerance, tolerance, state }, options.srsName);
  const own = attr(node, 'srsName');
  if (options.srsName && own === undefined) state.srsNames.add(options.srsName);
  const geometry = geometryOf(node, base);
  const srsNames = [...state.srsNames];
  return {
    geometry,
    srsName: own ?? options.srsName ?? srsNames[0] ?? null,
    srsNames,
    dimension: state.maxDim === 3 ? 3 : 2,
    curved: state.curved,
    warnings: state.warnings,
  };
}

function withSrs(ctx: Ctx, srsName: string | null): Ctx {
  const name = srsName ?? ctx.srsName;
  const info = name ? parseSrsName(name) : null;
  const geographic = info?.code ? (crsDef(info.code)?.geographic ?? false) : false;
  return { ...ctx, srsName: name, latLon: info?.latLon ?? false, tolerance: geographic ? ctx.baseTolerance / 111_320 : ctx.baseTolerance };
}

/** Context for a child geometry element: inherits srsName/srsDimension unless it declares its own. */
function enter(node: XNode, ctx: Ctx): Ctx {
  const srsName = attr(node, 'srsName');
  const dimText = attr(node, 'srsDimension');
  let next = ctx;
  if (srsName !== undefined && srsName !== ctx.srsName) next = withSrs(ctx, srsName);
  if (srsName !== undefined) ctx.state.srsNames.add(srsName);
  if (dimText !== undefined) {
    const d = parseDimension(dimText, node.line);
    next = next === ctx ? { ...ctx, srsDimension: d } : { ...next, srsDimension: d };
  }
  return next;
}

function parseDimension(text: string, line: number): number {
  const d = Number(text.trim());
  if (d !== 2 && d !== 3) throw new GeometryError('srs-dimension-invalid', line, `srsDimension="${text}" is not supported (2 or 3 expected)`);
  return d;
}

function gmlChildren(node: XNode): XNode[] {
  return node.children.filter((c) => isGmlNs(c.uri));
}

function child(node: XNode, local: string): XNode | undefined {
  return node.children.find((c) => c.local === local && isGmlNs(c.uri));
}

function only(node: XNode): XNode {
  const kids = gmlChildren(node);
  const first = kids[0];
  if (!first) {
    if (attr(node, 'href', XLINK_NS) !== undefined) {
      throw new GeometryError('geometry-xlink', node.line, `gml:${node.local} refers to a geometry by xlink:href, which is not supported`);
    }
    throw new GeometryError('geometry-empty', node.line, `gml:${node.local} has no geometry inside`);
  }
  return first;
}

function geometryOf(node: XNode, parent: Ctx): PcrsGeometry {
  if (!isGmlNs(node.uri)) {
    throw new GeometryError('geometry-unknown', node.line, `element ${node.local} is not a GML geometry`);
  }
  const ctx = enter(node, parent);
  switch (node.local) {
    case 'Point':
      return { type: 'Point', coordinates: pointOf(node, ctx) };
    case 'LineString':
    case 'LinearRing':
    case 'Curve':
    case 'CompositeCurve':
    case 'OrientableCurve':
    case 'Ring':
      return { type: 'LineString', coordinates: lineOf(node, ctx) };
    case 'Polygon':
    case 'PolygonPatch':
      return { type: 'Polygon', coordinates: polygonOf(node, ctx) };
    case 'Envelope':
      return { type: 'Polygon', coordinates: [envelopeRing(node, ctx)] };
    case 'Surface':
    case 'CompositeSurface': {
      const polys = surfacePolygons(node, ctx);
      const first = polys[0];
      if (polys.length === 1 && first) return { type: 'Polygon', coordinates: first };
      return { type: 'MultiPolygon', coordinates: polys };
    }
    case 'MultiPoint':
      return { type: 'MultiPoint', coordinates: members(node, ['pointMember', 'pointMembers']).map((m) => pointOf(m, enter(m, ctx))) };
    case 'MultiCurve':
    case 'MultiLineString':
      return {
        type: 'MultiLineString',
        coordinates: members(node, ['curveMember', 'curveMembers', 'lineStringMember']).map((m) => lineOf(m, enter(m, ctx))),
      };
    case 'MultiSurface':
    case 'MultiPolygon':
      return {
        type: 'MultiPolygon',
        coordinates: members(node, ['surfaceMember', 'surfaceMembers', 'polygonMember']).flatMap((m) => surfacePolygons(m, enter(m, ctx))),
      };
    case 'MultiGeometry':
      return { type: 'GeometryCollection', geometries: members(node, ['geometryMember', 'geometryMembers']).map((m) => geometryOf(m, ctx)) };
    default:
      throw new GeometryError('geometry-unknown', node.line, `unsupported or unknown geometry element gml:${node.local}`);
  }
}

/** Member geometries of an aggregate: `xxxMember` (one each) and `xxxMembers` (several). */
function members(node: XNode, names: string[]): XNode[] {
  const out: XNode[] = [];
  for (const c of node.children) {
    if (!isGmlNs(c.uri)) continue;
    if (!names.includes(c.local)) {
      if (c.local === 'boundedBy' || c.local === 'name' || c.local === 'description' || c.local === 'identifier') continue;
      throw new GeometryError('geometry-unknown', c.line, `unexpected element gml:${c.local} in gml:${node.local}`);
    }
    if (c.local.endsWith('Members')) out.push(...gmlChildren(c));
    else out.push(only(c));
  }
  return out;
}

function pointOf(node: XNode, ctx: Ctx): Position {
  if (node.local !== 'Point') {
    throw new GeometryError('geometry-unknown', node.line, `expected gml:Point, found gml:${node.local}`);
  }
  const pos = child(node, 'pos');
  if (pos) return posOf(pos, ctx);
  const coords = child(node, 'coordinates');
  if (coords) {
    const list = coordinatesOf(coords, ctx);
    const first = list[0];
    if (list.length !== 1 || !first) throw new GeometryError('coordinate-count', coords.line, `gml:Point must have exactly one position, found ${list.length}`);
    return first;
  }
  const coord = child(node, 'coord');
  if (coord) return coordOf(coord, ctx);
  throw new GeometryError('geometry-empty', node.line, 'gml:Point without gml:pos or gml:coordinates');
}

/** Vertices of a curve-like element (LineString, LinearRing, Curve, Ring, CompositeCurve, OrientableCurve). */
function lineOf(node: XNode, ctx: Ctx): Position[] {
  switch (node.local) {
    case 'LineString':
    case 'LinearRing':
    case 'LineStringSegment':
      return pointsOf(node, ctx);
    case 'Curve': {
      const segments = child(node, 'segments');
      if (!segments) throw new GeometryError('geometry-empty', node.line, 'gml:Curve without gml:segments');
      const parts = gmlChildren(segments).map((s) => segmentOf(s, enter(s, ctx)));
      return concatenate(parts, segments, ctx);
    }
    case 'Ring':
    case 'CompositeCurve': {
      const parts = node.children
        .filter((c) => isGmlNs(c.uri) && c.local === 'curveMember')
        .map((m) => {
          const g = only(m);
          return lineOf(g, enter(g, ctx));
        });
      return concatenate(parts, node, ctx);
    }
    case 'OrientableCurve': {
      const base = child(node, 'baseCurve');
      if (!base) throw new GeometryError('geometry-empty', node.line, 'gml:OrientableCurve without gml:baseCurve');
      const g = only(base);
      const pts = lineOf(g, enter(g, ctx));
      return attr(node, 'orientation') === '-' ? pts.reverse() : pts;
    }
    default:
      throw new GeometryError('geometry-unknown', node.line, `expected a curve, found gml:${node.local}`);
  }
}

function segmentOf(seg: XNode, ctx: Ctx): Position[] {
  switch (seg.local) {
    case 'LineStringSegment':
    case 'GeodesicString':
    case 'Geodesic':
      return pointsOf(seg, ctx);
    case 'Arc':
    case 'ArcString': {
      const pts = pointsOf(seg, ctx);
      if (pts.length < 3 || pts.length % 2 === 0) {
        throw new GeometryError('coordinate-count', seg.line, `gml:${seg.local} needs an odd number (≥ 3) of positions, found ${pts.length}`);
      }
      if (seg.local === 'Arc' && pts.length !== 3) throw new GeometryError('coordinate-count', seg.line, `gml:Arc needs 3 positions, found ${pts.length}`);
      ctx.state.curved = true;
      const out: Position[] = [pts[0] as Position];
      for (let i = 0; i + 2 < pts.length; i += 2) {
        out.push(...linearizeArc(pts[i] as Position, pts[i + 1] as Position, pts[i + 2] as Position, ctx.tolerance).slice(1));
      }
      return out;
    }
    case 'Circle': {
      const pts = pointsOf(seg, ctx);
      if (pts.length !== 3) throw new GeometryError('coordinate-count', seg.line, `gml:Circle needs 3 positions, found ${pts.length}`);
      ctx.state.curved = true;
      return linearizeCircle(pts[0] as Position, pts[1] as Position, pts[2] as Position, ctx.tolerance);
    }
    default:
      throw new GeometryError('geometry-unknown', seg.line, `unsupported curve segment gml:${seg.local}`);
  }
}

/** Joins curve parts, dropping the repeated junction vertex; warns on gaps. */
function concatenate(parts: Position[][], node: XNode, ctx: Ctx): Position[] {
  const out: Position[] = [];
  for (const part of parts) {
    if (part.length === 0) continue;
    const last = out[out.length - 1];
    const first = part[0] as Position;
    if (last) {
      if (samePosition(last, first)) {
        for (let i = 1; i < part.length; i++) out.push(part[i] as Position);
        continue;
      }
      ctx.state.warnings.push({
        rule: 'curve-discontinuous',
        line: node.line,
        message: `gml:${node.local}: a segment starts at (${first.join(' ')}) but the previous one ends at (${last.join(' ')})`,
      });
    }
    for (const p of part) out.push(p);
  }
  return out;
}

function samePosition(a: Position, b: Position): boolean {
  return a[0] === b[0] && a[1] === b[1] && (a.length < 3 || b.length < 3 || a[2] === b[2]);
}

function polygonOf(node: XNode, ctx: Ctx): Position[][] {
  const rings: Position[][] = [];
  let exterior = false;
  for (const c of node.children) {
    if (!isGmlNs(c.uri)) continue;
    if (c.local === 'exterior' || c.local === 'outerBoundaryIs') {
      if (exterior) throw new GeometryError('geometry-unknown', c.line, `gml:${node.local} has more than one exterior ring`);
      exterior = true;
      rings.unshift(ringOf(c, ctx));
    } else if (c.local === 'interior' || c.local === 'innerBoundaryIs') {
      rings.push(ringOf(c, ctx));
    } else if (c.local !== 'name' && c.local !== 'description' && c.local !== 'identifier' && c.local !== 'boundedBy') {
      throw new GeometryError('geometry-unknown', c.line, `unexpected element gml:${c.local} in gml:${node.local}`);
    }
  }
  if (!exterior) throw new GeometryError('geometry-empty', node.line, `gml:${node.local} without an exterior ring`);
  return rings;
}

function ringOf(boundary: XNode, ctx: Ctx): Position[] {
  const ring = only(boundary);
  if (ring.local !== 'LinearRing' && ring.local !== 'Ring') {
    throw new GeometryError('geometry-unknown', ring.line, `expected gml:LinearRing or gml:Ring, found gml:${ring.local}`);
  }
  return lineOf(ring, enter(ring, ctx));
}

function surfacePolygons(node: XNode, ctx: Ctx): Position[][][] {
  switch (node.local) {
    case 'Polygon':
    case 'PolygonPatch':
      return [polygonOf(node, ctx)];
    case 'Surface': {
      const patches = child(node, 'patches') ?? child(node, 'polygonPatches');
      if (!patches) throw new GeometryError('geometry-empty', node.line, 'gml:Surface without gml:patches');
      return gmlChildren(patches).map((p) => {
        if (p.local !== 'PolygonPatch') throw new GeometryError('geometry-unknown', p.line, `unsupported surface patch gml:${p.local}`);
        return polygonOf(p, enter(p, ctx));
      });
    }
    case 'CompositeSurface':
    case 'MultiSurface':
    case 'MultiPolygon':
      return members(node, ['surfaceMember', 'surfaceMembers', 'polygonMember']).flatMap((m) => surfacePolygons(m, enter(m, ctx)));
    default:
      throw new GeometryError('geometry-unknown', node.line, `expected a surface, found gml:${node.local}`);
  }
}

function envelopeRing(node: XNode, ctx: Ctx): Position[] {
  const lower = child(node, 'lowerCorner');
  const upper = child(node, 'upperCorner');
  if (!lower || !upper) throw new GeometryError('geometry-empty', node.line, 'gml:Envelope without lowerCorner/upperCorner');
  const [x0, y0] = posOf(lower, ctx) as [number, number];
  const [x1, y1] = posOf(upper, ctx) as [number, number];
  return [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
    [x0, y0],
  ];
}

/** Positions of a LineString/LinearRing/LineStringSegment: posList, pos*, pointProperty*, coordinates, coord*. */
function pointsOf(node: XNode, ctx: Ctx): Position[] {
  const out: Position[] = [];
  for (const c of node.children) {
    if (!isGmlNs(c.uri)) continue;
    switch (c.local) {
      case 'posList':
        for (const p of posListOf(c, ctx)) out.push(p);
        break;
      case 'pos':
        out.push(posOf(c, ctx));
        break;
      case 'coordinates':
        for (const p of coordinatesOf(c, ctx)) out.push(p);
        break;
      case 'coord':
        out.push(coordOf(c, ctx));
        break;
      case 'pointProperty':
      case 'pointRep': {
        const pt = only(c);
        out.push(pointOf(pt, enter(pt, ctx)));
        break;
      }
      default:
        if (c.local !== 'name' && c.local !== 'description' && c.local !== 'identifier') {
          throw new GeometryError('geometry-unknown', c.line, `unexpected element gml:${c.local} in gml:${node.local}`);
        }
    }
  }
  return out;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function toNumber(token: string, node: XNode): number {
  const v = Number(token);
  if (!Number.isFinite(v) || !NUMBER.test(token)) {
    const shown = token.length > 40 ? `${token.slice(0, 40)}…` : token;
    throw new GeometryError('coordinate-value', node.line, `gml:${node.local}: '${shown}' is not a number`);
  }
  return v;
}

function numbersOf(node: XNode): number[] {
  const text = node.text.trim();
  if (text === '') return [];
  const tokens = text.split(/\s+/);
  const out = new Array<number>(tokens.length);
  for (let i = 0; i < tokens.length; i++) out[i] = toNumber(tokens[i] as string, node);
  return out;
}

function posOf(node: XNode, ctx: Ctx): Position {
  const values = numbersOf(node);
  const explicit = attr(node, 'srsDimension');
  const dim = explicit !== undefined ? parseDimension(explicit, node.line) : ctx.srsDimension;
  if (dim !== null && values.length !== dim) {
    throw new GeometryError('coordinate-count', node.line, `gml:${node.local} has ${values.length} values, srsDimension is ${dim}`);
  }
  if (values.length !== 2 && values.length !== 3) {
    throw new GeometryError('coordinate-count', node.line, `gml:${node.local} has ${values.length} values (2 or 3 expected)`);
  }
  return finish(values, ctx);
}

function posListOf(node: XNode, ctx: Ctx): Position[] {
  const values = numbersOf(node);
  const n = values.length;
  const explicit = attr(node, 'srsDimension');
  let dim = explicit !== undefined ? parseDimension(explicit, node.line) : ctx.srsDimension;
  const countText = attr(node, 'count');
  if (dim === null && countText !== undefined) {
    const count = Number(countText);
    if (Number.isInteger(count) && count > 0 && n % count === 0 && (n / count === 2 || n / count === 3)) dim = n / count;
  }
  if (dim === null) {
    const fileDim = ctx.fileDimension;
    if (fileDim !== null && n % fileDim === 0) {
      dim = fileDim;
    } else if (n % 2 !== 0 && n % 3 === 0) {
      dim = 3;
      ctx.state.warnings.push({
        rule: 'srs-dimension',
        line: node.line,
        message: `gml:posList without srsDimension: ${n} values read as 3D (not divisible by 2)`,
      });
    } else {
      dim = 2;
    }
  }
  if (n % dim !== 0) {
    throw new GeometryError('coordinate-count', node.line, `gml:posList has ${n} values, not a multiple of srsDimension ${dim}`);
  }
  if (countText !== undefined && Number(countText) !== n / dim) {
    throw new GeometryError('coordinate-count', node.line, `gml:posList count="${countText}" but ${n / dim} positions found`);
  }
  const out: Position[] = [];
  for (let i = 0; i < n; i += dim) out.push(finish(values.slice(i, i + dim), ctx));
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `gml:coordinates` with its `decimal`, `cs` and `ts` separators. */
function coordinatesOf(node: XNode, ctx: Ctx): Position[] {
  const decimal = attr(node, 'decimal') ?? '.';
  const cs = attr(node, 'cs') ?? ',';
  const ts = attr(node, 'ts') ?? ' ';
  if (decimal === cs || decimal === ts || cs === ts || decimal.length === 0 || cs.length === 0 || ts.length === 0) {
    throw new GeometryError('coordinate-value', node.line, `gml:coordinates: separators decimal="${decimal}" cs="${cs}" ts="${ts}" are ambiguous`);
  }
  let text = node.text.trim();
  if (text === '') return [];
  const csWs = cs.trim() === '';
  const tsWs = ts.trim() === '';
  if (!csWs) text = text.replace(new RegExp(`\\s*${escapeRegExp(cs)}\\s*`, 'g'), cs);
  if (!tsWs) text = text.replace(new RegExp(`\\s*${escapeRegExp(ts)}\\s*`, 'g'), ts);
  const tuples = tsWs ? text.split(/\s+/) : text.split(ts);
  const out: Position[] = [];
  let dim = -1;
  for (const tuple of tuples) {
    if (tuple === '') continue;
    const parts = csWs ? tuple.split(/\s+/) : tuple.split(cs);
    const values = parts.map((t) => toNumber(decimal === '.' ? t : t.split(decimal).join('.'), node));
    if (values.length !== 2 && values.length !== 3) {
      throw new GeometryError('coordinate-count', node.line, `gml:coordinates: tuple '${tuple.slice(0, 60)}' has ${values.length} values (2 or 3 expected)`);
    }
    if (dim !== -1 && values.length !== dim) {
      throw new GeometryError('coordinate-count', node.line, `gml:coordinates mixes ${dim}D and ${values.length}D tuples`);
    }
    dim = values.length;
    out.push(finish(values, ctx));
  }
  return out;
}

/** GML 2 `<gml:coord><gml:X/><gml:Y/>[<gml:Z/>]</gml:coord>`. */
function coordOf(node: XNode, ctx: Ctx): Position {
  const v: number[] = [];
  for (const axis of ['X', 'Y', 'Z']) {
    const c = child(node, axis);
    if (c) v.push(toNumber(c.text.trim(), c));
  }
  if (v.length < 2) throw new GeometryError('coordinate-count', node.line, 'gml:coord needs X and Y');
  return finish(v, ctx);
}

function finish(values: number[], ctx: Ctx): Position {
  const st = ctx.state;
  if (++st.positions > st.maxPositions) {
    throw new GeometryError('geometry-too-large', 0, `geometry has more than ${st.maxPositions} positions`);
  }
  if (values.length > st.maxDim) st.maxDim = values.length;
  if (ctx.latLon) {
    const t = values[0] as number;
    values[0] = values[1] as number;
    values[1] = t;
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Arcs.

/** Max vertices generated for one arc (guards against absurd radii/tolerances). */
const MAX_ARC_STEPS = 1024;

function circleThrough(a: Position, b: Position, c: Position): { cx: number; cy: number; r: number } | null {
  const ax = a[0] as number,
    ay = a[1] as number,
    bx = b[0] as number,
    by = b[1] as number,
    qx = c[0] as number,
    qy = c[1] as number;
  const d = 2 * (ax * (by - qy) + bx * (qy - ay) + qx * (ay - by));
  const scale = Math.max(Math.abs(bx - ax), Math.abs(by - ay), Math.abs(qx - ax), Math.abs(qy - ay));
  if (scale === 0 || Math.abs(d) < 1e-12 * scale * scale) return null;
  // Work relative to `a` for precision with large projected coordinates.
  const bx1 = bx - ax,
    by1 = by - ay,
    cx1 = qx - ax,
    cy1 = qy - ay;
  const d1 = 2 * (bx1 * cy1 - by1 * cx1);
  if (Math.abs(d1) < 1e-12 * scale * scale) return null;
  const b2 = bx1 * bx1 + by1 * by1;
  const c2 = cx1 * cx1 + cy1 * cy1;
  const ux = (cy1 * b2 - by1 * c2) / d1;
  const uy = (bx1 * c2 - cx1 * b2) / d1;
  return { cx: ax + ux, cy: ay + uy, r: Math.hypot(ux, uy) };
}

function stepAngle(r: number, tolerance: number): number {
  if (tolerance <= 0 || tolerance >= r) return Math.PI / 2;
  return 2 * Math.acos(1 - tolerance / r);
}

/** Signed sweep from angle a0 to a1 in direction `ccw`. */
function sweep(a0: number, a1: number, ccw: boolean): number {
  let s = a1 - a0;
  if (ccw) {
    while (s <= 0) s += 2 * Math.PI;
  } else {
    while (s >= 0) s -= 2 * Math.PI;
  }
  return s;
}

function arcPoints(
  c: { cx: number; cy: number; r: number },
  from: Position,
  to: Position,
  a0: number,
  s: number,
  tolerance: number,
): Position[] {
  const n = Math.min(MAX_ARC_STEPS, Math.max(1, Math.ceil(Math.abs(s) / stepAngle(c.r, tolerance))));
  const hasZ = from.length > 2 && to.length > 2;
  const z0 = from[2] as number;
  const z1 = to[2] as number;
  const out: Position[] = [from];
  for (let i = 1; i < n; i++) {
    const a = a0 + (s * i) / n;
    const p: Position = [c.cx + c.r * Math.cos(a), c.cy + c.r * Math.sin(a)];
    if (hasZ) p.push(z0 + ((z1 - z0) * i) / n);
    out.push(p);
  }
  out.push(to);
  return out;
}

/**
 * Vertices of the circular arc through p0, p1, p2 (p0 and p2 are its ends), chord error ≤
 * tolerance; p0, p1 and p2 are kept exactly. Collinear points give the polyline p0, p1, p2.
 * Z (when present) is interpolated linearly between control points.
 */
export function linearizeArc(p0: Position, p1: Position, p2: Position, tolerance: number): Position[] {
  const c = circleThrough(p0, p1, p2);
  if (!c) return [p0, p1, p2];
  const a0 = Math.atan2((p0[1] as number) - c.cy, (p0[0] as number) - c.cx);
  const a1 = Math.atan2((p1[1] as number) - c.cy, (p1[0] as number) - c.cx);
  const a2 = Math.atan2((p2[1] as number) - c.cy, (p2[0] as number) - c.cx);
  // Direction: the one in which p1 lies between p0 and p2.
  const ccw = sweep(a0, a1, true) < sweep(a0, a2, true);
  const first = arcPoints(c, p0, p1, a0, sweep(a0, a1, ccw), tolerance);
  const second = arcPoints(c, p1, p2, a1, sweep(a1, a2, ccw), tolerance);
  return [...first, ...second.slice(1)];
}

/** Closed ring approximating the full circle through p0, p1, p2, starting and ending at p0. */
export function linearizeCircle(p0: Position, p1: Position, p2: Position, tolerance: number): Position[] {
  const c = circleThrough(p0, p1, p2);
  if (!c) throw new GeometryError('geometry-degenerate', 0, 'gml:Circle through collinear points');
  const a0 = Math.atan2((p0[1] as number) - c.cy, (p0[0] as number) - c.cx);
  const a1 = Math.atan2((p1[1] as number) - c.cy, (p1[0] as number) - c.cx);
  const a2 = Math.atan2((p2[1] as number) - c.cy, (p2[0] as number) - c.cx);
  const ccw = sweep(a0, a1, true) < sweep(a0, a2, true);
  const s = ccw ? 2 * Math.PI : -2 * Math.PI;
  const closing = p0.slice();
  return arcPoints(c, p0, closing, a0, s, tolerance);
}
