import type { Config } from '../../config/config.js';
import { UserError } from '../../util/errors.js';
import { runChecks, type CheckResult } from '../../system/requirements.js';
import { commandConfig, parseCommandArgs, print, type Command } from '../command.js';

export function formatChecks(results: CheckResult[]): string {
  return results
    .map((r) => {
      const mark = r.ok ? 'ok  ' : r.required ? 'FAIL' : 'warn';
      return `[${mark}] ${r.name}: ${r.detail}${!r.ok && r.hint ? `\n       fix: ${r.hint}` : ''}`;
    })
    .join('\n');
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Check Node, GDAL, xmllint, the database and the data directories',
  usage: 'pcrs doctor [--json]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, { json: { type: 'boolean' } });
    const config = commandConfig();
    const results = await runChecks(config);
    if (values.json) print(JSON.stringify(results, null, 2));
    else print(formatChecks(results));
    const failed = results.filter((r) => !r.ok && r.required);
    if (!values.json) print(failed.length === 0 ? '\nAll checks passed.' : `\n${failed.length} check(s) failed.`);
    return failed.length === 0 ? 0 : 1;
  },
};

/** Stops a command that needs the system tools (GDAL, xmllint) when they are missing, saying how to install them. */
export async function requireSystemTools(config: Config): Promise<void> {
  const results = await runChecks(config, { database: false });
  const failed = results.filter((r) => !r.ok && r.required);
  if (failed.length > 0) {
    throw new UserError('requirements', `The system is missing what the platform needs:\n${formatChecks(failed)}`, {
      hint: 'Install the packages above, then run `npm start` again (`npx pcrs doctor` re-checks).',
      exitCode: 69,
    });
  }
}
