import { openDatabase } from '../../db/open.js';
import { migrate } from '../../db/migrate.js';
import { commandConfig, parseCommandArgs, print, type Command } from '../command.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply pending database migrations',
  usage: 'pcrs migrate',
  async run(argv) {
    parseCommandArgs(this, argv, {});
    const config = commandConfig();
    const db = await openDatabase(config);
    try {
      const outcome = await migrate(db);
      if (outcome.applied.length === 0) print(`Database ${db.describe()} is up to date (${outcome.alreadyApplied} migrations).`);
      for (const m of outcome.applied) print(`Applied ${String(m.version).padStart(3, '0')}_${m.name}`);
      return 0;
    } finally {
      await db.close();
    }
  },
};
