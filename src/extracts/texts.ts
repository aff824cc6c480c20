import type { LicenceText } from '../licences/texts.js';
import { xmlEscape } from '../util/xml.js';

/**
 * The small files every extract ZIP carries: the manifest of SHA-256 sums (`sha256sum -c` reads
 * it), the licence, a README of what is inside (versions, dates, area, what is missing and why),
 * and a GDAL VRT mosaic of the Lambert-93 masters for QGIS. Written from the plan, in French first.
 */

export interface PlannedMaster {
  /** Path in the ZIP. */
  name: string;
  dalle: string;
  version: string;
  acquisitionDate: string | null;
  /** Lambert-93 footprint. */
  bbox: readonly [number, number, number, number];
  sourceCrs: string;
}

export interface ReadmeFacts {
  areaLabel: string;
  areaKm2: number;
  createdAt: Date;
  platformUrl: string;
  territory: string;
  /** `masters`: ortho/ holds the masters (absent: true); `cogQuality`: ortho-cog/ holds COGs at that JPEG quality. */
  ortho: { version: string; acquisitionDate: string | null; dalles: number; excluded: string[]; missing: string[]; masters?: boolean; cogQuality?: number | null } | null;
  /** `files`: the names in vecteur/ (absent: pcrs.gml); `clip`: absent = dalles. */
  vector: { version: string; features: number; clip?: 'area' | 'dalles'; files?: string[] } | null;
  licence: LicenceText;
}

/** `sha256sum -c MANIFEST.sha256` checks every other file of the extract. */
export function manifest(entries: ReadonlyArray<{ name: string; sha256: string }>): string {
  return entries.map((e) => `${e.sha256}  ${e.name}\n`).join('');
}

export function readme(f: ReadmeFacts): string {
  const lines = [
    `Extrait du PCRS — ${f.territory}`,
    '',
    `Zone : ${f.areaLabel} (${f.areaKm2.toFixed(3)} km²)`,
    `Préparé le : ${f.createdAt.toISOString().slice(0, 19).replace('T', ' ')} UTC, par ${f.platformUrl}`,
    `Licence : ${f.licence.name} (LICENCE.txt)`,
    '',
  ];
  if (f.ortho) {
    lines.push(`Orthophotographie : version ${f.ortho.version}${f.ortho.acquisitionDate ? `, prise de vues du ${f.ortho.acquisitionDate}` : ''}, ${f.ortho.dalles} dalles (résolution 5 cm, Lambert-93 / EPSG:2154 sauf mention).`);
    if (f.ortho.masters !== false) {
      lines.push(
        '  ortho/ : les dalles originales, fichiers livrés à l’identique.',
        '  ortho/mosaique.vrt : mosaïque virtuelle à ouvrir dans QGIS (Couche > Ajouter une couche raster).',
      );
    }
    if (typeof f.ortho.cogQuality === 'number') {
      lines.push(
        `  ortho-cog/ : les mêmes dalles en GeoTIFF optimisé pour le cloud (COG), compression JPEG qualité ${f.ortho.cogQuality} (celle des tuiles de la plateforme), avec aperçus ; même géoréférencement que les originaux, plus légères mais avec pertes.`,
        '  ortho-cog/mosaique.vrt : mosaïque virtuelle de ces dalles compressées.',
      );
    }
    if (f.ortho.excluded.length) lines.push(`  Hors de votre périmètre d’accès, non incluses : ${f.ortho.excluded.join(', ')}`);
    if (f.ortho.missing.length) lines.push(`  Sans fichier original vérifié à ce jour, non incluses : ${f.ortho.missing.join(', ')}`);
    lines.push('');
  }
  if (f.vector) {
    const files = f.vector.files ?? ['pcrs.gml'];
    const cut = f.vector.clip === 'area';
    lines.push(`PCRS vecteur (vecteur/) : ${f.vector.version}, ${f.vector.features} objets ${cut ? 'découpés selon la zone (un objet coupé en plusieurs morceaux donne un objet par morceau)' : 'entiers touchant la zone'}.`);
    const what: Record<string, string> = {
      'pcrs.gml': 'GML CNIG PCRS v2.0 (le format d’échange du standard)',
      'pcrs.gpkg': 'GeoPackage, une couche par classe CNIG (QGIS, ArcGIS)',
      'pcrs.dxf': 'DXF, un calque par classe CNIG, géométries seules (DAO/CAO)',
    };
    for (const file of files) lines.push(`  vecteur/${file} : ${what[file] ?? file}`);
    lines.push('');
  }
  lines.push(
    'Vérifier l’intégrité : sha256sum -c MANIFEST.sha256',
    '',
    '— English —',
    `PCRS extract of ${f.territory}, area ${f.areaLabel}. ortho/: orthophoto masters exactly as delivered; ortho-cog/: the same dalles as`,
    'Cloud-Optimized GeoTIFFs (JPEG at the platform tiles\' quality); vecteur/: the vector PCRS as CNIG GML v2.0, GeoPackage and/or DXF',
    `(${f.vector?.clip === 'area' ? 'cut to the area' : 'whole objects touching the area'}); VRT mosaics for QGIS, the licence, and MANIFEST.sha256 (check with sha256sum -c MANIFEST.sha256).`,
    '',
  );
  return lines.join('\n');
}

/**
 * A VRT mosaic of the Lambert-93 masters (5 cm, RGB bytes), with paths relative to the VRT: the
 * extent is the union of the footprints, each dalle placed by its footprint. Dalles delivered in a
 * CC zone cannot join a Lambert-93 mosaic and are left out of it (they are in the ZIP).
 */
export function mosaicVrt(masters: readonly PlannedMaster[], pixelSize = 0.05): string | null {
  const l93 = masters.filter((m) => m.sourceCrs === 'EPSG:2154');
  if (l93.length === 0) return null;
  const xmin = Math.min(...l93.map((m) => m.bbox[0]));
  const ymax = Math.max(...l93.map((m) => m.bbox[3]));
  const xmax = Math.max(...l93.map((m) => m.bbox[2]));
  const ymin = Math.min(...l93.map((m) => m.bbox[1]));
  const px = (v: number) => Math.round(v / pixelSize);
  const width = px(xmax - xmin);
  const height = px(ymax - ymin);
  const bands = ['Red', 'Green', 'Blue'].map((colour, i) => {
    const sources = l93
      .map((m) => {
        const w = px(m.bbox[2] - m.bbox[0]);
        const h = px(m.bbox[3] - m.bbox[1]);
        const file = xmlEscape(m.name.split('/').slice(1).join('/'));
        return `    <SimpleSource><SourceFilename relativeToVRT="1">${file}</SourceFilename><SourceBand>${i + 1}</SourceBand><SrcRect xOff="0" yOff="0" xSize="${w}" ySize="${h}"/><DstRect xOff="${px(m.bbox[0] - xmin)}" yOff="${px(ymax - m.bbox[3])}" xSize="${w}" ySize="${h}"/></SimpleSource>`;
      })
      .join('\n');
    return `  <VRTRasterBand dataType="Byte" band="${i + 1}">\n    <ColorInterp>${colour}</ColorInterp>\n${sources}\n  </VRTRasterBand>`;
  });
  return [
    `<VRTDataset rasterXSize="${width}" rasterYSize="${height}">`,
    '  <SRS dataAxisToSRSAxisMapping="1,2">EPSG:2154</SRS>',
    `  <GeoTransform>${xmin}, ${pixelSize}, 0, ${ymax}, 0, ${-pixelSize}</GeoTransform>`,
    ...bands,
    '</VRTDataset>',
    '',
  ].join('\n');
}
