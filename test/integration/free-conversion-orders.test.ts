/**
 * A free space's conversion order over real HTTP, as the new-user trial found it broken: the lead
 * shows its pending conversion order (so a reloaded console page offers its Confirm payment, not a
 * second order); a second conversion of the same lead is refused while one is pending or paid; and
 * a confirmation that can no longer be applied (its admin name or a host taken since it was ordered)
 * is refused with a 409 problem and changes nothing: the order stays unpaid, no host is bound, the
 * expiry stays, no `order.paid` is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantDomain } from '../../functions/core/governance/acting.ts';
import { addresses, signUp } from '../support/free.ts';
import {
  caller,
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'demo-password-for-conversion-orders';
const SPACE_PASSWORD = 'a long personal passphrase';
const ADMIN_PASSWORD = 'the first admin passphrase';

let t: TestPlatform;
let admin: ReturnType<typeof caller>;
const address = addresses(120);

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  admin = caller(t, HOSTS.admin, await t.login(HOSTS.admin, 'admin'));
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

/** Signs `handle` up and answers its lead's id. */
async function leadOf(handle: string): Promise<string> {
  const signed = await signUp(
    t,
    { handle, email: `${handle}@example.com`, password: SPACE_PASSWORD, templates: [] },
    address(),
  );
  expect(signed.status, signed.text).toBe(201);
  const list = await admin('GET', `/api/free/leads?q=${handle}`);
  expect(list.status, list.text).toBe(200);
  const lead = list.body.items.find((item: { handle: string }) => item.handle === handle);
  expect(lead).toBeDefined();
  return String(lead.id);
}

function orderConversion(leadId: string, host: string, username: string) {
  return admin('POST', `/api/free/leads/${leadId}/conversion`, {
    plan: 'standard',
    months: 12,
    amount: 990,
    hosts: [host],
    admin: { username, password: ADMIN_PASSWORD },
  });
}

/** Every public audit entry of `action` (newest first). */
async function audited(action: string): Promise<{ target: string; details: Record<string, unknown> }[]> {
  const page = await admin('GET', `/api/audit?action=${action}&limit=100`);
  expect(page.status, page.text).toBe(200);
  return page.body.items;
}

/** What a refused confirmation must not have changed. */
async function expectUntouched(
  orderId: string,
  tenantId: string,
  before: { expiresAt: string; hosts: string[] },
) {
  const order = await admin('GET', `/api/orders/${orderId}`);
  expect(order.status, order.text).toBe(200);
  expect(order.body.status).toBe('pending');
  expect(order.body.paidAt).toBeUndefined();
  const tenant = await t.core.tenants.get(tenantId);
  expect(tenant.expiresAt).toBe(before.expiresAt);
  expect([...tenant.hosts].sort()).toEqual([...before.hosts].sort());
  expect(tenant.plan).toBe('free');
  expect(tenant.personal?.convertedAt).toBeUndefined();
  expect((await audited('order.paid')).filter((entry) => entry.target === `order:${orderId}`)).toEqual([]);
  expect(
    (await audited('tenant.host.added')).filter((entry) => entry.target === `tenant:${tenantId}`),
  ).toEqual([]);
  const ledger = await admin('GET', '/api/orders?limit=100');
  expect(
    ledger.body.items.filter(
      (item: { tenantId: string; status: string }) => item.tenantId === tenantId && item.status === 'paid',
    ),
  ).toEqual([]);
}

describe('a free space’s conversion order', () => {
  it('is shown with its lead after a reload, and a second one is refused while it is pending or paid', async () => {
    const leadId = await leadOf('ada');
    const first = await orderConversion(leadId, 'lovelace.localhost', 'ada-admin');
    expect(first.status, first.text).toBe(201);

    // The console's lead page, reloaded: the pending order comes with the lead.
    const reloaded = await admin('GET', `/api/free/leads/${leadId}`);
    expect(reloaded.status, reloaded.text).toBe(200);
    expect(reloaded.body).toMatchObject({
      status: 'active',
      conversionOrderId: first.body.id,
      conversionOrder: { id: first.body.id, status: 'pending', plan: 'standard', amount: 990 },
    });

    const second = await orderConversion(leadId, 'lovelace2.localhost', 'ada-admin');
    expectProblem(second, 409, 'second conversion while one is pending');
    expect(second.body.type).toBe(problemType('lead-state'));
    expect(second.body.detail ?? second.body.title).toContain(first.body.id);
    expect(second.body.orderId).toBe(first.body.id);
    expect((await admin('GET', `/api/free/leads/${leadId}`)).body.conversionOrderId).toBe(first.body.id);

    const paid = await admin('POST', `/api/orders/${first.body.id}/confirm-payment`);
    expect(paid.status, paid.text).toBe(200);
    expect(paid.body.status).toBe('paid');
    const converted = await admin('GET', `/api/free/leads/${leadId}`);
    expect(converted.body).toMatchObject({
      status: 'converted',
      orderId: first.body.id,
      conversionOrder: { id: first.body.id, status: 'paid' },
    });
    const third = await orderConversion(leadId, 'lovelace3.localhost', 'ada-admin3');
    expectProblem(third, 409, 'conversion of a converted lead');
    const paidOrders = (await admin('GET', '/api/orders?limit=100')).body.items.filter(
      (item: { tenantId: string; status: string }) => item.tenantId === 'p-ada' && item.status === 'paid',
    );
    expect(paidOrders).toHaveLength(1);
  }, 120_000);

  it('refuses a confirmation whose admin name was taken since, and changes nothing', async () => {
    const leadId = await leadOf('grace-h');
    const ordered = await orderConversion(leadId, 'hopper.localhost', 'grace-admin');
    expect(ordered.status, ordered.text).toBe(201);
    const tenantId = 'p-grace-h';
    const before = await t.core.tenants.get(tenantId);
    // Someone in the space takes the name before the payment is confirmed.
    await t.core.directory.createUser(tenantDomain(before), {
      username: 'grace-admin',
      password: 'somebody else’s passphrase',
      roles: ['admin'],
    });

    const refused = await admin('POST', `/api/orders/${ordered.body.id}/confirm-payment`);
    expectProblem(refused, 409, 'confirmation with a taken admin name');
    expect(refused.body.type).toBe(problemType('conversion-conflict'));
    expect(refused.body.detail ?? refused.body.title).toContain('grace-admin');
    await expectUntouched(ordered.body.id, tenantId, {
      expiresAt: before.expiresAt,
      hosts: [...before.hosts],
    });
    // Its host is still free: another tenant may take it.
    expect((await t.send({ host: 'hopper.localhost', path: '/api/health' })).status).toBe(404);
    // A replay is refused the same way and still changes nothing.
    expectProblem(await admin('POST', `/api/orders/${ordered.body.id}/confirm-payment`), 409, 'replay');
    await expectUntouched(ordered.body.id, tenantId, {
      expiresAt: before.expiresAt,
      hosts: [...before.hosts],
    });

    // Cancelled, it frees the lead for a conversion that can be applied.
    const cancelled = await admin('POST', `/api/orders/${ordered.body.id}/cancel`);
    expect(cancelled.status, cancelled.text).toBe(200);
    const again = await orderConversion(leadId, 'hopper.localhost', 'grace-owner');
    expect(again.status, again.text).toBe(201);
    const paid = await admin('POST', `/api/orders/${again.body.id}/confirm-payment`);
    expect(paid.status, paid.text).toBe(200);
    expect((await t.core.tenants.get(tenantId)).hosts).toContain('hopper.localhost');
  }, 120_000);

  it('refuses a confirmation whose host was bound elsewhere since, and changes nothing', async () => {
    const leadId = await leadOf('babbage');
    const ordered = await orderConversion(leadId, 'engine.localhost', 'charles');
    expect(ordered.status, ordered.text).toBe(201);
    const before = await t.core.tenants.get('p-babbage');
    const taken = await admin('POST', '/api/tenants/globex/hosts', { host: 'engine.localhost' });
    expect(taken.status, taken.text).toBeLessThan(300);

    const refused = await admin('POST', `/api/orders/${ordered.body.id}/confirm-payment`);
    expectProblem(refused, 409, 'confirmation with a taken host');
    expect(refused.body.type).toBe(problemType('conversion-conflict'));
    await expectUntouched(ordered.body.id, 'p-babbage', {
      expiresAt: before.expiresAt,
      hosts: [...before.hosts],
    });
    expect(await t.core.directory.getUser(tenantDomain(before), 'charles')).toBeNull();
  }, 120_000);
});
