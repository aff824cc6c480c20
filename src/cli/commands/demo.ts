import { createAppContext } from '../../app-context.js';
import type { Config } from '../../config/config.js';
import { ensureDemo } from '../../demo/demo.js';
import { runChecks } from '../../system/requirements.js';
import { UserError } from '../../util/errors.js';
import { commandConfig, parseCommandArgs, print, type Command } from '../command.js';
import { createProgress } from '../progress.js';
import { formatChecks } from './doctor.js';
import { portOverride, serveUntilStopped } from './serve.js';

async function requireSystemTools(config: Config): Promise<void> {
  const results = await runChecks(config, { database: false });
  const failed = results.filter((r) => !r.ok && r.required);
  if (failed.length > 0) {
    throw new UserError('requirements', `The system is missing what the platform needs:\n${formatChecks(failed)}`, {
      hint: 'Install the packages above, then run `npm start` again (`npx pcrs doctor` re-checks).',
      exitCode: 69,
    });
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Generate and ingest the synthetic demo delivery (Cahors, 5 cm)',
  usage: 'pcrs demo',
  async run(argv) {
    parseCommandArgs(this, argv, {});
    const config = commandConfig();
    await requireSystemTools(config);
    const ctx = await createAppContext(config);
    try {
      const outcome = await ensureDemo(ctx, { progress: createProgress('demo') });
      print(outcome.message);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};

export const startCommand: Command = {
  name: 'start',
  summary: 'Check the system, migrate, create the demo data if absent, and serve (what `npm start` runs)',
  usage: 'pcrs start [--port N] [--host H] [--no-demo]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, { port: { type: 'string' }, host: { type: 'string' }, 'no-demo': { type: 'boolean' } });
    const config = commandConfig({ ...portOverride(values.port), host: values.host, ...(values['no-demo'] ? { 'demo.enabled': false } : {}) });
    await requireSystemTools(config);
    return serveUntilStopped(config, async (ctx, signal) => {
      if (!config.demo.enabled) return;
      const outcome = await ensureDemo(ctx, { progress: createProgress('demo'), signal });
      print(outcome.message);
    });
  },
};
