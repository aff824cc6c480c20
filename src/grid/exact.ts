/**
 * Integer indices from floating-point ratios, robust to representation error.
 *
 * Grid edges such as 574 988.8 m (a 12.8 m tile edge) or 0.05 m pixels have no exact binary
 * representation, so `x / span` for a point exactly on an edge can come out as 44920.99999999999
 * and `Math.floor` would pick the wrong tile. These helpers first snap a ratio to the nearest
 * integer when it is within a tolerance *expressed in ground units*, then floor/ceil.
 */

/**
 * Ground distance under which a coordinate counts as lying on a grid line: 1 µm. Far below any
 * physical meaning (pixels are 5 cm), far above double rounding noise for coordinates < 10^8 m.
 */
export const EDGE_TOLERANCE_METRES = 1e-6;

/** `numerator / span`, snapped to the nearest integer when within `tolerance` ground units of it. */
export function snappedRatio(numerator: number, span: number, tolerance = EDGE_TOLERANCE_METRES): number {
  const q = numerator / span;
  const r = Math.round(q);
  return Math.abs(q - r) * Math.abs(span) <= tolerance ? r : q;
}

/** `floor(numerator / span)`, where a value on (or within tolerance of) a grid line counts as on it. */
export function floorIndex(numerator: number, span: number, tolerance = EDGE_TOLERANCE_METRES): number {
  return Math.floor(snappedRatio(numerator, span, tolerance));
}

/** `ceil(numerator / span)`, where a value on (or within tolerance of) a grid line counts as on it. */
export function ceilIndex(numerator: number, span: number, tolerance = EDGE_TOLERANCE_METRES): number {
  return Math.ceil(snappedRatio(numerator, span, tolerance));
}

/** Rounds `v` to an integer when within `tolerance` of one (a whole pixel count), else leaves it. */
export function snapToInteger(v: number, tolerance: number): number {
  const r = Math.round(v);
  return Math.abs(v - r) <= tolerance ? r : v;
}
