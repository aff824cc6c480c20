import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Command } from '../cli/command.js';
import type { OgcRegistry } from '../ogc/registry.js';
import type { AppContext } from './app-context.js';

/**
 * The capability contract. A capability is one folder (`src/<name>/`) that exports one
 * `Capability`; `src/capabilities.ts` lists them, and the server, the CLI and the docs read that
 * list. A capability adds:
 * - HTTP routes, each declaring its zod schemas and its access need (`config.access`), registered
 *   on the Fastify instance it is given (the server refuses a route without an access need);
 * - OGC API providers (collections, conformance classes, OpenAPI parts under /ogc);
 * - CLI commands (`pcrs <name> …`);
 * - background work started when a server listens (schedulers, pollers), stopped on close;
 * - the job kinds it runs and the config keys it reads (documentation: docs/architecture.md).
 * Its tables come from the one migration set (`migrations/`, named `<timestamp>_<capability>_…`).
 */
export type RouteApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

export interface CapabilityServer {
  /** Routes go here; each must declare `config: { access }`. */
  app: RouteApp;
  /** OGC API providers: a capability registers its own (collections under /ogc/collections). */
  ogc: OgcRegistry;
  /** Background work of a listening server (never under app.inject in tests); returns its stop. */
  onListen(start: () => (() => Promise<void>) | void): void;
  /** Releases what the capability opened (files, caches) when the server closes. */
  onClose(fn: () => Promise<void> | void): void;
}

export interface Capability {
  /** Folder name, also the prefix of its migrations and of its log lines. */
  name: string;
  /** One line for docs/architecture.md and `pcrs --help`. */
  summary: string;
  /** Adds routes, OGC providers and background work to a server. */
  http?(server: CapabilityServer, ctx: AppContext): void | Promise<void>;
  /** `pcrs` sub-commands. */
  commands?: readonly Command[];
  /** Kinds of the jobs it runs (the jobs table's `kind`). */
  jobKinds?: readonly string[];
  /** Top-level config keys it reads (config/config.ts holds the one schema). */
  configKeys?: readonly string[];
}
