import { describe, expect, it } from 'vitest';
import { crsDef, innerAreaOfUse, parseSrsName, pointTransform, transformBboxWith } from './srs-name.js';
import { parseXmllintLine, schemaForRoot } from './xsd.js';

describe('parseSrsName', () => {
  it.each([
    ['EPSG:2154', 'EPSG:2154', false],
    ['epsg:3946', 'EPSG:3946', false],
    ['urn:ogc:def:crs:EPSG::3946', 'EPSG:3946', false],
    ['urn:ogc:def:crs:EPSG:6.6:2154', 'EPSG:2154', false],
    ['urn:x-ogc:def:crs:EPSG:3945', 'EPSG:3945', false],
    ['http://www.opengis.net/def/crs/EPSG/0/3946', 'EPSG:3946', false],
    ['https://www.opengis.net/def/crs/EPSG/0/2154', 'EPSG:2154', false],
    ['http://www.opengis.net/gml/srs/epsg.xml#2154', 'EPSG:2154', false],
    ['IGNF:LAMB93', 'EPSG:2154', false],
    ['IGNF:CC45', 'EPSG:3945', false],
    ['EPSG:4326', 'EPSG:4326', false],
    ['urn:ogc:def:crs:EPSG::4326', 'EPSG:4326', true],
    ['http://www.opengis.net/def/crs/EPSG/0/4171', 'EPSG:4171', true],
  ])('%s → %s (lat/lon order: %s)', (srsName, code, latLon) => {
    const info = parseSrsName(srsName);
    expect(info.code).toBe(code);
    expect(info.latLon).toBe(latLon);
    expect(info.supported).toBe(true);
  });

  it('compound CRSs keep the horizontal part and note the vertical one', () => {
    expect(parseSrsName('EPSG:2154+5720')).toMatchObject({ code: 'EPSG:2154', vertical: 'EPSG:5720', supported: true });
    expect(parseSrsName('urn:ogc:def:crs,crs:EPSG::3945,crs:EPSG::5720')).toMatchObject({ code: 'EPSG:3945', vertical: 'EPSG:5720' });
  });

  it('unknown or unsupported', () => {
    expect(parseSrsName('EPSG:27572')).toMatchObject({ code: 'EPSG:27572', supported: false });
    expect(parseSrsName('urn:ogc:def:crs:EPSG::4275')).toMatchObject({ code: 'EPSG:4275', latLon: true, supported: false });
    expect(parseSrsName('Lambert 93')).toMatchObject({ code: null, supported: false });
    expect(parseSrsName('IGNF:XYZ')).toMatchObject({ code: 'IGNF:XYZ', supported: false });
  });
});

describe('pointTransform', () => {
  // Reference values from GDAL 3.6 / PROJ: `echo X Y | gdaltransform -s_srs EPSG:… -t_srs EPSG:…`.
  it('CC46 (a vertex of the Lyon sample) → WGS 84 and Lambert-93, as GDAL', () => {
    const [lon, lat] = pointTransform('EPSG:3946', 'EPSG:4326')(1848541.29, 5181794.06);
    expect(lon).toBeCloseTo(4.91172376028677, 8);
    expect(lat).toBeCloseTo(45.8201490866921, 8);
    const [x, y] = pointTransform('EPSG:3946', 'EPSG:2154')(1848541.29, 5181794.06);
    expect(x).toBeCloseTo(848422.983500778, 3);
    expect(y).toBeCloseTo(6526298.13368374, 3);
  });

  it('Lambert-93 → CC45 in Cahors as GDAL, round trip sub-millimetric', () => {
    const [x, y] = pointTransform('EPSG:2154', 'EPSG:3945')(575000, 6374000);
    expect(x).toBeCloseTo(1574965.87839052, 3);
    expect(y).toBeCloseTo(4140525.82705113, 3);
    const [x2, y2] = pointTransform('EPSG:3945', 'EPSG:2154')(x, y);
    expect(Math.abs(x2 - 575000)).toBeLessThan(1e-3);
    expect(Math.abs(y2 - 6374000)).toBeLessThan(1e-3);
  });

  it('bbox transform contains the transformed corners', () => {
    const b = transformBboxWith(pointTransform('EPSG:3946', 'EPSG:2154'), [1848000, 5181000, 1849000, 5182000]);
    expect(b[0]).toBeLessThan(b[2]);
    expect(b[1]).toBeLessThan(b[3]);
    expect(crsDef('EPSG:3946')?.name).toBe('RGF93 v1 / CC46');
  });
});

describe('xmllint output parsing', () => {
  const file = '/data/in.gml';
  it('stream and tree formats', () => {
    expect(
      parseXmllintLine(
        `${file}:45: Schemas validity error : Element '{http://cnig.gouv.fr/pcrs}thematique': [facet 'enumeration'] The value '12' is not an element of the set {'00'}.`,
        file,
      ),
    ).toEqual({ line: 45, element: 'thematique', kind: 'validity', message: "Element 'pcrs:thematique': [facet 'enumeration'] The value '12' is not an element of the set {'00'}." });
    expect(parseXmllintLine(`${file}:7: element idObjet: Schemas validity error : Element '{http://cnig.gouv.fr/pcrs}idObjet': This element is not expected.`, file)).toMatchObject({
      line: 7,
      element: 'idObjet',
    });
    expect(parseXmllintLine(`${file} fails to validate`, file)).toBeNull();
    expect(parseXmllintLine('Unimplemented block at ../../xmlschemas.c:28711', file)).toBeNull();
  });

  it('picks the INFO schema only for a root in the PCRS-INFO namespace', () => {
    expect(schemaForRoot('http://cnig.gouv.fr/pcrs')).toBe('CNIG_PCRS_v2.0.xsd');
    expect(schemaForRoot('http://cnig.gouv.fr/pcrs-information')).toBe('CNIG_PCRS-INFO_v2.0.xsd');
  });
});

describe('innerAreaOfUse', () => {
  it('is a box of projected coordinates whose points all lie inside the widened area of use', () => {
    for (const code of ['EPSG:2154', 'EPSG:3942', 'EPSG:3945', 'EPSG:3950', 'EPSG:3857']) {
      const def = crsDef(code);
      if (!def) continue;
      const inner = innerAreaOfUse(code, 0.05);
      expect(inner, code).not.toBeNull();
      const [x0, y0, x1, y1] = inner!;
      const toLonLat = pointTransform(code, 'EPSG:4326');
      const [w, s, e, n] = def.areaOfUse;
      // A 41 × 41 grid over the box, its edges included.
      for (let i = 0; i <= 40; i++) {
        for (let j = 0; j <= 40; j++) {
          const [lon, lat] = toLonLat(x0 + ((x1 - x0) * i) / 40, y0 + ((y1 - y0) * j) / 40);
          expect(lon >= w - 0.05 - 1e-9 && lon <= e + 0.05 + 1e-9 && lat >= s - 0.05 - 1e-9 && lat <= n + 0.05 + 1e-9, `${code} ${i},${j}: ${lon},${lat}`).toBe(true);
        }
      }
      // And it is most of the area: the Lot (Lambert-93 or CC45) lies inside it.
      if (code === 'EPSG:2154') expect(x0 < 539_000 && y0 < 6_346_000 && x1 > 637_000 && y1 > 6_439_000).toBe(true);
    }
    expect(innerAreaOfUse('EPSG:4326', 0.05)).toBeNull();
  });
});
