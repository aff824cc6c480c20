import { ensureDemo } from './demo.js';
import { type Command, commandConfig, openCommandContext, parseCommandArgs, print } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';
import { requireSystemTools } from '../cli/commands/doctor.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Generate and ingest the synthetic demo delivery (Cahors, 5 cm)',
  usage: 'pcrs demo',
  async run(argv) {
    parseCommandArgs(this, argv, {});
    const config = commandConfig();
    await requireSystemTools(config);
    const ctx = await openCommandContext(config);
    try {
      const outcome = await ensureDemo(ctx, { progress: createProgress('demo') });
      print(outcome.message);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
