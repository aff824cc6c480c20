import { PlatformAccessPolicy } from '../../access/policy.js';
import type { Config } from '../../config/config.js';
import type { Database } from '../../db/database.js';

type Invalidation = { userId?: number; keyId?: number; all?: boolean };

/** The platform's policy, keeping the invalidations it was asked for (tests assert the accounts flows tell it). */
export class RecordingPolicy extends PlatformAccessPolicy {
  readonly invalidations: Invalidation[] = [];

  override async invalidate(what: Invalidation): Promise<void> {
    this.invalidations.push(what);
    await super.invalidate(what);
  }
}

export function sessionTestPolicy(db: Database, config: Pick<Config, 'secretKey' | 'dataDir' | 'auth'>): RecordingPolicy {
  return new RecordingPolicy(db, config);
}
