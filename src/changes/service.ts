import type { Caller } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import { xmlEscape } from '../util/xml.js';
import { transformPoint } from '../grid/crs.js';
import { UserError } from '../util/errors.js';
import { ChangeStore, versionsAt, type Change, type PointVersion } from './store.js';

/** A change with the link that downloads it. */
export type ChangeWithLink = Change & { download: string };

export interface ChangesPage {
  since: string;
  until: string | null;
  generatedAt: string;
  /** True when more changes exist than `limit`: ask again from the last one's `publishedAt`. */
  truncated: boolean;
  items: ChangeWithLink[];
}

/** At most this many changes per answer. */
export const MAX_CHANGES = 10_000;

/**
 * The changes feed: what was published since a date, so that a network operator's GIS syncs only
 * what changed — the orthophoto's dalles (with their master's download) and the vector PCRS's
 * imported areas (with an export of the area), only what the caller may read.
 */
export async function changesSince(ctx: AppContext, caller: Caller, q: { since: string; until?: string | null; limit?: number; base: string }): Promise<ChangesPage> {
  const limit = Math.min(q.limit ?? MAX_CHANGES, MAX_CHANGES);
  const found = await new ChangeStore(ctx.db).since(q.since, q.until ?? null, limit);
  const items: ChangeWithLink[] = [];
  for (const c of found.slice(0, limit)) {
    if (!(await ctx.access.canRead(caller, { datasetId: c.dataset, version: c.version, bbox: c.bbox }))) continue;
    const download =
      c.kind === 'dalle'
        ? `${q.base}/api/datasets/${encodeURIComponent(c.dataset)}/versions/${encodeURIComponent(c.version)}/dalles/${encodeURIComponent(c.name)}/download`
        : `${q.base}/api/vector/export?format=gpkg&version=${encodeURIComponent(c.version)}&bbox=${c.bbox.join(',')}`;
    items.push({ ...c, download });
  }
  return { since: q.since, until: q.until ?? null, generatedAt: new Date().toISOString(), truncated: found.length > limit, items };
}

/** The same changes as an Atom 1.0 feed (RFC 4287): one entry per change, its download as the enclosure. */
export function changesAtom(page: ChangesPage, self: string): string {
  const updated = page.items.at(-1)?.publishedAt ?? page.generatedAt;
  const entry = (c: ChangeWithLink) => {
    const what = c.kind === 'dalle' ? `Dalle ${c.name}` : `Zone ${c.file} (${c.features} objets)`;
    const from = c.campaign ? ` — campagne ${c.campaign}` : c.contribution !== null ? ` — contribution ${c.contribution}` : '';
    const score = c.kind === 'dalle' && c.changeScore !== null ? ` Part modifiée : ${Math.round(c.changeScore * 1000) / 10} %.` : '';
    const [w, s, e, n] = c.bboxWgs84;
    return `  <entry>
    <id>urn:pcrs:change:${xmlEscape(c.dataset)}:${xmlEscape(c.version)}:${xmlEscape(c.kind === 'dalle' ? c.name : c.file)}</id>
    <title>${xmlEscape(`${what} — ${c.dataset} ${c.version}${from}`)}</title>
    <updated>${c.publishedAt}</updated>
    <summary>${xmlEscape(`Publié le ${c.publishedAt.slice(0, 10)}.${score}`)}</summary>
    <link rel="enclosure" href="${xmlEscape(c.download)}"/>
    <georss:box>${s} ${w} ${n} ${e}</georss:box>
  </entry>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:georss="http://www.georss.org/georss">
  <id>${xmlEscape(self)}</id>
  <title>PCRS — changements depuis le ${xmlEscape(page.since)}</title>
  <updated>${updated}</updated>
  <link rel="self" href="${xmlEscape(self)}"/>
${page.items.map(entry).join('\n')}
</feed>
`;
}

/**
 * The history of a point (Lambert-93, or longitude/latitude with EPSG:4326): the versions that
 * covered it, newest first per dataset, only those the caller may read. 400 outside the territory.
 */
export async function historyAt(ctx: AppContext, caller: Caller, q: { x: number; y: number; crs: 'EPSG:2154' | 'EPSG:4326' }): Promise<{ point: [number, number]; versions: PointVersion[] }> {
  const [x, y] = q.crs === 'EPSG:2154' ? [q.x, q.y] : transformPoint('OGC:CRS84', 'EPSG:2154', [q.x, q.y]);
  const [xmin, ymin, xmax, ymax] = ctx.config.territory.extent;
  if (!(x >= xmin && x <= xmax && y >= ymin && y <= ymax)) {
    throw new UserError('outside-territory', `The point (${q.x}, ${q.y}) in ${q.crs} is outside the territory.`, { status: 400, hint: q.crs === 'EPSG:2154' ? 'Give x, y in Lambert-93 metres, or lon, lat with crs=EPSG:4326.' : undefined });
  }
  const versions: PointVersion[] = [];
  for (const v of await versionsAt(ctx.db, x, y)) if (await ctx.access.canRead(caller, { datasetId: v.dataset, version: v.version, bbox: [x, y, x, y] })) versions.push(v);
  return { point: [Math.round(x * 100) / 100, Math.round(y * 100) / 100], versions };
}
