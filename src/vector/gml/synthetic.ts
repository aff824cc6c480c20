/**
 * Synthetic CNIG PCRS v2.0 GML, for tests and benchmarks: small documents built from feature
 * snippets (to craft malformed cases) and arbitrarily large realistic files written in a stream.
 * Default location: around Cahors (Lot), Lambert-93.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface DocumentOptions {
  namespace?: string;
  version?: string | null;
  rootName?: string;
  /** Inserted between the XML declaration and the root element (e.g. a DOCTYPE). */
  prolog?: string;
  /** Root `gml:boundedBy` srsName (none by default). */
  boundedBySrsName?: string;
}

/** A full PCRS document around the given `<featureMember>` contents. */
export function pcrsDocument(features: string[], options: DocumentOptions = {}): string {
  const ns = options.namespace ?? 'http://cnig.gouv.fr/pcrs';
  const root = options.rootName ?? 'PlanCorpsRueSimplifie';
  const version = options.version === undefined ? '2.0' : options.version;
  const bounded = options.boundedBySrsName
    ? `\n  <gml:boundedBy><gml:Envelope srsName="${options.boundedBySrsName}"><gml:lowerCorner>574000 6373000</gml:lowerCorner><gml:upperCorner>576000 6375000</gml:upperCorner></gml:Envelope></gml:boundedBy>`
    : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n${options.prolog ?? ''}` +
    `<${root} xmlns="${ns}" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
    `xmlns:pcrs-i="http://cnig.gouv.fr/pcrs-information" gml:id="doc"${version === null ? '' : ` version="${version}"`}>${bounded}\n` +
    features.map((f) => `  <featureMember>\n${f}\n  </featureMember>\n`).join('') +
    `</${root}>\n`
  );
}

export interface ObjetOptions {
  gmlId: string;
  /** `null` leaves the element out. */
  idObjet?: string | null;
  thematique?: string;
  qualiteCategorisation?: string;
  precisionPlanimetrique?: string;
  producteur?: string;
}

function objetProps(o: ObjetOptions, defaultThematique: string): string {
  const id = o.idObjet === undefined ? `ido_${o.gmlId}` : o.idObjet;
  return (
    `      <dateLeve>2024-05-02</dateLeve>\n` +
    (id === null ? '' : `      <idObjet>${id}</idObjet>\n`) +
    `      <thematique>${o.thematique ?? defaultThematique}</thematique>\n` +
    `      <qualiteCategorisation>${o.qualiteCategorisation ?? '01'}</qualiteCategorisation>\n` +
    `      <precisionPlanimetrique>${o.precisionPlanimetrique ?? '005'}</precisionPlanimetrique>\n` +
    `      <precisionAltimetrique>010</precisionAltimetrique>\n` +
    `      <producteur>${o.producteur ?? 'Géomètre du Lot'}</producteur>\n`
  );
}

/** A LimiteVoiriePCRS whose curve is one LineStringSegment with the given posList text. */
export function limiteVoirie(o: ObjetOptions & { posList: string; srsName?: string; srsDimension?: number | null }): string {
  const dim = o.srsDimension === undefined ? 3 : o.srsDimension;
  return (
    `    <LimiteVoiriePCRS gml:id="${o.gmlId}">\n${objetProps(o, '03')}` +
    `      <geometrie>\n` +
    `        <gml:Curve gml:id="${o.gmlId}-g" srsName="${o.srsName ?? 'EPSG:2154'}"${dim === null ? '' : ` srsDimension="${dim}"`}>\n` +
    `          <gml:segments><gml:LineStringSegment><gml:posList>${o.posList}</gml:posList></gml:LineStringSegment></gml:segments>\n` +
    `        </gml:Curve>\n` +
    `      </geometrie>\n` +
    `    </LimiteVoiriePCRS>`
  );
}

/** A FacadePCRS (building outline, thematique Bâti) along the given posList (3D). */
export function facade(o: ObjetOptions & { posList: string }): string {
  return (
    `    <FacadePCRS gml:id="${o.gmlId}">\n${objetProps(o, '02')}` +
    `      <geometrie><gml:Curve gml:id="${o.gmlId}-g" srsName="EPSG:2154" srsDimension="3">` +
    `<gml:segments><gml:LineStringSegment><gml:posList>${o.posList}</gml:posList></gml:LineStringSegment></gml:segments></gml:Curve></geometrie>\n` +
    `    </FacadePCRS>`
  );
}

/** An ArbrePCRS at (x, y, z). */
export function arbre(o: ObjetOptions & { pos: string; srsName?: string }): string {
  return (
    `    <ArbrePCRS gml:id="${o.gmlId}">\n${objetProps(o, '06')}` +
    `      <geometrie><gml:Point gml:id="${o.gmlId}-g" srsName="${o.srsName ?? 'EPSG:2154'}" srsDimension="3"><gml:pos>${o.pos}</gml:pos></gml:Point></geometrie>\n` +
    `      <reference>Platanus</reference>\n` +
    `    </ArbrePCRS>`
  );
}

/** A PilePontPCRS (surveyed polygon) with the given exterior ring posList. */
export function pilePont(o: ObjetOptions & { ring: string; srsName?: string }): string {
  return (
    `    <PilePontPCRS gml:id="${o.gmlId}">\n${objetProps(o, '07')}` +
    `      <geometrie><gml:Polygon gml:id="${o.gmlId}-g" srsName="${o.srsName ?? 'EPSG:2154'}" srsDimension="3">` +
    `<gml:exterior><gml:LinearRing><gml:posList>${o.ring}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></geometrie>\n` +
    `    </PilePontPCRS>`
  );
}

/** Deterministic pseudo-random generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One realistic feature (LimiteVoirie with an arc, Arbre, Affleurant + geometry, HabillageLignes) for index i. */
export function syntheticFeature(i: number, random: () => number, kind = i % 4): string {
  const x0 = 570000 + random() * 10000;
  const y0 = 6370000 + random() * 10000;
  const z0 = 120 + random() * 200;
  const f = (v: number) => v.toFixed(3);
  const id = `f${i}`;
  if (kind === 0) {
    const pts: string[] = [];
    for (let k = 0; k < 24; k++) pts.push(`${f(x0 + k * 1.7)} ${f(y0 + Math.sin(k / 3) * 2)} ${f(z0 + k * 0.01)}`);
    return (
      `    <LimiteVoiriePCRS gml:id="${id}">\n${objetProps({ gmlId: id }, '03')}` +
      `      <geometrie>\n        <gml:Curve gml:id="${id}-g" srsName="EPSG:2154" srsDimension="3">\n          <gml:segments>\n` +
      `            <gml:Arc><gml:posList>${f(x0 - 4)} ${f(y0)} ${f(z0)} ${f(x0 - 2)} ${f(y0 + 1.2)} ${f(z0)} ${pts[0]}</gml:posList></gml:Arc>\n` +
      `            <gml:LineStringSegment>\n              <gml:posList>${pts.join(' ')}</gml:posList>\n            </gml:LineStringSegment>\n` +
      `          </gml:segments>\n        </gml:Curve>\n      </geometrie>\n    </LimiteVoiriePCRS>`
    );
  }
  if (kind === 1) return arbre({ gmlId: id, pos: `${f(x0)} ${f(y0)} ${f(z0)}` });
  if (kind === 2) {
    const ring: string[] = [];
    for (let k = 0; k < 16; k++) {
      const a = (k / 16) * 2 * Math.PI;
      ring.push(`${f(x0 + 0.3 * Math.cos(a))} ${f(y0 + 0.3 * Math.sin(a))} ${f(z0)}`);
    }
    ring.push(ring[0] as string);
    return (
      `    <AffleurantEnveloppePCRS gml:id="${id}">\n      <geometrie><gml:Polygon gml:id="${id}-g" srsName="EPSG:2154" srsDimension="3">` +
      `<gml:exterior><gml:LinearRing><gml:posList>${ring.join(' ')}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></geometrie>\n` +
      `    </AffleurantEnveloppePCRS>`
    );
  }
  return (
    `    <HabillageLignesPCRS gml:id="${id}">\n      <idHabillage>idh_${id}</idHabillage>\n      <thematique>06</thematique>\n` +
    `      <geometrie><gml:MultiCurve gml:id="${id}-g" srsName="EPSG:2154" srsDimension="3"><gml:curveMember><gml:LineString gml:id="${id}-l">` +
    `<gml:posList>${f(x0)} ${f(y0)} ${f(z0)} ${f(x0 + 3)} ${f(y0 + 1)} ${f(z0)} ${f(x0 + 5)} ${f(y0 - 1)} ${f(z0)}</gml:posList>` +
    `</gml:LineString></gml:curveMember></gml:MultiCurve></geometrie>\n    </HabillageLignesPCRS>`
  );
}

export interface SyntheticFileOptions {
  /** Feature kinds, cycled (0 LimiteVoirie, 1 Arbre, 2 AffleurantEnveloppe, 3 HabillageLignes); default all four. */
  kinds?: number[];
  /** Rewrites feature `i` (e.g. to inject defects); `line` is the line of its first line. */
  edit?: (i: number, xml: string, line: number) => string;
}

/**
 * Writes a valid PCRS file of about `targetBytes` bytes (streamed, constant memory) and returns
 * the number of features per class.
 */
export async function writeSyntheticPcrsFile(
  path: string,
  targetBytes: number,
  seed = 46,
  options: SyntheticFileOptions = {},
): Promise<{ features: number; bytes: number; byClass: Record<string, number> }> {
  const out = createWriteStream(path);
  const random = rng(seed);
  const head = pcrsDocument([]).replace(/<\/PlanCorpsRueSimplifie>\n$/, '');
  let bytes = 0;
  let line = 1;
  const newlines = (s: string) => {
    let n = 0;
    for (let k = s.indexOf('\n'); k !== -1; k = s.indexOf('\n', k + 1)) n++;
    return n;
  };
  const write = async (s: string) => {
    bytes += Buffer.byteLength(s);
    line += newlines(s);
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(head);
  const names = ['LimiteVoiriePCRS', 'ArbrePCRS', 'AffleurantEnveloppePCRS', 'HabillageLignesPCRS'];
  const byClass: Record<string, number> = {};
  let i = 0;
  const kinds = options.kinds ?? [0, 1, 2, 3];
  while (bytes < targetBytes) {
    const kind = kinds[i % kinds.length] as number;
    let xml = syntheticFeature(i, random, kind);
    if (options.edit) xml = options.edit(i, xml, line + 1);
    await write(`  <featureMember>\n${xml}\n  </featureMember>\n`);
    const name = names[kind] as string;
    byClass[name] = (byClass[name] ?? 0) + 1;
    i++;
  }
  await write('</PlanCorpsRueSimplifie>\n');
  out.end();
  await once(out, 'finish');
  return { features: i, bytes, byClass };
}
