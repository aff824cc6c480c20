import path from 'node:path';
import type { TierName } from '../catalog/catalog.js';
import { TIER_NAMES } from '../config/config.js';
import { runVerify, type FixityReport } from './fixity.js';
import { storageServices } from './services.js';
import { runSyncNas } from './sync-nas.js';
import { measureUsage } from './usage.js';
import { UserError } from '../util/errors.js';
import { formatBytes, formatTable, parseCommandArgs, print, withInterruptibleContext, type Command } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';

/** Runs `fn` with a context, storage services and a signal aborted by Ctrl+C/SIGTERM (work checkpoints and stays resumable). */
export function withStorage<T>(fn: (s: ReturnType<typeof storageServices>, signal: AbortSignal) => Promise<T>): Promise<T> {
  return withInterruptibleContext((ctx, signal) => fn(storageServices(ctx), signal));
}

export function positiveNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UserError('usage', `--${name} must be a positive number, got '${text}'.`, { exitCode: 64 });
  return n;
}

/** "50M", "1.5G", "200k" or plain bytes per second. */
export function parseRate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?B)?(?:\/s)?$/.exec(text.trim());
  if (!m) throw new UserError('usage', `--bytes-per-second '${text}' is not a rate: use e.g. 50M, 1G or 200000.`, { exitCode: 64 });
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const v = Math.round(Number(m[1]) * mult);
  if (v <= 0) throw new UserError('usage', '--bytes-per-second must be positive.', { exitCode: 64 });
  return v;
}

function printFixity(r: FixityReport & { jobId: number }): void {
  print(`Fixity (job ${r.jobId}) of ${r.tiers.join(', ')}${r.samplePercent < 100 ? ` (sample ${r.samplePercent} %)` : ''}: ${r.checked} checked (${formatBytes(r.bytesRead)} read)`);
  print(`  ok ${r.ok}  missing ${r.missing}  corrupted ${r.corrupted}  unlisted ${r.unlisted}${r.repair ? `  repaired ${r.repaired}  repair failed ${r.repairFailed}` : ''}`);
  for (const f of r.findings) print(`  ${f.outcome.toUpperCase().padEnd(13)} ${f.tier}:${f.location}${f.detail ? ` — ${f.detail}` : ''}`);
  print(r.clean ? 'Clean.' : r.repair ? 'NOT CLEAN: see the failures above.' : 'NOT CLEAN: run again with --repair to restore bad copies from a good copy.');
}

export const storageCommand: Command = {
  name: 'storage',
  summary: 'Storage tiers: sync-nas (backup copy), verify [--repair] (fixity), usage (bytes and cost)',
  usage: 'pcrs storage sync-nas [--bytes-per-second R] [--json] | pcrs storage verify [--tier T]… [--sample P] [--repair] [--bytes-per-second R] [--jsonl FILE] [--json] | pcrs storage usage [--no-snapshot] [--json]',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'sync-nas') {
      const { values } = parseCommandArgs(this, rest, { 'bytes-per-second': { type: 'string' }, json: { type: 'boolean' } });
      const rate = parseRate(values['bytes-per-second']);
      return withStorage(async (s, signal) => {
        const progress = createProgress('sync-nas');
        const r = await runSyncNas(s, rate ? { bytesPerSecond: rate } : {}, { signal, onProgress: (d, t, m) => progress.update(d, t, m) });
        progress.finish(`${r.copied} copied, ${r.unchanged} unchanged`);
        if (values.json) print(JSON.stringify(r, null, 2));
        else {
          print(`NAS sync (job ${r.jobId}) ${s.tiers.intermediate.describe()} → ${s.tiers.nas.describe()}: ${r.considered} object(s), ${r.copied} copied and verified (${formatBytes(r.bytesCopied)}), ${r.unchanged} unchanged.`);
          for (const b of r.backedUp) print(`  BACKED UP ${b.key} → ${b.to} (${b.reason})`);
          for (const f of r.failed) print(`  FAILED    ${f.key}: ${f.error}`);
        }
        return r.failed.length > 0 ? 2 : 0;
      });
    }
    if (sub === 'verify') {
      const { values } = parseCommandArgs(this, rest, {
        tier: { type: 'string', multiple: true },
        sample: { type: 'string' },
        repair: { type: 'boolean' },
        'bytes-per-second': { type: 'string' },
        jsonl: { type: 'string' },
        json: { type: 'boolean' },
      });
      const tiers = (values.tier ?? []).flatMap((t) => t.split(',')).map((t) => t.trim());
      for (const t of tiers) if (!(TIER_NAMES as readonly string[]).includes(t)) throw new UserError('usage', `Unknown tier '${t}': use one of ${TIER_NAMES.join(', ')}.`, { exitCode: 64 });
      const sample = positiveNumber('sample', values.sample?.replace(/%$/, ''));
      const rate = parseRate(values['bytes-per-second']);
      return withStorage(async (s, signal) => {
        const progress = createProgress('verify');
        const r = await runVerify(
          s,
          {
            ...(tiers.length ? { tiers: tiers as TierName[] } : {}),
            ...(sample !== undefined ? { samplePercent: sample } : {}),
            repair: values.repair ?? false,
            ...(rate ? { bytesPerSecond: rate } : {}),
            jsonlPath: values.jsonl ? path.resolve(values.jsonl) : path.join(s.config.dataDir, 'logs', 'fixity.jsonl'),
          },
          { signal, onProgress: (d, t, m) => progress.update(d, t, m) },
        );
        progress.finish(r.clean ? 'clean' : 'problems found');
        if (values.json) print(JSON.stringify(r, null, 2));
        else printFixity(r);
        return r.clean ? 0 : 2;
      });
    }
    if (sub === 'usage') {
      const { values } = parseCommandArgs(this, rest, { 'no-snapshot': { type: 'boolean' }, json: { type: 'boolean' } });
      return withStorage(async (s) => {
        const u = await measureUsage(s, { snapshot: !values['no-snapshot'] });
        if (values.json) {
          print(JSON.stringify(u, null, 2));
          return 0;
        }
        const money = (v: number) => `${v.toFixed(2)} ${u.currency}`;
        print(`Storage on ${u.day} (measured from the stores):`);
        print(formatTable(['TIER', 'DATASET', 'OBJECTS', 'BYTES'], u.rows.map((r) => [r.tier, r.datasetId, r.objects, formatBytes(r.bytes)])));
        print('');
        print(formatTable(['TIER', 'WHERE', 'OBJECTS', 'BYTES', `${u.currency}/TB-MONTH`, 'COST/MONTH'], u.tiers.map((t) => [t.tier, t.where, t.objects, formatBytes(t.bytes), t.price.perTbMonth, money(t.costPerMonth)])));
        print(`Total: ${u.total.objects} objects, ${formatBytes(u.total.bytes)}, ${money(u.total.costPerMonth)} per month; restoring the whole cold tier once: ${money(u.coldFullRestoreCost)}.`);
        if (u.projection) {
          const p = u.projection;
          print(`Projection for the whole territory (${p.territoryDalles} dalles of 1 km², from ${p.coveredKm2.toFixed(2)} km² covered):`);
          print(formatTable(['TIER', 'PER DALLE', 'BYTES', 'COST/MONTH'], p.tiers.map((t) => [t.tier, formatBytes(t.bytesPerDalle), formatBytes(t.bytes), money(t.costPerMonth)])));
          print(`Projected total: ${formatBytes(p.bytes)}, ${money(p.costPerMonth)} per month.`);
        } else print('No orthophoto dalles stored yet: no projection.');
        return 0;
      });
    }
    throw new UserError('usage', sub ? `pcrs storage: unknown subcommand '${sub}'.` : 'pcrs storage: give a subcommand (sync-nas, verify, usage).', { hint: `Usage: ${this.usage}`, exitCode: 64 });
  },
};
