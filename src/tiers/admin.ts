import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { UserError } from '../util/errors.js';

/**
 * TEMPORARY role check for technical endpoints (archive, restore, fixity, usage and cost), until
 * accounts and roles exist: the request must carry the configured admin token
 * (`PCRS_ADMIN_TOKEN` / `adminToken`) in `X-PCRS-Admin-Token`. Without a configured token these
 * endpoints are disabled (403). No role is ever taken from a client-chosen header.
 * The accounts work replaces this function by a check of the caller's role ("technical").
 */
export function requireTechnicalRole(config: Config, request: FastifyRequest): { requester: string } {
  const expected = config.adminToken;
  if (!expected) {
    throw new UserError('admin-disabled', 'This technical endpoint is disabled: no admin token is configured.', {
      status: 403,
      hint: 'Set PCRS_ADMIN_TOKEN (at least 16 characters) on the server and send it in the X-PCRS-Admin-Token header. Accounts with roles will replace this.',
    });
  }
  const given = request.headers['x-pcrs-admin-token'];
  if (typeof given !== 'string' || given === '') {
    throw new UserError('unauthenticated', 'This technical endpoint needs the admin token (X-PCRS-Admin-Token header).', { status: 401 });
  }
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new UserError('forbidden', 'Wrong admin token.', { status: 403 });
  const who = request.headers['x-pcrs-requester'];
  return { requester: typeof who === 'string' && who.trim() !== '' ? who.trim().slice(0, 200) : 'admin' };
}
