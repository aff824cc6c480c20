import { writeFileSync } from 'node:fs';
import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { planToPdf, planToXlsx } from './reports.js';
import { FinancingService, planToCsv } from './service.js';

function yearOf(command: Command, text: string | undefined): number {
  if (text === undefined) throw usageError(command, '--year is required.');
  if (!/^\d{4}$/.test(text)) throw usageError(command, `--year must be a year (YYYY), got '${text.slice(0, 20)}'.`);
  return Number(text);
}

/** `pcrs financing report|entries`: the plan of a year for the committee. */
export const financingCommand: Command = {
  name: 'financing',
  summary: 'The financing plan: a year’s report (six lines, shares per partner, balances) and its entered amounts',
  usage: 'pcrs financing report --year YYYY [--format csv|xlsx|pdf|json] [-o FILE] | pcrs financing entries --year YYYY [--json]',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'report') {
      const { values } = parseCommandArgs(this, rest, { year: { type: 'string' }, format: { type: 'string' }, output: { type: 'string', short: 'o' } });
      const year = yearOf(this, values.year);
      const format = values.format ?? 'csv';
      if (format !== 'csv' && format !== 'json' && format !== 'xlsx' && format !== 'pdf') throw usageError(this, `--format must be csv, xlsx, pdf or json, got '${format.slice(0, 20)}'.`);
      if ((format === 'xlsx' || format === 'pdf') && !values.output) throw usageError(this, `--format ${format} writes a file: give -o FILE.`);
      const ctx = await openCommandContext();
      try {
        const plan = await new FinancingService(ctx).plan(year);
        const text = format === 'csv' ? planToCsv(plan) : format === 'xlsx' ? await planToXlsx(plan) : format === 'pdf' ? await planToPdf(plan, ctx.config.territory.name) : `${JSON.stringify(plan, null, 2)}\n`;
        if (values.output) {
          writeFileSync(values.output, text);
          process.stderr.write(`Financing plan ${year} written to ${values.output} (${plan.lines.length} lines, ${plan.partners.length} partners${plan.warnings.length ? `, ${plan.warnings.length} warning(s)` : ''}).\n`);
        } else process.stdout.write(text);
        for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
        return 0;
      } finally {
        await ctx.close();
      }
    }
    if (sub === 'entries') {
      const { values } = parseCommandArgs(this, rest, { year: { type: 'string' }, json: { type: 'boolean' } });
      const year = yearOf(this, values.year);
      const ctx = await openCommandContext();
      try {
        const entries = await new FinancingService(ctx).store.entries(year);
        if (values.json) print(JSON.stringify(entries, null, 2));
        else if (entries.length === 0) print(`No amount entered for ${year}.`);
        else print(formatTable(['ID', 'LINE', 'KIND', 'AMOUNT EUR', 'LABEL', 'SUPPLIER/FUNDER'], entries.map((e) => [e.id, e.line, e.kind, e.amountEur.toFixed(2), e.label, e.supplier ?? (e.funder === 'partner' ? `partner ${e.organisation?.slug ?? ''}` : e.funder)])));
        return 0;
      } finally {
        await ctx.close();
      }
    }
    throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command: report or entries.');
  },
};
