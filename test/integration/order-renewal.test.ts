/**
 * A pending order says what paying it will do to its tenant's expiry (`renewal`: from, to) in the
 * answer that creates it, in the order center's list and in its own answer — so an operator sees,
 * before confirming a 12-month order on a tenant created with a year already given, that it runs
 * the tenant two years. The payment then moves the expiry exactly as previewed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMonths } from '../../functions/core/governance/dates.ts';
import { caller, HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';

const PASSWORD = 'order-renewal-suite-password';
let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe('an order before its payment', () => {
  it('shows the expiry it moves from and to, and paying moves it exactly so', async () => {
    const admin = caller(t, HOSTS.admin, await t.login(HOSTS.admin, 'admin'));
    const expiresAt = new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString();
    const tenant = await admin('POST', '/api/tenants', {
      id: 'yearling',
      name: 'Yearling',
      plan: 'standard',
      hosts: ['yearling.localhost'],
      expiresAt,
    });
    expect(tenant.status, tenant.text).toBe(201);
    expect(tenant.body.expiresAt).toBe(expiresAt);

    const created = await admin('POST', '/api/orders', {
      tenantId: 'yearling',
      plan: 'standard',
      months: 12,
      amount: 1200,
    });
    expect(created.status, created.text).toBe(201);
    const renewal = { previousExpiry: expiresAt, newExpiry: addMonths(expiresAt, 12) };
    expect(created.body).toMatchObject({ status: 'pending', renewal });
    // Two years from now: the year given at creation, and the year paid for.
    expect(Date.parse(renewal.newExpiry) - Date.now()).toBeGreaterThan(729 * 24 * 3600 * 1000);

    const listed = await admin('GET', '/api/orders');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items.find((order: { id: string }) => order.id === created.body.id)).toMatchObject({
      renewal,
    });
    const one = await admin('GET', `/api/orders/${created.body.id}`);
    expect(one.body).toMatchObject({ renewal });

    // Moving the tenant's expiry before the payment moves the preview with it.
    const sooner = new Date(Date.now() + 2 * 24 * 3600 * 1000).toISOString();
    expect((await admin('PATCH', '/api/tenants/yearling', { expiresAt: sooner })).status).toBe(200);
    const moved = await admin('GET', `/api/orders/${created.body.id}`);
    expect(moved.body.renewal).toEqual({ previousExpiry: sooner, newExpiry: addMonths(sooner, 12) });

    const paid = await admin('POST', `/api/orders/${created.body.id}/confirm-payment`);
    expect(paid.status, paid.text).toBe(200);
    expect(paid.body).toMatchObject({
      status: 'paid',
      previousExpiry: sooner,
      newExpiry: addMonths(sooner, 12),
    });
    expect(paid.body.renewal).toBeUndefined();
    expect((await admin('GET', '/api/tenants/yearling')).body.expiresAt).toBe(addMonths(sooner, 12));
  });
});
