/**
 * Swallowed errors: a transient store error while checking an approval used to cancel the pending
 * run for good (`.catch(() => null)` read it as "the Skill changed"); the same pattern let a failed
 * read during tenant creation release a live tenant's host, and called a throttled version read
 * "no such version". Faults are injected into a real DynamoDB
 * client (an SDK middleware that throttles chosen reads) against the platform's real table: only a
 * definite "not found" may cancel; a throttled read leaves the run pending and answers a retryable
 * 503 over HTTP.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/clients/dynamodb.ts';
import type { Table } from '../../functions/core/db.ts';
import { ServiceUnavailableError } from '../../functions/core/errors.ts';
import { itemKey } from '../../functions/core/keys.ts';
import { createCore } from '../../functions/core/platform.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { readTenantSummary } from '../../functions/core/tenancy/hosts.ts';
import { problemFromError } from '../../functions/http/problem.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';

const t = await startTestPlatform('approval-faults-password');
let alice: string;
let bob: string;
let domain: TenantContext;

/** A table whose client throws a throttling error on reads of items whose sort key starts with `prefix`. */
function faultyTable(): { table: Table; failReadsOf: (prefix: string | null) => void } {
  const client = documentClient(t.platform.env);
  let prefix: string | null = null;
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Key?: { SK?: string } };
      if (prefix !== null && typeof input.Key?.SK === 'string' && input.Key.SK.startsWith(prefix)) {
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
          name: 'ProvisionedThroughputExceededException',
          $retryable: { throttling: true },
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'faultInjection' },
  );
  return {
    table: { client, name: t.platform.services.tableName },
    failReadsOf: (value) => {
      prefix = value;
    },
  };
}

beforeAll(async () => {
  [alice, bob] = await Promise.all([t.login(HOSTS.acme, 'alice'), t.login(HOSTS.acme, 'bob')]);
  const tenant = await readTenantSummary(t.core.table, 'acme', true);
  if (tenant === null) throw new Error('acme missing');
  domain = { kind: 'tenant', host: HOSTS.acme, tenant };
});
afterAll(async () => {
  await t.stop();
});

async function pendingRun(): Promise<{ executionId: string; skillId: string }> {
  const asset = await t.send({
    host: HOSTS.acme,
    token: alice,
    method: 'POST',
    path: '/api/assets/scripts',
    body: { name: 'a.py', source: 'def main(inputs, ctx):\n    return {}\n' },
  });
  const skill = await t.send({
    host: HOSTS.acme,
    token: alice,
    method: 'POST',
    path: '/api/skills',
    body: {
      name: 'Guarded',
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'medium',
      approval: 'one',
      asset: { kind: 'python-script', id: asset.body.id, version: 'active' },
    },
  });
  expect(skill.status, skill.text).toBe(201);
  const run = await t.send({
    host: HOSTS.acme,
    token: bob,
    method: 'POST',
    path: `/api/skills/${skill.body.id}/executions`,
    body: { input: {} },
  });
  expect(run.body.status, run.text).toBe('pending_approval');
  return { executionId: String(run.body.id), skillId: String(skill.body.id) };
}

describe('approvals under store faults', () => {
  it('leaves the run pending and answers a retryable error when the Skill cannot be read', async () => {
    const { executionId } = await pendingRun();
    const faulty = faultyTable();
    const core = createCore({ table: faulty.table, tokenSecret: t.tokenSecret });
    const approver = await core.auth.authenticate(domain, `Bearer ${alice}`);
    faulty.failReadsOf('SKILL#');
    const failure = await core.approvals.decide(domain, approver, executionId, 'approve', '').catch((e) => e);
    expect((failure as Error).name).toBe('ProvisionedThroughputExceededException');
    // The edge says: retry.
    const { response } = problemFromError(failure);
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect((await core.executions.find(domain, executionId))?.status).toBe('pending_approval');

    // Eager re-validation after a change hits the same fault: the run stays pending as well.
    await expect(core.approvals.revalidate(domain, 'alice', () => true)).rejects.toThrow(/throughput/);
    expect((await core.executions.find(domain, executionId))?.status).toBe('pending_approval');

    // Once the store answers again, the same decision goes through (over HTTP: that API dispatches).
    faulty.failReadsOf(null);
    const released = await t.send({
      host: HOSTS.acme,
      token: alice,
      method: 'POST',
      path: `/api/executions/${executionId}/approve`,
      body: { comment: 'ok' },
    });
    expect(released.status, released.text).toBe(200);
    expect(['requested', 'queued', 'running', 'succeeded']).toContain(released.body.status);
    faulty.table.client.destroy();
  });

  it('leaves the run pending when the script version cannot be read, too', async () => {
    const { executionId } = await pendingRun();
    const faulty = faultyTable();
    const core = createCore({ table: faulty.table, tokenSecret: t.tokenSecret });
    const approver = await core.auth.authenticate(domain, `Bearer ${alice}`);
    faulty.failReadsOf('ASSET#');
    await expect(core.approvals.decide(domain, approver, executionId, 'approve', '')).rejects.toThrow();
    expect((await core.executions.find(domain, executionId))?.status).toBe('pending_approval');
    faulty.table.client.destroy();
  });

  it('cancels only on a definite "not found": the Skill deleted', async () => {
    const { executionId, skillId } = await pendingRun();
    await t.core.table.client.send(
      new DeleteCommand({ TableName: t.core.table.name, Key: itemKey(domain, 'SKILL', skillId) }),
    );
    expect(await t.core.approvals.revalidate(domain, 'alice', () => true)).toBeGreaterThanOrEqual(1);
    expect((await t.core.executions.find(domain, executionId))?.status).toBe('cancelled');
  });

  it('maps a transient fault at the edge to 503, and a plain bug to 500', () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    expect(problemFromError(throttled).response.statusCode).toBe(503);
    expect(problemFromError(new TypeError('bug')).response.statusCode).toBe(500);
    expect(problemFromError(new ServiceUnavailableError('x')).response.statusCode).toBe(503);
  });
});

describe('a decision racing a cancel', () => {
  it('answers a vote cast as the run was cancelled with a 409, and audits no decision', async () => {
    const { executionId } = await pendingRun();
    // The requester's cancel lands between the approver's checks and the vote's write taking effect.
    const client = documentClient(t.platform.env);
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const item = (args.input as { Item?: { SK?: unknown } }).Item;
        if (typeof item?.SK === 'string' && item.SK.startsWith('VOTE#')) {
          const cancelled = await t.send({
            host: HOSTS.acme,
            token: bob,
            method: 'POST',
            path: `/api/executions/${executionId}/cancel`,
            body: {},
          });
          expect(cancelled.body.status, cancelled.text).toBe('cancelled');
        }
        return result;
      },
      { step: 'initialize', name: 'cancelAfterVote' },
    );
    const core = createCore({
      table: { client, name: t.platform.services.tableName },
      tokenSecret: t.tokenSecret,
    });
    const approver = await core.auth.authenticate(domain, `Bearer ${alice}`);
    const refused = await core.approvals.decide(domain, approver, executionId, 'approve', '').catch((e) => e);
    expect(problemFromError(refused).response.statusCode).toBe(409);
    expect((refused as Error).message).toMatch(/^The run was cancelled before this decision counted/);
    const audit = await t.send({
      host: HOSTS.acme,
      token: alice,
      path: `/api/audit?target=${encodeURIComponent(`execution:${executionId}`)}`,
    });
    const actions = audit.body.items.map((entry: { action: string }) => entry.action);
    expect(actions).toContain('execution.cancelled');
    expect(actions).not.toContain('approval.approved');
  });
});

describe('other reads that took a fault for "not found"', () => {
  it("does not release a live tenant's host when a create of the same id cannot read the tenant", async () => {
    const faulty = faultyTable();
    const core = createCore({ table: faulty.table, tokenSecret: t.tokenSecret });
    faulty.failReadsOf('TENANT');
    await expect(
      core.tenants.create({
        id: 'acme',
        name: 'Acme again',
        plan: 'standard',
        hosts: [HOSTS.acme],
        expiresAt: '2030-01-01T00:00:00Z',
      }),
    ).rejects.toThrow(/throughput/);
    faulty.table.client.destroy();
    const health = await t.send({ host: HOSTS.acme, path: '/api/health' });
    expect(health.status, health.text).toBe(200);
    expect(health.body.tenant.id).toBe('acme');
  });

  it('answers a throttled version read during activation with an error, not "no such version"', async () => {
    const asset = await t.send({
      host: HOSTS.acme,
      token: alice,
      method: 'POST',
      path: '/api/assets/scripts',
      body: { name: 'v.py', source: 'def main(inputs, ctx):\n    return {}\n' },
    });
    const faulty = faultyTable();
    const core = createCore({ table: faulty.table, tokenSecret: t.tokenSecret });
    faulty.failReadsOf('ASSETV#');
    const failure = await core.scripts
      .activate(domain, String(asset.body.id), 1, { username: 'alice', via: 'session' })
      .catch((error: unknown) => error);
    expect((failure as Error).name).toBe('ProvisionedThroughputExceededException');
    faulty.table.client.destroy();
  });
});
