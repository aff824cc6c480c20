/**
 * The feature model of the vector PCRS (CNIG PCRS v2.0, GML 3.2.1) and the catalogue of its
 * classes, properties and code lists, transcribed from `resources/pcrs/schemas/CNIG_PCRS_v2.0.xsd`
 * and `CNIG_PCRS-INFO_v2.0.xsd` (`pcrs-model.test.ts` checks this table against the XSDs).
 *
 * Everything downstream (validation, PostGIS storage, OGC API Features, exports) consumes
 * `PcrsFeature`: one record per GML feature, all of its properties kept, geometry in the source CRS.
 */

/** XML namespace of the PCRS v2.0 application schema. */
export const PCRS_NS = 'http://cnig.gouv.fr/pcrs';
/** XML namespace of the PCRS-INFO v2.0 schema (InitiativePCRS, EmpriseDisponibilitePCRS). */
export const PCRS_INFO_NS = 'http://cnig.gouv.fr/pcrs-information';
/** GML 3.2 namespace (the one PCRS v2.0 uses). */
export const GML32_NS = 'http://www.opengis.net/gml/3.2';
/** GML 3.1/2 namespace: read for robustness, flagged by the XSD. */
export const GML31_NS = 'http://www.opengis.net/gml';
export const XLINK_NS = 'http://www.w3.org/1999/xlink';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
/** Root element of every PCRS file, in `PCRS_NS`, with `version="2.0"`. */
export const PCRS_ROOT = 'PlanCorpsRueSimplifie';
export const PCRS_VERSION = '2.0';

// ---------------------------------------------------------------------------------------------
// Geometry: GeoJSON-compatible, in the source CRS, Z kept as a third ordinate when present.
// Axis order is always x = easting/longitude, y = northing/latitude (the reader swaps lat/lon
// URN/http geographic CRSs on input).

/** [x, y] or [x, y, z]. */
export type Position = number[];

export interface PointGeometry {
  type: 'Point';
  coordinates: Position;
}
export interface LineStringGeometry {
  type: 'LineString';
  coordinates: Position[];
}
export interface PolygonGeometry {
  type: 'Polygon';
  /** Exterior ring first, then interior rings; each ring closed (first = last position). */
  coordinates: Position[][];
}
export interface MultiPointGeometry {
  type: 'MultiPoint';
  coordinates: Position[];
}
export interface MultiLineStringGeometry {
  type: 'MultiLineString';
  coordinates: Position[][];
}
export interface MultiPolygonGeometry {
  type: 'MultiPolygon';
  coordinates: Position[][][];
}
export interface GeometryCollectionGeometry {
  type: 'GeometryCollection';
  geometries: PcrsGeometry[];
}
export type PcrsGeometry =
  | PointGeometry
  | LineStringGeometry
  | PolygonGeometry
  | MultiPointGeometry
  | MultiLineStringGeometry
  | MultiPolygonGeometry
  | GeometryCollectionGeometry;
export type PcrsGeometryType = PcrsGeometry['type'];

/** Calls `fn` with every position of a geometry, in order. */
export function forEachPosition(g: PcrsGeometry, fn: (p: Position) => void): void {
  switch (g.type) {
    case 'Point':
      fn(g.coordinates);
      return;
    case 'LineString':
    case 'MultiPoint':
      for (const p of g.coordinates) fn(p);
      return;
    case 'Polygon':
    case 'MultiLineString':
      for (const r of g.coordinates) for (const p of r) fn(p);
      return;
    case 'MultiPolygon':
      for (const poly of g.coordinates) for (const r of poly) for (const p of r) fn(p);
      return;
    case 'GeometryCollection':
      for (const m of g.geometries) forEachPosition(m, fn);
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Attribute values.

/**
 * A property value. Mapping from GML:
 * - simple element → string (trimmed), or number for the properties typed `double`/`integer` in
 *   the XSD (angleRotation, longueur_mm, resolution, …); code-list values stay strings ("005");
 * - `xsi:nil="true"` → null;
 * - reference (`xlink:href`, no content) or inline nested feature → `{ href: '…' }` (an inline
 *   nested feature is emitted as a feature of its own and referenced as `#gmlId`);
 * - element with child elements → object of its children (repeated children → arrays);
 * - XML attributes other than xmlns/xsi/xlink:href are kept as `@name` keys, the text then as `#text`;
 * - a property that may repeat (XSD maxOccurs > 1, or repeated in the file) → array.
 */
export type PcrsValue = string | number | boolean | null | PcrsValue[] | { [key: string]: PcrsValue };

export interface PcrsReference {
  href: string;
}

/** A finding of the reader about one place in the file (also used as validation findings). */
export interface GmlIssue {
  severity: 'error' | 'warning';
  /** Stable rule identifier, e.g. `coordinate-count`. */
  rule: string;
  /** 1-based line in the file. */
  line: number;
  gmlId?: string;
  idObjet?: string;
  class?: string;
  message: string;
}

export interface PcrsFeature {
  /** Class = element local name, e.g. `LimiteVoiriePCRS`. */
  class: string;
  /** Element namespace (`PCRS_NS`, `PCRS_INFO_NS`, or anything else found in the file). */
  namespace: string;
  /** `gml:id` (required by GML; null when the file lacks it). */
  gmlId: string | null;
  /** `idObjet` of surveyed objects (ObjetVecteurPCRS), `idHabillage` is in `attributes`. */
  idObjet?: string;
  /** Every property except the geometry property, see `PcrsValue`. */
  attributes: Record<string, PcrsValue>;
  /** The feature's geometry (property `geometrie` in PCRS) or null when absent/unreadable. */
  geometry: PcrsGeometry | null;
  /** Name of the property the geometry came from (normally `geometrie`). */
  geometryProperty?: string;
  /** Further geometry-valued properties, if a feature has more than one. */
  otherGeometries?: Record<string, PcrsGeometry>;
  /** `srsName` as written (on the geometry, an ancestor, or the enclosing `gml:boundedBy`). */
  srsName: string | null;
  /** Normalised CRS, e.g. `EPSG:3946`; null when missing or not understood. */
  sourceCrs: string | null;
  /** 3 when the geometry has Z, 2 otherwise, null without geometry. */
  dimension: 2 | 3 | null;
  /** True when circular arcs (gml:Arc, ArcString, Circle) were linearised into the geometry. */
  curved?: boolean;
  /** 1-based line where the feature element starts. */
  line: number;
  /** 1-based line where the feature element ends. */
  endLine: number;
  /** Line of the first occurrence of each property (only with the reader option `propertyLines`). */
  propertyLines?: Record<string, number>;
  /** For a feature found inline inside another feature's property: the enclosing feature. */
  parentGmlId?: string;
  /** Problems found while reading this feature (also passed to `onIssue`). */
  issues?: GmlIssue[];
}

// ---------------------------------------------------------------------------------------------
// Catalogue of classes.

export type PcrsClassGroup =
  /** Surveyed objects, substitution group ObjetVecteurPCRS: carry idObjet, thematique, precision… */
  | 'surveyed'
  /** Geometric representations of AffleurantPCRS. */
  | 'affleurant-geometry'
  /** HabillagePCRS substitution group (dressing: lines, points, texts, symbols, masks). */
  | 'habillage'
  /** Publication/support classes: EmpriseEchangePCRS, PointLevePCRS, RasterPCRS, Commune, TronconVoirie. */
  | 'other'
  /** PCRS-INFO schema. */
  | 'information';

/** GML geometry property types used by the schema. */
export type GmlGeometryKind = 'Point' | 'Curve' | 'Polygon' | 'Surface' | 'MultiPoint' | 'MultiCurve' | 'MultiSurface' | 'Geometry';

/** Value types of non-geometric properties. */
export type PcrsPropertyType = 'string' | 'date' | 'double' | 'integer' | 'code' | 'reference';

export interface PcrsPropertyDef {
  name: string;
  type: PcrsPropertyType;
  required: boolean;
  /** maxOccurs > 1 in the XSD: the value is always an array. */
  multiple?: boolean;
  /** Code list for `type: 'code'`. */
  codeList?: CodeListName;
}

export interface PcrsClassDef {
  name: string;
  namespace: typeof PCRS_NS | typeof PCRS_INFO_NS;
  group: PcrsClassGroup;
  abstract?: boolean;
  /** Direct parent class in the schema (substitution group head / base type). */
  parent?: string;
  /** The geometry property (always `geometrie` in PCRS v2.0), if the class has one. */
  geometry?: { property: string; kind: GmlGeometryKind; required: boolean };
  /** All non-geometric properties, inherited ones included, in schema order. */
  properties: PcrsPropertyDef[];
}

const p = (name: string, type: PcrsPropertyType, required = true, extra: Partial<PcrsPropertyDef> = {}): PcrsPropertyDef => ({
  name,
  type,
  required,
  ...extra,
});
const code = (name: string, codeList: CodeListName, required = true): PcrsPropertyDef => ({ name, type: 'code', required, codeList });
const refs = (name: string, required = false): PcrsPropertyDef => ({ name, type: 'reference', required, multiple: true });
const geom = (kind: GmlGeometryKind, required = true) => ({ property: 'geometrie', kind, required });

/** Properties of the abstract ObjetVecteurPCRS, inherited by every surveyed object. */
const OBJET_VECTEUR: PcrsPropertyDef[] = [
  p('dateLeve', 'date', false),
  p('idObjet', 'string'),
  code('thematique', 'thematique'),
  code('qualiteCategorisation', 'qualiteCategorisation'),
  code('precisionPlanimetrique', 'precision'),
  code('precisionAltimetrique', 'precision', false),
  p('producteur', 'string'),
  refs('pointLeve'),
];
/** Properties of the abstract HabillagePCRS. */
const HABILLAGE: PcrsPropertyDef[] = [p('idHabillage', 'string'), code('thematique', 'thematique'), refs('habillage')];
const HABILLAGE_TEXTE: PcrsPropertyDef[] = [
  ...HABILLAGE,
  p('libelle', 'string'),
  p('angleRotation', 'double'),
  code('justification', 'justification'),
  p('taille', 'double'),
];

function surveyed(name: string, kind: GmlGeometryKind | null, extra: PcrsPropertyDef[] = [], parent = 'ObjetVecteurPCRS'): PcrsClassDef {
  const def: PcrsClassDef = { name, namespace: PCRS_NS, group: 'surveyed', parent, properties: [...OBJET_VECTEUR, ...extra] };
  if (kind) def.geometry = geom(kind);
  return def;
}

const CLASS_LIST: PcrsClassDef[] = [
  // --- abstract heads (never valid as instances)
  { name: 'ObjetVecteurPCRS', namespace: PCRS_NS, group: 'surveyed', abstract: true, properties: OBJET_VECTEUR },
  { name: 'PilierPCRS', namespace: PCRS_NS, group: 'surveyed', abstract: true, parent: 'ObjetVecteurPCRS', properties: OBJET_VECTEUR },
  { name: 'HabillagePCRS', namespace: PCRS_NS, group: 'habillage', abstract: true, properties: HABILLAGE },

  // --- surveyed objects (substitution group ObjetVecteurPCRS)
  surveyed('LimiteVoiriePCRS', 'Curve'),
  surveyed('FacadePCRS', 'Curve'),
  surveyed('ProeminenceBatiPCRS', 'Curve'),
  surveyed('SeuilPCRS', 'Curve', [p('symbole', 'reference', false)]),
  surveyed('MarcheEscalierPCRS', 'Curve', [p('symbole', 'reference', false)]),
  surveyed('MurPCRS', 'Curve', [code('typeMur', 'typeMur', false)]),
  surveyed(
    'PilierRegulierPCRS',
    'Point',
    [code('section', 'sectionPilier'), p('angleRotation', 'double'), p('longueur', 'double'), p('largeur', 'double')],
    'PilierPCRS',
  ),
  surveyed('PilierParticulierPCRS', 'Curve', [], 'PilierPCRS'),
  surveyed('RailPCRS', 'Curve'),
  surveyed('QuaiRailPCRS', 'Curve'),
  surveyed('QuaiFluvioMaritimePCRS', 'Curve'),
  surveyed('PilePontPCRS', 'Polygon'),
  surveyed('ArbrePCRS', 'Point', [p('reference', 'string')]),
  surveyed('PointCanevasPCRS', 'Point', [
    p('canevas', 'string', false),
    p('precisionXY', 'integer', false),
    p('precisionZ', 'integer', false),
    p('immatriculation', 'string', false),
    p('dateCreation', 'date', false),
    p('fiche', 'string', false),
  ]),
  surveyed('ObjetGeneriquePCRS', 'Geometry', [p('identification', 'string', false)]),
  surveyed('AffleurantPCRS', null, [
    p('gestionnaire', 'string', false),
    code('nature', 'natureAffleurant', false),
    code('reseau', 'natureReseau', false),
    p('source', 'string', false),
    p('idSource', 'string', false),
    p('symbolisation', 'reference', false),
    p('representation', 'reference'),
  ]),

  // --- geometric representations of an AffleurantPCRS
  { name: 'AffleurantGeometriquePCRS', namespace: PCRS_NS, group: 'affleurant-geometry', properties: [refs('enveloppe'), refs('ligne'), refs('point')] },
  { name: 'AffleurantEnveloppePCRS', namespace: PCRS_NS, group: 'affleurant-geometry', geometry: geom('Polygon'), properties: [refs('habillage')] },
  { name: 'AffleurantLignesPCRS', namespace: PCRS_NS, group: 'affleurant-geometry', geometry: geom('MultiCurve'), properties: [] },
  { name: 'AffleurantPointPCRS', namespace: PCRS_NS, group: 'affleurant-geometry', geometry: geom('Point'), properties: [] },
  {
    name: 'AffleurantSymbolePCRS',
    namespace: PCRS_NS,
    group: 'affleurant-geometry',
    geometry: geom('Point'),
    properties: [p('reference', 'string'), p('angleRotation', 'double'), p('longueur_mm', 'double'), p('largeur_mm', 'double')],
  },

  // --- habillage (substitution group HabillagePCRS)
  { name: 'HabillageLignesPCRS', namespace: PCRS_NS, group: 'habillage', parent: 'HabillagePCRS', geometry: geom('MultiCurve'), properties: HABILLAGE },
  { name: 'HabillagePointsPCRS', namespace: PCRS_NS, group: 'habillage', parent: 'HabillagePCRS', geometry: geom('MultiPoint'), properties: HABILLAGE },
  { name: 'HabillageEnveloppePCRS', namespace: PCRS_NS, group: 'habillage', parent: 'HabillagePCRS', geometry: geom('Polygon'), properties: HABILLAGE },
  {
    name: 'HabillageSymbolePCRS',
    namespace: PCRS_NS,
    group: 'habillage',
    parent: 'HabillagePCRS',
    geometry: geom('Point'),
    properties: [...HABILLAGE, p('reference', 'string'), p('angleRotation', 'double'), p('longueur_mm', 'double'), p('largeur_mm', 'double')],
  },
  { name: 'HabillageTextePCRS', namespace: PCRS_NS, group: 'habillage', parent: 'HabillagePCRS', geometry: geom('Point'), properties: HABILLAGE_TEXTE },
  {
    name: 'NomVoiriePCRS',
    namespace: PCRS_NS,
    group: 'habillage',
    parent: 'HabillageTextePCRS',
    geometry: geom('Point'),
    properties: [...HABILLAGE_TEXTE, p('idNomVoirie', 'string'), code('positionnement', 'placement', false)],
  },
  {
    name: 'NumeroVoiriePCRS',
    namespace: PCRS_NS,
    group: 'habillage',
    parent: 'HabillageTextePCRS',
    geometry: geom('Point'),
    properties: [...HABILLAGE_TEXTE, p('idNumeroVoirie', 'string'), code('positionnement', 'placement', false)],
  },
  {
    name: 'MasqueOpacitePCRS',
    namespace: PCRS_NS,
    group: 'habillage',
    parent: 'HabillagePCRS',
    geometry: geom('Surface'),
    properties: [...HABILLAGE, p('transparence', 'integer'), refs('raster', true)],
  },

  // --- publication and support classes
  {
    name: 'PointLevePCRS',
    namespace: PCRS_NS,
    group: 'other',
    geometry: geom('Point'),
    properties: [
      p('numeroPoint', 'string'),
      p('precisionXY', 'integer'),
      p('precisionZ', 'integer', false),
      p('horodatage', 'date', false),
      p('producteur', 'string'),
    ],
  },
  {
    name: 'EmpriseEchangePCRS',
    namespace: PCRS_NS,
    group: 'other',
    geometry: geom('MultiSurface'),
    properties: [
      p('fournisseur', 'string'),
      p('datePublication', 'date'),
      p('complement', 'string', false),
      p('type', 'string', false),
      p('idEmprise', 'string'),
      refs('raster'),
      refs('objet'),
      refs('commune'),
      refs('troncon'),
      refs('habillage'),
    ],
  },
  {
    name: 'RasterPCRS',
    namespace: PCRS_NS,
    group: 'other',
    geometry: geom('Polygon'),
    properties: [
      p('producteur', 'string'),
      p('nomImage', 'string'),
      p('typeImage', 'string'),
      p('idPCRS', 'string'),
      p('resolution', 'integer'),
      p('dateAcquisition', 'date'),
      p('dateRecette', 'date'),
      code('precisionPlanimetriqueCorpsDeRue', 'precision'),
      code('precisionPlanimetriqueZoneNaturelle', 'precision'),
      p('descriptionElementsQualite', 'string'),
      refs('masque'),
    ],
  },
  {
    name: 'Commune',
    namespace: PCRS_NS,
    group: 'other',
    geometry: geom('MultiSurface'),
    properties: [p('codeINSEE', 'string'), p('nom', 'string', false), p('reference', 'string')],
  },
  {
    name: 'TronconVoirie',
    namespace: PCRS_NS,
    group: 'other',
    geometry: geom('Curve'),
    properties: [p('source', 'string'), p('reference', 'string'), code('propriete', 'proprieteEspace', false)],
  },

  // --- PCRS-INFO
  {
    name: 'InitiativePCRS',
    namespace: PCRS_INFO_NS,
    group: 'information',
    geometry: geom('MultiSurface'),
    properties: [p('partenaires', 'string', false, { multiple: true }), p('gestionnaire', 'string'), p('description', 'string', false), refs('commune')],
  },
  {
    name: 'EmpriseDisponibilitePCRS',
    namespace: PCRS_INFO_NS,
    group: 'information',
    geometry: geom('MultiSurface'),
    properties: [p('dateActualite', 'date', false), code('calendrier', 'calendrier', false), refs('troncon'), refs('commune'), p('initiative', 'reference')],
  },
];

const CLASS_BY_NAME: ReadonlyMap<string, PcrsClassDef> = new Map(CLASS_LIST.map((c) => [c.name, c]));

/** Every class of the two schemas, abstract heads included. */
export const PCRS_CLASSES: readonly PcrsClassDef[] = CLASS_LIST;

const concrete = (group: PcrsClassGroup) => CLASS_LIST.filter((c) => c.group === group && !c.abstract).map((c) => c.name);

/** Concrete surveyed-object classes (substitution group ObjetVecteurPCRS). */
export const SURVEYED_CLASSES: readonly string[] = concrete('surveyed');
/** Concrete geometric representations of AffleurantPCRS. */
export const AFFLEURANT_GEOMETRY_CLASSES: readonly string[] = concrete('affleurant-geometry');
/** Concrete habillage classes (substitution group HabillagePCRS, incl. NomVoirie/NumeroVoirie/MasqueOpacite). */
export const HABILLAGE_CLASSES: readonly string[] = concrete('habillage');
/** PointLevePCRS, EmpriseEchangePCRS, RasterPCRS, Commune, TronconVoirie. */
export const OTHER_CLASSES: readonly string[] = concrete('other');
/** PCRS-INFO classes. */
export const INFORMATION_CLASSES: readonly string[] = concrete('information');
/** Abstract classes: never valid as feature instances. */
export const ABSTRACT_CLASSES: readonly string[] = CLASS_LIST.filter((c) => c.abstract).map((c) => c.name);

/** Definition of a class by element local name, or undefined for an unknown class. */
export function pcrsClass(name: string): PcrsClassDef | undefined {
  return CLASS_BY_NAME.get(name);
}

/** Definition of one property of a class (inherited ones included). */
export function pcrsProperty(className: string, property: string): PcrsPropertyDef | undefined {
  return CLASS_BY_NAME.get(className)?.properties.find((d) => d.name === property);
}

// ---------------------------------------------------------------------------------------------
// Code lists (values from the XSD enumerations; labels from the CNIG PCRS v2.0 standard).

export type CodeListName =
  | 'thematique'
  | 'precision'
  | 'qualiteCategorisation'
  | 'natureAffleurant'
  | 'natureReseau'
  | 'typeMur'
  | 'sectionPilier'
  | 'placement'
  | 'justification'
  | 'proprieteEspace'
  | 'calendrier';

export interface CodeList {
  /** XSD type name. */
  xsdType: string;
  values: Readonly<Record<string, string>>;
  /** The XSD also accepts `other: <word of ≥ 2 characters>` (union with a pattern type). */
  extensible: boolean;
}

export const CODE_LISTS: Readonly<Record<CodeListName, CodeList>> = {
  thematique: {
    xsdType: 'CategorieThematiquePCRSTypeType',
    extensible: false,
    values: {
      '00': 'A déterminer',
      '01': 'Topographie',
      '02': 'Bâti',
      '03': 'Voirie',
      '04': 'Ferroviaire',
      '05': 'Clôture',
      '06': 'Végétal',
      '07': "Ouvrage d'art",
      '08': 'Hydrographie',
      '09': 'Orographie',
      '10': 'Affleurant',
      '11': 'Raster',
      '99': 'Non définie',
    },
  },
  precision: {
    xsdType: 'CategoriePrecisionPCRSTypeType',
    extensible: false,
    values: {
      '002': 'moins de 2 cm',
      '005': 'de 2 à 5 cm',
      '010': 'de 5 à 10 cm',
      '040': 'de 10 à 40 cm',
      '150': 'de 40 à 150 cm',
      '999': 'au-delà de 150 cm',
    },
  },
  qualiteCategorisation: {
    xsdType: 'QualiteCategorisationPCRSTypeType',
    extensible: true,
    values: { '01': 'Très fiable / conforme PCRS', '02': 'Moyennement fiable', '03': 'Peu fiable' },
  },
  natureAffleurant: {
    xsdType: 'NatureAffleurantPCRSTypeType',
    extensible: true,
    values: {
      '01': 'Avaloir',
      '02': 'Boîte, coffret, armoire',
      '03': 'Tampon, plaque, chambre',
      '04': 'Branchement, vanne, bouche à clé',
      '05': 'Bouche incendie, poteau incendie',
      '06': 'Poteau',
      '07': "Poteau d'éclairage",
    },
  },
  natureReseau: {
    xsdType: 'NatureReseauPCRSTypeType',
    extensible: true,
    values: {
      '00': 'Non défini',
      ELEC: 'Électricité',
      ELECECL: 'Éclairage public',
      ELECSLT: 'Signalisation lumineuse tricolore',
      ELECBT: 'Électricité basse tension',
      ELECHT: 'Électricité haute tension',
      GAZ: 'Gaz',
      MULT: 'Multi-réseaux',
      CHIM: 'Produits chimiques',
      COM: 'Télécom',
      AEP: 'Eau potable',
      ASSA: 'Assainissement et pluvial',
      ASSAEP: 'Eaux pluviales',
      ASSAEU: 'Eaux usées',
      ASSARU: 'Réseau unitaire',
      DECH: 'Déchets',
      CHAU: 'Chauffage et climatisation',
      INCE: 'Incendie',
    },
  },
  typeMur: {
    xsdType: 'CategorieMurPCRSTypeType',
    extensible: false,
    values: { '01': 'Mur', '02': 'Mur de soutènement', '03': 'Mur bahut', '04': 'Mur bahut avec clôture', '05': 'Parapet', '06': 'Enrochement' },
  },
  sectionPilier: {
    xsdType: 'SectionPilierPCRSTypeType',
    extensible: false,
    values: { '00': 'Pilier autre', '01': 'Pilier carré', '02': 'Pilier rectangulaire', '03': 'Pilier circulaire' },
  },
  placement: {
    xsdType: 'CategoriePlacementPCRSTypeType',
    extensible: false,
    values: { '01': 'Sans repositionnement', '02': 'Axe voirie', '03': 'Limite voirie', '04': 'Hors voirie', '05': 'Parcelle' },
  },
  justification: { xsdType: 'TexteJustificationPCRSTypeType', extensible: false, values: { G: 'Gauche', C: 'Centré', D: 'Droite' } },
  proprieteEspace: { xsdType: 'ProprieteEspaceTypeType', extensible: false, values: { '01': 'Espace public', '02': 'Espace privé' } },
  calendrier: {
    xsdType: 'CalendrierPCRSTypeType',
    extensible: true,
    values: { '01': 'Livré, mis à disposition', '02': 'Actualisation en cours', '03': 'En projet, planifié', '04': 'Non planifié' },
  },
};

/** Pattern of the XSD's extension values (`other: \w{2,}`). */
const OTHER_CODE = /^other: \w{2,}$/u;

/** True when `value` belongs to the code list (including `other: xx` for extensible lists). */
export function isValidCode(list: CodeListName, value: string): boolean {
  const cl = CODE_LISTS[list];
  return Object.hasOwn(cl.values, value) || (cl.extensible && OTHER_CODE.test(value));
}
