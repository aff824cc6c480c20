import type { FastifyRequest } from 'fastify';
import { UserError } from '../util/errors.js';

/** What a request asks to read: a dataset, optionally one version (else the current layer). */
export interface ReadTarget {
  datasetId: string;
  version?: string;
}

/**
 * Who may read what. Every stream and download handler calls `checkRead` before answering.
 * Today every layer is open data (Licence Ouverte) and the policy allows all; the accounts work
 * plugs organisations, roles and tokens in here. Credentials are taken from the `apikey` query
 * parameter (Géoplateforme convention, what QGIS users paste into URLs) or an
 * `Authorization: Bearer` header.
 */
export interface AccessPolicy {
  checkRead(request: FastifyRequest, target: ReadTarget): Promise<void>;
}

export function credentialOf(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim() || undefined;
  const q = request.query as Record<string, unknown> | undefined;
  const key = q?.apikey ?? q?.APIKEY;
  return typeof key === 'string' && key !== '' ? key : undefined;
}

export const OPEN_DATA_POLICY: AccessPolicy = {
  async checkRead() {
    // Open data: nothing to check.
  },
};

/** For tests of the hook: refuses everything without the given key. */
export function requireKeyPolicy(key: string): AccessPolicy {
  return {
    async checkRead(request) {
      const given = credentialOf(request);
      if (given === undefined) throw new UserError('unauthenticated', 'This layer needs an API key (apikey parameter or Bearer token).', { status: 401 });
      if (given !== key) throw new UserError('forbidden', 'This API key may not read this layer.', { status: 403 });
    },
  };
}
