import { describe, expect, it } from 'vitest';
import type { CrsCode } from './crs.js';
import {
  crsInfo,
  crsUri,
  crsUrn,
  hasLatLonAxisOrder,
  isSupportedCrs,
  parseCrs,
  SUPPORTED_CRS,
  transformBbox,
  transformPoint,
} from './crs.js';
import { expectUserError } from '../test-support/errors.js';


const MM = 0.001; // projected tolerance: 1 mm
const DEG = 1e-8; // geographic tolerance: ~1 mm

function expectPoint(actual: readonly [number, number], expected: readonly [number, number], tolerance: number) {
  expect(Math.abs(actual[0] - expected[0]), `x ${actual[0]} vs ${expected[0]}`).toBeLessThanOrEqual(tolerance);
  expect(Math.abs(actual[1] - expected[1]), `y ${actual[1]} vs ${expected[1]}`).toBeLessThanOrEqual(tolerance);
}

// Every reference value below was computed with GDAL 3.6 / PROJ, e.g.
//   echo "574650 6373900" | gdaltransform -s_srs EPSG:2154 -t_srs EPSG:3945
// and pasted here; the code under test uses proj4js, an independent implementation.
const NEAR_CAHORS = [574_650, 6_373_900] as const;
const L93_ORIGIN = [700_000, 6_600_000] as const;

describe('transformPoint', () => {
  it('maps the Lambert-93 false origin to 3°E 46.5°N', () => {
    expectPoint(transformPoint('EPSG:2154', 'EPSG:4326', L93_ORIGIN), [3, 46.5], DEG);
    expectPoint(transformPoint('EPSG:4326', 'EPSG:2154', [3, 46.5]), L93_ORIGIN, MM);
  });

  it('puts Cahors at about 1.44°E 44.45°N', () => {
    const [lon, lat] = transformPoint('EPSG:2154', 'EPSG:4326', NEAR_CAHORS);
    expect(lon).toBeCloseTo(1.44, 1);
    expect(lat).toBeCloseTo(44.45, 2);
    expectPoint([lon, lat], [1.42453271240957, 44.4528964848774], DEG);
  });

  it('transforms Paris between 4326 and 2154', () => {
    expectPoint(transformPoint('EPSG:4326', 'EPSG:2154', [2.3522, 48.8566]), [652_469.022709136, 6_862_035.25942008], MM);
    expectPoint(transformPoint('EPSG:2154', 'EPSG:4326', [652_469.022709136, 6_862_035.25942008]), [2.3522, 48.8566], DEG);
  });

  it('transforms Lambert-93 to CC45 (the Lot) and back within 1 mm of GDAL', () => {
    const pairs: [l93: readonly [number, number], cc45: readonly [number, number]][] = [
      [NEAR_CAHORS, [1_574_615.83489185, 4_140_425.62246313]],
      [L93_ORIGIN, [1_700_000, 4_366_724.46176621]],
      [[575_000, 6_374_000], [1_574_965.87839052, 4_140_525.82705113]],
      [[600_000, 6_400_000], [1_599_962.07445677, 4_166_545.66073109]],
      [[540_000, 6_350_000], [1_539_972.04018307, 4_116_500.37947938]],
      [[574_714.54978513, 6_433_451.1081059], [1_574_650, 4_200_000]],
    ];
    for (const [l93, cc45] of pairs) {
      expectPoint(transformPoint('EPSG:2154', 'EPSG:3945', l93), cc45, MM);
      expectPoint(transformPoint('EPSG:3945', 'EPSG:2154', cc45), l93, MM);
    }
    // The cathedral from WGS 84 straight to CC45.
    expectPoint(transformPoint('EPSG:4326', 'EPSG:3945', [1.44139, 44.4475]), [1_575_945.72829583, 4_139_800.14769748], MM);
  });

  it('defines all nine CC zones with the EPSG parameters', () => {
    const expected: Record<string, [readonly [number, number], readonly [number, number]]> = {
      'EPSG:3942': [[1_700_000, 1_700_506.59339062], [1_574_504.76266992, 1_473_724.79609566]],
      'EPSG:3943': [[1_700_000, 2_589_155.49603634], [1_574_580.57733596, 2_362_606.40366073]],
      'EPSG:3944': [[1_700_000, 3_477_906.62845489], [1_574_617.38515012, 3_251_518.1109095]],
      'EPSG:3945': [[1_700_000, 4_366_724.46176621], [1_574_615.83489185, 4_140_425.62246313]],
      'EPSG:3946': [[1_700_000, 5_255_574.05212243], [1_574_576.57395514, 5_029_295.221093]],
      'EPSG:3947': [[1_700_000, 6_144_421.05640563], [1_574_500.25091255, 5_918_093.78805766]],
      'EPSG:3948': [[1_700_000, 7_033_231.75153991], [1_574_387.51819814, 6_806_788.82726231]],
      'EPSG:3949': [[1_700_000, 7_921_973.05773341], [1_574_239.0349186, 7_695_348.49357308]],
      'EPSG:3950': [[1_700_000, 8_810_612.56599677], [1_574_055.46980205, 8_583_741.62565007]],
    };
    for (const [code, [origin, cahors]] of Object.entries(expected)) {
      expectPoint(transformPoint('EPSG:2154', code, L93_ORIGIN), origin, MM);
      expectPoint(transformPoint('EPSG:2154', code, NEAR_CAHORS), cahors, MM);
    }
    // Lyon (CC46 deliveries).
    expectPoint(transformPoint('EPSG:4326', 'EPSG:3946', [4.8357, 45.764]), [1_842_779.10919176, 5_175_416.42830831], MM);
  });

  it('transforms to Web Mercator', () => {
    expectPoint(transformPoint('EPSG:2154', 'EPSG:3857', NEAR_CAHORS), [158_578.256163794, 5_535_798.56081267], MM);
    expectPoint(transformPoint('EPSG:2154', 'EPSG:3857', L93_ORIGIN), [333_958.472379821, 5_860_839.8299478], MM);
    expectPoint(transformPoint('EPSG:4326', 'EPSG:3857', [2.3522, 48.8566]), [261_845.706243938, 6_250_564.34954313], MM);
    expectPoint(transformPoint('OGC:CRS84', 'EPSG:3857', [2.3522, 48.8566]), [261_845.706243938, 6_250_564.34954313], MM);
  });

  it('accepts any CRS spelling parseCrs accepts', () => {
    expectPoint(transformPoint('urn:ogc:def:crs:EPSG::2154', 'http://www.opengis.net/def/crs/EPSG/0/4326', L93_ORIGIN), [3, 46.5], DEG);
  });

  it('treats CRS84 and EPSG:4326 as the same [lon, lat] numbers', () => {
    expect(transformPoint('EPSG:4326', 'OGC:CRS84', [1.5, 44.5])).toEqual([1.5, 44.5]);
    expect(transformPoint('EPSG:2154', 'EPSG:2154', [1, 2])).toEqual([1, 2]);
  });

  it('refuses points without an image and non-numbers', () => {
    expectUserError(() => transformPoint('EPSG:4326', 'EPSG:3857', [0, 90]), 'outside-crs-domain', 'cannot be expressed in EPSG:3857');
    expectUserError(() => transformPoint('EPSG:2154', 'EPSG:4326', [Number.NaN, 1]), 'invalid-coordinates');
    expectUserError(() => transformPoint('EPSG:27572', 'EPSG:4326', [0, 0]), 'unsupported-crs');
  });
});

describe('transformBbox', () => {
  it('transforms the Cahors dalle to CC45', () => {
    // Corners from gdaltransform; a 1 km box barely curves, so the result is their envelope.
    const b = transformBbox('EPSG:2154', 'EPSG:3945', [575_000, 6_373_000, 576_000, 6_374_000]);
    expect(b[0]).toBeCloseTo(1_574_965.87839052, 3);
    expect(b[1]).toBeCloseTo(4_139_525.55955264, 3);
    expect(b[2]).toBeCloseTo(1_575_966.65074877, 3);
    expect(b[3]).toBeCloseTo(4_140_526.33191078, 3);
  });

  it('follows curved edges (densified), unlike a corners-only transform', () => {
    // 7°W…13°E × 41°N…51°N: the 41°N parallel is an arc whose lowest point is on the central meridian
    // 3°E (y 5 988 565.69), 53 km below the corners (y 6 041 958.35). 21 extra points per edge put a
    // sample exactly at 3°E.
    const box = [-7, 41, 13, 51] as const;
    const b = transformBbox('EPSG:4326', 'EPSG:2154', box);
    expectPoint([b[0], b[1]], [-142_075.925813791, 5_988_565.69094403], MM);
    expectPoint([b[2], b[3]], [1_542_075.92581379, 7_144_952.66432845], MM);
    const cornersOnly = transformBbox('EPSG:4326', 'EPSG:2154', box, 0);
    expect(cornersOnly[1]).toBeCloseTo(6_041_958.34807751, 3);
  });

  it('clips geographic boxes to the Web Mercator square', () => {
    const b = transformBbox('OGC:CRS84', 'EPSG:3857', [-180, -90, 180, 90]);
    expect(b[0]).toBeCloseTo(-20_037_508.342789244, 3);
    expect(b[2]).toBeCloseTo(20_037_508.342789244, 3);
    expect(b[1]).toBeCloseTo(-20_037_508.342789244, 3);
    expect(b[3]).toBeCloseTo(20_037_508.342789244, 3);
  });

  it('validates its input', () => {
    expectUserError(() => transformBbox('EPSG:2154', 'EPSG:4326', [2, 0, 1, 1]), 'invalid-bbox');
    expectUserError(() => transformBbox('EPSG:2154', 'EPSG:4326', [0, 0, 1, 1], -1), 'invalid-argument');
  });
});

describe('parseCrs', () => {
  it.each([
    ['EPSG:2154', 'EPSG:2154'],
    ['epsg:2154', 'EPSG:2154'],
    ['2154', 'EPSG:2154'],
    [' EPSG:2154 ', 'EPSG:2154'],
    ['urn:ogc:def:crs:EPSG::2154', 'EPSG:2154'],
    ['urn:ogc:def:crs:EPSG:9.8.15:2154', 'EPSG:2154'],
    ['http://www.opengis.net/def/crs/EPSG/0/2154', 'EPSG:2154'],
    ['https://www.opengis.net/def/crs/EPSG/0/3945', 'EPSG:3945'],
    ['IGNF:LAMB93', 'EPSG:2154'],
    ['EPSG:3857', 'EPSG:3857'],
    ['EPSG:900913', 'EPSG:3857'],
    ['EPSG:102100', 'EPSG:3857'],
    ['EPSG:4326', 'EPSG:4326'],
    ['urn:ogc:def:crs:EPSG::4326', 'EPSG:4326'],
    ['CRS:84', 'OGC:CRS84'],
    ['OGC:CRS84', 'OGC:CRS84'],
    ['urn:ogc:def:crs:OGC:1.3:CRS84', 'OGC:CRS84'],
    ['http://www.opengis.net/def/crs/OGC/1.3/CRS84', 'OGC:CRS84'],
    ['EPSG:3942', 'EPSG:3942'],
    ['EPSG:3950', 'EPSG:3950'],
  ])('parses %j as %s', (text, code) => {
    expect(parseCrs(text)).toBe(code);
  });

  it('says whether a CRS was not understood or is not supported', () => {
    expectUserError(() => parseCrs('EPSG:27572'), 'unsupported-crs', 'unsupported CRS EPSG:27572: supported are EPSG:2154');
    expectUserError(() => parseCrs('EPSG:3941'), 'unsupported-crs', 'unsupported CRS EPSG:3941');
    expectUserError(() => parseCrs('Lambert 93'), 'unsupported-crs', "unrecognised CRS 'Lambert 93'");
    expectUserError(() => parseCrs(''), 'unsupported-crs', 'unrecognised CRS');
    expectUserError(() => parseCrs('urn:ogc:def:crs:OGC:1.3:CRS83'), 'unsupported-crs', 'unrecognised');
  });
});

describe('CRS metadata', () => {
  it('lists the supported codes', () => {
    expect(SUPPORTED_CRS).toEqual([
      'EPSG:2154',
      'EPSG:3857',
      'EPSG:4326',
      'OGC:CRS84',
      'EPSG:3942',
      'EPSG:3943',
      'EPSG:3944',
      'EPSG:3945',
      'EPSG:3946',
      'EPSG:3947',
      'EPSG:3948',
      'EPSG:3949',
      'EPSG:3950',
    ]);
    expect(isSupportedCrs('EPSG:3945')).toBe(true);
    expect(isSupportedCrs('3945')).toBe(false); // only normalised codes
    expect(crsInfo('EPSG:3945').name).toBe('RGF93 v1 / CC45');
    expect(crsInfo('EPSG:3945').proj4).toContain('+lat_0=45 +lon_0=3 +lat_1=44.25 +lat_2=45.75 +x_0=1700000 +y_0=4200000');
  });

  it('knows the axis order of each CRS', () => {
    expect(hasLatLonAxisOrder('EPSG:4326')).toBe(true);
    for (const code of SUPPORTED_CRS.filter((c) => c !== 'EPSG:4326')) expect(hasLatLonAxisOrder(code)).toBe(false);
  });

  it('writes URIs and URNs', () => {
    const cases: [CrsCode, string, string][] = [
      ['EPSG:2154', 'http://www.opengis.net/def/crs/EPSG/0/2154', 'urn:ogc:def:crs:EPSG::2154'],
      ['OGC:CRS84', 'http://www.opengis.net/def/crs/OGC/1.3/CRS84', 'urn:ogc:def:crs:OGC:1.3:CRS84'],
    ];
    for (const [code, uri, urn] of cases) {
      expect(crsUri(code)).toBe(uri);
      expect(crsUrn(code)).toBe(urn);
      expect(parseCrs(uri)).toBe(code);
      expect(parseCrs(urn)).toBe(code);
    }
  });
});
