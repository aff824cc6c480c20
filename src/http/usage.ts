import type { FastifyRequest } from 'fastify';
import type { TileMatrixSet } from '../grid/tile-matrix-set.js';

/**
 * What a request is counted as (issue 15). A route names its service in `config.usage`; a handler
 * that knows more (the layer it actually served, the tile it answered) says so with `noteUsage`.
 * The usage capability's `onResponse` hook reads both; nothing else in a handler changes.
 */
export const USAGE_SERVICES = [
  'wmts',
  'wms',
  'xyz',
  'ogc-api',
  'wfs',
  'vector-tiles',
  'download',
  'extract',
  'restore',
  'declaration',
  'contribution',
  'catalogue',
  'api',
  'portal',
  'other',
] as const;
export type UsageService = (typeof USAGE_SERVICES)[number];

/** What a handler adds to its request's count. */
export interface UsageNote {
  /** The layer, collection or dataset served (capped at 100 characters). */
  layer?: string;
  /** The tile answered: where the heat map counts it. */
  tile?: { tms: TileMatrixSet; z: number; col: number; row: number };
  /** A point (Lambert-93) for answers that are not tiles (a map's centre). */
  at?: readonly [number, number];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The service this route's requests are counted under (default: `api` under /api, else `other`). */
    usage?: UsageService;
  }
  interface FastifyRequest {
    usageNote: UsageNote | null;
  }
}

/** Adds what the handler knows to the request's usage count. */
export function noteUsage(request: FastifyRequest, note: UsageNote): void {
  request.usageNote = { ...request.usageNote, ...note };
}
