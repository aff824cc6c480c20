import { isUserError } from '../util/errors.js';
import { xmlEscape } from '../util/xml.js';

/**
 * OGC service errors, for every OGC service of the platform. WMTS (1.0.0) and WFS (2.0.0) answer an
 * OWS 1.1 ExceptionReport, WMS 1.3.0 a ServiceExceptionReport
 * (the REST API's problem+json is not understood by GIS clients). Codes are the standards' own
 * (`TileOutOfRange`, `InvalidParameterValue`, `MissingParameterValue`, `LayerNotDefined`,
 * `InvalidCRS`, `InvalidFormat`, `StyleNotDefined`, `InvalidPoint`, …); the HTTP status is always 4xx
 * for bad input, as OWS Common 1.1 recommends for WMTS and we also do for WMS.
 */
export class OgcServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly locator?: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'OgcServiceError';
  }
}

export const missing = (name: string) => new OgcServiceError('MissingParameterValue', `Parameter ${name} is missing.`, name);
export const invalid = (name: string, message: string) => new OgcServiceError('InvalidParameterValue', message, name);

export type OwsService = 'wms' | 'wmts' | 'wfs' | 'csw';

/** OWS Common 1.1 ExceptionReport; `version` is the service's (WMTS 1.0.0, WFS 2.0.0). */
export function owsExceptionReport(e: OgcServiceError, version = '1.0.0'): string {
  const locator = e.locator ? ` locator="${xmlEscape(e.locator)}"` : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<ExceptionReport xmlns="http://www.opengis.net/ows/1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
    `xsi:schemaLocation="http://www.opengis.net/ows/1.1 http://schemas.opengis.net/ows/1.1.0/owsExceptionReport.xsd" version="${version}" xml:lang="fr">\n` +
    `  <Exception exceptionCode="${xmlEscape(e.code)}"${locator}>\n    <ExceptionText>${xmlEscape(e.message)}</ExceptionText>\n  </Exception>\n</ExceptionReport>\n`
  );
}

/** OWS Common 1.0 ExceptionReport (version 1.2.0), what CSW 2.0.2 answers (OGC 07-006r1, 10.3.7). */
export function ows10ExceptionReport(e: OgcServiceError): string {
  const locator = e.locator ? ` locator="${xmlEscape(e.locator)}"` : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
    'xsi:schemaLocation="http://www.opengis.net/ows http://schemas.opengis.net/ows/1.0.0/owsExceptionReport.xsd" version="1.2.0" language="fr">\n' +
    `  <ows:Exception exceptionCode="${xmlEscape(e.code)}"${locator}>\n    <ows:ExceptionText>${xmlEscape(e.message)}</ows:ExceptionText>\n  </ows:Exception>\n</ows:ExceptionReport>\n`
  );
}

export function wmsExceptionReport(e: OgcServiceError): string {
  const locator = e.locator ? ` locator="${xmlEscape(e.locator)}"` : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<ServiceExceptionReport xmlns="http://www.opengis.net/ogc" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
    'xsi:schemaLocation="http://www.opengis.net/ogc http://schemas.opengis.net/wms/1.3.0/exceptions_1_3_0.xsd" version="1.3.0">\n' +
    `  <ServiceException code="${xmlEscape(e.code)}"${locator}>${xmlEscape(e.message)}</ServiceException>\n</ServiceExceptionReport>\n`
  );
}

/** Any thrown value as an OGC error: user errors keep their 4xx, anything else is a 500 (a bug, logged). */
export function toOgcError(e: unknown): OgcServiceError {
  if (e instanceof OgcServiceError) return e;
  if (isUserError(e)) {
    const code =
      e.code === 'tile-out-of-range' || e.code === 'invalid-tile-matrix'
        ? 'TileOutOfRange'
        : e.code === 'unsupported-crs'
          ? 'InvalidCRS'
          : e.status === 401 || e.status === 403
            ? 'OperationNotSupported'
            : 'InvalidParameterValue';
    return new OgcServiceError(code, e.message, undefined, e.status >= 400 && e.status < 500 ? e.status : 400);
  }
  // Fastify's own client errors (a body too large, a bad content type) keep their 4xx.
  const status = (e as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new OgcServiceError('NoApplicableCode', (e as Error).message, undefined, status);
  return new OgcServiceError('NoApplicableCode', 'Internal error.', undefined, 500);
}

