import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';
import { OPERATOR } from '../context/access.js';
import { ContributionService } from './service.js';

/**
 * `pcrs contributions list|show|accept|reject|changes`: what partners sent, each file's validation,
 * and the operator's decisions (an accept publishes the update version now, with a progress bar).
 */
export const contributionsCommand: Command = {
  name: 'contributions',
  summary: 'Contributions of partners: list them, show one with its files and their validation, accept (publish), reject, ask for changes',
  usage: 'pcrs contributions list [--limit N] [--json] | show ID [--json] | accept ID | reject ID --reason TEXT | changes ID --reason TEXT',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'list') {
      const { values } = parseCommandArgs(this, rest, { limit: { type: 'string' }, json: { type: 'boolean' } });
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw usageError(this, '--limit must be a whole number from 1 to 10000.');
      const ctx = await openCommandContext();
      try {
        const rows = await new ContributionService(ctx).list(OPERATOR, limit);
        if (values.json) print(JSON.stringify(rows, null, 2));
        else print(formatTable(['ID', 'KIND', 'ORGANISATION', 'STATE', 'CREATED', 'TITLE'], rows.map((c) => [String(c.id), c.kind, c.organisation, c.state, c.createdAt.slice(0, 16), c.title])));
        return 0;
      } finally {
        await ctx.close();
      }
    }
    if (sub === 'show') {
      const { values, positionals } = parseCommandArgs(this, rest, { json: { type: 'boolean' } }, true);
      const id = Number(positionals[0]);
      if (!Number.isSafeInteger(id) || id <= 0) throw usageError(this, 'give the contribution’s number.');
      const ctx = await openCommandContext();
      try {
        const service = new ContributionService(ctx);
        const c = await service.getFor(OPERATOR, id);
        const files = await service.store.files(id);
        if (values.json) print(JSON.stringify({ ...c, files }, null, 2));
        else {
          print(`Contribution ${c.id} (${c.kind}) — ${c.title}\nOrganisation: ${c.organisation} · by ${c.authorActor} · ${c.state}${c.surveyedOn ? ` · surveyed ${c.surveyedOn}` : ''}${c.producer ? ` · ${c.producer}` : ''}\n`);
          print(formatTable(['FILE', 'BYTES', 'SHA-256', 'STATUS'], files.map((f) => [f.name, String(f.bytes), (f.sha256 ?? '(hashing)').slice(0, 16), f.status])));
        }
        return 0;
      } finally {
        await ctx.close();
      }
    }
    if (sub === 'accept' || sub === 'reject' || sub === 'changes') {
      const { values, positionals } = parseCommandArgs(this, rest, { reason: { type: 'string' } }, true);
      const id = Number(positionals[0]);
      if (!Number.isSafeInteger(id) || id <= 0) throw usageError(this, 'give the contribution’s number.');
      if (sub !== 'accept' && !values.reason?.trim()) throw usageError(this, `--reason is required to ${sub === 'reject' ? 'reject' : 'ask for changes'}: the contributor reads it.`);
      const ctx = await openCommandContext();
      try {
        const service = new ContributionService(ctx);
        let toPublish: number | null = null;
        const c = await service.decide(OPERATOR, id, sub, values.reason, (n) => (toPublish = n));
        if (toPublish === null) {
          print(`Contribution ${c.id}: ${c.state}.`);
          return 0;
        }
        const progress = createProgress(`contribution ${id}`);
        const done = await service.publish(id, { onProgress: (d, total, message) => progress.update(d, total, message) });
        progress.finish(done.state);
        print(`Contribution ${id} accepted and published as version contribution-${id}.`);
        return 0;
      } finally {
        await ctx.close();
      }
    }
    throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command: list, show, accept, reject or changes.');
  },
};
