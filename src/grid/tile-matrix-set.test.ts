import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bbox } from './bbox.js';
import {
  dalleToTileWindows,
  getTileMatrix,
  getTileMatrixSet,
  isTileInMatrix,
  levelForResolution,
  matrixBbox,
  maxZoom,
  tileAt,
  tileBbox,
  tileCount,
  tileMatrixSetToOgcJson,
  tileRange,
  tilesInRange,
  TMS_2154_5CM,
  TMS_WEB_MERCATOR_QUAD,
} from './tile-matrix-set.js';
import { expectUserError } from '../test-support/errors.js';


const L93 = TMS_2154_5CM;
const WMQ = TMS_WEB_MERCATOR_QUAD;

/** |a − b| / |b| ≤ rel. */
function expectRelClose(a: number, b: number, rel = 1e-12) {
  expect(Math.abs(a - b) / Math.abs(b), `${a} vs ${b}`).toBeLessThanOrEqual(rel);
}

// Cahors cathedral in Lambert-93 and Web Mercator, from gdaltransform (EPSG:4326 → 2154 / 3857 of
// 1.44139°E 44.44750°N). Paris (2.3522°E 48.8566°N) in Web Mercator, from gdaltransform too.
const CATHEDRAL_L93 = [575_979.220855369, 6_373_274.02089609] as const;
const CATHEDRAL_3857 = [160_454.800834517, 5_534_957.03104063] as const;
const PARIS_3857 = [261_845.706243938, 6_250_564.34954313] as const;

describe('2154_5cm definition', () => {
  it('has levels 0–22 with cell size 0.05 · 2^(22−z), exact as decimals', () => {
    expect(maxZoom(L93)).toBe(22);
    expect(getTileMatrix(L93, 22).cellSize).toBe(0.05);
    expect(getTileMatrix(L93, 21).cellSize).toBe(0.1);
    expect(getTileMatrix(L93, 15).cellSize).toBe(6.4);
    expect(getTileMatrix(L93, 0).cellSize).toBe(209_715.2);
    for (const tm of L93.tileMatrices) {
      expect(tm.id).toBe(String(tm.z));
      expect(tm.pointOfOrigin).toEqual([0, 12_000_000]);
      expect(tm.tileWidth).toBe(256);
      expect(tm.tileHeight).toBe(256);
    }
  });

  it('has the scale denominators cell / 0.00028', () => {
    // z22: 0.05 / 0.00028 = 1250 / 7 = 178.571428571428571…
    expectRelClose(getTileMatrix(L93, 22).scaleDenominator, 1250 / 7);
    expectRelClose(getTileMatrix(L93, 22).scaleDenominator, 178.5714285714286);
    // Values written by ROK4 (15 significant digits). z21: 0.1 / 0.00028, z15: 6.4 / 0.00028 = 22 857.142857…, z6: 3276.8 / 0.00028 = 11 702 857.142857…
    expectRelClose(getTileMatrix(L93, 21).scaleDenominator, 357.142857142857);
    expectRelClose(getTileMatrix(L93, 15).scaleDenominator, 22_857.1428571429);
    expectRelClose(getTileMatrix(L93, 6).scaleDenominator, 11_702_857.1428571);
    // z0: 209 715.2 / 0.00028 = 748 982 857.142857…
    expectRelClose(getTileMatrix(L93, 0).scaleDenominator, 748_982_857.142857);
  });

  it('has the matrix sizes IGN publishes (ROK4 2154_5cm.json)', () => {
    expect(getTileMatrix(L93, 22).matrixWidth).toBe(100_800);
    expect(getTileMatrix(L93, 22).matrixHeight).toBe(840_818);
    const published = [
      [1, 1], [1, 1], [1, 1], [1, 2], [1, 4], [1, 7], [2, 13], [4, 26], [7, 52], [13, 103], [25, 206], [50, 411],
      [99, 822], [197, 1643], [394, 3285], [788, 6569], [1575, 13138], [3150, 26276], [6300, 52552], [12600, 105102],
      [25200, 210205], [50400, 420409], [100800, 840818],
    ]; // prettier-ignore
    expect(L93.tileMatrices.map((tm) => [tm.matrixWidth, tm.matrixHeight])).toEqual(published);
    // They are ceil(z22 size / 2^(22−z)), except IGN's height at z19 (105 102, not 105 103).
    for (const tm of L93.tileMatrices) {
      const f = 2 ** (22 - tm.z);
      expect(tm.matrixWidth).toBe(Math.ceil(100_800 / f));
      expect(tm.matrixHeight).toBe(tm.z === 19 ? 105_102 : Math.ceil(840_818 / f));
    }
  });

  it('covers x 0 … 1 290 240 and y 12 000 000 − 840 818 · 12.8 … 12 000 000 at z22', () => {
    // 100 800 × 12.8 = 1 290 240; 840 818 × 12.8 = 10 762 470.4 → ymin = 1 237 529.6.
    expect(matrixBbox(L93, 22)).toEqual([0, 1_237_529.6, 1_290_240, 12_000_000]);
  });
});

describe('2154_5cm tiles', () => {
  it('gives exact decimal tile edges at z22', () => {
    // col 44 921: 44 921 × 12.8 = 574 988.8; row 439 531: 12e6 − 439 531 × 12.8 = 6 374 003.2.
    expect(tileBbox(L93, 22, 44_921, 439_531)).toEqual([574_988.8, 6_373_990.4, 575_001.6, 6_374_003.2]);
    // Last tile of the matrix.
    expect(tileBbox(L93, 22, 100_799, 840_817)).toEqual([1_290_227.2, 1_237_529.6, 1_290_240, 1_237_542.4]);
  });

  it('finds the cathedral tile at z22 and z15', () => {
    // z22: 575 979.22 / 12.8 = 44 998.38 → col 44 998; (12e6 − 6 373 274.02) / 12.8 = 439 587.97 → row 439 587.
    expect(tileAt(L93, 22, CATHEDRAL_L93[0], CATHEDRAL_L93[1])).toEqual({ z: 22, col: 44_998, row: 439_587 });
    // z15: tile = 256 × 6.4 = 1638.4 m; 575 979.22 / 1638.4 = 351.55 → 351; 5 626 725.98 / 1638.4 = 3434.28 → 3434.
    expect(tileAt(L93, 15, CATHEDRAL_L93[0], CATHEDRAL_L93[1])).toEqual({ z: 15, col: 351, row: 3434 });
    // 351 × 1638.4 = 575 078.4; 12e6 − 3434 × 1638.4 = 6 373 734.4.
    expect(tileBbox(L93, 15, 351, 3434)).toEqual([575_078.4, 6_372_096, 576_716.8, 6_373_734.4]);
  });

  it('puts the Cahors dalle corner at 44 921.875 tiles', () => {
    expect(tileAt(L93, 22, 575_000, 6_374_000)).toEqual({ z: 22, col: 44_921, row: 439_531 });
  });

  it('is exact on the km grid every 16.384 km (x = 16 384 m · k is z22 col 1280 · k)', () => {
    for (let k = 1; k <= 78; k++) {
      const x = 16_384 * k;
      expect(tileAt(L93, 22, x, 6_500_000)?.col).toBe(1280 * k);
      expect(tileAt(L93, 22, x - 0.001, 6_500_000)?.col).toBe(1280 * k - 1);
      expect(tileBbox(L93, 22, 1280 * k, 0)[0]).toBe(x);
      // Rows: y = 12e6 − 16 384 · m is the top edge of row 1280 · m; the point belongs to the row below.
      const y = 12_000_000 - 16_384 * (300 + k);
      expect(tileAt(L93, 22, 500_000, y)?.row).toBe(1280 * (300 + k));
      expect(tileAt(L93, 22, 500_000, y + 0.001)?.row).toBe(1280 * (300 + k) - 1);
      expect(tileBbox(L93, 22, 0, 1280 * (300 + k))[3]).toBe(y);
    }
  });

  it('assigns every tile edge to the tile to its right / below, at every level', () => {
    for (const z of [22, 21, 20, 18, 15, 12, 8]) {
      for (const col of [1, 7, 44_921, 44_922, 99_999].filter((c) => c < getTileMatrix(L93, z).matrixWidth)) {
        const row = Math.min(439_531, getTileMatrix(L93, z).matrixHeight - 2);
        const [xmin, , , ymax] = tileBbox(L93, z, col, row);
        expect(tileAt(L93, z, xmin, ymax)).toEqual({ z, col, row });
        expect(tileAt(L93, z, xmin - 1e-4, ymax)).toEqual({ z, col: col - 1, row });
        expect(tileAt(L93, z, xmin, ymax + 1e-4)).toEqual({ z, col, row: row - 1 });
      }
    }
  });

  it('returns null outside the matrix', () => {
    expect(tileAt(L93, 22, -0.01, 6_500_000)).toBeNull();
    expect(tileAt(L93, 22, 1_290_240, 6_500_000)).toBeNull();
    expect(tileAt(L93, 22, 500_000, 12_000_000.01)).toBeNull();
    expect(tileAt(L93, 22, 500_000, Number.NaN)).toBeNull();
  });

  it('checks membership in the matrix', () => {
    expect(isTileInMatrix(L93, 22, 100_799, 840_817)).toBe(true);
    expect(isTileInMatrix(L93, 22, 100_800, 0)).toBe(false);
    expect(isTileInMatrix(L93, 22, 0, 840_818)).toBe(false);
    expect(isTileInMatrix(L93, 19, 0, 105_101)).toBe(true);
    expect(isTileInMatrix(L93, 19, 0, 105_102)).toBe(false);
    expect(isTileInMatrix(L93, 23, 0, 0)).toBe(false);
    expect(isTileInMatrix(L93, -1, 0, 0)).toBe(false);
    expect(isTileInMatrix(L93, 22, -1, 0)).toBe(false);
    expect(isTileInMatrix(L93, 22, 1.5, 0)).toBe(false);
  });

  it('reports tiles out of range as WMTS would', () => {
    expectUserError(() => tileBbox(L93, 22, 100_800, 0), 'tile-out-of-range', 'TileCol 100800 is out of range 0–100799 at level 22 of 2154_5cm');
    expectUserError(() => tileBbox(L93, 22, 0, -1), 'tile-out-of-range', 'TileRow -1 is out of range 0–840817');
    expectUserError(() => tileBbox(L93, 23, 0, 0), 'invalid-tile-matrix', 'tile matrix 23 does not exist in 2154_5cm (levels 0–22)');
    expectUserError(() => tileAt(L93, 2.5, 0, 0), 'invalid-tile-matrix');
  });
});

describe('tileRange', () => {
  it('covers the Cahors dalle at z22 with 79 × 79 tiles', () => {
    // x: 575 000 / 12.8 = 44 921.875 → 44 921; 576 000 / 12.8 = 45 000 exactly → last col 44 999.
    // y: (12e6 − 6 374 000) / 12.8 = 439 531.25 → 439 531; (12e6 − 6 373 000) / 12.8 = 439 609.375 → 439 609.
    const r = tileRange(L93, 22, [575_000, 6_373_000, 576_000, 6_374_000]);
    expect(r).toEqual({ z: 22, minCol: 44_921, maxCol: 44_999, minRow: 439_531, maxRow: 439_609 });
    expect(tileCount(r!)).toBe(79 * 79);
  });

  it('does not include a neighbour the bbox only touches', () => {
    const tile = tileBbox(L93, 22, 44_921, 439_531);
    expect(tileRange(L93, 22, tile)).toEqual({ z: 22, minCol: 44_921, maxCol: 44_921, minRow: 439_531, maxRow: 439_531 });
    // Written as decimal literals rather than computed.
    expect(tileRange(L93, 22, [574_988.8, 6_373_990.4, 575_001.6, 6_374_003.2])).toEqual({
      z: 22,
      minCol: 44_921,
      maxCol: 44_921,
      minRow: 439_531,
      maxRow: 439_531,
    });
    // Four z22 tiles exactly: 16 384 m is on a tile edge.
    expect(tileRange(L93, 22, [16_384, 12_000_000 - 25.6, 16_384 + 25.6, 12_000_000])).toEqual({
      z: 22,
      minCol: 1280,
      maxCol: 1281,
      minRow: 0,
      maxRow: 1,
    });
  });

  it('treats a point like tileAt', () => {
    expect(tileRange(L93, 22, [16_384, 6_500_000, 16_384, 6_500_000])).toMatchObject({ minCol: 1280, maxCol: 1280 });
  });

  it('clamps to the matrix and returns null outside it', () => {
    expect(tileRange(L93, 0, [0, 6_000_000, 1_300_000, 7_300_000])).toEqual({ z: 0, minCol: 0, maxCol: 0, minRow: 0, maxRow: 0 });
    expect(tileRange(L93, 22, [-1000, 6_000_000, 10, 6_000_010])).toMatchObject({ minCol: 0, maxCol: 0 });
    expect(tileRange(L93, 22, [-1000, 6_000_000, -10, 6_000_010])).toBeNull();
    expect(tileRange(L93, 22, [-1000, 6_000_000, 0, 6_000_010])).toBeNull();
    expect(tileRange(WMQ, 2, [-3e7, -3e7, 3e7, 3e7])).toEqual({ z: 2, minCol: 0, maxCol: 3, minRow: 0, maxRow: 3 });
  });

  it('enumerates tiles row by row', () => {
    const tiles = [...tilesInRange({ z: 3, minCol: 1, maxCol: 2, minRow: 5, maxRow: 6 })];
    expect(tiles).toEqual([
      { z: 3, col: 1, row: 5 },
      { z: 3, col: 2, row: 5 },
      { z: 3, col: 1, row: 6 },
      { z: 3, col: 2, row: 6 },
    ]);
  });
});

describe('WebMercatorQuad', () => {
  it('matches the OGC 2D-TMS registry definition', () => {
    expect(maxZoom(WMQ)).toBe(24);
    const z0 = getTileMatrix(WMQ, 0);
    expect(z0.cellSize).toBe(156_543.03392804097);
    expect(z0.scaleDenominator).toBe(559_082_264.0287178);
    expect(z0.pointOfOrigin).toEqual([-20_037_508.3427892, 20_037_508.3427892]);
    // Values of registry/json/WebMercatorQuad.json (15 significant digits).
    const registry: [z: number, scale: number, cell: number][] = [
      [1, 279_541_132.014358, 78_271.5169640204],
      [10, 545_978.773465544, 152.874056570352],
      [15, 17_061.8366707982, 4.77731426782351],
      [21, 266.591197981222, 0.0746455354347424],
      [24, 33.3238997476528, 0.0093306919293428],
    ];
    for (const [z, scale, cell] of registry) {
      expectRelClose(getTileMatrix(WMQ, z).scaleDenominator, scale, 1e-14);
      expectRelClose(getTileMatrix(WMQ, z).cellSize, cell, 1e-14);
    }
    expect(getTileMatrix(WMQ, 24).matrixWidth).toBe(16_777_216);
    expect(getTileMatrix(WMQ, 24).matrixHeight).toBe(16_777_216);
  });

  it('finds the tile of Paris and of Cahors', () => {
    // z10: tile = 40 075 016.69 / 1024 = 39 135.758 m. Paris: (261 845.7 + 20 037 508.34) / 39 135.758 = 518.69;
    // (20 037 508.34 − 6 250 564.35) / 39 135.758 = 352.29.
    expect(tileAt(WMQ, 10, PARIS_3857[0], PARIS_3857[1])).toEqual({ z: 10, col: 518, row: 352 });
    // Cahors cathedral: 516.10, 370.57 at z10; 16 515.20, 11 858.25 at z15.
    expect(tileAt(WMQ, 10, CATHEDRAL_3857[0], CATHEDRAL_3857[1])).toEqual({ z: 10, col: 516, row: 370 });
    expect(tileAt(WMQ, 15, CATHEDRAL_3857[0], CATHEDRAL_3857[1])).toEqual({ z: 15, col: 16_515, row: 11_858 });
  });

  it('computes tile bboxes', () => {
    expect(tileBbox(WMQ, 0, 0, 0)).toEqual([-20_037_508.3427892, 20_037_508.3427892 - 256 * 156_543.03392804097, -20_037_508.3427892 + 256 * 156_543.03392804097, 20_037_508.3427892]);
    const b = tileBbox(WMQ, 1, 1, 1);
    expect(b[0]).toBeCloseTo(0, 6);
    expect(b[3]).toBeCloseTo(0, 6);
    expect(b[2]).toBeCloseTo(20_037_508.3427892, 6);
  });

  it('is found by its IGN alias', () => {
    expect(getTileMatrixSet('PM')).toBe(WMQ);
    expect(getTileMatrixSet('WebMercatorQuad')).toBe(WMQ);
    expect(getTileMatrixSet('2154_5cm')).toBe(L93);
    expect(getTileMatrixSet('LAMB93_5cm_EPSG')).toBe(L93);
    expectUserError(() => getTileMatrixSet('pm'), 'unknown-tile-matrix-set', "unknown tile matrix set 'pm'");
    expectUserError(() => getTileMatrixSet('EPSG:3857'), 'unknown-tile-matrix-set', 'known are 2154_5cm');
  });
});

describe('levelForResolution', () => {
  it('picks the closest level on a log scale', () => {
    expect(levelForResolution(L93, 0.05)).toBe(22);
    expect(levelForResolution(L93, 0.06)).toBe(22); // ×1.2 from z22, ÷1.67 from z21
    expect(levelForResolution(L93, 0.08)).toBe(21); // ×1.6 from z22, ÷1.25 from z21
    expect(levelForResolution(L93, 6.4)).toBe(15);
    expect(levelForResolution(L93, 5)).toBe(15);
    expect(levelForResolution(L93, 0.05 * Math.SQRT2)).toBe(22); // exactly half-way: the finer level
    expect(levelForResolution(L93, 0.001)).toBe(22);
    expect(levelForResolution(L93, 1e9)).toBe(0);
    expect(levelForResolution(WMQ, 152.87)).toBe(10);
    expect(levelForResolution(WMQ, 0.05)).toBe(22); // 0.0373 m at z22, 0.0746 at z21
  });

  it('has finer and coarser variants', () => {
    expect(levelForResolution(L93, 0.08, 'finer')).toBe(22);
    expect(levelForResolution(L93, 0.1, 'finer')).toBe(21);
    expect(levelForResolution(L93, 0.1000000000001, 'finer')).toBe(21);
    expect(levelForResolution(L93, 0.0999, 'finer')).toBe(22);
    expect(levelForResolution(L93, 0.01, 'finer')).toBe(22);
    expect(levelForResolution(L93, 0.06, 'coarser')).toBe(21);
    expect(levelForResolution(L93, 0.1, 'coarser')).toBe(21);
    expect(levelForResolution(L93, 1e9, 'coarser')).toBe(0);
    expect(levelForResolution(WMQ, 0.05, 'finer')).toBe(22);
    expect(levelForResolution(WMQ, 0.05, 'coarser')).toBe(21);
  });

  it('rejects meaningless resolutions', () => {
    expectUserError(() => levelForResolution(L93, 0), 'invalid-resolution');
    expectUserError(() => levelForResolution(L93, -1), 'invalid-resolution');
    expectUserError(() => levelForResolution(L93, Number.NaN), 'invalid-resolution');
  });
});

describe('dalleToTileWindows', () => {
  const CAHORS_DALLE: Bbox = [575_000, 6_373_000, 576_000, 6_374_000];

  it('cuts a 1 km dalle into 79 × 79 z22 tiles with whole-pixel windows', () => {
    const windows = dalleToTileWindows(CAHORS_DALLE, L93, 22);
    expect(windows).toHaveLength(6241);
    expect(windows.every((w) => w.pixelAligned)).toBe(true);
    // First tile (44 921, 439 531): its left edge 574 988.8 is 11.2 m = 224 px west of the dalle, its top
    // 6 374 003.2 is 3.2 m = 64 px north: the dalle fills x 224…256, y 64…256 of the tile.
    expect(windows[0]).toEqual({
      tile: { z: 22, col: 44_921, row: 439_531 },
      bbox: [575_000, 6_373_990.4, 575_001.6, 6_374_000],
      source: { x: 0, y: 0, width: 32, height: 192 },
      target: { x: 224, y: 64, width: 32, height: 192 },
      pixelAligned: true,
    });
    // Second tile of the row starts 1.6 m = 32 px into the dalle.
    expect(windows[1]).toMatchObject({ tile: { col: 44_922 }, source: { x: 32, y: 0, width: 256, height: 192 }, target: { x: 0, y: 64 } });
    // Last tile (44 999, 439 609): x 575 987.2 … 576 000 (a full 256 px), top 6 373 004.8 → 4.8 m = 96 px of dalle.
    expect(windows.at(-1)).toEqual({
      tile: { z: 22, col: 44_999, row: 439_609 },
      bbox: [575_987.2, 6_373_000, 576_000, 6_373_004.8],
      source: { x: 19_744, y: 19_904, width: 256, height: 96 },
      target: { x: 0, y: 0, width: 256, height: 96 },
      pixelAligned: true,
    });
  });

  it('tiles the dalle exactly: windows partition its 20 000 × 20 000 pixels', () => {
    const windows = dalleToTileWindows(CAHORS_DALLE, L93, 22);
    let area = 0;
    const problems: string[] = [];
    for (const w of windows) {
      area += w.source.width * w.source.height;
      const { source: s, target: t } = w;
      const inside = s.x >= 0 && s.y >= 0 && s.x + s.width <= 20_000 && s.y + s.height <= 20_000;
      const inTile = t.x >= 0 && t.y >= 0 && t.x + t.width <= 256 && t.y + t.height <= 256;
      // Same lattice: the window has the same size in both rasters.
      const sameSize = t.width === s.width && t.height === s.height;
      if (!inside || !inTile || !sameSize) problems.push(JSON.stringify(w));
    }
    expect(problems).toEqual([]);
    expect(area).toBe(20_000 * 20_000);
    const firstRow = windows.filter((w) => w.tile.row === 439_531);
    expect(firstRow.reduce((s, w) => s + w.source.width, 0)).toBe(20_000);
  });

  it('cuts a 200 m dalle into 17 × 17 z22 tiles', () => {
    // 575 200 / 12.8 = 44 937.5 → the dalle starts 6.4 m = 128 px into tile 44 937;
    // (12e6 − 6 373 800) / 12.8 = 439 546.875 → 11.2 m = 224 px below the top of row 439 546.
    const windows = dalleToTileWindows([575_200, 6_373_600, 575_400, 6_373_800], L93, 22);
    expect(windows).toHaveLength(17 * 17);
    expect(windows[0]).toMatchObject({
      tile: { col: 44_937, row: 439_546 },
      source: { x: 0, y: 0, width: 128, height: 32 },
      target: { x: 128, y: 224, width: 128, height: 32 },
    });
    expect(windows.every((w) => w.pixelAligned)).toBe(true);
  });

  it('gives fractional windows at coarser levels', () => {
    // z15 tiles are 1638.4 m: the dalle spans cols 350–351 (575 000 / 1638.4 = 350.95) and rows 3433–3434.
    const windows = dalleToTileWindows(CAHORS_DALLE, L93, 15);
    expect(windows.map((w) => [w.tile.col, w.tile.row])).toEqual([
      [350, 3433],
      [351, 3433],
      [350, 3434],
      [351, 3434],
    ]);
    // Tile 350 ends at 575 078.4: 78.4 m = 1568 source px = 12.25 z15 px (6.4 m each).
    expect(windows[0]?.source.width).toBe(1568);
    expect(windows[0]?.target.width).toBeCloseTo(12.25, 9);
    expect(windows[0]?.pixelAligned).toBe(false);
  });

  it('uses the given source pixel size', () => {
    // A 20 cm raster of the same dalle at z20 (20 cm cells): 5000 px wide, still aligned (origin multiple of 20 cm).
    const windows = dalleToTileWindows(CAHORS_DALLE, L93, 20, { sourcePixelSize: 0.2 });
    expect(windows.every((w) => w.pixelAligned)).toBe(true);
    expect(windows.reduce((s, w) => s + w.source.width * w.source.height, 0)).toBe(5000 * 5000);
  });
});

describe('OGC JSON', () => {
  it('encodes WebMercatorQuad as TMS 2.0 like the OGC registry', () => {
    const json = tileMatrixSetToOgcJson(WMQ);
    expect(json).toMatchObject({
      id: 'WebMercatorQuad',
      uri: 'http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad',
      crs: 'http://www.opengis.net/def/crs/EPSG/0/3857',
      orderedAxes: ['X', 'Y'],
      wellKnownScaleSet: 'http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible',
    });
    expect(json.tileMatrices).toHaveLength(25);
    expect(json.tileMatrices[0]).toEqual({
      id: '0',
      scaleDenominator: 559_082_264.0287178,
      cellSize: 156_543.03392804097,
      cornerOfOrigin: 'topLeft',
      pointOfOrigin: [-20_037_508.3427892, 20_037_508.3427892],
      tileWidth: 256,
      tileHeight: 256,
      matrixWidth: 1,
      matrixHeight: 1,
    });
    // Survives JSON serialisation unchanged.
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('encodes 2154_5cm as TMS 2.0 like ROK4', () => {
    const json = tileMatrixSetToOgcJson(L93);
    expect(json.crs).toBe('http://www.opengis.net/def/crs/EPSG/0/2154');
    expect(json.id).toBe('2154_5cm');
    expect(json.tileMatrices[22]).toMatchObject({ id: '22', cellSize: 0.05, pointOfOrigin: [0, 12_000_000], matrixWidth: 100_800, matrixHeight: 840_818 });
    expectRelClose(json.tileMatrices[22]!.scaleDenominator, 178.571428571429, 1e-14); // ROK4 writes 15 digits
  });

  it('encodes TMS 1.0 for GDAL 3.6', () => {
    const json = tileMatrixSetToOgcJson(L93, '1.0');
    expect(json.type).toBe('TileMatrixSetType');
    expect(json.identifier).toBe('2154_5cm');
    expect(json.supportedCRS).toBe('http://www.opengis.net/def/crs/EPSG/0/2154');
    expect(json.boundingBox).toEqual({
      type: 'BoundingBoxType',
      crs: 'http://www.opengis.net/def/crs/EPSG/0/2154',
      lowerCorner: [0, 1_237_529.6],
      upperCorner: [1_290_240, 12_000_000],
    });
    expect(json.tileMatrix[22]).toMatchObject({ type: 'TileMatrixType', identifier: '22', topLeftCorner: [0, 12_000_000], matrixWidth: 100_800 });
  });

  const hasGdal = (() => {
    try {
      execFileSync('gdal_translate', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasGdal)('is accepted by GDAL as a COG TILING_SCHEME and aligns output on 2154_5cm z22 tiles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcrs-grid-'));
    try {
      const tmsFile = join(dir, '2154_5cm.json');
      writeFileSync(tmsFile, JSON.stringify(tileMatrixSetToOgcJson(L93, '1.0')));
      const src = join(dir, 'src.tif');
      const cog = join(dir, 'cog.tif');
      // 20 m × 20 m of 5 cm pixels at the Cahors dalle corner.
      execFileSync('gdal_create', ['-q', '-of', 'GTiff', '-outsize', '400', '400', '-bands', '1', '-burn', '7', '-a_srs', 'EPSG:2154', '-a_ullr', '575000', '6374000', '575020', '6373980', src]);
      execFileSync('gdal_translate', ['-q', '-of', 'COG', '-co', `TILING_SCHEME=${tmsFile}`, '-co', 'ZOOM_LEVEL=22', src, cog]);
      const info = JSON.parse(execFileSync('gdalinfo', ['-json', cog], { encoding: 'utf8' })) as { geoTransform: number[]; size: number[] };
      const [x0, px, , y0, , py] = info.geoTransform as [number, number, number, number, number, number];
      // GDAL snaps the output to tile (44 921, 439 531): upper-left (574 988.8, 6 374 003.2), 5 cm pixels,
      // 3 × 2 tiles (575 020 / 12.8 = 44 923.4; (12e6 − 6 373 980) / 12.8 = 439 532.8).
      expect(x0).toBeCloseTo(574_988.8, 6);
      expect(y0).toBeCloseTo(6_374_003.2, 6);
      expect(px).toBeCloseTo(0.05, 12);
      expect(py).toBeCloseTo(-0.05, 12);
      expect(info.size).toEqual([768, 512]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
