import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context/app-context.js';
import { buildServer } from './app.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** Stops accepting, lets in-flight requests finish, aborts background work at a safe point. */
  stop(): Promise<void>;
  /** Aborted when the server stops: background jobs listen to it to checkpoint and release. */
  signal: AbortSignal;
}

export async function startServer(ctx: AppContext, options: { logger?: boolean } = {}): Promise<RunningServer> {
  const app = await buildServer(ctx, options);
  const controller = new AbortController();
  const address = await app.listen({ host: ctx.config.host, port: ctx.config.port });
  let stopping: Promise<void> | undefined;
  return {
    app,
    url: address,
    signal: controller.signal,
    stop() {
      stopping ??= (async () => {
        controller.abort();
        await app.close();
      })();
      return stopping;
    },
  };
}

/** Resolves on the first SIGINT/SIGTERM after running `onSignal`; a second signal exits at once. */
export function waitForShutdownSignal(onSignal: (signal: NodeJS.Signals) => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let received = false;
    const handler = (signal: NodeJS.Signals) => {
      if (received) {
        process.stderr.write('Second signal: exiting now.\n');
        process.exit(130);
      }
      received = true;
      process.stderr.write(`\n${signal} received: finishing in-flight requests and checkpointing jobs…\n`);
      onSignal(signal).finally(resolve);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
