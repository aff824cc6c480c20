/**
 * A small bounded LRU map: Map keeps insertion order, a hit re-inserts, the oldest entries go
 * beyond `max`. `onEvict` lets owners release what an entry holds (file handles…).
 */
export class Lru<V> {
  private readonly map = new Map<string, V>();

  constructor(
    private readonly max: number,
    private readonly onEvict?: (key: string, value: V) => void,
  ) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) {
      const [oldest] = this.map.keys();
      if (oldest === undefined) break;
      const v = this.map.get(oldest) as V;
      this.map.delete(oldest);
      this.onEvict?.(oldest, v);
    }
  }

  delete(key: string): boolean {
    return this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }

  /** Removes every entry (without `onEvict`) and returns them. */
  drain(): V[] {
    const all = [...this.map.values()];
    this.map.clear();
    return all;
  }
}
