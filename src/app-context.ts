import { Catalog } from './catalog/catalog.js';
import type { Config } from './config/config.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import type { AppContext } from './server/app.js';
import { JobStore } from './jobs/jobs.js';

/** Opens the catalogue database, applies pending migrations and wires the services. */
export async function createAppContext(config: Config, options: { migrate?: boolean } = {}): Promise<AppContext & { close(): Promise<void> }> {
  const db = await openDatabase(config);
  try {
    if (options.migrate !== false) await migrate(db);
    const catalog = new Catalog(db);
    await catalog.ensureStandardDatasets(config.territory.code);
    return { config, db, catalog, jobs: new JobStore(db), close: () => db.close() };
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e;
  }
}
