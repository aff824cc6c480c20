import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ANONYMOUS } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import { UserError } from '../util/errors.js';
import { runXmllint, type XsdError } from '../vector/gml/xsd.js';
import { dcatJsonLd, dcatRdfXml } from './dcat.js';
import { ISO_SCHEMA, isoDocument } from './iso.js';
import { MetadataRecords } from './records.js';
import { StacService } from './stac.js';

/**
 * `pcrs metadata export`: the public metadata as files, for a static site, a mirror or a catalogue
 * that takes files. Only open data (what an anonymous caller may read).
 * - iso: `DIR/{dataset}.xml` and `DIR/{dataset}/{version}.xml`, each validated against the
 *   ISO 19139 schemas shipped in resources/ (xmllint, offline);
 * - dcat: `DIR/dcat.rdf` and `DIR/dcat.jsonld`;
 * - stac: a static catalogue with relative links: `DIR/catalog.json`,
 *   `DIR/{collection}/collection.json`, `DIR/{collection}/items/{dalle}.json`.
 */
export type ExportFormat = 'iso' | 'dcat' | 'stac';

export interface ExportResult {
  format: ExportFormat;
  dir: string;
  files: number;
  records: number;
}

function write(file: string, body: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, body);
}

export async function exportMetadata(ctx: Pick<AppContext, 'catalog' | 'access' | 'config' | 'db'>, options: { format: ExportFormat; dir: string; base: string }): Promise<ExportResult> {
  const base = options.base.replace(/\/+$/, '');
  const records = new MetadataRecords(ctx);
  const list = await records.list(ANONYMOUS, base);
  const dir = path.resolve(options.dir);
  let files = 0;
  if (options.format === 'iso') {
    for (const r of list) {
      const file = path.join(dir, r.version ? path.join(r.datasetId, `${r.version}.xml`) : `${r.datasetId}.xml`);
      write(file, isoDocument(r, ctx.config));
      const errors: XsdError[] = [];
      const result = await runXmllint(file, { schema: ISO_SCHEMA, onError: (e) => errors.push(e) });
      if (!result.valid) throw new UserError('invalid-metadata', `${file} does not validate against the ISO 19139 schemas: ${errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`).join('; ') || `xmllint exit ${result.exitCode}`}`, { exitCode: 1 });
      files++;
    }
  } else if (options.format === 'dcat') {
    write(path.join(dir, 'dcat.rdf'), dcatRdfXml(list, ctx.config, base));
    write(path.join(dir, 'dcat.jsonld'), `${JSON.stringify(dcatJsonLd(list, ctx.config, base), null, 2)}\n`);
    files = 2;
  } else {
    const stac = new StacService(ctx, records);
    const layout = { kind: 'static' as const, base };
    const versions = list.filter((r) => r.stacCollection !== null);
    write(path.join(dir, 'catalog.json'), `${JSON.stringify(stac.rootDocument(versions, layout), null, 2)}\n`);
    files++;
    for (const r of versions) {
      const cid = r.stacCollection as string;
      const itemLinks: Array<{ rel: string; href: string; type: string }> = [];
      for await (const d of stac.allDalles(r)) {
        write(path.join(dir, cid, 'items', `${d.name}.json`), `${JSON.stringify(stac.itemDocument(r, d, layout), null, 2)}\n`);
        itemLinks.push({ rel: 'item', href: `./items/${d.name}.json`, type: 'application/geo+json' });
        files++;
      }
      const collection = stac.collectionDocument(r, layout);
      collection.links = [...(collection.links as unknown[]), ...itemLinks];
      write(path.join(dir, cid, 'collection.json'), `${JSON.stringify(collection, null, 2)}\n`);
      files++;
    }
  }
  return { format: options.format, dir, files, records: list.length };
}
