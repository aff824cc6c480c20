import { openCommandContext, parseCommandArgs, print, type Command } from '../cli/command.js';
import { UserError } from '../util/errors.js';
import { exportMetadata, type ExportFormat } from './export.js';

const FORMATS: readonly ExportFormat[] = ['iso', 'dcat', 'stac'];

/** `pcrs metadata export --format iso|dcat|stac -o DIR [--base-url URL] [--json]`: the public metadata as files. */
export const metadataCommand: Command = {
  name: 'metadata',
  summary: 'Exports the public metadata as files: ISO 19139 records (validated), DCAT-AP (RDF/XML, JSON-LD) or a static STAC catalogue',
  usage: 'pcrs metadata export --format iso|dcat|stac -o DIR [--base-url URL] [--json]',
  async run(argv) {
    const [sub, ...rest] = argv;
    const usage = (message: string) => new UserError('usage', `pcrs ${this.name}: ${message}`, { hint: `Usage: ${this.usage}`, exitCode: 64 });
    if (sub !== 'export') throw usage(sub ? `unknown sub-command '${sub}'.` : 'give a sub-command.');
    const { values } = parseCommandArgs(this, rest, { format: { type: 'string' }, output: { type: 'string', short: 'o' }, 'base-url': { type: 'string' }, json: { type: 'boolean' } });
    const format = values.format as ExportFormat | undefined;
    if (!format || !FORMATS.includes(format)) throw usage(`--format must be one of ${FORMATS.join(', ')}.`);
    if (!values.output) throw usage('give the output directory with -o DIR.');
    const ctx = await openCommandContext();
    try {
      let base = values['base-url'] ?? ctx.config.publicUrl;
      if (base !== undefined && !/^https?:\/\/[^\s]+$/.test(base)) throw usage(`--base-url must be an http(s) URL, got '${base}'.`);
      if (base === undefined) {
        base = `http://localhost:${ctx.config.port}`;
        process.stderr.write(`warning: neither --base-url nor publicUrl (PCRS_PUBLIC_URL) is set: links point at ${base}\n`);
      }
      const result = await exportMetadata(ctx, { format, dir: values.output, base });
      if (values.json) print(JSON.stringify(result, null, 2));
      else print(`${result.files} ${format.toUpperCase()} file(s) written under ${result.dir} (${result.records} public record(s)).`);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
