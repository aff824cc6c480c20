import { AuditLog } from '../audit/audit-log.js';
import type { AssetStore } from '../catalog/asset-store.js';
import { Catalog } from '../catalog/catalog.js';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { JobStore } from '../jobs/jobs.js';
import { createMailer, type Mailer } from '../notify/mailer.js';
import { openTiers, type TierStores } from '../storage/tiers.js';
import { PlatformAccessPolicy } from '../access/policy.js';
import { UsageMeter } from '../usage/meter.js';
import type { AccessPolicy } from './access.js';
import { createLogger, type Logger } from './logger.js';

/**
 * What every capability works with, built once per process: configuration, catalogue database and
 * its stores, the storage tiers (opened once: an S3 client per use would cost a connection pool
 * each time), who may do what, and the one logger. Lives below every capability; the server, the
 * CLI and the tests build it the same way.
 */
export interface AppContext {
  config: Config;
  db: Database;
  catalog: Catalog;
  assets: AssetStore;
  jobs: JobStore;
  tiers: TierStores;
  access: AccessPolicy;
  /** Append-only record of sensitive acts (sign-ins, grants, keys, restores, admin actions). */
  audit: AuditLog;
  /** E-mail (SMTP from `mail.smtpUrl`, else .eml files under the data dir). */
  mail: Mailer;
  /** Usage counters of this process, written in batches (src/usage). */
  usage: UsageMeter;
  log: Logger;
}

export interface ContextParts {
  /** Storage tiers (default: opened from the configuration). */
  tiers?: Partial<TierStores>;
  access?: AccessPolicy;
  mail?: Mailer;
  log?: Logger;
}

/** Wires a context over an open database (tests pass their own tiers or policy). */
export function buildAppContext(config: Config, db: Database, parts: ContextParts = {}): AppContext {
  const tiers = { ...openTiers(config), ...parts.tiers };
  const catalog = new Catalog(db);
  const log = parts.log ?? createLogger(config);
  return {
    config,
    db,
    catalog,
    assets: catalog.assets,
    jobs: new JobStore(db),
    tiers,
    access: parts.access ?? new PlatformAccessPolicy(db, config, { log }),
    audit: new AuditLog(db),
    mail: parts.mail ?? createMailer(config, log),
    usage: new UsageMeter(db, { flushMs: config.usage.flushSeconds * 1000, log }),
    log,
  };
}

/** Opens the catalogue database, applies pending migrations and wires the context. */
export async function createAppContext(config: Config, options: { migrate?: boolean } & ContextParts = {}): Promise<AppContext & { close(): Promise<void> }> {
  const db = await openDatabase(config);
  try {
    if (options.migrate !== false) await migrate(db);
    const ctx = buildAppContext(config, db, options);
    await ctx.catalog.ensureStandardDatasets(config.territory.code);
    return {
      ...ctx,
      async close() {
        await ctx.access.close?.().catch(() => undefined);
        await ctx.usage.close().catch(() => undefined);
        await db.close();
      },
    };
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e;
  }
}
