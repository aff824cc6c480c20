/**
 * A deterministic synthetic "small French town" defined in world coordinates (Lambert-93 metres).
 *
 * The scene is a pure function of its seed (and centre): `query(bbox)` returns the drawing
 * primitives that touch `bbox`, in world coordinates, sorted in fixed layers. Two queries over
 * adjacent boxes return the same primitives where they overlap, drawn in the same order, so dalles
 * rendered from them join seamlessly.
 *
 * How the town is built:
 * - global features, computed once per scene: the Lot river (a meander looping around the centre,
 *   like Cahors), four main roads (a north–south boulevard with plane trees and three radial
 *   roads, bridges where they cross the river), buildings along the main roads, trees along the
 *   banks and the boulevard;
 * - a jittered, slightly rotated street lattice (80 m cells): every lattice vertex and edge is
 *   derived from a hash of its integer indices, so any part of it can be generated on its own.
 *   Each cell ("quad") is filled from a hash of its indices according to an urban density that
 *   falls off with the distance from the centre: terraced old town (cells split by a middle
 *   street), suburbs (detached houses, gardens, pools, hedges, trees), sparse edges, and rural
 *   cells (fields, vineyards, forest, farmsteads).
 */
import {
  add,
  bboxIntersects,
  bboxOfPoints,
  centroid,
  convexHull,
  convexOverlap,
  dist,
  distToSegment,
  dot,
  expandBbox,
  lerp,
  norm,
  orientedRect,
  perp,
  scale,
  SegmentIndex,
  sideDistance,
  smoothPolyline,
  sub,
  type Bbox,
  type Pt,
} from './geometry.js';
import { fbm, hash32, hashUnit, Rng } from './random.js';

export type { Bbox, Pt } from './geometry.js';

export type Rgb = readonly [number, number, number];

/** Drawing primitives, in world coordinates (metres). */
export type Primitive =
  /** Filled polygon; a building's first roof face also carries the building's footprint (for the demo's vector PCRS). */
  | { readonly t: 'poly'; readonly pts: readonly Pt[]; readonly fill: Rgb; readonly opacity?: number; readonly footprint?: readonly Pt[] }
  /** Stroked polyline (round joins; round caps unless `butt`). */
  | {
      readonly t: 'line';
      readonly pts: readonly Pt[];
      readonly width: number;
      readonly colour: Rgb;
      readonly opacity?: number;
      readonly butt?: boolean;
    }
  /** Many thin independent segments with one style (hatching: roof tiles, furrows, vine rows). */
  | { readonly t: 'segs'; readonly segs: ReadonlyArray<readonly [Pt, Pt]>; readonly width: number; readonly colour: Rgb; readonly opacity: number }
  /** Disc; with `shade`, a radial gradient lit from the sun side (tree crowns). */
  | { readonly t: 'circle'; readonly c: Pt; readonly r: number; readonly fill: Rgb; readonly shade?: number }
  /** Soft patch: a disc of colour fading to transparent at its rim (ground colour variation). */
  | { readonly t: 'blob'; readonly c: Pt; readonly r: number; readonly colour: Rgb; readonly opacity: number };

/**
 * Layers, bottom to top. Shadow layers hold only opaque black 'poly' and 'circle' primitives; the
 * renderer draws each as one union (one path) at `SHADOW_OPACITY`, so overlapping shadows do not
 * darken twice.
 */
export const LAYER_ORDER = [
  'ground',
  'groundDetail',
  'water',
  'roadBase',
  'roadCurb',
  'roadSurface',
  'roadMarking',
  'lowShadow',
  'objects',
  'shadow',
  'roof',
  'roofDetail',
  'canopy',
] as const;
export type Layer = (typeof LAYER_ORDER)[number];
export type SceneLayers = Record<Layer, Primitive[]>;

/** Opacity of the shadow layers (their primitives are opaque black). */
export const SHADOW_OPACITY: Partial<Record<Layer, number>> = { lowShadow: 0.42, shadow: 0.5 };

/** Base colour under everything (meadow). */
export const BACKGROUND: Rgb = [116, 128, 76];

/** Cahors town centre, Lambert-93 (the default scene centre). */
export const CAHORS_CENTRE: Pt = [574_800, 6_373_800];

export interface SceneOptions {
  seed: number;
  /** Town centre in Lambert-93 metres (default: Cahors). */
  centre?: Pt;
}

// --- Appearance constants -----------------------------------------------------------------------

/** Horizontal direction shadows fall (towards north-north-west: morning summer flight). */
const SHADOW_DIR: Pt = norm([-0.42, 0.9]);
/** Shadow length per metre of height (sun elevation ≈ 58°). */
const SHADOW_K = 0.62;
/** Horizontal direction towards the sun. */
const SUN_DIR: Pt = [-SHADOW_DIR[0], -SHADOW_DIR[1]];

const ASPHALT: Rgb = [88, 90, 92];
const SIDEWALK: Rgb = [178, 176, 170];
const CURB: Rgb = [196, 192, 184];
const MARKING: Rgb = [232, 232, 226];
const GRAVEL: Rgb = [178, 168, 146];
const WATER: Rgb = [62, 82, 70];
const BANK: Rgb = [104, 110, 78];
const LAWN: Rgb = [104, 126, 64];
const COURTYARD: Rgb = [128, 124, 108];

const TERRACOTTA: Rgb[] = [
  [176, 98, 70],
  [164, 90, 64],
  [186, 114, 80],
  [150, 84, 62],
  [168, 106, 82],
  [142, 92, 74],
  [194, 126, 92],
];
const BROWN_TILE: Rgb[] = [
  [128, 86, 70],
  [116, 80, 68],
  [138, 98, 80],
];
const SLATE: Rgb[] = [
  [80, 86, 96],
  [92, 96, 104],
  [70, 74, 84],
];
const CONCRETE: Rgb[] = [
  [132, 128, 124],
  [112, 108, 104],
  [146, 136, 126],
];
const FLAT_ROOF: Rgb[] = [
  [170, 166, 158],
  [150, 148, 142],
  [186, 182, 172],
  [126, 126, 124],
];
const CANOPY: Rgb[] = [
  [52, 72, 36],
  [62, 86, 42],
  [44, 60, 34],
  [74, 94, 50],
  [58, 78, 48],
  [82, 96, 52],
];
const CAR_COLOURS: Rgb[] = [
  [226, 226, 222],
  [228, 228, 226],
  [172, 174, 178],
  [30, 32, 36],
  [36, 38, 42],
  [82, 84, 88],
  [150, 34, 32],
  [40, 62, 112],
  [196, 188, 170],
];

const EVERYWHERE: Bbox = [-Infinity, -Infinity, Infinity, Infinity];

type RoofKind = 'gable' | 'hip' | 'flat';
type TileKind = 'canal' | 'rows' | 'none';

interface Building {
  c: Pt;
  /** Unit direction of the ridge. */
  u: Pt;
  /** Length along u. */
  L: number;
  /** Width across u. */
  W: number;
  h: number;
  roof: RoofKind;
  tiles: TileKind;
  colour: Rgb;
  detailSeed: number;
}

interface Street {
  a: Pt;
  b: Pt;
  asphalt: number;
  sidewalk: number;
  kind: 'street' | 'lane' | 'track';
  seed: number;
}

interface MainRoad {
  pts: Pt[];
  asphalt: number;
  sidewalk: number;
  boulevard: boolean;
}

type QuadType = 'centre' | 'suburb' | 'sparse' | 'rural';

const S = 80; // lattice spacing, metres
const CHUNK = 100; // samples per chunk of river (5 m) or road (2 m) features

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
function smoothstep(a: number, b: number, x: number): number {
  const t = clamp01((x - a) / (b - a));
  return t * t * (3 - 2 * t);
}
function shadeRgb(c: Rgb, k: number): Rgb {
  const f = (v: number): number => Math.max(0, Math.min(255, Math.round(v * k)));
  return [f(c[0]), f(c[1]), f(c[2])];
}
function jitterRgb(rng: Rng, c: Rgb, amount: number): Rgb {
  const k = 1 + (rng.next() - 0.5) * 2 * amount;
  const f = (v: number): number => Math.max(0, Math.min(255, Math.round(v * k + (rng.next() - 0.5) * 6)));
  return [f(c[0]), f(c[1]), f(c[2])];
}

function extentOf(p: Primitive): Bbox {
  switch (p.t) {
    case 'poly':
      return bboxOfPoints(p.pts);
    case 'line':
      return bboxOfPoints(p.pts, p.width / 2);
    case 'segs': {
      let xmin = Infinity;
      let ymin = Infinity;
      let xmax = -Infinity;
      let ymax = -Infinity;
      for (const [a, b] of p.segs) {
        xmin = Math.min(xmin, a[0], b[0]);
        xmax = Math.max(xmax, a[0], b[0]);
        ymin = Math.min(ymin, a[1], b[1]);
        ymax = Math.max(ymax, a[1], b[1]);
      }
      return [xmin - p.width, ymin - p.width, xmax + p.width, ymax + p.width];
    }
    case 'circle':
    case 'blob':
      return [p.c[0] - p.r, p.c[1] - p.r, p.c[0] + p.r, p.c[1] + p.r];
  }
}

/** Collects primitives that touch the view box. */
class Collector {
  readonly layers: SceneLayers;
  constructor(readonly view: Bbox) {
    this.layers = Object.fromEntries(LAYER_ORDER.map((l) => [l, []])) as unknown as SceneLayers;
  }
  add(layer: Layer, p: Primitive): void {
    if (bboxIntersects(extentOf(p), this.view)) this.layers[layer].push(p);
  }
  /**
   * Long polyline: keep only the runs of consecutive segments that touch the view (so that the
   * stroke inside the view is exactly the same whatever the view).
   */
  addLongLine(layer: Layer, pts: readonly Pt[], width: number, colour: Rgb, opacity?: number): void {
    const v = expandBbox(this.view, width / 2 + 1);
    let run: Pt[] = [];
    const flush = (): void => {
      if (run.length >= 2) this.layers[layer].push(opacity === undefined ? { t: 'line', pts: run, width, colour } : { t: 'line', pts: run, width, colour, opacity });
      run = [];
    };
    for (let i = 0; i < pts.length - 1; i++) {
      const a = pts[i]!;
      const b = pts[i + 1]!;
      const touches = Math.min(a[0], b[0]) <= v[2] && Math.max(a[0], b[0]) >= v[0] && Math.min(a[1], b[1]) <= v[3] && Math.max(a[1], b[1]) >= v[1];
      if (touches) {
        if (run.length === 0) run.push(a);
        run.push(b);
      } else flush();
    }
    flush();
  }
}

/** A global primitive with its precomputed extent. */
interface GlobalPrim {
  layer: Layer;
  p: Primitive;
  ext: Bbox;
}

/** Clip segment a→b to a convex counter-clockwise ring (Cyrus–Beck); null if outside. */
function clipSegmentToConvex(a: Pt, b: Pt, ring: readonly Pt[], inset = 0): [Pt, Pt] | null {
  let t0 = 0;
  let t1 = 1;
  const d = sub(b, a);
  for (let i = 0; i < ring.length; i++) {
    const p = ring[i]!;
    const q = ring[(i + 1) % ring.length]!;
    const e = norm(sub(q, p));
    const n: Pt = [-e[1], e[0]]; // inward normal for a CCW ring
    const num = dot(sub(a, p), n) - inset;
    const den = dot(d, n);
    if (Math.abs(den) < 1e-12) {
      if (num < 0) return null;
      continue;
    }
    const t = -num / den;
    if (den > 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return null;
  }
  return [lerp(a, b, t0), lerp(a, b, t1)];
}

/** Keep the part of a convex ring on the side where dot(p - p0, n) >= 0. */
function clipHalfPlane(ring: readonly Pt[], p0: Pt, n: Pt): Pt[] {
  const out: Pt[] = [];
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i]!;
    const b = ring[(i + 1) % ring.length]!;
    const da = dot(sub(a, p0), n);
    const db = dot(sub(b, p0), n);
    if (da >= 0) out.push(a);
    if ((da >= 0) !== (db >= 0)) out.push(lerp(a, b, da / (da - db)));
  }
  return out;
}

/** Inset a convex CCW ring by per-side distances (by clipping with the shifted half-planes). */
function insetRing(ring: readonly Pt[], d: readonly number[]): Pt[] {
  let out: Pt[] = [...ring];
  for (let i = 0; i < ring.length && out.length >= 3; i++) {
    const p = ring[i]!;
    const q = ring[(i + 1) % ring.length]!;
    const n = perp(norm(sub(q, p)));
    out = clipHalfPlane(out, add(p, scale(n, d[i] ?? 0)), n);
  }
  return out;
}

function pointInConvex(p: Pt, ring: readonly Pt[], margin = 0): boolean {
  for (let i = 0; i < ring.length; i++) {
    if (sideDistance(p, ring[i]!, ring[(i + 1) % ring.length]!) < margin) return false;
  }
  return true;
}

function ringArea(ring: readonly Pt[]): number {
  let s = 0;
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i]!;
    const b = ring[(i + 1) % ring.length]!;
    s += a[0] * b[1] - b[0] * a[1];
  }
  return Math.abs(s) / 2;
}

export class SyntheticScene {
  readonly seed: number;
  readonly centre: Pt;
  private readonly theta: number;
  private readonly cosT: number;
  private readonly sinT: number;
  private readonly river: Pt[];
  private readonly riverHalf = 42;
  private readonly riverIndex = new SegmentIndex(100);
  private readonly roads: MainRoad[];
  private readonly roadIndex = new SegmentIndex(100);
  /** Roads sampled every 20 m, for the (smooth) density field. */
  private readonly coarseRoadIndex = new SegmentIndex(200);
  private readonly roadHalfTotal: number[] = [];
  private readonly longLines: GlobalPrim[] = [];
  private readonly chunks: Array<{ road: number; k0: number; k1: number; ext: Bbox }> = [];
  private readonly chunkCache = new Map<number, GlobalPrim[]>();
  private readonly edgeMemo = new Map<string, Street | null>();
  private readonly quadMemo = new Map<string, { type: QuadType; d: number; ring: Pt[] }>();
  private readonly midMemo = new Map<string, (Street & { side: 0 | 1 }) | null>();

  constructor(options: SceneOptions) {
    this.seed = options.seed | 0;
    this.centre = options.centre ?? CAHORS_CENTRE;
    const rng = Rng.of(this.seed, 1);
    this.theta = rng.range(-0.3, 0.3);
    this.cosT = Math.cos(this.theta);
    this.sinT = Math.sin(this.theta);

    // River: a meander loop around the centre, open to the north (Cahors-like).
    const c = this.centre;
    const rj = (v: number): number => v + rng.range(-30, 30);
    const loop: Pt[] = [];
    for (let a = 55; a >= -235; a -= 18) {
      const phi = (a * Math.PI) / 180;
      loop.push([rj(520 * Math.cos(phi)), rj(-150 + 650 * Math.sin(phi))]);
    }
    const riverLocal: Pt[] = [[6000, 3000], [3500, 2300], [2000, 1700], [1100, 1200], [620, 720], ...loop, [-640, 760], [-1300, 1250], [-2600, 1420], [-4200, 1300], [-7000, 1500]];
    this.river = smoothPolyline(riverLocal.map((p) => add(c, p)), 5);
    this.riverIndex.addPolyline(this.river);

    // Main roads (local control points around the centre).
    const j = (p: Pt, amount = 25): Pt => add(c, [p[0] + rng.range(-amount, amount), p[1] + rng.range(-amount, amount)]);
    const roadDefs: Array<{ ctrl: Pt[]; asphalt: number; sidewalk: number; boulevard: boolean }> = [
      { ctrl: [[60, 6000], [40, 3000], [10, 1200], [0, 400], [-10, -300], [20, -820], [60, -1500], [150, -3000], [300, -6000]], asphalt: 12, sidewalk: 4.5, boulevard: true },
      { ctrl: [[-30, 100], [-300, 60], [-560, 10], [-900, -60], [-1800, -250], [-4000, -500], [-6500, -900]], asphalt: 8, sidewalk: 2.2, boulevard: false },
      { ctrl: [[30, -200], [300, -180], [560, -150], [900, -100], [2000, 200], [4000, 700], [6500, 1200]], asphalt: 8, sidewalk: 2.2, boulevard: false },
      { ctrl: [[0, 480], [-400, 820], [-1000, 1500], [-2500, 2600], [-4500, 3500], [-6500, 4200]], asphalt: 7.5, sidewalk: 2, boulevard: false },
    ];
    this.roads = roadDefs.map((d) => ({ pts: smoothPolyline(d.ctrl.map((p, k) => (k === 0 ? add(c, p) : j(p))), 2), asphalt: d.asphalt, sidewalk: d.sidewalk, boulevard: d.boulevard }));
    this.roads.forEach((r, k) => {
      this.roadIndex.addPolyline(r.pts, k);
      this.coarseRoadIndex.addPolyline(r.pts.filter((_, q) => q % 10 === 0 || q === r.pts.length - 1), k);
      this.roadHalfTotal.push(r.asphalt / 2 + r.sidewalk);
    });

    this.buildGlobals();
  }

  // --- Public helpers ------------------------------------------------------------------------

  /** Urban density in [0, 1] at a world position (1 = old town, 0 = countryside). */
  density(p: Pt): number {
    const r = dist(p, add(this.centre, [0, 60]));
    const core = 1 - smoothstep(220, 1750, r);
    const noise = (fbm(this.seed + 77, p[0] / 380, p[1] / 380, 2) - 0.5) * 0.36;
    const dRoad = this.coarseRoadIndex.distance(p, 400);
    const ribbon = dRoad === Infinity ? 0 : 0.28 * Math.exp(-dRoad / 130) * (1 - smoothstep(1800, 4500, r));
    return clamp01(core + noise + ribbon);
  }

  /** Every primitive touching `bbox`, by layer. Same seed and overlapping boxes ⇒ same primitives. */
  query(bbox: Bbox): SceneLayers {
    const out = new Collector(bbox);
    const { i0, i1, j0, j1 } = this.latticeRange(bbox, 2);
    // Lattice streets first (layers keep insertion order; the iteration order is global).
    for (let jj = j0; jj <= j1; jj++) {
      for (let ii = i0; ii <= i1; ii++) {
        for (const dir of ['h', 'v'] as const) {
          const s = this.edge(ii, jj, dir);
          if (s) this.emitStreet(out, s);
        }
        this.emitJunction(out, ii, jj);
      }
    }
    for (let jj = j0; jj <= j1; jj++) {
      for (let ii = i0; ii <= i1; ii++) this.emitQuad(out, ii, jj);
    }
    for (const g of this.longLines) {
      if (g.p.t === 'line' && bboxIntersects(g.ext, bbox)) out.addLongLine(g.layer, g.p.pts, g.p.width, g.p.colour, g.p.opacity);
    }
    for (let id = 0; id < this.chunks.length; id++) {
      if (!bboxIntersects(this.chunks[id]!.ext, bbox)) continue;
      for (const g of this.chunkPrims(id)) if (bboxIntersects(g.ext, bbox)) out.layers[g.layer].push(g.p);
    }
    return out.layers;
  }

  // --- Lattice -------------------------------------------------------------------------------

  private toLattice(p: Pt): Pt {
    const lx = p[0] - this.centre[0];
    const ly = p[1] - this.centre[1];
    return [(this.cosT * lx + this.sinT * ly) / S, (-this.sinT * lx + this.cosT * ly) / S];
  }

  private latticeRange(b: Bbox, pad: number): { i0: number; i1: number; j0: number; j1: number } {
    const corners = [this.toLattice([b[0], b[1]]), this.toLattice([b[2], b[1]]), this.toLattice([b[0], b[3]]), this.toLattice([b[2], b[3]])];
    const us = corners.map((p) => p[0]);
    const vs = corners.map((p) => p[1]);
    return {
      i0: Math.floor(Math.min(...us)) - pad,
      i1: Math.ceil(Math.max(...us)) + pad - 1,
      j0: Math.floor(Math.min(...vs)) - pad,
      j1: Math.ceil(Math.max(...vs)) + pad - 1,
    };
  }

  private vertex(i: number, j: number): Pt {
    const a = (i + (hashUnit(this.seed, 11, i, j) - 0.5) * 0.36) * S;
    const b = (j + (hashUnit(this.seed, 12, i, j) - 0.5) * 0.36) * S;
    return [this.centre[0] + this.cosT * a - this.sinT * b, this.centre[1] + this.sinT * a + this.cosT * b];
  }

  private nearWater(p: Pt, margin: number): boolean {
    return this.riverIndex.distance(p, this.riverHalf + margin) !== Infinity;
  }

  /** Lattice street from vertex (i,j) to (i+1,j) ('h') or (i,j+1) ('v'), or null. */
  private edge(i: number, j: number, dir: 'h' | 'v'): Street | null {
    const key = `${i},${j},${dir}`;
    const memo = this.edgeMemo.get(key);
    if (memo !== undefined) return memo;
    if (this.edgeMemo.size > 200_000) this.edgeMemo.clear();
    const a = this.vertex(i, j);
    const b = dir === 'h' ? this.vertex(i + 1, j) : this.vertex(i, j + 1);
    const rng = Rng.of(this.seed, 13, i, j, dir === 'h' ? 0 : 1);
    const mid = lerp(a, b, 0.5);
    const d = this.density(mid);
    const p = d >= 0.72 ? 0.93 : d >= 0.38 ? 0.85 : d >= 0.18 ? 0.55 : 0.2;
    let street: Street | null = null;
    if (rng.chance(p)) {
      let ok = true;
      let nearRoad = 0;
      for (let k = 0; k <= 6; k++) {
        const q = lerp(a, b, k / 6);
        if (this.nearWater(q, 8)) ok = false;
        if (this.roadIndex.distance(q, 22) !== Infinity) nearRoad++;
      }
      if (nearRoad >= 4) ok = false;
      if (ok) {
        const seed = hash32(this.seed, 14, i, j, dir === 'h' ? 0 : 1);
        if (d >= 0.38) street = { a, b, asphalt: rng.range(5, 7), sidewalk: rng.range(1.5, 2.6), kind: 'street', seed };
        else if (d >= 0.18 || rng.chance(0.5)) street = { a, b, asphalt: rng.range(3.6, 4.8), sidewalk: 0, kind: 'lane', seed };
        else street = { a, b, asphalt: rng.range(3, 4), sidewalk: 0, kind: 'track', seed };
      }
    }
    this.edgeMemo.set(key, street);
    return street;
  }

  /** Clearance from p to the nearest lattice street's edge (negative inside a street). */
  private latticeStreetClearance(p: Pt): number {
    const [u, v] = this.toLattice(p);
    const i0 = Math.floor(u) - 1;
    const j0 = Math.floor(v) - 1;
    let best = Infinity;
    for (let j = j0; j <= j0 + 2; j++) {
      for (let i = i0; i <= i0 + 2; i++) {
        for (const dir of ['h', 'v'] as const) {
          const s = this.edge(i, j, dir);
          if (!s) continue;
          const d = distToSegment(p, s.a, s.b) - (s.asphalt / 2 + s.sidewalk);
          if (d < best) best = d;
        }
        const m = this.midStreet(i, j);
        if (m) {
          const d = distToSegment(p, m.a, m.b) - (m.asphalt / 2 + m.sidewalk);
          if (d < best) best = d;
        }
      }
    }
    return best;
  }

  private quadType(i: number, j: number): { type: QuadType; d: number; ring: Pt[] } {
    const key = `${i},${j}`;
    const memo = this.quadMemo.get(key);
    if (memo) return memo;
    if (this.quadMemo.size > 100_000) this.quadMemo.clear();
    const q = this.computeQuadType(i, j);
    this.quadMemo.set(key, q);
    return q;
  }

  private computeQuadType(i: number, j: number): { type: QuadType; d: number; ring: Pt[] } {
    const ring = [this.vertex(i, j), this.vertex(i + 1, j), this.vertex(i + 1, j + 1), this.vertex(i, j + 1)];
    const d = this.density(centroid(ring));
    const type: QuadType = d >= 0.72 ? 'centre' : d >= 0.38 ? 'suburb' : d >= 0.18 ? 'sparse' : 'rural';
    return { type, d, ring };
  }

  /** The optional middle street splitting an old-town quad, or null. */
  private midStreet(i: number, j: number): (Street & { side: 0 | 1 }) | null {
    const key = `${i},${j}`;
    const memo = this.midMemo.get(key);
    if (memo !== undefined) return memo;
    if (this.midMemo.size > 100_000) this.midMemo.clear();
    const m = this.computeMidStreet(i, j);
    this.midMemo.set(key, m);
    return m;
  }

  private computeMidStreet(i: number, j: number): (Street & { side: 0 | 1 }) | null {
    const { type, ring } = this.quadType(i, j);
    if (type !== 'centre') return null;
    const rng = Rng.of(this.seed, 15, i, j);
    if (!rng.chance(0.65)) return null;
    const [v00, v10, v11, v01] = ring as [Pt, Pt, Pt, Pt];
    // Split across the longer dimension.
    const side: 0 | 1 = dist(v00, v10) + dist(v01, v11) > dist(v00, v01) + dist(v10, v11) ? 0 : 1;
    const a = side === 0 ? lerp(v00, v10, 0.5) : lerp(v10, v11, 0.5);
    const b = side === 0 ? lerp(v11, v01, 0.5) : lerp(v01, v00, 0.5);
    for (let k = 0; k <= 4; k++) if (this.nearWater(lerp(a, b, k / 4), 8)) return null;
    return { a, b, asphalt: rng.range(4, 5.5), sidewalk: rng.range(0.8, 1.5), kind: 'street', seed: hash32(this.seed, 16, i, j), side };
  }

  // --- Streets -------------------------------------------------------------------------------

  private emitStreet(out: Collector, s: Street): void {
    const rng = new Rng(s.seed);
    const total = s.asphalt + 2 * s.sidewalk;
    const pts = [s.a, s.b];
    if (s.kind === 'street') {
      out.add('roadBase', { t: 'line', pts, width: total, colour: jitterRgb(rng, SIDEWALK, 0.05) });
      out.add('roadCurb', { t: 'line', pts, width: s.asphalt + 0.35, colour: CURB });
      out.add('roadSurface', { t: 'line', pts, width: s.asphalt, colour: jitterRgb(rng, ASPHALT, 0.07) });
      this.emitParkedCars(out, s, rng);
    } else if (s.kind === 'lane') {
      out.add('roadBase', { t: 'line', pts, width: s.asphalt + 1.6, colour: [132, 130, 104] });
      out.add('roadSurface', { t: 'line', pts, width: s.asphalt, colour: jitterRgb(rng, [100, 101, 100], 0.06) });
    } else {
      out.add('roadSurface', { t: 'line', pts, width: s.asphalt, colour: jitterRgb(rng, GRAVEL, 0.06) });
      // Grass strip in the middle of a farm track.
      out.add('roadMarking', { t: 'line', pts, width: 0.7, colour: [124, 128, 84], opacity: 0.8 });
    }
  }

  private emitParkedCars(out: Collector, s: Street, rng: Rng): void {
    const L = dist(s.a, s.b);
    const u = norm(sub(s.b, s.a));
    const n = perp(u);
    const sideSign = rng.chance(0.5) ? 1 : -1;
    const density = this.density(lerp(s.a, s.b, 0.5));
    const p = density > 0.72 ? 0.62 : 0.3;
    for (let t = 12; t < L - 12; t += 5.6) {
      if (!rng.chance(p)) continue;
      const c = add(add(s.a, scale(u, t + rng.range(-0.4, 0.4))), scale(n, sideSign * (s.asphalt / 2 - 1.15)));
      this.emitCar(out, c, rng.chance(0.5) ? u : scale(u, -1), rng);
    }
  }

  private emitCar(out: Collector, c: Pt, u: Pt, rng: Rng): void {
    const len = rng.range(3.9, 4.7);
    const wid = rng.range(1.7, 1.85);
    const body = rng.pick(CAR_COLOURS);
    const ring = orientedRect(c, u, len, wid);
    out.add('lowShadow', { t: 'poly', pts: convexHull([...ring, ...ring.map((p) => add(p, scale(SHADOW_DIR, 1.4 * SHADOW_K)))]), fill: [0, 0, 0] });
    out.add('objects', { t: 'poly', pts: ring, fill: body });
    out.add('objects', { t: 'poly', pts: orientedRect(add(c, scale(u, -0.15)), u, len * 0.5, wid * 0.86), fill: shadeRgb(body, 0.92) });
    out.add('objects', { t: 'poly', pts: orientedRect(add(c, scale(u, len * 0.17)), u, len * 0.16, wid * 0.82), fill: [38, 42, 48] });
    out.add('objects', { t: 'poly', pts: orientedRect(add(c, scale(u, -len * 0.36)), u, len * 0.09, wid * 0.78), fill: [46, 50, 56] });
  }

  private emitJunction(out: Collector, i: number, j: number): void {
    const v = this.vertex(i, j);
    if (this.density(v) < 0.6) return;
    const rng = Rng.of(this.seed, 17, i, j);
    if (!rng.chance(0.55)) return;
    const arms: Street[] = [];
    for (const s of [this.edge(i, j, 'h'), this.edge(i, j, 'v'), this.edge(i - 1, j, 'h'), this.edge(i, j - 1, 'v')]) if (s) arms.push(s);
    if (arms.length < 3) return;
    for (const s of arms) {
      const far = dist(s.a, v) < 1e-6 ? s.b : s.a;
      const u = norm(sub(far, v));
      if (dist(far, v) < 30) continue;
      const centre = add(v, scale(u, 9));
      this.emitZebra(out, centre, u, s.asphalt);
    }
  }

  /** Pedestrian crossing: stripes parallel to the traffic, spread across the carriageway. */
  private emitZebra(out: Collector, centre: Pt, along: Pt, carriageway: number): void {
    const across = perp(along);
    const stripes: Pt[][] = [];
    for (let o = -carriageway / 2 + 0.6; o <= carriageway / 2 - 0.6; o += 1.1) {
      stripes.push(orientedRect(add(centre, scale(across, o)), along, 2.5, 0.5));
    }
    for (const r of stripes) out.add('roadMarking', { t: 'poly', pts: r, fill: MARKING, opacity: 0.92 });
  }

  // --- Quads ---------------------------------------------------------------------------------

  private emitQuad(out: Collector, i: number, j: number): void {
    const { type, d, ring } = this.quadType(i, j);
    const quadBox = bboxOfPoints(ring, 20);
    if (!bboxIntersects(quadBox, out.view)) return;
    const rng = Rng.of(this.seed, 20, i, j);
    const sides: Array<Street | null> = [this.edge(i, j, 'h'), this.edge(i + 1, j, 'v'), this.edge(i, j + 1, 'h'), this.edge(i, j, 'v')];

    if (type === 'rural') {
      this.emitRural(out, ring, sides, rng, i, j);
      return;
    }
    const special = rng.next();
    if (type === 'centre' && special < 0.06 && !this.midStreet(i, j)) {
      this.emitParking(out, ring, sides, rng);
      return;
    }
    if ((type === 'centre' || type === 'suburb') && special > 0.955) {
      this.emitPark(out, ring, sides, rng);
      return;
    }
    const mid = this.midStreet(i, j);
    if (mid) {
      this.emitStreet(out, mid);
      const [v00, v10, v11, v01] = ring as [Pt, Pt, Pt, Pt];
      const [s0, s1, s2, s3] = sides as [Street | null, Street | null, Street | null, Street | null];
      if (mid.side === 0) {
        this.emitBlock(out, [v00, mid.a, mid.b, v01], [s0, mid, s2, s3], type, d, rng);
        this.emitBlock(out, [mid.a, v10, v11, mid.b], [s0, s1, s2, mid], type, d, rng);
      } else {
        this.emitBlock(out, [v00, v10, mid.a, mid.b], [s0, s1, mid, s3], type, d, rng);
        this.emitBlock(out, [mid.b, mid.a, v11, v01], [mid, s1, s2, s3], type, d, rng);
      }
    } else {
      this.emitBlock(out, ring, sides, type, d, rng);
    }
  }

  /** Clearance rules shared by everything built on the ground. */
  private groundFree(p: Pt, margin: number, urbanRoadClear: boolean): boolean {
    if (this.nearWater(p, margin + 4)) return false;
    const clear = urbanRoadClear ? 17 : 1.5;
    const dRoad = this.roadIndex.distance(p, 40);
    if (dRoad !== Infinity && dRoad < 10.5 + clear + margin) return false;
    return true;
  }

  private buildingFree(ring: readonly Pt[], urbanRoadClear: boolean): boolean {
    for (const p of [...ring, centroid(ring)]) if (!this.groundFree(p, 0, urbanRoadClear)) return false;
    return true;
  }

  private emitBlock(out: Collector, ring: Pt[], sides: Array<Street | null>, type: QuadType, d: number, rng: Rng): void {
    const margins = sides.map((s) => (s ? s.asphalt / 2 + s.sidewalk : 0));
    const area = ringArea(ring);
    // Ground.
    const groundColour: Rgb = type === 'centre' ? (rng.chance(0.5) ? [98, 116, 62] : COURTYARD) : type === 'sparse' ? [122, 130, 78] : LAWN;
    out.add('ground', { t: 'poly', pts: ring, fill: jitterRgb(rng, groundColour, 0.06) });
    const blobs = Math.round(area / 500);
    for (let k = 0; k < blobs; k++) {
      const c = this.randomPointIn(ring, rng);
      const colour: Rgb = type === 'centre' ? rng.pick<Rgb>([[96, 116, 62], [160, 150, 132], [120, 112, 100]]) : rng.pick<Rgb>([[140, 146, 90], [88, 110, 56], [128, 124, 86], [96, 120, 60]]);
      out.add('groundDetail', { t: 'blob', c, r: rng.range(3, 12), colour, opacity: rng.range(0.25, 0.6) });
    }

    const buildings: Pt[][] = [];
    const obstacles: Pt[][] = [];
    const urbanClear = d >= 0.3;
    // Buildings along each street side.
    for (let k = 0; k < ring.length; k++) {
      const s = sides[k];
      if (!s || s.kind === 'track') continue;
      if (type === 'sparse' && !rng.chance(0.7)) continue;
      const a = ring[k]!;
      const b = ring[(k + 1) % ring.length]!;
      const u = norm(sub(b, a));
      const n = perp(u); // inward for CCW
      const L = dist(a, b);
      const setback = type === 'centre' ? 0.2 : type === 'suburb' ? rng.range(4, 8) : rng.range(5, 12);
      const front = margins[k]! + setback;
      let t = 0;
      while (t < L) {
        const lotW = type === 'centre' ? rng.range(5, 9.5) : type === 'suburb' ? rng.range(16, 26) : rng.range(22, 40);
        const place = type === 'centre' ? 0.96 : type === 'suburb' ? 0.82 : 0.45;
        if (rng.chance(place)) {
          let Lb: number;
          let Wb: number;
          let offset: number;
          if (type === 'centre') {
            Lb = lotW;
            Wb = rng.range(9, 14);
            offset = 0;
          } else {
            Lb = Math.min(lotW - 3, rng.range(9, 15));
            Wb = rng.range(8, 11);
            offset = rng.range(-1.5, 1.5);
          }
          const alongC = t + lotW / 2 + offset;
          const c = add(add(a, scale(u, alongC)), scale(n, front + Wb / 2));
          const fp = orientedRect(c, u, Lb, Wb);
          if (this.fits(fp, ring, margins, k, buildings, obstacles, urbanClear)) {
            buildings.push(fp);
            const roofRng = new Rng(rng.int(0, 2 ** 31));
            this.emitBuilding(out, this.makeBuilding(c, u, Lb, Wb, type, roofRng));
            if (type !== 'centre') {
              // Driveway, pool, annex.
              const drive = orientedRect(add(add(a, scale(u, alongC + Lb / 2 + 1.8)), scale(n, margins[k]! + setback / 2)), n, setback + 0.5, 3);
              if (pointInConvex(centroid(drive), ring, 0)) out.add('groundDetail', { t: 'poly', pts: drive, fill: jitterRgb(rng, GRAVEL, 0.05) });
              if (rng.chance(type === 'suburb' ? 0.32 : 0.18)) {
                const pl = rng.range(7, 10);
                const pw = rng.range(3.5, 4.5);
                const pc = add(c, add(scale(n, Wb / 2 + 3 + pw / 2), scale(u, rng.range(-2, 2))));
                const pool = orientedRect(pc, u, pl, pw);
                if (this.fits(pool, ring, margins, -1, buildings, obstacles, urbanClear)) {
                  obstacles.push(orientedRect(pc, u, pl + 2, pw + 2));
                  out.add('objects', { t: 'poly', pts: orientedRect(pc, u, pl + 0.8, pw + 0.8), fill: [214, 208, 196] });
                  out.add('objects', { t: 'poly', pts: pool, fill: jitterRgb(rng, [72, 168, 190], 0.05) });
                  out.add('objects', { t: 'blob', c: add(pc, scale(u, -pl * 0.2)), r: pw * 0.7, colour: [150, 220, 230], opacity: 0.35 });
                }
              }
            }
          }
        }
        t += lotW;
        // Hedge on lot boundaries (suburbs).
        if (type === 'suburb' && t < L - 8 && rng.chance(0.45)) {
          const p0 = add(add(a, scale(u, t)), scale(n, margins[k]! + 0.6));
          let len = rng.range(14, 30);
          for (let q = 2; q < len; q += 2) {
            const pq = add(p0, scale(n, q));
            if (!pointInConvex(pq, ring, 1) || buildings.some((bb) => pointInConvex(pq, bb, -1.2)) || obstacles.some((bb) => pointInConvex(pq, bb, 0))) {
              len = q - 2;
              break;
            }
          }
          if (len > 3) {
            const p1 = add(p0, scale(n, len));
            const w = rng.range(0.8, 1.3);
            const hedge = orientedRect(lerp(p0, p1, 0.5), n, len + w, w);
            out.add('lowShadow', { t: 'poly', pts: convexHull([...hedge, ...hedge.map((q) => add(q, scale(SHADOW_DIR, 1.6)))]), fill: [0, 0, 0] });
            out.add('objects', { t: 'line', pts: [p0, p1], width: w, colour: jitterRgb(rng, [50, 70, 36], 0.1) });
          }
        }
      }
    }
    // Trees in gardens and courtyards.
    const perTree = type === 'centre' ? 520 : type === 'suburb' ? 170 : 260;
    const tries = Math.round(area / perTree);
    const inner = insetRing(ring, margins.map((m) => m + 1));
    if (inner.length >= 3) {
      for (let k = 0; k < tries; k++) {
        const c = this.randomPointIn(inner, rng);
        const r = type === 'centre' ? rng.range(2.5, 4.8) : rng.range(2, 5.5);
        if (buildings.some((bb) => pointInConvex(c, bb, -r * 0.55))) continue;
        if (obstacles.some((bb) => pointInConvex(c, bb, -r * 0.3))) continue;
        if (!this.groundFree(c, 0, false)) continue;
        this.emitTree(out, c, r, rng);
      }
    }
  }

  private fits(fp: Pt[], ring: Pt[], margins: number[], own: number, buildings: Pt[][], obstacles: Pt[][], urbanClear: boolean): boolean {
    for (const p of fp) {
      for (let k = 0; k < ring.length; k++) {
        const m = k === own ? margins[k]! - 0.01 : margins[k]! + 0.8;
        if (sideDistance(p, ring[k]!, ring[(k + 1) % ring.length]!) < m) return false;
      }
    }
    // Buildings may touch (terraced rows), not overlap.
    for (const b of buildings) if (convexOverlap(fp, b, -0.05)) return false;
    for (const b of obstacles) if (convexOverlap(fp, b, 0.01)) return false;
    return this.buildingFree(fp, urbanClear);
  }

  private makeBuilding(c: Pt, u: Pt, L: number, W: number, type: QuadType, rng: Rng): Building {
    const roll = rng.next();
    let roof: RoofKind;
    let tiles: TileKind;
    let colour: Rgb;
    if (type === 'centre') {
      roof = roll < 0.08 ? 'flat' : 'gable';
      if (roof === 'flat') {
        colour = rng.pick(FLAT_ROOF);
        tiles = 'none';
      } else if (roll < 0.7) {
        colour = rng.pick(TERRACOTTA);
        tiles = 'canal';
      } else if (roll < 0.9) {
        colour = rng.pick(BROWN_TILE);
        tiles = 'rows';
      } else {
        colour = rng.pick(SLATE);
        tiles = 'rows';
      }
    } else {
      roof = roll < 0.45 ? 'hip' : roll < 0.93 ? 'gable' : 'flat';
      const c2 = rng.next();
      if (roof === 'flat') {
        colour = rng.pick(FLAT_ROOF);
        tiles = 'none';
      } else if (c2 < 0.72) {
        colour = rng.pick(TERRACOTTA);
        tiles = 'canal';
      } else if (c2 < 0.88) {
        colour = rng.pick(CONCRETE);
        tiles = 'rows';
      } else {
        colour = rng.pick(SLATE);
        tiles = 'rows';
      }
    }
    const h = type === 'centre' ? rng.range(7, 12) : rng.range(4.5, 7);
    return { c, u, L, W, h, roof, tiles, colour: jitterRgb(rng, colour, 0.06), detailSeed: rng.int(0, 2 ** 31) };
  }

  private emitBuilding(out: Collector, b: Building): void {
    const rng = new Rng(b.detailSeed);
    const { c, u, L, W } = b;
    const v = perp(u);
    const fp = orientedRect(c, u, L, W);
    const [c0, c1, c2, c3] = fp as [Pt, Pt, Pt, Pt];
    out.add('shadow', { t: 'poly', pts: convexHull([...fp, ...fp.map((p) => add(p, scale(SHADOW_DIR, b.h * SHADOW_K)))]), fill: [0, 0, 0] });
    const lit = (n: Pt, k = 0.28): Rgb => shadeRgb(b.colour, 1 + k * dot(n, SUN_DIR));
    const segs: Array<readonly [Pt, Pt]> = [];
    const at = (s: number, w: number): Pt => add(c, add(scale(u, s), scale(v, w)));
    if (b.roof === 'flat') {
      out.add('roof', { t: 'poly', pts: fp, fill: b.colour, footprint: fp });
      out.add('roofDetail', { t: 'line', pts: [...fp, c0], width: 0.35, colour: shadeRgb(b.colour, 1.15) });
      const boxes = rng.int(0, 3);
      for (let k = 0; k < boxes; k++) {
        const bc = at(rng.range(-L / 3, L / 3), rng.range(-W / 3, W / 3));
        const box = orientedRect(bc, u, rng.range(0.8, 2.2), rng.range(0.8, 1.6));
        out.add('roofDetail', { t: 'poly', pts: convexHull([...box, ...box.map((p) => add(p, scale(SHADOW_DIR, 0.8)))]), fill: [0, 0, 0], opacity: 0.35 });
        out.add('roofDetail', { t: 'poly', pts: box, fill: [196, 196, 192] });
      }
      return;
    }
    const half = b.roof === 'hip' ? Math.max(0, L / 2 - W / 2) : L / 2;
    const r0 = at(-half, 0);
    const r1 = at(half, 0);
    // Faces with their horizontal outward normal.
    out.add('roof', { t: 'poly', pts: [c0, c1, r1, r0], fill: lit(scale(v, -1)), footprint: fp });
    out.add('roof', { t: 'poly', pts: [r0, r1, c2, c3], fill: lit(v) });
    if (b.roof === 'hip') {
      out.add('roof', { t: 'poly', pts: [c3, c0, r0], fill: lit(scale(u, -1)) });
      out.add('roof', { t: 'poly', pts: [c1, c2, r1], fill: lit(u) });
    }
    // Tile texture: canal tiles run eave→ridge, flat tiles/slates in rows parallel to the eave.
    const hipped = b.roof === 'hip';
    if (b.tiles === 'canal') {
      const step = 0.24;
      for (let s = -L / 2 + step / 2; s < L / 2; s += step) {
        const depth = hipped ? Math.min(W / 2, L / 2 - Math.abs(s)) : W / 2;
        if (depth <= 0.05) continue;
        segs.push([at(s, -W / 2), at(s, -W / 2 + depth)]);
        segs.push([at(s, W / 2), at(s, W / 2 - depth)]);
      }
      if (hipped) {
        for (let w = -W / 2 + step / 2; w < W / 2; w += step) {
          const depth = Math.min(L / 2, W / 2 - Math.abs(w));
          if (depth <= 0.05) continue;
          segs.push([at(-L / 2, w), at(-L / 2 + depth, w)]);
          segs.push([at(L / 2, w), at(L / 2 - depth, w)]);
        }
      }
    } else if (b.tiles === 'rows') {
      const step = 0.3;
      for (let dd = step; dd < W / 2; dd += step) {
        const ext = hipped ? L / 2 - dd : L / 2;
        if (ext <= 0.05) continue;
        segs.push([at(-ext, -W / 2 + dd), at(ext, -W / 2 + dd)]);
        segs.push([at(-ext, W / 2 - dd), at(ext, W / 2 - dd)]);
      }
      if (hipped) {
        for (let dd = step; dd < Math.min(W / 2, L / 2); dd += step) {
          const ext = W / 2 - dd;
          segs.push([at(-L / 2 + dd, -ext), at(-L / 2 + dd, ext)]);
          segs.push([at(L / 2 - dd, -ext), at(L / 2 - dd, ext)]);
        }
      }
    }
    if (segs.length > 0) out.add('roofDetail', { t: 'segs', segs, width: 0.06, colour: shadeRgb(b.colour, 0.6), opacity: 0.45 });
    // Weathering patches.
    const patches = rng.int(0, 3);
    for (let k = 0; k < patches; k++) {
      out.add('roofDetail', { t: 'blob', c: at(rng.range(-L / 2.5, L / 2.5), rng.range(-W / 2.5, W / 2.5)), r: rng.range(0.8, 2.5), colour: rng.chance(0.5) ? [70, 66, 58] : [200, 190, 170], opacity: rng.range(0.15, 0.35) });
    }
    // Ridge and hips, eaves.
    const ridgeColour = shadeRgb(b.colour, 1.12);
    if (half > 0) out.add('roofDetail', { t: 'line', pts: [r0, r1], width: 0.3, colour: ridgeColour });
    if (hipped) {
      for (const [p, q] of [[c0, r0], [c3, r0], [c1, r1], [c2, r1]] as Array<[Pt, Pt]>) out.add('roofDetail', { t: 'line', pts: [p, q], width: 0.22, colour: ridgeColour });
    }
    out.add('roofDetail', { t: 'line', pts: [c0, c1, c2, c3, c0], width: 0.14, colour: shadeRgb(b.colour, 0.72) });
    // Chimneys and roof windows.
    const chimneys = rng.chance(0.65) ? rng.int(1, 2) : 0;
    for (let k = 0; k < chimneys; k++) {
      const cc = at(rng.range(-half * 0.8, half * 0.8), rng.range(-1, 1));
      const ch = orientedRect(cc, u, rng.range(0.6, 0.9), rng.range(0.45, 0.7));
      out.add('roofDetail', { t: 'poly', pts: convexHull([...ch, ...ch.map((p) => add(p, scale(SHADOW_DIR, 1.1)))]), fill: [0, 0, 0], opacity: 0.4 });
      out.add('roofDetail', { t: 'poly', pts: ch, fill: rng.chance(0.5) ? [176, 168, 156] : [140, 110, 96] });
    }
    if (rng.chance(0.25)) {
      const side = rng.chance(0.5) ? 1 : -1;
      const wc = at(rng.range(-half * 0.7, half * 0.7), side * W * 0.22);
      out.add('roofDetail', { t: 'poly', pts: orientedRect(wc, u, 0.8, 1.1), fill: [58, 66, 78] });
    }
  }

  private emitTree(out: Collector, c: Pt, r: number, rng: Rng): void {
    const colour = jitterRgb(rng, rng.pick(CANOPY), 0.08);
    const h = r * rng.range(1.6, 2.4);
    out.add('shadow', { t: 'circle', c: add(c, scale(SHADOW_DIR, h * SHADOW_K * 0.7)), r: r * 0.92, fill: [0, 0, 0] });
    out.add('canopy', { t: 'circle', c, r, fill: shadeRgb(colour, 0.9), shade: 0.35 });
    const lumps = rng.int(3, 5);
    for (let k = 0; k < lumps; k++) {
      const a = rng.range(0, 2 * Math.PI);
      const lc = add(c, [Math.cos(a) * r * 0.42, Math.sin(a) * r * 0.42]);
      out.add('canopy', { t: 'circle', c: lc, r: r * rng.range(0.42, 0.6), fill: jitterRgb(rng, colour, 0.05), shade: 0.4 });
    }
  }

  private randomPointIn(ring: readonly Pt[], rng: Rng): Pt {
    const b = bboxOfPoints(ring);
    for (let k = 0; k < 12; k++) {
      const p: Pt = [rng.range(b[0], b[2]), rng.range(b[1], b[3])];
      if (pointInConvex(p, ring)) return p;
    }
    return centroid(ring);
  }

  private emitParking(out: Collector, ring: Pt[], sides: Array<Street | null>, rng: Rng): void {
    const margins = sides.map((s) => (s ? s.asphalt / 2 + s.sidewalk : 0));
    out.add('ground', { t: 'poly', pts: ring, fill: jitterRgb(rng, COURTYARD, 0.05) });
    const lot = insetRing(ring, margins.map((m) => m + 2));
    if (lot.length < 3) return;
    out.add('groundDetail', { t: 'poly', pts: lot, fill: jitterRgb(rng, [104, 104, 102], 0.04) }); // under water/roads if they cross
    const a = ring[0]!;
    const u = norm(sub(ring[1]!, a));
    const n = perp(u);
    const bb = bboxOfPoints(lot, 10);
    const span = Math.hypot(bb[2] - bb[0], bb[3] - bb[1]);
    const c0 = centroid(lot);
    const lines: Array<readonly [Pt, Pt]> = [];
    // Rows of stalls: 5 m deep, 2.5 m wide, aisles of 6 m.
    for (let row = -span / 2; row < span / 2; row += 16) {
      for (const side of [0, 1]) {
        const y0 = row + side * 5;
        for (let x = -span / 2; x < span / 2; x += 2.5) {
          const p = add(c0, add(scale(u, x), scale(n, y0)));
          const q = add(p, scale(n, 5));
          const clipped = clipSegmentToConvex(p, q, lot, 1);
          if (!clipped || dist(clipped[0], clipped[1]) < 4.9) continue;
          if (!this.groundFree(p, 3, false) || !this.groundFree(q, 3, false)) continue;
          lines.push([p, q]);
          const next = add(p, scale(u, 2.5));
          if (pointInConvex(next, lot, 1) && pointInConvex(add(next, scale(n, 5)), lot, 1) && this.groundFree(next, 3, false) && rng.chance(0.7)) {
            this.emitCar(out, add(add(p, scale(u, 1.25)), scale(n, 2.5)), rng.chance(0.5) ? n : scale(n, -1), rng);
          }
        }
      }
    }
    out.add('roadMarking', { t: 'segs', segs: lines, width: 0.12, colour: MARKING, opacity: 0.9 });
    for (let k = 0; k < 4; k++) {
      const c = this.randomPointIn(insetRing(ring, margins.map((m) => m + 0.5)), rng);
      if (!pointInConvex(c, lot, -1) && this.groundFree(c, 0, false)) this.emitTree(out, c, rng.range(3, 5), rng);
    }
  }

  private emitPark(out: Collector, ring: Pt[], sides: Array<Street | null>, rng: Rng): void {
    const margins = sides.map((s) => (s ? s.asphalt / 2 + s.sidewalk : 0));
    out.add('ground', { t: 'poly', pts: ring, fill: jitterRgb(rng, [100, 130, 62], 0.04) });
    const inner = insetRing(ring, margins.map((m) => m + 1));
    if (inner.length < 3) return;
    const c = centroid(inner);
    for (let k = 0; k < inner.length; k++) {
      const corner = inner[k]!;
      out.add('groundDetail', { t: 'line', pts: [corner, lerp(corner, c, 0.5), c], width: 3, colour: [188, 176, 146] });
    }
    if (rng.chance(0.5)) out.add('groundDetail', { t: 'circle', c, r: rng.range(5, 9), fill: [70, 110, 120] });
    const area = ringArea(inner);
    for (let k = 0; k < area / 90; k++) {
      const p = this.randomPointIn(inner, rng);
      if (dist(p, c) < 10) continue;
      if (!this.groundFree(p, 0, false)) continue;
      this.emitTree(out, p, rng.range(3.5, 7), rng);
    }
  }

  private emitRural(out: Collector, ring: Pt[], sides: Array<Street | null>, rng: Rng, i: number, j: number): void {
    const c = centroid(ring);
    const forest = fbm(this.seed + 91, c[0] / 650, c[1] / 650, 2) > 0.6;
    if (forest) {
      out.add('ground', { t: 'poly', pts: ring, fill: jitterRgb(rng, [58, 72, 40], 0.05) });
      const b = bboxOfPoints(ring);
      for (let x = Math.floor(b[0] / 4.5) * 4.5; x < b[2]; x += 4.5) {
        for (let y = Math.floor(b[1] / 4.5) * 4.5; y < b[3]; y += 4.5) {
          const tr = Rng.of(this.seed, 21, Math.round(x * 10), Math.round(y * 10));
          const p: Pt = [x + tr.range(-2, 2), y + tr.range(-2, 2)];
          if (!pointInConvex(p, ring)) continue;
          if (sides.some((s) => s && distToSegment(p, s.a, s.b) < s.asphalt / 2 + 1.5)) continue;
          if (!this.groundFree(p, 0, false)) continue;
          if (tr.chance(0.85)) this.emitTree(out, p, tr.range(2.4, 4.6), tr);
        }
      }
      return;
    }
    // Fields: split into 1–3 parcels.
    const parcels: Pt[][] = [ring];
    const cuts = rng.int(0, 2);
    for (let k = 0; k < cuts; k++) {
      const idx = parcels.reduce((best, p, q) => (ringArea(p) > ringArea(parcels[best]!) ? q : best), 0);
      const p = parcels[idx]!;
      const e0 = p[0]!;
      const e1 = p[1]!;
      const dir = rng.chance(0.5) ? norm(sub(e1, e0)) : perp(norm(sub(e1, e0)));
      const cut = add(centroid(p), scale(dir, rng.range(-12, 12)));
      const A = clipHalfPlane(p, cut, dir);
      const B = clipHalfPlane(p, cut, scale(dir, -1));
      if (A.length >= 3 && B.length >= 3) parcels.splice(idx, 1, A, B);
    }
    for (const p of parcels) this.emitField(out, p, rng);
    // Hedgerows along some quad sides.
    for (let k = 0; k < ring.length; k++) {
      if (!rng.chance(0.35)) continue;
      const a = ring[k]!;
      const b = ring[(k + 1) % ring.length]!;
      const u = norm(sub(b, a));
      const n = perp(u);
      const s = sides[k];
      const off = (s ? s.asphalt / 2 + 1.5 : 0) + 2;
      for (let t = 3; t < dist(a, b) - 3; t += rng.range(3, 6)) {
        const p = add(add(a, scale(u, t)), scale(n, off));
        if (this.groundFree(p, 0, false)) this.emitTree(out, p, rng.range(1.8, 4), rng);
      }
    }
    // A farmstead now and then, near a lane.
    const laneSide = sides.findIndex((s) => s !== null);
    if (laneSide >= 0 && hashUnit(this.seed, 22, i, j) < 0.07) {
      const a = ring[laneSide]!;
      const b = ring[(laneSide + 1) % ring.length]!;
      const s = sides[laneSide]!;
      const u = norm(sub(b, a));
      const n = perp(u);
      const base = add(lerp(a, b, 0.5), scale(n, s.asphalt / 2 + 8));
      out.add('groundDetail', { t: 'poly', pts: orientedRect(add(base, scale(n, 12)), u, 40, 26), fill: jitterRgb(rng, GRAVEL, 0.05) });
      const placed: Pt[][] = [];
      for (let k = 0; k < 3; k++) {
        const L = rng.range(12, 26);
        const W = rng.range(8, 12);
        const cc = add(base, add(scale(u, rng.range(-14, 14)), scale(n, W / 2 + rng.range(0, 16))));
        const fp = orientedRect(cc, u, L, W);
        if (placed.some((q) => convexOverlap(fp, q, 1)) || !this.buildingFree(fp, false) || !fp.every((p) => pointInConvex(p, ring, 2))) continue;
        placed.push(fp);
        const r = new Rng(rng.int(0, 2 ** 31));
        const bld = this.makeBuilding(cc, u, L, W, 'sparse', r);
        this.emitBuilding(out, { ...bld, roof: 'gable', tiles: bld.tiles === 'none' ? 'rows' : bld.tiles, colour: bld.tiles === 'none' ? jitterRgb(r, CONCRETE[0]!, 0.05) : bld.colour });
      }
    }
  }

  private emitField(out: Collector, parcel: Pt[], rng: Rng): void {
    const crop = rng.weighted(['wheat', 'ploughed', 'green', 'meadow', 'dry', 'vineyard'] as const, [3, 2, 2, 3, 1, 2.5]);
    const fills: Record<typeof crop, Rgb> = {
      wheat: [196, 178, 124],
      ploughed: [130, 108, 84],
      green: [98, 128, 62],
      meadow: [116, 134, 74],
      dry: [152, 148, 100],
      vineyard: [146, 126, 100],
    };
    out.add('ground', { t: 'poly', pts: parcel, fill: jitterRgb(rng, fills[crop], 0.05) });
    const area = ringArea(parcel);
    for (let k = 0; k < area / 700; k++) {
      out.add('groundDetail', { t: 'blob', c: this.randomPointIn(parcel, rng), r: rng.range(6, 20), colour: shadeRgb(fills[crop], rng.range(0.82, 1.15)), opacity: rng.range(0.3, 0.6) });
    }
    const e0 = parcel[0]!;
    const e1 = parcel[1]!;
    const u = rng.chance(0.5) ? norm(sub(e1, e0)) : perp(norm(sub(e1, e0)));
    const n = perp(u);
    const c = centroid(parcel);
    const b = bboxOfPoints(parcel);
    const span = Math.hypot(b[2] - b[0], b[3] - b[1]) / 2 + 2;
    const hatch = (step: number, inset: number): Array<readonly [Pt, Pt]> => {
      const segs: Array<readonly [Pt, Pt]> = [];
      for (let o = -span; o <= span; o += step) {
        const p = add(c, scale(n, o));
        const seg = clipSegmentToConvex(add(p, scale(u, -span)), add(p, scale(u, span)), parcel, inset);
        if (seg) segs.push(seg);
      }
      return segs;
    };
    if (crop === 'vineyard') {
      out.add('groundDetail', { t: 'segs', segs: hatch(2.3, 2), width: 0.9, colour: [56, 84, 38], opacity: 0.9 });
    } else if (crop === 'ploughed') {
      out.add('groundDetail', { t: 'segs', segs: hatch(0.8, 0.5), width: 0.3, colour: [92, 74, 58], opacity: 0.5 });
    } else if (crop === 'wheat') {
      out.add('groundDetail', { t: 'segs', segs: hatch(14, 1), width: 0.35, colour: [150, 138, 96], opacity: 0.7 });
      out.add('groundDetail', { t: 'segs', segs: hatch(0.5, 0.5), width: 0.12, colour: [170, 152, 104], opacity: 0.35 });
    } else if (crop === 'green') {
      out.add('groundDetail', { t: 'segs', segs: hatch(0.6, 0.5), width: 0.2, colour: [74, 104, 48], opacity: 0.45 });
    }
  }

  // --- Global features (river, main roads and what lines them) --------------------------------
  //
  // The centrelines are built in the constructor; the strokes along them are "long lines" clipped
  // per query. Everything else along them (markings, traffic, buildings, trees) is generated per
  // chunk of 100 samples on first use and cached, each item from its own hash, so the result does
  // not depend on which chunks were generated before.

  private buildGlobals(): void {
    const long = (layer: Layer, p: Primitive): void => {
      this.longLines.push({ layer, p, ext: extentOf(p) });
    };
    long('water', { t: 'line', pts: this.river, width: this.riverHalf * 2 + 12, colour: BANK });
    long('water', { t: 'line', pts: this.river, width: this.riverHalf * 2, colour: WATER });
    this.roads.forEach((road, ri) => {
      long('roadBase', { t: 'line', pts: road.pts, width: road.asphalt + 2 * road.sidewalk, colour: SIDEWALK });
      long('roadCurb', { t: 'line', pts: road.pts, width: road.asphalt + 0.4, colour: CURB });
      long('roadSurface', { t: 'line', pts: road.pts, width: road.asphalt, colour: ri === 0 ? [80, 82, 85] : [86, 88, 90] });
    });
    for (let k0 = 0; k0 < this.river.length - 1; k0 += CHUNK) {
      this.chunks.push({ road: -1, k0, k1: Math.min(k0 + CHUNK, this.river.length - 1), ext: bboxOfPoints(this.river.slice(k0, k0 + CHUNK + 1), this.riverHalf + 20) });
    }
    this.roads.forEach((road, ri) => {
      for (let k0 = 0; k0 < road.pts.length - 1; k0 += CHUNK) {
        this.chunks.push({ road: ri, k0, k1: Math.min(k0 + CHUNK, road.pts.length - 1), ext: bboxOfPoints(road.pts.slice(k0, k0 + CHUNK + 1), 40) });
      }
    });
  }

  private chunkPrims(id: number): GlobalPrim[] {
    let prims = this.chunkCache.get(id);
    if (prims) return prims;
    if (this.chunkCache.size > 20_000) this.chunkCache.clear();
    const ch = this.chunks[id]!;
    const col = new Collector(EVERYWHERE);
    if (ch.road < 0) this.genRiverChunk(col, ch.k0, ch.k1);
    else this.genRoadChunk(col, ch.road, ch.k0, ch.k1);
    prims = [];
    for (const layer of LAYER_ORDER) for (const p of col.layers[layer]) prims.push({ layer, p, ext: extentOf(p) });
    this.chunkCache.set(id, prims);
    return prims;
  }

  private genRiverChunk(out: Collector, k0: number, k1: number): void {
    const river = this.river;
    for (let k = k0; k < k1; k++) {
      const a = river[k]!;
      const n0 = perp(norm(sub(river[k + 1]!, a)));
      if (k % 6 === 0) {
        const rng = Rng.of(this.seed, 35, k);
        const off = rng.range(-this.riverHalf * 0.6, this.riverHalf * 0.6);
        out.add('water', { t: 'blob', c: add(a, scale(n0, off)), r: rng.range(12, 30), colour: rng.chance(0.5) ? [78, 98, 86] : [52, 70, 62], opacity: rng.range(0.2, 0.45) });
      }
      // Riverside trees.
      for (const side of [-1, 1]) {
        const tr = Rng.of(this.seed, 33, side, k);
        if (!tr.chance(0.62)) continue;
        const r = tr.range(2.5, 6);
        const p = add(a, scale(n0, side * (this.riverHalf + tr.range(2, 9))));
        const dRoad = this.roadIndex.distance(p, 30);
        if (dRoad !== Infinity && dRoad < 11 + r) continue;
        if (this.latticeStreetClearance(p) < 1) continue;
        this.emitTree(out, p, r, tr);
      }
    }
  }

  private genRoadChunk(out: Collector, ri: number, k0: number, k1: number): void {
    const road = this.roads[ri]!;
    const pts = road.pts;
    const half = road.asphalt / 2 + road.sidewalk;
    for (let k = k0; k < k1; k++) {
      // Centre line dashes (3 m on, 5 m off) by global arc length; samples are 2 m apart.
      if (k % 4 === 0 && k + 2 < pts.length) {
        out.add('roadMarking', { t: 'line', pts: [pts[k]!, pts[k + 1]!, lerp(pts[k + 1]!, pts[k + 2]!, 0.5)], width: 0.15, colour: MARKING, butt: true });
      }
      if (road.boulevard && k % 5 === 0 && k + 2 < pts.length) {
        // Lane separation lines on the 12 m boulevard.
        const n = perp(norm(sub(pts[k + 2]!, pts[k]!)));
        for (const side of [-1, 1]) {
          const off = scale(n, side * 3);
          out.add('roadMarking', { t: 'line', pts: [add(pts[k]!, off), add(pts[k + 1]!, off)], width: 0.12, colour: MARKING, butt: true });
        }
      }
      // Traffic.
      if (k % 14 === 10) {
        const rng = Rng.of(this.seed, 34, ri, k);
        if (rng.chance(0.3)) {
          const u = norm(sub(pts[k + 1]!, pts[k]!));
          const side = rng.chance(0.5) ? 1 : -1;
          const c = add(pts[k]!, scale(perp(u), side * road.asphalt * (road.boulevard ? 0.37 : 0.25)));
          this.emitCar(out, c, side > 0 ? scale(u, -1) : u, rng);
        }
      }
      // Zebra crossings in town, every 150 m.
      if (k % 75 === 40) {
        const p = pts[k]!;
        if (this.density(p) >= 0.5 && !this.nearWater(p, 10)) this.emitZebra(out, p, norm(sub(pts[k + 1]!, p)), road.asphalt);
      }
      // Boulevard plane trees.
      if (road.boulevard && k % 5 === 0) {
        for (const side of [-1, 1]) {
          const n = scale(perp(norm(sub(pts[k + 1]!, pts[k]!))), side);
          const p = add(pts[k]!, scale(n, half - 1.6));
          if (this.density(p) < 0.4 || this.nearWater(p, 12) || this.latticeStreetClearance(p) < 1.5) continue;
          const tr = Rng.of(this.seed, 32, side, k);
          this.emitTree(out, p, tr.range(4, 5.5), tr);
        }
      }
    }
    // Buildings facing the road: lots of 3–5 samples (6–10 m), never crossing the chunk end.
    for (const side of [-1, 1]) {
      const placed: Pt[][] = [];
      let k = k0;
      while (k + 6 < pts.length) {
        const lr = Rng.of(this.seed, 31, ri, side, k);
        const lotSamples = lr.int(3, 5);
        if (k + lotSamples > k1) break;
        const a = pts[k]!;
        const b = pts[k + lotSamples]!;
        k += lotSamples;
        const mid = lerp(a, b, 0.5);
        const d = this.density(mid);
        if (d < 0.42 || !lr.chance(d >= 0.72 ? 0.95 : 0.55)) continue;
        const u = norm(sub(b, a));
        const n = scale(perp(u), side);
        const Wb = lr.range(10, 14);
        // A little shorter than the lot so that consecutive lots do not overlap on curves.
        const Lb = dist(a, b) - (d >= 0.72 ? 0.15 : 2.5);
        const c = add(mid, scale(n, half + 0.3 + Wb / 2));
        const fp = orientedRect(c, u, Lb, Wb);
        if (!this.mainLotFree(fp, ri) || placed.some((q) => convexOverlap(fp, q, -0.05))) continue;
        placed.push(fp);
        const bld = this.makeBuilding(c, u, Lb, Wb, d >= 0.72 ? 'centre' : 'suburb', lr);
        this.emitBuilding(out, { ...bld, roof: bld.roof === 'hip' ? 'gable' : bld.roof, h: d >= 0.72 ? bld.h : lr.range(6, 9) });
      }
    }
  }

  private mainLotFree(fp: Pt[], ownRoad: number): boolean {
    for (const p of [...fp, centroid(fp)]) {
      if (this.nearWater(p, 6)) return false;
      if (this.latticeStreetClearance(p) < 0.8) return false;
      for (let r = 0; r < this.roads.length; r++) {
        const road = this.roads[r]!;
        const dRoad = this.distanceToRoad(p, r);
        // Away from other main roads by more than their own buildings' depth: no overlaps at junctions.
        const need = (r === ownRoad ? 0.2 : 17) + road.asphalt / 2 + road.sidewalk;
        if (dRoad < need) return false;
      }
    }
    return true;
  }

  private distanceToRoad(p: Pt, r: number): number {
    const pts = this.roads[r]!.pts;
    let best = Infinity;
    // Coarse then fine: roads are sampled every 2 m; scan in strides of 25 samples first.
    for (let k = 0; k + 1 < pts.length; k++) {
      const a = pts[k]!;
      if (Math.abs(a[0] - p[0]) > 80 || Math.abs(a[1] - p[1]) > 80) {
        k += 20;
        continue;
      }
      const d = distToSegment(p, a, pts[k + 1]!);
      if (d < best) best = d;
    }
    return best;
  }
}

const sceneCache = new Map<string, SyntheticScene>();

/** Scene for a seed and centre, built once per process (construction takes a few tens of ms). */
export function getScene(options: SceneOptions): SyntheticScene {
  const c = options.centre ?? CAHORS_CENTRE;
  const key = `${options.seed}|${c[0]}|${c[1]}`;
  let scene = sceneCache.get(key);
  if (!scene) {
    scene = new SyntheticScene(options);
    sceneCache.set(key, scene);
  }
  return scene;
}
