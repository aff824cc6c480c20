import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { slugify } from '../util/slug.js';
import { OPERATOR } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import { AccountService } from './service.js';
import { ORG_KINDS, ORG_ROLES, PLATFORM_ROLES, type OrgKind, type OrgRole, type PlatformRole } from './store.js';

/**
 * `pcrs user …` and `pcrs org …`: what an operator runs on the server's machine (bootstrap,
 * scripts). The CLI acts as OPERATOR; every change is in the audit log.
 */

/** Where `--password-stdin` reads from (tests replace it). */
export const cliInput = {
  async readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  },
};

async function withService<T>(fn: (s: AccountService, ctx: AppContext) => Promise<T>): Promise<T> {
  const ctx = await openCommandContext();
  try {
    return await fn(new AccountService(ctx), ctx);
  } finally {
    ctx.mail.close();
    await ctx.close();
  }
}



const isPlatformRole = (r: string): r is PlatformRole => (PLATFORM_ROLES as readonly string[]).includes(r);
const isOrgRole = (r: string): r is OrgRole => (ORG_ROLES as readonly string[]).includes(r);

export const userCommand: Command = {
  name: 'user',
  summary: 'Users: create (first admin, scripts), list, set-role',
  usage:
    'pcrs user create --email E [--name N] [--password-stdin] [--role R] [--org O] | pcrs user list [--json] | pcrs user set-role E R [--org O] [--remove]  (R: platform-admin, moderator, technical, none; with --org: org-admin, member, contractor)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'create') {
      const { values } = parseCommandArgs(this, rest, { email: { type: 'string' }, name: { type: 'string' }, 'password-stdin': { type: 'boolean' }, role: { type: 'string' }, org: { type: 'string' } });
      if (!values.email) throw usageError(this, '--email is required.');
      const role = values.role;
      if (role !== undefined && !isPlatformRole(role) && !isOrgRole(role)) throw usageError(this, `unknown role '${role}': use one of ${[...PLATFORM_ROLES, ...ORG_ROLES].join(', ')}.`);
      if (role !== undefined && isOrgRole(role) && !values.org) throw usageError(this, `'${role}' is an organisation role: name the organisation with --org.`);
      const password = values['password-stdin'] ? (await cliInput.readStdin()).replace(/\r?\n$/, '') : undefined;
      return withService(async (s) => {
        const user = await s.createUser(OPERATOR, {
          email: values.email as string,
          displayName: values.name,
          password,
          platformRoles: role !== undefined && isPlatformRole(role) ? [role] : [],
          organisation: values.org ? { slug: values.org, role: role !== undefined && isOrgRole(role) ? role : 'member' } : undefined,
        });
        print(`Created user ${user.id} ${user.email}${user.platformRoles.length ? ` (${user.platformRoles.join(', ')})` : ''}${values.org ? ` in ${values.org}` : ''}${password === undefined ? ' — no password: sign in with OpenID Connect or reset the password by e-mail' : ''}.`);
        return 0;
      });
    }
    if (sub === 'list') {
      const { values } = parseCommandArgs(this, rest, { json: { type: 'boolean' } });
      return withService(async (s) => {
        const users = await s.listUsers();
        if (values.json) {
          print(JSON.stringify(users.map(({ passwordHash, ...u }) => ({ ...u, hasPassword: passwordHash !== null })), null, 2));
          return 0;
        }
        print(
          formatTable(
            ['ID', 'EMAIL', 'NAME', 'PLATFORM ROLES', 'ORGANISATIONS', 'STATE'],
            users.map((u) => [
              u.id,
              u.email,
              u.displayName,
              u.platformRoles.join(',') || '-',
              u.organisations.map((o) => `${o.slug}:${o.role}${o.status === 'active' ? '' : `(${o.status})`}`).join(' ') || '-',
              u.disabled ? 'disabled' : u.emailVerified ? 'active' : 'unverified',
            ]),
          ),
        );
        return 0;
      });
    }
    if (sub === 'set-role') {
      const { values, positionals } = parseCommandArgs(this, rest, { org: { type: 'string' }, remove: { type: 'boolean' } }, true);
      const [email, role] = positionals;
      if (!email || !role || positionals.length > 2) throw usageError(this, 'give the e-mail and the role.');
      if (role !== 'none' && !isPlatformRole(role) && !isOrgRole(role)) throw usageError(this, `unknown role '${role}': use one of ${[...PLATFORM_ROLES, 'none', ...ORG_ROLES].join(', ')}.`);
      return withService(async (s) => {
        const user = await s.setRole(OPERATOR, email, role, { organisation: values.org, remove: values.remove });
        if (isOrgRole(role)) print(`${user.email}: ${values.remove ? 'removed from' : `${role} of`} ${values.org}.`);
        else print(`${user.email}: platform roles ${user.platformRoles.join(', ') || '(none)'}.`);
        return 0;
      });
    }
    throw usageError(this, sub ? `unknown subcommand '${sub}'.` : 'give a subcommand (create, list, set-role).');
  },
};

export const orgCommand: Command = {
  name: 'org',
  summary: 'Organisations: create, list',
  usage: `pcrs org create --name N --kind K [--slug S] [--insee C] [--siren S] [--domain D]… | pcrs org list [--json]  (K: ${ORG_KINDS.join(', ')})`,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'create') {
      const { values } = parseCommandArgs(this, rest, { name: { type: 'string' }, kind: { type: 'string' }, slug: { type: 'string' }, insee: { type: 'string' }, siren: { type: 'string' }, domain: { type: 'string', multiple: true } });
      if (!values.name || !values.kind) throw usageError(this, '--name and --kind are required.');
      if (!(ORG_KINDS as readonly string[]).includes(values.kind)) throw usageError(this, `unknown kind '${values.kind}': use one of ${ORG_KINDS.join(', ')}.`);
      const slug = values.slug ?? slugify(values.name, 'organisation');
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)) throw usageError(this, `the slug '${slug}' must be lowercase letters, digits and dashes.`);
      return withService(async (s) => {
        const org = await s.createOrganisation(OPERATOR, {
          slug,
          name: values.name as string,
          kind: values.kind as OrgKind,
          insee: values.insee ?? null,
          siren: values.siren ?? null,
          emailDomains: (values.domain ?? []).flatMap((d) => d.split(',')).map((d) => d.trim().toLowerCase()).filter(Boolean),
        });
        print(`Created organisation ${org.id} ${org.slug} (${org.name}, ${org.kind}).`);
        return 0;
      });
    }
    if (sub === 'list') {
      const { values } = parseCommandArgs(this, rest, { json: { type: 'boolean' } });
      return withService(async (s) => {
        const orgs = await s.listOrganisations(OPERATOR);
        if (values.json) print(JSON.stringify(orgs, null, 2));
        else print(formatTable(['ID', 'SLUG', 'NAME', 'KIND', 'INSEE', 'SIREN', 'DOMAINS'], orgs.map((o) => [o.id, o.slug, o.name, o.kind, o.insee, o.siren, o.emailDomains.join(',')])));
        return 0;
      });
    }
    throw usageError(this, sub ? `unknown subcommand '${sub}'.` : 'give a subcommand (create, list).');
  },
};
