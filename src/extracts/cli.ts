import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Command, formatBytes, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';
import { OPERATOR } from '../context/access.js';
import { UserError } from '../util/errors.js';
import { MAX_AREA_FILE_BYTES, tooLargeAreaFile } from './area-file.js';
import { ExtractUrls, formatUrlList, type UrlListFormat } from './delivery.js';
import { ExtractService, type AreaInput } from './service.js';
import { EXTRACT_CONTENTS, type ExtractContent, type VectorClip } from './store.js';

/**
 * `pcrs extract`: the operator's extract over an area (a GeoJSON, KML or GeoPackage file — read as
 * the upload route reads it —, a commune, an EPCI, a declaration, an organisation's perimeter),
 * written as a ZIP file, or, with `--delivery urls`, as the list of its signed URLs.
 */

/** The area of a file, through the same reader as POST /api/v1/extracts/areas. */
async function areaFromFile(service: ExtractService, file: string): Promise<AreaInput> {
  let data: Buffer;
  try {
    if ((await stat(file)).size > MAX_AREA_FILE_BYTES) throw tooLargeAreaFile();
    data = await readFile(file);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError('unreadable-area', `${path.basename(file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, { exitCode: 66 });
  }
  return { geometry: (await service.uploadedArea(data)).geometry };
}

async function writeAtomically(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${target}.part-${process.pid}`;
  try {
    await write(tmp);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export const extractCommand: Command = {
  name: 'extract',
  summary: 'Extract the orthophoto (masters, or COGs) and/or the vector PCRS (CNIG GML, GeoPackage, DXF) over an area (GeoJSON/KML/GeoPackage file, commune, EPCI, declaration, organisation), as one ZIP or a list of signed URLs',
  usage:
    'pcrs extract (--area FILE.geojson|.kml|.gpkg | --commune INSEE | --epci SIREN | --declaration ID | --organisation SLUG) --content ortho-master,ortho-cog,vector-gml,vector-gpkg,vector-dxf [--clip dalles|area] [--version V] [--vector-version V] [--delivery zip|urls [--format text|aria2|json]] -o OUT.zip|LIST [--json]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, {
      area: { type: 'string' },
      commune: { type: 'string' },
      epci: { type: 'string' },
      declaration: { type: 'string' },
      organisation: { type: 'string' },
      delivery: { type: 'string' },
      format: { type: 'string' },
      content: { type: 'string' },
      clip: { type: 'string' },
      version: { type: 'string' },
      'vector-version': { type: 'string' },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
    });
    const areas = [values.area, values.commune, values.epci, values.declaration, values.organisation].filter((v) => v !== undefined);
    if (areas.length !== 1) throw usageError(this, 'give one of --area, --commune, --epci, --declaration or --organisation.');
    if (values.declaration !== undefined && !/^[1-9][0-9]{0,15}$/.test(values.declaration)) throw usageError(this, '--declaration takes a declaration number.');
    const delivery = values.delivery ?? 'zip';
    if (delivery !== 'zip' && delivery !== 'urls') throw usageError(this, '--delivery is zip or urls.');
    const format = values.format ?? 'text';
    if (format !== 'text' && format !== 'aria2' && format !== 'json') throw usageError(this, '--format is text, aria2 or json.');
    if (values.format !== undefined && delivery !== 'urls') throw usageError(this, '--format goes with --delivery urls.');
    if (!values.output) throw usageError(this, delivery === 'urls' ? '-o LIST.txt is required.' : '-o OUT.zip is required.');
    const contents = (values.content ?? '').split(',').map((c) => c.trim()).filter(Boolean);
    for (const c of contents) if (!(EXTRACT_CONTENTS as readonly string[]).includes(c)) throw usageError(this, `unknown content '${c.slice(0, 40)}' (${EXTRACT_CONTENTS.join(', ')}).`);
    if (contents.length === 0) throw usageError(this, `--content is required: one or more of ${EXTRACT_CONTENTS.join(', ')}, comma-separated.`);
    if (values.clip !== undefined && values.clip !== 'area' && values.clip !== 'dalles') throw usageError(this, `--clip takes dalles (whole objects, the default) or area (objects cut to the area), not '${values.clip.slice(0, 40)}'.`);
    if (values.area !== undefined) await stat(values.area).catch((e: NodeJS.ErrnoException) => {
      throw new UserError('unreadable-area', `${path.basename(values.area as string)} cannot be read (${e.code ?? 'error'}).`, { exitCode: 66 });
    });
    const ctx = await openCommandContext();
    try {
      const service = new ExtractService(ctx);
      if (delivery === 'urls' && !ctx.config.publicUrl) throw new UserError('no-public-url', 'Signed URLs need the platform’s public address.', { hint: 'Set PCRS_PUBLIC_URL (publicUrl in the configuration).', exitCode: 78 });
      const area: AreaInput =
        values.area !== undefined
          ? await areaFromFile(service, values.area)
          : values.commune !== undefined
            ? { commune: values.commune }
            : values.declaration !== undefined
              ? { declaration: Number(values.declaration) }
              : values.organisation !== undefined
                ? { organisation: values.organisation }
                : { epci: values.epci as string };
      const { extract, reused } = await service.create(OPERATOR, { area, contents: contents as ExtractContent[], orthoVersion: values.version, vectorVersion: values['vector-version'], delivery, vectorClip: values.clip as VectorClip | undefined });
      const progress = createProgress(`extract ${extract.id}`);
      const ready = reused ? extract : await service.run(extract.id, { onProgress: (done, total, message) => progress.update(done, total, message) });
      progress.finish(reused ? 'same content ready already: re-used' : 'planned');
      const target = path.resolve(values.output);
      if (delivery === 'urls') {
        const files = await new ExtractUrls(service).list(OPERATOR, ready.id, (ctx.config.publicUrl as string).replace(/\/+$/, ''));
        await writeAtomically(target, (tmp) => writeFile(tmp, formatUrlList(files, format as UrlListFormat).body));
        const bytes = files.reduce((n, f) => n + f.size, 0);
        const summary = { id: ready.id, file: target, files: files.length, bytes, expiresAt: ready.expiresAt, area: ready.request.area, reused };
        if (values.json) print(JSON.stringify(summary, null, 2));
        else print(`Extract ${ready.id} (${ready.request.area.label}): ${files.length} signed URLs, ${formatBytes(bytes)}, valid until ${ready.expiresAt?.slice(0, 10) ?? '?'} → ${target}. Fetch them: ${format === 'aria2' ? 'aria2c -i' : 'wget -x -nH --cut-dirs=6 --content-disposition -i'} ${path.basename(target)}`);
        return 0;
      }
      const zip = await service.open(ready);
      await writeAtomically(target, (tmp) => pipeline(Readable.from(zip.read()), createWriteStream(tmp)));
      const summary = { id: ready.id, file: target, bytes: zip.size, entries: ready.entryCount, area: ready.request.area, ortho: ready.request.ortho, vector: ready.request.vector, reused };
      if (values.json) print(JSON.stringify(summary, null, 2));
      else print(`Extract ${ready.id} (${ready.request.area.label}): ${ready.entryCount} files, ${formatBytes(zip.size)} → ${target}${reused ? ' (re-used)' : ''}. Check it: unzip -t, then sha256sum -c MANIFEST.sha256.`);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
