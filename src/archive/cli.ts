import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { formatBytes, formatTable, parseCommandArgs, print, type Command } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';
import { positiveNumber, withStorage } from '../tiers/cli.js';
import { UserError } from '../util/errors.js';
import { archiveDirectory } from './archive.js';
import { listPackages, openPackageDownload, pollRestore, requestRestore } from './restore.js';

export const archiveCommand: Command = {
  name: 'archive',
  summary: 'Pack a folder of raw data as a BagIt package into the cold tier (verified, registered)',
  usage: 'pcrs archive <dir> --version V [--dataset raw-at] [--storage-class DEEP_ARCHIVE] [--organisation NAME] [--description TEXT] [--json]',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      this,
      argv,
      { version: { type: 'string' }, dataset: { type: 'string', default: 'raw-at' }, 'storage-class': { type: 'string' }, organisation: { type: 'string' }, description: { type: 'string' }, json: { type: 'boolean' } },
      true,
    );
    const dir = positionals[0];
    if (!dir || positionals.length > 1) throw new UserError('usage', 'pcrs archive: give exactly one folder to archive.', { hint: `Usage: ${this.usage}`, exitCode: 64 });
    if (!values.version) throw new UserError('usage', 'pcrs archive: --version is required (e.g. --version 2025).', { hint: `Usage: ${this.usage}`, exitCode: 64 });
    return withStorage(async (s, signal) => {
      const progress = createProgress('archive');
      const r = await archiveDirectory(
        s,
        {
          dir: path.resolve(dir),
          datasetId: values.dataset ?? 'raw-at',
          version: values.version as string,
          ...(values['storage-class'] ? { storageClass: values['storage-class'] } : {}),
          ...(values.organisation ? { organisation: values.organisation } : {}),
          ...(values.description ? { description: values.description } : {}),
        },
        { signal, onProgress: (d, t, m) => progress.update(d, t, m) },
      );
      progress.finish(r.alreadyArchived ? 'already archived' : 'archived');
      if (values.json) print(JSON.stringify(r, null, 2));
      else {
        print(`${r.alreadyArchived ? 'Already archived' : 'Archived'}: ${r.payloadFiles} file(s), ${formatBytes(r.payloadBytes)} → ${r.where}${r.key} (${formatBytes(r.bytes)}, package ${r.assetId}${r.storageClass ? `, ${r.storageClass}` : ''}).`);
        print(`SHA-256 ${r.sha256}; verified by ${r.verification === 'read' ? 'reading it back and validating the bag' : 'HEAD (archive class: size and stored SHA-256)'}.`);
      }
      return 0;
    });
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'Restore an archive package from the cold tier (request, wait, download)',
  usage: 'pcrs restore <package id or key> [--days N] [--requester WHO] [--wait] [--poll-seconds S] [--output FILE] [--json] | pcrs restore --list [--json]',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      this,
      argv,
      { days: { type: 'string' }, requester: { type: 'string' }, wait: { type: 'boolean' }, 'poll-seconds': { type: 'string' }, output: { type: 'string' }, list: { type: 'boolean' }, json: { type: 'boolean' } },
      true,
    );
    if (values.list) {
      return withStorage(async (s) => {
        const packages = await listPackages(s);
        if (values.json) print(JSON.stringify(packages, null, 2));
        else if (packages.length === 0) print('No archive packages. Create one with `pcrs archive <dir> --version V`.');
        else print(formatTable(['ID', 'PACKAGE', 'BYTES', 'CLASS', 'STATE', 'RESTORE'], packages.map((p) => [p.id, p.location, formatBytes(p.bytes), p.storageClass, p.state, p.restore ? `${p.restore.state}${p.restore.expiresAt ? ` until ${p.restore.expiresAt.toISOString()}` : ''}` : ''])));
        return 0;
      });
    }
    const ref = positionals[0];
    if (!ref || positionals.length > 1) throw new UserError('usage', 'pcrs restore: give one package (its id or key; see `pcrs restore --list`).', { hint: `Usage: ${this.usage}`, exitCode: 64 });
    const days = values.days === undefined ? 7 : Number(values.days);
    const pollSeconds = positiveNumber('poll-seconds', values['poll-seconds']) ?? 900;
    return withStorage(async (s, signal) => {
      let r = await requestRestore(s, { package: ref, days, requester: values.requester ?? process.env.USER ?? 'operator' });
      if ((values.wait || values.output) && r.state !== 'available') {
        print(`Restore ${r.id} of ${r.location}: ${r.state}; polling every ${pollSeconds} s (Ctrl+C stops waiting; the server keeps polling).`);
        r = await pollRestore(s, r.id, { intervalMs: pollSeconds * 1000, signal });
      }
      if (values.output && r.state === 'available') {
        const dl = await openPackageDownload(s, r.assetId);
        if (dl.kind !== 'stream') throw new Error('unexpected download kind');
        await pipeline(dl.stream, createWriteStream(values.output));
      }
      if (values.json) print(JSON.stringify(r, null, 2));
      else {
        print(`Restore ${r.id} of ${r.location} for ${r.requester}: ${r.state}${r.expiresAt ? `, downloadable until ${r.expiresAt.toISOString()}` : ''}.`);
        if (r.state === 'available') print(values.output ? `Downloaded to ${values.output}.` : `Download: GET /api/archive/packages/${r.assetId}/download, or \`pcrs restore ${r.assetId} --output FILE\`.`);
        else print('The requester is notified when it is available (the server polls open restores).');
      }
      return r.state === 'available' || r.state === 'in-progress' || r.state === 'requested' ? 0 : 1;
    });
  },
};
