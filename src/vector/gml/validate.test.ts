import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { pointTransform } from './srs-name.js';
import { arbre, limiteVoirie, pcrsDocument, pilePont } from './synthetic.js';
import { formatReportJson, formatReportText, validateGmlFile, type Finding, type ValidateOptions, type ValidationReport } from './validate.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pcrs-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Lot (46) in Lambert-93, roughly. */
const LOT: [number, number, number, number] = [530000, 6330000, 655000, 6445000];
/** Métropole de Lyon in Lambert-93, roughly (the samples' area). */
const LYON: [number, number, number, number] = [820000, 6500000, 870000, 6540000];

let n = 0;
async function validateText(doc: string | Buffer, options: ValidateOptions = {}): Promise<ValidationReport> {
  const file = join(dir, `case-${n++}.gml`);
  writeFileSync(file, doc);
  return validateGmlFile(file, { territoryBbox: LOT, ...options });
}

/** 1-based line of the first `needle` at or after the first `anchor`. */
function lineOf(doc: string, needle: string, anchor?: string): number {
  const from = anchor ? doc.indexOf(anchor) : 0;
  if (from < 0) throw new Error(`anchor not found: ${anchor}`);
  const i = doc.indexOf(needle, from);
  if (i < 0) throw new Error(`not found: ${needle}`);
  return doc.slice(0, i).split('\n').length;
}

const rules = (r: ValidationReport) => Object.keys(r.summary.byRule).sort();
const findings = (r: ValidationReport, rule: string): Finding[] => r.findings.filter((f) => f.rule === rule);

// Cahors, Lambert-93, 3D.
const P0 = '575000.00 6374000.00 130.1';
const P1 = '575012.50 6374003.20 130.4';
const P2 = '575020.00 6374010.00 130.9';
const good = (id: string) => limiteVoirie({ gmlId: id, posList: `${P0} ${P1} ${P2}` });

describe('validateGmlFile on the real samples', () => {
  for (const file of ['20200716.RIL_L260_C340_P0.gml', '20200716.RIL_L260_C341_P0.gml', '20200716.RIL_L262_C335_P0.gml', '20200716.RIL_L262_C336_P0.gml']) {
    it(`${file}: XSD-valid, no CNIG error; only the known quirks as warnings`, async () => {
      const r = await validateGmlFile(fixture(file), { territoryBbox: LYON });
      expect(r.xsd).toMatchObject({ ran: true, schema: 'CNIG_PCRS_v2.0.xsd', valid: true, exitCode: 0 });
      expect(r.valid).toBe(true);
      expect(r.summary.errors).toBe(0);
      expect(r.crs).toEqual(['EPSG:3946']);
      expect(r.root).toEqual({ name: 'PlanCorpsRueSimplifie', namespace: 'http://cnig.gouv.fr/pcrs', version: '2.0', encoding: 'utf-8' });
      // ArbrePCRS <reference/> is empty in every tile; xlink:href are bare ids.
      expect(rules(r)).toEqual(['empty-attribute', 'xlink-form']);
      expect(r.summary.byRule['empty-attribute']?.count).toBe(r.featuresByClass['ArbrePCRS']);
    });
  }

  it('reports every feature of a Lyon tile as outside the Lot', async () => {
    const r = await validateGmlFile(fixture('20200716.RIL_L260_C340_P0.gml'), { territoryBbox: LOT, territoryName: 'Lot (46)', maxFindingsPerRule: 3 });
    const geometric = r.featureCount - (r.featuresByClass['AffleurantPCRS'] ?? 0) - (r.featuresByClass['AffleurantGeometriquePCRS'] ?? 0);
    expect(r.summary.byRule['outside-territory']).toEqual({ severity: 'error', count: geometric });
    expect(findings(r, 'outside-territory')).toHaveLength(3);
    expect(r.truncatedRules).toContain('outside-territory');
    expect(findings(r, 'outside-territory')[0]?.message).toMatch(/outside the territory Lot \(46\)/);
  });

  it('PCRS-info.gml: the INFO features, and the quirks of the CNIG example', async () => {
    const r = await validateGmlFile(fixture('PCRS-info.gml'), { territoryBbox: [900000, 6700000, 1100000, 6900000] });
    expect(r.xsd.valid).toBe(true);
    expect(r.featuresByClass).toEqual({ EmpriseDisponibilitePCRS: 1, InitiativePCRS: 1 });
    expect(r.crs).toEqual(['EPSG:4326']);
    // InitiativePCRS has no srsName at all; the initiative reference 'INIT.1.1' matches no gml:id ('INIT.1').
    expect(findings(r, 'crs-missing')).toMatchObject([{ line: 30, class: 'InitiativePCRS', gmlId: 'INIT.1' }]);
    expect(findings(r, 'xlink-unresolved')).toMatchObject([{ line: 10, class: 'EmpriseDisponibilitePCRS', severity: 'warning' }]);
    expect(rules(r)).toEqual(['crs-missing', 'xlink-form', 'xlink-unresolved']);
  });
});

describe('validateGmlFile: each defect gives its rule and line', () => {
  it('a clean synthetic file is valid', async () => {
    const r = await validateText(pcrsDocument([good('a'), arbre({ gmlId: 'b', pos: P0 }), pilePont({ gmlId: 'c', ring: `${P0} ${P1} ${P2} ${P0}` })]));
    expect(r.findings).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.xsd.valid).toBe(true);
    expect(r.featureCount).toBe(3);
  });

  it('not XML', async () => {
    const r = await validateText('Ceci n’est pas un fichier GML.\n');
    expect(r.findings).toMatchObject([{ rule: 'not-xml', line: 1, severity: 'error' }]);
    expect(r.xsd.ran).toBe(false);
    expect(r.valid).toBe(false);
  });

  it('truncated XML', async () => {
    const doc = pcrsDocument([good('a'), good('b')]);
    const cut = doc.slice(0, doc.indexOf('ido_b') + 10);
    const r = await validateText(cut);
    expect(findings(r, 'xml-malformed')).toMatchObject([{ line: cut.split('\n').length }]);
    expect(r.featureCount).toBe(1);
  });

  it('billion laughs: rejected as a finding, never expanded, xmllint not run', async () => {
    const prolog =
      '<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
      [2, 3, 4, 5, 6, 7, 8, 9].map((k) => ` <!ENTITY lol${k} "${`&lol${k === 2 ? '' : k - 1};`.repeat(10)}">\n`).join('') +
      ']>\n';
    const doc = pcrsDocument([`    <ArbrePCRS gml:id="a"><idObjet>&lol9;</idObjet></ArbrePCRS>`], { prolog });
    const r = await validateText(doc);
    expect(r.findings).toMatchObject([{ rule: 'xml-doctype', line: 2 }]);
    expect(r.xsd).toMatchObject({ ran: false });
    expect(formatReportJson(r)).not.toMatch(/lollol/);
  });

  it('external entity: rejected, file content never appears in the output', async () => {
    const doc = pcrsDocument([`    <ArbrePCRS gml:id="a"><idObjet>&xxe;</idObjet><producteur>&xxe;</producteur></ArbrePCRS>`], {
      prolog: '<!DOCTYPE PlanCorpsRueSimplifie [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n',
    });
    const r = await validateText(doc);
    expect(r.findings).toMatchObject([{ rule: 'xml-doctype', line: 2 }]);
    const outputs = formatReportJson(r) + formatReportText(r);
    expect(outputs).not.toMatch(/root:|\/bin\/|nologin/);
  });

  it('wrong namespace', async () => {
    const doc = pcrsDocument([good('a')], { namespace: 'http://cnig.gouv.fr/pcrs/v1' });
    const r = await validateText(doc);
    expect(findings(r, 'namespace')).toMatchObject([{ line: 2 }]);
    expect(findings(r, 'unknown-class')).toMatchObject([{ line: lineOf(doc, '<LimiteVoiriePCRS') }]);
    expect(r.summary.byRule['xsd']?.count).toBeGreaterThan(0);
  });

  it('version 1.0 and missing version', async () => {
    const r = await validateText(pcrsDocument([good('a')], { version: '1.0' }));
    expect(findings(r, 'version')).toMatchObject([{ line: 2, message: expect.stringMatching(/version="1.0"/) }]);
    const r2 = await validateText(pcrsDocument([good('a')], { version: null }));
    expect(findings(r2, 'version')).toMatchObject([{ line: 2 }]);
    expect(findings(r2, 'xsd')).toHaveLength(1); // version is required by the XSD
  });

  it('wrong root element', async () => {
    const r = await validateText(pcrsDocument([good('a')], { rootName: 'PlanCorpsDeRue' }));
    expect(findings(r, 'root-element')).toMatchObject([{ line: 2 }]);
  });

  it('unknown class and abstract class', async () => {
    const unknown = `    <BordurePCRS gml:id="x1"><idObjet>x1</idObjet></BordurePCRS>`;
    const abstract = `    <ObjetVecteurPCRS gml:id="x2"><idObjet>x2</idObjet></ObjetVecteurPCRS>`;
    const doc = pcrsDocument([good('a'), unknown, abstract]);
    const r = await validateText(doc);
    expect(findings(r, 'unknown-class')).toMatchObject([{ line: lineOf(doc, '<BordurePCRS'), class: 'BordurePCRS' }]);
    expect(findings(r, 'abstract-class')).toMatchObject([{ line: lineOf(doc, '<ObjetVecteurPCRS'), class: 'ObjetVecteurPCRS' }]);
  });

  it('odd coordinate count', async () => {
    const doc = pcrsDocument([good('a'), limiteVoirie({ gmlId: 'b', idObjet: 'OBJ-B', posList: `${P0} ${P1} 575020.00` })]);
    const r = await validateText(doc);
    expect(findings(r, 'coordinate-count')).toMatchObject([{ line: lineOf(doc, '<gml:posList>', 'gml:id="b"'), idObjet: 'OBJ-B', class: 'LimiteVoiriePCRS' }]);
    expect(r.summary.byRule['geometry-missing']).toBeUndefined(); // not reported twice
    expect(r.featureCount).toBe(2);
  });

  it('text in coordinates', async () => {
    const doc = pcrsDocument([limiteVoirie({ gmlId: 'b', idObjet: 'OBJ-B', posList: `${P0} 575012,50 6374003.20 130.4` })]);
    const r = await validateText(doc);
    expect(findings(r, 'coordinate-value')).toMatchObject([{ line: lineOf(doc, '<gml:posList>'), idObjet: 'OBJ-B' }]);
    expect(findings(r, 'coordinate-value')[0]?.message).toMatch(/'575012,50' is not a number/);
  });

  it('mixed CRS', async () => {
    const [x, y] = pointTransform('EPSG:2154', 'EPSG:3945')(575100, 6374100);
    const doc = pcrsDocument([good('a'), arbre({ gmlId: 'b', idObjet: 'OBJ-B', pos: `${x.toFixed(2)} ${y.toFixed(2)} 130`, srsName: 'EPSG:3945' })]);
    const r = await validateText(doc);
    expect(r.crs).toEqual(['EPSG:2154', 'EPSG:3945']);
    expect(findings(r, 'crs-mixed')).toMatchObject([{ line: lineOf(doc, '<geometrie>', 'gml:id="b"'), idObjet: 'OBJ-B' }]);
    expect(r.summary.byRule['outside-territory']).toBeUndefined(); // the CC45 point is in Cahors too
  });

  it('unsupported and missing CRS; coordinates outside the CRS area (wrong srsName)', async () => {
    const doc = pcrsDocument([
      arbre({ gmlId: 'a', pos: P0, srsName: 'EPSG:27572' }),
      arbre({ gmlId: 'b', pos: P0, srsName: 'EPSG:3946' }),
      `    <ArbrePCRS gml:id="c"><idObjet>c</idObjet><thematique>06</thematique><qualiteCategorisation>01</qualiteCategorisation><precisionPlanimetrique>005</precisionPlanimetrique>` +
        `<producteur>p</producteur><geometrie><gml:Point gml:id="c-g"><gml:pos>${P0}</gml:pos></gml:Point></geometrie><reference>r</reference></ArbrePCRS>`,
    ]);
    const r = await validateText(doc);
    expect(findings(r, 'crs-unsupported')).toMatchObject([{ line: lineOf(doc, '<geometrie>', 'gml:id="a"'), gmlId: 'a' }]);
    expect(findings(r, 'outside-crs-area')).toMatchObject([{ line: lineOf(doc, '<geometrie>', 'gml:id="b"'), gmlId: 'b' }]);
    expect(findings(r, 'crs-missing')).toMatchObject([{ line: lineOf(doc, '<geometrie>', 'gml:id="c"'), gmlId: 'c' }]);
  });

  it('missing idObjet', async () => {
    const doc = pcrsDocument([good('a'), limiteVoirie({ gmlId: 'b', idObjet: null, posList: `${P0} ${P1}` })]);
    const r = await validateText(doc);
    expect(findings(r, 'required-attribute')).toMatchObject([{ line: lineOf(doc, '<LimiteVoiriePCRS gml:id="b"'), gmlId: 'b', message: expect.stringMatching(/idObjet/) }]);
    expect(findings(r, 'xsd')).toMatchObject([{ class: 'LimiteVoiriePCRS', gmlId: 'b' }]);
  });

  it('bad thematique and precision', async () => {
    const doc = pcrsDocument([good('a'), limiteVoirie({ gmlId: 'b', idObjet: 'OBJ-B', thematique: '12', precisionPlanimetrique: '006', posList: `${P0} ${P1}` })]);
    const r = await validateText(doc);
    const codes = findings(r, 'code-list');
    expect(codes).toMatchObject([
      { line: lineOf(doc, '<thematique>12'), idObjet: 'OBJ-B', message: expect.stringMatching(/thematique = '12'.*00, 01, 02, 03, 04, 05, 06, 07, 08, 09, 10, 11, 99/) },
      { line: lineOf(doc, '<precisionPlanimetrique>006'), idObjet: 'OBJ-B', message: expect.stringMatching(/002, 005, 010, 040, 150, 999/) },
    ]);
    // xmllint says the same, with the object context added from our pass.
    expect(findings(r, 'xsd').map((f) => [f.line, f.idObjet])).toEqual([
      [lineOf(doc, '<thematique>12'), 'OBJ-B'],
      [lineOf(doc, '<precisionPlanimetrique>006'), 'OBJ-B'],
    ]);
  });

  it('duplicated idObjet and gml:id', async () => {
    const doc = pcrsDocument([good('a'), limiteVoirie({ gmlId: 'b', idObjet: 'ido_a', posList: `${P0} ${P1}` }), arbre({ gmlId: 'a', idObjet: 'ido_c', pos: P0 })]);
    const r = await validateText(doc);
    expect(findings(r, 'duplicate-id-objet')).toMatchObject([
      { line: lineOf(doc, '<idObjet>ido_a', 'gml:id="b"'), gmlId: 'b', message: expect.stringMatching(/already used by LimiteVoiriePCRS at line 4/) },
    ]);
    expect(findings(r, 'duplicate-gml-id')).toMatchObject([{ line: lineOf(doc, '<ArbrePCRS gml:id="a"') }]);
  });

  it('degenerate line', async () => {
    const doc = pcrsDocument([good('a'), limiteVoirie({ gmlId: 'b', posList: `${P0} ${P0}` })]);
    const r = await validateText(doc);
    expect(findings(r, 'geometry-degenerate')).toMatchObject([{ line: lineOf(doc, '<geometrie>', 'gml:id="b"'), gmlId: 'b' }]);
    expect(r.xsd.valid).toBe(true); // the XSD cannot see it
  });

  it('unclosed ring, ring with too few points, zero-area ring', async () => {
    const doc = pcrsDocument([
      pilePont({ gmlId: 'open', ring: `${P0} ${P1} ${P2} 575001.00 6374000.00 130.1` }),
      pilePont({ gmlId: 'tiny', ring: `${P0} ${P1} ${P0}` }),
      pilePont({ gmlId: 'flat', ring: `575000 6374000 1 575010 6374000 1 575020 6374000 1 575000 6374000 1` }),
    ]);
    const r = await validateText(doc);
    expect(findings(r, 'ring-not-closed')).toMatchObject([{ line: lineOf(doc, '<geometrie>', 'gml:id="open"'), gmlId: 'open' }]);
    expect(findings(r, 'ring-too-few-points')).toMatchObject([{ line: lineOf(doc, '<geometrie>', 'gml:id="tiny"'), gmlId: 'tiny' }]);
    expect(findings(r, 'geometry-degenerate')).toMatchObject([{ gmlId: 'flat', message: expect.stringMatching(/zero area/) }]);
  });

  it('coordinates outside the territory', async () => {
    // Toulouse: in France and in Lambert-93, not in the Lot.
    const doc = pcrsDocument([good('a'), arbre({ gmlId: 'b', idObjet: 'OBJ-B', pos: '574000 6280000 150' })]);
    const r = await validateText(doc, { territoryName: 'Lot (46)' });
    expect(findings(r, 'outside-territory')).toMatchObject([
      { line: lineOf(doc, '<geometrie>', 'gml:id="b"'), idObjet: 'OBJ-B', message: expect.stringMatching(/1 of 1 positions are outside the territory Lot \(46\)/) },
    ]);
    // A line crossing the border: only its outside vertices are counted.
    const doc2 = pcrsDocument([limiteVoirie({ gmlId: 'c', posList: `${P0} 574000 6280000 150` })]);
    expect(findings(await validateText(doc2), 'outside-territory')[0]?.message).toMatch(/^1 of 2 positions/);
  });

  it('geometry missing or of the wrong type', async () => {
    const doc = pcrsDocument([
      `    <LimiteVoiriePCRS gml:id="n"><idObjet>n</idObjet><thematique>03</thematique><qualiteCategorisation>01</qualiteCategorisation><precisionPlanimetrique>005</precisionPlanimetrique><producteur>p</producteur></LimiteVoiriePCRS>`,
      arbre({ gmlId: 't', pos: P0 }).replace('ArbrePCRS', 'LimiteVoiriePCRS').replace('</ArbrePCRS>', '</LimiteVoiriePCRS>').replace('<reference>Platanus</reference>', ''),
    ]);
    const r = await validateText(doc);
    expect(findings(r, 'geometry-missing')).toMatchObject([{ line: lineOf(doc, '<LimiteVoiriePCRS gml:id="n"') }]);
    expect(findings(r, 'geometry-type')).toMatchObject([{ gmlId: 't', message: expect.stringMatching(/Curve geometry, found Point/) }]);
  });

  it('caps the findings kept per rule, counts stay exact', async () => {
    const features = Array.from({ length: 30 }, (_, i) => limiteVoirie({ gmlId: `f${i}`, idObjet: null, posList: `${P0} ${P1}` }));
    const r = await validateText(pcrsDocument(features), { maxFindingsPerRule: 5 });
    expect(r.summary.byRule['required-attribute']).toEqual({ severity: 'error', count: 30 });
    expect(findings(r, 'required-attribute')).toHaveLength(5);
    expect(r.summary.byRule['xsd']?.count).toBe(30);
    expect(findings(r, 'xsd')).toHaveLength(5);
    expect(r.truncatedRules.sort()).toEqual(['required-attribute', 'xsd']);
    expect(r.summary.errors).toBe(60);
    expect(formatReportText(r)).toMatch(/required-attribute\s+30 {2}\(first 5 listed\)/);
  });

  it('the XSD check can be disabled; text and JSON renderings', async () => {
    const doc = pcrsDocument([good('a'), limiteVoirie({ gmlId: 'b', idObjet: null, posList: `${P0} ${P1}` })]);
    const r = await validateText(doc, { xsd: false });
    expect(r.xsd).toEqual({ ran: false, skipped: 'disabled' });
    const text = formatReportText(r);
    expect(text).toMatch(/^PCRS GML validation: /);
    expect(text).toMatch(/Result: INVALID \(1 error, 0 warnings\)/);
    expect(text).toMatch(/LimiteVoiriePCRS\s+2/);
    const at = lineOf(doc, '<LimiteVoiriePCRS gml:id="b"');
    expect(text).toContain(`line ${at}     error   required-attribute [LimiteVoiriePCRS b]: idObjet is required for LimiteVoiriePCRS`);
    const json = JSON.parse(formatReportJson(r)) as ValidationReport;
    expect(json.summary).toEqual(r.summary);
    expect(json.featuresByClass).toEqual({ LimiteVoiriePCRS: 2 });
  });

  it('a missing file is a UserError, not a report', async () => {
    await expect(validateGmlFile(join(dir, 'nope.gml'))).rejects.toMatchObject({ code: 'file-unreadable' });
  });
});
