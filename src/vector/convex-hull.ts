/**
 * The convex hull of a stream of points (Andrew's monotone chain), in bounded memory: points are
 * buffered and folded into the hull every `BUFFER_POINTS`; a point strictly inside the current
 * hull cannot be on the final one and is dropped at once. What a GML import records
 * as a file's area when it has no EmpriseEchangePCRS — computed while reading, instead of
 * `ST_ConvexHull(ST_Collect(…))` over every imported geometry afterwards (BENCHMARKS.md).
 */

/** Points buffered before they are folded into the hull (a file read in order keeps moving its hull). */
const BUFFER_POINTS = 1 << 12;

type Point = [number, number];

const cross = (o: Point, a: Point, b: Point) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

/** Hull of points (counter-clockwise, not closed, no collinear points); fewer than 3 points when degenerate. */
function monotoneChain(points: Point[]): Point[] {
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const unique: Point[] = [];
  for (const p of points) {
    const last = unique[unique.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) unique.push(p);
  }
  if (unique.length < 3) return unique;
  const lower: Point[] = [];
  for (const p of unique) {
    while (lower.length >= 2 && cross(lower[lower.length - 2] as Point, lower[lower.length - 1] as Point, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = unique.length - 1; i >= 0; i--) {
    const p = unique[i] as Point;
    while (upper.length >= 2 && cross(upper[upper.length - 2] as Point, upper[upper.length - 1] as Point, p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  const hull = lower.concat(upper);
  // All points on one line: the two ends.
  return hull.length >= 3 ? hull : [unique[0] as Point, unique[unique.length - 1] as Point];
}

export class ConvexHullAccumulator {
  private hull: Point[] = [];
  private buffer: Point[] = [];
  private count = 0;

  add(x: number, y: number): void {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    this.count++;
    if (this.insideHull(x, y)) return;
    this.buffer.push([x, y]);
    if (this.buffer.length >= BUFFER_POINTS) this.fold();
  }

  /** Points seen (finite ones). */
  get points(): number {
    return this.count;
  }

  /**
   * The hull as a GeoJSON geometry (what PostGIS' `ST_ConvexHull` gives: a Polygon, or a
   * LineString / Point when the points are collinear / one), or null without points.
   */
  result(): { type: 'Polygon'; coordinates: Point[][] } | { type: 'LineString'; coordinates: Point[] } | { type: 'Point'; coordinates: Point } | null {
    this.fold();
    const h = this.hull;
    if (h.length === 0) return null;
    if (h.length === 1) return { type: 'Point', coordinates: h[0] as Point };
    if (h.length === 2) return { type: 'LineString', coordinates: h };
    return { type: 'Polygon', coordinates: [[...h, h[0] as Point]] };
  }

  private fold(): void {
    if (this.buffer.length === 0) return;
    this.hull = monotoneChain(this.hull.concat(this.buffer));
    this.buffer = [];
  }

  /**
   * Strictly inside the current hull: left of every edge of the (counter-clockwise) polygon of at
   * most 32 of its vertices, itself inside the hull — a bounded test however round the area.
   */
  private insideHull(x: number, y: number): boolean {
    const h = this.hull;
    const n = h.length;
    if (n < 3) return false;
    const step = Math.ceil(n / 32);
    for (let i = 0; i < n; i += step) {
      const a = h[i] as Point;
      const b = h[i + step >= n ? 0 : i + step] as Point;
      if ((b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]) <= 0) return false;
    }
    return true;
  }
}
