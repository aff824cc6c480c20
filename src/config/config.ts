import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UserError } from '../util/errors.js';

/**
 * One validated configuration: defaults ← optional file (PCRS_CONFIG, JSON or YAML) ← environment.
 * The territory is data, never code: another département is a config file away.
 */

const bboxSchema = z
  .tuple([z.number(), z.number(), z.number(), z.number()])
  .refine(([xmin, ymin, xmax, ymax]) => xmin < xmax && ymin < ymax, 'must be [xmin, ymin, xmax, ymax] with xmin < xmax and ymin < ymax');

/** Whether the runtime knows this IANA time zone name. */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const epsgCode = z.string().regex(/^EPSG:\d{4,5}$/, 'must look like EPSG:2154');

export const territorySchema = z.strictObject({
  /** Département code as used in dalle names (46, 2A, 974…). */
  code: z.string().regex(/^(\d{2}|2A|2B|97\d)$/, 'must be a département code such as 46, 2A or 974'),
  name: z.string().min(1),
  /** Lambert-93 extent (EPSG:2154) of the territory, used to check coordinates. */
  extent: bboxSchema,
  crs: z.literal('EPSG:2154').default('EPSG:2154'),
  /** Conic conformal zone (CC42…CC50) used by local surveyors. */
  ccZone: epsgCode.refine((c) => {
    const n = Number(c.slice(5));
    return n >= 3942 && n <= 3950;
  }, 'must be one of EPSG:3942 … EPSG:3950'),
});
export type Territory = z.infer<typeof territorySchema>;

/** The Lot (46): the first user. Extent from the département's outline, rounded out to the km. */
export const LOT_TERRITORY: Territory = {
  code: '46',
  name: 'Lot',
  extent: [530000, 6346000, 628000, 6442000],
  crs: 'EPSG:2154',
  ccZone: 'EPSG:3945',
};

const localTierSchema = z.strictObject({
  type: z.literal('local'),
  /** Directory of the tier (absolute, or relative to the working directory). */
  path: z.string().min(1),
});
const s3TierSchema = z.strictObject({
  type: z.literal('s3'),
  endpoint: z.url().optional(),
  region: z.string().min(1).default('us-east-1'),
  bucket: z.string().min(3),
  prefix: z.string().default(''),
  forcePathStyle: z.boolean().default(false),
  accessKeyId: z.string().optional(),
  secretAccessKey: z.string().optional(),
  /** Storage class of new objects (e.g. DEEP_ARCHIVE for the cold tier). */
  storageClass: z.string().optional(),
});
export const tierSchema = z.discriminatedUnion('type', [localTierSchema, s3TierSchema]);
export type TierConfig = z.infer<typeof tierSchema>;
export const TIER_NAMES = ['cold', 'intermediate', 'nas', 'hot'] as const;

const ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024;

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('./data'),
  /** Unset ⇒ embedded PGlite (with PostGIS) under `${dataDir}/db`. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Public base URL used in capabilities documents and links (defaults to the request's host). */
  publicUrl: z.url().optional(),
  /**
   * Proxies whose X-Forwarded-For/-Proto the server believes (proxy-addr syntax: 'loopback',
   * addresses, CIDRs, comma-separated). Only these may tell the client's address, which API-key CIDR
   * lists and per-IP rate limits rest on: a client that reaches the server directly cannot spoof it.
   */
  trustProxy: z.string().min(1).default('loopback'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  territory: territorySchema.default(LOT_TERRITORY),
  /** Storage tiers; each unset tier is a directory `${dataDir}/storage/<tier>`. */
  storage: z
    .strictObject({
      cold: tierSchema.optional(),
      intermediate: tierSchema.optional(),
      nas: tierSchema.optional(),
      hot: tierSchema.optional(),
      /** Scheduled fixity scrubs run by the serve process (one node at a time); unset = none. */
      verifySchedule: z
        .strictObject({
          intervalHours: z.number().positive(),
          /** Percentage of the objects read at each run (100 = all). */
          sample: z.number().gt(0).max(100).default(100),
          repair: z.boolean().default(false),
          /** Read throttle in bytes per second (unset = as fast as the store answers). */
          bytesPerSecond: z.number().int().positive().optional(),
          tiers: z.array(z.enum(TIER_NAMES)).optional(),
        })
        .optional(),
      /** Prices per tier, for `pcrs storage usage` (any currency; default EUR, indicative 2025 OVHcloud-like list prices). */
      prices: z
        .partialRecord(
          z.enum(TIER_NAMES),
          z.strictObject({
            perTbMonth: z.number().min(0),
            perGbRestored: z.number().min(0).default(0),
            perGbEgress: z.number().min(0).default(0),
          }),
        )
        .default({}),
      currency: z.string().min(1).default('EUR'),
      /** Whole-territory projection: number of 1 km dalles of the territory (the Lot: 5 217). */
      territoryDalles: z.number().int().positive().default(5217),
    })
    .default({ prices: {}, currency: 'EUR', territoryDalles: 5217 }),
  pyramid: z
    .strictObject({
      /** JPEG quality of pyramid tiles (1–100). */
      jpegQuality: z.number().int().min(1).max(100).default(85),
      /** Parallel work inside a build (blocks); default: the number of CPU cores. */
      concurrency: z.number().int().min(1).max(64).optional(),
    })
    .default({ jpegQuality: 85 }),
  /** Raster streams (WMTS, WMS, XYZ, OGC API Tiles). */
  streams: z
    .strictObject({
      /** Tiles with no data: a cached transparent 256² PNG (200), or 404. */
      emptyTile: z.enum(['transparent', '404']).default('transparent'),
      /** Bound of the on-disk cache of reprojected WebMercatorQuad tiles (`${dataDir}/cache/pm`), in MB. */
      pmCacheMB: z.number().int().min(0).default(1024),
    })
    .default({ emptyTile: 'transparent', pmCacheMB: 1024 }),
  wms: z
    .strictObject({
      /** Largest WIDTH and HEIGHT of a WMS GetMap, in pixels. */
      maxSize: z.number().int().min(256).max(16384).default(4096),
    })
    .default({ maxSize: 4096 }),
  /** Works declarations that mark what they cover "to update" (src/declarations/to-update.ts). */
  worksToUpdate: z
    .strictObject({
      /** How often a listening server marks the works that ended (one node of several); 0 = only by `pcrs declarations mark-to-update`. */
      intervalMinutes: z.number().int().min(0).max(7 * 24 * 60).default(60),
      /** Buffer around a works footprint given as a point or a line, in metres (a polygon is taken as drawn). */
      bufferMetres: z.number().min(1).max(500).default(10),
    })
    .default({ intervalMinutes: 60, bufferMetres: 10 }),
  /**
   * Server secret keying the API-key hashes (HMAC). Unset ⇒ generated once into
   * `${dataDir}/secret-key`; with several nodes, give each the same value.
   */
  secretKey: z.string().min(32, 'must be at least 32 characters').optional(),
  auth: z
    .strictObject({
      /** Life of a session without activity, in hours. */
      sessionTtlHours: z.number().positive().max(24 * 90).default(24 * 7),
      /** Secure flag of the session cookie; turn off only for plain-HTTP development. */
      cookieSecure: z.boolean().default(true),
      /** Whether anyone may sign up (else accounts are created by admins). */
      signup: z.boolean().default(true),
      /** Failed sign-ins (per account, per IP ×5) before a temporary lockout, and its length. */
      lockout: z.strictObject({ failures: z.number().int().min(1).default(5), minutes: z.number().positive().default(15) }).default({ failures: 5, minutes: 15 }),
      /** First platform admin, created at start when no user exists (PCRS_ADMIN_EMAIL, PCRS_ADMIN_PASSWORD). */
      adminEmail: z.email().optional(),
      adminPassword: z.string().min(12, 'must be at least 12 characters').optional(),
      /** Sign-in with OpenID Connect (ProConnect, a Keycloak…); unset ⇒ password sign-in only. */
      oidc: z
        .strictObject({
          /** Name on the button: "Se connecter avec <label>". */
          label: z.string().min(1).default('ProConnect'),
          issuer: z.url(),
          clientId: z.string().min(1),
          clientSecret: z.string().min(1),
          scopes: z.string().default('openid email profile'),
          /** Claims giving the e-mail and the display name. */
          claims: z.strictObject({ email: z.string().default('email'), name: z.string().default('name') }).default({ email: 'email', name: 'name' }),
        })
        .optional(),
    })
    .default({ sessionTtlHours: 24 * 7, cookieSecure: true, signup: true, lockout: { failures: 5, minutes: 15 } }),
  mail: z
    .strictObject({
      /** SMTP server as one URL (smtp://user:pass@host:587, smtps://…); unset ⇒ .eml files under `${dataDir}/mail`. */
      smtpUrl: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
      from: z.string().min(3).default('PCRS <no-reply@localhost>'),
    })
    .default({ from: 'PCRS <no-reply@localhost>' }),
  /** Declarations (issue 11). */
  declarations: z
    .strictObject({
      /** Whether anyone may declare an error without an account (followed by an e-mail address, confirmed by a link). */
      anonymous: z.boolean().default(true),
      /** Anonymous declarations accepted per IP and per hour (with `rateLimit.enabled`). */
      anonymousPerHour: z.number().int().min(1).max(1000).default(5),
      /** Files attached to declarations (photos, PDF, GML, DXF), kept in the intermediate tier. */
      attachments: z
        .strictObject({
          /** Largest file, in bytes (default 20 MiB); a bigger upload is refused with 413 and nothing is stored. */
          maxBytes: z.number().int().min(1024).max(2 ** 31).default(ATTACHMENT_MAX_BYTES),
          /** Attachments a declaration may have at once (deleted ones do not count). */
          maxPerDeclaration: z.number().int().min(1).max(1000).default(10),
        })
        .default({ maxBytes: ATTACHMENT_MAX_BYTES, maxPerDeclaration: 10 }),
      /** The OGC API Features collection `declarations` and the Atom feed (public fields only) readable without signing in. */
      publicCollection: z.boolean().default(true),
      /** Time zone of the statistics' months (IANA name). */
      timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Paris').default('Europe/Paris'),
      /** Webhooks (moderators register URLs; every action of the log is posted, signed, in order). */
      webhooks: z
        .strictObject({
          /** Allow destinations on loopback, private or link-local networks (off: refused, against SSRF). */
          allowPrivateNetworks: z.boolean().default(false),
          /** How long one POST may take before it counts as failed. */
          timeoutSeconds: z.number().positive().max(120).default(10),
          /** Failed attempts at one event before the webhook is paused (marked failing). */
          maxAttempts: z.number().int().min(1).max(100).default(8),
          /** Backoff after the n-th failure: base · 2^(n−1) seconds, capped at backoffMaxSeconds. */
          backoffBaseSeconds: z.number().positive().default(30),
          backoffMaxSeconds: z.number().positive().default(3600),
          /** How often the delivery loop looks for new actions (one node at a time delivers). */
          pollSeconds: z.number().positive().max(3600).default(5),
        })
        .default({ allowPrivateNetworks: false, timeoutSeconds: 10, maxAttempts: 8, backoffBaseSeconds: 30, backoffMaxSeconds: 3600, pollSeconds: 5 }),
    })
    .default({
      anonymous: true,
      anonymousPerHour: 5,
      attachments: { maxBytes: ATTACHMENT_MAX_BYTES, maxPerDeclaration: 10 },
      publicCollection: true,
      timeZone: 'Europe/Paris',
      webhooks: { allowPrivateNetworks: false, timeoutSeconds: 10, maxAttempts: 8, backoffBaseSeconds: 30, backoffMaxSeconds: 3600, pollSeconds: 5 },
    }),
  rateLimit: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Requests per minute per IP without a key, and per key or user with one. */
      anonymousPerMinute: z.number().int().min(1).default(3000),
      authenticatedPerMinute: z.number().int().min(1).default(20000),
      /** Redis shared by the nodes (PCRS_REDIS_URL); unset ⇒ counted in each process. */
      redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
    })
    .default({ enabled: true, anonymousPerMinute: 3000, authenticatedPerMinute: 20000 }),
  /**
   * Published metadata (ISO 19139/INSPIRE, CSW, DCAT-AP, STAC): what the catalogue does not hold.
   * Titles, extents, dates, lineage and checksums come from the catalogue; the contact, licences
   * and INSPIRE themes from here (docs/operations.md, "Metadata").
   */
  metadata: z
    .strictObject({
      /** Prefix of every record identifier (`{prefix}.{dataset}[.{version}]`); unset ⇒ `pcrs-{territory.code}`. No dots. */
      identifierPrefix: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must be letters, digits, - or _ (no dots)')
        .optional(),
      /** Code space of the INSPIRE unique resource identifiers; unset ⇒ the public URL, else `urn:pcrs:{territory.code}`. */
      codeSpace: z.string().min(1).optional(),
      /** The APLC (the PCRS's local public authority): point of contact, publisher and metadata contact. */
      contact: z
        .strictObject({
          organisation: z.string().min(1).default('Territoire d’énergie Lot (FDEL 46)'),
          /** INSPIRE needs an e-mail address for the point of contact: set it. */
          email: z.email().optional(),
          individual: z.string().min(1).optional(),
          phone: z.string().min(1).optional(),
          address: z.string().min(1).optional(),
          postalCode: z.string().min(1).default('46000'),
          city: z.string().min(1).default('Cahors'),
          country: z.string().min(1).default('France'),
          url: z.url().optional(),
        })
        .default({ organisation: 'Territoire d’énergie Lot (FDEL 46)', postalCode: '46000', city: 'Cahors', country: 'France' }),
      /** Licence of open data (public datasets and versions). */
      openLicence: z
        .strictObject({ title: z.string().min(1), url: z.url() })
        .default({ title: 'Licence Ouverte / Open Licence version 2.0', url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence' }),
      /** Terms of restricted data (shown only to those who may read it). */
      restrictedLicence: z
        .strictObject({ title: z.string().min(1), url: z.url().optional() })
        .default({ title: 'Charte d’usage du PCRS : données à diffusion restreinte, réservées aux détenteurs d’une autorisation' }),
      /** INSPIRE themes (registry codes: oi, tn, bu, us, lc…) per dataset kind. */
      inspireThemes: z
        .partialRecord(z.enum(['orthophoto', 'vector', 'raw-at', 'business']), z.array(z.enum(['oi', 'tn', 'bu', 'us', 'lc', 'el', 'au'])))
        .default({ orthophoto: ['oi'], vector: ['tn', 'bu'], 'raw-at': ['oi'] }),
      /** STAC items per page of `/stac/collections/{id}/items`. */
      stacPageSize: z.number().int().min(1).max(10_000).default(100),
    })
    .default({
      contact: { organisation: 'Territoire d’énergie Lot (FDEL 46)', postalCode: '46000', city: 'Cahors', country: 'France' },
      openLicence: { title: 'Licence Ouverte / Open Licence version 2.0', url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence' },
      restrictedLicence: { title: 'Charte d’usage du PCRS : données à diffusion restreinte, réservées aux détenteurs d’une autorisation' },
      inspireThemes: { orthophoto: ['oi'], vector: ['tn', 'bu'], 'raw-at': ['oi'] },
      stacPageSize: 100,
    }),
  demo: z
    .strictObject({
      /** Generate and register the synthetic Cahors delivery at start when the catalogue has none. */
      enabled: z.boolean().default(true),
      year: z.number().int().min(2000).max(2100).default(2025),
    })
    .default({ enabled: true, year: 2025 }),
  /** Licence of open data and usage charter of restricted data, accepted before downloads (src/licences). */
  licences: z
    .strictObject({
      /** Version of the usage charter: changing it asks everyone to accept the charter again. */
      charterVersion: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/).default('1.0'),
      /** UTF-8 text file of the APLC's own charter (its first line is its title); the shipped one otherwise. */
      charterFile: z.string().min(1).optional(),
    })
    .default({ charterVersion: '1.0' }),
  /** Extracts by area (ZIPs of masters and vector PCRS computed on the fly). */
  extracts: z
    .strictObject({
      /** Days an extract stays downloadable. */
      keepDays: z.number().int().min(1).max(365).default(7),
      /** Largest extract a user may ask for (bytes of the ZIP); platform admins and the operator are not limited. */
      maxBytes: z.number().int().positive().default(50e9),
      /** Largest area (km²). */
      maxAreaKm2: z.number().positive().default(1000),
    })
    .default({ keepDays: 7, maxBytes: 50e9, maxAreaKm2: 1000 }),
  /** Contributions of partners (PCRS updates): resumable uploads and their validation. */
  contributions: z
    .strictObject({
      /** Largest file of a contribution (bytes). */
      maxFileBytes: z.number().int().positive().default(5e9),
      /** Bytes an organisation may hold in contributions not yet accepted or rejected. */
      organisationQuotaBytes: z.number().int().positive().default(200e9),
      /** Days an unfinished upload is kept before it is deleted. */
      uploadKeepDays: z.number().int().min(1).max(60).default(3),
    })
    .default({ maxFileBytes: 5e9, organisationQuotaBytes: 200e9, uploadKeepDays: 3 }),
  /** Update campaigns: the acceptance checks of delivered dalles. */
  campaigns: z
    .strictObject({
      /**
       * Largest mean colour difference (0–255, mean of |ΔR|, |ΔG|, |ΔB|) along a delivered dalle's
       * edge with the imagery across it before the dalle is rejected as radiometrically inconsistent.
       */
      seamThreshold: z.number().min(0).max(255).default(12),
      /** Share of a dalle whose colour changed (0–1) from which the change map and the list call it changed. */
      changeThreshold: z.number().min(0).max(1).default(0.01),
    })
    .default({ seamThreshold: 12, changeThreshold: 0.01 }),
  /** The financing plan (issue 15): what partners' contributions are worth in kind. */
  financing: z
    .strictObject({
      /** Euros an accepted contribution's dalle of 200 m is worth (a surveyor's price for 4 ha at 5 cm). */
      contributionValuePerDalle: z.number().min(0).default(150),
      /** Euros a km of kerb line (LimiteVoiriePCRS) of an accepted vector contribution is worth. */
      contributionValuePerKm: z.number().min(0).default(1000),
    })
    .default({ contributionValuePerDalle: 150, contributionValuePerKm: 1000 }),
  /** Usage counters (issue 15): counted in memory, written in batches. */
  usage: z
    .strictObject({
      /** Count usage (off: nothing counted, the statistics stay as they were; the bench's reference). */
      enabled: z.boolean().default(true),
      /** Seconds between two writes of the counters: what a crash may lose (a graceful stop loses nothing). */
      flushSeconds: z.number().min(0.05).max(3600).default(10),
      /** Days the daily counters are kept; older periods are answered by month. */
      dailyRetentionDays: z.number().int().min(1).max(3650).default(400),
      /** Months the monthly counters are kept. */
      monthlyRetentionMonths: z.number().int().min(1).max(1200).default(120),
    })
    .default({ enabled: true, flushSeconds: 10, dailyRetentionDays: 400, monthlyRetentionMonths: 120 }),
});
export type Config = z.infer<typeof configSchema>;

/** Environment variable → config key (dotted path) and how to read its text. */
const ENVIRONMENT: ReadonlyArray<{ env: string; key: string; kind: 'string' | 'int' | 'bool' }> = [
  { env: 'PCRS_DATA_DIR', key: 'dataDir', kind: 'string' },
  { env: 'DATABASE_URL', key: 'databaseUrl', kind: 'string' },
  { env: 'HOST', key: 'host', kind: 'string' },
  { env: 'PORT', key: 'port', kind: 'int' },
  { env: 'PCRS_PUBLIC_URL', key: 'publicUrl', kind: 'string' },
  { env: 'PCRS_TRUST_PROXY', key: 'trustProxy', kind: 'string' },
  { env: 'PCRS_LOG_LEVEL', key: 'logLevel', kind: 'string' },
  { env: 'PCRS_DEMO', key: 'demo.enabled', kind: 'bool' },
  { env: 'PCRS_SECRET_KEY', key: 'secretKey', kind: 'string' },
  { env: 'PCRS_ADMIN_EMAIL', key: 'auth.adminEmail', kind: 'string' },
  { env: 'PCRS_ADMIN_PASSWORD', key: 'auth.adminPassword', kind: 'string' },
  { env: 'PCRS_COOKIE_SECURE', key: 'auth.cookieSecure', kind: 'bool' },
  { env: 'PCRS_SMTP_URL', key: 'mail.smtpUrl', kind: 'string' },
  { env: 'PCRS_MAIL_FROM', key: 'mail.from', kind: 'string' },
  { env: 'PCRS_DECLARATIONS_ANONYMOUS', key: 'declarations.anonymous', kind: 'bool' },
  { env: 'PCRS_REDIS_URL', key: 'rateLimit.redisUrl', kind: 'string' },
  { env: 'PCRS_RATE_LIMIT', key: 'rateLimit.enabled', kind: 'bool' },
  { env: 'PCRS_RATE_LIMIT_ANONYMOUS', key: 'rateLimit.anonymousPerMinute', kind: 'int' },
  { env: 'PCRS_RATE_LIMIT_AUTHENTICATED', key: 'rateLimit.authenticatedPerMinute', kind: 'int' },
  { env: 'PCRS_OIDC_ISSUER', key: 'auth.oidc.issuer', kind: 'string' },
  { env: 'PCRS_OIDC_CLIENT_ID', key: 'auth.oidc.clientId', kind: 'string' },
  { env: 'PCRS_OIDC_CLIENT_SECRET', key: 'auth.oidc.clientSecret', kind: 'string' },
  { env: 'PCRS_JPEG_QUALITY', key: 'pyramid.jpegQuality', kind: 'int' },
  { env: 'PCRS_ATTACHMENT_MAX_BYTES', key: 'declarations.attachments.maxBytes', kind: 'int' },
  { env: 'PCRS_ATTACHMENTS_PER_DECLARATION', key: 'declarations.attachments.maxPerDeclaration', kind: 'int' },
  { env: 'PCRS_METADATA_CONTACT_EMAIL', key: 'metadata.contact.email', kind: 'string' },
  { env: 'PCRS_USAGE', key: 'usage.enabled', kind: 'bool' },
  { env: 'PCRS_USAGE_FLUSH_SECONDS', key: 'usage.flushSeconds', kind: 'int' },
];

type Json = Record<string, unknown>;

function setPath(target: Json, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Json;
  }
  node[parts[parts.length - 1] as string] = value;
}

function readEnvValue(text: string, kind: 'string' | 'int' | 'bool'): unknown {
  if (kind === 'int') return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
  if (kind === 'bool') {
    if (/^(1|true|yes|on)$/i.test(text)) return true;
    if (/^(0|false|no|off)$/i.test(text)) return false;
    return text;
  }
  return text;
}

function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError('config-file-unreadable', `Cannot read the configuration file ${file} (PCRS_CONFIG): ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: 'Check the path in PCRS_CONFIG, or unset it to use the defaults.',
      exitCode: 78,
    });
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new UserError('config-file-invalid', `The configuration file ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(e as Error).message}`, {
      exitCode: 78,
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UserError('config-file-invalid', `The configuration file ${file} must contain an object (key: value pairs).`, { exitCode: 78 });
  }
  return parsed as Json;
}

/**
 * Loads the configuration. Throws a UserError naming the key, its source and the reason when invalid.
 * `overrides` (e.g. from CLI flags) win over everything.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Json = {}): Config {
  const merged: Json = {};
  const sources = new Map<string, string>();
  const file = env.PCRS_CONFIG;
  if (file) {
    const fromFile = readConfigFile(file);
    Object.assign(merged, fromFile);
    for (const key of Object.keys(fromFile)) sources.set(key, `file ${file}`);
  }
  for (const { env: name, key, kind } of ENVIRONMENT) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    setPath(merged, key, readEnvValue(text, kind));
    sources.set(key, `environment variable ${name}`);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    setPath(merged, key, value);
    sources.set(key, 'command line');
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(root)';
      const top = String(issue.path[0] ?? '');
      const source = sources.get(key) ?? sources.get(top) ?? 'defaults';
      return `  - ${key}: ${issue.message} (from ${source})`;
    });
    throw new UserError('invalid-config', `Invalid configuration:\n${lines.join('\n')}`, {
      hint: 'Fix the values above (see README.md, "Configuration").',
      exitCode: 78,
    });
  }
  const config = result.data;
  return { ...config, dataDir: path.resolve(config.dataDir) };
}
