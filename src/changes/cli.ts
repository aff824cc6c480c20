import { formatTable, openCommandContext, parseCommandArgs, print, usageError, type Command } from '../cli/command.js';
import { OPERATOR } from '../context/access.js';
import { instant } from './routes.js';
import { changesSince } from './service.js';

/** `pcrs changes --since DATE`: the changes feed from the command line (the operator reads everything). */
export const changesCommand: Command = {
  name: 'changes',
  summary: 'What was published since a date: dalles and vector areas, with their download links',
  usage: 'pcrs changes --since YYYY-MM-DD [--until YYYY-MM-DD] [--json]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, { since: { type: 'string' }, until: { type: 'string' }, json: { type: 'boolean' } });
    if (values.since === undefined) throw usageError(this, '--since is required.');
    for (const [flag, v] of [['since', values.since], ['until', values.until]] as const) {
      if (v !== undefined && !instant.safeParse(v).success) throw usageError(this, `--${flag} '${v}' is not a date YYYY-MM-DD or an ISO 8601 instant.`);
    }
    const ctx = await openCommandContext();
    try {
      const base = ctx.config.publicUrl?.replace(/\/+$/, '') ?? `http://localhost:${ctx.config.port}`;
      const page = await changesSince(ctx, OPERATOR, { since: values.since, until: values.until ?? null, base });
      if (values.json) print(JSON.stringify(page, null, 2));
      else {
        print(`${page.items.length} change(s) published since ${page.since}${page.truncated ? ' (more: ask again from the last one)' : ''}.`);
        if (page.items.length > 0) {
          print(
            formatTable(
              ['PUBLISHED', 'DATASET', 'VERSION', 'WHAT', 'CHANGED', 'DOWNLOAD'],
              page.items.map((c) => [c.publishedAt.slice(0, 16), c.dataset, c.version, c.kind === 'dalle' ? c.name : `${c.file} (${c.features})`, c.kind === 'dalle' && c.changeScore !== null ? `${Math.round(c.changeScore * 1000) / 10} %` : '', c.download]),
            ),
          );
        }
      }
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
