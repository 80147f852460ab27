/**
 * Run admission fails closed (issue 12): a tenant whose expiry plus grace period has passed is
 * refused runs even while its status still says `active` (no scan ran, or one is late); a tenant
 * within its grace period still runs. Over real HTTP, with the schedules off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, GRACE_PERIOD_DAYS } from '../../functions/core/governance/dates.ts';
import { expectProblem, HOSTS, problemType, startTestPlatform } from '../support/platform.ts';

const PASSWORD = 'admission-suite-password';
const HOST = 'latecorp.localhost';
const t = await startTestPlatform(PASSWORD);
let root: string;
let admin: string;
let skillId: string;

function as(token: string, host: string, method: string, path: string, body?: unknown) {
  return t.send({ host, token, method, path, ...(body === undefined ? {} : { body }) });
}

beforeAll(async () => {
  root = await t.login(HOSTS.admin, 'admin');
  const created = await as(root, HOSTS.admin, 'POST', '/api/tenants', {
    id: 'latecorp',
    name: 'Late Corp',
    plan: 'standard',
    hosts: [HOST],
    expiresAt: new Date(Date.now() + 30 * DAY_MS).toISOString(),
  });
  expect(created.status, created.text).toBe(201);
  const first = await as(root, HOSTS.admin, 'POST', '/api/tenants/latecorp/admins', {
    username: 'lena',
    password: 'lena-password-123',
  });
  expect(first.status, first.text).toBe(201);
  admin = await t.login(HOST, 'lena', 'lena-password-123');
  const asset = await as(admin, HOST, 'POST', '/api/assets/scripts', {
    name: 'n.py',
    source: 'def main(inputs, ctx):\n    return {}\n',
  });
  const skill = await as(admin, HOST, 'POST', '/api/skills', {
    name: 'Noop',
    inputSchema: { type: 'object' },
    outputSchema: {},
    risk: 'low',
    asset: { kind: 'python-script', id: asset.body.id, version: 'active' },
  });
  expect(skill.status, skill.text).toBe(201);
  skillId = String(skill.body.id);
});
afterAll(async () => {
  await t.stop();
});

/**
 * Moves the tenant's expiry: through the console's API when it is to come; one that has passed (time
 * gone by, which the API does not take) through the core.
 */
async function setExpiry(daysFromNow: number): Promise<void> {
  const expiresAt = new Date(Date.now() + daysFromNow * DAY_MS).toISOString();
  if (daysFromNow < 0) {
    await t.core.tenants.update('latecorp', { expiresAt });
  } else {
    const patched = await as(root, HOSTS.admin, 'PATCH', '/api/tenants/latecorp', { expiresAt });
    expect(patched.status, patched.text).toBe(200);
  }
  const tenant = await as(root, HOSTS.admin, 'GET', '/api/tenants/latecorp');
  expect(tenant.body).toMatchObject({ status: 'active', expiresAt });
}

describe('run admission', () => {
  it('refuses a run once expiry plus grace has passed, whatever the status says', async () => {
    await setExpiry(-(GRACE_PERIOD_DAYS + 1));
    const refused = await as(admin, HOST, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    expectProblem(refused, 403);
    expect(refused.body.type).toBe(problemType('tenant-suspended'));
    expect(refused.body.detail).toMatch(/grace period is over/);
    // A readable date in the sentence, the instant in its own field.
    expect(refused.body.detail).toMatch(/expired on \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC /);
    expect(refused.body.expiresAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('still runs within the grace period, and again once renewed', async () => {
    await setExpiry(-1);
    const inGrace = await as(admin, HOST, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    expect(inGrace.status, inGrace.text).toBe(202);
    await setExpiry(30);
    const renewed = await as(admin, HOST, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    expect(renewed.status, renewed.text).toBe(202);
  });

  it('refuses a run the moment the tenant is suspended, whatever its expiry says', async () => {
    // The tenant is read with the Skill in one consistent batch: no cached host binding delays it.
    await setExpiry(30);
    const before = await as(admin, HOST, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    expect(before.status, before.text).toBe(202);
    const suspended = await as(root, HOSTS.admin, 'PATCH', '/api/tenants/latecorp', { status: 'suspended' });
    expect(suspended.status, suspended.text).toBe(200);
    const refused = await as(admin, HOST, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
    expectProblem(refused, 403);
    expect(refused.body.type).toBe(problemType('tenant-suspended'));
    expect(refused.body.detail).toMatch(/suspended/);
  });
});
