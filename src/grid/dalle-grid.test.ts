import { describe, expect, it } from 'vitest';
import type { DalleRef, DalleSize } from './dalle-grid.js';
import {
  childDalles,
  dalleAt,
  dalleBbox,
  dalleKey,
  dalleRefEquals,
  dalleRefFromBbox,
  dallesInBbox,
  formatDalleName,
  isDepartementCode,
  LAMBERT93_DOMAIN,
  parentDalle,
  parseDalleName,
} from './dalle-grid.js';
import { expectUserError } from '../test-support/errors.js';


/** Deterministic PRNG (mulberry32): reproducible "random" round trips. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Reference example (IGN naming, Cahors): 1 km dalle with xmin = 575 000, ymax = 6 374 000.
const CAHORS_NAME = '46-2025-0575-6374-LA93-0M05-RVB.tif';
const CAHORS_REF: DalleRef = { size: 1000, col: 575, row: 6374 };
// 200 m dalle: xmin = 575 200 (5752 hm), ymax = 6 373 800 (63738 hm); col = 575200/200, row = 6373800/200.
const SMALL_NAME = '46-2025-05752-63738-LA93-0M05-RVB.tif';
const SMALL_REF: DalleRef = { size: 200, col: 2876, row: 31869 };
// Cahors cathedral (44°26′51″N 1°26′29″E) in Lambert-93, from
// `echo "1.44139 44.44750" | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:2154`.
const CATHEDRAL = [575_979.220855369, 6_373_274.02089609] as const;

describe('dalle references and bboxes', () => {
  it('gives the Cahors 1 km dalle bbox', () => {
    expect(dalleBbox(CAHORS_REF)).toEqual([575_000, 6_373_000, 576_000, 6_374_000]);
  });

  it('gives a 200 m dalle bbox', () => {
    expect(dalleBbox(SMALL_REF)).toEqual([575_200, 6_373_600, 575_400, 6_373_800]);
  });

  it('finds the dalle containing the cathedral', () => {
    expect(dalleAt(CATHEDRAL[0], CATHEDRAL[1], 1000)).toEqual(CAHORS_REF);
    // 200 m: xmin = 575 800 (col 2879), ymax = 6 373 400 (row 31867).
    expect(dalleAt(CATHEDRAL[0], CATHEDRAL[1], 200)).toEqual({ size: 200, col: 2879, row: 31867 });
  });

  it('assigns points on edges to the dalle to the right and below', () => {
    // On the vertical edge x = 576 000 → the eastern dalle (col 576).
    expect(dalleAt(576_000, 6_373_500, 1000)).toEqual({ size: 1000, col: 576, row: 6374 });
    // On the horizontal edge y = 6 373 000 → the dalle below, whose ymax is 6 373 000.
    expect(dalleAt(575_500, 6_373_000, 1000)).toEqual({ size: 1000, col: 575, row: 6373 });
    // The upper-left corner of a dalle belongs to that dalle.
    expect(dalleAt(575_000, 6_374_000, 1000)).toEqual(CAHORS_REF);
    expect(dalleAt(575_200, 6_373_800, 200)).toEqual(SMALL_REF);
    // Within 1 µm of an edge counts as on it (float noise), 1 mm does not.
    expect(dalleAt(575_999.9999999999, 6_373_500, 1000).col).toBe(576);
    expect(dalleAt(575_999.999, 6_373_500, 1000).col).toBe(575);
    expect(dalleAt(575_500, 6_373_000 + 1e-9, 1000).row).toBe(6373);
    expect(dalleAt(575_500, 6_373_000.001, 1000).row).toBe(6374);
  });

  it('refuses coordinates outside the Lambert-93 domain', () => {
    // The cathedral in CC45 (EPSG:3945) coordinates, as if mislabelled as 2154.
    expectUserError(() => dalleAt(1_575_945.7, 4_139_800.1, 1000), 'outside-crs-domain', 'outside the Lambert-93 (EPSG:2154) domain');
    // Web Mercator coordinates of Cahors.
    expectUserError(() => dalleAt(160_454.8, 5_534_957.0, 200), 'outside-crs-domain');
    expectUserError(() => dalleAt(-10, 6_500_000, 1000), 'outside-crs-domain');
    // Extremes of France are inside: Ouessant, Cap Corse, Bonifacio, Lauterbourg, Bray-Dunes.
    for (const [x, y] of [
      [102_199, 6_848_436],
      [1_234_771, 6_233_410],
      [1_224_733, 6_050_601],
      [1_082_630, 6_887_127],
      [668_399, 7_110_590],
    ] as const) {
      expect(() => dalleAt(x, y, 1000)).not.toThrow();
    }
    expect(LAMBERT93_DOMAIN).toEqual([0, 6_005_000, 1_321_000, 7_236_000]);
  });

  it('rejects invalid refs', () => {
    expectUserError(() => dalleBbox({ size: 500 as DalleSize, col: 1, row: 1 }), 'invalid-dalle-ref', 'size 500');
    expectUserError(() => dalleBbox({ size: 1000, col: 1.5, row: 1 }), 'invalid-dalle-ref', 'integers');
  });

  it('relates 1 km and 200 m dalles', () => {
    expect(parentDalle(SMALL_REF)).toEqual(CAHORS_REF);
    expect(parentDalle(CAHORS_REF)).toEqual(CAHORS_REF);
    const children = childDalles(CAHORS_REF);
    expect(children).toHaveLength(25);
    // First child: upper-left 200 m dalle, xmin 575 000, ymax 6 374 000.
    expect(children[0]).toEqual({ size: 200, col: 2875, row: 31870 });
    // Last child: lower-right, xmin 575 800, ymax 6 373 200.
    expect(children[24]).toEqual({ size: 200, col: 2879, row: 31866 });
    expect(children.some((c) => dalleRefEquals(c, SMALL_REF))).toBe(true);
    for (const c of children) expect(parentDalle(c)).toEqual(CAHORS_REF);
    expectUserError(() => childDalles(SMALL_REF), 'invalid-dalle-ref');
  });

  it('has a stable key', () => {
    expect(dalleKey(CAHORS_REF)).toBe('1000:575:6374');
  });
});

describe('dallesInBbox', () => {
  it('returns exactly the dalle for its own bbox (touching edges do not count)', () => {
    expect(dallesInBbox([575_000, 6_373_000, 576_000, 6_374_000], 1000)).toEqual([CAHORS_REF]);
  });

  it('lists dalles north to south, west to east', () => {
    expect(dallesInBbox([575_500, 6_373_500, 576_500, 6_374_500], 1000)).toEqual([
      { size: 1000, col: 575, row: 6375 },
      { size: 1000, col: 576, row: 6375 },
      { size: 1000, col: 575, row: 6374 },
      { size: 1000, col: 576, row: 6374 },
    ]);
  });

  it('gives the 25 children of a 1 km dalle at 200 m', () => {
    expect(dallesInBbox(dalleBbox(CAHORS_REF), 200)).toEqual(childDalles(CAHORS_REF));
  });

  it('handles degenerate bboxes with the point convention', () => {
    expect(dallesInBbox([576_000, 6_373_000, 576_000, 6_373_000], 1000)).toEqual([{ size: 1000, col: 576, row: 6373 }]);
    // A vertical line on an edge: dalles to its right only.
    expect(dallesInBbox([576_000, 6_372_500, 576_000, 6_373_500], 1000)).toEqual([
      { size: 1000, col: 576, row: 6374 },
      { size: 1000, col: 576, row: 6373 },
    ]);
  });

  it('refuses huge requests and out-of-domain bboxes', () => {
    expectUserError(() => dallesInBbox(LAMBERT93_DOMAIN, 200), 'too-many-dalles');
    expectUserError(() => dallesInBbox([570_000, 6_370_000, 580_000, 6_380_000], 1000, 50), 'too-many-dalles', '100 dalles');
    expectUserError(() => dallesInBbox([1_570_000, 4_130_000, 1_580_000, 4_140_000], 1000), 'outside-crs-domain');
  });
});

describe('dalleRefFromBbox', () => {
  it('snaps an exact extent', () => {
    expect(dalleRefFromBbox([575_000, 6_373_000, 576_000, 6_374_000])).toEqual(CAHORS_REF);
    expect(dalleRefFromBbox([575_200, 6_373_600, 575_400, 6_373_800])).toEqual(SMALL_REF);
  });

  it('absorbs floating noise (GDAL: origin + 20 000 × 0.05)', () => {
    expect(dalleRefFromBbox([575_000.0000001, 6_373_000, 575_000 + 20_000 * 0.05, 6_374_000 - 1e-7])).toEqual(CAHORS_REF);
  });

  it('says by how much a shifted extent is off the grid', () => {
    expectUserError(
      () => dalleRefFromBbox([575_000.3, 6_373_000.3, 576_000.3, 6_374_000.3]),
      'not-on-dalle-grid',
      'upper-left corner is 0.300 m east and 0.300 m north of the 1000 m grid node (575000, 6374000)',
    );
    expectUserError(
      () => dalleRefFromBbox([575_199.95, 6_373_599.9, 575_399.95, 6_373_799.9]),
      'not-on-dalle-grid',
      '0.050 m west and 0.100 m south of the 200 m grid node (575200, 6373800)',
    );
    // Accepted with a larger tolerance.
    expect(dalleRefFromBbox([575_000.3, 6_373_000.3, 576_000.3, 6_374_000.3], 0.5)).toEqual(CAHORS_REF);
  });

  it('says when the size is not a dalle size', () => {
    expectUserError(
      () => dalleRefFromBbox([575_000, 6_373_000, 575_999.5, 6_374_000]),
      'not-on-dalle-grid',
      'is 999.500 m × 1000 m: not a 1000 m or 200 m dalle (off by 0.500 m in width and 0 m in height from 1000 m',
    );
    expectUserError(() => dalleRefFromBbox([575_000, 6_373_000, 575_500, 6_373_500]), 'not-on-dalle-grid', '500 m × 500 m');
  });

  it('refuses extents outside the domain', () => {
    expectUserError(() => dalleRefFromBbox([1_575_000, 4_139_000, 1_576_000, 4_140_000]), 'outside-crs-domain');
  });
});

describe('dalle names', () => {
  it('parses the Cahors example', () => {
    expect(parseDalleName(CAHORS_NAME)).toEqual({ dep: '46', year: 2025, ref: CAHORS_REF, ext: 'tif', suffix: 'LA93-0M05-RVB' });
    expect(dalleBbox(parseDalleName(CAHORS_NAME).ref)).toEqual([575_000, 6_373_000, 576_000, 6_374_000]);
  });

  it('parses the 200 m example', () => {
    expect(parseDalleName(SMALL_NAME)).toEqual({ dep: '46', year: 2025, ref: SMALL_REF, ext: 'tif', suffix: 'LA93-0M05-RVB' });
    expect(dalleBbox(parseDalleName(SMALL_NAME).ref)).toEqual([575_200, 6_373_600, 575_400, 6_373_800]);
  });

  it('formats both examples', () => {
    expect(formatDalleName({ dep: '46', year: 2025, ref: CAHORS_REF, ext: 'tif' })).toBe(CAHORS_NAME);
    expect(formatDalleName({ dep: '46', year: 2025, ref: SMALL_REF, ext: 'tif' })).toBe(SMALL_NAME);
    expect(formatDalleName({ dep: '46', year: 2025, ref: CAHORS_REF })).toBe('46-2025-0575-6374-LA93-0M05-RVB');
    expect(formatDalleName({ dep: '2A', year: 2023, ref: { size: 1000, col: 1210, row: 6110 }, ext: 'jp2' })).toBe(
      '2A-2023-1210-6110-LA93-0M05-RVB.jp2',
    );
    expect(formatDalleName({ dep: '46', year: 2025, ref: CAHORS_REF, suffix: 'LA93-0M05-IRC' })).toBe('46-2025-0575-6374-LA93-0M05-IRC');
  });

  it('pads small coordinates with zeros', () => {
    // Finistère: xmin 95 000 → '0095'; 200 m at xmin 95 200 → 952 hm → '00952'.
    expect(formatDalleName({ dep: '29', year: 2024, ref: { size: 1000, col: 95, row: 6840 } })).toBe('29-2024-0095-6840-LA93-0M05-RVB');
    expect(formatDalleName({ dep: '29', year: 2024, ref: { size: 200, col: 476, row: 34200 } })).toBe('29-2024-00952-68400-LA93-0M05-RVB');
    expect(parseDalleName('29-2024-00952-68400-LA93-0M05-RVB').ref).toEqual({ size: 200, col: 476, row: 34200 });
  });

  it('accepts names with or without extension, any extension case', () => {
    expect(parseDalleName('46-2025-0575-6374-LA93-0M05-RVB').ext).toBeUndefined();
    expect(parseDalleName('46-2025-0575-6374-LA93-0M05-RVB').ref).toEqual(CAHORS_REF);
    expect(parseDalleName('46-2025-0575-6374-LA93-0M05-RVB.TIF').ext).toBe('tif');
    expect(parseDalleName('46-2025-0575-6374-LA93-0M05-RVB.Tiff').ext).toBe('tiff');
    expect(parseDalleName('46-2025-0575-6374-LA93-0M05-RVB.JP2').ext).toBe('jp2');
  });

  it('accepts every département form', () => {
    for (const dep of ['01', '19', '21', '2A', '2B', '95', '971', '974', '976']) expect(isDepartementCode(dep)).toBe(true);
    for (const dep of ['00', '20', '96', '2a', '1', '970', '977', '046', 'AB']) expect(isDepartementCode(dep)).toBe(false);
    expect(parseDalleName('2B-2024-1230-6200-LA93-0M05-RVB.tif').dep).toBe('2B');
  });

  it('accepts another product suffix only when asked', () => {
    expect(parseDalleName('46-2025-0575-6374-LA93-0M05-IRC.tif', 'LA93-0M05-IRC').suffix).toBe('LA93-0M05-IRC');
    expectUserError(() => parseDalleName('46-2025-0575-6374-LA93-0M05-IRC.tif'), 'invalid-dalle-name');
  });

  // Each malformed name, with the exact defect the message must name.
  const malformed: [name: string, code: string, message: string][] = [
    ['46-2025-575-6374-LA93-0M05-RVB.tif', 'invalid-dalle-name', "X field '575' must have 4 digits (km) or 5 digits (hm)"],
    ['46-2025-0575-637400-LA93-0M05-RVB.tif', 'invalid-dalle-name', "Y field '637400' must have 4 digits (km) or 5 digits (hm)"],
    ['46-2025-05753-63738-LA93-0M05-RVB.tif', 'invalid-dalle-name', '200 m dalle corner 05753 is not on the 200 m grid'],
    ['46-2025-05752-63739-LA93-0M05-RVB.tif', 'invalid-dalle-name', '200 m dalle corner 63739 is not on the 200 m grid'],
    ['46-1850-0575-6374-LA93-0M05-RVB.tif', 'invalid-dalle-name', 'year 1850 out of range 1950–2100'],
    ['46-2150-0575-6374-LA93-0M05-RVB.tif', 'invalid-dalle-name', 'year 2150 out of range'],
    ['46-25-0575-6374-LA93-0M05-RVB.tif', 'invalid-dalle-name', "year field '25' must have 4 digits"],
    ['46-2025-0575-63738-LA93-0M05-RVB.tif', 'invalid-dalle-name', "X field '0575' has 4 digits but Y field '63738' has 5"],
    ['46-2025-057a-6374-LA93-0M05-RVB.tif', 'invalid-dalle-name', "X field '057a' must contain only digits"],
    ['46-2025-0575-+374-LA93-0M05-RVB.tif', 'invalid-dalle-name', "Y field '+374' must contain only digits"],
    ['20-2025-1230-6200-LA93-0M05-RVB.tif', 'invalid-dalle-name', "département '20' no longer exists: Corsica is 2A or 2B"],
    ['2a-2025-1230-6200-LA93-0M05-RVB.tif', 'invalid-dalle-name', "département '2a' must be written in uppercase (2A)"],
    ['6-2025-0575-6374-LA93-0M05-RVB.tif', 'invalid-dalle-name', "département '6' must have 2 digits (06)"],
    ['96-2025-0575-6374-LA93-0M05-RVB.tif', 'invalid-dalle-name', "département '96' is not a département code"],
    ['977-2025-0575-6374-LA93-0M05-RVB.tif', 'invalid-dalle-name', "département '977' is not a département code"],
    ['46-2025-0575-6374-LA93-0M20-RVB.tif', 'invalid-dalle-name', "expected '-LA93-0M05-RVB' after the coordinates, found '-LA93-0M20-RVB'"],
    ['46-2025-0575-6374-la93-0m05-rvb.tif', 'invalid-dalle-name', "found '-la93-0m05-rvb'"],
    ['46-2025-0575-6374-LA93-0M05-RVB-X.tif', 'invalid-dalle-name', "found '-LA93-0M05-RVB-X'"],
    ['46-2025-0575-6374.tif', 'invalid-dalle-name', "missing '-LA93-0M05-RVB' after the coordinates"],
    ['46-2025-0575-6374-LA93-0M05-RVB.png', 'invalid-dalle-name', "extension '.png' is not .tif, .tiff or .jp2"],
    ['46-2025-0575-6374-LA93-0M05-RVB.tif.aux.xml', 'invalid-dalle-name', "extension '.xml'"],
    ['46-2025-0575-6374-LA93-0M05-RVB.jp2.tif', 'invalid-dalle-name', "only one '.' is allowed"],
    ['46_2025_0575_6374_LA93_0M05_RVB.tif', 'invalid-dalle-name', "found only 1 field(s) separated by '-'"],
    ['ortho/46-2025-0575-6374-LA93-0M05-RVB.tif', 'invalid-dalle-name', 'a dalle name is a file name, not a path'],
    [' 46-2025-0575-6374-LA93-0M05-RVB.tif', 'invalid-dalle-name', 'leading or trailing spaces'],
    ['', 'invalid-dalle-name', 'the name is empty'],
    // Well formed but not a Lambert-93 location: CC45 corner, and a 5 000 km easting.
    ['46-2025-1575-4140-LA93-0M05-RVB.tif', 'outside-crs-domain', 'outside the Lambert-93 (EPSG:2154) domain'],
    ['46-2025-5000-6374-LA93-0M05-RVB.tif', 'outside-crs-domain', 'outside the Lambert-93'],
  ];
  it.each(malformed)('rejects %j', (name, code, message) => {
    const err = expectUserError(() => parseDalleName(name), code, message);
    expect(err.message).toContain(name === '' ? "''" : name);
  });

  it('refuses to format what it cannot parse', () => {
    expectUserError(() => formatDalleName({ dep: '20', year: 2025, ref: CAHORS_REF }), 'invalid-dalle-name', "département '20'");
    expectUserError(() => formatDalleName({ dep: '46', year: 1850, ref: CAHORS_REF }), 'invalid-dalle-name', 'year 1850 out of range');
    expectUserError(() => formatDalleName({ dep: '46', year: 2025.5, ref: CAHORS_REF }), 'invalid-dalle-name', 'out of range');
    expectUserError(() => formatDalleName({ dep: '46', year: 2025, ref: { size: 1000, col: -1, row: 6374 } }), 'outside-crs-domain');
    expectUserError(() => formatDalleName({ dep: '46', year: 2025, ref: { size: 1000, col: 575, row: 4140 } }), 'outside-crs-domain');
    expectUserError(() => formatDalleName({ dep: '46', year: 2025, ref: CAHORS_REF, suffix: 'la93' }), 'invalid-argument');
  });
});

describe('round trips over random dalles', () => {
  const random = seededRandom(20250046);
  const [dxmin, dymin, dxmax, dymax] = LAMBERT93_DOMAIN;
  const deps = ['01', '2A', '2B', '46', '95', '971', '976'];
  const refs: DalleRef[] = [];
  for (let i = 0; i < 2000; i++) {
    const size: DalleSize = i % 2 === 0 ? 1000 : 200;
    const col = Math.floor(dxmin / size + random() * ((dxmax - dxmin) / size - 1));
    const row = Math.ceil(dymin / size + 1 + random() * ((dymax - dymin) / size - 1));
    refs.push({ size, col, row });
  }

  it('name → ref → name', () => {
    for (const [i, ref] of refs.entries()) {
      const dep = deps[i % deps.length] as string;
      const year = 1950 + (i % 151);
      const ext = (['tif', 'tiff', 'jp2', undefined] as const)[i % 4];
      const name = formatDalleName({ dep, year, ref, ext });
      const digits = ref.size === 1000 ? 4 : 5;
      expect(name).toMatch(new RegExp(`^${dep}-${year}-\\d{${digits}}-\\d{${digits}}-LA93-0M05-RVB`));
      const parsed = parseDalleName(name);
      expect(parsed).toEqual({ dep, year, ref, ext, suffix: 'LA93-0M05-RVB' });
      expect(formatDalleName(parsed)).toBe(name);
    }
  });

  it('ref → bbox → ref, and every interior point and the upper-left corner map back', () => {
    for (const ref of refs) {
      const b = dalleBbox(ref);
      expect(b[2] - b[0]).toBe(ref.size);
      expect(b[3] - b[1]).toBe(ref.size);
      expect(b[0]).toBe(ref.col * ref.size);
      expect(b[3]).toBe(ref.row * ref.size);
      expect(dalleRefFromBbox(b)).toEqual(ref);
      expect(dalleAt(b[0], b[3], ref.size)).toEqual(ref);
      expect(dalleAt(b[0] + (0.001 + random() * 0.998) * ref.size, b[1] + (0.001 + random() * 0.998) * ref.size, ref.size)).toEqual(ref);
      expect(dallesInBbox(b, ref.size)).toEqual([ref]);
    }
  });
});
