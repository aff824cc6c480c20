import type { Capability } from '../context/capability.js';
import { orgCommand, userCommand } from './cli.js';
import { OidcSignin } from './oidc.js';
import { registerAccountRoutes } from './routes.js';
import { AccountService, type ServiceOptions } from './service.js';
import { purgeExpiredSessions } from './sessions.js';
import { purgeStaleFailures } from './throttle.js';
import { purgeStaleTokens } from './tokens.js';

/**
 * Accounts: users, organisations and memberships, passwords (argon2id), sessions (cookie),
 * sign-up → verification → membership request → decision, password reset, sign-in throttling,
 * OpenID Connect, admin routes (users, organisations, members, roles, audit), `pcrs user …` and
 * `pcrs org …`, and the first platform admin from PCRS_ADMIN_EMAIL/PCRS_ADMIN_PASSWORD.
 */
export function createAccountsCapability(options: ServiceOptions = {}): Capability {
  return {
    name: 'accounts',
    summary: 'Users, organisations, memberships, sessions, sign-in (password, OpenID Connect), password reset, admin routes',
    async http(server, ctx) {
      const service = new AccountService(ctx, options);
      const oidcConfig = ctx.config.auth.oidc;
      const oidc = oidcConfig ? new OidcSignin(service, oidcConfig, ctx.config.secretKey ?? oidcConfig.clientSecret) : undefined;
      registerAccountRoutes(server.app, { service, oidc });
      if (!ctx.config.publicUrl) {
        ctx.log.warn('accounts: PCRS_PUBLIC_URL is not set, so links in e-mails (verification, password reset) follow the Host of each request; set it in production');
      }
      // First start: the platform admin of PCRS_ADMIN_EMAIL (nothing once a platform admin exists).
      await service.bootstrapAdmin();
      server.onListen(() => {
        // Expired sessions, used or expired links, old sign-in failures: hourly, idempotent on every node.
        const purge = async () => {
          await purgeExpiredSessions(ctx.db);
          await purgeStaleTokens(ctx.db);
          await purgeStaleFailures(ctx.db);
        };
        const timer = setInterval(() => void purge().catch((e: unknown) => ctx.log.warn({ err: String(e) }, 'accounts: stale rows not purged')), 3600_000);
        timer.unref();
        return async () => clearInterval(timer);
      });
    },
    commands: [userCommand, orgCommand],
    configKeys: ['auth', 'mail', 'secretKey'],
  };
}

export const accountsCapability: Capability = createAccountsCapability();
