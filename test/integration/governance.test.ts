/**
 * The public governance domain end to end, over real HTTP against the embedded platform: tenants
 * and host bindings, customer ledgers, the order center, the lifecycle scans driven with a given
 * `now` (order → payment → expiry extension → reminders → grace → suspension → renewal), replays
 * that change nothing, platform announcements, the platform audit, and isolation: none of it is
 * reachable by a tenant user or on a tenant host.
 */

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromEnv } from '../../functions/clients/dynamodb.ts';
import { builtCore } from '../../functions/core/assembly/sign-in.ts';
import { ENV, requireEnv } from '../../functions/core/env.ts';
import { UnknownHostError } from '../../functions/core/errors.ts';
import { addMonths, DAY_MS, GRACE_PERIOD_DAYS } from '../../functions/core/governance/dates.ts';
import { runScan as runCoreScan } from '../../functions/core/governance/lifecycle.ts';
import { lifecyclePartition, lifecycleSort, tenantKey } from '../../functions/core/keys.ts';
import { type Core, createCore } from '../../functions/core/platform.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { Router } from '../../functions/http/router.ts';
import { governanceDomainRoutes } from '../../functions/http/routes/governance.ts';
import { tenantRoutes } from '../../functions/tenant-api/routes.ts';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call, type TestRequest, type TestResponse } from '../support/http.ts';
import { signIn } from '../support/session.ts';

const PASSWORD = 'governance-suite-password-1';
const ADMIN = 'admin.localhost';
const ACME = 'acme.localhost';
const FREE = 'free.localhost';
const HOUR_MS = 3_600_000;

let platform: LocalPlatform;
let core: Core;
let adminToken = '';
let aliceToken = '';
/** Real time at the start; every simulated `now` is derived from it. */
const REAL_NOW = Date.now();

function send(request: TestRequest): Promise<TestResponse> {
  return call(platform.url, request);
}

function admin(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return send({
    host: ADMIN,
    method,
    path,
    token: adminToken,
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

function login(host: string, username: string): Promise<string> {
  return signIn(platform.url, host, username, PASSWORD);
}

function expectProblem(response: TestResponse, status: number | number[], type?: string) {
  const statuses = typeof status === 'number' ? [status] : status;
  expect(statuses, `${response.status} ${response.text}`).toContain(response.status);
  expect(response.headers['content-type']).toBe('application/problem+json');
  expect(response.body.status).toBe(response.status);
  if (type !== undefined) expect(response.body.type).toBe(`urn:execfabric:problem:${type}`);
}

/**
 * A scan as of `now`: through the API when that instant has come, else through the core's scans
 * (the code the schedules run), since the API refuses a future "as of" (lifecycle.test.ts).
 */
async function runScan(scan: 'renewal-reminder' | 'expiry-shutdown', now: number) {
  if (now > Date.now()) {
    const result = await runCoreScan(core.governance.scans, scan, { now: new Date(now) });
    return result as { scanned: number; changed: { tenantId: string; action: string }[] };
  }
  const response = await admin('POST', '/api/lifecycle/run', { scan, now: new Date(now).toISOString() });
  expect(response.status, response.text).toBe(200);
  expect(typeof response.body.scanned).toBe('number');
  expect(Array.isArray(response.body.changed)).toBe(true);
  return response.body as { scanned: number; changed: { tenantId: string; action: string }[] };
}

function actionsFor(result: { changed: { tenantId: string; action: string }[] }, tenantId: string) {
  return result.changed.filter((change) => change.tenantId === tenantId).map((change) => change.action);
}

async function tenant(id: string) {
  const response = await admin('GET', `/api/tenants/${id}`);
  expect(response.status, response.text).toBe(200);
  return response.body;
}

async function rawTenantItem(id: string) {
  const result = await core.table.client.send(
    new GetCommand({ TableName: core.table.name, Key: tenantKey(id), ConsistentRead: true }),
  );
  return result.Item ?? {};
}

beforeAll(async () => {
  platform = await startLocalPlatform({
    port: 0,
    dataDir: null,
    schedules: false,
    demoPassword: PASSWORD,
    log: () => undefined,
  });
  core = createCore({
    table: tableFromEnv(platform.env),
    tokenSecret: requireEnv(ENV.tokenSecret, platform.env),
    env: platform.env,
  });
  [adminToken, aliceToken] = await Promise.all([login(ADMIN, 'admin'), login(ACME, 'alice')]);
});

afterAll(async () => {
  core?.table.client.destroy();
  await platform?.stop();
});

describe('tenants and hosts', () => {
  it('creates a tenant whose new host serves its own /api/health', async () => {
    const created = await admin('POST', '/api/tenants', {
      id: 'hooli',
      name: 'Hooli',
      plan: 'standard',
      hosts: ['hooli.localhost'],
      expiresAt: new Date(REAL_NOW + 300 * DAY_MS).toISOString(),
      deliveryMode: 'dedicated',
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      id: 'hooli',
      name: 'Hooli',
      plan: 'standard',
      status: 'active',
      hosts: ['hooli.localhost'],
      deliveryMode: 'dedicated',
    });

    const health = await send({ host: 'hooli.localhost', path: '/api/health' });
    expect(health.status).toBe(200);
    expect(health.body).toEqual({
      status: 'ok',
      domain: 'tenant',
      tenant: { id: 'hooli', name: 'Hooli', status: 'active' },
    });

    const read = await tenant('hooli');
    expect(Object.keys(read)).toEqual(
      expect.arrayContaining(['id', 'name', 'plan', 'status', 'hosts', 'expiresAt', 'deliveryMode']),
    );
    // Locally a *.localhost host reaches this machine at once: onboarded, nothing to create in DNS.
    expect(created.body.domains).toEqual([
      expect.objectContaining({ host: 'hooli.localhost', state: 'active', certificate: 'local', dns: [] }),
    ]);
    expect(read.domains).toEqual([expect.objectContaining({ host: 'hooli.localhost', state: 'active' })]);
  });

  it('binds a host that does not reach this machine yet, says what DNS needs, and never fails the tenant', async () => {
    const created = await admin('POST', '/api/tenants', {
      id: 'pending-dns-co',
      name: 'Pending DNS Co',
      plan: 'standard',
      hosts: ['pending.localhost', 'shop.pending-dns.invalid'],
      expiresAt: new Date(REAL_NOW + 300 * DAY_MS).toISOString(),
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.status).toBe('active');
    const waiting = (created.body.domains as { host: string }[]).find(
      (domain) => domain.host === 'shop.pending-dns.invalid',
    );
    expect(waiting).toMatchObject({
      state: 'pending-dns',
      code: 'dns-missing',
      dns: [expect.objectContaining({ type: 'A', name: 'shop.pending-dns.invalid', value: '127.0.0.1' })],
    });
    // Its *.localhost host serves at once; the tenant does not wait for the other.
    expect((await send({ host: 'pending.localhost', path: '/api/health' })).status).toBe(200);

    const one = await admin('GET', '/api/tenants/pending-dns-co/hosts/shop.pending-dns.invalid');
    expect(one.status, one.text).toBe(200);
    expect(one.body.state).toBe('pending-dns');
    const retried = await admin('POST', '/api/tenants/pending-dns-co/hosts/shop.pending-dns.invalid/retry');
    expect(retried.status, retried.text).toBe(200);
    expect(retried.body).toMatchObject({ state: 'pending-dns', attempts: 2 });
    const served = await admin('POST', '/api/tenants/pending-dns-co/hosts/pending.localhost/retry');
    expectProblem(served, 409);
    // Another tenant's host, or an unbound one, is not this tenant's to look at.
    expectProblem(await admin('GET', '/api/tenants/pending-dns-co/hosts/acme.localhost'), 404, 'not-found');
    expectProblem(
      await admin('POST', '/api/tenants/pending-dns-co/hosts/acme.localhost/retry'),
      404,
      'not-found',
    );
    const list = await admin('GET', '/api/tenants/pending-dns-co/hosts');
    expect(list.body.items.map((item: { host: string }) => item.host).sort()).toEqual([
      'pending.localhost',
      'shop.pending-dns.invalid',
    ]);
    const added = await admin('POST', '/api/tenants/pending-dns-co/hosts', {
      host: 'Second.Pending.localhost',
    });
    expect(added.status, added.text).toBe(201);
    expect(added.body.host).toMatchObject({ host: 'second.pending.localhost', state: 'active' });
  });

  it('lists the platform’s own hosts, onboarded like any other', async () => {
    const hosts = await admin('GET', '/api/platform/hosts');
    expect(hosts.status, hosts.text).toBe(200);
    expect(hosts.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          host: ADMIN,
          owner: { domain: 'public', surface: 'governance' },
          state: 'active',
        }),
        expect.objectContaining({
          host: FREE,
          owner: { domain: 'public', surface: 'free' },
          state: 'active',
        }),
      ]),
    );
    expectProblem(await admin('POST', `/api/platform/hosts/${ACME}/retry`), 404);
    expectProblem(await admin('POST', `/api/platform/hosts/${ADMIN}/retry`), 409);
    const denied = await send({ host: ACME, method: 'GET', path: '/api/platform/hosts', token: aliceToken });
    expectProblem(denied, [401, 403, 404]);
  });

  it('refuses a host bound anywhere else with 409, leaving nothing behind', async () => {
    const duplicate = await admin('POST', '/api/tenants', {
      id: 'copycat',
      name: 'Copycat',
      plan: 'standard',
      hosts: ['copycat.localhost', 'acme.localhost'],
      expiresAt: new Date(REAL_NOW + 30 * DAY_MS).toISOString(),
    });
    expectProblem(duplicate, 409, 'conflict');
    expectProblem(await admin('GET', '/api/tenants/copycat'), 404);
    await expect(core.hosts.resolve('copycat.localhost')).rejects.toBeInstanceOf(UnknownHostError);

    expectProblem(await admin('POST', '/api/tenants/hooli/hosts', { host: 'globex.localhost' }), 409);
    expectProblem(await admin('POST', '/api/tenants/hooli/hosts', { host: ADMIN }), 409);
    expect((await send({ host: 'globex.localhost', path: '/api/health' })).body.tenant.id).toBe('globex');
  });

  it('adds and removes hosts, each a binding unique across the platform', async () => {
    const added = await admin('POST', '/api/tenants/hooli/hosts', { host: 'www.Hooli.localhost' });
    expect(added.status, added.text).toBe(201);
    expect(added.body.hosts).toEqual(['hooli.localhost', 'www.hooli.localhost']);
    expect((await send({ host: 'www.hooli.localhost', path: '/api/health' })).body.tenant.id).toBe('hooli');
    // Adding it again is a no-op; removing the last host is refused.
    expect(
      (await admin('POST', '/api/tenants/hooli/hosts', { host: 'www.hooli.localhost' })).body.hosts,
    ).toHaveLength(2);

    const removed = await admin('DELETE', '/api/tenants/hooli/hosts/hooli.localhost');
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body.hosts).toEqual(['www.hooli.localhost']);
    await expect(core.hosts.resolve('hooli.localhost')).rejects.toBeInstanceOf(UnknownHostError);
    expectProblem(await admin('DELETE', '/api/tenants/hooli/hosts/hooli.localhost'), 404);
    expectProblem(await admin('DELETE', '/api/tenants/hooli/hosts/www.hooli.localhost'), 409);

    // The freed host can be bound again, by another tenant.
    const reused = await admin('POST', '/api/tenants', {
      id: 'piedpiper',
      name: 'Pied Piper',
      plan: 'standard',
      hosts: ['hooli.localhost'],
      expiresAt: new Date(REAL_NOW + 300 * DAY_MS).toISOString(),
    });
    expect(reused.status, reused.text).toBe(201);
  });

  it('moves the lifecycle index entry with expiresAt and status, and checks status changes', async () => {
    const expiresAt = new Date(REAL_NOW + 200 * DAY_MS).toISOString();
    const patched = await admin('PATCH', '/api/tenants/hooli', { expiresAt, plan: 'enterprise' });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ expiresAt, plan: 'enterprise' });
    expect((await rawTenantItem('hooli')).GSI2SK).toBe(lifecycleSort(expiresAt, 'hooli'));

    const archived = await admin('PATCH', '/api/tenants/piedpiper', { status: 'archived' });
    expect(archived.body.status).toBe('archived');
    // No scan has anything left to do to an archived tenant: it leaves the lifecycle index.
    expect((await rawTenantItem('piedpiper')).GSI2PK).toBeUndefined();
    expectProblem(
      await admin('PATCH', '/api/tenants/piedpiper', { status: 'active' }),
      409,
      'invalid-transition',
    );
    expect((await admin('PATCH', '/api/tenants/piedpiper', { status: 'suspended' })).body.status).toBe(
      'suspended',
    );
    // Grace is the time after an expiry: a tenant that runs for 200 more days is not put in it (its
    // pages said "expired on" a day to come); it may be suspended now instead.
    const early = await admin('PATCH', '/api/tenants/hooli', { status: 'grace' });
    expectProblem(early, 409, 'invalid-transition');
    expect(early.body.detail).toMatch(
      /^A tenant enters grace once its subscription has expired; hooli runs until/,
    );
    expect(early.body.expiresAt).toBe(expiresAt);
    expect((await admin('GET', '/api/tenants/hooli')).body.status).toBe('active');
  });

  it('pages the tenant listing with cursors', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await admin(
        'GET',
        `/api/tenants?limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.status, page.text).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((item: { id: string }) => item.id));
      cursor = page.body.cursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(expect.arrayContaining(['acme', 'globex', 'hooli', 'piedpiper']));
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('the order → payment → reminder → grace → suspension → renewal cycle', () => {
  // Noon UTC, so `expiry ± a few hours` stays on the expiry's day and a replay re-reads its bucket.
  const E0 = Math.floor(REAL_NOW / DAY_MS) * DAY_MS + 40 * DAY_MS + 12 * HOUR_MS;
  let customerId = '';
  let ianToken = '';
  let billToken = '';
  let expiry = '';

  async function ianAnnouncements(): Promise<{ id: string; title: string; source: string }[]> {
    const response = await send({
      host: 'initech.localhost',
      path: '/api/announcements?limit=100',
      token: ianToken,
    });
    expect(response.status, response.text).toBe(200);
    return response.body.items;
  }

  async function ledger(): Promise<{ kind: string; id: string; at: string }[]> {
    const items: { kind: string; id: string; at: string }[] = [];
    let cursor: string | undefined;
    do {
      const page = await admin(
        'GET',
        `/api/customers/${customerId}/ledger?limit=3${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.status, page.text).toBe(200);
      items.push(...page.body.items);
      cursor = page.body.cursor;
    } while (cursor !== undefined);
    return items;
  }

  async function order(body: Record<string, unknown>, token = adminToken) {
    const response = await send({ host: ADMIN, method: 'POST', path: '/api/orders', token, body });
    expect(response.status, response.text).toBe(201);
    expect(response.body).toMatchObject({ status: 'pending' });
    expect(typeof response.body.id).toBe('string');
    return String(response.body.id);
  }

  it('sets up a customer with contacts and its tenant, and a tenant admin to read announcements', async () => {
    const customer = await admin('POST', '/api/customers', {
      name: 'Initech',
      contacts: [{ name: 'Bill Lumbergh', email: 'bill@initech.example', role: 'billing' }],
    });
    expect(customer.status, customer.text).toBe(201);
    customerId = customer.body.id;

    const created = await admin('POST', '/api/tenants', {
      id: 'initech',
      name: 'Initech',
      plan: 'standard',
      hosts: ['initech.localhost'],
      expiresAt: new Date(E0).toISOString(),
      status: 'trial',
      customerId,
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ status: 'trial', customerId });
    expiry = created.body.expiresAt;

    const read = await admin('GET', `/api/customers/${customerId}`);
    expect(read.body.contacts).toEqual([
      { name: 'Bill Lumbergh', email: 'bill@initech.example', role: 'billing' },
    ]);
    expect(read.body.tenants.map((item: { id: string }) => item.id)).toEqual(['initech']);
    expect((await admin('GET', '/api/customers')).body.items[0].id).toBe(customerId);

    const domain = (await core.hosts.resolve('initech.localhost')) as TenantContext;
    await core.directory.createUser(domain, { username: 'ian', password: PASSWORD, roles: ['admin'] });
    ianToken = await login('initech.localhost', 'ian');

    const billing = await admin('POST', '/api/users', {
      username: 'bill',
      password: PASSWORD,
      roles: ['billing'],
    });
    expect(billing.status, billing.text).toBe(201);
    billToken = await login(ADMIN, 'bill');
  });

  it('sends no reminder before the first threshold', async () => {
    const result = await runScan('renewal-reminder', REAL_NOW);
    expect(actionsFor(result, 'initech')).toEqual([]);
  });

  it('reminds 30 days before expiry, once however often the scan is replayed', async () => {
    const now = E0 - 30 * DAY_MS + HOUR_MS;
    expect(actionsFor(await runScan('renewal-reminder', now), 'initech')).toEqual(['reminder-30d']);
    const before = await ianAnnouncements();
    expect(before.filter((item) => item.source === 'system')).toHaveLength(1);
    expect(before[0]?.title).toMatch(/expires in 30 days/);

    const replay = await runScan('renewal-reminder', now);
    expect(replay.scanned).toBeGreaterThan(0);
    expect(replay.changed).toEqual([]);
    const later = await runScan('renewal-reminder', now + HOUR_MS);
    expect(actionsFor(later, 'initech')).toEqual([]);
    expect(await ianAnnouncements()).toEqual(before);
    expect((await ledger()).filter((entry) => entry.kind === 'renewal-reminder')).toHaveLength(1);
  });

  it('extends the expiry by the months paid, exactly once however often payment is confirmed', async () => {
    const orderId = await order({
      tenantId: 'initech',
      plan: 'professional',
      months: 2,
      amount: 199.5,
      currency: 'EUR',
    });

    const first = await admin('POST', `/api/orders/${orderId}/confirm-payment`);
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ id: orderId, status: 'paid', previousExpiry: expiry });
    const renewed = addMonths(expiry, 2);
    expect(first.body.newExpiry).toBe(renewed);

    const after = await tenant('initech');
    expect(after).toMatchObject({ expiresAt: renewed, plan: 'professional', status: 'active' });
    expect(await rawTenantItem('initech')).toMatchObject({
      GSI2PK: lifecyclePartition('live'),
      GSI2SK: lifecycleSort(renewed, 'initech'),
    });

    const replay = await admin('POST', `/api/orders/${orderId}/confirm-payment`);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(first.body);
    expect(await tenant('initech')).toEqual(after);
    expiry = renewed;
  });

  it('applies concurrent confirmations of one order once', async () => {
    const orderId = await order({ tenantId: 'initech', plan: 'professional', months: 1, amount: 99 });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => admin('POST', `/api/orders/${orderId}/confirm-payment`)),
    );
    for (const answer of answers) {
      expect([200, 409], answer.text).toContain(answer.status);
    }
    expect(answers.some((answer) => answer.status === 200)).toBe(true);
    // Whatever raced, a retry converges on the one outcome.
    const settled = await admin('POST', `/api/orders/${orderId}/confirm-payment`);
    expect(settled.body.status).toBe('paid');
    expiry = addMonths(expiry, 1);
    expect((await tenant('initech')).expiresAt).toBe(expiry);
    expect(settled.body.newExpiry).toBe(expiry);
  });

  it('lets billing ops order but only a super-admin confirm payment; cancelled orders stay unpaid', async () => {
    const orderId = await order(
      { tenantId: 'initech', plan: 'professional', months: 12, amount: 1000 },
      billToken,
    );
    const refused = await send({
      host: ADMIN,
      method: 'POST',
      path: `/api/orders/${orderId}/confirm-payment`,
      token: billToken,
    });
    expectProblem(refused, 403, 'forbidden');

    const cancelled = await send({
      host: ADMIN,
      method: 'POST',
      path: `/api/orders/${orderId}/cancel`,
      token: billToken,
    });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await admin('POST', `/api/orders/${orderId}/cancel`)).body.status).toBe('cancelled');
    expectProblem(await admin('POST', `/api/orders/${orderId}/confirm-payment`), 409, 'order-state');
    expect((await tenant('initech')).expiresAt).toBe(expiry);

    const orders = await admin('GET', '/api/orders?limit=2');
    expect(orders.body.items[0].id).toBe(orderId);
    expect(typeof orders.body.cursor).toBe('string');
    const next = await admin('GET', `/api/orders?limit=2&cursor=${orders.body.cursor}`);
    expect(next.body.items.map((item: { id: string }) => item.id)).not.toContain(orderId);
  });

  it('reminds 7 days before the new expiry, catching up days no scan ran', async () => {
    const now = Date.parse(expiry) - 7 * DAY_MS + HOUR_MS;
    expect(actionsFor(await runScan('renewal-reminder', now), 'initech')).toEqual(['reminder-7d']);
    const replay = await runScan('renewal-reminder', now);
    expect(replay.scanned).toBeGreaterThan(0);
    expect(actionsFor(replay, 'initech')).toEqual([]);
    const titles = (await ianAnnouncements()).map((item) => item.title);
    expect(titles.filter((title) => /expires in 7 days/.test(title))).toHaveLength(1);
  });

  it('moves the expired tenant to grace, then suspends it after the grace period', async () => {
    const expired = Date.parse(expiry) + HOUR_MS;
    expect(actionsFor(await runScan('expiry-shutdown', expired), 'initech')).toEqual(['grace']);
    expect((await tenant('initech')).status).toBe('grace');
    const replay = await runScan('expiry-shutdown', expired);
    // In grace, not yet past it: the replay does not even read it (the index holds only the due).
    expect(replay.changed).toEqual([]);

    const graceOver = Date.parse(expiry) + GRACE_PERIOD_DAYS * DAY_MS + HOUR_MS;
    expect(actionsFor(await runScan('expiry-shutdown', graceOver - 2 * DAY_MS), 'initech')).toEqual([]);
    expect(actionsFor(await runScan('expiry-shutdown', graceOver), 'initech')).toEqual(['suspended']);
    const suspended = await tenant('initech');
    expect(suspended.status).toBe('suspended');
    expect((await runScan('expiry-shutdown', graceOver)).changed).toEqual([]);
    expect(await tenant('initech')).toEqual(suspended);

    // A suspended tenant's users can still sign in and read.
    const token = await login('initech.localhost', 'ian');
    expect((await send({ host: 'initech.localhost', path: '/api/me', token })).status).toBe(200);
    // The suspension notice is current; the grace notice before it no longer is (retired as read).
    const titles = (await ianAnnouncements()).map((item) => item.title);
    expect(titles).toEqual(expect.arrayContaining([expect.stringMatching(/suspended/)]));
    expect(titles.filter((title) => /has expired/.test(title))).toEqual([]);
  });

  it('reactivates the suspended tenant when a renewal is paid', async () => {
    const orderId = await order({ tenantId: 'initech', plan: 'professional', months: 1, amount: 99 });
    const paid = await admin('POST', `/api/orders/${orderId}/confirm-payment`);
    expect(paid.body).toMatchObject({ status: 'paid', previousStatus: 'suspended', newStatus: 'active' });
    const renewed = await tenant('initech');
    expect(renewed.status).toBe('active');
    // The expiry had not passed in real time, so the renewal extends it rather than restarting it.
    expect(renewed.expiresAt).toBe(addMonths(expiry, 1));

    const graceOver = Date.parse(expiry) + GRACE_PERIOD_DAYS * DAY_MS + HOUR_MS;
    expect(actionsFor(await runScan('expiry-shutdown', graceOver), 'initech')).toEqual([]);
    expect((await tenant('initech')).status).toBe('active');
    // Renewed: the tenant's home page no longer says it is suspended (nor any notice of the old expiry).
    const titles = (await ianAnnouncements()).map((item) => item.title);
    expect(titles.filter((title) => /suspended|has expired|expires in/.test(title))).toEqual([]);
    const home = await send({
      host: 'initech.localhost',
      path: '/api/announcements?unread=true&limit=50',
      token: ianToken,
    });
    expect(home.body.items.filter((item: { source: string }) => item.source === 'system')).toEqual([]);
  });

  it('keeps the whole story in the customer ledger, newest first', async () => {
    const entries = await ledger();
    const kinds = entries.map((entry) => entry.kind);
    expect(kinds.filter((kind) => kind === 'payment-confirmed')).toHaveLength(3);
    expect(kinds.filter((kind) => kind === 'order-created')).toHaveLength(4);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'tenant-linked',
        'order-cancelled',
        'renewal-reminder',
        'tenant-grace',
        'tenant-suspended',
      ]),
    );
    const times = entries.map((entry) => entry.at);
    expect(times).toEqual([...times].sort().reverse());
    expect(new Set(entries.map((entry) => entry.id)).size).toBe(entries.length);
  });

  it('runs the same scans from the lifecycle-scan function the schedules invoke', async () => {
    const now = new Date(Date.parse(expiry) + GRACE_PERIOD_DAYS * DAY_MS + 2 * HOUR_MS).toISOString();
    const result = (await platform.invoke('lifecycle-scan', { scan: 'expiry-shutdown', now })) as {
      scan: string;
      changed: unknown[];
    };
    expect(result).toMatchObject({ scan: 'expiry-shutdown', changed: [] });
    const sweep = (await platform.invoke('lifecycle-scan', { scan: 'stale-executions' })) as { scan: string };
    expect(sweep.scan).toBe('stale-executions');
    // The one-time bootstrap (built on the run core the function makes on first use): once only.
    const first = (await platform.invoke('lifecycle-scan', { bootstrap: { username: 'ops-first' } })) as {
      username: string;
    };
    expect(first.username).toBe('ops-first');
    await expect(
      platform.invoke('lifecycle-scan', { bootstrap: { username: 'ops-second' } }),
    ).rejects.toMatchObject({ name: 'ConflictError' });
    await expect(platform.invoke('lifecycle-scan', { scan: 'everything' })).rejects.toMatchObject({
      name: 'ValidationError',
    });
    await expect(
      platform.invoke('lifecycle-scan', { scan: 'renewal-reminder', extra: 1 }),
    ).rejects.toMatchObject({
      name: 'ValidationError',
    });
  });

  it('scans read the bucket a changed expiry moved to', async () => {
    const newExpiry = Date.parse(expiry) + 20 * DAY_MS;
    const patched = await admin('PATCH', '/api/tenants/hooli', {
      expiresAt: new Date(newExpiry).toISOString(),
    });
    expect(patched.status, patched.text).toBe(200);
    const result = await runScan('renewal-reminder', newExpiry - DAY_MS + HOUR_MS);
    expect(actionsFor(result, 'hooli')).toEqual(['reminder-1d']);
  });
});

describe('platform announcements', () => {
  it('copies an announcement into each chosen tenant, once per retry with the same key', async () => {
    const headers = { 'idempotency-key': 'maintenance-window-0001' };
    const body = { title: 'Maintenance tonight', body: 'Short downtime at 02:00 UTC.', tenants: ['acme'] };
    const first = await admin('POST', '/api/announcements', body, headers);
    expect(first.status, first.text).toBe(201);
    expect(first.body).toMatchObject({ delivered: 1, newlyDelivered: 1, tenants: ['acme'] });
    const retry = await admin('POST', '/api/announcements', body, headers);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ id: first.body.id, newlyDelivered: 0 });

    const seen = await send({ host: ACME, path: '/api/announcements', token: aliceToken });
    const copies = seen.body.items.filter((item: { id: string }) => item.id === first.body.id);
    expect(copies).toEqual([expect.objectContaining({ title: 'Maintenance tonight', source: 'platform' })]);
    const globex = (await core.hosts.resolve('globex.localhost')) as TenantContext;
    const globexItems = (
      await core.announcements.list(
        globex,
        { username: 'system', roles: null, seesSkill: () => true, seesSkills: async (ids) => new Set(ids) },
        100,
      )
    ).items;
    expect(globexItems.map((item) => item.id)).not.toContain(first.body.id);
  });

  it('pages over every tenant for "all", skipping archived ones', async () => {
    const response = await admin('POST', '/api/announcements', {
      title: 'New region',
      body: 'Now also in eu-central-2.',
      severity: 'info',
      tenants: 'all',
    });
    expect(response.status, response.text).toBe(201);
    const active = (await admin('GET', '/api/tenants?limit=100')).body.items.filter(
      (item: { status: string }) => item.status !== 'archived',
    );
    expect(response.body.delivered).toBe(active.length);
    const listed = await admin('GET', '/api/announcements');
    expect(listed.body.items[0].id).toBe(response.body.id);
  });

  it('refuses unknown tenants before posting anything', async () => {
    const response = await admin('POST', '/api/announcements', {
      title: 'Hello',
      body: 'x',
      tenants: ['acme', 'nobody-here'],
    });
    expectProblem(response, 422, 'validation-failed');
    expect(
      (await admin('GET', '/api/announcements')).body.items.map((item: { title: string }) => item.title),
    ).not.toContain('Hello');
  });
});

describe('platform audit', () => {
  it('records every governance action in the public chain, without contact details', async () => {
    const actions = new Set<string>();
    const texts: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await admin(
        'GET',
        `/api/audit?limit=100${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.status, page.text).toBe(200);
      texts.push(page.text);
      for (const entry of page.body.items) actions.add(entry.action);
      cursor = page.body.cursor;
    } while (cursor !== undefined);
    expect([...actions]).toEqual(
      expect.arrayContaining([
        'tenant.created',
        'tenant.updated',
        'tenant.host.added',
        'tenant.host.removed',
        'customer.created',
        'order.created',
        'order.paid',
        'order.cancelled',
        'lifecycle.run',
        'lifecycle.reminder.sent',
        'lifecycle.tenant.grace',
        'lifecycle.tenant.suspended',
        'platform-announcement.posted',
      ]),
    );
    expect(texts.join('\n')).not.toContain('bill@initech.example');
    expect(texts.join('\n')).not.toContain(PASSWORD);
    const verified = await admin('GET', '/api/audit/verify');
    expect(verified.body.valid, verified.text).toBe(true);
  });
});

describe('isolation', () => {
  /** A valid body for each governance route, so a refusal is about who asks, not what is sent. */
  const bodies: Readonly<Record<string, unknown>> = {
    'POST /api/tenants/{id}/admins': { username: 'intruder', password: PASSWORD },
    'POST /api/tenants': {
      id: 'intruder',
      name: 'Intruder',
      plan: 'standard',
      hosts: ['intruder.localhost'],
      expiresAt: new Date(REAL_NOW + 30 * DAY_MS).toISOString(),
    },
    'PATCH /api/tenants/{id}': { plan: 'enterprise' },
    'PUT /api/tenants/{id}/branding': { branding: { displayName: 'Intruder', menus: ['home'] } },
    'POST /api/tenants/{id}/hosts': { host: 'intruder.localhost' },
    'POST /api/customers': { name: 'Intruder' },
    'POST /api/orders': { tenantId: 'initech', plan: 'enterprise', months: 120, amount: 0 },
    'POST /api/lifecycle/run': {
      scan: 'expiry-shutdown',
      now: new Date(REAL_NOW + 900 * DAY_MS).toISOString(),
    },
    'POST /api/announcements': { title: 'Intruder', body: 'Hello from a tenant', tenants: 'all' },
  };

  function requests() {
    return governanceDomainRoutes(core).map((route) => {
      const key = `${route.method} ${route.path}`;
      const path = route.path
        .replace('/api/customers/{id}', '/api/customers/cus_0000000000aaaaaaaaaa')
        .replace('/api/orders/{id}', '/api/orders/ord_0000000000aaaaaaaaaa')
        .replace('{id}', 'initech')
        .replace('{host}', 'initech.localhost');
      return { key, method: route.method, path, body: bodies[key], hasBody: route.body !== undefined };
    });
  }

  async function nothingChanged() {
    expectProblem(await admin('GET', '/api/tenants/intruder'), 404);
    const initech = await tenant('initech');
    expect(initech.plan).not.toBe('enterprise');
    expect(initech.hosts).toEqual(['initech.localhost']);
    expect(initech.branding).toBeUndefined();
    const customers = await admin('GET', '/api/customers?limit=100');
    expect(customers.body.items.map((item: { name: string }) => item.name)).not.toContain('Intruder');
  }

  it('covers every route of the governance domain, each with a valid body where it takes one', () => {
    const all = requests();
    expect(all.length).toBeGreaterThanOrEqual(18);
    for (const request of all) expect(request.hasBody, request.key).toBe(request.body !== undefined);
  });

  it('refuses every governance route to a tenant user, even with a valid body on the admin host', async () => {
    for (const request of requests()) {
      const response = await send({
        host: ADMIN,
        method: request.method,
        path: request.path,
        token: aliceToken,
        ...(request.body === undefined ? {} : { body: request.body }),
      });
      expectProblem(response, 401);
    }
    await nothingChanged();
  });

  it('refuses every governance route without a token, and to a public user without the permission', async () => {
    const created = await admin('POST', '/api/users', { username: 'viewer1', password: PASSWORD, roles: [] });
    expect(created.status, created.text).toBe(201);
    const token = await login(ADMIN, 'viewer1');
    for (const request of requests()) {
      const base = {
        host: ADMIN,
        method: request.method,
        path: request.path,
        ...(request.body === undefined ? {} : { body: request.body }),
      };
      expectProblem(await send(base), 401);
      expectProblem(await send({ ...base, token }), 403, 'forbidden');
    }
    await nothingChanged();
  });

  it('has none of its routes on tenant hosts (the tenant API serves only its own announcements)', async () => {
    const tenantRouter = new Router(tenantRoutes(builtCore(core)));
    for (const request of requests()) {
      let shared: string | null = null;
      try {
        shared = (await tenantRouter.match(request.method, request.path)).route.path;
      } catch {
        shared = null;
      }
      if (shared !== null) {
        // Only the tenant's own announcements share a path; they cannot reach other tenants.
        expect(shared).toBe('/api/announcements');
        continue;
      }
      const response = await send({
        host: ACME,
        method: request.method,
        path: request.path,
        token: aliceToken,
        ...(request.body === undefined ? {} : { body: request.body }),
      });
      expectProblem(response, [404, 405]);
    }
    const fanOut = await send({
      host: ACME,
      method: 'POST',
      path: '/api/announcements',
      token: aliceToken,
      body: bodies['POST /api/announcements'],
    });
    expectProblem(fanOut, 422);
    await nothingChanged();
  });

  it('is not served on the free entry, though it is public', async () => {
    expectProblem(await send({ host: FREE, path: '/api/tenants', token: adminToken }), [401, 404]);
    expectProblem(await send({ host: FREE, path: '/api/tenants' }), [401, 404]);
  });
});

describe('bad input', () => {
  const valid = {
    id: 'umbrella',
    name: 'Umbrella',
    plan: 'standard',
    hosts: ['umbrella.localhost'],
    expiresAt: new Date(REAL_NOW + 30 * DAY_MS).toISOString(),
  };

  it.each([
    ['a non-slug id', { ...valid, id: 'Umbrella_Corp' }],
    ['a missing expiry', { ...valid, expiresAt: undefined }],
    ['an expiry that is not a date-time', { ...valid, expiresAt: 'next tuesday' }],
    ['no host', { ...valid, hosts: [] }],
    ['an invalid host', { ...valid, hosts: ['not a host'] }],
    ['an unknown member', { ...valid, owner: 'me' }],
    ['an unknown delivery mode', { ...valid, deliveryMode: 'carrier-pigeon' }],
    ['an unknown customer', { ...valid, customerId: 'cus_0000000000aaaaaaaaaa' }],
    ['an expiry in the past', { ...valid, expiresAt: '2020-01-01T00:00:00Z' }],
    ['an expiry of this very moment', { ...valid, expiresAt: new Date(REAL_NOW).toISOString() }],
    ['a plan that does not exist', { ...valid, plan: 'pro' }],
    ['a plan in another case', { ...valid, plan: 'Standard' }],
    ['no plan', { ...valid, plan: undefined }],
  ])('refuses a tenant with %s (422, nothing created)', async (_, body) => {
    expectProblem(await admin('POST', '/api/tenants', body), 422, 'validation-failed');
    expectProblem(await admin('GET', '/api/tenants/umbrella'), 404);
    await expect(core.hosts.resolve('umbrella.localhost')).rejects.toBeInstanceOf(UnknownHostError);
  });

  it('names the field of a past expiry, on a new tenant and on a change (an expiry must be in the future)', async () => {
    for (const answer of [
      await admin('POST', '/api/tenants', { ...valid, expiresAt: '2020-01-01T00:00:00Z' }),
      await admin('PATCH', '/api/tenants/initech', { expiresAt: '2020-01-01T00:00:00Z' }),
    ]) {
      expectProblem(answer, 422, 'validation-failed');
      expect(JSON.stringify(answer.body)).toContain('"path":"expiresAt"');
      expect(answer.body.detail).toBe('The expiry is in the past');
    }
    // A tenant already past its expiry (in grace) keeps it when a form sends it back with another
    // change: that is no change of expiry.
    const created = await admin('POST', '/api/tenants', {
      ...valid,
      id: 'soylent',
      hosts: ['soylent.localhost'],
    });
    expect(created.status, created.text).toBe(201);
    const past = '2020-01-01T00:00:00.000Z';
    await core.tenants.update('soylent', { expiresAt: past });
    const same = await admin('PATCH', '/api/tenants/soylent', { expiresAt: past, name: 'Soylent Corp' });
    expect(same.status, same.text).toBe(200);
    expect(same.body).toMatchObject({ expiresAt: past, name: 'Soylent Corp' });
  });

  it.each([
    ['POST', '/api/orders', { tenantId: 'initech', plan: 'professional', months: 0, amount: 1 }, 422],
    ['POST', '/api/orders', { tenantId: 'initech', plan: 'professional', months: 1, amount: -5 }, 422],
    [
      'POST',
      '/api/orders',
      { tenantId: 'initech', plan: 'professional', months: 1, amount: 5, currency: 'euro' },
      422,
    ],
    ['POST', '/api/orders', { tenantId: 'nobody-here', plan: 'professional', months: 1, amount: 5 }, 422],
    ['POST', '/api/customers', { name: 'X', contacts: [{ name: 'Y', email: 'not-an-email' }] }, 422],
    ['POST', '/api/lifecycle/run', { scan: 'stale-executions' }, 422],
    ['POST', '/api/lifecycle/run', { scan: 'expiry-shutdown', now: 'yesterday' }, 422],
    ['PATCH', '/api/tenants/initech', {}, 422],
    ['PATCH', '/api/tenants/initech', { status: 'deleted' }, 422],
    ['PATCH', '/api/tenants/initech', { status: 'trial' }, 409],
    ['PATCH', '/api/tenants/nobody-here', { plan: 'enterprise' }, 404],
    ['PATCH', '/api/tenants/initech', { plan: 'pro' }, 422],
    ['PATCH', '/api/tenants/initech', { expiresAt: '2020-01-01T00:00:00Z' }, 422],
    ['PATCH', '/api/tenants/initech', { plan: ' standard' }, 422],
    ['POST', '/api/orders', { tenantId: 'initech', plan: 'free', months: 1, amount: 0 }, 422],
    ['POST', '/api/orders', { tenantId: 'initech', plan: 'gold', months: 1, amount: 5 }, 422],
    ['POST', '/api/tenants/initech/hosts', { host: 'bad host!' }, 422],
    ['GET', '/api/tenants/nobody-here', undefined, 404],
    ['GET', '/api/orders/ord_0000000000aaaaaaaaaa', undefined, 404],
    ['GET', '/api/customers/cus_0000000000aaaaaaaaaa/ledger', undefined, 404],
    ['GET', '/api/orders?cursor=bm90LWEtY3Vyc29y', undefined, 422],
    ['GET', '/api/tenants?limit=1000', undefined, 422],
  ])('%s %s %j → %i problem+json', async (method, path, body, status) => {
    expectProblem(await admin(method, path, body), status);
  });

  it('takes a plan only from the plans the platform has, naming them, and changes nothing otherwise', async () => {
    const before = await tenant('initech');
    const orders = await admin('GET', '/api/orders?limit=100');
    const patched = await admin('PATCH', '/api/tenants/initech', { plan: 'platinum', name: 'Renamed' });
    expectProblem(patched, 422, 'validation-failed');
    expect(patched.body.errors).toEqual([
      { path: 'plan', message: 'a paid plan: trial, standard, professional, enterprise' },
    ]);
    // free is the personal edition's, given by sign-up: no tenant is put on it by hand.
    const freed = await admin('PATCH', '/api/tenants/initech', { plan: 'free' });
    expectProblem(freed, 422, 'validation-failed');
    const ordered = await admin('POST', '/api/orders', {
      tenantId: 'initech',
      plan: 'free',
      months: 1,
      amount: 0,
    });
    expectProblem(ordered, 422, 'validation-failed');
    expect(ordered.body.errors).toEqual([
      { path: 'plan', message: 'a paid plan: trial, standard, professional, enterprise' },
    ]);
    expect(await tenant('initech')).toEqual(before);
    expect((await admin('GET', '/api/orders?limit=100')).body).toEqual(orders.body);
    // The OpenAPI document lists them too, so a client knows them before it asks.
    const document = await admin('GET', '/api/openapi.json');
    expect(JSON.stringify(document.body)).toContain(
      '"enum":["trial","standard","professional","enterprise"]',
    );
  });

  it('answers any JSON body with a result or a 4xx problem, never a 500', async () => {
    const writes = [
      '/api/tenants',
      '/api/customers',
      '/api/orders',
      '/api/lifecycle/run',
      '/api/announcements',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...writes),
        fc.oneof(
          fc.jsonValue(),
          fc.record({
            id: fc.string(),
            tenantId: fc.constantFrom('initech', 'acme', 'x', ''),
            months: fc.oneof(fc.integer(), fc.double()),
            amount: fc.oneof(fc.integer(), fc.double(), fc.string()),
            hosts: fc.array(fc.string()),
            expiresAt: fc.oneof(
              fc.string(),
              fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
            ),
            scan: fc.constantFrom('renewal-reminder', 'expiry-shutdown', 'x'),
            tenants: fc.oneof(fc.constant('all'), fc.array(fc.string())),
          }),
        ),
        async (path, body) => {
          const response = await admin('POST', path, body);
          expect(response.status, `${path} ${JSON.stringify(body)} → ${response.text}`).toBeLessThan(500);
          if (response.status >= 400) expectProblem(response, response.status);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a cursor of another listing', async () => {
    const orders = await admin('GET', '/api/orders?limit=1');
    expect(typeof orders.body.cursor).toBe('string');
    expectProblem(await admin('GET', `/api/customers?cursor=${orders.body.cursor}`), 422);
  });

  it('refuses malformed JSON and a wrong media type', async () => {
    expectProblem(
      await send({
        host: ADMIN,
        method: 'POST',
        path: '/api/orders',
        token: adminToken,
        body: '{"tenantId":',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'malformed-request',
    );
    expectProblem(
      await send({
        host: ADMIN,
        method: 'POST',
        path: '/api/orders',
        token: adminToken,
        body: 'tenantId=acme',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
    );
  });
});
