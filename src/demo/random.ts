/**
 * Deterministic hashing, pseudo-random streams and value noise. Everything here is a pure function
 * of its integer/real inputs, so that a scene built from a seed is identical on every run and every
 * machine (only IEEE double arithmetic, no Math.random).
 */

/** 32-bit integer hash of a list of integers (murmur3-style finaliser mixing). */
export function hash32(...values: number[]): number {
  let h = 0x811c9dc5 | 0;
  for (const v of values) {
    let k = v | 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    // Mix the high bits of non-32-bit inputs too (negative or large lattice indices).
    const hi = Math.floor(v / 4294967296) | 0;
    if (hi !== 0 && hi !== -1) h ^= Math.imul(hi, 0x85ebca6b);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash to a float in [0, 1). */
export function hashUnit(...values: number[]): number {
  return hash32(...values) / 4294967296;
}

/** A small seeded PRNG (mulberry32) with convenience helpers. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  static of(...values: number[]): Rng {
    return new Rng(hash32(...values));
  }

  /** Float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  range(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  int(min: number, maxInclusive: number): number {
    return min + Math.floor(this.next() * (maxInclusive - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Pick with weights (same length as items). */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      r -= weights[i]!;
      if (r < 0) return items[i]!;
    }
    return items[items.length - 1]!;
  }
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** Value noise in [0, 1], smooth, with unit lattice; defined for all real x, y. */
export function valueNoise(seed: number, x: number, y: number): number {
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  const tx = smooth(x - xi);
  const ty = smooth(y - yi);
  const a = hashUnit(seed, xi, yi);
  const b = hashUnit(seed, xi + 1, yi);
  const c = hashUnit(seed, xi, yi + 1);
  const d = hashUnit(seed, xi + 1, yi + 1);
  return a + (b - a) * tx + (c - a) * ty + (a - b - c + d) * tx * ty;
}

/** Fractal value noise in [0, 1] (octaves halve the wavelength and the amplitude). */
export function fbm(seed: number, x: number, y: number, octaves = 3): number {
  let sum = 0;
  let amp = 1;
  let norm = 0;
  let f = 1;
  for (let o = 0; o < octaves; o++) {
    sum += valueNoise(seed + o * 1013, x * f, y * f) * amp;
    norm += amp;
    amp *= 0.5;
    f *= 2;
  }
  return sum / norm;
}
