/**
 * The free personal edition over HTTP, on three surfaces:
 *
 * - the free entry (its own function, free-api): in free-entry.ts;
 * - a personal space (the tenant API): in free-tenant.ts;
 * - the governance console: leads (see, filter, export), disabling and enabling spaces, ordering a
 *   conversion, and the templates offered to new spaces.
 */
import * as z from 'zod';
import { ValidationError } from '../../core/errors.ts';
import {
  LEAD_STATUSES,
  type Lead,
  type LeadFilter,
  type LeadStatus,
  SOURCE_PATTERN,
} from '../../core/free/leads.ts';
import type { Acting } from '../../core/governance/acting.ts';
import { NEXT_CURSOR_HEADER } from '../../core/headers.ts';
import type { Caller } from '../../core/identity/caller.ts';
import { pageSize } from '../../core/pagination.ts';
import type { ApiCore } from '../../core/platform.ts';
import { filterText, list, page, pageQuery, tenantSchema } from '../responses.ts';
import { type ApiRequest, media, type Route, route } from '../router.ts';
import { displayText } from './domains.ts';
import { orderSchema, plan } from './governance.ts';

const disableBody = z.strictObject({ reason: z.string().trim().min(1).max(500) });

const conversionBody = z.strictObject({
  plan,
  months: z.number().int().min(1).max(120),
  amount: z.number().nonnegative().max(1_000_000_000),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
    .optional(),
  hosts: z.array(z.string().trim().min(1).max(253)).min(1).max(9),
  admin: z.strictObject({
    username: z.string().min(1).max(128),
    password: z.string().min(1).max(1024),
  }),
  name: displayText(200).optional(),
});

function acting(caller: Caller, request: ApiRequest<unknown>): Acting {
  return { actor: { username: caller.username, via: caller.via }, requestId: request.requestId };
}

/** The query of a lead listing or export, as the API reference shows it (checked by `leadFilter`). */
const leadQuery = {
  cursor: pageQuery.cursor,
  status: z.enum(LEAD_STATUSES).optional(),
  source: filterText('Leads from this source (a slug)'),
  from: filterText('ISO 8601: leads that signed up at or after'),
  to: filterText('ISO 8601: leads that signed up at or before'),
  q: filterText('Leads whose handle, email or name contains this'),
};

/** `?status=&source=&from=&to=&q=`, checked field by field. */
export function leadFilter(query: Readonly<Record<string, string>>): LeadFilter {
  const issues: { path: string; message: string }[] = [];
  const filter: { -readonly [K in keyof LeadFilter]: LeadFilter[K] } = {};
  const status = query.status?.trim();
  if (status !== undefined && status !== '') {
    if ((LEAD_STATUSES as readonly string[]).includes(status)) filter.status = status as LeadStatus;
    else issues.push({ path: 'status', message: `one of: ${LEAD_STATUSES.join(', ')}` });
  }
  const source = query.source?.trim().toLowerCase();
  if (source !== undefined && source !== '') {
    if (SOURCE_PATTERN.test(source)) filter.source = source;
    else issues.push({ path: 'source', message: 'a source slug: a-z, 0-9, . _ - (at most 40)' });
  }
  for (const name of ['from', 'to'] as const) {
    const value = query[name];
    if (value === undefined || value === '') continue;
    const time = Date.parse(value);
    if (Number.isNaN(time) || time < 0 || time > Date.parse('9999-12-31T23:59:59Z')) {
      issues.push({ path: name, message: 'an ISO 8601 date or date-time' });
    } else filter[name] = new Date(time).toISOString();
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
    issues.push({ path: 'to', message: 'must be on or after `from`' });
  }
  const q = query.q?.trim();
  if (q !== undefined && q !== '') {
    if (q.length > 100) issues.push({ path: 'q', message: 'at most 100 characters' });
    else filter.q = q;
  }
  if (issues.length > 0) throw new ValidationError('Invalid lead filter', issues);
  return filter;
}

export const LEAD_CSV_COLUMNS = [
  'id',
  'createdAt',
  'handle',
  'email',
  'name',
  'source',
  'campaign',
  'referrer',
  'status',
  'host',
  'tenantId',
  'templates',
  'disabledAt',
  'disabledReason',
  'convertedAt',
  'orderId',
  'plan',
] as const;

/**
 * One CSV field (RFC 4180), neutralised against formula injection: a spreadsheet runs a cell that
 * starts with `=`, `+`, `-`, `@`, a tab or a carriage return, and names and emails come from
 * anyone who signs up — such a cell is prefixed with `'` so it stays text.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function leadsCsv(leads: readonly Lead[]): string {
  const rows = leads.map((lead) =>
    LEAD_CSV_COLUMNS.map((column) => {
      const value = column === 'templates' ? lead.templates.join(' ') : (lead[column] ?? '');
      return csvField(String(value));
    }).join(','),
  );
  return `${[LEAD_CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}

const leadSchema = z
  .looseObject({
    id: z.string(),
    handle: z.string(),
    tenantId: z.string(),
    host: z.string(),
    email: z.string(),
    name: z.string().optional(),
    source: z.string().meta({ description: 'Where the person came from (`direct` when nothing said)' }),
    campaign: z.string().optional(),
    referrer: z.string().optional(),
    templates: z.array(z.string()).meta({ description: 'Templates pre-installed at sign-up' }),
    status: z.string(),
    createdAt: z.string(),
    sourceIp: z.string(),
    disabledAt: z.string().optional(),
    disabledBy: z.string().optional(),
    disabledReason: z.string().optional(),
    convertedAt: z.string().optional(),
    orderId: z.string().optional(),
    plan: z.string().optional(),
    conversionOrderId: z
      .string()
      .optional()
      .meta({ description: 'The order that converts (or converted) the space, once one was ordered' }),
  })
  .meta({ id: 'Lead' });

const offerSchema = z
  .looseObject({
    templateId: z.string(),
    name: z.string(),
    description: z.string(),
    offeredAt: z.string(),
    offeredBy: z.string(),
  })
  .meta({ id: 'FreeOffer' });

/** The console's side (governance API): leads, personal spaces, the templates offered to them. */
export function freeGovernanceRoutes(core: ApiCore): Route[] {
  const { free } = core;
  return [
    route({
      method: 'GET',
      path: '/api/free/leads',
      serves: 'governance',
      auth: 'caller',
      permission: 'lead:read',
      query: z.object({ ...leadQuery, limit: pageQuery.limit }),
      responses: { 200: page(leadSchema) },
      handle: async ({ request }) => {
        return {
          status: 200,
          body: await free.leads.list(
            leadFilter(request.query),
            pageSize(request.query.limit),
            request.query.cursor,
          ),
        };
      },
    }),
    route({
      // The filtered leads as CSV (for a spreadsheet or a CRM); a larger export goes on from its cursor.
      method: 'GET',
      path: '/api/free/leads/export',
      // The audit records each export of leads: no HEAD, which would record one nobody received.
      head: false,
      serves: 'governance',
      auth: 'caller',
      permission: 'lead:read',
      query: z.object(leadQuery),
      responses: {
        200: media('text/csv; charset=utf-8', {
          description: 'The filtered leads; more follow from the next-cursor header',
        }),
      },
      handle: async ({ domain, request, caller }) => {
        const filter = leadFilter(request.query);
        const page = await free.leads.export(filter, request.query.cursor);
        await core.audit.record(domain, {
          actor: { username: caller.username, via: caller.via },
          action: 'free.leads.exported',
          target: 'leads',
          details: { filter, count: page.items.length },
          requestId: request.requestId,
        });
        return {
          status: 200,
          raw: { contentType: 'text/csv; charset=utf-8', text: leadsCsv(page.items) },
          headers: {
            'content-disposition': 'attachment; filename="leads.csv"',
            ...(page.cursor === undefined ? {} : { [NEXT_CURSOR_HEADER]: page.cursor }),
          },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/free/leads/{id}',
      serves: 'governance',
      auth: 'caller',
      permission: 'lead:read',
      responses: {
        200: leadSchema.extend({
          space: tenantSchema.nullable(),
          conversionOrder: orderSchema.nullable().meta({
            description:
              'The conversion order as it is now (pending, paying, paid or cancelled); null when none',
          }),
        }),
      },
      handle: async ({ request }) => {
        return { status: 200, body: await free.spaces.get(request.params.id ?? '') };
      },
    }),
    route({
      method: 'POST',
      path: '/api/free/leads/{id}/disable',
      serves: 'governance',
      auth: 'caller',
      permission: 'lead:manage',
      body: disableBody,
      responses: { 200: leadSchema },
      handle: async ({ request, caller }) => {
        return {
          status: 200,
          body: await free.spaces.disable(
            request.params.id ?? '',
            request.body.reason,
            acting(caller, request),
          ),
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/free/leads/{id}/enable',
      serves: 'governance',
      auth: 'caller',
      permission: 'lead:manage',
      responses: { 200: leadSchema },
      handle: async ({ request, caller }) => {
        return {
          status: 200,
          body: await free.spaces.enable(request.params.id ?? '', acting(caller, request)),
        };
      },
    }),
    route({
      // The order that converts the space into a standard tenant; applied when its payment is confirmed.
      method: 'POST',
      path: '/api/free/leads/{id}/conversion',
      serves: 'governance',
      auth: 'caller',
      permission: 'lead:manage',
      body: conversionBody,
      responses: { 201: orderSchema },
      handle: async ({ request, caller }) => {
        return {
          status: 201,
          body: await free.spaces.orderConversion(
            request.params.id ?? '',
            request.body,
            acting(caller, request),
          ),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/free/templates',
      serves: 'governance',
      auth: 'caller',
      permission: 'template:manage',
      responses: { 200: list(offerSchema) },
      handle: async () => {
        return { status: 200, body: { items: await free.offers.list() } };
      },
    }),
    route({
      method: 'PUT',
      path: '/api/free/templates/{templateId}',
      serves: 'governance',
      auth: 'caller',
      permission: 'template:manage',
      responses: { 200: offerSchema },
      handle: async ({ request, caller }) => {
        return {
          status: 200,
          body: await free.offers.offer(request.params.templateId ?? '', acting(caller, request)),
        };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/free/templates/{templateId}',
      serves: 'governance',
      auth: 'caller',
      permission: 'template:manage',
      responses: { 204: null },
      handle: async ({ request, caller }) => {
        await free.offers.withdraw(request.params.templateId ?? '', acting(caller, request));
        return { status: 204 };
      },
    }),
  ];
}
