/**
 * The public governance domain over HTTP: tenants and their hosts, customer ledgers, the order
 * center, lifecycle scans and platform announcements. Only on the governance console's hosts (not
 * the free entry, and the tenant API has none of these routes), only to public-domain callers with
 * the route's permission; confirming a payment takes a super-admin. Request bodies are parsed here
 * with strict zod schemas; everything else is a call into `core.governance`.
 */
import * as z from 'zod';
import { PAID_PLANS, PLANS } from '../../contract/tenancy.ts';
import { ForbiddenError, NotFoundError, unlessNotFound, ValidationError } from '../../core/errors.ts';
import { type Acting, recordPublic } from '../../core/governance/acting.ts';
import { LEDGER_KINDS } from '../../core/governance/customers.ts';
import { operatorScanInstant, runScan } from '../../core/governance/lifecycle.ts';
import { ORDER_STATUSES } from '../../core/governance/orders.ts';
import { IDEMPOTENCY_HEADER } from '../../core/headers.ts';
import type { Caller } from '../../core/identity/caller.ts';
import { pageSize } from '../../core/pagination.ts';
import type { ApiCore } from '../../core/platform.ts';
import { TENANT_ID_PATTERN, TENANT_STATUSES } from '../../core/tenancy/domain.ts';
import type { Tenant } from '../../core/tenancy/tenants.ts';
import { list, page, pageQuery, tenantSchema, tenantSummarySchema, userSchema } from '../responses.ts';
import { type ApiRequest, type Route, route } from '../router.ts';
import { displayText } from './domains.ts';

const instant = z.iso.datetime({ offset: true });
/** A tenant's, a customer's or a contact's name. */
const name = displayText(200);
/**
 * One of the plans, each with its limits (`core/tenancy/plans.ts`); any other name is refused. A free
 * space's conversion takes it (its core names `free` among the conversion's other problems).
 */
export const plan = z.enum(PLANS, { error: `one of the plans: ${PLANS.join(', ')}` });
/**
 * What a super-admin puts a tenant on, and what an order renews it on: a paid plan. `free` is the
 * personal edition's, given by sign-up only (the fronts greet such a space as a person's).
 */
const paidPlan = z.enum(PAID_PLANS, { error: `a paid plan: ${PAID_PLANS.join(', ')}` });
const host = z.string().trim().min(1).max(253);

const newTenantBody = z.strictObject({
  id: z.string().regex(TENANT_ID_PATTERN, 'a lowercase slug: 3-40 of a-z, 0-9 and hyphens'),
  name,
  plan: paidPlan,
  hosts: z.array(host).min(1).max(10),
  expiresAt: instant,
  status: z.enum(['trial', 'active']).optional(),
  deliveryMode: z.enum(['dedicated', 'shared']).optional(),
  customerId: z.string().min(1).max(64).optional(),
});

const tenantPatchBody = z
  .strictObject({
    name: name.optional(),
    plan: paidPlan.optional(),
    status: z.enum(TENANT_STATUSES).optional(),
    expiresAt: instant.optional(),
    deliveryMode: z.enum(['dedicated', 'shared']).optional(),
    customerId: z.string().min(1).max(64).nullable().optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), {
    message: 'give at least one field to change',
  });

const hostBody = z.strictObject({ host });

/** The branding of a dedicated delivery (checked for real by the core); `null` removes it. */
const brandingBody = z.strictObject({
  branding: z
    .strictObject({
      displayName: z.string().max(200).optional(),
      logo: z
        .string()
        .max(96 * 1024)
        .optional(),
      colors: z
        .strictObject({ primary: z.string().max(16).optional(), accent: z.string().max(16).optional() })
        .optional(),
      homeText: z.string().max(8000).optional(),
      menus: z.array(z.string().max(64)).max(50).optional(),
    })
    .nullable(),
});

const contact = z.strictObject({
  name,
  email: z.email().max(254).optional(),
  phone: z.string().trim().min(3).max(40).optional(),
  role: displayText(64).optional(),
});

const customerBody = z.strictObject({
  name,
  contacts: z.array(contact).max(20).default([]),
  notes: z.string().max(2000).optional(),
});

const orderBody = z.strictObject({
  tenantId: z.string().min(1).max(64),
  plan: paidPlan,
  months: z.number().int().min(1).max(120),
  amount: z.number().nonnegative().max(1_000_000_000),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
    .optional(),
});

const lifecycleBody = z.strictObject({
  scan: z.enum(['renewal-reminder', 'expiry-shutdown', 'host-onboarding']),
  now: instant.optional().meta({
    description:
      'The instant the scan runs as of (catching up on a missed day): at most 5 minutes after the platform clock, at most 31 days before it. @default now',
  }),
});

const announcementBody = z.strictObject({
  title: displayText(200),
  body: z.string().min(1).max(10_000),
  severity: z.enum(['info', 'warning', 'critical']).optional(),
  audience: z.array(z.string().min(1).max(64)).max(20).optional(),
  tenants: z.union([z.literal('all'), z.array(z.string().min(1).max(64)).min(1).max(500)]),
});

const tenantAdminBody = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});

const idempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{8,128}$/, '8-128 letters, digits and . _ : -')
  .optional();

const hostOnboardingSchema = z
  .looseObject({
    host: z.string(),
    owner: z.union([
      z.looseObject({ domain: z.literal('tenant'), tenantId: z.string() }),
      z.looseObject({ domain: z.literal('public'), surface: z.string() }),
    ]),
    state: z.string().meta({ description: 'pending-dns, provisioning, active or failed' }),
    code: z.string().optional(),
    reason: z.string().optional(),
    attempts: z.number().int(),
    since: z.string(),
    updatedAt: z.string(),
    certificate: z.enum(['configured', 'managed', 'local']),
    target: z.string(),
    dns: z.array(
      z.looseObject({
        type: z.enum(['CNAME', 'CAA', 'A']),
        name: z.string(),
        value: z.string(),
        required: z.boolean(),
        purpose: z.string(),
      }),
    ),
  })
  .meta({ id: 'HostOnboarding' });

const tenantWithDomainsSchema = tenantSchema
  .extend({ domains: z.array(hostOnboardingSchema) })
  .meta({ id: 'TenantWithDomains' });

const customerSchema = z
  .looseObject({
    id: z.string(),
    name: z.string(),
    contacts: z.array(
      z.looseObject({ name: z.string(), email: z.string().optional(), phone: z.string().optional() }),
    ),
    notes: z.string().optional(),
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .meta({ id: 'Customer' });

const ledgerEntrySchema = z
  .looseObject({
    id: z.string(),
    customerId: z.string(),
    kind: z.enum(LEDGER_KINDS),
    at: z.string(),
    summary: z.string(),
    tenantId: z.string().optional(),
    orderId: z.string().optional(),
    amount: z.number().optional(),
    currency: z.string().optional(),
  })
  .meta({ id: 'LedgerEntry' });

export const orderSchema = z
  .looseObject({
    id: z.string(),
    tenantId: z.string(),
    plan: z.string(),
    months: z.number().int(),
    amount: z.number(),
    currency: z.string(),
    status: z.enum(ORDER_STATUSES),
    createdAt: z.string(),
    createdBy: z.string(),
    paidAt: z.string().optional(),
    previousExpiry: z.string().optional(),
    newExpiry: z.string().optional(),
    renewal: z
      .object({ previousExpiry: z.string(), newExpiry: z.string() })
      .optional()
      .meta({ description: 'A pending order: the tenant’s expiry now, and after paying it now' }),
  })
  .meta({ id: 'Order' });

const scanResultSchema = z
  .looseObject({
    scan: z.string(),
    now: z.string(),
    scanned: z.number().int(),
    changed: z.array(
      z.looseObject({
        tenantId: z.string().optional(),
        host: z.string().optional(),
        action: z.string(),
        executionId: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'ScanResult' });

const platformAnnouncementSchema = z
  .looseObject({
    id: z.string(),
    title: z.string(),
    body: z.string(),
    severity: z.enum(['info', 'warning', 'critical']),
    audience: z.array(z.string()),
    tenants: z.union([z.literal('all'), z.array(z.string())]),
    createdAt: z.string(),
    createdBy: z.string(),
    delivered: z.number().int(),
  })
  .meta({ id: 'PlatformAnnouncement' });

const postedAnnouncementSchema = platformAnnouncementSchema
  .extend({ newlyDelivered: z.number().int() })
  .meta({ id: 'PostedAnnouncement' });

function acting(caller: Caller, request: ApiRequest<unknown>): Acting {
  return { actor: { username: caller.username, via: caller.via }, requestId: request.requestId };
}

function param(request: ApiRequest<unknown>, key: string): string {
  return request.params[key] ?? '';
}

function summary(tenant: Tenant) {
  return {
    id: tenant.id,
    name: tenant.name,
    plan: tenant.plan,
    status: tenant.status,
    expiresAt: tenant.expiresAt,
    hosts: tenant.hosts,
  };
}

export function governanceDomainRoutes(core: ApiCore): Route[] {
  const { governance } = core;
  const { onboarding } = governance;
  /** A tenant with each of its hosts' onboarding (state, reason, the DNS records to create). */
  const withDomains = async (tenant: Tenant) => ({ ...tenant, domains: await onboarding.list(tenant.hosts) });
  /** A host of tenant `id`, or a 404 that says nothing about hosts bound elsewhere. */
  const tenantHost = async (id: string, host: string) => {
    const tenant = await governance.tenants.get(id);
    const name = host.trim().toLowerCase();
    if (!tenant.hosts.includes(name)) throw new NotFoundError(`Host ${name} is not bound to ${id}`);
    return name;
  };
  return [
    // ── tenants and hosts ─────────────────────────────────────────────────────────────────
    route({
      method: 'GET',
      path: '/api/tenants',
      serves: 'governance',
      auth: 'caller',
      summary: 'Tenants',
      query: z.object(pageQuery),
      responses: { 200: page(tenantSchema) },
      permission: 'tenant:read',
      handle: async ({ request }) => ({
        status: 200,
        body: await governance.tenants.list(pageSize(request.query.limit), request.query.cursor),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/tenants',
      serves: 'governance',
      auth: 'caller',
      summary: 'Create a tenant (its hosts start onboarding)',
      responses: { 201: tenantWithDomainsSchema },
      permission: 'tenant:manage',
      body: newTenantBody,
      handle: async ({ request, caller }) => ({
        status: 201,
        body: await withDomains(await governance.tenants.create(request.body, acting(caller, request))),
      }),
    }),
    route({
      // A new tenant's first admin, so the tenant's own host has someone who can sign in.
      method: 'POST',
      path: '/api/tenants/{id}/admins',
      serves: 'governance',
      auth: 'caller',
      summary: "Create a tenant's first admin",
      responses: { 201: userSchema },
      permission: 'tenant:manage',
      body: tenantAdminBody,
      handle: async ({ request, caller, domain }) => {
        const tenant = await governance.tenants.get(param(request, 'id'));
        const tenantDomain = { kind: 'tenant', host: tenant.hosts[0] ?? '', tenant } as const;
        const user = await core.directory.createUser(
          tenantDomain,
          { ...request.body, roles: ['admin'] },
          undefined,
          {
            username: caller.username,
            via: caller.via,
          },
        );
        await core.audit.record(domain, {
          actor: { username: caller.username, via: caller.via },
          action: 'tenant.admin.created',
          target: `tenant:${tenant.id}`,
          details: { username: user.username },
          requestId: request.requestId,
        });
        return { status: 201, body: user };
      },
    }),
    route({
      method: 'GET',
      path: '/api/tenants/{id}',
      serves: 'governance',
      auth: 'caller',
      summary: "One tenant, with its hosts' onboarding",
      responses: { 200: tenantWithDomainsSchema },
      permission: 'tenant:read',
      handle: async ({ request }) => ({
        status: 200,
        body: await withDomains(await governance.tenants.get(param(request, 'id'))),
      }),
    }),
    route({
      method: 'PATCH',
      path: '/api/tenants/{id}',
      serves: 'governance',
      auth: 'caller',
      summary: "Change a tenant's name, plan, status, expiry or customer",
      responses: { 200: tenantSchema },
      permission: 'tenant:manage',
      body: tenantPatchBody,
      handle: async ({ request, caller }) => ({
        status: 200,
        body: await governance.tenants.update(param(request, 'id'), request.body, acting(caller, request)),
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/tenants/{id}/branding',
      serves: 'governance',
      auth: 'caller',
      summary: "Set or remove a dedicated delivery's branding",
      responses: { 200: tenantSchema },
      permission: 'tenant:manage',
      body: brandingBody,
      maxBodyBytes: 160 * 1024,
      handle: async ({ request, caller }) => ({
        status: 200,
        body: await governance.tenants.setBranding(
          param(request, 'id'),
          request.body.branding,
          acting(caller, request),
        ),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/tenants/{id}/hosts',
      serves: 'governance',
      auth: 'caller',
      summary: 'Bind another host to a tenant',
      responses: {
        201: tenantWithDomainsSchema.extend({ host: hostOnboardingSchema }).meta({ id: 'TenantWithNewHost' }),
      },
      permission: 'tenant:manage',
      body: hostBody,
      handle: async ({ request, caller }) => {
        const tenant = await governance.tenants.addHost(
          param(request, 'id'),
          request.body.host,
          acting(caller, request),
        );
        // The answer says what to create in DNS for the new host, and how far its onboarding got.
        const host = await onboarding.get(request.body.host.trim().toLowerCase());
        return { status: 201, body: { ...(await withDomains(tenant)), host } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/tenants/{id}/hosts',
      serves: 'governance',
      auth: 'caller',
      summary: "A tenant's hosts and their onboarding",
      responses: { 200: list(hostOnboardingSchema) },
      permission: 'tenant:read',
      handle: async ({ request }) => {
        const tenant = await governance.tenants.get(param(request, 'id'));
        return { status: 200, body: { items: await onboarding.list(tenant.hosts) } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/tenants/{id}/hosts/{host}',
      serves: 'governance',
      auth: 'caller',
      summary: "One of a tenant's hosts and its onboarding",
      responses: { 200: hostOnboardingSchema },
      permission: 'tenant:read',
      handle: async ({ request }) => ({
        status: 200,
        body: await onboarding.get(await tenantHost(param(request, 'id'), param(request, 'host'))),
      }),
    }),
    route({
      // Checks a waiting host now, or starts a failed one over.
      method: 'POST',
      path: '/api/tenants/{id}/hosts/{host}/retry',
      serves: 'governance',
      auth: 'caller',
      summary: 'Check a waiting host now, or start a failed one over',
      responses: { 200: hostOnboardingSchema },
      permission: 'tenant:manage',
      handle: async ({ request, caller }) => {
        const id = param(request, 'id');
        const host = await tenantHost(id, param(request, 'host'));
        const view = await onboarding.retry(host);
        await recordPublic(core.audit, acting(caller, request), 'tenant.host.retried', `tenant:${id}`, {
          host,
          state: view.state,
          ...(view.code === undefined ? {} : { code: view.code }),
        });
        return { status: 200, body: view };
      },
    }),
    route({
      // The platform's own hosts (this console's and the free entry's) and their onboarding.
      method: 'GET',
      path: '/api/platform/hosts',
      serves: 'governance',
      auth: 'caller',
      summary: "The platform's own hosts and their onboarding",
      responses: { 200: list(hostOnboardingSchema) },
      permission: 'tenant:read',
      handle: async () => ({ status: 200, body: { items: await onboarding.listPublic() } }),
    }),
    route({
      method: 'POST',
      path: '/api/platform/hosts/{host}/retry',
      serves: 'governance',
      auth: 'caller',
      summary: "Check one of the platform's hosts again",
      responses: { 200: hostOnboardingSchema },
      permission: 'tenant:manage',
      handle: async ({ request, caller }) => {
        const host = param(request, 'host').trim().toLowerCase();
        const own = (await onboarding.listPublic()).some((view) => view.host === host);
        if (!own) throw new NotFoundError(`Host ${host} is not one of the platform's hosts`);
        const view = await onboarding.retry(host);
        await recordPublic(core.audit, acting(caller, request), 'platform.host.retried', `host:${host}`, {
          state: view.state,
        });
        return { status: 200, body: view };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/tenants/{id}/hosts/{host}',
      serves: 'governance',
      auth: 'caller',
      summary: 'Unbind a host from a tenant',
      responses: { 200: tenantSchema },
      permission: 'tenant:manage',
      handle: async ({ request, caller }) => ({
        status: 200,
        body: await governance.tenants.removeHost(
          param(request, 'id'),
          param(request, 'host'),
          acting(caller, request),
        ),
      }),
    }),

    // ── customers and their ledgers ───────────────────────────────────────────────────────
    route({
      method: 'GET',
      path: '/api/customers',
      serves: 'governance',
      auth: 'caller',
      summary: 'Customers',
      query: z.object(pageQuery),
      responses: { 200: page(customerSchema) },
      permission: 'customer:manage',
      handle: async ({ request }) => ({
        status: 200,
        body: await governance.customers.list(pageSize(request.query.limit), request.query.cursor),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/customers',
      serves: 'governance',
      auth: 'caller',
      summary: 'Create a customer',
      responses: { 201: customerSchema },
      permission: 'customer:manage',
      body: customerBody,
      handle: async ({ request, caller }) => ({
        status: 201,
        body: await governance.customers.create(request.body, acting(caller, request)),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/customers/{id}',
      serves: 'governance',
      auth: 'caller',
      summary: 'One customer and its tenants',
      responses: {
        200: customerSchema
          .extend({ tenants: z.array(tenantSummarySchema.extend({ hosts: z.array(z.string()) })) })
          .meta({ id: 'CustomerWithTenants' }),
      },
      permission: 'customer:manage',
      handle: async ({ request }) => {
        const customer = await governance.customers.get(param(request, 'id'));
        const tenants: ReturnType<typeof summary>[] = [];
        for (const id of await governance.customers.tenantIdsOf(customer.id)) {
          const tenant = await unlessNotFound(governance.tenants.get(id));
          if (tenant !== null && tenant.customerId === customer.id) tenants.push(summary(tenant));
        }
        return { status: 200, body: { ...customer, tenants } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/customers/{id}/ledger',
      serves: 'governance',
      auth: 'caller',
      summary: "A customer's ledger, newest first",
      query: z.object(pageQuery),
      responses: { 200: page(ledgerEntrySchema).extend({ kinds: z.array(z.string()) }) },
      permission: 'customer:manage',
      handle: async ({ request }) => ({
        status: 200,
        body: {
          kinds: LEDGER_KINDS,
          ...(await governance.customers.ledger(
            param(request, 'id'),
            pageSize(request.query.limit),
            request.query.cursor,
          )),
        },
      }),
    }),

    // ── order center ──────────────────────────────────────────────────────────────────────
    route({
      method: 'GET',
      path: '/api/orders',
      serves: 'governance',
      auth: 'caller',
      summary: 'Orders',
      query: z.object(pageQuery),
      responses: { 200: page(orderSchema) },
      permission: 'order:manage',
      handle: async ({ request }) => ({
        status: 200,
        body: await (async () => {
          const listed = await governance.orders.list(pageSize(request.query.limit), request.query.cursor);
          return { ...listed, items: await governance.orders.withRenewals(listed.items) };
        })(),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/orders',
      serves: 'governance',
      auth: 'caller',
      summary: 'Create an order',
      responses: { 201: orderSchema },
      permission: 'order:manage',
      body: orderBody,
      handle: async ({ request, caller }) => ({
        status: 201,
        body: await governance.orders.withRenewal(
          await governance.orders.create(request.body, acting(caller, request)),
        ),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/orders/{id}',
      serves: 'governance',
      auth: 'caller',
      summary: 'One order',
      responses: { 200: orderSchema },
      permission: 'order:manage',
      handle: async ({ request }) => ({
        status: 200,
        body: await governance.orders.withRenewal(await governance.orders.get(param(request, 'id'))),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/orders/{id}/confirm-payment',
      serves: 'governance',
      auth: 'caller',
      summary: "Confirm an order's payment (super-admins): renews the tenant",
      responses: { 200: orderSchema },
      permission: 'order:manage',
      handle: async ({ request, caller }) => {
        if (!caller.superAdmin) {
          throw new ForbiddenError('Only a platform super-admin confirms payments', {
            extra: { requires: 'superAdmin' },
          });
        }
        const { order } = await governance.orders.confirmPayment(
          param(request, 'id'),
          acting(caller, request),
        );
        return { status: 200, body: order };
      },
    }),
    route({
      method: 'POST',
      path: '/api/orders/{id}/cancel',
      serves: 'governance',
      auth: 'caller',
      summary: 'Cancel an order',
      responses: { 200: orderSchema },
      permission: 'order:manage',
      handle: async ({ request, caller }) => ({
        status: 200,
        body: (await governance.orders.cancel(param(request, 'id'), acting(caller, request))).order,
      }),
    }),

    // ── lifecycle scans ───────────────────────────────────────────────────────────────────
    route({
      method: 'POST',
      path: '/api/lifecycle/run',
      serves: 'governance',
      auth: 'caller',
      summary: 'Run a lifecycle scan now',
      responses: { 200: scanResultSchema },
      permission: 'lifecycle:run',
      body: lifecycleBody,
      handle: async ({ request, caller }) => {
        // An operator catches up on a missed day: never a future instant (lifecycle.ts).
        const now = operatorScanInstant(
          request.body.now === undefined ? undefined : new Date(request.body.now),
          core.now(),
        );
        const result = await runScan(governance.scans, request.body.scan, { now });
        await recordPublic(
          core.audit,
          acting(caller, request),
          'lifecycle.run',
          `scan:${request.body.scan}`,
          {
            now: result.now,
            scanned: result.scanned,
            changed: result.changed.length,
          },
        );
        return { status: 200, body: result };
      },
    }),

    // ── platform announcements ────────────────────────────────────────────────────────────
    route({
      method: 'GET',
      path: '/api/announcements',
      serves: 'governance',
      auth: 'caller',
      summary: 'Platform announcements',
      query: z.object(pageQuery),
      responses: { 200: page(platformAnnouncementSchema) },
      permission: 'announcement:manage',
      handle: async ({ request }) => ({
        status: 200,
        body: await governance.announcements.list(pageSize(request.query.limit), request.query.cursor),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/announcements',
      serves: 'governance',
      auth: 'caller',
      summary: 'Post a platform announcement to tenants',
      responses: { 200: postedAnnouncementSchema, 201: postedAnnouncementSchema },
      permission: 'announcement:manage',
      body: announcementBody,
      handle: async ({ request, caller }) => {
        const key = idempotencyKey.safeParse(request.headers[IDEMPOTENCY_HEADER]);
        if (!key.success) {
          throw new ValidationError('Invalid Idempotency-Key header', [
            { path: IDEMPOTENCY_HEADER, message: key.error.issues[0]?.message ?? 'invalid' },
          ]);
        }
        const outcome = await governance.announcements.post(request.body, acting(caller, request), key.data);
        return {
          status: outcome.created ? 201 : 200,
          body: { ...outcome.announcement, newlyDelivered: outcome.newlyDelivered },
        };
      },
    }),
  ];
}
