import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { requireNeed } from '../context/access.js';
import type { DeclarationType, L93Geometry, Status, Theme } from './model.js';
import { toWgs84 } from './service.js';
import type { Declaration } from './store.js';

/**
 * What of a declaration is public — the Atom feed, the webhooks' payloads and the OGC API
 * collection show this and nothing else: no description, no author (name, user, organisation,
 * e-mail), no assignee, no DT-DICT reference, no comments.
 */
export interface PublicDeclaration {
  id: number;
  type: DeclarationType;
  status: Status;
  title: string;
  themes: Theme[];
  plannedStart: string | null;
  plannedEnd: string | null;
  createdAt: string;
  updatedAt: string;
  /** WGS84 (RFC 7946). */
  geometry: L93Geometry;
}

export function publicOf(d: Declaration): PublicDeclaration {
  return {
    id: d.id,
    type: d.type,
    status: d.status,
    title: d.title,
    themes: d.works?.themes ?? [],
    plannedStart: d.works?.plannedStart ?? null,
    plannedEnd: d.works?.plannedEnd ?? null,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    geometry: toWgs84(d.geometry),
  };
}

/** The public reads (feed, OGC collection) need a sign-in when `declarations.publicCollection` is off. */
export function checkPublicRead(request: FastifyRequest, config: Pick<Config, 'declarations'>): void {
  if (!config.declarations.publicCollection) requireNeed(request.caller, { signedIn: true });
}

/** The portal's page of a declaration. */
export const portalLink = (base: string, id: number): string => `${base}/#/declarations/${id}`;
