/**
 * The per-process tenant cache over HTTP (tenant-cache.ts, docs/decisions/session-cache.md "Tenant
 * records"), with the store's requests counted through the SDK clients' middleware: once warm,
 * `GET /api/me` and `GET /api/branding` read no tenant record; a change made through the governance
 * API (another function of this process) is shown on the tenant's host on the very next request; a
 * change made behind the API's back (as another container would) never lets a run through, whatever
 * the cache still holds; and two tenants' hosts are each answered with their own tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantRepository } from '../../functions/core/tenancy/tenant-repository.ts';
import {
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'tenant-cache-suite-password';
let t: TestPlatform;
let alice: string;
let gina: string;
let root: string;
let skillId: string;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  [alice, gina, root] = await Promise.all([
    t.login(HOSTS.acme, 'alice'),
    t.login(HOSTS.globex, 'gina'),
    t.login(HOSTS.admin, 'admin'),
  ]);
  const skills = await t.send({ host: HOSTS.acme, path: '/api/skills', token: alice });
  const active = (skills.body.items as { id: string; state: string }[]).find((s) => s.state === 'active');
  if (active === undefined) throw new Error('the demo tenant has an active Skill');
  skillId = active.id;
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

/** The table requests the platform sends while `work` runs. */
async function tableRequests(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const stop = t.platform.observeRequests((request) => {
    if (request.client === 'DynamoDBClient') seen.push(request.operation);
  });
  try {
    await work();
  } finally {
    stop();
  }
  return seen;
}

const me = (host: string, token: string) => t.send({ host, path: '/api/me', token });
const patchAcme = (body: Record<string, unknown>) =>
  t.send({ host: HOSTS.admin, path: '/api/tenants/acme', method: 'PATCH', token: root, body });
const run = () =>
  t.send({
    host: HOSTS.acme,
    path: `/api/skills/${skillId}/executions`,
    method: 'POST',
    token: alice,
    body: { input: { name: 'cached' } },
  });

describe('a warm tenant record', () => {
  it('GET /api/me and GET /api/branding read nothing of the tenant once warm', async () => {
    expect((await me(HOSTS.acme, alice)).status).toBe(200);
    expect((await t.send({ host: HOSTS.acme, path: '/api/branding' })).status).toBe(200);
    const requests = await tableRequests(async () => {
      for (let i = 0; i < 3; i++) {
        expect((await me(HOSTS.acme, alice)).status).toBe(200);
        expect((await t.send({ host: HOSTS.acme, path: '/api/branding' })).status).toBe(200);
      }
    });
    expect(requests).toEqual([]);
  });
});

describe('a tenant changed through the governance API', () => {
  it('is shown suspended on its own host on the next request, and runs nothing', async () => {
    await me(HOSTS.acme, alice);
    expect((await patchAcme({ status: 'suspended' })).status).toBe(200);
    try {
      expect((await me(HOSTS.acme, alice)).body.domain.tenant.status).toBe('suspended');
      expect((await t.send({ host: HOSTS.acme, path: '/api/health' })).body.tenant.status).toBe('suspended');
      const refused = await run();
      expectProblem(refused, 403, 'a run of a suspended tenant');
      expect(refused.body.type).toBe(problemType('tenant-suspended'));
    } finally {
      expect((await patchAcme({ status: 'active' })).status).toBe(200);
    }
    expect((await me(HOSTS.acme, alice)).body.domain.tenant.status).toBe('active');
  });

  it('shows a new branding and delivery on its own host on the next request', async () => {
    await t.send({ host: HOSTS.acme, path: '/api/branding' });
    const branded = await t.send({
      host: HOSTS.admin,
      path: '/api/tenants/acme/branding',
      method: 'PUT',
      token: root,
      body: { branding: { displayName: 'Acme Portal' } },
    });
    expect(branded.status, branded.text).toBe(200);
    expect((await patchAcme({ deliveryMode: 'dedicated' })).status).toBe(200);
    try {
      expect((await t.send({ host: HOSTS.acme, path: '/api/branding' })).body).toEqual({
        deliveryMode: 'dedicated',
        branding: { displayName: 'Acme Portal' },
      });
      expect((await me(HOSTS.acme, alice)).body.appearance.branding.displayName).toBe('Acme Portal');
    } finally {
      expect((await patchAcme({ deliveryMode: 'shared' })).status).toBe(200);
    }
    expect((await t.send({ host: HOSTS.acme, path: '/api/branding' })).body).toEqual({
      deliveryMode: 'shared',
    });
  });
});

describe('a tenant changed behind the API (another container)', () => {
  it('runs nothing from the moment its record says so, whatever the cache still shows', async () => {
    await me(HOSTS.acme, alice);
    const tenants = new TenantRepository(t.core.table);
    const record = await tenants.find('acme');
    if (record === null) throw new Error('acme exists');
    const { status, expiresAt } = record.tenant;
    // Written straight to the store: no notice reaches this process's caches.
    await tenants.update('acme', { expiresAt: '2020-01-01T00:00:00.000Z' }, {}, new Date().toISOString());
    try {
      const refused = await run();
      expectProblem(refused, 403, 'a run of an expired tenant, cached as current');
      expect(refused.body.type).toBe(problemType('tenant-suspended'));
      await tenants.update('acme', { status: 'suspended', expiresAt }, {}, new Date().toISOString());
      expectProblem(await run(), 403, 'a run of a suspended tenant, cached as active');
    } finally {
      await tenants.update('acme', { status, expiresAt }, {}, new Date().toISOString());
    }
  });
});

describe('two tenants, two hosts', () => {
  it('each host is answered with its own tenant, however the requests interleave', async () => {
    for (let i = 0; i < 3; i++) {
      const [acme, globex] = [await me(HOSTS.acme, alice), await me(HOSTS.globex, gina)];
      expect(acme.body.domain.tenant.id).toBe('acme');
      expect(globex.body.domain.tenant.id).toBe('globex');
      expect(acme.body.username).toBe('alice');
      expect(globex.body.username).toBe('gina');
    }
    // A cached tenant's token is refused on the other tenant's host.
    expectProblem(await me(HOSTS.globex, alice), 401, "acme's token on globex's host");
  });
});
