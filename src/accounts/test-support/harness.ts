import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../config/config.js';
import { buildAppContext, type AppContext } from '../../context/app-context.js';
import { buildServer } from '../../server/app.js';
import type { TestDatabase } from '../../test-support/db.js';
import { createAccountsCapability } from '../capability.js';
import { sessionTestPolicy } from './session-policy.js';

export interface Harness {
  app: FastifyInstance;
  ctx: AppContext;
  policy: ReturnType<typeof sessionTestPolicy>;
  dataDir: string;
}

/** A server with only the accounts capability, over a test database, with the session test policy. */
export async function accountsServer(t: TestDatabase, env: Record<string, string>, overrides: Record<string, unknown> = {}): Promise<Harness> {
  const dataDir = t.env.PCRS_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'pcrs-accounts-'));
  mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
  const config = loadConfig({ PCRS_DATA_DIR: dataDir, PCRS_LOG_LEVEL: process.env.ACC_DEBUG === '1' ? 'warn' : 'silent', ...env }, overrides);
  const policy = sessionTestPolicy(t.db, config);
  const ctx = buildAppContext(config, t.db, { access: policy });
  const app = await buildServer(ctx, { logger: process.env.ACC_DEBUG === '1', capabilities: [createAccountsCapability({ failureDelayMs: 5 })] });
  app.addHook('onClose', () => policy.close());
  await app.ready();
  return { app, ctx, policy, dataDir };
}

/** The `pcrs_session` cookie value set by a response. */
export function sessionCookieOf(res: LightMyRequestResponse): string | undefined {
  return res.cookies.find((c) => c.name === 'pcrs_session')?.value;
}
