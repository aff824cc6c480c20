import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createAppContext, type AppContext } from '../context/app-context.js';
import { createLogger } from '../context/logger.js';
import { loadConfig, type Config } from '../config/config.js';
import { UserError } from '../util/errors.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** A usage error of a command (exit 64), with its usage line as the hint; the CLI prefixes it with `pcrs <command>:`. */
export function usageError(command: Pick<Command, 'name' | 'usage'>, message: string): UserError {
  return new UserError('usage', message, { hint: `Usage: ${command.usage}`, exitCode: 64 });
}

/** Parses a command's flags strictly: an unknown flag or a missing value is a usage error (exit 64). */
export function parseCommandArgs<O extends Options>(command: Pick<Command, 'name' | 'usage'>, argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    throw usageError(command, (e as Error).message);
  }
}

/**
 * The context of a CLI command: logs go to stderr (stdout is the command's output: a key printed
 * alone, JSON for scripts).
 */
export function openCommandContext(config: Config = commandConfig()): Promise<AppContext & { close(): Promise<void> }> {
  return createAppContext(config, { log: createLogger(config, { destination: 'stderr' }) });
}

/** Configuration for a CLI command (environment + PCRS_CONFIG file + flags). */
export function commandConfig(overrides: Record<string, unknown> = {}): Config {
  return loadConfig(process.env, overrides);
}

export function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Fixed-width text table for list commands. */
export function formatTable(headers: string[], rows: Array<Array<string | number | null>>): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null ? '' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/**
 * Runs long CLI work with the application context and a signal that Ctrl+C / SIGTERM aborts: the
 * work checkpoints and stays resumable by running the same command again.
 */
export async function withInterruptibleContext<T>(fn: (ctx: AppContext, signal: AbortSignal) => Promise<T>, config: Config = commandConfig()): Promise<T> {
  const ctx = await openCommandContext(config);
  const controller = new AbortController();
  const onSignal = () => {
    process.stderr.write('\nInterrupted: saving progress; run the same command again to resume.\n');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(ctx, controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await ctx.close();
  }
}
