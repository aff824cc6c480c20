import { readFileSync } from 'node:fs';
import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { OPERATOR } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import { UserError } from '../util/errors.js';
import { AccessServices } from './services.js';

/** The access capability's commands; the CLI acts as OPERATOR and every act is in the audit log. */

async function withServices<T>(fn: (s: AccessServices, ctx: AppContext) => Promise<T>): Promise<T> {
  const ctx = await openCommandContext();
  try {
    return await fn(new AccessServices(ctx), ctx);
  } finally {
    await ctx.close();
  }
}


async function userIdOf(s: AccessServices, email: string): Promise<number> {
  const id = await s.store.userIdByEmail(email);
  if (id === null) throw new UserError('unknown-user', `There is no user '${email.slice(0, 200)}'.`, { hint: 'Create it with pcrs user create --email …', exitCode: 65 });
  return id;
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'API keys: create (prints the key alone), list, revoke',
  usage: 'pcrs token create --user E --name N --scopes a,b [--expires YYYY-MM-DD] [--org SLUG] | pcrs token list --user E [--json] | pcrs token revoke ID',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'create') {
      const { values } = parseCommandArgs(this, rest, { user: { type: 'string' }, name: { type: 'string' }, scopes: { type: 'string' }, expires: { type: 'string' }, org: { type: 'string' } });
      if (!values.user) throw usageError(this, '--user is required.');
      if (!values.name) throw usageError(this, '--name is required.');
      if (!values.scopes) throw usageError(this, '--scopes is required (read, downloads, declarations:write, contributions:write, archive:restore, admin).');
      const name = values.name.trim();
      if (name.length === 0 || name.length > 100) throw usageError(this, '--name must have 1 to 100 characters.');
      const scopes = values.scopes.split(',').map((x) => x.trim()).filter(Boolean);
      const input = { name, scopes, ...(values.expires ? { expiresAt: values.expires } : {}), ...(values.org ? { organisation: values.org } : {}) };
      return withServices(async (s) => {
        const made = await s.createKey(OPERATOR, await userIdOf(s, values.user as string), input);
        print(made.key);
        return 0;
      });
    }
    if (sub === 'list') {
      const { values } = parseCommandArgs(this, rest, { user: { type: 'string' }, json: { type: 'boolean' } });
      if (!values.user) throw usageError(this, '--user is required.');
      return withServices(async (s) => {
        const keys = await s.store.listKeys(await userIdOf(s, values.user as string));
        if (values.json) print(JSON.stringify(keys, null, 2));
        else {
          print(
            formatTable(
              ['ID', 'NAME', 'PREFIX', 'SCOPES', 'EXPIRES', 'LAST USED', 'REQUESTS', 'STATE'],
              keys.map((k) => [k.id, k.name, k.prefix, k.scopes.join(','), k.expiresAt?.slice(0, 10) ?? '', k.lastUsedAt?.slice(0, 19) ?? '', k.requestCount, k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt < new Date().toISOString() ? 'expired' : 'active']),
            ),
          );
        }
        return 0;
      });
    }
    if (sub === 'revoke') {
      const { positionals } = parseCommandArgs(this, rest, {}, true);
      if (positionals.length !== 1 || !/^\d{1,15}$/.test(positionals[0] as string)) throw usageError(this, 'give the id of the key to revoke (pcrs token list --user E shows it).');
      return withServices(async (s) => {
        await s.revokeKey(OPERATOR, Number(positionals[0]), null);
        process.stderr.write(`Key ${positionals[0]} revoked.\n`);
        return 0;
      });
    }
    throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command.');
  },
};

export const visibilityCommand: Command = {
  name: 'visibility',
  summary: 'Make a dataset or a version public or restricted',
  usage: 'pcrs visibility set <dataset>[/<version>] public|restricted|inherit',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'set') throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command.');
    const { positionals } = parseCommandArgs(this, rest, {}, true);
    const [target, value] = positionals;
    if (positionals.length !== 2 || !target || !value) throw usageError(this, 'give the dataset (or dataset/version) and public or restricted.');
    const m = /^([a-z0-9][a-z0-9-]{0,62})(?:\/([A-Za-z0-9][A-Za-z0-9._-]{0,62}))?$/.exec(target);
    if (!m) throw usageError(this, `'${target.slice(0, 100)}' is not <dataset> or <dataset>/<version>.`);
    const version = m[2] ?? null;
    if (value !== 'public' && value !== 'restricted' && !(value === 'inherit' && version !== null)) throw usageError(this, `visibility must be public or restricted${version ? ' (or inherit)' : ''}, got '${value.slice(0, 40)}'.`);
    return withServices(async (s) => {
      await s.setVisibility(OPERATOR, m[1] as string, version, value === 'inherit' ? null : value);
      process.stderr.write(`${target} is now ${value}.\n`);
      return 0;
    });
  },
};

export const permissionCommand: Command = {
  name: 'permission',
  summary: 'Permissions on restricted data: grant, list, revoke',
  usage: 'pcrs permission grant (--org O | --user E) --dataset D [--version V] [--perimeter file.geojson] [--until YYYY-MM-DD] [--charter TEXT] | pcrs permission list [--json] | pcrs permission revoke ID',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'grant') {
      const { values } = parseCommandArgs(this, rest, {
        org: { type: 'string' },
        user: { type: 'string' },
        dataset: { type: 'string' },
        version: { type: 'string' },
        perimeter: { type: 'string' },
        until: { type: 'string' },
        charter: { type: 'string' },
      });
      if ((values.org === undefined) === (values.user === undefined)) throw usageError(this, 'give exactly one of --org and --user.');
      if (!values.dataset) throw usageError(this, '--dataset is required.');
      let perimeter: unknown;
      if (values.perimeter !== undefined) {
        let text: string;
        try {
          text = readFileSync(values.perimeter, 'utf8');
        } catch (e) {
          throw new UserError('unreadable-perimeter', `Cannot read ${values.perimeter}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { exitCode: 66 });
        }
        try {
          perimeter = JSON.parse(text);
        } catch {
          throw new UserError('invalid-perimeter', `${values.perimeter} is not JSON (GeoJSON expected).`, { exitCode: 65 });
        }
      }
      return withServices(async (s) => {
        const p = await s.grantPermission(OPERATOR, {
          dataset: values.dataset as string,
          ...(values.org !== undefined ? { organisation: values.org } : {}),
          ...(values.user !== undefined ? { user: values.user } : {}),
          ...(values.version !== undefined ? { version: values.version } : {}),
          ...(perimeter !== undefined ? { perimeter } : {}),
          ...(values.until !== undefined ? { until: values.until } : {}),
          ...(values.charter !== undefined ? { charter: values.charter } : {}),
        });
        print(String(p.id));
        process.stderr.write(`Permission ${p.id} granted to ${p.organisation?.slug ?? p.user?.email} on ${p.dataset}${p.version ? `/${p.version}` : ''}${p.validUntil ? ` until ${p.validUntil}` : ''}${p.perimeter ? ' within a perimeter' : ''}.\n`);
        return 0;
      });
    }
    if (sub === 'list') {
      const { values } = parseCommandArgs(this, rest, { json: { type: 'boolean' } });
      return withServices(async (s) => {
        const list = await s.listPermissions(OPERATOR);
        if (values.json) print(JSON.stringify(list, null, 2));
        else {
          print(
            formatTable(
              ['ID', 'GRANTEE', 'DATASET', 'VERSION', 'PERIMETER', 'UNTIL', 'STATE'],
              list.map((p) => [p.id, p.organisation ? `org:${p.organisation.slug}` : `user:${p.user?.email ?? '?'}`, p.dataset, p.version, p.perimeter ? 'yes' : '', p.validUntil?.slice(0, 10) ?? '', p.revokedAt ? 'revoked' : 'active']),
            ),
          );
        }
        return 0;
      });
    }
    if (sub === 'revoke') {
      const { positionals } = parseCommandArgs(this, rest, {}, true);
      if (positionals.length !== 1 || !/^\d{1,15}$/.test(positionals[0] as string)) throw usageError(this, 'give the id of the permission to revoke.');
      return withServices(async (s) => {
        await s.revokePermission(OPERATOR, Number(positionals[0]));
        process.stderr.write(`Permission ${positionals[0]} revoked.\n`);
        return 0;
      });
    }
    throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command.');
  },
};
