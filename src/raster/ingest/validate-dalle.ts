import { basename } from 'node:path';
import type { Territory } from '../../config/config.js';
import { bboxIntersects, type Bbox } from '../../grid/bbox.js';
import { transformPoint } from '../../grid/crs.js';
import { dalleRefFromBbox, formatDalleName, parseDalleName, type DalleRef } from '../../grid/dalle-grid.js';
import type { RasterInfo } from '../raster-info.js';
import { errorMessage } from '../../util/errors.js';

/**
 * Rules a delivered orthophoto dalle must satisfy, checked on what GDAL reads from the file
 * (never on its name alone). Pure: the I/O (gdalinfo, decoding the last block) happens in the
 * caller, which passes the results in.
 */

export type Severity = 'error' | 'warning';

export interface Finding {
  severity: Severity;
  rule: string;
  message: string;
}

export interface DalleValidation {
  status: 'ok' | 'warning' | 'rejected';
  findings: Finding[];
  /** Grid cell in the source CRS (Lambert-93 or the CC zone), when the extent is on a grid. */
  ref?: DalleRef;
  sourceCrs?: string;
  /** Lambert-93 bbox of the footprint. */
  bbox2154?: Bbox;
  /** Exact Lambert-93 ring when delivered in a CC zone (a rotated quadrilateral). */
  footprintRing?: Array<[number, number]>;
  /** Name the catalogue uses: the IGN pattern computed from the georeferencing. */
  canonicalName?: string;
  hasAlpha: boolean;
}

export interface ValidationOptions {
  territory: Territory;
  /** Millésime for the canonical name when the file name does not carry one. */
  year: number;
  /** Accepted deviation of the pixel size from 5 cm, in metres. */
  pixelSizeTolerance: number;
  /** Accepted deviation of the extent from the grid, in metres. */
  gridTolerance: number;
}

export const DEFAULT_VALIDATION = { pixelSizeTolerance: 0.0005, gridTolerance: 0.01 } as const;

export const TARGET_PIXEL_SIZE = 0.05;

const CC_ZONES = new Set(Array.from({ length: 9 }, (_, i) => `EPSG:${3942 + i}`));

function fmt(n: number): string {
  return Number(n.toFixed(4)).toString();
}

/**
 * Validates a raster for ingest. `readError` is set when the file could not be opened or
 * decoded to its last block; `fileBytes` catches empty files before GDAL's vaguer message.
 */
export function validateDalle(
  file: string,
  fileBytes: number,
  info: RasterInfo | null,
  readError: unknown,
  options: ValidationOptions,
): DalleValidation {
  const findings: Finding[] = [];
  const error = (rule: string, message: string) => findings.push({ severity: 'error', rule, message });
  const warning = (rule: string, message: string) => findings.push({ severity: 'warning', rule, message });
  const result = (extra: Partial<DalleValidation> = {}): DalleValidation => ({
    status: findings.some((f) => f.severity === 'error') ? 'rejected' : findings.length > 0 ? 'warning' : 'ok',
    findings,
    hasAlpha: false,
    ...extra,
  });

  if (fileBytes === 0) {
    error('empty-file', 'The file is empty (0 bytes).');
    return result();
  }
  if (!info) {
    error('unreadable', `Not a readable raster: ${readError === undefined ? 'unknown reason' : errorMessage(readError)}`);
    return result();
  }
  if (readError !== undefined && readError !== null) {
    error('truncated', `The raster cannot be decoded to its last block (truncated or corrupted file): ${errorMessage(readError)}`);
  }

  // Bands: 3 × Byte RGB, or 4 with alpha.
  const bands = info.bands;
  if (bands.length === 1) error('band-count', `The image has 1 band (${bands[0]?.colorInterpretation ?? 'grey'}): an RGB image (3 bands, or 4 with alpha) is expected.`);
  else if (bands.length !== 3 && bands.length !== 4) error('band-count', `The image has ${bands.length} bands: an RGB image (3 bands, or 4 with alpha) is expected.`);
  const hasAlpha = bands.length === 4 && (bands[3]?.colorInterpretation ?? '').toLowerCase() === 'alpha';
  if (bands.length === 4 && !hasAlpha) error('band-count', `The 4th band is ${bands[3]?.colorInterpretation ?? 'undefined'}, not alpha: RGB or RGBA expected.`);
  const types = [...new Set(bands.map((b) => b.dataType))];
  if (types.some((t) => t !== 'Byte')) error('data-type', `Pixel type ${types.join('/')}: 8-bit (Byte) samples are expected, not ${types.includes('UInt16') ? '16-bit' : types.join('/')}.`);

  // CRS.
  let sourceCrs: string | undefined;
  if (!info.crs) {
    error('crs-missing', info.crsName ? `The CRS '${info.crsName}' has no EPSG code: Lambert-93 (EPSG:2154) or a CC zone (EPSG:3942–3950) is expected.` : 'The file has no coordinate reference system (no georeferencing).');
  } else if (info.crs === 'EPSG:2154') {
    sourceCrs = info.crs;
  } else if (CC_ZONES.has(info.crs)) {
    sourceCrs = info.crs;
    warning('cc-zone', `Delivered in ${info.crs} (${info.crsName ?? 'CC zone'}): it will be reprojected to Lambert-93 (EPSG:2154).`);
  } else {
    error('crs-unsupported', `Wrong CRS ${info.crs}${info.crsName ? ` (${info.crsName})` : ''}: Lambert-93 (EPSG:2154) or a CC zone (EPSG:3942–3950) is expected.`);
  }

  // Geotransform: north-up, 5 cm.
  const gt = info.geoTransform;
  if (!gt || !info.bbox) {
    error('georef-missing', 'The file has no geotransform (not georeferenced).');
    return result({ hasAlpha });
  }
  if (gt[2] !== 0 || gt[4] !== 0) error('rotated', 'The raster is rotated (geotransform has rotation terms): a north-up image is expected.');
  const px = Math.abs(gt[1]);
  const py = Math.abs(gt[5]);
  if (Math.abs(px - TARGET_PIXEL_SIZE) > options.pixelSizeTolerance || Math.abs(py - TARGET_PIXEL_SIZE) > options.pixelSizeTolerance) {
    error('resolution', `Wrong resolution: pixel ${fmt(px)} × ${fmt(py)} m, expected ${TARGET_PIXEL_SIZE} m (tolerance ${options.pixelSizeTolerance} m).`);
  }
  if (findings.some((f) => f.severity === 'error')) return result({ hasAlpha, ...(sourceCrs ? { sourceCrs } : {}) });

  // Extent on the 1 km / 200 m grid of the source CRS.
  let ref: DalleRef;
  try {
    ref = sourceCrs === 'EPSG:2154' ? dalleRefFromBbox(info.bbox, options.gridTolerance) : dalleRefFromBbox(info.bbox, options.gridTolerance, { checkDomain: false });
  } catch (e) {
    error('grid-misaligned', `Misaligned extent: ${errorMessage(e)}`);
    return result({ hasAlpha, ...(sourceCrs ? { sourceCrs } : {}) });
  }

  // Lambert-93 footprint.
  let bbox2154: Bbox = info.bbox;
  let footprintRing: Array<[number, number]> | undefined;
  if (sourceCrs !== 'EPSG:2154' && sourceCrs) {
    const [xmin, ymin, xmax, ymax] = info.bbox;
    const corners: Array<[number, number]> = [
      [xmin, ymin],
      [xmax, ymin],
      [xmax, ymax],
      [xmin, ymax],
    ].map((p) => transformPoint(sourceCrs as string, 'EPSG:2154', p as [number, number]));
    footprintRing = [...corners, corners[0] as [number, number]];
    const xs = corners.map((c) => c[0]);
    const ys = corners.map((c) => c[1]);
    bbox2154 = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  }
  if (!bboxIntersects(bbox2154, options.territory.extent)) {
    error('outside-territory', `The dalle [${bbox2154.map((v) => Math.round(v)).join(', ')}] lies outside the territory (${options.territory.name}, ${options.territory.code}).`);
  }

  // Name vs georeferencing: the georeferencing wins, a mismatch is reported.
  const fileName = basename(file);
  let canonicalName: string | undefined;
  if (sourceCrs === 'EPSG:2154') {
    canonicalName = formatDalleName({ dep: options.territory.code, year: options.year, ref, ext: 'tif' });
    try {
      const parsed = parseDalleName(fileName);
      // The millésime written by the producer is kept; the version's year only fills in for odd names.
      canonicalName = formatDalleName({ dep: options.territory.code, year: parsed.year, ref, ext: 'tif' });
      if (parsed.ref.size !== ref.size || parsed.ref.col !== ref.col || parsed.ref.row !== ref.row) {
        warning(
          'name-mismatch',
          `Name/georeferencing mismatch: the name says the ${parsed.ref.size} m dalle at (${parsed.ref.col * parsed.ref.size}, ${parsed.ref.row * parsed.ref.size}) but the georeferencing places it at (${ref.col * ref.size}, ${ref.row * ref.size}); the georeferencing is used (${canonicalName}).`,
        );
      } else if (parsed.dep !== options.territory.code) {
        warning('name-departement', `The name says département ${parsed.dep}, the territory is ${options.territory.code}.`);
      }
    } catch (e) {
      warning('name-pattern', `The file name does not follow the IGN pattern (${errorMessage(e)}); catalogued as ${canonicalName}.`);
    }
  } else {
    canonicalName = fileName.replace(/\.(tiff?|jp2)$/i, '');
  }

  return result({ ref, ...(sourceCrs ? { sourceCrs } : {}), bbox2154, ...(footprintRing ? { footprintRing } : {}), canonicalName, hasAlpha });
}
