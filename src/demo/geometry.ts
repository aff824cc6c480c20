/**
 * Small planar geometry helpers for the synthetic scene. Coordinates are Lambert-93 metres
 * (x east, y north). Points are `[x, y]` tuples.
 */

export type Pt = readonly [number, number];

/**
 * Axis-aligned box `[xmin, ymin, xmax, ymax]` in world coordinates (metres); same shape as
 * `src/grid/bbox.ts` (not imported: the demo generator stands on its own).
 */
export type Bbox = readonly [xmin: number, ymin: number, xmax: number, ymax: number];

export function bboxOfPoints(pts: readonly Pt[], pad = 0): Bbox {
  let xmin = Infinity;
  let ymin = Infinity;
  let xmax = -Infinity;
  let ymax = -Infinity;
  for (const [x, y] of pts) {
    if (x < xmin) xmin = x;
    if (x > xmax) xmax = x;
    if (y < ymin) ymin = y;
    if (y > ymax) ymax = y;
  }
  return [xmin - pad, ymin - pad, xmax + pad, ymax + pad];
}

export function bboxIntersects(a: Bbox, b: Bbox): boolean {
  return a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];
}

export function expandBbox(b: Bbox, d: number): Bbox {
  return [b[0] - d, b[1] - d, b[2] + d, b[3] + d];
}

export function add(a: Pt, b: Pt): Pt {
  return [a[0] + b[0], a[1] + b[1]];
}
export function sub(a: Pt, b: Pt): Pt {
  return [a[0] - b[0], a[1] - b[1]];
}
export function scale(a: Pt, k: number): Pt {
  return [a[0] * k, a[1] * k];
}
export function lerp(a: Pt, b: Pt, t: number): Pt {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
}
export function dist(a: Pt, b: Pt): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}
export function dot(a: Pt, b: Pt): number {
  return a[0] * b[0] + a[1] * b[1];
}
export function norm(a: Pt): Pt {
  const l = Math.hypot(a[0], a[1]) || 1;
  return [a[0] / l, a[1] / l];
}
/** Left normal of a direction (rotated +90°). */
export function perp(a: Pt): Pt {
  return [-a[1], a[0]];
}

/** Distance from p to segment ab. */
export function distToSegment(p: Pt, a: Pt, b: Pt): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const l2 = dx * dx + dy * dy;
  let t = l2 === 0 ? 0 : ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

/** Rectangle centred on c, long side along unit direction u: returns its 4 corners (counter-clockwise). */
export function orientedRect(c: Pt, u: Pt, length: number, width: number): Pt[] {
  const v = perp(u);
  const hl = length / 2;
  const hw = width / 2;
  return [
    [c[0] - u[0] * hl - v[0] * hw, c[1] - u[1] * hl - v[1] * hw],
    [c[0] + u[0] * hl - v[0] * hw, c[1] + u[1] * hl - v[1] * hw],
    [c[0] + u[0] * hl + v[0] * hw, c[1] + u[1] * hl + v[1] * hw],
    [c[0] - u[0] * hl + v[0] * hw, c[1] - u[1] * hl + v[1] * hw],
  ];
}

/** Convex hull (Andrew's monotone chain), counter-clockwise. */
export function convexHull(points: readonly Pt[]): Pt[] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const cross = (o: Pt, a: Pt, b: Pt): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Pt[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Pt[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/** Separating-axis test for two convex polygons (true if their interiors overlap, with a gap tolerance). */
export function convexOverlap(a: readonly Pt[], b: readonly Pt[], gap = 0): boolean {
  for (const poly of [a, b]) {
    for (let i = 0; i < poly.length; i++) {
      const p = poly[i]!;
      const q = poly[(i + 1) % poly.length]!;
      const axis = norm(perp(sub(q, p)));
      let amin = Infinity;
      let amax = -Infinity;
      for (const v of a) {
        const d = dot(v, axis);
        if (d < amin) amin = d;
        if (d > amax) amax = d;
      }
      let bmin = Infinity;
      let bmax = -Infinity;
      for (const v of b) {
        const d = dot(v, axis);
        if (d < bmin) bmin = d;
        if (d > bmax) bmax = d;
      }
      if (amax + gap <= bmin || bmax + gap <= amin) return false;
    }
  }
  return true;
}

/** Signed area (positive when counter-clockwise). */
export function signedArea(ring: readonly Pt[]): number {
  let s = 0;
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i]!;
    const b = ring[(i + 1) % ring.length]!;
    s += a[0] * b[1] - b[0] * a[1];
  }
  return s / 2;
}

/** Centroid of the vertices (good enough for convex quads). */
export function centroid(ring: readonly Pt[]): Pt {
  let x = 0;
  let y = 0;
  for (const p of ring) {
    x += p[0];
    y += p[1];
  }
  return [x / ring.length, y / ring.length];
}

/**
 * Signed distance from p to the line through a→b, positive on the left side (the inside of a
 * counter-clockwise ring).
 */
export function sideDistance(p: Pt, a: Pt, b: Pt): number {
  const u = norm(sub(b, a));
  return (p[0] - a[0]) * -u[1] + (p[1] - a[1]) * u[0];
}

/** Catmull-Rom smoothing of a control polyline, resampled every `step` metres (approximately). */
export function smoothPolyline(ctrl: readonly Pt[], step: number): Pt[] {
  const dense: Pt[] = [];
  for (let i = 0; i < ctrl.length - 1; i++) {
    const p0 = ctrl[Math.max(0, i - 1)]!;
    const p1 = ctrl[i]!;
    const p2 = ctrl[i + 1]!;
    const p3 = ctrl[Math.min(ctrl.length - 1, i + 2)]!;
    const n = Math.max(2, Math.ceil(dist(p1, p2) / (step / 4)));
    for (let k = 0; k < n; k++) {
      const t = k / n;
      const t2 = t * t;
      const t3 = t2 * t;
      const f = (a: number, b: number, c: number, d: number): number =>
        0.5 * (2 * b + (-a + c) * t + (2 * a - 5 * b + 4 * c - d) * t2 + (-a + 3 * b - 3 * c + d) * t3);
      dense.push([f(p0[0], p1[0], p2[0], p3[0]), f(p0[1], p1[1], p2[1], p3[1])]);
    }
  }
  dense.push(ctrl[ctrl.length - 1]!);
  return resample(dense, step);
}

/** Resample a polyline at a constant arc-length step (keeps both ends). */
export function resample(line: readonly Pt[], step: number): Pt[] {
  const out: Pt[] = [line[0]!];
  let carry = 0;
  for (let i = 0; i < line.length - 1; i++) {
    const a = line[i]!;
    const b = line[i + 1]!;
    const l = dist(a, b);
    let t = step - carry;
    while (t <= l) {
      out.push(lerp(a, b, t / l));
      t += step;
    }
    carry = l - (t - step);
  }
  const last = line[line.length - 1]!;
  if (dist(out[out.length - 1]!, last) > step * 0.25) out.push(last);
  return out;
}

/**
 * Bucket index of line segments for distance queries ("is this point within r of any segment?").
 */
export class SegmentIndex {
  private readonly cells = new Map<string, Array<{ a: Pt; b: Pt; tag: number }>>();

  constructor(private readonly cell: number) {}

  add(a: Pt, b: Pt, tag = 0): void {
    const c = this.cell;
    const i0 = Math.floor(Math.min(a[0], b[0]) / c);
    const i1 = Math.floor(Math.max(a[0], b[0]) / c);
    const j0 = Math.floor(Math.min(a[1], b[1]) / c);
    const j1 = Math.floor(Math.max(a[1], b[1]) / c);
    for (let i = i0; i <= i1; i++) {
      for (let j = j0; j <= j1; j++) {
        const k = `${i},${j}`;
        let arr = this.cells.get(k);
        if (!arr) this.cells.set(k, (arr = []));
        arr.push({ a, b, tag });
      }
    }
  }

  addPolyline(line: readonly Pt[], tag = 0): void {
    for (let i = 0; i < line.length - 1; i++) this.add(line[i]!, line[i + 1]!, tag);
  }

  /** Smallest distance from p to an indexed segment, searching up to `maxR` (returns Infinity beyond). */
  distance(p: Pt, maxR: number): number {
    const c = this.cell;
    const i0 = Math.floor((p[0] - maxR) / c);
    const i1 = Math.floor((p[0] + maxR) / c);
    const j0 = Math.floor((p[1] - maxR) / c);
    const j1 = Math.floor((p[1] + maxR) / c);
    let best = Infinity;
    for (let i = i0; i <= i1; i++) {
      for (let j = j0; j <= j1; j++) {
        const arr = this.cells.get(`${i},${j}`);
        if (!arr) continue;
        for (const s of arr) {
          const d = distToSegment(p, s.a, s.b);
          if (d < best) best = d;
        }
      }
    }
    return best <= maxR ? best : Infinity;
  }
}
