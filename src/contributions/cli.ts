import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';
import { OPERATOR } from '../context/access.js';
import { ContributionReview } from './review.js';
import { ContributionService } from './service.js';

/**
 * `pcrs contributions list|show|review|accept|reject|changes`: what partners sent, each file's
 * validation, its before/after against the current PCRS, and the operator's decisions (an accept —
 * whole, or of chosen objects or dalles — publishes the update version now, with a progress bar).
 */
export const contributionsCommand: Command = {
  name: 'contributions',
  summary: 'Contributions of partners: list them, show one with its files and their validation, compare it with the current PCRS, accept (publish; whole or in part), reject, ask for changes',
  usage: 'pcrs contributions list [--limit N] [--json] | show ID [--json] | review ID [--json] | accept ID [--objects KEY,… | --files ID,…] | reject ID --reason TEXT | changes ID --reason TEXT',
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
    if (sub === 'review') {
      const { values, positionals } = parseCommandArgs(this, rest, { json: { type: 'boolean' } }, true);
      const id = Number(positionals[0]);
      if (!Number.isSafeInteger(id) || id <= 0) throw usageError(this, 'give the contribution’s number.');
      const ctx = await openCommandContext();
      try {
        const service = new ContributionService(ctx);
        const c = await service.getFor(OPERATOR, id);
        if (c.kind !== 'vector') throw usageError(this, `contribution ${id} is ${c.kind === 'raster' ? 'made of dalles: compare them on its page in the portal (previews under a swipe bar)' : 'business data: it has no PCRS to compare with'}.`);
        const diff = await new ContributionReview(ctx, service).vectorDiff(c);
        if (values.json) print(JSON.stringify(diff, null, 2));
        else {
          const { added, removed, changed, unchanged } = diff.summary;
          print(`Contribution ${id} against the current PCRS: ${added} added, ${removed} removed, ${changed} changed, ${unchanged} unchanged.\n`);
          const rows = [
            ...diff.added.map((o) => ['added', o.key, '']),
            ...diff.changed.map((o) => ['changed', o.key, [o.geometryChanged ? 'geometry moved' : '', ...Object.entries(o.attributes).map(([k, [a, b]]) => `${k}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`)].filter(Boolean).join('; ')]),
            ...diff.removed.map((o) => ['removed', o.key, '']),
          ];
          if (rows.length) print(formatTable(['CHANGE', 'OBJECT', 'DETAILS'], rows));
        }
        return 0;
      } finally {
        await ctx.close();
      }
    }
    if (sub === 'accept' || sub === 'reject' || sub === 'changes') {
      const { values, positionals } = parseCommandArgs(this, rest, { reason: { type: 'string' }, objects: { type: 'string' }, files: { type: 'string' } }, true);
      const id = Number(positionals[0]);
      if (!Number.isSafeInteger(id) || id <= 0) throw usageError(this, 'give the contribution’s number.');
      if (sub !== 'accept' && !values.reason?.trim()) throw usageError(this, `--reason is required to ${sub === 'reject' ? 'reject' : 'ask for changes'}: the contributor reads it.`);
      if ((values.objects !== undefined || values.files !== undefined) && sub !== 'accept') throw usageError(this, '--objects and --files choose what an acceptance publishes.');
      if (values.objects !== undefined && values.files !== undefined) throw usageError(this, 'choose objects (vector) or files (dalles), not both.');
      const list = (text: string) => text.split(',').map((x) => x.trim()).filter(Boolean);
      const files = values.files === undefined ? undefined : list(values.files).map(Number);
      if (files?.some((n) => !Number.isSafeInteger(n) || n <= 0)) throw usageError(this, '--files takes file numbers separated by commas (pcrs contributions show ID).');
      const selection = values.objects !== undefined ? { objects: list(values.objects) } : files ? { files } : undefined;
      const ctx = await openCommandContext();
      try {
        const service = new ContributionService(ctx);
        let toPublish: number | null = null;
        const c = await service.decide(OPERATOR, id, sub, values.reason, (n) => (toPublish = n), selection);
        if (toPublish === null) {
          print(`Contribution ${c.id}: ${c.state}.`);
          return 0;
        }
        const progress = createProgress(`contribution ${id}`);
        const done = await service.publish(id, { onProgress: (d, total, message) => progress.update(d, total, message) });
        progress.finish(done.state);
        print(`Contribution ${id} accepted${selection ? ` in part (${(selection.objects ?? selection.files ?? []).length} chosen)` : ''} and published as version contribution-${id}.`);
        return 0;
      } finally {
        await ctx.close();
      }
    }
    throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command: list, show, review, accept, reject or changes.');
  },
};
