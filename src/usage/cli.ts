import { OPERATOR } from '../context/access.js';
import { type Command, formatBytes, formatTable, openCommandContext, parseCommandArgs, print } from '../cli/command.js';
import { UsageService, statsToCsv, type StatsAnswer } from './service.js';

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));

function table(answer: StatsAnswer): string {
  const headers: string[] = [];
  for (const g of answer.groupBy) headers.push(g === 'org' ? 'ORGANISATION' : g.toUpperCase());
  headers.push('REQUESTS', 'BYTES');
  const rows = answer.rows.map((r) => {
    const line: Array<string | number | null> = [];
    for (const g of answer.groupBy) {
      if (g === 'org') line.push(r.organisation ? (r.organisation.slug ?? r.organisation.name) : '(anonymous)');
      else if (g === 'key') line.push(r.key ? `${r.key.prefix ?? `#${r.key.id}`} ${r.key.name}` : '(no key)');
      else line.push(r[g] ?? null);
    }
    line.push(r.requests, formatBytes(r.bytes));
    return line;
  });
  return `${formatTable(headers, rows)}\n\nTotal: ${answer.totals.requests} requests, ${formatBytes(answer.totals.bytes)} (${answer.from} … ${answer.to}, by ${answer.granularity})`;
}

/** `pcrs stats`: the usage statistics the API gives, for the operator (every organisation). */
export const statsCommand: Command = {
  name: 'stats',
  summary: 'Usage statistics: requests and bytes per day/month, organisation, key, layer, service, status',
  usage: 'pcrs stats [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--group-by day,org,key,layer,service,status|month,…] [--organisation SLUG,…] [--service S,…] [--layer L,…] [--csv|--json]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, {
      from: { type: 'string' },
      to: { type: 'string' },
      'group-by': { type: 'string' },
      organisation: { type: 'string' },
      service: { type: 'string' },
      layer: { type: 'string' },
      csv: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const ctx = await openCommandContext();
    try {
      const answer = await new UsageService(ctx).stats(OPERATOR, {
        from: values.from,
        to: values.to,
        groupBy: values['group-by'],
        organisations: list(values.organisation),
        services: list(values.service),
        layers: list(values.layer),
      });
      if (values.csv) process.stdout.write(statsToCsv(answer));
      else if (values.json) print(JSON.stringify(answer, null, 2));
      else if (answer.rows.length === 0) print(`No usage counted from ${answer.from} to ${answer.to} (servers write their counters every usage.flushSeconds).`);
      else print(table(answer));
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
