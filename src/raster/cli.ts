import { ingestServices } from './ingest/services.js';
import { ingestDelivery } from './ingest/ingest.js';
import { UserError } from '../util/errors.js';
import { parseCommandArgs, print, withInterruptibleContext, type Command } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';
import { CampaignService, type DeliveryOutcome } from '../campaigns/service.js';
import { OPERATOR } from '../context/access.js';

function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 64) throw new UserError('usage', `--${name} must be a whole number between 1 and 64, got '${text}'.`, { exitCode: 64 });
  return Number(text);
}

export const ingestCommand: Command = {
  name: 'ingest',
  summary: 'Validate, checksum, store and pyramid a delivery of orthophoto dalles',
  usage: 'pcrs ingest <dir> (--version <name> [--dataset ortho] [--update] | --campaign <slug>) [--date YYYY-MM-DD] [--jobs N] [--replace] [--json]',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      this,
      argv,
      {
        dataset: { type: 'string', default: 'ortho' },
        version: { type: 'string' },
        campaign: { type: 'string' },
        date: { type: 'string' },
        update: { type: 'boolean' },
        jobs: { type: 'string' },
        replace: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      true,
    );
    const dir = positionals[0];
    if (!dir || positionals.length > 1) throw new UserError('usage', 'pcrs ingest: give exactly one delivery directory.', { hint: `Usage: ${this.usage}`, exitCode: 64 });
    if (values.campaign !== undefined && (values.version !== undefined || values.update)) {
      throw new UserError('usage', 'pcrs ingest: --campaign puts the delivery into the campaign’s own update version; do not give --version or --update with it.', { hint: `Usage: ${this.usage}`, exitCode: 64 });
    }
    if (!values.version && values.campaign === undefined) throw new UserError('usage', 'pcrs ingest: --version is required (e.g. --version 2025), or --campaign.', { hint: `Usage: ${this.usage}`, exitCode: 64 });
    if (values.date !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(values.date) || Number.isNaN(Date.parse(values.date)))) {
      throw new UserError('usage', `--date '${values.date}' is not a date YYYY-MM-DD.`, { exitCode: 64 });
    }
    const jobs = positiveInt('jobs', values.jobs);
    return withInterruptibleContext(async (ctx, signal) => {
      const campaigns = values.campaign === undefined ? null : new CampaignService(ctx);
      // A campaign's delivery: checked first (receiving, acquisition date in its window), ingested
      // into its unpublished update version, then ticked off in the campaign.
      const campaign = campaigns ? await campaigns.prepareDelivery(OPERATOR, values.campaign as string, values.date ?? null) : null;
      const versionName = campaign ? campaign.versionName : (values.version as string);
      const progress = createProgress('ingest');
      const report = await ingestDelivery(ingestServices(ctx, jobs ? { concurrency: jobs } : {}), {
        dir,
        datasetId: campaign ? 'ortho' : (values.dataset ?? 'ortho'),
        versionName,
        ...(values.date ? { date: values.date } : {}),
        kind: values.update || campaign ? 'update' : 'full',
        ...(campaign ? { publish: false } : {}),
        ...(jobs ? { jobs } : {}),
        replace: values.replace ?? false,
        onProgress: (d, t, m) => progress.update(d, t, m),
        signal,
      });
      const s = report.summary;
      progress.finish(`${s.ok + s.warning} accepted, ${s.rejected} rejected, ${s.skipped} skipped`);
      const delivery: DeliveryOutcome | null = campaigns && campaign && !signal.aborted ? await campaigns.recordIngest(OPERATOR, campaign.campaign.slug, report, values.date ?? null) : null;
      if (values.json) print(JSON.stringify(delivery ? { ...report, campaign: delivery } : report, null, 2));
      else {
        print(`${s.files} file(s): ${s.ok} ok, ${s.warning} with warnings, ${s.rejected} rejected, ${s.skipped} skipped.`);
        for (const d of report.dalles.filter((x) => x.status === 'rejected')) print(`  REJECTED ${d.file}: ${d.findings.filter((f) => f.severity === 'error').map((f) => f.message).join(' ')}`);
        if (report.pyramid) print(`Pyramid: ${report.pyramid.filesBuilt} file(s), ${report.pyramid.tiles} tiles, ${(report.pyramid.bytes / 1e6).toFixed(1)} MB.`);
        print(`Report: ${report.reportFiles.join(' and ')}`);
        if (delivery) {
          const p = delivery.campaign.progress;
          print(`Campaign ${delivery.campaign.slug}: ${delivery.received} received, ${delivery.rejected} rejected by this delivery; ${p.missing} of ${p.expected} expected dalle(s) still missing.`);
          if (delivery.outside.length) print(`  OUTSIDE the campaign's area: ${delivery.outside.join(', ')}`);
          if (delivery.unmatched.length) print(`  NOT on the campaign's grid of ${delivery.campaign.dalleSize} m: ${delivery.unmatched.join(', ')}`);
        }
      }
      // Non-zero when something was rejected, so scripts notice; the accepted dalles are in.
      return s.rejected > 0 ? 2 : 0;
    });
  },
};
