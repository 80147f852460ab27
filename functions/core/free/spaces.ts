/**
 * Personal spaces as super-admins govern them from the console, through their leads:
 *
 * - disable (abuse): the space is suspended — its person can still sign in and read, nothing runs
 *   (no run, schedule or AI call) — and its lead says who disabled it and why; enable undoes it;
 * - convert into a standard tenant through the order center: an order (plan, months, amount) that
 *   also names the new hosts and first admin. Nothing changes until its payment is confirmed; then
 *   the renewal gives the tenant its plan and period, and the conversion binds the hosts, creates the
 *   admin, renames it if asked, and marks space and lead converted. The tenant keeps its id, so its
 *   Skills, scripts, runs and audit chain stay exactly where they were; its personal host keeps
 *   working beside the new ones. Each step is idempotent: a retried confirmation finishes the rest.
 *
 * Every change lands in the public audit chain (and the space's own).
 */
import { isPaidPlan, type Plan } from '../../contract/tenancy.ts';
import type { AuditLog } from '../audit/chain.ts';
import { NotFoundError, unlessNotFound, ValidationError } from '../errors.ts';
import { type Acting, recordPublic } from '../governance/acting.ts';
import type { Order, Orders } from '../governance/orders.ts';
import type { TenantAdmin } from '../governance/tenants.ts';
import { type Directory, USERNAME_PATTERN, validatePassword } from '../identity/directory.ts';
import { hashPassword } from '../identity/passwords.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { type HostDirectory, isValidHost } from '../tenancy/hosts.ts';
import { MAX_HOSTS_PER_TENANT, type Tenant, type TenantRegistry } from '../tenancy/tenants.ts';
import { ConversionConflictError, LeadStateError } from './errors.ts';
import type { Lead, Leads } from './leads.ts';

export interface ConversionInput {
  /** Checked with the rest of the conversion: a paid plan, never `free`. */
  readonly plan: Plan;
  readonly months: number;
  readonly amount: number;
  readonly currency?: string;
  /** The standard tenant's own hosts (the personal host keeps working beside them). */
  readonly hosts: readonly string[];
  /** Its first admin (the space's own user stays, as an admin too). */
  readonly admin: { readonly username: string; readonly password: string };
  /** A new name for the tenant. @default the space's */
  readonly name?: string;
}

export interface PersonalSpacesOptions {
  readonly leads: Leads;
  readonly registry: TenantRegistry;
  readonly tenants: TenantAdmin;
  readonly orders: Orders;
  readonly directory: Directory;
  readonly hosts: HostDirectory;
  readonly audit: AuditLog;
  /** Whether a host lies under the free domain (only personal spaces live there). */
  readonly isFreeDomainHost: (host: string) => boolean;
  readonly now?: () => Date;
}

function spaceOf(tenant: Tenant): TenantContext {
  return { kind: 'tenant', host: tenant.hosts[0] ?? '', tenant };
}

export class PersonalSpaces {
  readonly #leads: Leads;
  readonly #registry: TenantRegistry;
  readonly #tenants: TenantAdmin;
  readonly #orders: Orders;
  readonly #directory: Directory;
  readonly #hosts: HostDirectory;
  readonly #audit: AuditLog;
  readonly #isFreeDomainHost: (host: string) => boolean;
  readonly #now: () => Date;

  constructor(options: PersonalSpacesOptions) {
    this.#leads = options.leads;
    this.#registry = options.registry;
    this.#tenants = options.tenants;
    this.#orders = options.orders;
    this.#directory = options.directory;
    this.#hosts = options.hosts;
    this.#audit = options.audit;
    this.#isFreeDomainHost = options.isFreeDomainHost;
    this.#now = options.now ?? (() => new Date());
    // A conversion order's confirmation runs these steps (again, harmlessly, on every replay).
    this.#orders.onConversion({
      check: (order) => this.#checkConversion(order),
      bind: (order, by, undo) => this.#bindConversion(order, by, undo),
      complete: (order, by) => this.#completeConversion(order, by),
      applied: (order, by) => this.#conversionApplied(order, by),
    });
  }

  /**
   * A lead with its space and its conversion order as the console shows them (the space may be gone
   * if a sign-up was undone; the order is null when none was ordered).
   */
  async get(
    leadId: string,
  ): Promise<Lead & { readonly space: Tenant | null; readonly conversionOrder: Order | null }> {
    const lead = await this.#leads.get(leadId);
    const space = await unlessNotFound(this.#registry.get(lead.tenantId));
    return { ...lead, space, conversionOrder: await this.#conversionOrder(lead) };
  }

  /** Suspends the space (nothing runs; its person can still sign in and read) and records why. */
  async disable(leadId: string, reason: string, by: Acting): Promise<Lead> {
    const lead = await this.#leads.get(leadId);
    if (lead.status === 'converted') {
      throw new LeadStateError('This space is a standard tenant now: suspend it from its tenant page', {
        extra: { status: lead.status },
      });
    }
    const tenant = await this.#registry.get(lead.tenantId);
    if (tenant.status !== 'suspended') await this.#tenants.update(tenant.id, { status: 'suspended' }, by);
    const note = reason.trim().slice(0, 500);
    const disabled = await this.#leads.setStatus(leadId, 'disabled', ['active'], {
      disabledAt: this.#now().toISOString(),
      disabledBy: by.actor.username,
      disabledReason: note,
    });
    await recordPublic(this.#audit, by, 'free.space.disabled', `tenant:${lead.tenantId}`, {
      leadId,
      handle: lead.handle,
      reason: note,
    });
    return disabled;
  }

  /** Lets a disabled space run again. */
  async enable(leadId: string, by: Acting): Promise<Lead> {
    const lead = await this.#leads.get(leadId);
    if (lead.status !== 'disabled') {
      throw new LeadStateError(`This space is ${lead.status}, not disabled`, {
        extra: { status: lead.status },
      });
    }
    const tenant = await this.#registry.get(lead.tenantId);
    if (tenant.status === 'suspended') await this.#tenants.update(tenant.id, { status: 'active' }, by);
    const enabled = await this.#leads.setStatus(leadId, 'active', ['disabled']);
    await recordPublic(this.#audit, by, 'free.space.enabled', `tenant:${lead.tenantId}`, {
      leadId,
      handle: lead.handle,
    });
    return enabled;
  }

  /**
   * The order that converts the lead's space into a standard tenant: checked now (plan, hosts free to
   * bind, admin name and password, no other conversion order pending or paid), applied when its
   * payment is confirmed. The lead names the order first (a conditional write), so of two
   * concurrent conversions of one lead only one is ordered.
   */
  async orderConversion(leadId: string, input: ConversionInput, by: Acting): Promise<Order> {
    const lead = await this.#leads.get(leadId);
    if (lead.status === 'converted') {
      throw new LeadStateError('This space was converted already', { extra: { status: lead.status } });
    }
    await this.#refuseOtherConversion(lead);
    const tenant = await this.#registry.get(lead.tenantId);
    const issues: { path: string; message: string }[] = [];
    const plan = input.plan;
    if (!isPaidPlan(plan)) {
      issues.push({ path: 'plan', message: 'a standard tenant is on a paid plan, not free' });
    }
    const hosts = [...new Set(input.hosts.map((host) => host.trim().toLowerCase()))];
    issues.push(...(await this.#hostIssues(tenant, hosts)));
    issues.push(...(await this.#adminIssues(tenant, input.admin.username, null)));
    if (issues.length > 0 || !isPaidPlan(plan)) {
      throw new ValidationError('This conversion cannot be ordered', issues);
    }
    validatePassword(input.admin.password, 'admin.password');
    const orderId = this.#orders.newId();
    if (!(await this.#leads.claimConversion(leadId, orderId, lead.conversionOrderId))) {
      // Another conversion was ordered meanwhile (or the lead converted): say which.
      await this.#refuseOtherConversion(await this.#leads.get(leadId));
      throw new LeadStateError('This lead changed meanwhile; reload it and order again', {
        extra: { status: lead.status },
      });
    }
    let order: Order;
    try {
      order = await this.#orders.create(
        {
          id: orderId,
          tenantId: tenant.id,
          plan,
          months: input.months,
          amount: input.amount,
          ...(input.currency === undefined ? {} : { currency: input.currency }),
          conversion: {
            leadId,
            hosts,
            adminUsername: input.admin.username,
            adminPasswordHash: await hashPassword(input.admin.password),
            ...(input.name?.trim() ? { name: input.name.trim() } : {}),
          },
        },
        by,
      );
    } catch (error) {
      await this.#leads.releaseConversion(leadId, orderId);
      throw error;
    }
    await recordPublic(this.#audit, by, 'free.conversion.ordered', `tenant:${tenant.id}`, {
      leadId,
      orderId: order.id,
      plan: order.plan,
      hosts,
      admin: input.admin.username,
    });
    return order;
  }

  /** The conversion order a lead names, or null (none, or one whose creation never completed). */
  async #conversionOrder(lead: Lead): Promise<Order | null> {
    if (lead.conversionOrderId === undefined) return null;
    return unlessNotFound(this.#orders.get(lead.conversionOrderId));
  }

  /** A lead whose conversion order is pending, being confirmed or paid cannot order another one. */
  async #refuseOtherConversion(lead: Lead, except?: string): Promise<void> {
    const order = await this.#conversionOrder(lead);
    if (order === null || order.id === except || order.status === 'cancelled') return;
    const what =
      order.status === 'paid'
        ? `was converted by order ${order.id}`
        : `has a conversion order ${order.id} (${order.status}): confirm its payment or cancel it first`;
    throw new LeadStateError(`This space ${what}`, {
      extra: { status: lead.status, orderId: order.id, orderStatus: order.status },
    });
  }

  /** Why `hosts` cannot be bound to the space (empty: they can). */
  async #hostIssues(tenant: Tenant, hosts: readonly string[]): Promise<{ path: string; message: string }[]> {
    const issues: { path: string; message: string }[] = [];
    const added = hosts.filter((host) => !tenant.hosts.includes(host));
    if (added.length + tenant.hosts.length > MAX_HOSTS_PER_TENANT) {
      issues.push({ path: 'hosts', message: `a tenant has at most ${MAX_HOSTS_PER_TENANT} hosts` });
    }
    for (const [index, host] of hosts.entries()) {
      if (!isValidHost(host)) {
        issues.push({ path: `hosts.${index}`, message: `${host} is not a valid host name` });
        continue;
      }
      if (this.#isFreeDomainHost(host)) {
        issues.push({
          path: `hosts.${index}`,
          message: `${host} is under the free domain, kept for personal spaces`,
        });
        continue;
      }
      if (tenant.hosts.includes(host)) continue;
      const bound = await this.#hosts.resolve(host).then(
        () => true,
        (error: unknown) => {
          if (error instanceof NotFoundError) return false;
          throw error;
        },
      );
      if (bound) issues.push({ path: `hosts.${index}`, message: `${host} is already bound` });
    }
    return issues;
  }

  /** Why `username` cannot be the space's new admin (empty: it can; `hash`: a user with it is ours). */
  async #adminIssues(
    tenant: Tenant,
    username: string,
    hash: string | null,
  ): Promise<{ path: string; message: string }[]> {
    if (!USERNAME_PATTERN.test(username)) {
      return [{ path: 'admin.username', message: '2-63 characters: a-z, 0-9, dot, underscore, hyphen' }];
    }
    const existing = await this.#directory.getUser(spaceOf(tenant), username);
    if (existing === null || (hash !== null && existing.passwordHash === hash)) return [];
    return [{ path: 'admin.username', message: `the space already has a user ${username}` }];
  }

  /** Before a conversion order's payment is confirmed: everything that could refuse it, nothing written. */
  async #checkConversion(order: Order): Promise<void> {
    const conversion = order.conversion;
    if (conversion === undefined) return;
    const lead = await unlessNotFound(this.#leads.get(conversion.leadId));
    if (lead !== null) {
      if (lead.status === 'converted' && lead.orderId !== order.id) {
        throw new LeadStateError(`This space was converted already, by order ${lead.orderId ?? '?'}`, {
          extra: { status: lead.status, orderId: lead.orderId },
        });
      }
      await this.#refuseOtherConversion(lead, order.id);
    }
    const tenant = await this.#registry.get(order.tenantId);
    if (tenant.personal === undefined) {
      throw new LeadStateError(`Tenant ${tenant.id} is not a personal space to convert`);
    }
    const convertedBy = tenant.personal.conversionOrderId;
    if (tenant.personal.convertedAt !== undefined && convertedBy !== order.id) {
      throw new LeadStateError(`This space was converted already, by order ${convertedBy ?? '?'}`, {
        extra: { orderId: convertedBy },
      });
    }
    const hash = await this.#orders.conversionPasswordHash(order.id);
    const issues = [
      ...(await this.#hostIssues(tenant, conversion.hosts)),
      ...(await this.#adminIssues(tenant, conversion.adminUsername, hash)),
    ];
    if (issues.length > 0) {
      throw new ConversionConflictError(
        `Order ${order.id} cannot convert the space any more: ${issues.map((issue) => issue.message).join('; ')}. Cancel it and order the conversion again`,
        { extra: { orderId: order.id, issues } },
      );
    }
  }

  /**
   * The conversion's writes that can be refused: bind the hosts, create the admin. A refusal (with
   * `undo`) removes the hosts this call bound, then throws: nothing of it remains.
   */
  async #bindConversion(order: Order, by: Acting, undo: boolean): Promise<void> {
    const conversion = order.conversion;
    if (conversion === undefined) return;
    let tenant = await this.#registry.get(order.tenantId);
    const bound: string[] = [];
    try {
      for (const host of conversion.hosts) {
        if (tenant.hosts.includes(host)) continue;
        tenant = await this.#tenants.addHost(tenant.id, host, by);
        bound.push(host);
      }
      const hash = await this.#orders.conversionPasswordHash(order.id);
      if (hash !== null) {
        await this.#directory.createAdminFromHash(spaceOf(tenant), conversion.adminUsername, hash, by.actor);
      }
    } catch (error) {
      if (!undo) throw error;
      for (const host of bound.reverse()) await this.#tenants.removeHost(tenant.id, host, by);
      throw error;
    }
  }

  /** After the renewal: rename, mark space and lead converted. Idempotent. */
  async #completeConversion(order: Order, by: Acting): Promise<void> {
    const conversion = order.conversion;
    if (conversion === undefined) return;
    const tenant = await this.#registry.get(order.tenantId);
    if (conversion.name !== undefined && tenant.name !== conversion.name) {
      await this.#tenants.update(tenant.id, { name: conversion.name }, by);
    }
    await this.#registry.markConverted(tenant.id, order.id);
    await this.#leads
      .setStatus(conversion.leadId, 'converted', ['active', 'disabled'], {
        convertedAt: this.#now().toISOString(),
        orderId: order.id,
        plan: order.plan,
      })
      .catch((error: unknown) => {
        // A lead is never required for the tenant's own conversion (it could have been withdrawn).
        if (!(error instanceof NotFoundError)) throw error;
      });
  }

  /** After the paid mark: the password hash goes, and the conversion is recorded. */
  async #conversionApplied(order: Order, by: Acting): Promise<void> {
    const conversion = order.conversion;
    if (conversion === undefined || conversion.appliedAt !== undefined) return;
    await this.#orders.conversionApplied(order.id);
    const tenant = await this.#registry.get(order.tenantId);
    const details = {
      orderId: order.id,
      plan: order.plan,
      hosts: conversion.hosts,
      admin: conversion.adminUsername,
    };
    await recordPublic(this.#audit, by, 'free.space.converted', `tenant:${tenant.id}`, {
      leadId: conversion.leadId,
      ...details,
    });
    await this.#audit.record(spaceOf(tenant), {
      actor: by.actor,
      action: 'space.converted',
      target: `tenant:${tenant.id}`,
      details,
      ...(by.requestId === undefined ? {} : { requestId: by.requestId }),
    });
  }
}
