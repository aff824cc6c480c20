import sharp from 'sharp';
import type { Bbox } from '../grid/bbox.js';
import { transformBbox } from '../grid/crs.js';
import { tileBbox, tileRange, TMS_WEB_MERCATOR_QUAD } from '../grid/tile-matrix-set.js';
import { tileMatrixSetXml } from '../raster/http/wmts.js';
import { findStreamTms } from '../raster/serving/tms.js';
import { xmlEscape } from '../util/xml.js';
import type { CampaignStore } from './store.js';

/** Change map tiles exist from this zoom (≈ 150 m per tile at 20: a 200 m dalle is ≥ 1 px from 11). */
export const CHANGE_MAP_MIN_ZOOM = 8;
export const CHANGE_MAP_MAX_ZOOM = 20;

/**
 * A WebMercatorQuad PNG tile of a campaign's change map: each accepted dalle painted by its change
 * score — transparent below the threshold, then yellow to red (half the dalle changed or more) —
 * so a GIS or the portal shows where the campaign changed the orthophoto.
 */
export async function changeMapTile(store: CampaignStore, campaignId: number, z: number, x: number, y: number, threshold: number): Promise<Buffer> {
  const size = 256;
  const rgba = Buffer.alloc(size * size * 4);
  const [mxmin, mymin, mxmax, mymax] = tileBbox(TMS_WEB_MERCATOR_QUAD, z, x, y);
  const l93 = transformBbox('EPSG:3857', 'EPSG:2154', [mxmin, mymin, mxmax, mymax]);
  for (const d of await store.scoredDallesIn(campaignId, l93)) {
    if (d.score < threshold) continue;
    // Dalles are small: their Web Mercator outline is their corners' box (sub-pixel off at most).
    const [a, b, c, e] = transformBbox('EPSG:2154', 'EPSG:3857', [d.xmin, d.ymin, d.xmax, d.ymax]);
    const px = (v: number) => Math.round(((v - mxmin) / (mxmax - mxmin)) * size);
    const py = (v: number) => Math.round(((mymax - v) / (mymax - mymin)) * size);
    const [x0, x1, y0, y1] = [Math.max(0, px(a)), Math.min(size, px(c)), Math.max(0, py(e)), Math.min(size, py(b))];
    const t = Math.min(1, d.score / 0.5);
    const colour = [255, Math.round(220 * (1 - t)), 0, 170];
    for (let j = y0; j < y1; j++) for (let i = x0; i < x1; i++) rgba.set(colour, (j * size + i) * 4);
  }
  return sharp(rgba, { raw: { width: size, height: size, channels: 4 } }).png({ compressionLevel: 6 }).toBuffer();
}

/** The change map's WMTS layer identifier. */
export const changeMapLayerId = (slug: string) => `PCRS.CHANGES.${slug}`;

/**
 * The change map as a WMTS 1.0.0 service (RESTful, one layer, the `PM` Web Mercator set of the
 * streams, limits from the campaign's area): what QGIS, GDAL or a CAD client add as "WMTS" when
 * they do not take XYZ addresses. Its tiles are the XYZ ones.
 */
export function changeMapCapabilities(c: { slug: string; title: string; bbox: Bbox }, base: string): string {
  const pm = findStreamTms('PM');
  if (!pm) throw new Error('the streams offer no PM tile matrix set');
  const mercator = transformBbox('EPSG:2154', 'EPSG:3857', c.bbox);
  const limits: string[] = [];
  for (let z = CHANGE_MAP_MIN_ZOOM; z <= CHANGE_MAP_MAX_ZOOM; z++) {
    const r = tileRange(TMS_WEB_MERCATOR_QUAD, z, mercator);
    if (r) limits.push(`<TileMatrixLimits><TileMatrix>${z}</TileMatrix><MinTileRow>${r.minRow}</MinTileRow><MaxTileRow>${r.maxRow}</MaxTileRow><MinTileCol>${r.minCol}</MinTileCol><MaxTileCol>${r.maxCol}</MaxTileCol></TileMatrixLimits>`);
  }
  const [w, s, e, n] = transformBbox('EPSG:2154', 'OGC:CRS84', c.bbox).map((v) => Number(v.toFixed(7)));
  const root = `${base}/api/v1/campaigns/${encodeURIComponent(c.slug)}/change-map`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
    'xsi:schemaLocation="http://www.opengis.net/wmts/1.0 http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd" version="1.0.0">\n' +
    '  <ows:ServiceIdentification>\n' +
    `    <ows:Title>${xmlEscape(`Carte des changements — ${c.title}`)}</ows:Title>\n` +
    '    <ows:Abstract>Dalles de la campagne dont l’orthophotographie a changé : du jaune au rouge selon la part changée ; les autres transparentes.</ows:Abstract>\n' +
    '    <ows:ServiceType>OGC WMTS</ows:ServiceType>\n    <ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>\n' +
    '  </ows:ServiceIdentification>\n' +
    '  <ows:OperationsMetadata>\n' +
    ['GetCapabilities', 'GetTile']
      .map(
        (op) =>
          `    <ows:Operation name="${op}"><ows:DCP><ows:HTTP><ows:Get xlink:href="${xmlEscape(root)}/"><ows:Constraint name="GetEncoding"><ows:AllowedValues><ows:Value>RESTful</ows:Value></ows:AllowedValues></ows:Constraint></ows:Get></ows:HTTP></ows:DCP></ows:Operation>\n`,
      )
      .join('') +
    '  </ows:OperationsMetadata>\n' +
    '  <Contents>\n' +
    '    <Layer>\n' +
    `      <ows:Title>${xmlEscape(`Changements — ${c.title}`)}</ows:Title>\n` +
    `      <ows:WGS84BoundingBox><ows:LowerCorner>${w} ${s}</ows:LowerCorner><ows:UpperCorner>${e} ${n}</ows:UpperCorner></ows:WGS84BoundingBox>\n` +
    `      <ows:Identifier>${xmlEscape(changeMapLayerId(c.slug))}</ows:Identifier>\n` +
    '      <Style isDefault="true"><ows:Identifier>default</ows:Identifier></Style>\n' +
    '      <Format>image/png</Format>\n' +
    `      <TileMatrixSetLink><TileMatrixSet>${pm.wmtsId}</TileMatrixSet><TileMatrixSetLimits>${limits.join('')}</TileMatrixSetLimits></TileMatrixSetLink>\n` +
    `      <ResourceURL format="image/png" resourceType="tile" template="${xmlEscape(root)}/{TileMatrix}/{TileCol}/{TileRow}.png"/>\n` +
    '    </Layer>\n' +
    tileMatrixSetXml(pm) +
    '  </Contents>\n' +
    `  <ServiceMetadataURL xlink:href="${xmlEscape(root)}/WMTSCapabilities.xml"/>\n` +
    '</Capabilities>\n'
  );
}
