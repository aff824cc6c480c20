/**
 * Axis-aligned bounding boxes in a projected or geographic CRS.
 *
 * Convention used across the grid module: a Bbox is `[xmin, ymin, xmax, ymax]` in the CRS's
 * easting/northing (or longitude/latitude) order, never latitude first. Two boxes that only touch
 * along an edge do **not** intersect: dalles and tiles share edges, and a dalle must not be said to
 * overlap its neighbour.
 */
import { UserError } from '../util/errors.js';

/** `[xmin, ymin, xmax, ymax]`, x = easting (or longitude), y = northing (or latitude). */
export type Bbox = readonly [xmin: number, ymin: number, xmax: number, ymax: number];

/** True when all four numbers are finite and min ≤ max on both axes (a point or a line is valid). */
export function isValidBbox(b: readonly number[]): b is Bbox {
  return (
    b.length === 4 &&
    b.every((v) => Number.isFinite(v)) &&
    (b[0] as number) <= (b[2] as number) &&
    (b[1] as number) <= (b[3] as number)
  );
}

/**
 * Throws `UserError('invalid-bbox')` unless `b` is a valid bbox. Bboxes often come from users
 * (WMS BBOX=, download areas), so the message says what is wrong.
 */
export function assertValidBbox(b: readonly number[], what = 'bbox'): asserts b is Bbox {
  if (b.length !== 4) {
    throw new UserError('invalid-bbox', `${what} must have 4 numbers [xmin, ymin, xmax, ymax], got ${b.length}`);
  }
  if (!b.every((v) => Number.isFinite(v))) {
    throw new UserError('invalid-bbox', `${what} [${b.join(', ')}] contains a value that is not a finite number`);
  }
  const [xmin, ymin, xmax, ymax] = b as unknown as Bbox;
  if (xmin > xmax) throw new UserError('invalid-bbox', `${what} has xmin ${xmin} greater than xmax ${xmax}`);
  if (ymin > ymax) throw new UserError('invalid-bbox', `${what} has ymin ${ymin} greater than ymax ${ymax}`);
}

export function bboxWidth(b: Bbox): number {
  return b[2] - b[0];
}

export function bboxHeight(b: Bbox): number {
  return b[3] - b[1];
}

export function bboxArea(b: Bbox): number {
  return (b[2] - b[0]) * (b[3] - b[1]);
}

/** True when the boxes share a region of positive area; touching edges or corners is not enough. */
export function bboxIntersects(a: Bbox, b: Bbox): boolean {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

/** True when `inner` lies inside `outer`, edges included (a dalle contains its own bbox). */
export function bboxContains(outer: Bbox, inner: Bbox): boolean {
  return inner[0] >= outer[0] && inner[1] >= outer[1] && inner[2] <= outer[2] && inner[3] <= outer[3];
}

/** True when the point lies inside the box or on its boundary. */
export function bboxContainsPoint(b: Bbox, x: number, y: number): boolean {
  return x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3];
}

/** The common part of two boxes, or `null` when they do not share a positive area. */
export function bboxIntersection(a: Bbox, b: Bbox): Bbox | null {
  if (!bboxIntersects(a, b)) return null;
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])];
}

/** The smallest box containing all the given boxes. Throws on an empty list (no neutral element). */
export function bboxUnion(first: Bbox, ...rest: Bbox[]): Bbox {
  let [xmin, ymin, xmax, ymax] = first;
  for (const b of rest) {
    xmin = Math.min(xmin, b[0]);
    ymin = Math.min(ymin, b[1]);
    xmax = Math.max(xmax, b[2]);
    ymax = Math.max(ymax, b[3]);
  }
  return [xmin, ymin, xmax, ymax];
}

/** Coordinate-wise equality within `tolerance` (CRS units); default exact. */
export function bboxEquals(a: Bbox, b: Bbox, tolerance = 0): boolean {
  for (let i = 0; i < 4; i++) {
    if (!(Math.abs((a[i] as number) - (b[i] as number)) <= tolerance)) return false;
  }
  return true;
}

/** The box grown by `margin` on every side (negative shrinks; may produce an invalid box). */
export function bboxBuffer(b: Bbox, margin: number): Bbox {
  return [b[0] - margin, b[1] - margin, b[2] + margin, b[3] + margin];
}
