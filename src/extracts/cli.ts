import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Command, formatBytes, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';
import { OPERATOR } from '../context/access.js';
import { UserError } from '../util/errors.js';
import { ExtractService, type AreaInput } from './service.js';
import { EXTRACT_CONTENTS, type ExtractContent, type VectorClip } from './store.js';

/** `pcrs extract`: the operator's extract over an area, written as a ZIP file. */


/** The polygon of a GeoJSON file: a geometry, a Feature, or a FeatureCollection of one polygon feature. */
async function areaFromFile(command: Command, file: string): Promise<AreaInput> {
  let doc: { type?: string; geometry?: unknown; features?: Array<{ geometry?: unknown }>; crs?: unknown };
  try {
    doc = JSON.parse(await readFile(file, 'utf8')) as typeof doc;
  } catch (e) {
    throw new UserError('unreadable-area', `${path.basename(file)} is not a readable GeoJSON file (${(e as NodeJS.ErrnoException).code ?? 'invalid JSON'}).`, { exitCode: 66 });
  }
  const geometry = (doc.type === 'FeatureCollection' ? (doc.features?.length === 1 ? doc.features[0]?.geometry : undefined) : doc.type === 'Feature' ? doc.geometry : doc) as { type?: string; coordinates?: unknown; crs?: unknown } | undefined;
  // The crs member (GeoJSON 2008, as GDAL writes it) on the document or on the geometry.
  const crs = doc.crs ?? geometry?.crs;
  if (!geometry || (geometry.type !== 'Polygon' && geometry.type !== 'MultiPolygon')) throw usageError(command, `${path.basename(file)} must hold one Polygon or MultiPolygon (WGS84, or EPSG:2154 named by its crs member).`);
  return { geometry: { type: geometry.type, coordinates: geometry.coordinates, ...(crs ? { crs: crs as { type: 'name'; properties: { name: string } } } : {}) } };
}

export const extractCommand: Command = {
  name: 'extract',
  summary: 'Extract the orthophoto (masters, or COGs) and/or the vector PCRS (CNIG GML, GeoPackage, DXF) over an area, a commune or an EPCI, as one ZIP',
  usage: 'pcrs extract (--area FILE.geojson | --commune INSEE | --epci SIREN | --declaration ID) --content ortho-master,ortho-cog,vector-gml,vector-gpkg,vector-dxf [--clip dalles|area] [--version V] [--vector-version V] -o OUT.zip [--json]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, {
      area: { type: 'string' },
      commune: { type: 'string' },
      epci: { type: 'string' },
      declaration: { type: 'string' },
      content: { type: 'string' },
      clip: { type: 'string' },
      version: { type: 'string' },
      'vector-version': { type: 'string' },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
    });
    const areas = [values.area, values.commune, values.epci, values.declaration].filter((v) => v !== undefined);
    if (areas.length !== 1) throw usageError(this, 'give one of --area, --commune, --epci or --declaration.');
    if (values.declaration !== undefined && !/^[1-9][0-9]{0,15}$/.test(values.declaration)) throw usageError(this, '--declaration takes a declaration number.');
    if (!values.output) throw usageError(this, '-o OUT.zip is required.');
    const contents = (values.content ?? '').split(',').map((c) => c.trim()).filter(Boolean);
    for (const c of contents) if (!(EXTRACT_CONTENTS as readonly string[]).includes(c)) throw usageError(this, `unknown content '${c.slice(0, 40)}' (${EXTRACT_CONTENTS.join(', ')}).`);
    if (contents.length === 0) throw usageError(this, `--content is required: one or more of ${EXTRACT_CONTENTS.join(', ')}, comma-separated.`);
    if (values.clip !== undefined && values.clip !== 'area' && values.clip !== 'dalles') throw usageError(this, `--clip takes dalles (whole objects, the default) or area (objects cut to the area), not '${values.clip.slice(0, 40)}'.`);
    const area: AreaInput =
      values.area !== undefined
        ? await areaFromFile(this, values.area)
        : values.commune !== undefined
          ? { commune: values.commune }
          : values.declaration !== undefined
            ? { declaration: Number(values.declaration) }
            : { epci: values.epci as string };
    const ctx = await openCommandContext();
    try {
      const service = new ExtractService(ctx);
      const { extract, reused } = await service.create(OPERATOR, { area, contents: contents as ExtractContent[], orthoVersion: values.version, vectorVersion: values['vector-version'], vectorClip: values.clip as VectorClip | undefined });
      const progress = createProgress(`extract ${extract.id}`);
      const ready = reused ? extract : await service.run(extract.id, { onProgress: (done, total, message) => progress.update(done, total, message) });
      progress.finish(reused ? 'same content ready already: re-used' : 'planned');
      const zip = await service.open(ready);
      const target = path.resolve(values.output);
      const tmp = `${target}.part-${process.pid}`;
      try {
        await pipeline(Readable.from(zip.read()), createWriteStream(tmp));
        await rename(tmp, target);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      const summary = { id: ready.id, file: target, bytes: zip.size, entries: ready.entryCount, area: ready.request.area, ortho: ready.request.ortho, vector: ready.request.vector, reused };
      if (values.json) print(JSON.stringify(summary, null, 2));
      else print(`Extract ${ready.id} (${ready.request.area.label}): ${ready.entryCount} files, ${formatBytes(zip.size)} → ${target}${reused ? ' (re-used)' : ''}. Check it: unzip -t, then sha256sum -c MANIFEST.sha256.`);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
