import { ANONYMOUS, type AccessPolicy } from '../../context/access.js';
import type { Database } from '../../db/database.js';
import { findSessionCaller } from '../sessions.js';

/**
 * For tests until the access branch's policy is merged: identifies session cookies with
 * `findSessionCaller` (what the real policy calls), everything else is anonymous and open. Keeps
 * the invalidations it was asked for.
 */
export function sessionTestPolicy(db: Database, slideHours = 24): AccessPolicy & { invalidations: Array<{ userId?: number; keyId?: number; all?: boolean }> } {
  const invalidations: Array<{ userId?: number; keyId?: number; all?: boolean }> = [];
  return {
    invalidations,
    async identify(credentials) {
      if (credentials.session) return (await findSessionCaller(db, credentials.session, { slideHours })) ?? ANONYMOUS;
      return ANONYMOUS;
    },
    async checkRead() {},
    async canRead() {
      return true;
    },
    async invalidate(what) {
      invalidations.push(what);
    },
  };
}
