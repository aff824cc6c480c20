// The current PCRS: the latest published version per area (EmpriseEchangePCRS, else hull).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { limiteVoirie, pcrsDocument } from './gml/synthetic.js';
import { queryFeatures } from './store.js';
import { importVersion } from './test-support/vector-fixture.js';

const line = (id: string, x: number) => limiteVoirie({ gmlId: id, posList: `${x} 6374000 170 ${x + 10} 6374005 170 ${x + 20} 6374000 170` });

function emprise(id: string, box: [number, number, number, number]): string {
  const [a, b, c, d] = box;
  return (
    `    <EmpriseEchangePCRS gml:id="${id}">\n      <fournisseur>Géomètre du Lot</fournisseur>\n      <datePublication>2026-01-15</datePublication>\n` +
    `      <geometrie><gml:MultiSurface gml:id="${id}-g" srsName="EPSG:2154" srsDimension="2"><gml:surfaceMember><gml:Polygon gml:id="${id}-p">` +
    `<gml:exterior><gml:LinearRing><gml:posList>${a} ${b} ${c} ${b} ${c} ${d} ${a} ${d} ${a} ${b}</gml:posList></gml:LinearRing></gml:exterior>` +
    `</gml:Polygon></gml:surfaceMember></gml:MultiSurface></geometrie>\n      <idEmprise>${id}</idEmprise>\n    </EmpriseEchangePCRS>`
  );
}

describe.each(ENGINES)('current PCRS ($engine)', ({ open }) => {
  let t: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-current-'));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  beforeAll(async () => {
    t = await open();
  }, 120_000);
  afterAll(async () => t?.dispose());

  it('an update version replaces the old objects inside its EmpriseEchangePCRS only', async () => {
    const v1 = await importVersion(t.db, '2024', [file('v1.gml', pcrsDocument([line('a', 575000), line('b', 576000)]))], { territoryBbox: null });
    expect(v1.results[0]?.status, v1.results[0]?.reason).toBe('imported');
    const ids = async (q: { versionId?: number } = {}) =>
      (await queryFeatures(t.db, { datasetId: 'vector', ...q })).map((f) => f.gmlId).sort();
    expect(await ids()).toEqual(['a', 'b']);
    const v2 = await importVersion(t.db, '2026-maj', [file('v2.gml', pcrsDocument([emprise('e', [574990, 6373990, 575100, 6374100]), line('c', 575005)]))], { territoryBbox: null });
    expect(v2.results[0]?.status, v2.results[0]?.reason).toBe('imported');
    // 'a' lies in the new emprise: replaced by 'c'; 'b' is outside: still current.
    expect(await ids()).toEqual(['b', 'c', 'e']);
    // Each version stays addressable.
    expect(await ids({ versionId: v1.versionId })).toEqual(['a', 'b']);
    // Withdrawing the update brings the old objects back.
    await new Catalog(t.db).setVersionStatus(v2.versionId, 'withdrawn');
    expect(await ids()).toEqual(['a', 'b']);
  });
});
