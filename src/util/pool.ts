/**
 * Maps `items` through `fn` with at most `concurrency` calls in flight, keeping input order in the
 * result. The first rejection stops new calls and is rethrown once running ones settle.
 */
export async function mapPool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * At most `limit` units of work at once, the others waiting in arrival order: bounds the memory
 * of work whose buffers scale with concurrency (map rendering) without refusing anyone. A task
 * may weigh more than one unit (a large map); its weight is capped at `limit`, so it then runs alone.
 */
export class Semaphore {
  private used = 0;
  private running = 0;
  private readonly waiting: Array<{ weight: number; start: () => void }> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>, weight = 1): Promise<T> {
    const w = Math.max(1, Math.min(this.limit, Math.ceil(weight)));
    if (this.waiting.length === 0 && this.used + w <= this.limit) this.used += w;
    else await new Promise<void>((start) => this.waiting.push({ weight: w, start })); // `used` is counted by the releaser
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.used -= w;
      // Start waiters in order while they fit (no overtaking: a heavy task is not starved).
      while (this.waiting.length > 0 && this.used + (this.waiting[0] as { weight: number }).weight <= this.limit) {
        const next = this.waiting.shift() as { weight: number; start: () => void };
        this.used += next.weight;
        next.start();
      }
    }
  }

  /** Tasks running now and waiting for their turn. */
  get load(): { active: number; waiting: number } {
    return { active: this.running, waiting: this.waiting.length };
  }
}
