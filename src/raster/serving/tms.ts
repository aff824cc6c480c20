import { getTileMatrixSet, isTileInMatrix, TMS_2154_5CM, TMS_WEB_MERCATOR_QUAD, type TileMatrixSet } from '../../grid/tile-matrix-set.js';
import { coverageRange } from './layers.js';
import type { RasterLayer } from './layers.js';
import { OgcServiceError } from '../../ogc/ows-exception.js';

/** A tile matrix set as offered by the streams: identifier used in WMTS, levels served. */
export interface StreamTms {
  tms: TileMatrixSet;
  /** WMTS identifier (Géoplateforme: `2154_5cm`, `PM`). */
  wmtsId: string;
  minZ: number;
  maxZ: number;
}

export const STREAM_TMS: readonly StreamTms[] = [
  { tms: TMS_2154_5CM, wmtsId: '2154_5cm', minZ: 6, maxZ: 22 },
  { tms: TMS_WEB_MERCATOR_QUAD, wmtsId: 'PM', minZ: 0, maxZ: 21 },
];

/** The offered set by identifier or alias, or null. */
export function findStreamTms(id: string | undefined): StreamTms | null {
  if (!id) return null;
  try {
    const tms = getTileMatrixSet(id);
    return STREAM_TMS.find((s) => s.tms === tms) ?? null;
  } catch {
    return null;
  }
}

const INT = /^\d{1,9}$/;

/**
 * Validates a tile address: TileMatrix among the offered levels, TileRow/TileCol integers inside the
 * matrix (TileOutOfRange otherwise) and, when `limits`, inside the layer's coverage limits.
 */
export function resolveTile(st: StreamTms, layer: RasterLayer, zText: string | undefined, rowText: string | undefined, colText: string | undefined, limits: boolean): { z: number; col: number; row: number; inCoverage: boolean } {
  if (zText === undefined || zText === '') throw new OgcServiceError('MissingParameterValue', 'Parameter TileMatrix is missing.', 'TileMatrix');
  if (rowText === undefined || rowText === '') throw new OgcServiceError('MissingParameterValue', 'Parameter TileRow is missing.', 'TileRow');
  if (colText === undefined || colText === '') throw new OgcServiceError('MissingParameterValue', 'Parameter TileCol is missing.', 'TileCol');
  // Accept `EPSG:3857:12`-style identifiers some clients send, as the last component.
  const zId = zText.includes(':') ? (zText.split(':').pop() ?? '') : zText;
  if (!INT.test(zId) || Number(zId) < st.minZ || Number(zId) > st.maxZ) {
    throw new OgcServiceError('InvalidParameterValue', `TileMatrix '${zText.slice(0, 40)}' is not in ${st.wmtsId} (levels ${st.minZ}–${st.maxZ}).`, 'TileMatrix');
  }
  const z = Number(zId);
  if (!INT.test(rowText)) throw new OgcServiceError(rowText.startsWith('-') ? 'TileOutOfRange' : 'InvalidParameterValue', `TileRow '${rowText.slice(0, 40)}' is not a tile row.`, 'TileRow');
  if (!INT.test(colText)) throw new OgcServiceError(colText.startsWith('-') ? 'TileOutOfRange' : 'InvalidParameterValue', `TileCol '${colText.slice(0, 40)}' is not a tile column.`, 'TileCol');
  const row = Number(rowText);
  const col = Number(colText);
  const tm = st.tms.tileMatrices[z];
  if (!tm || !isTileInMatrix(st.tms, z, col, 0)) throw new OgcServiceError('TileOutOfRange', `TileCol ${col} is outside 0–${(tm?.matrixWidth ?? 1) - 1} at TileMatrix ${z}.`, 'TileCol');
  if (!isTileInMatrix(st.tms, z, 0, row)) throw new OgcServiceError('TileOutOfRange', `TileRow ${row} is outside 0–${tm.matrixHeight - 1} at TileMatrix ${z}.`, 'TileRow');
  const r = coverageRange(layer, st.tms, z);
  const inCoverage = r !== null && col >= r.minCol && col <= r.maxCol && row >= r.minRow && row <= r.maxRow;
  if (limits && !inCoverage) {
    throw new OgcServiceError('TileOutOfRange', `Tile ${z}/${row}/${col} is outside the TileMatrixSetLimits of layer ${layer.id} in ${st.wmtsId}.`, r && (col < r.minCol || col > r.maxCol) ? 'TileCol' : 'TileRow');
  }
  return { z, col, row, inCoverage };
}
