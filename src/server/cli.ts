import { createAppContext } from '../context/app-context.js';
import type { Config } from '../config/config.js';
import { startServer, waitForShutdownSignal } from './serve.js';
import { commandConfig, parseCommandArgs, print, type Command } from '../cli/command.js';
import { requireSystemTools } from '../cli/commands/doctor.js';
import { createProgress } from '../cli/progress.js';
import { ensureDemo } from '../demo/demo.js';

/** Serves until SIGINT/SIGTERM, then shuts down gracefully. `beforeListen` runs with the context (demo). */
export async function serveUntilStopped(config: Config, beforeListen?: (ctx: Awaited<ReturnType<typeof createAppContext>>, signal: AbortSignal) => Promise<void>): Promise<number> {
  const ctx = await createAppContext(config);
  const setup = new AbortController();
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const stopped = waitForShutdownSignal(async () => {
    setup.abort();
    await server?.stop();
  });
  try {
    if (beforeListen) await beforeListen(ctx, setup.signal);
    if (setup.signal.aborted) return 130;
    server = await startServer(ctx);
    const shown = server.url.replace('0.0.0.0', 'localhost').replace('127.0.0.1', 'localhost');
    print(`PCRS platform ready: ${shown}  (health: ${shown}/health) — Ctrl+C to stop`);
    await stopped;
    return 0;
  } finally {
    await ctx.close();
  }
}

function portOverride(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  return { port: /^\d+$/.test(text) ? Number(text) : text };
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the web server (portal, API, streams)',
  usage: 'pcrs serve [--port N] [--host H]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, { port: { type: 'string' }, host: { type: 'string' } });
    const config = commandConfig({ ...portOverride(values.port), host: values.host });
    return serveUntilStopped(config);
  },
};

export { portOverride };

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
