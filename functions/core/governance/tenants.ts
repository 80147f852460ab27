/**
 * Tenant administration as the governance console does it: the registry's writes plus the rules
 * around them — allowed status changes, the customer a tenant belongs to (link item and ledger),
 * and one public audit entry per action.
 */
import type { AuditLog } from '../audit/chain.ts';
import { NotFoundError, unlessNotFound, ValidationError } from '../errors.ts';
import type { Page } from '../pagination.ts';
import { type Branding, validateBranding } from '../tenancy/branding.ts';
import type { TenantStatus } from '../tenancy/domain.ts';
import type { DeliveryMode, NewTenant, Tenant, TenantChange, TenantRegistry } from '../tenancy/tenants.ts';
import { type Acting, recordPublic } from './acting.ts';
import type { Customers } from './customers.ts';
import { allowedTransitions, mayTransition, readableUtc } from './dates.ts';
import { InvalidTransitionError } from './errors.ts';

export interface TenantPatch {
  readonly name?: string;
  readonly plan?: string;
  readonly status?: TenantStatus;
  readonly expiresAt?: string;
  readonly deliveryMode?: DeliveryMode;
  /** Another customer, or null for none. */
  readonly customerId?: string | null;
}

/** Ids of personal spaces (free/handles.ts): made only by the free entry's sign-up. */
const PERSONAL_ID_PREFIX = 'p-';

export class TenantAdmin {
  readonly #registry: TenantRegistry;
  readonly #customers: Customers;
  readonly #audit: AuditLog;
  readonly #freeHosts: readonly string[];
  readonly #now: () => Date;

  constructor(options: {
    registry: TenantRegistry;
    customers: Customers;
    audit: AuditLog;
    /** The free entry's hosts: the names under them belong to personal spaces. @default [] */
    freeHosts?: readonly string[];
    /** The clock an expiry is checked against. @default the system clock */
    now?: () => Date;
  }) {
    this.#registry = options.registry;
    this.#customers = options.customers;
    this.#audit = options.audit;
    this.#freeHosts = (options.freeHosts ?? []).map((host) => host.toLowerCase());
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * A tenant is given an expiry in the future: one already past made an `active` tenant that the
   * platform served until the next lifecycle scan noticed. A tenant is stopped now by its status
   * (`suspended`), which the status rules check and the audit names.
   */
  #refusePastExpiry(expiresAt: string): void {
    const at = Date.parse(expiresAt);
    if (Number.isFinite(at) && at <= this.#now().getTime()) {
      throw new ValidationError('The expiry is in the past', [
        {
          path: 'expiresAt',
          message: 'must be in the future; to stop a tenant now, set its status to suspended',
        },
      ]);
    }
  }

  /** Whether a host lies under the free domain, where only personal spaces live. */
  isFreeDomainHost(host: string): boolean {
    const name = host.trim().toLowerCase();
    return this.#freeHosts.some((free) => name.endsWith(`.${free}`));
  }

  #refuseFreeDomainHosts(hosts: readonly string[], path: string): void {
    const taken = hosts.filter((host) => this.isFreeDomainHost(host));
    if (taken.length > 0) {
      throw new ValidationError(
        'Hosts under the free domain belong to personal spaces',
        taken.map((host) => ({
          path,
          message: `${host} is under the free domain; personal spaces get theirs by signing up`,
        })),
      );
    }
  }

  get(id: string): Promise<Tenant> {
    return this.#registry.get(id);
  }

  list(limit: number, cursor?: string): Promise<Page<Tenant>> {
    return this.#registry.list(limit, cursor);
  }

  async create(input: NewTenant, by: Acting): Promise<Tenant> {
    if (input.id.startsWith(PERSONAL_ID_PREFIX)) {
      throw new ValidationError('Tenant ids starting with p- are kept for personal spaces', [
        { path: 'id', message: 'choose an id that does not start with p-' },
      ]);
    }
    this.#refuseFreeDomainHosts(input.hosts, 'hosts');
    this.#refusePastExpiry(input.expiresAt);
    const { customerId } = input;
    if (customerId !== undefined) {
      await this.#requireCustomer(customerId);
      // The link comes first, so a tenant never exists without it; a failed create removes it.
      await this.#customers.linkTenant(customerId, input.id);
    }
    let tenant: Tenant;
    try {
      tenant = await this.#registry.create(input);
    } catch (error) {
      if (customerId !== undefined) {
        // Unlink only when the tenant definitely is not this customer's; a failed read unlinks nothing.
        const existing = await unlessNotFound(this.#registry.get(input.id)).catch(() => undefined);
        if (existing !== undefined && existing?.customerId !== customerId)
          await this.#customers.unlinkTenant(customerId, input.id);
      }
      throw error;
    }
    if (customerId !== undefined) await this.#linked(tenant, customerId, tenant.createdAt);
    await recordPublic(this.#audit, by, 'tenant.created', `tenant:${tenant.id}`, {
      name: tenant.name,
      plan: tenant.plan,
      status: tenant.status,
      hosts: tenant.hosts,
      expiresAt: tenant.expiresAt,
      deliveryMode: tenant.deliveryMode,
      ...(customerId === undefined ? {} : { customerId }),
    });
    return tenant;
  }

  /**
   * Changes name, plan, status, expiry, delivery mode or customer in one conditional write against
   * the record as read, so a concurrent change (a scan, a payment) is never overwritten silently.
   */
  async update(id: string, patch: TenantPatch, by: Acting): Promise<Tenant> {
    const current = await this.#registry.get(id);
    // The same expiry sent back (a form that sends every field of a tenant in grace) is no change.
    if (patch.expiresAt !== undefined && Date.parse(patch.expiresAt) !== Date.parse(current.expiresAt)) {
      this.#refusePastExpiry(patch.expiresAt);
    }
    if (
      patch.plan !== undefined &&
      patch.plan !== current.plan &&
      current.personal !== undefined &&
      current.personal.convertedAt === undefined
    ) {
      throw new ValidationError('A personal space changes plan by conversion', [
        { path: 'plan', message: 'convert the space through an order from its lead (Free edition)' },
      ]);
    }
    if (patch.status !== undefined && !mayTransition(current.status, patch.status)) {
      throw new InvalidTransitionError(`A ${current.status} tenant cannot become ${patch.status}`, {
        extra: { from: current.status, to: patch.status, allowed: allowedTransitions(current.status) },
      });
    }
    // Grace is the time after an expiry: a tenant whose subscription runs on is not in it (its pages
    // said "expired on" a day to come, and its reminders were withdrawn). Suspend it to stop it now.
    const expiresAt = patch.expiresAt ?? current.expiresAt;
    if (
      patch.status === 'grace' &&
      current.status !== 'grace' &&
      Date.parse(expiresAt) > this.#now().getTime()
    ) {
      throw new InvalidTransitionError(
        `A tenant enters grace once its subscription has expired; ${id} runs until ${readableUtc(expiresAt) ?? expiresAt}: suspend it to stop it now`,
        { extra: { from: current.status, to: 'grace', expiresAt } },
      );
    }
    const fromCustomer = current.customerId ?? null;
    const toCustomer = patch.customerId === undefined ? fromCustomer : patch.customerId;
    const customerChanges = toCustomer !== fromCustomer;
    if (customerChanges && toCustomer !== null) {
      await this.#requireCustomer(toCustomer, 'customerId');
      await this.#customers.linkTenant(toCustomer, id);
    }
    const change: TenantChange = {
      ...patch,
      ...(customerChanges ? { customerId: toCustomer } : { customerId: undefined }),
    };
    const updated = await this.#registry.update(id, change, {
      status: current.status,
      expiresAt: current.expiresAt,
      customerId: fromCustomer,
    });
    if (customerChanges) {
      if (fromCustomer !== null) {
        await this.#customers.unlinkTenant(fromCustomer, id);
        await this.#customers.record({
          id: `tenant-unlinked-${id}-${updated.updatedAt}`,
          customerId: fromCustomer,
          kind: 'tenant-unlinked',
          at: updated.updatedAt,
          tenantId: id,
          summary: `Tenant ${id} no longer belongs to this customer`,
        });
      }
      if (toCustomer !== null) await this.#linked(updated, toCustomer, updated.updatedAt);
    }
    const changed: Record<string, unknown> = {};
    const before: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      changed[field] = value;
      before[field] = (current as unknown as Record<string, unknown>)[field] ?? null;
    }
    await recordPublic(this.#audit, by, 'tenant.updated', `tenant:${id}`, { changed, before });
    return updated;
  }

  /** Sets (or, with null, removes) the branding of a dedicated delivery; audited with what changed. */
  async setBranding(id: string, input: Branding | null, by: Acting): Promise<Tenant> {
    const current = await this.#registry.get(id);
    const branding = input === null ? null : validateBranding(input);
    const updated = await this.#registry.setBranding(id, branding);
    await recordPublic(this.#audit, by, 'tenant.branding.updated', `tenant:${id}`, {
      deliveryMode: current.deliveryMode,
      // The logo is recorded by size, not content.
      branding:
        branding === null
          ? null
          : {
              ...branding,
              ...(branding.logo === undefined ? {} : { logo: `${branding.logo.length} characters` }),
            },
    });
    return updated;
  }

  async addHost(id: string, host: string, by: Acting): Promise<Tenant> {
    this.#refuseFreeDomainHosts([host], 'host');
    const tenant = await this.#registry.addHost(id, host);
    await recordPublic(this.#audit, by, 'tenant.host.added', `tenant:${id}`, {
      host: host.trim().toLowerCase(),
      hosts: tenant.hosts,
    });
    return tenant;
  }

  async removeHost(id: string, host: string, by: Acting): Promise<Tenant> {
    const tenant = await this.#registry.removeHost(id, host);
    await recordPublic(this.#audit, by, 'tenant.host.removed', `tenant:${id}`, {
      host: host.trim().toLowerCase(),
      hosts: tenant.hosts,
    });
    return tenant;
  }

  async #requireCustomer(customerId: string, path = 'customerId'): Promise<void> {
    try {
      await this.#customers.get(customerId);
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new ValidationError('Unknown customer', [{ path, message: `no customer ${customerId}` }], {
          cause: error,
        });
      }
      throw error;
    }
  }

  async #linked(tenant: Tenant, customerId: string, at: string): Promise<void> {
    await this.#customers.record({
      id: `tenant-linked-${tenant.id}-${at}`,
      customerId,
      kind: 'tenant-linked',
      at,
      tenantId: tenant.id,
      summary: `Tenant ${tenant.id} (${tenant.plan}) belongs to this customer`,
      details: { plan: tenant.plan, expiresAt: tenant.expiresAt, hosts: tenant.hosts },
    });
  }
}
