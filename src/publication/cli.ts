import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';
import { PublicationService } from './service.js';

/**
 * `pcrs publication vector-build|status`: builds the vector PCRS per commune of the bulk tree now
 * (the server does it by itself within ten minutes of a change), and says what the tree publishes.
 */
export const publicationCommand: Command = {
  name: 'publication',
  summary: 'The bulk download tree /telechargement/: build the vector PCRS per commune, show what is published',
  usage: 'pcrs publication vector-build | pcrs publication status [--json]',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'vector-build') {
      parseCommandArgs(this, rest, {});
      const ctx = await openCommandContext();
      try {
        const service = new PublicationService(ctx);
        if (!(await service.vector.published())) {
          print('The vector PCRS is restricted data: it is not published in the bulk tree.');
          return 0;
        }
        const progress = createProgress('vector PCRS per commune');
        const r = await service.vector.build({ onProgress: (done, total, message) => progress.update(done, total, message) });
        progress.finish(r.stamp === null ? 'nothing to publish' : r.reused ? 'up to date' : 'built');
        print(r.stamp === null ? 'Nothing to publish: no published vector version, or no commune outline (pcrs communes import …).' : `${r.files} communes published under /telechargement/vecteur/${r.reused ? ' (already up to date)' : ''}.`);
        return 0;
      } finally {
        await ctx.close();
      }
    }
    if (sub === 'status') {
      const { values } = parseCommandArgs(this, rest, { json: { type: 'boolean' } });
      const ctx = await openCommandContext();
      try {
        const service = new PublicationService(ctx);
        const ortho = await service.datasets();
        const vector = await service.vectorFiles();
        const stamp = await service.vector.stamp();
        const status = {
          orthophoto: ortho.map(({ dataset, versions }) => ({ dataset: dataset.id, versions: versions.map((v) => v.name) })),
          vector: vector ? { communes: vector.files.length, builtAt: vector.finishedAt.toISOString(), upToDate: vector.stamp === stamp } : null,
        };
        if (values.json) print(JSON.stringify(status, null, 2));
        else {
          print(formatTable(['FOLDER', 'PUBLISHED'], [
            ...status.orthophoto.map((d) => [`${d.dataset}/`, d.versions.join(', ')]),
            ['vecteur/', status.vector ? `${status.vector.communes} communes, built ${status.vector.builtAt}${status.vector.upToDate ? '' : ' (a newer build is due)'}` : 'nothing (restricted, or not built yet)'],
          ]));
        }
        return 0;
      } finally {
        await ctx.close();
      }
    }
    throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command: vector-build or status.');
  },
};
