import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { toCsv, toGeoJson } from './export.js';
import { STATUSES, type Status } from './model.js';
import { DeclarationService } from './service.js';
import type { Declaration } from './store.js';
import { runWorksSubcommand, WORKS_USAGE } from './works-cli.js';

/** `pcrs declarations list|export` (read-only) and the works sub-commands (works-cli.ts), on the server's machine (the operator). */


async function all(service: DeclarationService, statuses?: Status[]): Promise<Declaration[]> {
  const items: Declaration[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await service.list({ ...(statuses ? { statuses } : {}), limit: 500, offset });
    items.push(...page.items);
    if (page.items.length < 500) return items;
  }
}

function parseStatuses(command: Command, text: string | undefined): Status[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((s) => s.trim());
  for (const s of list) if (!(STATUSES as readonly string[]).includes(s)) throw usageError(command, `unknown status '${s.slice(0, 40)}' (one of ${STATUSES.join(', ')}).`);
  return list as Status[];
}

export const declarationsCommand: Command = {
  name: 'declarations',
  summary: 'Declarations (errors, update requests, works, interventions): list, export as CSV or GeoJSON, import the DT-DICT CSV, mark ended works "to update"',
  usage: `pcrs declarations list [--status S[,S…]] [--json] | pcrs declarations export --format csv|geojson [--status S] | ${WORKS_USAGE}`,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'list') {
      const { values } = parseCommandArgs(this, rest, { status: { type: 'string' }, json: { type: 'boolean' } });
      const statuses = parseStatuses(this, values.status);
      const ctx = await openCommandContext();
      try {
        const items = await all(new DeclarationService(ctx), statuses);
        if (values.json) print(JSON.stringify(items, null, 2));
        else print(formatTable(['ID', 'TYPE', 'STATUS', 'TITLE', 'ORGANISATION', 'UPDATED'], items.map((d) => [d.id, d.type, d.status, d.title.replace(/\s+/g, ' ').slice(0, 60), d.author.organisation?.slug ?? '', d.updatedAt.slice(0, 19)])));
        return 0;
      } finally {
        await ctx.close();
      }
    }
    if (sub === 'export') {
      const { values } = parseCommandArgs(this, rest, { format: { type: 'string' }, status: { type: 'string' } });
      if (values.format !== 'csv' && values.format !== 'geojson') throw usageError(this, '--format csv or --format geojson is required.');
      const statuses = parseStatuses(this, values.status);
      const ctx = await openCommandContext();
      try {
        const items = await all(new DeclarationService(ctx), statuses);
        process.stdout.write(values.format === 'csv' ? toCsv(items) : `${toGeoJson(items)}\n`);
        return 0;
      } finally {
        await ctx.close();
      }
    }
    const works = await runWorksSubcommand(this, sub, rest);
    if (works !== null) return works;
    throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command.');
  },
};
