/**
 * Issue 7 through the local platform: risk-driven approvals bound to the exact run, separation of
 * duties, exactly-once release under concurrent decisions, invalidation on change, expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/clients/dynamodb.ts';
import { sweepStaleExecutions } from '../../functions/core/executions/sweep.ts';
import { createCore } from '../../functions/core/platform.ts';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call } from '../support/http.ts';
import { signIn, waitForRun } from '../support/session.ts';

const PASSWORD = 'approvals-test-password';
const ACME = 'acme.localhost';
const GLOBEX = 'globex.localhost';

let platform: LocalPlatform;
const tokens: Record<string, string> = {};

function login(host: string, username: string): Promise<string> {
  return signIn(platform.url, host, username, PASSWORD);
}

function as(user: string, method: string, path: string, body?: unknown, host = ACME) {
  return call(platform.url, { host, token: tokens[user], method, path, body });
}

let assetId: string;

async function skill(risk: string, approval?: string): Promise<string> {
  const response = await as('alice', 'POST', '/api/skills', {
    name: `Transfer (${risk})`,
    inputSchema: { type: 'object', properties: { amount: { type: 'integer' } }, required: ['amount'] },
    outputSchema: { type: 'object' },
    risk,
    ...(approval === undefined ? {} : { approval }),
    asset: { kind: 'python-script', id: assetId, version: 'active' },
  });
  expect(response.status, response.text).toBe(201);
  return response.body.id;
}

async function request(skillId: string, amount = 10, user = 'bob'): Promise<string> {
  const response = await as(user, 'POST', `/api/skills/${skillId}/executions`, { input: { amount } });
  expect(response.status, response.text).toBe(202);
  expect(response.body.status).toBe('pending_approval');
  return response.body.id;
}

async function statusOf(id: string): Promise<string> {
  return (await as('alice', 'GET', `/api/executions/${id}`)).body.status;
}

function finished(id: string) {
  return waitForRun({ url: platform.url, host: ACME, token: tokens.alice ?? '' }, id, { timeoutMs: 20_000 });
}

async function auditActions(id: string): Promise<string[]> {
  const audit = await as('alice', 'GET', '/api/audit?limit=100');
  return audit.body.items
    .filter((entry: { target: string }) => entry.target === `execution:${id}`)
    .map((entry: { action: string }) => entry.action);
}

beforeAll(async () => {
  platform = await startLocalPlatform({
    port: 0,
    dataDir: null,
    schedules: false,
    demoPassword: PASSWORD,
    log: () => undefined,
  });
  tokens.alice = await login(ACME, 'alice');
  for (const [username, roles] of [
    ['carol', ['operator']],
    ['erin', ['operator']],
    ['dave', ['viewer']],
  ] as const) {
    const created = await as('alice', 'POST', '/api/users', {
      username,
      password: PASSWORD,
      roles: [...roles],
    });
    expect(created.status, created.text).toBe(201);
  }
  for (const username of ['bob', 'carol', 'erin', 'dave']) tokens[username] = await login(ACME, username);
  tokens.gina = await login(GLOBEX, 'gina');
  const script = await as('alice', 'POST', '/api/assets/scripts', {
    name: 'transfer.py',
    source:
      'def main(inputs, ctx):\n    print("moved", inputs["amount"])\n    return {"moved": inputs["amount"]}\n',
  });
  assetId = script.body.id;
});

afterAll(async () => {
  await platform?.stop();
});

describe('policy', () => {
  it('refuses a Skill that demands fewer approvals than its risk', async () => {
    const response = await as('alice', 'POST', '/api/skills', {
      name: 'risky',
      inputSchema: {},
      outputSchema: {},
      risk: 'high',
      approval: 'one',
      asset: { kind: 'python-script', id: assetId, version: 'active' },
    });
    expect(response.status).toBe(422);
    expect(response.body.errors[0].path).toBe('approval');
  });

  it('queues a low-risk run without approval and holds a medium-risk one', async () => {
    const low = await as('bob', 'POST', `/api/skills/${await skill('low')}/executions`, {
      input: { amount: 1 },
    });
    expect(low.body.status).not.toBe('pending_approval');
    await request(await skill('medium'));
  });
});

describe('a high-risk run', () => {
  let skillId: string;
  beforeAll(async () => {
    skillId = await skill('high');
  });

  it('needs two different approvers and runs exactly once after the second', async () => {
    const id = await request(skillId);
    const inbox = await as('alice', 'GET', '/api/approvals');
    const entry = inbox.body.items.find((item: { id: string }) => item.id === id);
    expect(entry).toMatchObject({
      status: 'pending_approval',
      approvalsRequired: 2,
      canDecide: true,
      approvals: [],
    });
    const own = (await as('bob', 'GET', '/api/approvals')).body.items.find(
      (item: { id: string }) => item.id === id,
    );
    expect(own.canDecide).toBe(false);

    const first = await as('alice', 'POST', `/api/executions/${id}/approve`, { comment: 'looks right' });
    expect(first.status, first.text).toBe(200);
    expect(first.body.status).toBe('pending_approval');
    const second = await as('carol', 'POST', `/api/executions/${id}/approve`, {});
    expect(second.status).toBe(200);
    const execution = await finished(id);
    expect(execution).toMatchObject({ status: 'succeeded', output: { moved: 10 } });
    const actions = await auditActions(id);
    expect(actions.filter((action) => action === 'execution.queued')).toHaveLength(1);
    expect(actions.filter((action) => action === 'execution.succeeded')).toHaveLength(1);
    expect(actions.filter((action) => action.startsWith('approval.approved'))).toHaveLength(2);
  });

  it('refuses self-approval, a double vote, a viewer’s vote and a vote from another tenant', async () => {
    const id = await request(skillId);
    const self = await as('bob', 'POST', `/api/executions/${id}/approve`, {});
    expect(self.status).toBe(403);
    expect((await as('alice', 'POST', `/api/executions/${id}/approve`, {})).status).toBe(200);
    const again = await as('alice', 'POST', `/api/executions/${id}/approve`, {});
    expect(again.status).toBe(409);
    const viewer = await as('dave', 'POST', `/api/executions/${id}/approve`, {});
    expect(viewer.status).toBe(403);
    const foreign = await as('gina', 'POST', `/api/executions/${id}/approve`, {}, GLOBEX);
    expect(foreign.status).toBe(404);
    const crossHost = await call(platform.url, {
      host: GLOBEX,
      token: tokens.carol,
      method: 'POST',
      path: `/api/executions/${id}/approve`,
      body: {},
    });
    expect(crossHost.status).toBe(401);
    expect(await statusOf(id)).toBe('pending_approval');
  });

  it('queues the run exactly once when two approvers decide at the same instant', async () => {
    const id = await request(skillId, 42);
    const [a, b] = await Promise.all([
      as('carol', 'POST', `/api/executions/${id}/approve`, {}),
      as('erin', 'POST', `/api/executions/${id}/approve`, {}),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const execution = await finished(id);
    expect(execution.status).toBe('succeeded');
    const actions = await auditActions(id);
    expect(actions.filter((action) => action === 'execution.queued')).toHaveLength(1);
    expect(actions.filter((action) => action === 'execution.succeeded')).toHaveLength(1);
  });

  it('ends with one rejection', async () => {
    const id = await request(skillId);
    await as('alice', 'POST', `/api/executions/${id}/approve`, {});
    const rejected = await as('carol', 'POST', `/api/executions/${id}/reject`, { comment: 'not today' });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', error: { type: 'Rejected' } });
    expect((await as('erin', 'POST', `/api/executions/${id}/approve`, {})).status).toBe(409);
  });

  it('is invalidated when the script’s active version changes before approval completes', async () => {
    const id = await request(skillId);
    await as('alice', 'POST', `/api/executions/${id}/approve`, {});
    const v2 = await as('alice', 'POST', `/api/assets/scripts/${assetId}/versions`, {
      source: 'def main(inputs, ctx):\n    return {"moved": 0}\n',
    });
    const activated = await as('alice', 'PUT', `/api/assets/scripts/${assetId}/active`, {
      version: v2.body.version,
    });
    expect(activated.status).toBe(200);
    const execution = (await as('alice', 'GET', `/api/executions/${id}`)).body;
    expect(execution).toMatchObject({ status: 'cancelled', error: { type: 'ApprovalInvalidated' } });
    const late = await as('carol', 'POST', `/api/executions/${id}/approve`, {});
    expect(late.status).toBe(409);
    await as('alice', 'PUT', `/api/assets/scripts/${assetId}/active`, { version: 1 });
  });

  it('is invalidated when the Skill definition changes', async () => {
    const id = await request(skillId);
    const current = (await as('alice', 'GET', `/api/skills/${skillId}`)).body;
    const updated = await as('alice', 'PUT', `/api/skills/${skillId}`, {
      name: current.name,
      description: 'changed',
      inputSchema: current.inputSchema,
      outputSchema: current.outputSchema,
      risk: 'high',
      asset: current.asset,
    });
    expect(updated.status, updated.text).toBe(200);
    expect(await statusOf(id)).toBe('cancelled');
  });
});

describe('critical runs', () => {
  it('need a tenant admin among the approvers', async () => {
    const id = await request(await skill('critical'));
    await as('carol', 'POST', `/api/executions/${id}/approve`, {});
    const two = await as('erin', 'POST', `/api/executions/${id}/approve`, {});
    expect(two.body.status).toBe('pending_approval');
    await as('alice', 'POST', `/api/executions/${id}/approve`, {});
    expect((await finished(id)).status).toBe('succeeded');
  });
});

describe('notifications and expiry', () => {
  it('announces a pending run to approvers', async () => {
    const id = await request(await skill('medium'));
    const announcements = await as('carol', 'GET', '/api/announcements');
    expect(announcements.body.items.some((item: { id: string }) => item.id === `approval-${id}`)).toBe(true);
    const viewer = await as('dave', 'GET', '/api/announcements');
    expect(viewer.body.items.some((item: { id: string }) => item.id === `approval-${id}`)).toBe(false);
  });

  it('expires a pending run after the tenant’s configured time', async () => {
    expect(
      (await as('alice', 'POST', '/api/parameters', { key: 'approvals.expiryHours', value: '1' })).status,
    ).toBe(201);
    const id = await request(await skill('medium'));
    const table = {
      client: documentClient(platform.env),
      name: platform.services.tableName,
    };
    const core = createCore({ table });
    const inOneHourAndABit = new Date(Date.now() + 61 * 60 * 1000);
    const swept = await sweepStaleExecutions({
      table,
      audit: core.audit,
      executions: core.executions,
      now: () => inOneHourAndABit,
    });
    expect(swept.changed).toContainEqual({
      tenantId: 'acme',
      executionId: id,
      action: 'cancelled:approval-expired',
    });
    const execution = (await as('alice', 'GET', `/api/executions/${id}`)).body;
    expect(execution).toMatchObject({ status: 'cancelled', error: { type: 'ApprovalExpired' } });
    expect(await auditActions(id)).toContain('execution.cancelled');
  });
});
