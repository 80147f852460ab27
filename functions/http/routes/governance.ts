/**
 * The public governance domain over HTTP: tenants and their hosts, customer ledgers, the order
 * center, lifecycle scans and platform announcements. Only on the governance console's hosts (not
 * the free entry, and the tenant API has none of these routes), only to public-domain callers with
 * the route's permission; confirming a payment takes a super-admin. Request bodies are parsed here
 * with strict zod schemas; everything else is a call into `core.governance`.
 */
import { z } from 'zod';
import {
  ForbiddenError,
  NotFoundError,
  RouteNotFoundError,
  unlessNotFound,
  ValidationError,
} from '../../core/errors.ts';
import { type Acting, recordPublic } from '../../core/governance/acting.ts';
import { LEDGER_KINDS } from '../../core/governance/customers.ts';
import { runScan } from '../../core/governance/lifecycle.ts';
import { IDEMPOTENCY_HEADER } from '../../core/headers.ts';
import type { Caller } from '../../core/identity/caller.ts';
import { pageSize } from '../../core/pagination.ts';
import type { Core } from '../../core/platform.ts';
import { type DomainContext, TENANT_ID_PATTERN, TENANT_STATUSES } from '../../core/tenancy/domain.ts';
import type { Tenant } from '../../core/tenancy/tenants.ts';
import { type ApiRequest, type Route, type RouteContext, type RouteResult, route } from '../router.ts';

const instant = z.iso.datetime({ offset: true });
const name = z.string().trim().min(1).max(200);
const plan = z.string().trim().min(1).max(64);
const host = z.string().trim().min(1).max(253);

const newTenantBody = z.strictObject({
  id: z.string().regex(TENANT_ID_PATTERN, 'a lowercase slug: 3-40 of a-z, 0-9 and hyphens'),
  name,
  plan,
  hosts: z.array(host).min(1).max(10),
  expiresAt: instant,
  status: z.enum(['trial', 'active']).optional(),
  deliveryMode: z.enum(['dedicated', 'shared']).optional(),
  customerId: z.string().min(1).max(64).optional(),
});

const tenantPatchBody = z
  .strictObject({
    name: name.optional(),
    plan: plan.optional(),
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
  role: z.string().trim().min(1).max(64).optional(),
});

const customerBody = z.strictObject({
  name,
  contacts: z.array(contact).max(20).default([]),
  notes: z.string().max(2000).optional(),
});

const orderBody = z.strictObject({
  tenantId: z.string().min(1).max(64),
  plan,
  months: z.number().int().min(1).max(120),
  amount: z.number().nonnegative().max(1_000_000_000),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
    .optional(),
});

const lifecycleBody = z.strictObject({
  scan: z.enum(['renewal-reminder', 'expiry-shutdown', 'host-onboarding']),
  now: instant.optional(),
});

const announcementBody = z.strictObject({
  title: z.string().trim().min(1).max(200),
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

function acting(caller: Caller, request: ApiRequest<unknown>): Acting {
  return { actor: { username: caller.username, via: caller.via }, requestId: request.requestId };
}

/** Governance lives on the console's hosts only; the free entry (also public) has none of it. */
function governanceOnly(domain: DomainContext, request: ApiRequest<unknown>): void {
  if (domain.kind !== 'public' || domain.surface !== 'governance') {
    throw new RouteNotFoundError(`No route for ${request.path}`);
  }
}

function governed<B>(
  handle: (context: RouteContext<B, Caller>) => Promise<RouteResult>,
): (context: RouteContext<B, Caller>) => Promise<RouteResult> {
  return async (context) => {
    governanceOnly(context.domain, context.request);
    return handle(context);
  };
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

export function governanceDomainRoutes(core: Core): Route[] {
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
      auth: 'caller',
      permission: 'tenant:read',
      handle: governed(async ({ request }) => ({
        status: 200,
        body: await governance.tenants.list(pageSize(request.query.limit), request.query.cursor),
      })),
    }),
    route({
      method: 'POST',
      path: '/api/tenants',
      auth: 'caller',
      permission: 'tenant:manage',
      body: newTenantBody,
      handle: governed(async ({ request, caller }) => ({
        status: 201,
        body: await withDomains(await governance.tenants.create(request.body, acting(caller, request))),
      })),
    }),
    route({
      // A new tenant's first admin, so the tenant's own host has someone who can sign in.
      method: 'POST',
      path: '/api/tenants/{id}/admins',
      auth: 'caller',
      permission: 'tenant:manage',
      body: tenantAdminBody,
      handle: governed(async ({ request, caller, domain }) => {
        const tenant = await governance.tenants.get(param(request, 'id'));
        const tenantDomain = { kind: 'tenant', host: tenant.hosts[0] ?? '', tenant } as const;
        const user = await core.directory.createUser(tenantDomain, { ...request.body, roles: ['admin'] });
        await core.audit.record(domain, {
          actor: { username: caller.username, via: caller.via },
          action: 'tenant.admin.created',
          target: `tenant:${tenant.id}`,
          details: { username: user.username },
          requestId: request.requestId,
        });
        return { status: 201, body: user };
      }),
    }),
    route({
      method: 'GET',
      path: '/api/tenants/{id}',
      auth: 'caller',
      permission: 'tenant:read',
      handle: governed(async ({ request }) => ({
        status: 200,
        body: await withDomains(await governance.tenants.get(param(request, 'id'))),
      })),
    }),
    route({
      method: 'PATCH',
      path: '/api/tenants/{id}',
      auth: 'caller',
      permission: 'tenant:manage',
      body: tenantPatchBody,
      handle: governed(async ({ request, caller }) => ({
        status: 200,
        body: await governance.tenants.update(param(request, 'id'), request.body, acting(caller, request)),
      })),
    }),
    route({
      method: 'PUT',
      path: '/api/tenants/{id}/branding',
      auth: 'caller',
      permission: 'tenant:manage',
      body: brandingBody,
      maxBodyBytes: 160 * 1024,
      handle: governed(async ({ request, caller }) => ({
        status: 200,
        body: await governance.tenants.setBranding(
          param(request, 'id'),
          request.body.branding,
          acting(caller, request),
        ),
      })),
    }),
    route({
      method: 'POST',
      path: '/api/tenants/{id}/hosts',
      auth: 'caller',
      permission: 'tenant:manage',
      body: hostBody,
      handle: governed(async ({ request, caller }) => {
        const tenant = await governance.tenants.addHost(
          param(request, 'id'),
          request.body.host,
          acting(caller, request),
        );
        // The answer says what to create in DNS for the new host, and how far its onboarding got.
        const host = await onboarding.get(request.body.host.trim().toLowerCase());
        return { status: 201, body: { ...(await withDomains(tenant)), host } };
      }),
    }),
    route({
      method: 'GET',
      path: '/api/tenants/{id}/hosts',
      auth: 'caller',
      permission: 'tenant:read',
      handle: governed(async ({ request }) => {
        const tenant = await governance.tenants.get(param(request, 'id'));
        return { status: 200, body: { items: await onboarding.list(tenant.hosts) } };
      }),
    }),
    route({
      method: 'GET',
      path: '/api/tenants/{id}/hosts/{host}',
      auth: 'caller',
      permission: 'tenant:read',
      handle: governed(async ({ request }) => ({
        status: 200,
        body: await onboarding.get(await tenantHost(param(request, 'id'), param(request, 'host'))),
      })),
    }),
    route({
      // Checks a waiting host now, or starts a failed one over.
      method: 'POST',
      path: '/api/tenants/{id}/hosts/{host}/retry',
      auth: 'caller',
      permission: 'tenant:manage',
      handle: governed(async ({ request, caller }) => {
        const id = param(request, 'id');
        const host = await tenantHost(id, param(request, 'host'));
        const view = await onboarding.retry(host);
        await recordPublic(core.audit, acting(caller, request), 'tenant.host.retried', `tenant:${id}`, {
          host,
          state: view.state,
          ...(view.code === undefined ? {} : { code: view.code }),
        });
        return { status: 200, body: view };
      }),
    }),
    route({
      // The platform's own hosts (this console's and the free entry's) and their onboarding.
      method: 'GET',
      path: '/api/platform/hosts',
      auth: 'caller',
      permission: 'tenant:read',
      handle: governed(async () => ({ status: 200, body: { items: await onboarding.listPublic() } })),
    }),
    route({
      method: 'POST',
      path: '/api/platform/hosts/{host}/retry',
      auth: 'caller',
      permission: 'tenant:manage',
      handle: governed(async ({ request, caller }) => {
        const host = param(request, 'host').trim().toLowerCase();
        const own = (await onboarding.listPublic()).some((view) => view.host === host);
        if (!own) throw new NotFoundError(`Host ${host} is not one of the platform's hosts`);
        const view = await onboarding.retry(host);
        await recordPublic(core.audit, acting(caller, request), 'platform.host.retried', `host:${host}`, {
          state: view.state,
        });
        return { status: 200, body: view };
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/tenants/{id}/hosts/{host}',
      auth: 'caller',
      permission: 'tenant:manage',
      handle: governed(async ({ request, caller }) => ({
        status: 200,
        body: await governance.tenants.removeHost(
          param(request, 'id'),
          param(request, 'host'),
          acting(caller, request),
        ),
      })),
    }),

    // ── customers and their ledgers ───────────────────────────────────────────────────────
    route({
      method: 'GET',
      path: '/api/customers',
      auth: 'caller',
      permission: 'customer:manage',
      handle: governed(async ({ request }) => ({
        status: 200,
        body: await governance.customers.list(pageSize(request.query.limit), request.query.cursor),
      })),
    }),
    route({
      method: 'POST',
      path: '/api/customers',
      auth: 'caller',
      permission: 'customer:manage',
      body: customerBody,
      handle: governed(async ({ request, caller }) => ({
        status: 201,
        body: await governance.customers.create(request.body, acting(caller, request)),
      })),
    }),
    route({
      method: 'GET',
      path: '/api/customers/{id}',
      auth: 'caller',
      permission: 'customer:manage',
      handle: governed(async ({ request }) => {
        const customer = await governance.customers.get(param(request, 'id'));
        const tenants: ReturnType<typeof summary>[] = [];
        for (const id of await governance.customers.tenantIdsOf(customer.id)) {
          const tenant = await unlessNotFound(governance.tenants.get(id));
          if (tenant !== null && tenant.customerId === customer.id) tenants.push(summary(tenant));
        }
        return { status: 200, body: { ...customer, tenants } };
      }),
    }),
    route({
      method: 'GET',
      path: '/api/customers/{id}/ledger',
      auth: 'caller',
      permission: 'customer:manage',
      handle: governed(async ({ request }) => ({
        status: 200,
        body: {
          kinds: LEDGER_KINDS,
          ...(await governance.customers.ledger(
            param(request, 'id'),
            pageSize(request.query.limit),
            request.query.cursor,
          )),
        },
      })),
    }),

    // ── order center ──────────────────────────────────────────────────────────────────────
    route({
      method: 'GET',
      path: '/api/orders',
      auth: 'caller',
      permission: 'order:manage',
      handle: governed(async ({ request }) => ({
        status: 200,
        body: await governance.orders.list(pageSize(request.query.limit), request.query.cursor),
      })),
    }),
    route({
      method: 'POST',
      path: '/api/orders',
      auth: 'caller',
      permission: 'order:manage',
      body: orderBody,
      handle: governed(async ({ request, caller }) => ({
        status: 201,
        body: await governance.orders.create(request.body, acting(caller, request)),
      })),
    }),
    route({
      method: 'GET',
      path: '/api/orders/{id}',
      auth: 'caller',
      permission: 'order:manage',
      handle: governed(async ({ request }) => ({
        status: 200,
        body: await governance.orders.get(param(request, 'id')),
      })),
    }),
    route({
      method: 'POST',
      path: '/api/orders/{id}/confirm-payment',
      auth: 'caller',
      permission: 'order:manage',
      handle: governed(async ({ request, caller }) => {
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
      }),
    }),
    route({
      method: 'POST',
      path: '/api/orders/{id}/cancel',
      auth: 'caller',
      permission: 'order:manage',
      handle: governed(async ({ request, caller }) => ({
        status: 200,
        body: (await governance.orders.cancel(param(request, 'id'), acting(caller, request))).order,
      })),
    }),

    // ── lifecycle scans ───────────────────────────────────────────────────────────────────
    route({
      method: 'POST',
      path: '/api/lifecycle/run',
      auth: 'caller',
      permission: 'lifecycle:run',
      body: lifecycleBody,
      handle: governed(async ({ request, caller }) => {
        const now = request.body.now === undefined ? core.now() : new Date(request.body.now);
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
      }),
    }),

    // ── platform announcements ────────────────────────────────────────────────────────────
    route({
      method: 'GET',
      path: '/api/announcements',
      auth: 'caller',
      permission: 'announcement:manage',
      handle: governed(async ({ request }) => ({
        status: 200,
        body: await governance.announcements.list(pageSize(request.query.limit), request.query.cursor),
      })),
    }),
    route({
      method: 'POST',
      path: '/api/announcements',
      auth: 'caller',
      permission: 'announcement:manage',
      body: announcementBody,
      handle: governed(async ({ request, caller }) => {
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
      }),
    }),
  ];
}
