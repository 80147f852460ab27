/**
 * The tenancy repositories against a real local store (dynalite) through the real SDK client: every
 * write refused by its condition comes out as the typed error or the answer the module promises —
 * a second tenant of one id, an update whose expectation no longer holds, a conversion of a tenant
 * that is no personal space, a host list changed meanwhile, a host someone else holds, a quota
 * counter at its limit — and never as the store's own exception.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Table } from '../../../../functions/core/db.ts';
import { ConflictError, NotFoundError } from '../../../../functions/core/errors.ts';
import { ConcurrentChangeError } from '../../../../functions/core/governance/errors.ts';
import { initialOnboarding, onboardingIndex } from '../../../../functions/core/governance/onboarding.ts';
import { usageKey } from '../../../../functions/core/keys.ts';
import type { TenantContext } from '../../../../functions/core/tenancy/domain.ts';
import { HostBindingRepository } from '../../../../functions/core/tenancy/host-repository.ts';
import {
  NotPersonalSpaceError,
  TenantChangedError,
  TenantExistsError,
  TenantRepository,
} from '../../../../functions/core/tenancy/tenant-repository.ts';
import { UsageRepository } from '../../../../functions/core/tenancy/usage-repository.ts';
import { localTable } from '../../../support/unit-table.ts';

const localStore = localTable();
let table: Table;
let tenants: TenantRepository;
let bindings: HostBindingRepository;
let usage: UsageRepository;

const NOW = '2026-01-01T00:00:00.000Z';

function newTenant(id: string) {
  return {
    id,
    name: id,
    plan: 'standard',
    status: 'active' as const,
    expiresAt: '2027-01-01T00:00:00.000Z',
    hosts: [`${id}.example.com`],
    deliveryMode: 'shared' as const,
    createdAt: NOW,
  };
}

beforeAll(() => {
  table = localStore();
  tenants = new TenantRepository(table);
  bindings = new HostBindingRepository(table);
  usage = new UsageRepository(table);
});

describe('TenantRepository', () => {
  it('writes a tenant once: a second one of the same id is TenantExistsError (a 409)', async () => {
    const created = await tenants.create(newTenant('acme'));
    expect(created).toMatchObject({ id: 'acme', status: 'active', updatedAt: NOW });
    const again = tenants.create({ ...newTenant('acme'), name: 'impostor' });
    await expect(again).rejects.toBeInstanceOf(TenantExistsError);
    await expect(again).rejects.toBeInstanceOf(ConflictError);
    expect((await tenants.find('acme'))?.tenant.name).toBe('acme');
  });

  it('refuses an update whose expectation no longer holds, or of a tenant that is gone', async () => {
    await tenants.create(newTenant('globex'));
    const stale = tenants.update('globex', { plan: 'enterprise' }, { status: 'grace' }, NOW);
    await expect(stale).rejects.toBeInstanceOf(TenantChangedError);
    await expect(stale).rejects.toBeInstanceOf(ConcurrentChangeError);
    await expect(tenants.update('nobody', { plan: 'x' }, {}, NOW)).rejects.toBeInstanceOf(TenantChangedError);
    expect((await tenants.find('globex'))?.tenant.plan).toBe('standard');
    const moved = await tenants.update('globex', { status: 'suspended' }, { status: 'active' }, NOW);
    expect(moved.status).toBe('suspended');
  });

  it('answers the lost races of scans and renewals, and missing tenants, as the rules expect', async () => {
    await tenants.create(newTenant('initech'));
    expect(
      await tenants.transition('initech', 'grace', 'suspended', '2027-01-01T00:00:00.000Z', NOW),
    ).toBeNull();
    const renewal = {
      orderId: 'order-1',
      previousExpiry: '2026-06-01T00:00:00.000Z',
      previousStatus: 'active' as const,
      expiresAt: '2028-01-01T00:00:00.000Z',
      status: 'active' as const,
      plan: 'standard',
    };
    expect(await tenants.applyRenewal('initech', renewal, NOW)).toBe(false);
    const current = { ...renewal, previousExpiry: '2027-01-01T00:00:00.000Z' };
    expect(await tenants.applyRenewal('initech', current, NOW)).toBe(true);
    expect(await tenants.applyRenewal('initech', current, NOW)).toBe(false);
    expect((await tenants.find('initech'))?.appliedOrders.has('order-1')).toBe(true);
    await expect(tenants.setBranding('nobody', null, NOW)).rejects.toBeInstanceOf(NotFoundError);
    await expect(tenants.markConverted('initech', 'order-2', NOW)).rejects.toBeInstanceOf(
      NotPersonalSpaceError,
    );
  });

  it('replaces a host list only at the revision it was read at', async () => {
    await tenants.create(newTenant('hooli'));
    const first = await tenants.replaceHosts('hooli', null, ['a.example.com', 'b.example.com'], NOW);
    expect(first?.hosts).toEqual(['a.example.com', 'b.example.com']);
    // A second writer that read the list before the first change loses.
    expect(await tenants.replaceHosts('hooli', null, ['c.example.com'], NOW)).toBeNull();
    expect((await tenants.find('hooli'))?.hostsRevision).toBe(1);
  });
});

describe('HostBindingRepository', () => {
  it('binds a host once, and releases it only for its own tenant or claim', async () => {
    const binding = { host: 'shop.example.com', domain: 'tenant', tenantId: 'acme' } as const;
    expect(await bindings.claim(binding, NOW)).toBe(true);
    expect(await bindings.claim({ ...binding, tenantId: 'globex' }, NOW)).toBe(false);
    await bindings.release('shop.example.com', 'globex');
    expect((await bindings.find('shop.example.com', true))?.binding).toEqual(binding);
    await bindings.release('shop.example.com', 'acme');
    expect(await bindings.find('shop.example.com', true)).toBeNull();
  });

  it('takes a personal host over only from the claim it saw', async () => {
    expect(await bindings.claimPersonal('ann.free.example.com', 'ann', 'claim-1', NOW)).toBe(true);
    expect(await bindings.claimPersonal('ann.free.example.com', 'ann', 'claim-2', NOW)).toBe(false);
    expect(await bindings.claimPersonal('ann.free.example.com', 'ann', 'claim-3', NOW, 'claim-x')).toBe(
      false,
    );
    expect(await bindings.claimPersonal('ann.free.example.com', 'ann', 'claim-2', NOW, 'claim-1')).toBe(true);
    await bindings.releasePersonal('ann.free.example.com', 'claim-1');
    expect((await bindings.find('ann.free.example.com', true))?.claimId).toBe('claim-2');
  });

  it("keeps a binding's onboarding: due while it waits, a step only over the revision it read, none on an unbound host", async () => {
    const host = 'onboard.example.com';
    const first = initialOnboarding(new Date(NOW));
    const binding = { host, domain: 'tenant', tenantId: 'acme' } as const;
    expect(await bindings.claim(binding, NOW, { state: first, due: onboardingIndex(host, first) })).toBe(
      true,
    );
    expect(await bindings.findOnboarding(host)).toEqual({ binding, onboarding: first, boundAt: NOW });
    expect((await bindings.dueOnboardings(NOW, 50)).map((due) => due.host)).toContain(host);

    const settled = { state: 'active' as const, attempts: 0, since: NOW, updatedAt: NOW, revision: 1 };
    // A step over a revision that moved on is an answer (null), and changes nothing.
    expect(await bindings.writeOnboarding(host, 5, settled, null)).toBeNull();
    expect((await bindings.findOnboarding(host))?.onboarding).toEqual(first);
    // The step over the revision read lands, and a settled state leaves the due index.
    expect(
      (await bindings.writeOnboarding(host, 0, settled, onboardingIndex(host, settled)))?.onboarding,
    ).toEqual(settled);
    expect((await bindings.dueOnboardings(NOW, 50)).map((due) => due.host)).not.toContain(host);
    // A step on a host bound to nothing writes no binding.
    expect(await bindings.writeOnboarding('nobody.example.com', 0, settled, null)).toBeNull();
    expect(await bindings.findOnboarding('nobody.example.com')).toBeNull();
  });
});

describe('UsageRepository', () => {
  const domain: TenantContext = {
    kind: 'tenant',
    host: '',
    tenant: { id: 'acme', name: 'acme', status: 'active', plan: 'free', expiresAt: NOW },
  };

  it('counts a period up to its limit, a repeated id once, and gives a place back', async () => {
    const key = usageKey(domain, 'runs', '2026-01-01');
    expect(await usage.reservePeriod(key, 'a', 2, 1)).toBe(true);
    expect(await usage.reservePeriod(key, 'a', 2, 1)).toBe(true);
    expect(await usage.reservePeriod(key, 'b', 2, 1)).toBe(true);
    expect(await usage.reservePeriod(key, 'c', 2, 1)).toBe(false);
    await usage.remove(key, 'a');
    expect(await usage.reservePeriod(key, 'c', 2, 1)).toBe(true);
    expect(await usage.counter(key)).toEqual({ size: 2, seeded: false });
  });

  it('takes places of a kept counter only once it is seeded, and keeps the first seed', async () => {
    const key = usageKey(domain, 'skills');
    expect(await usage.reserveSeeded(key, 'x', 2)).toBe(false);
    await usage.seed(key, ['s1'], NOW);
    await usage.seed(key, ['s1', 's2', 's3'], NOW);
    expect(await usage.counter(key)).toEqual({ size: 1, seeded: true });
    expect(await usage.reserveSeeded(key, 'x', 2)).toBe(true);
    expect(await usage.reserveSeeded(key, 'y', 2)).toBe(false);
    await usage.remove(usageKey(domain, 'nothing'), 'x');
  });
});
