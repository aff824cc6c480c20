import { UserError } from '../util/errors.js';
import { CampaignService } from '../campaigns/service.js';
import { OPERATOR } from '../context/access.js';
import { formatReportJson, formatReportText } from './gml/report.js';
import { validateGmlFileInWorker } from './gml-worker.js';
import { importIntoVersion, listGmlFiles } from './import.js';
import { exportVector, parseExportFormat } from './export.js';
import { type Command, commandConfig, formatTable, openCommandContext, parseCommandArgs, print } from '../cli/command.js';
import { parseBboxFlag } from '../catalog/cli.js';

const USAGE = [
  'pcrs gml import <file|dir> (--version V [--dataset vector] [--update] [--no-publish] | --campaign SLUG) [--date YYYY-MM-DD] [--default-srs EPSG:n] [--json]',
  '       pcrs gml validate <file> [--json] [--default-srs EPSG:n]',
  '       pcrs gml export --version V|current [--dataset vector] (--bbox xmin,ymin,xmax,ymax | --polygon FILE.geojson) --format gml|gpkg|dxf|geojson -o FILE',
].join('\n');

async function validate(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(gmlCommand, argv, { json: { type: 'boolean' }, 'default-srs': { type: 'string' } }, true);
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UserError('usage', 'pcrs gml validate: give one file.', { hint: `Usage: ${USAGE}`, exitCode: 64 });
  const config = commandConfig();
  const report = await validateGmlFileInWorker(file, {
    territoryBbox: config.territory.extent as [number, number, number, number],
    territoryName: `${config.territory.name} (${config.territory.code})`,
    ...(values['default-srs'] ? { defaultSrsName: values['default-srs'] } : {}),
  });
  print(values.json ? formatReportJson(report) : formatReportText(report));
  return report.valid ? 0 : 1;
}

async function importCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    gmlCommand,
    argv,
    {
      version: { type: 'string' },
      dataset: { type: 'string', default: 'vector' },
      date: { type: 'string' },
      update: { type: 'boolean' },
      'default-srs': { type: 'string' },
      'no-publish': { type: 'boolean' },
      campaign: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  const target = positionals[0];
  if (values.campaign !== undefined && (values.version !== undefined || values.update || values['no-publish'] || values.dataset !== 'vector')) {
    throw new UserError('usage', 'pcrs gml import: --campaign puts the files into the campaign’s own unpublished update version; do not give --version, --dataset, --update or --no-publish with it.', { hint: `Usage: ${USAGE}`, exitCode: 64 });
  }
  if (!target || (!values.version && values.campaign === undefined)) throw new UserError('usage', 'pcrs gml import: a file or directory and --version (or --campaign) are required.', { hint: `Usage: ${USAGE}`, exitCode: 64 });
  const files = await listGmlFiles(target);
  const ctx = await openCommandContext();
  try {
    const campaigns = values.campaign === undefined ? null : new CampaignService(ctx);
    const campaign = campaigns ? await campaigns.prepareVectorDelivery(OPERATOR, values.campaign as string, values.date ?? null) : null;
    const { version, results } = await importIntoVersion(ctx, files, {
      datasetId: campaign ? 'vector' : (values.dataset ?? 'vector'),
      versionName: campaign ? campaign.versionName : (values.version as string),
      kind: values.update || campaign ? 'update' : 'full',
      ...(values.date ? { date: values.date } : {}),
      ...(values['default-srs'] ? { defaultSrsName: values['default-srs'] } : {}),
      publish: !values['no-publish'] && !campaign,
      onFile: (r) => {
        if (values.json) return;
        print(`${r.status.padEnd(8)} ${r.file}: ${r.features} feature(s) in ${(r.durationMs / 1000).toFixed(1)} s${r.reason ? ` — ${r.reason}` : ''}`);
        if (r.status === 'rejected' && r.report) print(formatReportText({ ...r.report, findings: r.report.findings.slice(0, 20) }));
      },
    });
    const rejected = results.filter((r) => r.status === 'rejected').length;
    const delivery = campaigns && campaign ? await campaigns.recordGmlImport(OPERATOR, campaign.campaign.slug, results, values.date ?? null) : null;
    if (delivery && !values.json) {
      const cover = delivery.campaign.progress.vectorCoverage;
      print(`Campaign ${delivery.campaign.slug}: ${cover === null ? 'no' : `${Math.round(cover * 1000) / 10} % of the`} area covered by its vector deliveries (published with the campaign).`);
      if (delivery.outside.length) print(`  OUTSIDE the campaign's area: ${delivery.outside.join(', ')}`);
    }
    if (values.json) {
      print(JSON.stringify({ version: version.name, results: results.map((r) => ({ ...r, report: r.status === 'rejected' ? r.report : r.report?.summary })) }, null, 2));
    } else {
      const byClass: Record<string, number> = {};
      for (const r of results) if (r.status === 'imported') for (const [k, n] of Object.entries(r.byClass)) byClass[k] = (byClass[k] ?? 0) + n;
      if (Object.keys(byClass).length) print(formatTable(['CLASS', 'FEATURES'], Object.entries(byClass).sort().map(([k, n]) => [k, n])));
      print(`${results.length - rejected} of ${results.length} file(s) imported into version ${version.name}${rejected ? `, ${rejected} rejected (nothing of them was kept)` : ''}.`);
    }
    return rejected ? 2 : 0;
  } finally {
    await ctx.close();
  }
}

async function exportCmd(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(gmlCommand, argv, {
    version: { type: 'string' },
    dataset: { type: 'string', default: 'vector' },
    bbox: { type: 'string' },
    polygon: { type: 'string' },
    format: { type: 'string', default: 'gml' },
    output: { type: 'string', short: 'o' },
  });
  if (!values.version || !values.output) throw new UserError('usage', 'pcrs gml export: --version and -o are required.', { hint: `Usage: ${USAGE}`, exitCode: 64 });
  const format = parseExportFormat(values.format ?? 'gml');
  const bbox = parseBboxFlag(values.bbox);
  let polygon: Record<string, unknown> | undefined;
  if (values.polygon) {
    const { readFile } = await import('node:fs/promises');
    const g = JSON.parse(await readFile(values.polygon, 'utf8')) as Record<string, unknown>;
    polygon = (g.type === 'Feature' ? g.geometry : g.type === 'FeatureCollection' ? (g.features as Array<{ geometry: Record<string, unknown> }>)[0]?.geometry : g) as Record<string, unknown>;
  }
  const ctx = await openCommandContext();
  try {
    const datasetId = values.dataset ?? 'vector';
    const versionId = values.version === 'current' ? undefined : (await ctx.catalog.getVersion(datasetId, values.version)).id;
    const r = await exportVector(ctx.db, {
      datasetId,
      ...(versionId !== undefined ? { versionId } : {}),
      ...(bbox ? { bbox } : {}),
      ...(polygon ? { polygon } : {}),
      format,
      output: values.output,
    });
    print(`${r.features} feature(s) written to ${values.output} (${format})`);
    return 0;
  } finally {
    await ctx.close();
  }
}

export const gmlCommand: Command = {
  name: 'gml',
  summary: 'Vector PCRS (CNIG GML v2.0): import, validate, export',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'import') return importCmd(rest);
    if (sub === 'validate') return validate(rest);
    if (sub === 'export') return exportCmd(rest);
    throw new UserError('usage', `pcrs gml: unknown subcommand '${sub ?? ''}'.`, { hint: `Usage: ${USAGE}`, exitCode: 64 });
  },
};
