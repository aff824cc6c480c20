import { readFileSync } from 'node:fs';
import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { createProgress, type ProgressReporter } from '../cli/progress.js';
import { OPERATOR, type Caller } from '../context/access.js';
import { UserError } from '../util/errors.js';
import { importDtDict, unknownOrganisation, type ImportReport } from './dt-dict.js';
import { loadMapping } from './dt-dict-csv.js';
import { DeclarationStore } from './store.js';
import { marksToCsv, marksToGeoJson, UpdateMarks, type UpdateMark } from './to-update.js';

/**
 * `pcrs declarations import-dt-dict | mark-to-update | to-update`: the works sub-commands, run by
 * the operator on the server's machine.
 */

export const WORKS_USAGE =
  'pcrs declarations import-dt-dict FILE.csv [--mapping FILE.yaml] [--organisation SLUG] [--dry-run] [--json] | pcrs declarations mark-to-update [--as-of YYYY-MM-DD] [--json] | pcrs declarations to-update [--format geojson|csv] [--dataset D] [--version V]';

/** Progress lines only for files big enough to wait for. */
const PROGRESS_FROM_ROWS = 500;


function isoDate(command: Command, text: string): string {
  const ok = /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text)) && new Date(text).toISOString().startsWith(text);
  if (!ok) throw usageError(command, `--as-of '${text.slice(0, 20)}' is not a date YYYY-MM-DD.`);
  return text;
}

function printReport(r: ImportReport): void {
  const what = r.dryRun ? 'would be imported' : 'imported';
  print(`${r.file} (${r.encoding.toUpperCase()}${r.bom ? ' with BOM' : ''}, separator '${r.delimiter}'): ${r.rows} rows — ${r.imported.length} ${what}, ${r.skipped.length} skipped (already declared), ${r.rejected.length} rejected${r.dryRun ? ' (dry run: nothing stored)' : ''}`);
  if (r.skipped.length) {
    print('\nSkipped (DT/DICT number already declared):');
    print(formatTable(['LINE', 'NUMBER', 'DECLARATION'], r.skipped.map((s) => [s.line, s.number, s.existingId === null ? 'earlier in the file' : `n° ${s.existingId}`])));
  }
  if (r.rejected.length) {
    print('\nRejected:');
    print(formatTable(['LINE', 'NUMBER', 'CODE', 'REASON'], r.rejected.map((x) => [x.line, x.number ?? '', x.code, x.reason])));
  }
}

function marksTable(items: readonly UpdateMark[]): string {
  return formatTable(['MARK', 'DECLARATION', 'DT/DICT', 'DATASET', 'VERSION', 'DALLE', 'DUE'], items.map((m) => [m.id, m.declarationId, m.dtDictRef ?? '', m.dataset, m.version, m.dalle ?? '(vector area)', m.dueOn]));
}

/** Runs a works sub-command; null when `sub` is not one of them. */
export async function runWorksSubcommand(command: Command, sub: string | undefined, rest: string[]): Promise<number | null> {
  if (sub === 'import-dt-dict') {
    const { values, positionals } = parseCommandArgs(command, rest, { mapping: { type: 'string' }, organisation: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } }, true);
    if (positionals.length !== 1) throw usageError(command, 'import-dt-dict takes one CSV file.');
    const file = positionals[0] as string;
    if (values.organisation !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(values.organisation)) throw usageError(command, `--organisation '${values.organisation.slice(0, 40)}' is not an organisation slug.`);
    const mapping = loadMapping(values.mapping);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new UserError('unreadable-file', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}.`, { exitCode: 2 });
    }
    const ctx = await openCommandContext();
    try {
      let caller: Caller = OPERATOR;
      if (values.organisation !== undefined) {
        const id = await new DeclarationStore(ctx.db).organisationId(values.organisation);
        if (id === null) throw unknownOrganisation(values.organisation);
        caller = { ...OPERATOR, organisationIds: [id] };
      }
      let progress: ProgressReporter | null = null;
      const report = await importDtDict(ctx, {
        bytes,
        fileName: file,
        mapping,
        caller,
        ...(values.organisation !== undefined ? { organisation: values.organisation } : {}),
        dryRun: values['dry-run'] === true,
        onProgress: (done, total) => {
          if (total < PROGRESS_FROM_ROWS) return;
          progress ??= createProgress('import-dt-dict');
          progress.update(done, total);
        },
      });
      (progress as ProgressReporter | null)?.finish(`${report.imported.length} imported, ${report.skipped.length} skipped, ${report.rejected.length} rejected`);
      if (values.json) print(JSON.stringify(report, null, 2));
      else printReport(report);
      return report.rejected.length > 0 ? 1 : 0;
    } finally {
      await ctx.close();
    }
  }
  if (sub === 'mark-to-update') {
    const { values } = parseCommandArgs(command, rest, { 'as-of': { type: 'string' }, json: { type: 'boolean' } });
    const asOf = values['as-of'] === undefined ? undefined : isoDate(command, values['as-of']);
    const ctx = await openCommandContext();
    try {
      const marks = new UpdateMarks(ctx);
      const added = await marks.mark(asOf);
      if (values.json) print(JSON.stringify({ asOf: asOf ?? null, added: added.length, marks: added }, null, 2));
      else {
        print(`${added.length} new "to update" mark${added.length === 1 ? '' : 's'} (works ended before ${asOf ?? 'today'}).`);
        if (added.length) print(marksTable(added));
      }
      return 0;
    } finally {
      await ctx.close();
    }
  }
  if (sub === 'to-update') {
    const { values } = parseCommandArgs(command, rest, { format: { type: 'string' }, dataset: { type: 'string' }, version: { type: 'string' } });
    if (values.format !== undefined && values.format !== 'geojson' && values.format !== 'csv') throw usageError(command, '--format is geojson or csv.');
    const ctx = await openCommandContext();
    try {
      const marks = new UpdateMarks(ctx);
      const items: UpdateMark[] = [];
      for (let offset = 0; ; offset += 1000) {
        const page = await marks.list({ ...(values.dataset ? { dataset: values.dataset } : {}), ...(values.version ? { version: values.version } : {}), limit: 1000, offset });
        items.push(...page.items);
        if (page.items.length < 1000) break;
      }
      if (values.format === 'geojson') print(JSON.stringify(marksToGeoJson(items)));
      else if (values.format === 'csv') process.stdout.write(marksToCsv(items));
      else print(marksTable(items));
      return 0;
    } finally {
      await ctx.close();
    }
  }
  return null;
}
