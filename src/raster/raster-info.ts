import { UserError } from '../util/errors.js';
import { execTool } from '../util/exec.js';

/** What we need to know of a raster file, read by `gdalinfo -json` (GDAL understands every format). */
export interface RasterInfo {
  path: string;
  driver: string;
  width: number;
  height: number;
  bands: Array<{ dataType: string; colorInterpretation: string | null; hasMask: boolean }>;
  /** `EPSG:NNNN` when the CRS carries an EPSG identifier, else null. */
  crs: string | null;
  crsName: string | null;
  /** GDAL geotransform [originX, pixelW, rotX, originY, rotY, pixelH(negative)]. */
  geoTransform: [number, number, number, number, number, number] | null;
  /** [xmin, ymin, xmax, ymax] in the raster's CRS. */
  bbox: [number, number, number, number] | null;
  compression: string | null;
  overviews: number;
  blockSize: [number, number] | null;
}

interface GdalInfoJson {
  driverShortName?: string;
  size?: [number, number];
  coordinateSystem?: { wkt?: string };
  geoTransform?: number[];
  metadata?: { IMAGE_STRUCTURE?: { COMPRESSION?: string } };
  bands?: Array<{ type?: string; colorInterpretation?: string; mask?: { flags?: string[] }; overviews?: unknown[]; block?: [number, number] }>;
}

/** The EPSG code of the outermost object of a WKT2 string (`…ID["EPSG",2154]]` at its end). */
export function epsgFromWkt(wkt: string): string | null {
  const m = /ID\["EPSG",(\d+)\]\]\s*$/.exec(wkt) ?? /AUTHORITY\["EPSG","(\d+)"\]\]\s*$/.exec(wkt);
  return m ? `EPSG:${m[1]}` : null;
}

export function crsNameFromWkt(wkt: string): string | null {
  return /^[A-Z]+CRS\["([^"]+)"/.exec(wkt)?.[1] ?? /^PROJCS\["([^"]+)"/.exec(wkt)?.[1] ?? null;
}

export function rasterInfoFromJson(path: string, json: GdalInfoJson): RasterInfo {
  const [width, height] = json.size ?? [0, 0];
  const wkt = json.coordinateSystem?.wkt ?? '';
  const gt = json.geoTransform && json.geoTransform.length === 6 ? (json.geoTransform as RasterInfo['geoTransform']) : null;
  let bbox: RasterInfo['bbox'] = null;
  if (gt) {
    const xs = [gt[0], gt[0] + width * gt[1] + height * gt[2]];
    const ys = [gt[3], gt[3] + width * gt[4] + height * gt[5]];
    bbox = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  }
  const bands = (json.bands ?? []).map((b) => ({
    dataType: b.type ?? 'Unknown',
    colorInterpretation: b.colorInterpretation ?? null,
    hasMask: (b.mask?.flags ?? []).includes('PER_DATASET') || (b.mask?.flags ?? []).includes('ALPHA'),
  }));
  return {
    path,
    driver: json.driverShortName ?? 'unknown',
    width,
    height,
    bands,
    crs: wkt ? epsgFromWkt(wkt) : null,
    crsName: wkt ? crsNameFromWkt(wkt) : null,
    geoTransform: gt,
    bbox,
    compression: json.metadata?.IMAGE_STRUCTURE?.COMPRESSION ?? null,
    overviews: json.bands?.[0]?.overviews?.length ?? 0,
    blockSize: json.bands?.[0]?.block ?? null,
  };
}

/**
 * Reads a raster's structure. Not a raster / unreadable ⇒ UserError('not-a-raster') with GDAL's
 * own words; GDAL missing ⇒ UserError('tool-missing') with the install command.
 */
export async function readRasterInfo(path: string): Promise<RasterInfo> {
  const { stdout, stderr, code } = await execTool('gdalinfo', ['-json', '-norat', '-noct', path], { timeoutMs: 60_000 });
  if (code !== 0) {
    const reason = stderr.replace(/^ERROR \d+: /gm, '').trim().split('\n')[0] || `gdalinfo exited with ${code}`;
    throw new UserError('not-a-raster', `Not a readable raster: ${reason}`, { status: 422 });
  }
  let json: GdalInfoJson;
  try {
    json = JSON.parse(stdout) as GdalInfoJson;
  } catch {
    throw new UserError('not-a-raster', 'gdalinfo returned no usable description of the file.', { status: 422 });
  }
  return rasterInfoFromJson(path, json);
}
