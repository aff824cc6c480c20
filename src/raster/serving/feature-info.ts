import type { Dalle, VersionProvenance } from '../../catalog/catalog.js';
import type { StreamsContext } from './streams-context.js';
import type { RasterLayer } from './layers.js';
import { xmlEscape } from '../../util/xml.js';

export interface DalleInfo {
  name: string;
  version: string;
  date: string | null;
  bbox: readonly number[];
  download: string;
  /** True for the dalle whose pixels the layer shows (highest-priority version). */
  shown: boolean;
  /** The partner's contribution its version comes from, if any. */
  provenance: VersionProvenance | null;
}

/** The dalles under a Lambert-93 point in a layer (current: every published version, the shown one first). */
export async function dallesAt(s: StreamsContext, layer: RasterLayer, x: number, y: number, base: string): Promise<DalleInfo[]> {
  const versions = layer.version ? [layer.version] : (await s.layers.list()).flatMap((l) => (l.version ? [l.version] : [])).sort((a, b) => b.priority - a.priority);
  const out: DalleInfo[] = [];
  for (const v of versions) {
    const dalles: Dalle[] = await s.app.catalog.listDalles({ versionId: v.id, bbox: [x, y, x, y], limit: 10 });
    for (const d of dalles) {
      out.push({
        name: d.name,
        version: v.name,
        date: d.acquisitionDate ?? v.acquisitionDate,
        bbox: d.bbox,
        download: `${base}/api/datasets/${encodeURIComponent(v.datasetId)}/versions/${encodeURIComponent(v.name)}/dalles/${encodeURIComponent(d.name)}/download`,
        shown: out.length === 0,
        provenance: v.provenance,
      });
    }
  }
  return out;
}

export function featureInfoJson(layer: RasterLayer, x: number, y: number, dalles: DalleInfo[]): unknown {
  return {
    type: 'FeatureCollection',
    layer: layer.id,
    point: { crs: 'EPSG:2154', coordinates: [x, y] },
    features: dalles.map((d) => {
      const [xmin, ymin, xmax, ymax] = d.bbox as [number, number, number, number];
      return {
        type: 'Feature',
        id: `${d.version}/${d.name}`,
        geometry: { type: 'Polygon', coordinates: [[[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax], [xmin, ymin]]] },
        properties: { name: d.name, version: d.version, date: d.date, download: d.download, shown: d.shown, provenance: d.provenance },
      };
    }),
  };
}

export function featureInfoHtml(layer: RasterLayer, dalles: DalleInfo[]): string {
  const rows = dalles
    .map((d) => `<tr${d.shown ? ' class="shown"' : ''}><td>${xmlEscape(d.name)}</td><td>${xmlEscape(d.version)}</td><td>${xmlEscape(d.date ?? '')}</td><td>${xmlEscape(provenanceText(d.provenance))}</td><td><a href="${xmlEscape(d.download)}">télécharger</a></td></tr>`)
    .join('\n');
  return (
    `<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"><title>${xmlEscape(layer.id)}</title></head><body>\n` +
    (dalles.length
      ? `<table><caption>Dalles sous le point — ${xmlEscape(layer.title)}</caption>\n<tr><th>Dalle</th><th>Version</th><th>Date</th><th>Provenance</th><th>Téléchargement</th></tr>\n${rows}\n</table>`
      : '<p>Aucune dalle en ce point.</p>') +
    '\n</body></html>\n'
  );
}

/** "Contribution n° 12 de cahors (Géomètres du Quercy), levé du 2026-10-02", or the APLC's own acquisition. */
export function provenanceText(p: VersionProvenance | null): string {
  if (!p) return 'Acquisition de l’APLC';
  return `Contribution n° ${p.contribution} de ${p.organisation}${p.producer ? ` (${p.producer})` : ''}${p.surveyedOn ? `, levé du ${p.surveyedOn}` : ''}`;
}
