import { UserError } from '../util/errors.js';
import { formatTable, openCommandContext, parseCommandArgs, print, type Command } from '../cli/command.js';

function parseBboxFlag(text: string | undefined): [number, number, number, number] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n)) || parts[0]! >= parts[2]! || parts[1]! >= parts[3]!) {
    throw new UserError('usage', `--bbox '${text}' must be xmin,ymin,xmax,ymax in Lambert-93 metres with xmin < xmax and ymin < ymax.`, { exitCode: 64 });
  }
  return parts as [number, number, number, number];
}

export const versionsCommand: Command = {
  name: 'versions',
  summary: 'List the versions (millésimes, updates) of the datasets',
  usage: 'pcrs versions [--dataset ortho] [--json]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, { dataset: { type: 'string' }, json: { type: 'boolean' } });
    const ctx = await openCommandContext();
    try {
      const versions = await ctx.catalog.listVersions(values.dataset);
      if (values.json) {
        print(JSON.stringify(versions, null, 2));
        return 0;
      }
      if (versions.length === 0) {
        print('No versions yet. Ingest a delivery with `pcrs ingest <dir> --dataset ortho --version <name>`.');
        return 0;
      }
      print(
        formatTable(
          ['DATASET', 'VERSION', 'KIND', 'STATUS', 'DATE', 'PRIORITY', 'DALLES', 'KM²'],
          versions.map((v) => [v.datasetId, v.name, v.kind, v.status, v.acquisitionDate, v.priority, v.dalleCount, v.coverageKm2.toFixed(2)]),
        ),
      );
      return 0;
    } finally {
      await ctx.close();
    }
  },
};

export const dallesCommand: Command = {
  name: 'dalles',
  summary: 'List the dalles of a version, optionally within a bbox',
  usage: 'pcrs dalles --version V [--dataset ortho] [--bbox xmin,ymin,xmax,ymax] [--json]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, {
      version: { type: 'string' },
      dataset: { type: 'string', default: 'ortho' },
      bbox: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (!values.version) throw new UserError('usage', 'pcrs dalles: --version is required.', { hint: `Usage: ${this.usage}`, exitCode: 64 });
    const bbox = parseBboxFlag(values.bbox);
    const ctx = await openCommandContext();
    try {
      const version = await ctx.catalog.getVersion(values.dataset ?? 'ortho', values.version);
      const dalles = await ctx.catalog.listDalles({ versionId: version.id, ...(bbox ? { bbox } : {}) });
      if (values.json) {
        print(JSON.stringify(dalles, null, 2));
        return 0;
      }
      print(formatTable(['NAME', 'SIZE', 'XMIN', 'YMIN', 'XMAX', 'YMAX', 'CRS', 'STATE'], dalles.map((d) => [d.name, `${d.sizeM} m`, ...d.bbox, d.sourceCrs, d.state])));
      print(`${dalles.length} dalle(s)`);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};

export { parseBboxFlag };
