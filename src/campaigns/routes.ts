import { z } from 'zod';
import type { AccessNeed, Caller } from '../context/access.js';
import type { RouteApp } from '../context/capability.js';
import { geometry, text } from '../declarations/routes.js';
import { CAMPAIGN_KINDS, CAMPAIGN_STATUSES, canManageCampaigns, type Campaign } from './model.js';
import type { CampaignService } from './service.js';
import { CHANGE_MAP_MAX_ZOOM, CHANGE_MAP_MIN_ZOOM, changeMapCapabilities, changeMapTile } from './change-map.js';
import type { Config } from '../config/config.js';
import { baseUrl } from '../http/base-url.js';
import { UserError } from '../util/errors.js';

/**
 * /api/v1/campaigns: the update campaigns, their expected dalles (GeoJSON, for the map) and
 * progress — public, as communes and networks want to know when their streets are surveyed; the
 * budget, the deliveries and the action log are the administrators'. Administrators create them
 * and move them along their workflow.
 */

const tags = ['campaigns'];
const MANAGE: AccessNeed = { roles: ['platform-admin'], scope: 'admin' };

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'must be lowercase letters, digits and hyphens (at most 48)');
const slugParams = z.strictObject({ slug });
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD').refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString().startsWith(s), 'must be a real date');
const insee = z.string().regex(/^([0-9]{5}|2[AB][0-9]{3})$/, 'must be an INSEE code');

const area = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('drawn'), geometry: geometry.refine((g) => g.type === 'Polygon', 'the area must be a Polygon') }),
  z.strictObject({ source: z.literal('to-update') }),
  z.strictObject({ source: z.literal('communes'), insee: z.array(insee).min(1).max(400) }),
  z.strictObject({ source: z.literal('older-than'), years: z.number().int().min(1).max(50) }),
]);

export const createBody = z.strictObject({
  slug,
  title: text(200),
  kind: z.enum(CAMPAIGN_KINDS),
  dalleSize: z.union([z.literal(200), z.literal(1000)]).default(200),
  area,
  contractor: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be an organisation slug').optional(),
  plannedStart: date.optional(),
  plannedEnd: date.optional(),
  budget: z
    .array(z.strictObject({ label: text(200), category: z.enum(['acquisition', 'update', 'control', 'storage', 'other']), amountEur: z.number().finite().min(0).max(1e9) }))
    .max(100)
    .optional(),
  description: text(10000).optional(),
});

/** A campaign as answered: the budget only to those who manage campaigns. */
function out(c: Campaign, caller: Caller) {
  const { budget, ...rest } = c;
  return canManageCampaigns(caller) ? { ...rest, budget } : rest;
}

export function registerCampaignRoutes(app: RouteApp, service: CampaignService, startCheck: (caller: Caller, slug: string) => void, config: Pick<Config, 'publicUrl' | 'campaigns'>): void {
  const changeThreshold = config.campaigns.changeThreshold;
  app.get('/api/v1/campaigns', { config: { access: 'public' }, schema: { tags, summary: 'Update campaigns, newest first, with their progress' } }, async (request) => ({
    campaigns: (await service.store.list()).map((c) => out(c, request.caller)),
  }));

  app.get('/api/v1/campaigns/:slug', { config: { access: 'public' }, schema: { tags, summary: 'One campaign: area, contractor, planned dates, status, progress', params: slugParams } }, async (request) =>
    out(await service.store.get(request.params.slug), request.caller),
  );

  app.get(
    '/api/v1/campaigns/:slug/dalles',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'The campaign’s dalles as GeoJSON (WGS84, or Lambert-93 with crs=EPSG:2154): expected ones with their state (expected, received, accepted, rejected and why), then those delivered outside the area',
        params: slugParams,
        querystring: z.strictObject({ crs: z.enum(['EPSG:4326', 'EPSG:2154']).default('EPSG:4326') }),
      },
    },
    async (request, reply) => {
      const c = await service.store.get(request.params.slug);
      const dalles = await service.store.dalles(c.id, request.query.crs === 'EPSG:2154' ? 2154 : 4326);
      const features = dalles.map((d) => `{"type":"Feature","id":${JSON.stringify(d.label)},"geometry":${d.geometry},"properties":${JSON.stringify({ label: d.label, expected: d.expected, state: d.state, reason: d.reason, delivery: d.deliveryId, seamScore: d.seamScore, seamEdge: d.seamEdge, changeScore: d.changeScore, updatedAt: d.updatedAt })}}`);
      return reply.type('application/geo+json').send(`{"type":"FeatureCollection","campaign":${JSON.stringify(c.slug)},"features":[${features.join(',')}]}`);
    },
  );

  app.get('/api/v1/campaigns/:slug/events', { config: { access: MANAGE }, schema: { tags, summary: 'Administrators: the campaign’s action log', params: slugParams } }, async (request) => {
    const c = await service.store.get(request.params.slug);
    return { events: await service.store.events(c.id) };
  });

  app.get(
    '/api/v1/campaigns/:slug/timeline',
    { config: { access: 'public' }, schema: { tags, summary: 'The campaign’s timeline, for anyone: when it was created, changed status, received deliveries, was checked and published (no actor, no note)', params: slugParams } },
    async (request) => {
      const c = await service.store.get(request.params.slug);
      const shown = new Set(['created', 'status-changed', 'delivery', 'checked', 'published']);
      return { timeline: (await service.store.events(c.id)).filter((e) => shown.has(e.action)).map((e) => ({ at: e.at, action: e.action, status: e.toStatus })) };
    },
  );

  app.get('/api/v1/campaigns/:slug/deliveries', { config: { access: MANAGE }, schema: { tags, summary: 'Administrators: the deliveries received into the campaign', params: slugParams } }, async (request) => {
    const c = await service.store.get(request.params.slug);
    return { deliveries: await service.store.deliveries(c.id) };
  });

  app.post(
    '/api/v1/campaigns',
    {
      config: { access: MANAGE },
      schema: {
        tags,
        summary: 'Administrators: create a campaign; its area is drawn (a Polygon, WGS84 or EPSG:2154 by its crs member), the open "to update" marks, communes, or the current dalles older than N years; its expected dalles follow',
        body: createBody,
      },
    },
    async (request, reply) => {
      const c = await service.create(request.caller, request.body);
      return reply.code(201).header('location', `/api/v1/campaigns/${c.slug}`).send(out(c, request.caller));
    },
  );

  app.post(
    '/api/v1/campaigns/:slug/status',
    {
      config: { access: MANAGE },
      schema: {
        tags,
        summary: 'Administrators: move the campaign along planned → ordered → in-acquisition → delivered → checked (or cancelled); 409 for a transition that does not exist',
        params: slugParams,
        body: z.strictObject({ to: z.enum(CAMPAIGN_STATUSES), note: text(2000).optional() }),
      },
    },
    async (request) => out(await service.changeStatus(request.caller, request.params.slug, request.body.to, request.body.note ?? null), request.caller),
  );

  app.post(
    '/api/v1/campaigns/:slug/check',
    {
      config: { access: MANAGE },
      schema: {
        tags,
        summary: 'Administrators: run the acceptance check of the received dalles (seams with the imagery around) in the background; 202, progress in /api/jobs?kind=campaigns.check, outcome on the dalles',
        params: slugParams,
      },
    },
    async (request, reply) => {
      const c = await service.assertCheckable(request.caller, request.params.slug);
      startCheck(request.caller, c.slug);
      return reply.code(202).header('location', `/api/v1/campaigns/${c.slug}`).send({ campaign: c.slug, checking: c.progress.received, job: { kind: 'campaigns.check', list: '/api/jobs?kind=campaigns.check' } });
    },
  );

  app.post(
    '/api/v1/campaigns/:slug/publish',
    { config: { access: MANAGE }, schema: { tags, summary: 'Administrators: publish a checked campaign as one update version (all of it at once); 409 unless checked', params: slugParams } },
    async (request) => out(await service.publish(request.caller, request.params.slug), request.caller),
  );

  app.get(
    '/api/v1/campaigns/:slug/changes',
    {
      config: { access: 'public' },
      schema: { tags, summary: 'What a published campaign changed: its accepted dalles with the share of each that changed, the changed ones first, and the vector objects added, removed and changed per class (computed at publication)', params: slugParams },
    },
    async (request) => {
      const c = await service.store.get(request.params.slug);
      const dalles = (await service.store.dalles(c.id, 2154)).filter((d) => d.state === 'accepted');
      const items = dalles
        .map((d) => ({ label: d.label, changeScore: d.changeScore, changed: d.changeScore === null ? null : d.changeScore >= changeThreshold }))
        .sort((a, b) => (b.changeScore ?? -1) - (a.changeScore ?? -1));
      return {
        campaign: c.slug,
        status: c.status,
        threshold: changeThreshold,
        changed: items.filter((i) => i.changed).length,
        dalles: items,
        vector: await service.store.vectorChanges(c.id),
        changeMap: `/api/v1/campaigns/${c.slug}/change-map/{z}/{x}/{y}.png`,
        changeMapWmts: `/api/v1/campaigns/${c.slug}/change-map/WMTSCapabilities.xml`,
      };
    },
  );

  app.get(
    '/api/v1/campaigns/:slug/change-map/WMTSCapabilities.xml',
    {
      config: { access: 'public' },
      schema: { tags, summary: 'The campaign’s change map as a WMTS 1.0.0 service (RESTful; the same tiles as the XYZ addresses)', params: slugParams },
    },
    async (request, reply) => {
      const c = await service.store.get(request.params.slug);
      return reply
        .type('application/xml; charset=utf-8')
        .header('access-control-allow-origin', '*')
        .header('cache-control', 'public, max-age=300')
        .send(changeMapCapabilities(c, baseUrl(request, config)));
    },
  );

  app.get(
    '/api/v1/campaigns/:slug/change-map/:z/:x/:yext',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: `The campaign's change map as XYZ tiles (WebMercatorQuad PNG, z ${CHANGE_MAP_MIN_ZOOM}–${CHANGE_MAP_MAX_ZOOM}): changed dalles from yellow to red, the others transparent`,
        params: z.strictObject({ slug, z: z.coerce.number().int().min(CHANGE_MAP_MIN_ZOOM).max(CHANGE_MAP_MAX_ZOOM), x: z.coerce.number().int().min(0), yext: z.string().regex(/^\d+\.png$/, 'must be {y}.png') }),
      },
    },
    async (request, reply) => {
      const { z: level, x } = request.params;
      const y = Number.parseInt(request.params.yext, 10);
      if (x >= 2 ** level || y >= 2 ** level) throw new UserError('tile-out-of-range', `There is no tile ${level}/${x}/${y}.`, { status: 404 });
      const c = await service.store.get(request.params.slug);
      const png = await changeMapTile(service.store, c.id, level, x, y, changeThreshold);
      return reply.type('image/png').header('cache-control', c.status === 'published' ? 'public, max-age=86400' : 'no-cache').send(png);
    },
  );
}
