import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/**
 * The administrative reference of a département from `@etalab/decoupage-administratif` (the
 * maintained package of the COG: communes, EPCI, populations). Its index.js reads its data
 * relative to the current directory, so the JSON files are read by their resolved paths.
 */

export interface ReferenceCommune {
  insee: string;
  name: string;
  departement: string;
  epciSiren: string | null;
  population: number | null;
  postalCodes: string[];
}

export interface ReferenceEpci {
  siren: string;
  name: string;
  kind: string;
  population: number | null;
}

interface RawCommune {
  code: string;
  nom: string;
  departement?: string;
  type: string;
  codesPostaux?: string[];
  population?: number;
}

interface RawEpci {
  code: string;
  nom: string;
  type: string;
  populationMunicipale?: number;
  membres: Array<{ code: string }>;
}

const require = createRequire(import.meta.url);
const DATA = {
  communes: () => require.resolve('@etalab/decoupage-administratif/data/communes.json'),
  epci: () => require.resolve('@etalab/decoupage-administratif/data/epci.json'),
};

/** Read when asked (12 MB of JSON), never kept: a server loads the reference once, if ever. */
async function readData<T>(name: keyof typeof DATA): Promise<T[]> {
  return JSON.parse(await readFile(DATA[name](), 'utf8')) as T[];
}

/** The current communes of a département and the EPCI they belong to. */
export async function referenceOf(departement: string): Promise<{ communes: ReferenceCommune[]; epcis: ReferenceEpci[] }> {
  const [rawCommunes, rawEpcis] = await Promise.all([readData<RawCommune>('communes'), readData<RawEpci>('epci')]);
  const current = rawCommunes.filter((c) => c.type === 'commune-actuelle' && c.departement === departement);
  const codes = new Set(current.map((c) => c.code));
  const epciOf = new Map<string, string>();
  const epcis: ReferenceEpci[] = [];
  for (const e of rawEpcis) {
    const members = e.membres.filter((m) => codes.has(m.code));
    if (members.length === 0) continue;
    epcis.push({ siren: e.code, name: e.nom, kind: e.type, population: e.populationMunicipale ?? null });
    for (const m of members) epciOf.set(m.code, e.code);
  }
  const communes = current.map((c) => ({
    insee: c.code,
    name: c.nom,
    departement,
    epciSiren: epciOf.get(c.code) ?? null,
    population: c.population ?? null,
    postalCodes: c.codesPostaux ?? [],
  }));
  return { communes, epcis };
}

/**
 * What a name search compares: lower case, no accents, hyphens and apostrophes as spaces, and
 * "st"/"ste" spelt out ("St-Céré" finds Saint-Céré).
 */
export function searchableName(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/œ/g, 'oe')
    .replace(/æ/g, 'ae')
    .replace(/[-'’‘`.,()/]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/(^| )st( |$)/g, '$1saint$2')
    .replace(/(^| )ste( |$)/g, '$1sainte$2');
}
