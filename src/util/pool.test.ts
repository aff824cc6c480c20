import { describe, expect, it } from 'vitest';
import { mapPool, Semaphore } from './pool.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('mapPool', () => {
  it('keeps order, bounds concurrency and rethrows the first failure', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapPool([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await tick(n);
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
    await expect(mapPool([1, 2, 3], 2, async (n) => (n === 2 ? Promise.reject(new Error('two')) : n))).rejects.toThrow('two');
  });
});

describe('Semaphore', () => {
  it('runs at most `limit` tasks at once, in arrival order, and frees slots on failure', async () => {
    const s = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const task = (i: number) =>
      s.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        if (i === 1) throw new Error('boom');
        return i;
      });
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map(task));
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(s.load).toEqual({ active: 0, waiting: 0 });
  });

  it('weighs tasks: a heavy one waits for room and runs alone, nobody overtakes it', async () => {
    const s = new Semaphore(4);
    const log: string[] = [];
    let units = 0;
    let peakUnits = 0;
    const task = (name: string, weight: number, ms: number) =>
      s.run(async () => {
        units += Math.min(4, weight);
        peakUnits = Math.max(peakUnits, units);
        log.push(`start ${name}`);
        await tick(ms);
        log.push(`end ${name}`);
        units -= Math.min(4, weight);
      }, weight);
    await Promise.all([task('a', 1, 20), task('b', 1, 20), task('big', 16, 5), task('c', 1, 5)]);
    expect(peakUnits).toBeLessThanOrEqual(4);
    // big waits for a and b to finish, and c (arrived after big) does not start before big.
    expect(log.indexOf('start big')).toBeGreaterThan(log.indexOf('end a'));
    expect(log.indexOf('start big')).toBeGreaterThan(log.indexOf('end b'));
    expect(log.indexOf('start c')).toBeGreaterThan(log.indexOf('start big'));
    expect(s.load).toEqual({ active: 0, waiting: 0 });
  });
});
