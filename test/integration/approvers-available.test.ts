/**
 * A run nobody could approve is refused, not left to expire (found by a new user of the demo
 * tenant): fewer active users other than the requester who hold `approval:decide` and may see the
 * Skill than its rule needs → 409 `approvers-unavailable`, nothing written (no run, no audit entry,
 * no idempotency claim, no place of the daily quota), the same through the API, MCP `tools/call` and
 * a schedule's fire; exactly enough → accepted. Managers see the shortfall on the Skill. The approval
 * notice never reaches the requester (admins included) and dates its deadline in ISO 8601 UTC. The
 * demo tenant acme has enough approvers for a high-risk or critical Skill, whoever of them asks.
 *
 * Tenant globex starts with one user, gina (admin); the suite adds the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_APPROVER_PAGES } from '../../functions/core/executions/approvers.ts';
import { APPROVAL_TTL_SECONDS } from '../../functions/core/executions/executions.ts';
import { readableUtc } from '../../functions/core/governance/dates.ts';
import { DirectoryRepository } from '../../functions/core/identity/directory-repository.ts';
import { hashPassword } from '../../functions/core/identity/passwords.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { expectProblem, HOSTS, problemType, startTestPlatform } from '../support/platform.ts';

const PASSWORD = 'approvers-available-password';
const t = await startTestPlatform(PASSWORD);
const sessions: Record<string, string> = {};

function api(user: string, method: string, path: string, body?: unknown, host: string = HOSTS.globex) {
  return t.send({ host, path, method, token: sessions[user], ...(body === undefined ? {} : { body }) });
}

async function addUser(username: string, roles: readonly string[]): Promise<void> {
  const created = await api('gina', 'POST', '/api/users', { username, password: PASSWORD, roles });
  expect(created.status, created.text).toBe(201);
  sessions[username] = await t.login(HOSTS.globex, username);
}

async function skill(
  user: string,
  definition: Record<string, unknown>,
  host: string = HOSTS.globex,
): Promise<{ id: string; body: Record<string, unknown> }> {
  const script = await api(
    user,
    'POST',
    '/api/assets/scripts',
    {
      name: `s${Math.random().toString(36).slice(2, 8)}.py`,
      source: 'def main(inputs, ctx):\n    return {}\n',
    },
    host,
  );
  expect(script.status, script.text).toBe(201);
  const response = await api(
    user,
    'POST',
    '/api/skills',
    {
      name: `Transfer ${Math.random().toString(36).slice(2, 8)}`,
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      risk: 'high',
      ...definition,
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
    },
    host,
  );
  expect(response.status, response.text).toBe(201);
  return { id: String(response.body.id), body: response.body };
}

function run(
  user: string,
  skillId: string,
  headers: Record<string, string> = {},
  host: string = HOSTS.globex,
) {
  return t.send({
    host,
    path: `/api/skills/${skillId}/executions`,
    method: 'POST',
    token: sessions[user],
    headers,
    body: { input: {} },
  });
}

async function runsToday(): Promise<number> {
  const usage = await api('gina', 'GET', '/api/usage');
  expect(usage.status, usage.text).toBe(200);
  return Number(usage.body.runsToday.used);
}

async function runsOf(skillId: string): Promise<unknown[]> {
  const runs = await api('gina', 'GET', `/api/executions?skillId=${skillId}`);
  expect(runs.status, runs.text).toBe(200);
  return runs.body.items;
}

async function auditCount(): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await api(
      'gina',
      'GET',
      `/api/audit?limit=100${cursor === undefined ? '' : `&cursor=${cursor}`}`,
    );
    expect(page.status, page.text).toBe(200);
    count += page.body.items.length;
    cursor = page.body.cursor;
  } while (cursor !== undefined);
  return count;
}

async function announcementIds(user: string, host: string = HOSTS.globex): Promise<string[]> {
  const page = await api(user, 'GET', '/api/announcements?limit=100', undefined, host);
  expect(page.status, page.text).toBe(200);
  return page.body.items.map((item: { id: string }) => item.id);
}

let high: string;

beforeAll(async () => {
  sessions.gina = await t.login(HOSTS.globex, 'gina');
  // gwen may run and approve; with gina, two approvers: one besides gwen when gwen asks.
  await addUser('gwen', ['operator']);
  high = (await skill('gina', {})).id;
});

afterAll(async () => {
  await t.stop();
});

describe('a run that needs more approvers than there are', () => {
  it('is refused with 409 approvers-unavailable when only N−1 may approve it, and writes nothing', async () => {
    const quotaBefore = await runsToday();
    const auditBefore = await auditCount();
    const refused = await run('gwen', high, { 'idempotency-key': 'approvers-key-1' });
    expectProblem(refused, 409, 'one approver for a rule of two');
    expect(refused.body).toMatchObject({
      type: problemType('approvers-unavailable'),
      approvalsRequired: 2,
      approversAvailable: 1,
    });
    expect(String(refused.body.detail)).toMatch(/needs 2 approvals.*1 user other than gwen/);
    expect(await runsOf(high)).toEqual([]);
    expect(await runsToday()).toBe(quotaBefore);
    expect(await auditCount()).toBe(auditBefore);
  });

  it('is refused the same way through MCP tools/call', async () => {
    const client = await api('gwen', 'POST', '/api/mcp-clients', { name: 'Agent', skills: [high] });
    expect(client.status, client.text).toBe(201);
    const tools = await t.send({
      host: HOSTS.globex,
      path: '/mcp',
      method: 'POST',
      token: client.body.token,
      headers: { accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
    });
    const tool = tools.body.result.tools.find((item: { name: string }) => item.name.endsWith(high.slice(4)));
    expect(tool, tools.text).toBeDefined();
    const called = await t.send({
      host: HOSTS.globex,
      path: '/mcp',
      method: 'POST',
      token: client.body.token,
      headers: { accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: tool.name, arguments: {} } },
    });
    expect(called.status, called.text).toBe(200);
    expect(called.body.result.isError).toBe(true);
    expect(JSON.stringify(called.body.result.content)).toContain('approvers-unavailable');
    expect(await runsOf(high)).toEqual([]);
  });

  it('is skipped, with the reason, when a schedule fires it', async () => {
    const schedule = await api('gwen', 'POST', '/api/schedules', {
      name: 'Nightly transfer',
      skillId: high,
      input: {},
      timing: { kind: 'cron', expression: '0 3 * * *' },
    });
    expect(schedule.status, schedule.text).toBe(201);
    const fired = await api('gwen', 'POST', `/api/schedules/${schedule.body.id}/fire`);
    expect(fired.status, fired.text).toBe(200);
    expect(fired.body).toMatchObject({ outcome: 'skipped', reason: 'approvers-unavailable' });
    expect(String(fired.body.detail)).toContain('needs 2 approvals');
    expect(await runsOf(high)).toEqual([]);
  });

  it('warns the Skill’s managers that approvers’ own runs are refused', async () => {
    const view = await api('gina', 'GET', `/api/skills/${high}`);
    expect(view.status, view.text).toBe(200);
    expect(view.body.approvalWarning).toMatchObject({
      approvalsRequired: 2,
      approvers: 2,
      refused: 'approvers',
    });
    // Not part of what a reader of the catalogue sees.
    expect((await api('gwen', 'GET', `/api/skills/${high}`)).body.approvalWarning).toBeUndefined();
  });

  it('warns on saving a Skill that nobody but its author could approve', async () => {
    // Visible to a role nobody holds: only gina (skill:manage) may see it, so she alone could approve.
    const role = await api('gina', 'POST', '/api/roles', {
      name: 'treasury',
      permissions: ['skill:read', 'skill:run', 'approval:decide'],
    });
    expect(role.status, role.text).toBe(201);
    const hidden = await skill('gina', { visibility: { roles: ['treasury'] } });
    expect(hidden.body.approvalWarning).toMatchObject({ approvalsRequired: 2, approvers: 1, refused: 'all' });
  });
});

describe('exactly as many approvers as the rule needs', () => {
  let accepted: string;

  it('accepts the run once a second approver exists (and the same Idempotency-Key creates it now)', async () => {
    await addUser('gus', ['operator']);
    const response = await run('gwen', high, { 'idempotency-key': 'approvers-key-1' });
    expect(response.status, response.text).toBe(202);
    expect(response.body).toMatchObject({ status: 'pending_approval', replayed: false });
    accepted = response.body.id;
    expect((await api('gina', 'GET', `/api/skills/${high}`)).body.approvalWarning).toBeUndefined();
  });

  it('and the two others approve it to the end', async () => {
    expect((await api('gina', 'POST', `/api/executions/${accepted}/approve`, {})).status).toBe(200);
    const second = await api('gus', 'POST', `/api/executions/${accepted}/approve`, {});
    expect(second.status, second.text).toBe(200);
    expect(second.body.status).not.toBe('pending_approval');
  });

  it('counts only users who may see the Skill', async () => {
    const limited = await skill('gina', { visibility: { roles: ['treasury'] } });
    const treasurer = await api('gina', 'PATCH', '/api/users/gwen', { roles: ['operator', 'treasury'] });
    expect(treasurer.status, treasurer.text).toBe(200);
    sessions.gwen = await t.login(HOSTS.globex, 'gwen');
    // gus holds approval:decide but cannot see it: gina is the only other approver.
    const refused = await run('gwen', limited.id);
    expectProblem(refused, 409, 'gus cannot see the Skill');
    expect(refused.body).toMatchObject({ approvalsRequired: 2, approversAvailable: 1 });
    // tess may decide through the custom role alone (the roles are read once per count, not per user).
    await addUser('tess', ['treasury']);
    const accepted = await run('gwen', limited.id);
    expect(accepted.status, accepted.text).toBe(202);
    expect((await api('gina', 'PATCH', '/api/users/tess', { disabled: true })).status).toBe(200);
  });

  it('does not count a disabled user', async () => {
    const disabled = await api('gina', 'PATCH', '/api/users/gus', { disabled: true });
    expect(disabled.status, disabled.text).toBe(200);
    const refused = await run('gwen', high);
    expectProblem(refused, 409, 'gus is disabled');
    expect(refused.body).toMatchObject({ type: problemType('approvers-unavailable'), approversAvailable: 1 });
    expect((await api('gina', 'PATCH', '/api/users/gus', { disabled: false })).status).toBe(200);
    sessions.gus = await t.login(HOSTS.globex, 'gus'); // disabling ended gus's sessions
  });

  it('needs an admin other than the requester among the approvers of a critical run', async () => {
    const critical = (await skill('gina', { risk: 'critical' })).id;
    // gina asks: gwen and gus may approve, two of them, but neither is an admin.
    const refused = await run('gina', critical);
    expectProblem(refused, 409, 'no other admin');
    expect(refused.body).toMatchObject({
      type: problemType('approvers-unavailable'),
      approvalsRequired: 2,
      approversAvailable: 2,
      adminApprovalRequired: true,
      adminApproversAvailable: 0,
    });
    // gwen asks: gina (admin) and gus.
    expect((await run('gwen', critical)).status).toBe(202);
  });
});

describe('the approval notice', () => {
  it('reaches the approvers, never the requester (an admin included), and dates the deadline as a person reads it, in UTC', async () => {
    for (const username of ['gwen', 'gus']) sessions[username] = await t.login(HOSTS.globex, username);
    const requested = await run('gina', high);
    expect(requested.status, requested.text).toBe(202);
    const id = String(requested.body.id);
    const notice = `approval-${id}`;
    expect(await announcementIds('gwen')).toContain(notice);
    expect(await announcementIds('gus')).toContain(notice);
    // gina reads every announcement of the tenant (announcement:manage), but not this one.
    expect(await announcementIds('gina')).not.toContain(notice);
    const forGwen = (await api('gwen', 'GET', '/api/announcements?limit=100')).body.items.find(
      (item: { id: string }) => item.id === notice,
    );
    // The run's deadline (its request time plus the approval window), as the API writes instants.
    const createdAt = (await api('gina', 'GET', `/api/executions/${id}`)).body.createdAt;
    const deadline = readableUtc(new Date(Date.parse(createdAt) + APPROVAL_TTL_SECONDS * 1000).toISOString());
    expect(deadline).toMatch(/^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$/);
    expect(forGwen.body).toContain(`before ${deadline}.`);
    // No raw instant in text a person reads; the count of approvals in words.
    expect(forGwen.body).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    expect(forGwen.body).not.toContain('approval(s)');
    expect((await api('gina', 'POST', `/api/announcements/${notice}/read`)).status).toBe(404);
  });

  it('reaches only approvers who may see the Skill: the notice names it and who asked', async () => {
    const role = await api('gina', 'POST', '/api/roles', {
      name: 'lookout',
      permissions: ['skill:read', 'approval:decide'],
    });
    expect(role.status, role.text).toBe(201);
    await addUser('lena', ['lookout']);
    sessions.gwen ??= await t.login(HOSTS.globex, 'gwen');
    const operatorsOnly = await skill('gina', {
      risk: 'medium',
      approval: 'one',
      visibility: { roles: ['operator'] },
    });
    const requested = await run('gina', operatorsOnly.id);
    expect(requested.status, requested.text).toBe(202);
    const notice = `approval-${requested.body.id}`;
    expect(await announcementIds('gwen')).toContain(notice);
    // lena holds approval:decide, but the Skill is not visible to her: no notice, as no run in her inbox.
    expect(await announcementIds('lena')).not.toContain(notice);
    expect((await api('lena', 'GET', '/api/approvals')).text).not.toContain(String(requested.body.id));
  });
});

describe('the demo tenant acme', () => {
  it('has two approvers besides whoever of its people asks for a high-risk or critical run', async () => {
    sessions.alice = await t.login(HOSTS.acme, 'alice');
    const highAcme = (await skill('alice', {}, HOSTS.acme)).id;
    const criticalAcme = (await skill('alice', { risk: 'critical' }, HOSTS.acme)).id;
    // bob first: with alice alone to approve his runs, the first of them is refused.
    for (const username of ['bob', 'alice', 'claire']) {
      sessions[username] ??= await t.login(HOSTS.acme, username);
      for (const skillId of [highAcme, criticalAcme]) {
        const response = await run(username, skillId, {}, HOSTS.acme);
        expect(response.status, `${username} → ${response.text}`).toBe(202);
        expect(response.body.status).toBe('pending_approval');
      }
    }
    const view = await api('alice', 'GET', `/api/skills/${criticalAcme}`, undefined, HOSTS.acme);
    expect(view.body.approvalWarning).toBeUndefined();
  });
});

describe('a tenant of many users', () => {
  // Users are read 100 at a time, in username order; past MAX_APPROVER_PAGES pages the count stops
  // and the run is let through. Tenant "crowd": n viewers ("v0000"…) and its one admin, "zed",
  // listed last, who asks for a run of a Skill only someone else may approve.
  async function crowd(id: string, viewers: number): Promise<string> {
    const host = `${id}.localhost`;
    await t.core.tenants.create({
      id,
      name: id,
      plan: 'standard',
      hosts: [host],
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    });
    const domain = (await t.core.hosts.resolve(host)) as TenantContext;
    await t.core.directory.createUser(domain, { username: 'zed', password: PASSWORD, roles: ['admin'] });
    // The viewers straight through the users' repository, with one hash: 1,000 scrypt hashes would
    // take a minute, and none of them signs in.
    const users = new DirectoryRepository(t.core.table);
    const passwordHash = await hashPassword(PASSWORD);
    const now = new Date().toISOString();
    for (let start = 0; start < viewers; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, viewers - start) }, (_, index) =>
          users.createUser(domain, {
            username: `v${String(start + index).padStart(4, '0')}`,
            passwordHash,
            roles: ['viewer'],
            superAdmin: false,
            disabled: false,
            consoleTenants: [],
            createdAt: now,
            updatedAt: now,
          }),
        ),
      );
    }
    sessions[`zed@${id}`] = await t.login(host, 'zed');
    return host;
  }

  async function request(id: string, host: string) {
    const user = `zed@${id}`;
    const gated = await skill(user, { risk: 'medium', approval: 'one' }, host);
    return run(user, gated.id, {}, host);
  }

  it(`refuses when all ${MAX_APPROVER_PAGES * 100} users fit the pages read, and none other than the requester may approve`, async () => {
    const host = await crowd('crowd-full', MAX_APPROVER_PAGES * 100 - 1);
    expectProblem(await request('crowd-full', host), 409, 'approvers-unavailable');
  });

  it('lets the run through when one user more is past the pages read (the count stops, it guards nothing)', async () => {
    const host = await crowd('crowd-over', MAX_APPROVER_PAGES * 100);
    const response = await request('crowd-over', host);
    expect(response.status, response.text).toBe(202);
    expect(response.body.status).toBe('pending_approval');
  });
});
