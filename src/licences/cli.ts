import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { LicenceService } from './service.js';

/** `pcrs licences show|acceptances`: the texts in force, and who accepted what (operators). */
export const licencesCommand: Command = {
  name: 'licences',
  summary: 'The open licence and the usage charter in force, and who accepted them',
  usage: 'pcrs licences show [licence-ouverte|charter] | pcrs licences acceptances [--limit N] [--json]',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'show') {
      const { positionals } = parseCommandArgs(this, rest, {}, true);
      const id = positionals[0] ?? 'charter';
      if (id !== 'charter' && id !== 'licence-ouverte') throw usageError(this, `unknown licence '${id}': licence-ouverte or charter.`);
      const ctx = await openCommandContext();
      try {
        const l = new LicenceService(ctx).current(id);
        print(`${l.name} — version ${l.version}${l.url ? ` — ${l.url}` : ''}\n\n${l.text}`);
        return 0;
      } finally {
        await ctx.close();
      }
    }
    if (sub === 'acceptances') {
      const { values } = parseCommandArgs(this, rest, { limit: { type: 'string' }, json: { type: 'boolean' } });
      const limit = values.limit === undefined ? 100 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw usageError(this, '--limit must be a whole number from 1 to 100000.');
      const ctx = await openCommandContext();
      try {
        const rows = await new LicenceService(ctx).store.list(limit);
        if (values.json) print(JSON.stringify(rows, null, 2));
        else print(formatTable(['ACCEPTED AT', 'LICENCE', 'VERSION', 'BY'], rows.map((r) => [r.acceptedAt, r.licence, r.version, r.user ?? 'anonymous browser'])));
        return 0;
      } finally {
        await ctx.close();
      }
    }
    throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command.');
  },
};
