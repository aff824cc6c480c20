import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { Catalog } from '../../catalog/catalog.js';
import { loadConfig, type Config } from '../../config/config.js';
import { buildAppContext, type AppContext } from '../../context/app-context.js';
import { buildServer } from '../../server/app.js';
import { freshPglite, type TestDatabase } from '../../test-support/db.js';

/** Debian's chromium (playwright-core drives it); tests of the portal run only where it and the built portal exist. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PORTAL_BUILT = existsSync(fileURLToPath(new URL('../../../portal/dist/index.html', import.meta.url)));
export const CAN_RUN_BROWSER = existsSync(CHROMIUM) && PORTAL_BUILT;

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
}

export interface PortalServer {
  t: TestDatabase;
  ctx: AppContext;
  config: Config;
  app: FastifyInstance;
  base: string;
  dispose(): Promise<void>;
}

/** The real server (every capability of src/capabilities.ts) on loopback, on a fresh PGlite, without imagery. */
export async function portalServer(env: Record<string, string> = {}): Promise<PortalServer> {
  const t = await freshPglite();
  const config = loadConfig({ PCRS_DATA_DIR: t.env.PCRS_DATA_DIR as string, PCRS_LOG_LEVEL: 'silent', ...env });
  await new Catalog(t.db).ensureStandardDatasets('46');
  const ctx = buildAppContext(config, t.db);
  const app = await buildServer(ctx, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    t,
    ctx,
    config,
    app,
    base,
    async dispose() {
      await app.close();
      await t.dispose();
    },
  };
}

/** Screenshots of the screens as test artifacts (tmp/portal-screens/<name>.png, not committed). */
export const SCREENS_DIR = fileURLToPath(new URL('../../../tmp/portal-screens/', import.meta.url));

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENS_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENS_DIR}${name}.png`, fullPage: true });
}
