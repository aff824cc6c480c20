import { describe, expect, it } from 'vitest';
import {
  assertValidBbox,
  bboxArea,
  bboxBuffer,
  bboxContains,
  bboxContainsPoint,
  bboxEquals,
  bboxHeight,
  bboxIntersection,
  bboxIntersects,
  bboxUnion,
  bboxWidth,
  isValidBbox,
} from './bbox.js';
import type { Bbox } from './bbox.js';
import { expectUserError } from '../test-support/errors.js';


// The Cahors 1 km dalle and its eastern neighbour: they share the edge x = 576 000.
const CAHORS: Bbox = [575_000, 6_373_000, 576_000, 6_374_000];
const EAST: Bbox = [576_000, 6_373_000, 577_000, 6_374_000];

describe('bbox', () => {
  it('measures width, height and area', () => {
    expect(bboxWidth(CAHORS)).toBe(1000);
    expect(bboxHeight([0, 10, 5, 12])).toBe(2);
    expect(bboxArea(CAHORS)).toBe(1_000_000);
  });

  it('does not count a shared edge or corner as an intersection', () => {
    expect(bboxIntersects(CAHORS, EAST)).toBe(false);
    expect(bboxIntersects(CAHORS, [576_000, 6_374_000, 577_000, 6_375_000])).toBe(false);
    expect(bboxIntersection(CAHORS, EAST)).toBeNull();
  });

  it('intersects overlapping boxes and returns the common part', () => {
    const b: Bbox = [575_500, 6_373_500, 576_500, 6_374_500];
    expect(bboxIntersects(CAHORS, b)).toBe(true);
    expect(bboxIntersection(CAHORS, b)).toEqual([575_500, 6_373_500, 576_000, 6_374_000]);
    expect(bboxIntersection(b, CAHORS)).toEqual([575_500, 6_373_500, 576_000, 6_374_000]);
  });

  it('contains boxes and points with their edges included', () => {
    expect(bboxContains(CAHORS, CAHORS)).toBe(true);
    expect(bboxContains(CAHORS, [575_200, 6_373_600, 575_400, 6_373_800])).toBe(true);
    expect(bboxContains(CAHORS, [574_999, 6_373_600, 575_400, 6_373_800])).toBe(false);
    expect(bboxContainsPoint(CAHORS, 576_000, 6_374_000)).toBe(true);
    expect(bboxContainsPoint(CAHORS, 576_000.001, 6_374_000)).toBe(false);
  });

  it('unions boxes', () => {
    expect(bboxUnion(CAHORS)).toEqual(CAHORS);
    expect(bboxUnion(CAHORS, EAST, [570_000, 6_380_000, 571_000, 6_381_000])).toEqual([570_000, 6_373_000, 577_000, 6_381_000]);
  });

  it('compares with a tolerance', () => {
    expect(bboxEquals(CAHORS, [575_000, 6_373_000, 576_000, 6_374_000])).toBe(true);
    expect(bboxEquals(CAHORS, [575_000.0004, 6_373_000, 576_000, 6_374_000])).toBe(false);
    expect(bboxEquals(CAHORS, [575_000.0004, 6_373_000, 576_000, 6_374_000], 0.001)).toBe(true);
    expect(bboxEquals(CAHORS, [575_000, 6_373_000, 576_000, Number.NaN], 1)).toBe(false);
  });

  it('buffers', () => {
    expect(bboxBuffer(CAHORS, 10)).toEqual([574_990, 6_372_990, 576_010, 6_374_010]);
  });

  it('validates', () => {
    expect(isValidBbox([0, 0, 0, 0])).toBe(true);
    expect(isValidBbox([1, 0, 0, 0])).toBe(false);
    expect(isValidBbox([0, 0, 1])).toBe(false);
    expect(isValidBbox([0, 0, Infinity, 1])).toBe(false);
    expectUserError(() => assertValidBbox([0, 0, 1]), 'invalid-bbox', 'must have 4 numbers');
    expectUserError(() => assertValidBbox([0, Number.NaN, 1, 1]), 'invalid-bbox', 'not a finite number');
    expectUserError(() => assertValidBbox([2, 0, 1, 1]), 'invalid-bbox', 'xmin 2 greater than xmax 1');
    expectUserError(() => assertValidBbox([0, 5, 1, 1], 'BBOX'), 'invalid-bbox', 'BBOX has ymin 5 greater than ymax 1');
  });
});
