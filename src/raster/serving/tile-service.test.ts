import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/catalog.js';
import { loadConfig } from '../../config/config.js';
import { buildServer } from '../../server/app.js';
import { freshPglite } from '../../test-support/db.js';
import { planRender, renderPlan } from './render.js';
import { DiskTileCache, parseFormat } from './tile-service.js';
import { buildAppContext } from '../../context/app-context.js';

describe('DiskTileCache', () => {
  it('stays under its bound, evicting the least recently used entries', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-pmcache-'));
    try {
      const c = new DiskTileCache(dir, 1000);
      await c.put('aa1.png', Buffer.alloc(400, 1));
      await c.put('bb2.png', Buffer.alloc(400, 2));
      expect(await c.get('aa1.png')).not.toBeNull(); // touch: aa1 is now the most recent
      await c.put('cc3.png', Buffer.alloc(400, 3));
      expect(c.bytes).toBeLessThanOrEqual(1000);
      expect(await c.get('bb2.png')).toBeNull();
      expect((await c.get('aa1.png'))?.[0]).toBe(1);
      expect((await c.get('cc3.png'))?.[0]).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderPlan', () => {
  it('reproduces a level-22 tile exactly when the output grid is that tile', () => {
    const col = 44922;
    const row = 439547;
    const plan = planRender(256, 256, (px, py) => [col * 12.8 + px * 0.05, 12_000_000 - row * 12.8 - py * 0.05], 'closest')!;
    expect(plan.level).toBe(22);
    const tile = Buffer.alloc(256 * 256 * 4);
    for (let i = 0; i < 256 * 256; i++) tile.set([i & 255, (i >> 8) & 255, 7, i % 256 < 128 ? 255 : 0], i * 4);
    const tiles = plan.tiles.map((t) => (t.col === col && t.row === row ? tile : null));
    const { rgba, covered } = renderPlan(plan, tiles);
    expect(covered).toBe(128 * 256);
    expect(rgba.subarray(0, 4 * 128).equals(tile.subarray(0, 4 * 128))).toBe(true);
    expect(rgba[(200 * 256 + 10) * 4]).toBe(10);
    expect(rgba[(200 * 256 + 10) * 4 + 1]).toBe(200);
    expect(rgba[(200 * 256 + 200) * 4 + 3]).toBe(0);
  });

  it('parses the formats clients send', () => {
    expect(['image/jpeg', 'jpg', 'JPEG', 'image/png; mode=8bit', 'webp', 'image/gif'].map(parseFormat)).toEqual(['jpeg', 'jpeg', 'jpeg', 'png', 'webp', null]);
  });
});

describe('empty tiles', () => {
  it('answer a cached transparent PNG by default, 404 when configured', async () => {
    const t = await freshPglite();
    try {
      const catalog = new Catalog(t.db);
      await catalog.ensureStandardDatasets('46');
      for (const [mode, status] of [[undefined, 200], ['404', 404]] as const) {
        const config = loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR as string, PCRS_LOG_LEVEL: 'silent' }, mode ? { streams: { emptyTile: mode } } : {});
        const app = await buildServer(buildAppContext(config, t.db), { logger: false });
        const r = await app.inject('/tiles/PCRS.ORTHO/WebMercatorQuad/16/33000/23800.png');
        expect(r.statusCode).toBe(status);
        if (status === 200) {
          expect(r.headers['content-type']).toBe('image/png');
          expect(r.headers.etag).toBe('"empty-256"');
        }
        await app.close();
      }
    } finally {
      await t.dispose();
    }
  });
});
