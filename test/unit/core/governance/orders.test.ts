/**
 * Payment confirmation converges on exactly one renewal wherever a previous attempt stopped: the
 * suite crashes a confirmation after each of its writes in turn (through the SDK client's own
 * middleware, against a real local store) and retries it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Acting } from '../../../../functions/core/governance/acting.ts';
import { addMonths } from '../../../../functions/core/governance/dates.ts';
import { OrderStateError } from '../../../../functions/core/governance/errors.ts';
import type { ConversionSteps } from '../../../../functions/core/governance/orders.ts';
import { SimulatedCrash, startTestStore, type TestStore } from './store.ts';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const EXPIRY = '2030-03-15T12:00:00.000Z';
const by: Acting = { actor: { username: 'root', via: 'session' } };

let store: TestStore;
let customerId = '';
let sequence = 0;

beforeAll(async () => {
  store = await startTestStore(() => NOW);
  customerId = (await store.governance.customers.create({ name: 'Crashco', contacts: [] }, by)).id;
});
afterAll(async () => {
  await store?.stop();
});

async function freshOrder(status: 'active' | 'grace' | 'suspended' = 'active', months = 3) {
  const tenantId = `crash-${++sequence}`;
  await store.governance.tenants.create(
    {
      id: tenantId,
      name: tenantId,
      plan: 'standard',
      hosts: [`${tenantId}.example.com`],
      expiresAt: EXPIRY,
      customerId,
    },
    by,
  );
  if (status !== 'active') await store.governance.registry.update(tenantId, { status });
  const order = await store.governance.orders.create(
    { tenantId, plan: 'professional', months, amount: 30 },
    by,
  );
  return { tenantId, orderId: order.id };
}

async function payments(orderId: string) {
  const entries = [];
  let cursor: string | undefined;
  do {
    const page = await store.governance.customers.ledger(customerId, 100, cursor);
    entries.push(
      ...page.items.filter((entry) => entry.orderId === orderId && entry.kind === 'payment-confirmed'),
    );
    cursor = page.cursor;
  } while (cursor !== undefined);
  return entries;
}

async function confirmUntilDone(orderId: string): Promise<number> {
  let crashes = 0;
  for (;;) {
    try {
      await store.governance.orders.confirmPayment(orderId, by);
      return crashes;
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) throw error;
      crashes++;
    }
  }
}

describe('confirmPayment', () => {
  it('renews once, reactivates, and treats every repeat as a replay', async () => {
    const { tenantId, orderId } = await freshOrder('suspended');
    const first = await store.governance.orders.confirmPayment(orderId, by);
    expect(first.changed).toBe(true);
    expect(first.order).toMatchObject({
      status: 'paid',
      previousExpiry: EXPIRY,
      newExpiry: addMonths(EXPIRY, 3),
    });
    const tenant = await store.governance.tenants.get(tenantId);
    expect(tenant).toMatchObject({ expiresAt: addMonths(EXPIRY, 3), status: 'active', plan: 'professional' });

    const writes = store.writes();
    const again = await store.governance.orders.confirmPayment(orderId, by);
    expect(again).toEqual({ order: first.order, changed: false });
    expect(store.writes()).toBe(writes);
    expect(await store.governance.tenants.get(tenantId)).toEqual(tenant);
    expect(await payments(orderId)).toHaveLength(1);
  });

  it('converges on one renewal after a crash following any of its writes', async () => {
    const probe = await freshOrder();
    const before = store.writes();
    await store.governance.orders.confirmPayment(probe.orderId, by);
    const writesPerConfirmation = store.writes() - before;
    expect(writesPerConfirmation).toBeGreaterThanOrEqual(4);

    for (let crashAfter = 1; crashAfter <= writesPerConfirmation; crashAfter++) {
      const { tenantId, orderId } = await freshOrder('grace');
      store.crashAfter(crashAfter);
      expect(await confirmUntilDone(orderId), `crash after write ${crashAfter}`).toBe(1);
      await confirmUntilDone(orderId);
      const order = await store.governance.orders.get(orderId);
      expect(order.status, `crash after write ${crashAfter}`).toBe('paid');
      const tenant = await store.governance.tenants.get(tenantId);
      expect(tenant.expiresAt, `crash after write ${crashAfter}`).toBe(addMonths(EXPIRY, 3));
      expect(tenant.status).toBe('active');
      expect(await store.governance.registry.hasApplied(tenantId, orderId)).toBe(true);
      expect(await payments(orderId), `crash after write ${crashAfter}`).toHaveLength(1);
    }
  });

  it('recomputes the renewal when the tenant changed between marking the order and applying it', async () => {
    const { tenantId, orderId } = await freshOrder('active', 1);
    store.crashAfter(1); // the order is `paying`, computed from EXPIRY
    await expect(store.governance.orders.confirmPayment(orderId, by)).rejects.toBeInstanceOf(SimulatedCrash);
    const moved = '2030-06-01T00:00:00.000Z';
    await store.governance.registry.update(tenantId, { expiresAt: moved });

    const { order } = await store.governance.orders.confirmPayment(orderId, by);
    expect(order).toMatchObject({ status: 'paid', previousExpiry: moved, newExpiry: addMonths(moved, 1) });
    expect((await store.governance.tenants.get(tenantId)).expiresAt).toBe(addMonths(moved, 1));
  });

  it('applies two orders of one tenant one after the other, each once', async () => {
    const { tenantId, orderId } = await freshOrder('active', 1);
    const second = await store.governance.orders.create(
      { tenantId, plan: 'professional', months: 2, amount: 60 },
      by,
    );
    await Promise.all([
      confirmUntilDone(orderId),
      confirmUntilDone(second.id),
      confirmUntilDone(orderId),
      confirmUntilDone(second.id),
    ]);
    expect((await store.governance.tenants.get(tenantId)).expiresAt).toBe(addMonths(addMonths(EXPIRY, 1), 2));
  });

  it('refuses to confirm a cancelled order and to cancel a paid one', async () => {
    const cancelled = await freshOrder();
    await store.governance.orders.cancel(cancelled.orderId, by);
    await expect(store.governance.orders.confirmPayment(cancelled.orderId, by)).rejects.toBeInstanceOf(
      OrderStateError,
    );
    expect((await store.governance.tenants.get(cancelled.tenantId)).expiresAt).toBe(EXPIRY);

    const paid = await freshOrder();
    await store.governance.orders.confirmPayment(paid.orderId, by);
    await expect(store.governance.orders.cancel(paid.orderId, by)).rejects.toBeInstanceOf(OrderStateError);
  });
});

describe('confirmPayment of a conversion order', () => {
  /** A personal space with a pending conversion order, and the steps the order center calls. */
  async function conversionOrder(steps: Partial<ConversionSteps>) {
    const tenantId = `p-space-${++sequence}`;
    await store.governance.registry.create({
      id: tenantId,
      name: tenantId,
      plan: 'free',
      hosts: [`${tenantId}.free.example.com`],
      expiresAt: '9999-12-31T23:59:59.000Z',
      personal: { handle: tenantId, leadId: 'lead_0000000000aaaaaaaaaa' },
    });
    const calls: string[] = [];
    store.governance.orders.onConversion({
      check: async () => void calls.push('check'),
      bind: async (_order, _by, undo) => void calls.push(`bind:${undo}`),
      complete: async () => void calls.push('complete'),
      applied: async () => void calls.push('applied'),
      ...steps,
    });
    const order = await store.governance.orders.create(
      {
        tenantId,
        plan: 'standard',
        months: 12,
        amount: 990,
        conversion: {
          leadId: 'lead_0000000000aaaaaaaaaa',
          hosts: [`${tenantId}.example.com`],
          adminUsername: 'owner',
          adminPasswordHash: 'scrypt$test',
        },
      },
      by,
    );
    return { tenantId, orderId: order.id, calls };
  }

  it('checks first, binds, renews, completes, and marks the order paid last', async () => {
    const { orderId, calls } = await conversionOrder({});
    const paid = await store.governance.orders.confirmPayment(orderId, by);
    expect(paid.order.status).toBe('paid');
    expect(calls).toEqual(['check', 'bind:true', 'complete', 'applied']);
  });

  it('writes nothing when a check refuses', async () => {
    const { tenantId, orderId } = await conversionOrder({
      check: () => Promise.reject(new OrderStateError('the admin name is taken')),
    });
    const before = await store.governance.registry.get(tenantId);
    const writes = store.writes();
    await expect(store.governance.orders.confirmPayment(orderId, by)).rejects.toThrow(
      'the admin name is taken',
    );
    expect(store.writes()).toBe(writes);
    expect((await store.governance.orders.get(orderId)).status).toBe('pending');
    expect((await store.governance.registry.get(tenantId)).expiresAt).toBe(before.expiresAt);
  });

  it('puts the order back to pending, the tenant untouched, when a write is refused after the checks', async () => {
    const { tenantId, orderId, calls } = await conversionOrder({
      bind: () => Promise.reject(new OrderStateError('the host was taken meanwhile')),
    });
    const before = await store.governance.registry.get(tenantId);
    await expect(store.governance.orders.confirmPayment(orderId, by)).rejects.toThrow('taken meanwhile');
    const order = await store.governance.orders.get(orderId);
    expect(order.status).toBe('pending');
    expect(order.confirmedAt).toBeUndefined();
    expect(order.newExpiry).toBeUndefined();
    const tenant = await store.governance.registry.get(tenantId);
    expect(tenant).toMatchObject({ expiresAt: before.expiresAt, plan: 'free', status: before.status });
    expect(await store.governance.registry.hasApplied(tenantId, orderId)).toBe(false);
    expect(calls).toEqual(['check']);
  });
});
