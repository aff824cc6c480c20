/**
 * Grid module: pure geometry shared by ingest, pyramid, tile services and WMS — bboxes, the
 * Lambert-93 dalle grids and names, tile matrix sets, and CRS transforms.
 */
export * from './bbox.js';
export * from './crs.js';
export * from './dalle-grid.js';
export * from './tile-matrix-set.js';
export { EDGE_TOLERANCE_METRES } from './exact.js';
