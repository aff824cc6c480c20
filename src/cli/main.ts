import { CAPABILITIES } from '../capabilities.js';
import { serveCommand, startCommand } from '../server/cli.js';
import { errorMessage, isUserError } from '../util/errors.js';
import { PACKAGE_VERSION } from '../util/package-info.js';
import type { Command } from './command.js';
import { doctorCommand } from './commands/doctor.js';
import { migrateCommand } from './commands/migrate.js';

/** The server's commands and the platform's, then each capability's (src/capabilities.ts). */
export const COMMANDS: Command[] = [startCommand, serveCommand, migrateCommand, doctorCommand, ...CAPABILITIES.flatMap((c) => c.commands ?? [])];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `pcrs ${PACKAGE_VERSION} — store, serve and keep alive a PCRS`,
    '',
    'Usage: pcrs <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `pcrs <command> --help` for the options of a command.',
    'Configuration: PCRS_DATA_DIR, DATABASE_URL, PORT, HOST, PCRS_CONFIG (see README.md).',
  ].join('\n');
}

/** Runs the CLI and returns the exit code. User errors print a message (and a hint), never a stack. */
export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 64;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`pcrs: unknown command '${name}'.\n\n${usage()}\n`);
    return 64;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (isUserError(e)) {
      process.stderr.write(`pcrs ${name}: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
      return e.exitCode;
    }
    process.stderr.write(`pcrs ${name}: unexpected error: ${errorMessage(e)}\n${e instanceof Error && e.stack ? `${e.stack}\n` : ''}`);
    return 70;
  }
}
