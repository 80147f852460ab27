/**
 * Gaps a new user's trial of the governance console found, in a real browser: an HTTP resource's
 * credential button says "Set" until there is one to replace; its trial starts on a path it allows
 * and a refused path says why by the field; a new tenant admin is confirmed by its form with the
 * sign-in address on the platform's port; an existing tenant is linked to a customer (and unlinked)
 * from the tenant's page and the customer's, which say what the ledger holds; a payment confirmation
 * that stopped part-way (the order left `paying`) is finished from the order center.
 */
import { describe, expect, it } from 'vitest';
import { OrderRepository } from '../../functions/core/governance/order-repository.ts';
import { browserSuite, screenshot, signIn } from './support.ts';

const PASSWORD = 'e2e-console-trial-password';
const ADMIN = 'admin.localhost';

let admin: string;
let port: number;
let orders: OrderRepository;

const { page, api, signedIn } = browserSuite(PASSWORD, async (suite) => {
  port = suite.port;
  admin = await suite.platform.login(ADMIN, 'admin');
  orders = new OrderRepository(suite.platform.core.table);
});

/** A new tenant on `<id>.localhost`, created through the API. */
async function tenant(id: string, name: string): Promise<void> {
  const created = await api(ADMIN, admin, 'POST', '/api/tenants', {
    id,
    name,
    plan: 'standard',
    hosts: [`${id}.localhost`],
    expiresAt: new Date(Date.now() + 300 * 24 * 3600 * 1000).toISOString(),
  });
  expect(created.status, created.text).toBe(201);
}

/** A new HTTP resource, created through the API; its id. */
async function resource(name: string, paths: readonly string[]): Promise<string> {
  const created = await api(ADMIN, admin, 'POST', '/api/http-resources', {
    name,
    baseUrl: 'https://api.example.com',
    methods: ['GET'],
    paths,
    writeAllowed: false,
    auth: { scheme: 'bearer' },
  });
  expect(created.status, created.text).toBe(201);
  return String(created.body.id);
}

describe("an HTTP resource's credential", () => {
  it('is set while there is none, and replaced once there is one', async () => {
    await resource('Billing API', ['/invoices/*']);
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/http-resources', 'admin');
    const card = tab.getByRole('article', { name: 'Billing API' });
    await card.getByText(/credential not set/).waitFor();
    expect(await card.getByRole('button', { name: 'Replace credential' }).count()).toBe(0);
    await card.getByLabel('New credential').fill('billing-token-1');
    await card.getByRole('button', { name: 'Set credential' }).click();
    await tab.getByText('Credential of Billing API set.').waitFor();
    await card.getByText(/credential set/).waitFor();
    expect(await card.getByRole('button', { name: 'Set credential' }).count()).toBe(0);
    await card.getByLabel('New credential').fill('billing-token-2');
    await card.getByRole('button', { name: 'Replace credential' }).click();
    await tab.getByText('Credential of Billing API replaced.').waitFor();
  });
});

describe("an HTTP resource's trial", () => {
  it('starts on a path the resource allows, and says by the field why the API refused one', async () => {
    await resource('Invoices API', ['/invoices/*', '/invoices/*/lines/**']);
    await resource('Status API', ['/v1/*', '/status']);
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/http-resources', 'admin');
    // The first literal path when there is one; else the first pattern up to its wildcard, to complete.
    const status = tab.getByRole('article', { name: 'Status API' });
    expect(await status.getByLabel('Trial path').inputValue()).toBe('/status');
    const card = tab.getByRole('article', { name: 'Invoices API' });
    const path = card.getByLabel('Trial path');
    expect(await path.inputValue()).toBe('/invoices/');
    expect(
      await card.locator(`#${(await path.getAttribute('aria-describedby'))?.split(' ')[0]}`).textContent(),
    ).toContain('/invoices/*');

    // Left incomplete, the API refuses it (422): the reason is by the field, which says it is invalid.
    await card.getByRole('button', { name: 'Trial run' }).click();
    const reason = card.getByRole('alert').filter({ hasText: 'outside the paths this resource allows' });
    await reason.waitFor();
    expect(await path.getAttribute('aria-invalid')).toBe('true');
    expect((await path.getAttribute('aria-describedby'))?.split(' ')).toContain(
      await reason.getAttribute('id'),
    );
    // Editing the path clears the reason.
    await path.fill('/invoices/42');
    await reason.waitFor({ state: 'detached' });
    expect(await path.getAttribute('aria-invalid')).toBeNull();
  });
});

describe("a tenant's first admin", () => {
  it('is confirmed by the form, with the address to sign in at on the platform port, which works', async () => {
    await tenant('umbrella', 'Umbrella');
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/tenants/umbrella', 'admin');
    const section = tab.getByRole('region', { name: 'Tenant admin' });
    await section.getByLabel('Admin username').fill('carol');
    await section.getByLabel(/^Admin password/).fill('umbrella-admin-password');
    await section.getByRole('button', { name: 'Create admin' }).click();
    const url = `http://umbrella.localhost:${port}/`;
    const notice = section.getByRole('status');
    await notice.waitFor();
    expect(await notice.textContent()).toBe(`Admin carol created: they sign in at ${url}.`);
    expect(await notice.getByRole('link', { name: url }).getAttribute('href')).toBe(url);
    // Said once, by the form: not again at the top of the page.
    expect(await tab.getByText('Admin carol created').count()).toBe(1);

    const { page: other } = await page();
    await other.goto(url);
    await signIn(other, 'carol', 'umbrella-admin-password');
  });
});

describe('linking an existing tenant to a customer', () => {
  it("is done from the tenant's page and the customer's, which unlinks too; the ledger holds the orders from the link on", async () => {
    await tenant('initrode', 'Initrode');
    const customer = await api(ADMIN, admin, 'POST', '/api/customers', { name: 'Initrode Holdings' });
    expect(customer.status, customer.text).toBe(201);
    const customerId = String(customer.body.id);
    const tenantCustomer = async () =>
      (await api(ADMIN, admin, 'GET', '/api/tenants/initrode')).body.customerId;
    /** A paid order of initrode, through the API. */
    const paidOrder = async (amount: number) => {
      const order = await api(ADMIN, admin, 'POST', '/api/orders', {
        tenantId: 'initrode',
        plan: 'standard',
        months: 1,
        amount,
        currency: 'USD',
      });
      expect(order.status, order.text).toBe(201);
      const paid = await api(ADMIN, admin, 'POST', `/api/orders/${order.body.id}/confirm-payment`);
      expect(paid.status, paid.text).toBe(200);
    };
    // Paid before the tenant belongs to the customer: never in its ledger.
    await paidOrder(111);

    // The tenant's page: its subscription form takes a customer, and says what the ledger will hold.
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/tenants/initrode', 'admin');
    const subscription = tab.getByRole('region', { name: 'Subscription' });
    const field = subscription.getByLabel('Customer');
    expect(await field.inputValue()).toBe('');
    expect(await subscription.getByText('earlier orders stay out of it').count()).toBe(1);
    await field.selectOption({ label: 'Initrode Holdings' });
    await subscription.getByRole('button', { name: 'Save changes' }).click();
    await tab
      .getByText(/now belongs to Initrode Holdings\. .*orders created before it stay out of that ledger/)
      .waitFor();
    expect(await tenantCustomer()).toBe(customerId);
    // The form is filled again from the saved tenant, a moment after the message.
    await expect.poll(() => subscription.getByLabel('Customer').inputValue()).toBe(customerId);
    expect(await subscription.getByRole('link', { name: 'Initrode Holdings' }).getAttribute('href')).toBe(
      `/customers/${customerId}`,
    );

    // The customer's page lists it, with the link in the ledger and not the earlier payment.
    await paidOrder(222);
    await tab.goto(`http://${ADMIN}:${port}/customers/${customerId}`);
    const tenants = tab.getByRole('region', { name: 'Tenants' });
    const row = tenants.getByRole('row', { name: /Initrode/ });
    await row.waitFor();
    const ledger = tab.getByRole('region', { name: 'Ledger' });
    await ledger.getByText('tenant-linked').waitFor();
    await ledger.getByText(/Payment of 222 USD confirmed/).waitFor();
    expect(await ledger.getByText(/Payment of 111 USD/).count()).toBe(0);
    expect(await ledger.textContent()).toContain('those from before a tenant was linked are not');
    await screenshot(tab, 'console-customer-tenants');

    // Unlinked there, after a confirmation; the ledger records it.
    await row.getByRole('button', { name: 'Unlink Initrode' }).click();
    const dialog = tab.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Unlink Initrode from Initrode Holdings?' }).waitFor();
    await dialog.getByRole('button', { name: 'Unlink', exact: true }).click();
    await tenants.getByText('Initrode unlinked.').waitFor();
    await tenants.getByText('No tenants linked to this customer.').waitFor();
    await ledger.getByText('tenant-unlinked').waitFor();
    expect(await tenantCustomer()).toBeUndefined();

    // And linked again from there.
    await tenants.getByLabel('Link a tenant').selectOption({ label: 'Initrode' });
    await tenants.getByRole('button', { name: 'Link tenant' }).click();
    await tenants
      .getByText(/^Initrode linked\. .*orders created before it stay out of that ledger/)
      .waitFor();
    await row.waitFor();
    expect(await tenantCustomer()).toBe(customerId);
    expect(await ledger.getByText('tenant-linked').count()).toBe(2);
  });
});

describe('a payment confirmation that stopped part-way', () => {
  it('is finished from the order center, and the renewal is applied once', async () => {
    await tenant('hooli', 'Hooli');
    const before = String((await api(ADMIN, admin, 'GET', '/api/tenants/hooli')).body.expiresAt);
    const created = await api(ADMIN, admin, 'POST', '/api/orders', {
      tenantId: 'hooli',
      plan: 'standard',
      months: 2,
      amount: 480,
      currency: 'USD',
    });
    expect(created.status, created.text).toBe(201);
    const orderId = String(created.body.id);
    // A confirmation whose process died after its first step: the order is `paying`, nothing applied.
    const renewed = new Date(before);
    renewed.setUTCMonth(renewed.getUTCMonth() + 2);
    const paying = await orders.markPaying(
      orderId,
      {
        previousExpiry: before,
        previousStatus: 'active',
        newExpiry: renewed.toISOString(),
        newStatus: 'active',
      },
      new Date().toISOString(),
      'admin',
    );
    expect(paying).toBe(true);

    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/customers', 'admin');
    const row = tab.getByRole('region', { name: 'Orders' }).getByRole('row', { name: /Hooli/ });
    await row.getByText('confirmation not finished').waitFor();
    // Neither confirmed again from the start nor cancelled: only finished.
    expect(await row.getByRole('button', { name: 'Confirm payment' }).count()).toBe(0);
    expect(await row.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    await row.getByRole('button', { name: 'Finish confirmation' }).click();
    const dialog = tab.getByRole('dialog');
    expect(await dialog.textContent()).toContain('did not finish');
    expect(await dialog.textContent()).toContain('Hooli is renewed for 2 months on the standard plan once');
    await screenshot(tab, 'console-order-finish-confirmation');
    await dialog.getByRole('button', { name: 'Finish confirmation' }).click();
    await tab.getByText(/Payment confirmed; Hooli now runs until/).waitFor();
    await row.getByRole('cell', { name: 'paid' }).waitFor();

    const order = await api(ADMIN, admin, 'GET', `/api/orders/${orderId}`);
    expect(order.body.status).toBe('paid');
    const after = await api(ADMIN, admin, 'GET', '/api/tenants/hooli');
    expect(after.body.expiresAt).toBe(renewed.toISOString());
  });
});
