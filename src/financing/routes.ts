import { z } from 'zod';
import type { RouteApp } from '../context/capability.js';
import { FUNDERS, LINES, METHODS } from './model.js';
import { planToPdf, planToXlsx } from './reports.js';
import { planToCsv, type FinancingService } from './service.js';

const tags = ['financing'];
/** The commission (platform administrators) writes; organisation administrators read the plan their organisation pays into. */
const READ = { roles: ['platform-admin', 'org-admin'] as const };
const WRITE = { roles: ['platform-admin'] as const };
const year = z.coerce.number().int().min(2000).max(2100);
const slug = z.string().min(1).max(63);

const entryBody = z.strictObject({
  year: z.number().int().min(2000).max(2100),
  line: z.enum(LINES),
  kind: z.enum(['cost', 'funding']),
  label: z.string().trim().min(1).max(200),
  amountEur: z.union([z.number(), z.string().max(20)]).describe('Euros ≥ 0, at most two decimals (a number, or text: "1234.50")'),
  supplier: z.string().trim().min(1).max(200).optional(),
  funder: z.enum(FUNDERS).optional(),
  organisation: slug.optional().describe('The paying partner (funder: partner)'),
  campaign: slug.optional(),
  month: z.number().int().min(1).max(12).optional(),
  note: z.string().max(2000).optional(),
});

export function registerFinancingRoutes(app: RouteApp, service: FinancingService, territory: string): void {
  app.get(
    '/api/v1/financing/plan',
    {
      config: { access: READ },
      schema: {
        tags,
        summary:
          'The financing plan of a year: the six lines (acquisition, update, storage, contributions, access, usage) with their costs, subsidies and sources, each partner’s share by the line’s allocation key, and each partner’s balance (paid and contributed in kind against its shares). CSV, XLSX (three sheets) or a printable PDF with format=csv|xlsx|pdf',
        querystring: z.strictObject({ year, format: z.enum(['json', 'csv', 'xlsx', 'pdf']).default('json') }),
      },
    },
    async (request, reply) => {
      const plan = await service.plan(request.query.year);
      reply.header('cache-control', 'private, no-cache');
      const file = `plan-de-financement-${plan.year}`;
      const format = request.query.format;
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${file}.csv"`).send(planToCsv(plan));
      if (format === 'xlsx') return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').header('content-disposition', `attachment; filename="${file}.xlsx"`).send(await planToXlsx(plan));
      if (format === 'pdf') return reply.type('application/pdf').header('content-disposition', `attachment; filename="${file}.pdf"`).send(await planToPdf(plan, territory));
      return plan;
    },
  );

  app.get('/api/v1/financing/entries', { config: { access: READ }, schema: { tags, summary: 'The amounts entered for a year (costs and fundings)', querystring: z.strictObject({ year }) } }, async (request) => ({
    entries: await service.store.entries(request.query.year),
  }));

  app.post('/api/v1/financing/entries', { config: { access: WRITE }, schema: { tags, summary: 'Enter a cost (with its supplier) or a funding (FEDER, State, Region, a partner’s payment…) of a line of the plan', body: entryBody } }, async (request, reply) => {
    const entry = await service.addEntry(request.caller, request.body);
    return reply.code(201).header('location', `/api/v1/financing/entries/${entry.id}`).send(entry);
  });

  app.delete(
    '/api/v1/financing/entries/:id',
    { config: { access: WRITE }, schema: { tags, summary: 'Delete an entered amount (recorded in the audit log)', params: z.strictObject({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) }) } },
    async (request, reply) => {
      await service.deleteEntry(request.caller, request.params.id);
      return reply.code(204).send();
    },
  );

  app.get('/api/v1/financing/keys', { config: { access: READ }, schema: { tags, summary: 'The allocation keys of a year, per line', querystring: z.strictObject({ year }) } }, async (request) => ({
    keys: await service.store.keys(request.query.year),
  }));

  app.put(
    '/api/v1/financing/keys/:year/:line',
    {
      config: { access: WRITE },
      schema: {
        tags,
        summary:
          'Set how a line of a year is shared: fixed percentages (weights per organisation, summing to 100), declared network km (weights), or the partners’ population, area or measured usage (partners)',
        params: z.strictObject({ year, line: z.enum(LINES) }),
        body: z.strictObject({ method: z.enum(METHODS), weights: z.record(slug, z.number()).optional(), partners: z.array(slug).max(500).optional() }),
      },
    },
    async (request) => service.putKey(request.caller, request.params.year, request.params.line, request.body),
  );
}
