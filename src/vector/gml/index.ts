/**
 * Vector PCRS (CNIG PCRS v2.0 GML): feature model, streaming reader, validator.
 *
 *   for await (const f of readPcrsGml('delivery.gml')) …            // PcrsFeature, one at a time
 *   const report = await validateGmlFile('delivery.gml', { territoryBbox });
 *   console.log(formatReportText(report));
 */
export * from './pcrs-model.js';
export { readPcrsGml, GmlReadError, type GmlReadOptions, type GmlHeader } from './gml-reader.js';
export { validateGmlFile, type ValidateOptions } from './validate.js';
export { formatReportText, formatReportJson, RULES, type Finding, type ValidationReport, type Severity, type RuleDef } from './report.js';
export { parseSrsName, SUPPORTED_GML_CRS, type SrsNameInfo, type Bbox } from './srs-name.js';
export { DEFAULT_SCHEMAS_DIR, PCRS_XSD, PCRS_INFO_XSD } from './xsd.js';
