import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GmlReadError, readPcrsGml, type GmlReadOptions } from './gml-reader.js';
import type { GmlIssue, LineStringGeometry, MultiPolygonGeometry, PcrsFeature, PointGeometry, PolygonGeometry } from './pcrs-model.js';
import { PCRS_INFO_NS } from './pcrs-model.js';
import { arbre, limiteVoirie, pcrsDocument } from './synthetic.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

async function readFile(path: string, options: GmlReadOptions = {}) {
  const features: PcrsFeature[] = [];
  const issues: GmlIssue[] = [];
  for await (const f of readPcrsGml(path, { ...options, onIssue: (i) => issues.push(i) })) features.push(f);
  return { features, issues };
}

async function readDoc(doc: string | Buffer, options: GmlReadOptions = {}) {
  const features: PcrsFeature[] = [];
  const issues: GmlIssue[] = [];
  const bytes = typeof doc === 'string' ? Buffer.from(doc) : doc;
  for await (const f of readPcrsGml(Readable.from([bytes]), { ...options, onIssue: (i) => issues.push(i) })) features.push(f);
  return { features, issues };
}

async function readError(doc: string | Buffer): Promise<GmlReadError> {
  try {
    await readDoc(doc);
  } catch (e) {
    if (e instanceof GmlReadError) return e;
    throw e;
  }
  throw new Error('expected a GmlReadError');
}

function countByClass(features: PcrsFeature[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of features) out[f.class] = (out[f.class] ?? 0) + 1;
  return out;
}

/** 1-based line of the first occurrence of `needle` in `doc`. */
function lineOf(doc: string, needle: string): number {
  const i = doc.indexOf(needle);
  if (i < 0) throw new Error(`not found: ${needle}`);
  return doc.slice(0, i).split('\n').length;
}

/**
 * Feature counts per layer as read by GDAL 3.6.2, obtained once with
 * `ogrinfo -so -al src/vector/fixtures/<file>` ("Feature Count" of each layer).
 */
const GDAL_COUNTS: Record<string, Record<string, number>> = {
  '20200716.RIL_L260_C340_P0.gml': {
    HabillageLignesPCRS: 25,
    LimiteVoiriePCRS: 2,
    ArbrePCRS: 10,
    AffleurantPCRS: 10,
    AffleurantGeometriquePCRS: 10,
    AffleurantEnveloppePCRS: 5,
    AffleurantPointPCRS: 5,
    AffleurantSymbolePCRS: 5,
    EmpriseEchangePCRS: 1,
  },
  '20200716.RIL_L260_C341_P0.gml': {
    LimiteVoiriePCRS: 25,
    HabillageLignesPCRS: 25,
    ArbrePCRS: 5,
    AffleurantPCRS: 14,
    AffleurantGeometriquePCRS: 14,
    AffleurantEnveloppePCRS: 12,
    AffleurantPointPCRS: 2,
    AffleurantSymbolePCRS: 2,
    EmpriseEchangePCRS: 1,
  },
  '20200716.RIL_L262_C335_P0.gml': {
    ArbrePCRS: 4,
    HabillageLignesPCRS: 16,
    LimiteVoiriePCRS: 18,
    AffleurantPCRS: 26,
    AffleurantGeometriquePCRS: 26,
    AffleurantEnveloppePCRS: 18,
    AffleurantPointPCRS: 8,
    AffleurantSymbolePCRS: 8,
    EmpriseEchangePCRS: 1,
  },
  '20200716.RIL_L262_C336_P0.gml': {
    LimiteVoiriePCRS: 36,
    ArbrePCRS: 10,
    HabillageLignesPCRS: 20,
    HabillageEnveloppePCRS: 2,
    AffleurantPCRS: 28,
    AffleurantGeometriquePCRS: 28,
    AffleurantPointPCRS: 10,
    AffleurantSymbolePCRS: 10,
    AffleurantEnveloppePCRS: 18,
    EmpriseEchangePCRS: 1,
  },
  'PCRS-info.gml': { EmpriseDisponibilitePCRS: 1, InitiativePCRS: 1 },
};

describe('readPcrsGml on the real CNIG / Métropole de Lyon samples', () => {
  for (const [file, expected] of Object.entries(GDAL_COUNTS)) {
    it(`${file}: same feature counts per class as GDAL`, async () => {
      const { features, issues } = await readFile(fixture(file));
      expect(countByClass(features)).toEqual(expected);
      expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
    });
  }

  it('keeps Z, detects CC46 and reads every attribute (spot checks against the file)', async () => {
    const { features } = await readFile(fixture('20200716.RIL_L260_C340_P0.gml'));
    const geometric = features.filter((f) => f.geometry);
    expect(new Set(geometric.map((f) => f.sourceCrs))).toEqual(new Set(['EPSG:3946']));
    expect(geometric.every((f) => f.srsName === 'EPSG:3946')).toBe(true);

    // Line 42: first LimiteVoiriePCRS, an Arc followed by a LineStringSegment, 3D.
    const lv = features.find((f) => f.class === 'LimiteVoiriePCRS') as PcrsFeature;
    expect(lv.line).toBe(42);
    expect(lv.gmlId).toBe('gml_9db5a677-ee44-4c3a-ae2a-36adc4d40b01');
    expect(lv.idObjet).toBe('ido_7dd42495-1f3c-443a-b46a-e8ab9fc2d3d9');
    expect(lv.attributes).toEqual({
      dateLeve: '2020-01-02',
      idObjet: 'ido_7dd42495-1f3c-443a-b46a-e8ab9fc2d3d9',
      thematique: '03',
      qualiteCategorisation: '01',
      precisionPlanimetrique: '005',
      precisionAltimetrique: '005',
      producteur: 'Immergis',
    });
    expect(lv.dimension).toBe(3);
    expect(lv.curved).toBe(true);
    expect(lv.geometryProperty).toBe('geometrie');
    const line = (lv.geometry as LineStringGeometry).coordinates;
    expect(line[0]).toEqual([1848541.29192475, 5181794.05505463, 293.68]);
    // The arc's middle control point and the junction with the LineStringSegment are kept exactly …
    expect(line).toContainEqual([1848539.4636252, 5181793.86858647, 293.685]);
    expect(line).toContainEqual([1848537.69412147, 5181793.37229402, 293.69]);
    // … and the junction vertex is not duplicated.
    expect(line.filter((p) => p[0] === 1848537.69412147)).toHaveLength(1);
    expect(line[line.length - 1]).toEqual([1848491.24782168, 5181773.26661208, 294.02]);
    expect(line.every((p) => p.length === 3)).toBe(true);

    const tree = features.find((f) => f.gmlId === 'gml_958a1fde-92c1-4f87-9cc7-e7745afc70ad') as PcrsFeature;
    expect(tree.class).toBe('ArbrePCRS');
    expect(tree.geometry).toEqual({ type: 'Point', coordinates: [1848539.78001851, 5181791.12240996, 293.97] });
    expect(tree.attributes['reference']).toBe(''); // <reference/> in the file

    const aff = features.find((f) => f.gmlId === 'aff_719fea31-7134-4946-9017-22e08b969420') as PcrsFeature;
    expect(aff.geometry).toBeNull();
    expect(aff.attributes['gestionnaire']).toBe("Gestionnaire de l'affleurant");
    expect(aff.attributes['nature']).toBe('03');
    expect(aff.attributes['reseau']).toBe('00');
    expect(aff.attributes['representation']).toEqual({ href: 'geom.aff_719fea31-7134-4946-9017-22e08b969420' });

    const geo = features.find((f) => f.class === 'AffleurantGeometriquePCRS') as PcrsFeature;
    expect(geo.attributes['enveloppe']).toEqual([{ href: 'env.geom.aff_719fea31-7134-4946-9017-22e08b969420' }]);

    const symbol = features.find((f) => f.gmlId === 'symb.aff_d80c4174-ed8c-4b74-a9a0-4d903629aa36') as PcrsFeature;
    expect(symbol.attributes).toEqual({ reference: 'ECL01', angleRotation: 0, longueur_mm: 1, largeur_mm: 1 });
    expect((symbol.geometry as PointGeometry).coordinates).toEqual([1848495.96417191, 5181768.65949679, 294.22]);

    const emprise = features.find((f) => f.class === 'EmpriseEchangePCRS') as PcrsFeature;
    expect(emprise.attributes['fournisseur']).toBe('Métropole de Lyon');
    expect(emprise.attributes['type']).toBe('Carreau');
    expect(emprise.attributes['objet']).toHaveLength(22);
    expect(emprise.dimension).toBe(2);
    // MultiSurface > Surface > PolygonPatch
    expect(emprise.geometry?.type).toBe('MultiPolygon');
  });

  it('reads gml:Ring made of curveMembers (LineStrings and Arcs) as a closed ring', async () => {
    const { features } = await readFile(fixture('20200716.RIL_L262_C336_P0.gml'));
    const curved = features.filter((f) => f.class === 'AffleurantEnveloppePCRS' && f.curved);
    expect(curved.length).toBeGreaterThan(0);
    for (const f of curved) {
      const ring = (f.geometry as PolygonGeometry).coordinates[0] as number[][];
      expect(ring[0]).toEqual(ring[ring.length - 1]);
      expect(ring.length).toBeGreaterThanOrEqual(4);
    }
  });

  it('reads the PCRS-INFO sample (gml:coordinates, EPSG:4326 lon/lat, srsName missing on one feature)', async () => {
    const { features } = await readFile(fixture('PCRS-info.gml'));
    const [dispo, init] = features as [PcrsFeature, PcrsFeature];
    expect(dispo.class).toBe('EmpriseDisponibilitePCRS');
    expect(dispo.namespace).toBe(PCRS_INFO_NS);
    expect(dispo.sourceCrs).toBe('EPSG:4326');
    const ring = (dispo.geometry as MultiPolygonGeometry).coordinates[0]?.[0] as number[][];
    expect(ring).toHaveLength(17);
    expect(ring[0]).toEqual([7.74239881897481, 48.5862316105652]); // "EPSG:4326" short form: lon/lat as written
    expect(dispo.attributes['initiative']).toEqual({ href: 'INIT.1.1' });
    expect(init.class).toBe('InitiativePCRS');
    expect(init.attributes['gestionnaire']).toBe('Equipe PCRS');
    expect(init.srsName).toBeNull(); // no srsName anywhere for this one (root Envelope has none either)
    expect(init.sourceCrs).toBeNull();
    expect((init.geometry as MultiPolygonGeometry).coordinates[0]?.[0]).toHaveLength(24);
  });

  it('can fill propertyLines for the validator', async () => {
    const { features } = await readFile(fixture('20200716.RIL_L260_C340_P0.gml'), { propertyLines: true });
    const lv = features.find((f) => f.class === 'LimiteVoiriePCRS') as PcrsFeature;
    expect(lv.propertyLines).toMatchObject({ dateLeve: 43, idObjet: 44, thematique: 45, geometrie: 50 });
  });
});

describe('readPcrsGml coordinates', () => {
  const generic = (geometry: string, id = 'g1') =>
    `    <ObjetGeneriquePCRS gml:id="${id}"><idObjet>${id}</idObjet><thematique>00</thematique><qualiteCategorisation>01</qualiteCategorisation>` +
    `<precisionPlanimetrique>005</precisionPlanimetrique><producteur>p</producteur><geometrie>${geometry}</geometrie></ObjetGeneriquePCRS>`;
  const one = async (geometry: string, options: GmlReadOptions = {}) => {
    const r = await readDoc(pcrsDocument([generic(geometry)]), options);
    return { feature: r.features[0] as PcrsFeature, issues: r.issues };
  };

  it('gml:coordinates with newlines, spaces after separators and tabs', async () => {
    const { feature, issues } = await one(
      `<gml:LineString srsName="EPSG:2154"><gml:coordinates>\n  575000.1,6374000.2\n\t575001.5, 6374001.5\n575002,6374003.25   </gml:coordinates></gml:LineString>`,
    );
    expect(issues).toEqual([]);
    expect(feature.geometry).toEqual({
      type: 'LineString',
      coordinates: [
        [575000.1, 6374000.2],
        [575001.5, 6374001.5],
        [575002, 6374003.25],
      ],
    });
    expect(feature.dimension).toBe(2);
  });

  it('gml:coordinates with cs/ts/decimal attributes and 3D tuples', async () => {
    const { feature } = await one(
      `<gml:LineString srsName="EPSG:2154"><gml:coordinates decimal="," cs=";" ts="|">575000,5;6374000,25;120,5 |\n 575001;6374001;121</gml:coordinates></gml:LineString>`,
    );
    expect(feature.geometry).toEqual({
      type: 'LineString',
      coordinates: [
        [575000.5, 6374000.25, 120.5],
        [575001, 6374001, 121],
      ],
    });
    expect(feature.dimension).toBe(3);
  });

  it('posList 3D split over lines, srsDimension inherited from the MultiCurve', async () => {
    const { feature } = await one(
      `<gml:MultiCurve srsName="EPSG:2154" srsDimension="3"><gml:curveMember><gml:LineString><gml:posList>\n575000 6374000 120\n575001 6374001 121\n` +
        `575002 6374002 122\n575003 6374003 123</gml:posList></gml:LineString></gml:curveMember></gml:MultiCurve>`,
    );
    expect(feature.geometry).toEqual({
      type: 'MultiLineString',
      coordinates: [
        [
          [575000, 6374000, 120],
          [575001, 6374001, 121],
          [575002, 6374002, 122],
          [575003, 6374003, 123],
        ],
      ],
    });
  });

  it('posList without srsDimension: 2D by default (12 values = 6 points), 3D from count, from the file, or guessed when not even', async () => {
    const twelve = '575000 6374000 120 575001 6374001 121 575002 6374002 122 575003 6374003 123';
    expect((await one(`<gml:LineString srsName="EPSG:2154"><gml:posList>${twelve}</gml:posList></gml:LineString>`)).feature.geometry).toMatchObject({
      coordinates: { length: 6 },
    });
    expect(
      (await one(`<gml:LineString srsName="EPSG:2154"><gml:posList count="4">${twelve}</gml:posList></gml:LineString>`)).feature.geometry,
    ).toMatchObject({ coordinates: { length: 4 } });
    const nine = '575000 6374000 120 575001 6374001 121 575002 6374002 122';
    const guessed = await one(`<gml:LineString srsName="EPSG:2154"><gml:posList>${nine}</gml:posList></gml:LineString>`);
    expect(guessed.feature.geometry).toMatchObject({ coordinates: { length: 3 } });
    expect(guessed.issues.map((i) => i.rule)).toEqual(['srs-dimension']);
    expect(guessed.issues[0]?.severity).toBe('warning');
    // The file declares 3D somewhere first: undeclared posLists follow it.
    const doc = pcrsDocument([
      arbre({ gmlId: 'a1', pos: '575000 6374000 120' }),
      generic(`<gml:LineString srsName="EPSG:2154"><gml:posList>${twelve}</gml:posList></gml:LineString>`),
    ]);
    const { features } = await readDoc(doc);
    expect(features[1]?.geometry).toMatchObject({ coordinates: { length: 4 } });
  });

  it('gml:pos, Point, Polygon with interior, Surface with two patches, MultiPoint, MultiGeometry', async () => {
    const ring = (x: number, s: number) => `${x} 0 ${x + s} 0 ${x + s} ${s} ${x} ${s} ${x} 0`;
    const { feature: poly } = await one(
      `<gml:Polygon srsName="EPSG:2154"><gml:exterior><gml:LinearRing><gml:posList>${ring(0, 10)}</gml:posList></gml:LinearRing></gml:exterior>` +
        `<gml:interior><gml:LinearRing><gml:posList>${ring(2, 2)}</gml:posList></gml:LinearRing></gml:interior></gml:Polygon>`,
    );
    expect((poly.geometry as PolygonGeometry).coordinates).toHaveLength(2);
    const { feature: surface } = await one(
      `<gml:Surface srsName="EPSG:2154"><gml:patches><gml:PolygonPatch><gml:exterior><gml:LinearRing><gml:posList>${ring(0, 1)}</gml:posList></gml:LinearRing></gml:exterior></gml:PolygonPatch>` +
        `<gml:PolygonPatch><gml:exterior><gml:LinearRing><gml:posList>${ring(5, 1)}</gml:posList></gml:LinearRing></gml:exterior></gml:PolygonPatch></gml:patches></gml:Surface>`,
    );
    expect(surface.geometry?.type).toBe('MultiPolygon');
    const { feature: mp } = await one(
      `<gml:MultiPoint srsName="EPSG:2154"><gml:pointMember><gml:Point><gml:pos>1 2 3</gml:pos></gml:Point></gml:pointMember>` +
        `<gml:pointMembers><gml:Point><gml:pos>4 5 6</gml:pos></gml:Point><gml:Point><gml:pos>7 8 9</gml:pos></gml:Point></gml:pointMembers></gml:MultiPoint>`,
    );
    expect(mp.geometry).toEqual({
      type: 'MultiPoint',
      coordinates: [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ],
    });
    const { feature: coll } = await one(
      `<gml:MultiGeometry srsName="EPSG:2154"><gml:geometryMember><gml:Point><gml:pos>1 2</gml:pos></gml:Point></gml:geometryMember>` +
        `<gml:geometryMember><gml:LineString><gml:posList>0 0 1 1</gml:posList></gml:LineString></gml:geometryMember></gml:MultiGeometry>`,
    );
    expect(coll.geometry).toEqual({
      type: 'GeometryCollection',
      geometries: [
        { type: 'Point', coordinates: [1, 2] },
        {
          type: 'LineString',
          coordinates: [
            [0, 0],
            [1, 1],
          ],
        },
      ],
    });
  });

  it('Curve with several LineStringSegments: segments concatenated, shared vertex once', async () => {
    const { feature } = await one(
      `<gml:Curve srsName="EPSG:2154" srsDimension="3"><gml:segments><gml:LineStringSegment><gml:posList>0 0 1 1 0 1</gml:posList></gml:LineStringSegment>` +
        `<gml:LineStringSegment><gml:posList>1 0 1 2 0 2</gml:posList></gml:LineStringSegment></gml:segments></gml:Curve>`,
    );
    expect(feature.geometry).toEqual({
      type: 'LineString',
      coordinates: [
        [0, 0, 1],
        [1, 0, 1],
        [2, 0, 2],
      ],
    });
  });

  it('linearises an Arc within the tolerance, through its three control points', async () => {
    const { feature } = await one(
      `<gml:Curve srsName="EPSG:2154"><gml:segments><gml:Arc><gml:posList>10 0 0 10 -10 0</gml:posList></gml:Arc></gml:segments></gml:Curve>`,
    );
    const pts = (feature.geometry as LineStringGeometry).coordinates;
    expect(feature.curved).toBe(true);
    expect(pts[0]).toEqual([10, 0]);
    expect(pts).toContainEqual([0, 10]);
    expect(pts[pts.length - 1]).toEqual([-10, 0]);
    // Half circle of radius 10: every vertex on the circle, on the upper side, chord error ≤ 5 mm.
    for (const [x, y] of pts as [number, number][]) {
      expect(Math.hypot(x, y)).toBeCloseTo(10, 9);
      expect(y).toBeGreaterThanOrEqual(-1e-9);
    }
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1] as [number, number];
      const [x1, y1] = pts[i] as [number, number];
      const mid = Math.hypot((x0 + x1) / 2, (y0 + y1) / 2);
      expect(10 - mid).toBeLessThanOrEqual(0.005 + 1e-9);
    }
  });

  it('swaps lat/lon for URN and http forms of geographic CRSs, not for EPSG:4326', async () => {
    const urn = await one(`<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>44.45 1.44</gml:pos></gml:Point>`);
    expect(urn.feature.geometry).toEqual({ type: 'Point', coordinates: [1.44, 44.45] });
    expect(urn.feature.sourceCrs).toBe('EPSG:4326');
    const http = await one(`<gml:Point srsName="http://www.opengis.net/def/crs/EPSG/0/4326"><gml:pos>44.45 1.44</gml:pos></gml:Point>`);
    expect(http.feature.geometry).toEqual({ type: 'Point', coordinates: [1.44, 44.45] });
    const short = await one(`<gml:Point srsName="EPSG:4326"><gml:pos>1.44 44.45</gml:pos></gml:Point>`);
    expect(short.feature.geometry).toEqual({ type: 'Point', coordinates: [1.44, 44.45] });
    const projected = await one(`<gml:Point srsName="urn:ogc:def:crs:EPSG::3945"><gml:pos>1575000 4273000</gml:pos></gml:Point>`);
    expect(projected.feature.geometry).toEqual({ type: 'Point', coordinates: [1575000, 4273000] });
    expect(projected.feature.sourceCrs).toBe('EPSG:3945');
  });

  it('srsName inherited from the feature boundedBy, then the root boundedBy, then the option', async () => {
    const feature =
      `    <ArbrePCRS gml:id="a"><gml:boundedBy><gml:Envelope srsName="EPSG:3945"><gml:lowerCorner>0 0</gml:lowerCorner><gml:upperCorner>1 1</gml:upperCorner></gml:Envelope></gml:boundedBy>` +
      `<idObjet>a</idObjet><geometrie><gml:Point><gml:pos>1575000 4273000</gml:pos></gml:Point></geometrie></ArbrePCRS>`;
    const noSrs = `    <ArbrePCRS gml:id="b"><idObjet>b</idObjet><geometrie><gml:Point><gml:pos>575000 6374000</gml:pos></gml:Point></geometrie></ArbrePCRS>`;
    const withRoot = await readDoc(pcrsDocument([feature, noSrs], { boundedBySrsName: 'EPSG:2154' }));
    expect(withRoot.features.map((f) => f.sourceCrs)).toEqual(['EPSG:3945', 'EPSG:2154']);
    const withOption = await readDoc(pcrsDocument([noSrs]), { defaultSrsName: 'EPSG:2154' });
    expect(withOption.features[0]?.srsName).toBe('EPSG:2154');
    const none = await readDoc(pcrsDocument([noSrs]));
    expect(none.features[0]?.srsName).toBeNull();
  });
});

describe('readPcrsGml errors inside features: reported with line and id, reading goes on', () => {
  const good = limiteVoirie({ gmlId: 'ok1', posList: '575000 6374000 120 575010 6374000 121' });
  const cases: [string, string, string][] = [
    ['odd coordinate count', '575000 6374000 120 575010 6374000', 'coordinate-count'],
    ['text in coordinates', '575000 6374000 120 575010 abc 121', 'coordinate-value'],
    ['Infinity', '575000 6374000 120 575010 Infinity 121', 'coordinate-value'],
  ];
  for (const [name, posList, rule] of cases) {
    it(name, async () => {
      const bad = limiteVoirie({ gmlId: 'bad1', idObjet: 'OBJ-BAD', posList });
      const doc = pcrsDocument([good, bad, good.replace(/ok1/g, 'ok2')]);
      const { features, issues } = await readDoc(doc);
      expect(features.map((f) => f.gmlId)).toEqual(['ok1', 'bad1', 'ok2']);
      expect(features[1]?.geometry).toBeNull();
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ severity: 'error', rule, line: lineOf(doc, `<gml:posList>${posList}</gml:posList>`), idObjet: 'OBJ-BAD', gmlId: 'bad1', class: 'LimiteVoiriePCRS' });
      expect(features[1]?.issues).toEqual(issues);
    });
  }

  it('unknown geometry element', async () => {
    const bad = limiteVoirie({ gmlId: 'bad1', idObjet: 'OBJ-BAD', posList: '0 0 0 1 1 1' }).replace(/gml:Curve/g, 'gml:Spline');
    const doc = pcrsDocument([bad, good]);
    const { features, issues } = await readDoc(doc);
    expect(features).toHaveLength(2);
    expect(issues[0]).toMatchObject({ rule: 'geometry-unknown', line: lineOf(doc, '<gml:Spline'), idObjet: 'OBJ-BAD' });
  });

  it('non-numeric value of a numeric property', async () => {
    const doc = pcrsDocument([arbre({ gmlId: 'a1', pos: '1 2 3' }).replace('<reference>Platanus</reference>', '<reference>x</reference>')]);
    expect((await readDoc(doc)).issues).toEqual([]);
    const sym = `    <AffleurantSymbolePCRS gml:id="s1"><geometrie><gml:Point srsName="EPSG:2154"><gml:pos>1 2</gml:pos></gml:Point></geometrie><reference>R</reference><angleRotation>north</angleRotation><longueur_mm>2.5</longueur_mm><largeur_mm>1e1</largeur_mm></AffleurantSymbolePCRS>`;
    const d2 = pcrsDocument([sym]);
    const { features, issues } = await readDoc(d2);
    expect(features[0]?.attributes).toEqual({ reference: 'R', angleRotation: 'north', longueur_mm: 2.5, largeur_mm: 10 });
    expect(issues).toMatchObject([{ rule: 'attribute-value', line: lineOf(d2, '<AffleurantSymbolePCRS') }]);
  });
});

describe('readPcrsGml XML safety and malformed files', () => {
  it('not XML', async () => {
    const e = await readError('PK\u0003\u0004 this is a zip, not GML');
    expect(e.rule).toBe('not-xml');
    expect(e.message).toMatch(/not an XML file/);
    expect((await readError('')).rule).toBe('not-xml');
    const mismatched = await readError('<html><body>oops</html>');
    expect(mismatched.rule).toBe('xml-malformed');
    expect(mismatched.message).toMatch(/^malformed XML: unexpected end tag <\/html>: <body> is open/); // not "truncated"
  });

  it('truncated XML: features before the cut are read, then a clear error with the last line', async () => {
    const doc = pcrsDocument([arbre({ gmlId: 'a1', pos: '1 2 3' }), arbre({ gmlId: 'a2', pos: '1 2 3' })]);
    const cut = doc.slice(0, doc.indexOf('a2') + 40);
    const features: PcrsFeature[] = [];
    let error: unknown;
    try {
      for await (const f of readPcrsGml(Readable.from([Buffer.from(cut)]))) features.push(f);
    } catch (e) {
      error = e;
    }
    expect(features.map((f) => f.gmlId)).toEqual(['a1']);
    expect(error).toBeInstanceOf(GmlReadError);
    expect((error as GmlReadError).rule).toBe('xml-malformed');
    expect((error as GmlReadError).message).toMatch(/truncated/);
    expect((error as GmlReadError).line).toBe(cut.split('\n').length);
  });

  it('billion laughs DOCTYPE: rejected at its line, nothing expanded', async () => {
    const lol = [
      '<!DOCTYPE lolz [',
      ' <!ENTITY lol "lol">',
      ...[2, 3, 4, 5, 6, 7, 8, 9].map((n) => ` <!ENTITY lol${n} "${`&lol${n === 2 ? '' : n - 1};`.repeat(10)}">`),
      ']>\n',
    ].join('\n');
    const doc = pcrsDocument([`    <ArbrePCRS gml:id="a"><idObjet>&lol9;</idObjet></ArbrePCRS>`], { prolog: lol });
    const started = Date.now();
    const e = await readError(doc);
    expect(e.rule).toBe('xml-doctype');
    expect(e.line).toBe(2);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('external entity (XXE): rejected, the entity is never read', async () => {
    const doc = pcrsDocument([`    <ArbrePCRS gml:id="a"><idObjet>&xxe;</idObjet></ArbrePCRS>`], {
      prolog: '<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n',
    });
    const e = await readError(doc);
    expect(e.rule).toBe('xml-doctype');
    expect(e.message).not.toMatch(/root:/);
  });

  it('an entity reference without DOCTYPE is malformed XML, never resolved', async () => {
    const e = await readError(pcrsDocument([`    <ArbrePCRS gml:id="a"><idObjet>&xxe;</idObjet></ArbrePCRS>`]));
    expect(e.rule).toBe('xml-malformed');
    expect(e.message).toMatch(/undefined entity/);
  });

  it('decodes ISO-8859-1 files and a UTF-8 BOM', async () => {
    const doc = pcrsDocument([arbre({ gmlId: 'a1', pos: '1 2 3', producteur: 'Géomètre Cahors' })]).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"');
    const latin1 = await readDoc(Buffer.from(doc, 'latin1'));
    expect(latin1.features[0]?.attributes['producteur']).toBe('Géomètre Cahors');
    const bom = await readDoc(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(pcrsDocument([arbre({ gmlId: 'a1', pos: '1 2 3' })]))]));
    expect(bom.features).toHaveLength(1);
    // Latin-1 bytes in a file declared UTF-8: reported, not fatal.
    const wrong = await readDoc(Buffer.from(pcrsDocument([arbre({ gmlId: 'a1', pos: '1 2 3', producteur: 'Géomètre' })]), 'latin1'));
    expect(wrong.features).toHaveLength(1);
    expect(wrong.issues.map((i) => i.rule)).toEqual(['xml-encoding']);
  });
});

describe('readPcrsGml structure', () => {
  it('inline nested features are emitted as features of their own and referenced from the parent', async () => {
    const doc = pcrsDocument([
      `    <AffleurantPCRS gml:id="aff1"><idObjet>A1</idObjet><thematique>10</thematique><qualiteCategorisation>01</qualiteCategorisation>` +
        `<precisionPlanimetrique>005</precisionPlanimetrique><producteur>p</producteur>\n` +
        `      <representation>\n        <AffleurantGeometriquePCRS gml:id="geo1"><point><AffleurantPointPCRS gml:id="pt1"><geometrie><gml:Point srsName="EPSG:2154"><gml:pos>1 2 3</gml:pos></gml:Point></geometrie></AffleurantPointPCRS></point></AffleurantGeometriquePCRS>\n` +
        `      </representation>\n    </AffleurantPCRS>`,
    ]);
    const { features, issues } = await readDoc(doc);
    expect(issues).toEqual([]);
    expect(features.map((f) => [f.class, f.gmlId, f.parentGmlId])).toEqual([
      ['AffleurantPointPCRS', 'pt1', 'geo1'],
      ['AffleurantGeometriquePCRS', 'geo1', 'aff1'],
      ['AffleurantPCRS', 'aff1', undefined],
    ]);
    expect(features[1]?.attributes['point']).toEqual([{ href: '#pt1' }]);
    expect(features[2]?.attributes['representation']).toEqual({ href: '#geo1' });
    expect(features[0]?.line).toBe(lineOf(doc, '<AffleurantPointPCRS'));
  });

  it('keeps unknown and nested properties, xsi:nil, XML attributes', async () => {
    const doc = pcrsDocument([
      `    <ArbrePCRS gml:id="a1"><idObjet>a1</idObjet><gml:name>Platane</gml:name><hauteur uom="m">12.5</hauteur><precision><planimetrique>005</planimetrique><altimetrique>010</altimetrique></precision>` +
        `<note xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/><tag>a</tag><tag>b</tag></ArbrePCRS>`,
    ]);
    const { features } = await readDoc(doc);
    expect(features[0]?.attributes).toEqual({
      idObjet: 'a1',
      'gml:name': 'Platane',
      hauteur: { '#text': '12.5', '@uom': 'm' },
      precision: { planimetrique: '005', altimetrique: '010' },
      note: null,
      tag: ['a', 'b'],
    });
  });

  it('stops reading the file when the consumer stops', async () => {
    const doc = pcrsDocument(Array.from({ length: 50 }, (_, i) => arbre({ gmlId: `a${i}`, pos: '1 2 3' })));
    let n = 0;
    for await (const _f of readPcrsGml(Readable.from([Buffer.from(doc)]))) {
      if (++n === 3) break;
    }
    expect(n).toBe(3);
  });

  it('a missing file is a UserError', async () => {
    await expect(readFile('/nonexistent/file.gml')).rejects.toMatchObject({ code: 'file-unreadable' });
  });
});
