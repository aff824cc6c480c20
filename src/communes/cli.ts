import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';
import { importOutlines, loadReference } from './import.js';
import { CommuneStore } from './store.js';

/** `pcrs communes load|import|list`: the territory's communes and EPCI, on the server's machine. */


export const communesCommand: Command = {
  name: 'communes',
  summary: 'Communes and EPCI of the territory: load the reference (names, INSEE codes, EPCI, population), import outlines from ADMIN EXPRESS, list',
  usage: 'pcrs communes load | pcrs communes import FILE [--layer NAME] [--insee-field NAME] [--json] | pcrs communes list [--missing] [--json]',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'load') {
      parseCommandArgs(this, rest, {});
      const ctx = await openCommandContext();
      try {
        const n = await loadReference(ctx);
        print(`${n.communes} communes and ${n.epcis} EPCI of the département ${ctx.config.territory.code} loaded from @etalab/decoupage-administratif.`);
        return 0;
      } finally {
        await ctx.close();
      }
    }
    if (sub === 'import') {
      const { values, positionals } = parseCommandArgs(this, rest, { layer: { type: 'string' }, 'insee-field': { type: 'string' }, json: { type: 'boolean' } }, true);
      if (positionals.length !== 1) throw usageError(this, 'give one file (ADMIN EXPRESS GeoPackage or Shapefile, or any vector file GDAL reads).');
      const ctx = await openCommandContext();
      try {
        const report = await importOutlines(ctx, positionals[0] as string, {
          ...(values.layer !== undefined ? { layer: values.layer } : {}),
          ...(values['insee-field'] !== undefined ? { inseeField: values['insee-field'] } : {}),
          progress: createProgress('communes'),
        });
        if (values.json) print(JSON.stringify(report, null, 2));
        else {
          print(`${report.updated} commune outlines stored from ${report.file} (layer ${report.layer}; ${report.read} polygons in the territory's extent).`);
          if (report.otherDepartement) print(`${report.otherDepartement} polygons of other départements skipped.`);
          if (report.withoutCode) print(`${report.withoutCode} polygons without an INSEE code skipped.`);
          if (report.unknown.length) print(`Codes the reference does not know (merged or renamed communes?): ${report.unknown.join(', ')}.`);
          if (report.empty.length) print(`Outlines with no area, not stored: ${report.empty.join(', ')}.`);
          if (report.stillMissing.length) print(`Still without an outline: ${report.stillMissing.length} communes (${report.stillMissing.slice(0, 10).map((c) => `${c.insee} ${c.name}`).join(', ')}${report.stillMissing.length > 10 ? ', …' : ''}).`);
        }
        return 0;
      } finally {
        await ctx.close();
      }
    }
    if (sub === 'list') {
      const { values } = parseCommandArgs(this, rest, { missing: { type: 'boolean' }, json: { type: 'boolean' } });
      const ctx = await openCommandContext();
      try {
        const store = new CommuneStore(ctx.db);
        if ((await store.count()).communes === 0) await loadReference(ctx);
        const items = (await store.list()).filter((c) => !values.missing || c.bboxLambert93 === null);
        if (values.json) print(JSON.stringify(items, null, 2));
        else print(formatTable(['INSEE', 'NAME', 'EPCI', 'POPULATION', 'OUTLINE'], items.map((c) => [c.insee, c.name, c.epci?.name ?? '', c.population, c.outlineSource ?? '—'])));
        return 0;
      } finally {
        await ctx.close();
      }
    }
    throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command.');
  },
};
