import { transformPoint } from '../grid/crs.js';
import { tileBbox, type TileMatrixSet } from '../grid/tile-matrix-set.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../context/logger.js';
import { parisToday } from '../util/paris-day.js';
import { UsageStore, type UsageCount, type AreaCount } from './store.js';

/** What one counted request is labelled with. */
export interface UsageLabels {
  service: string;
  /** Layer, collection or dataset ('' when none). */
  layer: string;
  organisationId: number | null;
  keyId: number | null;
  /** HTTP status of the answer (counted by class: 2xx, 3xx…). */
  status: number;
}

/** The heat map counts tiles in 1 km cells: a tile is reduced to the ancestor block at most this wide. */
const AREA_CELL_METRES = 1000;

/**
 * Usage counted in memory and written in batches (never one database write per request). Each flush
 * adds this node's counts to the tables (`n = n + EXCLUDED.n`), so several nodes add up; a failed
 * flush keeps its counts for the next one; `close()` writes what is left (a graceful stop loses
 * nothing, a crash at most one flush interval).
 */
export class UsageMeter {
  private counts = new Map<string, { labels: Omit<UsageLabels, 'status'> & { day: string; statusClass: number }; requests: number; bytes: number }>();
  private areas = new Map<string, { day: string; tms: TileMatrixSet; z: number; col: number; row: number; shift: number; requests: number }>();
  /** Per tile matrix set (the few the server knows), the shift of each level. */
  private readonly shifts = new WeakMap<TileMatrixSet, number[]>();
  private day = { text: '', at: 0 };
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly store: UsageStore;

  constructor(
    db: Database,
    private readonly options: { flushMs: number; log?: Logger; now?: () => number },
  ) {
    this.store = new UsageStore(db);
  }

  /** Today in Paris (a day of usage is a French calendar day), read again at most once a second. */
  private today(): string {
    const now = this.options.now?.() ?? Date.now();
    if (now - this.day.at >= 1000 || now < this.day.at) this.day = { text: parisToday(now), at: now };
    return this.day.text;
  }

  /** Counts one request. */
  count(labels: UsageLabels, bytes: number): void {
    const day = this.today();
    const statusClass = Math.min(5, Math.max(1, Math.floor(labels.status / 100)));
    const key = `${day}\t${labels.service}\t${labels.layer}\t${labels.organisationId ?? ''}\t${labels.keyId ?? ''}\t${statusClass}`;
    const c = this.counts.get(key);
    if (c) {
      c.requests++;
      c.bytes += bytes;
    } else {
      this.counts.set(key, { labels: { day, service: labels.service, layer: labels.layer, organisationId: labels.organisationId, keyId: labels.keyId, statusClass }, requests: 1, bytes });
    }
    this.start();
  }

  /** Counts a served tile where it lies (the heat map), reduced to a block 0.5 to 1 km wide. */
  countTile(tms: TileMatrixSet, z: number, col: number, row: number): void {
    const shift = this.shiftOf(tms, z);
    if (shift === null) return;
    const day = this.today();
    const c = col >> shift;
    const r = row >> shift;
    const key = `${day}\t${tms.id}\t${z}\t${c}\t${r}`;
    const a = this.areas.get(key);
    if (a) a.requests++;
    else this.areas.set(key, { day, tms, z, col: c, row: r, shift, requests: 1 });
    this.start();
  }

  /** How many levels up a tile of level z is a block at most a cell wide (and more than half); null for an unknown level. */
  private shiftOf(tms: TileMatrixSet, z: number): number | null {
    let shifts = this.shifts.get(tms);
    if (!shifts) {
      // Web Mercator metres are longer than ground metres in France (× ~1.4): close enough for a heat map.
      shifts = tms.tileMatrices.map((tm) => Math.max(0, Math.min(30, Math.floor(Math.log2(AREA_CELL_METRES / (tm.cellSize * tm.tileWidth))))));
      this.shifts.set(tms, shifts);
    }
    return shifts[z] ?? null;
  }

  /** Starts the flush timer (on first use). */
  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  /** Writes what was counted since the last flush (flushes run one after the other). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    const counts = this.counts;
    const areas = this.areas;
    if (counts.size === 0 && areas.size === 0) return;
    this.counts = new Map();
    this.areas = new Map();
    try {
      const rows: UsageCount[] = [...counts.values()].map((c) => ({ ...c.labels, requests: c.requests, bytes: c.bytes }));
      await this.store.add(rows, areaCells([...areas.values()]));
    } catch (e) {
      // Nothing was written (one transaction): keep the counts for the next flush.
      for (const [key, c] of counts) {
        const now = this.counts.get(key);
        if (now) {
          now.requests += c.requests;
          now.bytes += c.bytes;
        } else this.counts.set(key, c);
      }
      for (const [key, a] of areas) {
        const now = this.areas.get(key);
        if (now) now.requests += a.requests;
        else this.areas.set(key, a);
      }
      this.options.log?.warn({ err: e }, 'cannot write the usage counters; they are kept for the next flush');
    }
  }

  /** Writes what is left and stops the timer (a later count starts it again). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}

/** Blocks of tiles → 1 km Lambert-93 cells of their centres (one projection per distinct block). */
function areaCells(blocks: ReadonlyArray<{ day: string; tms: TileMatrixSet; z: number; col: number; row: number; shift: number; requests: number }>): AreaCount[] {
  const cells = new Map<string, AreaCount>();
  for (const b of blocks) {
    const n = 2 ** b.shift;
    const [xmin, ymin, xmax, ymax] = tileBbox(b.tms, b.z, b.col * n, b.row * n);
    const centre: [number, number] = [xmin + ((xmax - xmin) * n) / 2, ymax - ((ymax - ymin) * n) / 2];
    let at: [number, number];
    try {
      at = b.tms.crs === 'EPSG:2154' ? centre : transformPoint(b.tms.crs, 'EPSG:2154', centre);
    } catch {
      continue;
    }
    // Far outside any French projection's domain: not a place on the heat map.
    if (!Number.isFinite(at[0]) || !Number.isFinite(at[1]) || Math.abs(at[0]) > 1e8 || Math.abs(at[1]) > 1e8) continue;
    const cellX = Math.floor(at[0] / AREA_CELL_METRES);
    const cellY = Math.floor(at[1] / AREA_CELL_METRES);
    const key = `${b.day}\t${cellX}\t${cellY}`;
    const c = cells.get(key);
    if (c) c.requests += b.requests;
    else cells.set(key, { day: b.day, cellX, cellY, requests: b.requests });
  }
  return [...cells.values()];
}
