import { readFile } from 'node:fs/promises';
import { type Command, formatTable, openCommandContext, parseCommandArgs, print, usageError } from '../cli/command.js';
import { createProgress } from '../cli/progress.js';
import { OPERATOR } from '../context/access.js';
import { UserError } from '../util/errors.js';
import { CAMPAIGN_STATUSES, type Campaign, type CampaignStatus } from './model.js';
import { createBody } from './routes.js';
import { CampaignService } from './service.js';

/**
 * `pcrs campaigns list|show|create|status`: the operator's side of update campaigns. Deliveries go
 * in with `pcrs ingest DIR --campaign SLUG`.
 */
export const campaignsCommand: Command = {
  name: 'campaigns',
  summary: 'Update campaigns: list, show one with its progress, create one for an area, move it along its workflow, check the delivered dalles, publish',
  usage:
    'pcrs campaigns list [--json] | show SLUG [--json] | create --slug S --title T --kind ortho|vector|mixed [--dalle-size 200|1000] (--area FILE.geojson | --to-update | --communes INSEE,… | --older-than YEARS) [--contractor ORG] [--start YYYY-MM-DD] [--end YYYY-MM-DD] [--json] | status SLUG ordered|in-acquisition|delivered|checked|cancelled [--note TEXT] | check SLUG [--json] | publish SLUG',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'list') {
      const { values } = parseCommandArgs(this, rest, { json: { type: 'boolean' } });
      return withService(async (service) => {
        const rows = await service.store.list();
        if (values.json) print(JSON.stringify(rows, null, 2));
        else print(formatTable(['SLUG', 'KIND', 'STATUS', 'EXPECTED', 'RECEIVED', 'REJECTED', 'MISSING', 'TITLE'], rows.map((c) => [c.slug, c.kind, c.status, c.progress.expected, c.progress.received + c.progress.accepted, c.progress.rejected, c.progress.missing, c.title])));
        return 0;
      });
    }
    if (sub === 'show') {
      const { values, positionals } = parseCommandArgs(this, rest, { json: { type: 'boolean' } }, true);
      const slug = positionals[0];
      if (!slug || positionals.length > 1) throw usageError(this, 'give the campaign’s name (its slug).');
      return withService(async (service) => {
        const c = await service.store.get(slug);
        if (values.json) print(JSON.stringify({ ...c, events: await service.store.events(c.id), deliveries: await service.store.deliveries(c.id) }, null, 2));
        else print(describe(c));
        return 0;
      });
    }
    if (sub === 'create') {
      const { values } = parseCommandArgs(this, rest, {
        slug: { type: 'string' },
        title: { type: 'string' },
        kind: { type: 'string' },
        'dalle-size': { type: 'string' },
        area: { type: 'string' },
        'to-update': { type: 'boolean' },
        communes: { type: 'string' },
        'older-than': { type: 'string' },
        contractor: { type: 'string' },
        start: { type: 'string' },
        end: { type: 'string' },
        description: { type: 'string' },
        json: { type: 'boolean' },
      });
      const sources = [values.area !== undefined, values['to-update'] === true, values.communes !== undefined, values['older-than'] !== undefined].filter(Boolean).length;
      if (sources !== 1) throw usageError(this, 'give the area in one way: --area FILE.geojson, --to-update, --communes or --older-than.');
      let area: unknown;
      if (values.area !== undefined) area = { source: 'drawn', geometry: await polygonOfFile(values.area) };
      else if (values['to-update']) area = { source: 'to-update' };
      else if (values.communes !== undefined) area = { source: 'communes', insee: values.communes.split(',').map((s) => s.trim()).filter(Boolean) };
      else area = { source: 'older-than', years: Number(values['older-than']) };
      const parsed = createBody.safeParse({
        slug: values.slug,
        title: values.title,
        kind: values.kind,
        ...(values['dalle-size'] !== undefined ? { dalleSize: Number(values['dalle-size']) } : {}),
        area,
        ...(values.contractor !== undefined ? { contractor: values.contractor } : {}),
        ...(values.start !== undefined ? { plannedStart: values.start } : {}),
        ...(values.end !== undefined ? { plannedEnd: values.end } : {}),
        ...(values.description !== undefined ? { description: values.description } : {}),
      });
      if (!parsed.success) throw usageError(this, parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
      return withService(async (service) => {
        const c = await service.create(OPERATOR, parsed.data);
        if (values.json) print(JSON.stringify(c, null, 2));
        else print(`Campaign ${c.slug} created: ${c.progress.expected} dalle(s) of ${c.dalleSize} m expected over ${c.areaKm2} km².`);
        return 0;
      });
    }
    if (sub === 'status') {
      const { values, positionals } = parseCommandArgs(this, rest, { note: { type: 'string' } }, true);
      const [slug, to] = positionals;
      if (!slug || !to || positionals.length > 2) throw usageError(this, 'give the campaign and the new status.');
      if (!(CAMPAIGN_STATUSES as readonly string[]).includes(to)) throw usageError(this, `'${to}' is not a status (${CAMPAIGN_STATUSES.join(', ')}).`);
      return withService(async (service) => {
        const c = await service.changeStatus(OPERATOR, slug, to as CampaignStatus, values.note ?? null);
        print(`Campaign ${c.slug} is now ${c.status}.`);
        return 0;
      });
    }
    if (sub === 'check') {
      const { values, positionals } = parseCommandArgs(this, rest, { json: { type: 'boolean' } }, true);
      const slug = positionals[0];
      if (!slug || positionals.length > 1) throw usageError(this, 'give the campaign’s name (its slug).');
      return withService(async (service) => {
        const progress = createProgress('check');
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once('SIGINT', stop);
        try {
          const r = await service.check(OPERATOR, slug, { signal: controller.signal, onProgress: (d, t, m) => progress.update(d, t, m) });
          progress.finish(r.interrupted ? 'interrupted' : `${r.accepted.length} accepted, ${r.rejected.length} refused`);
          if (values.json) print(JSON.stringify(r, null, 2));
          else {
            print(r.interrupted ? 'Interrupted: run the same command again to go on.' : `${r.accepted.length} dalle(s) accepted, ${r.rejected.length} refused.`);
            for (const x of r.rejected) print(`  REFUSED ${x.label}: ${x.reason}`);
          }
          return r.interrupted ? 75 : 0;
        } finally {
          process.off('SIGINT', stop);
        }
      });
    }
    if (sub === 'publish') {
      const { positionals } = parseCommandArgs(this, rest, {}, true);
      const slug = positionals[0];
      if (!slug || positionals.length > 1) throw usageError(this, 'give the campaign’s name (its slug).');
      return withService(async (service) => {
        const c = await service.publish(OPERATOR, slug);
        print(`Campaign ${c.slug} published: ${c.progress.accepted} dalle(s) in version ${c.orthoVersion}, now part of the current orthophoto.`);
        return 0;
      });
    }
    throw usageError(this, sub ? `unknown sub-command '${sub}'.` : 'give a sub-command.');
  },
};

async function withService(fn: (service: CampaignService) => Promise<number>): Promise<number> {
  const ctx = await openCommandContext();
  try {
    return await fn(new CampaignService(ctx));
  } finally {
    await ctx.close();
  }
}

/** The Polygon of a GeoJSON file: a geometry, a Feature or a FeatureCollection of one polygon. */
async function polygonOfFile(file: string): Promise<unknown> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new UserError('unreadable-area', `Cannot read ${file} as GeoJSON: ${(e as Error).message}`, { exitCode: 65 });
  }
  const o = json as { type?: string; geometry?: unknown; features?: Array<{ geometry?: unknown }>; crs?: unknown };
  if (o.type === 'FeatureCollection') {
    if (o.features?.length !== 1) throw new UserError('unreadable-area', `${file} must hold exactly one polygon (it has ${o.features?.length ?? 0} features).`, { exitCode: 65 });
    const g = o.features[0]?.geometry as Record<string, unknown> | undefined;
    return o.crs && g ? { ...g, crs: o.crs } : g;
  }
  if (o.type === 'Feature') return o.geometry;
  return json;
}

function describe(c: Campaign): string {
  const p = c.progress;
  return [
    `Campaign ${c.slug} — ${c.title}`,
    `Kind ${c.kind} · status ${c.status} · dalles of ${c.dalleSize} m · area ${c.areaKm2} km² (${c.areaSource})`,
    `Contractor: ${c.contractor ? `${c.contractor.name} (${c.contractor.slug})` : '—'} · planned ${c.plannedStart ?? '…'} – ${c.plannedEnd ?? '…'}`,
    `Progress: ${p.expected} expected, ${p.received} received, ${p.accepted} accepted, ${p.rejected} rejected, ${p.missing} missing (${Math.round(p.receivedRatio * 100)} %); ${p.outside} delivered outside the area; ${p.deliveries} deliveries`,
    ...(c.orthoVersion ? [`Orthophoto version: ${c.orthoVersion} (published with the campaign)`] : []),
  ].join('\n');
}
