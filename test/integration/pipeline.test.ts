/**
 * Issue 4 end to end through the local platform: upload → Skill → run → result, bad input, output
 * schema violations, hot update vs a running run, idempotency, suspended tenants, poison messages
 * and lost workers — over real HTTP, real queues and the real Python worker.
 */
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/clients/dynamodb.ts';
import { sweepStaleExecutions } from '../../functions/core/executions/sweep.ts';
import { MAC_ATTRIBUTE } from '../../functions/core/messages/signing.ts';
import { createCore } from '../../functions/core/platform.ts';
import { Queues } from '../../functions/core/queues.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { readTenantSummary } from '../../functions/core/tenancy/hosts.ts';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call, type TestResponse } from '../support/http.ts';
import { settled, signIn, waitForRun } from '../support/session.ts';

const PASSWORD = 'pipeline-test-password';
const ACME = 'acme.localhost';
const GLOBEX = 'globex.localhost';

let platform: LocalPlatform;
let alice: string;
let bob: string;
let gina: string;

function login(host: string, username: string): Promise<string> {
  return signIn(platform.url, host, username, PASSWORD);
}

function api(
  host: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) {
  return call(platform.url, { host, token, method, path, body, ...(headers ? { headers } : {}) });
}

async function createScript(source: string, name = 'script.py'): Promise<string> {
  const response = await api(ACME, alice, 'POST', '/api/assets/scripts', { name, source });
  expect(response.status, response.text).toBe(201);
  return response.body.id;
}

const sumSchemas = {
  inputSchema: {
    type: 'object',
    properties: { a: { type: 'integer' }, b: { type: 'integer' } },
    required: ['a', 'b'],
    additionalProperties: false,
  },
  outputSchema: { type: 'object', properties: { sum: { type: 'integer' } }, required: ['sum'] },
};

async function createSkill(assetId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await api(ACME, alice, 'POST', '/api/skills', {
    name: 'Sum',
    description: 'adds',
    ...sumSchemas,
    risk: 'low',
    asset: { kind: 'python-script', id: assetId, version: 'active' },
    limits: { timeoutSeconds: 20 },
    ...extra,
  });
  expect(response.status, response.text).toBe(201);
  return response.body.id;
}

async function run(
  skillId: string,
  input: unknown,
  token = bob,
  headers?: Record<string, string>,
): Promise<TestResponse> {
  return api(ACME, token, 'POST', `/api/skills/${skillId}/executions`, { input }, headers);
}

function waitFor(id: string, token = bob, done = settled) {
  return waitForRun({ url: platform.url, host: ACME, token }, id, { until: done, timeoutMs: 30_000 });
}

async function acmeDomain(): Promise<TenantContext> {
  const table = {
    client: documentClient(platform.env),
    name: platform.services.tableName,
  };
  const tenant = await readTenantSummary(table, 'acme', true);
  if (tenant === null) throw new Error('acme missing');
  return { kind: 'tenant', host: ACME, tenant };
}

beforeAll(async () => {
  platform = await startLocalPlatform({
    port: 0,
    dataDir: null,
    schedules: false,
    demoPassword: PASSWORD,
    visibilityTimeoutSeconds: 1,
    log: () => undefined,
  });
  [alice, bob, gina] = await Promise.all([login(ACME, 'alice'), login(ACME, 'bob'), login(GLOBEX, 'gina')]);
});

afterAll(async () => {
  await platform?.stop();
});

describe('upload → Skill → run → result', () => {
  it('runs a script behind a Skill and records its output, logs and asset version', async () => {
    const assetId = await createScript(
      'def main(inputs, ctx):\n    print("adding")\n    return {"sum": inputs["a"] + inputs["b"]}\n',
    );
    const skillId = await createSkill(assetId);
    const started = await run(skillId, { a: 2, b: 3 });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: expect.stringMatching(/requested|queued/) });
    const execution = await waitFor(started.body.id);
    expect(execution).toMatchObject({
      status: 'succeeded',
      output: { sum: 5 },
      skillId,
      asset: { kind: 'python-script', id: assetId, version: 1 },
      logs: { stdout: 'adding\n', truncated: false },
    });
    expect(execution.finishedAt).toBeDefined();
    const list = await api(ACME, bob, 'GET', '/api/executions?limit=5');
    expect(list.body.items[0].id).toBe(started.body.id);
  });

  it('records a script exception as failed with its type and message', async () => {
    const assetId = await createScript('def main(inputs, ctx):\n    raise ValueError("no good")\n');
    const skillId = await createSkill(assetId);
    const execution = await waitFor((await run(skillId, { a: 1, b: 1 })).body.id);
    expect(execution.status).toBe('failed');
    expect(execution.error).toMatchObject({
      type: 'ValueError',
      message: expect.stringContaining('no good'),
    });
  });

  it('fails a run whose output breaks the output schema, saying why', async () => {
    const assetId = await createScript('def main(inputs, ctx):\n    return {"sum": "not a number"}\n');
    const skillId = await createSkill(assetId);
    const execution = await waitFor((await run(skillId, { a: 1, b: 1 })).body.id);
    expect(execution.status).toBe('failed');
    expect(execution.error.type).toBe('OutputSchemaViolation');
    expect(execution.error.issues[0].path).toBe('output.sum');
    expect(execution.output).toBeUndefined();
  });
});

describe('bad input', () => {
  let skillId: string;
  beforeAll(async () => {
    skillId = await createSkill(await createScript('def main(inputs, ctx):\n    return {"sum": 0}\n'));
  });

  it('refuses input that breaks the input schema with the offending fields', async () => {
    const response = await run(skillId, { a: 1 });
    expect(response.status).toBe(422);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.body.errors.length).toBeGreaterThan(0);
    expect(response.body.errors[0]).toEqual({ path: 'input', message: "must have required property 'b'" });
    const unknownField = await run(skillId, { a: 1, b: 2, c: 3 });
    expect(unknownField.body.errors).toContainEqual({
      path: 'input',
      message: "must not have the property 'c'",
    });
    const wrongType = await run(skillId, { a: 'one', b: 2 });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.errors[0].path).toBe('input.a');
  });

  it('refuses a body of the wrong shape and unknown fields', async () => {
    const extra = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, {
      input: { a: 1, b: 2 },
      sneaky: 1,
    });
    expect(extra.status).toBe(422);
    const notJson = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, '{"input":', {
      'content-type': 'application/json',
    });
    expect(notJson.status).toBe(400);
    for (const input of [[1, 2], 'text', 42, null]) {
      const notObject = await run(skillId, input);
      expect(notObject.status).toBe(422);
      expect(notObject.body.errors[0].path).toBe('input');
    }
  });

  it('answers 404 for an unknown Skill and for another tenant’s Skill', async () => {
    expect((await run('skl-000000000000', { a: 1, b: 2 })).status).toBe(404);
    const globexScript = await api(GLOBEX, gina, 'POST', '/api/assets/scripts', {
      name: 'g.py',
      source: 'def main(inputs, ctx):\n    return {"sum": 1}\n',
    });
    const globexSkill = await api(GLOBEX, gina, 'POST', '/api/skills', {
      name: 'Globex only',
      ...sumSchemas,
      risk: 'low',
      asset: { kind: 'python-script', id: globexScript.body.id, version: 'active' },
    });
    expect(globexSkill.status).toBe(201);
    const cross = await run(globexSkill.body.id, { a: 1, b: 2 });
    expect(cross.status).toBe(404);
    expect(cross.text).not.toContain('Globex only');
    // …nor can acme bind a Skill to globex's script.
    const bind = await api(ACME, alice, 'POST', '/api/skills', {
      name: 'steal',
      ...sumSchemas,
      risk: 'low',
      asset: { kind: 'python-script', id: globexScript.body.id, version: 'active' },
    });
    expect(bind.status).toBe(422);
  });

  it('refuses invalid schemas and bindings when a Skill is saved', async () => {
    const badSchema = await api(ACME, alice, 'POST', '/api/skills', {
      name: 'bad',
      inputSchema: { type: 'no-such-type' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'python-script', id: 'scr-000000000000', version: 'active' },
    });
    expect(badSchema.status).toBe(422);
    expect(badSchema.body.detail).toContain('inputSchema');
    const badKind = await api(ACME, alice, 'POST', '/api/skills', {
      name: 'bad',
      ...sumSchemas,
      risk: 'low',
      asset: { kind: 'cobol', id: 'x' },
    });
    expect(badKind.status).toBe(422);
  });

  it('lets an operator run but not manage', async () => {
    const response = await api(ACME, bob, 'POST', '/api/assets/scripts', {
      name: 'x',
      source: 'def main(i, c):\n    return 1\n',
    });
    expect(response.status).toBe(403);
  });
});

describe('script uploads', () => {
  it('syntax-checks uploads in the Python runtime and reports the line', async () => {
    const response = await api(ACME, alice, 'POST', '/api/assets/scripts', {
      name: 'broken.py',
      source: 'def main(inputs, ctx):\n    return (\n',
    });
    expect(response.status).toBe(422);
    expect(response.body.detail).toMatch(/line \d+/);
    const noMain = await api(ACME, alice, 'POST', '/api/assets/scripts', { name: 'x.py', source: 'x = 1\n' });
    expect(noMain.status).toBe(422);
  });

  it("places a syntax error in the source's text as the issue's line and column, for an editor", async () => {
    const response = await api(ACME, alice, 'POST', '/api/assets/scripts', {
      name: 'colon.py',
      source: '# a comment\n\ndef main(inputs, ctx)\n    return {}\n',
    });
    expect(response.status, response.text).toBe(422);
    expect(response.body.errors).toEqual([
      { path: 'source', message: expect.stringContaining('(line 3, column 22)'), line: 3, column: 22 },
    ]);
    // A problem with no place in the text (no main) carries none.
    const noMain = await api(ACME, alice, 'POST', '/api/assets/scripts', { name: 'x.py', source: 'x = 1\n' });
    expect(noMain.body.errors).toEqual([{ path: 'source', message: expect.any(String) }]);
  });

  it('accepts a script of exactly 256 KiB and refuses one byte more', async () => {
    const head = 'def main(inputs, ctx):\n    return {"sum": 0}\n';
    const limit = 256 * 1024;
    const exact = `${head}#${'x'.repeat(limit - head.length - 2)}\n`;
    expect(Buffer.byteLength(exact)).toBe(limit);
    const accepted = await api(ACME, alice, 'POST', '/api/assets/scripts', { name: 'big.py', source: exact });
    expect(accepted.status, accepted.text).toBe(201);
    const over = await api(ACME, alice, 'POST', '/api/assets/scripts', {
      name: 'big.py',
      source: `${exact}#`,
    });
    expect(over.status).toBe(413);
    expect(over.body.type).toBe('urn:execfabric:problem:payload-too-large');
  });

  it('keeps versions immutable, lists them and rolls back', async () => {
    const assetId = await createScript('def main(inputs, ctx):\n    return {"sum": 1}\n');
    const v2 = await api(ACME, alice, 'POST', `/api/assets/scripts/${assetId}/versions`, {
      source: 'def main(inputs, ctx):\n    return {"sum": 2}\n',
      note: 'two',
    });
    expect(v2.status).toBe(201);
    expect(v2.body.version).toBe(2);
    const versions = await api(ACME, alice, 'GET', `/api/assets/scripts/${assetId}/versions`);
    expect(versions.body.items.map((item: { version: number }) => item.version)).toEqual([2, 1]);
    expect(versions.body.items[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(versions.body.items[0].source).toBeUndefined();
    expect(
      (await api(ACME, alice, 'PUT', `/api/assets/scripts/${assetId}/active`, { version: 9 })).status,
    ).toBe(422);
    const active = await api(ACME, alice, 'PUT', `/api/assets/scripts/${assetId}/active`, { version: 2 });
    expect(active.body.activeVersion).toBe(2);
    const back = await api(ACME, alice, 'PUT', `/api/assets/scripts/${assetId}/active`, { version: 1 });
    expect(back.body.activeVersion).toBe(1);
  });
});

describe('hot update', () => {
  it('changes the next run and not a running one', async () => {
    const assetId = await createScript(
      'import time\n\ndef main(inputs, ctx):\n    time.sleep(2)\n    return {"sum": 1}\n',
    );
    const skillId = await createSkill(assetId);
    const first = await run(skillId, { a: 0, b: 0 });
    await waitFor(first.body.id, bob, (status) => status === 'running');
    const v2 = await api(ACME, alice, 'POST', `/api/assets/scripts/${assetId}/versions`, {
      source: 'def main(inputs, ctx):\n    return {"sum": 2}\n',
    });
    await api(ACME, alice, 'PUT', `/api/assets/scripts/${assetId}/active`, { version: v2.body.version });
    const second = await run(skillId, { a: 0, b: 0 });
    const [a, b] = await Promise.all([waitFor(first.body.id), waitFor(second.body.id)]);
    expect(a).toMatchObject({ status: 'succeeded', output: { sum: 1 }, asset: { version: 1 } });
    expect(b).toMatchObject({ status: 'succeeded', output: { sum: 2 }, asset: { version: 2 } });
  });
});

describe('idempotency', () => {
  it('returns the same execution for the same key and refuses the key for another request', async () => {
    const skillId = await createSkill(await createScript('def main(inputs, ctx):\n    return {"sum": 7}\n'));
    const key = { 'idempotency-key': `key-${Date.now()}` };
    const first = await run(skillId, { a: 1, b: 2 }, bob, key);
    const again = await run(skillId, { a: 1, b: 2 }, bob, key);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.replayed).toBe(true);
    const other = await run(skillId, { a: 9, b: 9 }, bob, key);
    expect(other.status).toBe(409);
    await waitFor(first.body.id);
    const audit = await api(ACME, alice, 'GET', '/api/audit?limit=100');
    const succeeded = audit.body.items.filter(
      (entry: { action: string; target: string }) =>
        entry.action === 'execution.succeeded' && entry.target === `execution:${first.body.id}`,
    );
    expect(succeeded).toHaveLength(1);
  });
});

describe('faults', () => {
  let skillId: string;
  let parkedQueueUrl: string;

  beforeAll(async () => {
    skillId = await createSkill(await createScript('def main(inputs, ctx):\n    return {"sum": 3}\n'));
    const parked = await platform.services.sqs.send(new CreateQueueCommand({ QueueName: 'parked-jobs' }));
    parkedQueueUrl = parked.QueueUrl ?? '';
  });

  /** A run whose job lands on a queue nobody reads, so the test decides what the worker sees. */
  async function parkedRun(): Promise<{ id: string; job: Record<string, unknown>; mac: string }> {
    const table = {
      client: documentClient(platform.env),
      name: platform.services.tableName,
    };
    const core = createCore({
      table,
      signer: platform.signer,
      queues: new Queues(platform.services.sqs, { 'script-executions': parkedQueueUrl }, platform.signer),
    });
    const domain = await acmeDomain();
    const caller = {
      username: 'bob',
      roles: ['operator'],
      permissions: new Set(['skill:read', 'skill:run', 'execution:read']),
      superAdmin: false,
      via: 'session' as const,
      credentialId: 'test',
    };
    const { execution } = await core.executions.request(domain, caller, skillId, { a: 1, b: 2 });
    const received = await platform.services.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: parkedQueueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 2,
        MessageAttributeNames: ['All'],
      }),
    );
    const message = received.Messages?.[0];
    const mac = message?.MessageAttributes?.[MAC_ATTRIBUTE]?.StringValue;
    if (message?.Body === undefined || mac === undefined) throw new Error('no parked job');
    return { id: execution.id, job: JSON.parse(message.Body), mac };
  }

  /** Sends a job to the script queue as a dispatcher would (body and MAC). */
  async function sendJob(body: string, mac: string): Promise<void> {
    await platform.services.sqs.send(
      new SendMessageCommand({
        QueueUrl: platform.services.queues['script-executions'].url,
        MessageBody: body,
        MessageAttributes: { [MAC_ATTRIBUTE]: { DataType: 'String', StringValue: mac } },
        MessageGroupId: 'acme',
      }),
    );
  }

  it('runs a job delivered twice only once and records it once', async () => {
    const { id, job, mac } = await parkedRun();
    for (let copy = 0; copy < 2; copy++) await sendJob(JSON.stringify(job), mac);
    const execution = await waitFor(id);
    expect(execution.status).toBe('succeeded');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const audit = await api(ACME, alice, 'GET', '/api/audit?limit=100');
    const transitions = audit.body.items
      .filter((entry: { target: string }) => entry.target === `execution:${id}`)
      .map((entry: { action: string }) => entry.action)
      .sort();
    // Written `queued` with its request (one `execution.requested` entry saying so), and a job
    // shorter than the worker's heartbeat interval sends no `started`: queued → succeeded, with its
    // start time taken from the result.
    expect(transitions).toEqual(['execution.requested', 'execution.succeeded']);
    expect(execution.startedAt).toEqual(expect.any(String));
  });

  it('records a result naming its run’s Skill revision in one update, and checks any other against the run’s own schema', async () => {
    const core = createCore({
      table: {
        client: documentClient(platform.env),
        name: platform.services.tableName,
      },
    });
    const domain = await acmeDomain();
    const result = (id: string, skillRevision: number, output: unknown, reportId: string) =>
      core.executions.recordResult(domain, {
        kind: 'result',
        executionId: id,
        tenantId: 'acme',
        skillId,
        skillRevision,
        status: 'succeeded',
        output,
        reportId,
        metrics: { startedAt: new Date().toISOString() },
      });

    // The job names the run's revision; the worker echoes it in the result.
    const named = await parkedRun();
    const run = await core.executions.find(domain, named.id);
    expect(named.job.skillRevision).toBe(run?.skillRevision);
    const revision = Number(run?.skillRevision);
    expect(await result(named.id, revision, { sum: 3 }, 'named')).toBe('recorded');
    expect(await result(named.id, revision, { sum: 3 }, 'named')).toBe('replayed');
    expect(await result(named.id, revision, { sum: 4 }, 'other')).toBe('already-finished');
    const recorded = await core.executions.find(domain, named.id);
    expect(recorded).toMatchObject({ status: 'succeeded', output: { sum: 3 }, resultReportId: 'named' });
    expect(recorded?.startedAt).toEqual(expect.any(String));

    // A report naming another revision (no such one) is not written as named: the run is read and
    // the output checked against the schema of the revision that ran (`sum` is required).
    const other = await parkedRun();
    expect(await result(other.id, revision + 1, { total: 3 }, 'forged')).toBe('recorded');
    expect(await core.executions.find(domain, other.id)).toMatchObject({
      status: 'failed',
      error: { type: 'OutputSchemaViolation' },
    });
    core.table.client.destroy();
  });

  it('sends a poison job to the dead-letter queue and marks its execution failed with the reason', async () => {
    const { id, job } = await parkedRun();
    // Signed, so the worker believes whose it is, but not a job it can run.
    const poison = JSON.stringify({ ...job, asset: 'not an asset' });
    await sendJob(poison, platform.signer.sign('job', poison));
    const execution = await waitFor(id);
    expect(execution.status).toBe('failed');
    expect(execution.error.type).toBe('DeadLettered');
  }, 60_000);

  it('closes a run whose worker died mid-job instead of leaving it running forever', async () => {
    const { id } = await parkedRun();
    const table = {
      client: documentClient(platform.env),
      name: platform.services.tableName,
    };
    const core = createCore({ table });
    const domain = await acmeDomain();
    await core.executions.recordStarted(domain, {
      kind: 'started',
      executionId: id,
      tenantId: 'acme',
      startedAt: new Date().toISOString(),
    });
    expect((await api(ACME, bob, 'GET', `/api/executions/${id}`)).body.status).toBe('running');
    const later = new Date(Date.now() + 3600 * 1000);
    const swept = await sweepStaleExecutions({
      table,
      audit: core.audit,
      executions: core.executions,
      now: () => later,
    });
    expect(swept.changed).toContainEqual({ tenantId: 'acme', executionId: id, action: 'failed:worker-lost' });
    const execution = await api(ACME, bob, 'GET', `/api/executions/${id}`);
    expect(execution.body).toMatchObject({ status: 'failed', error: { type: 'WorkerLost' } });
  });

  it('refuses runs of a suspended tenant with a 403 that says why, while reads still work', async () => {
    const table = {
      client: documentClient(platform.env),
      name: platform.services.tableName,
    };
    const core = createCore({ table });
    await core.tenants.setStatus('acme', 'suspended');
    try {
      const refused = await run(skillId, { a: 1, b: 2 });
      expect(refused.status).toBe(403);
      expect(refused.body.type).toBe('urn:execfabric:problem:tenant-suspended');
      expect(refused.body.detail).toContain('suspended');
      expect((await api(ACME, bob, 'GET', '/api/skills')).status).toBe(200);
    } finally {
      await core.tenants.setStatus('acme', 'active');
    }
  });
});
