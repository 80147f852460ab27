/**
 * The fault suite on the embedded platform (issue 12): the Python host killed mid-job, duplicate and
 * reordered deliveries of jobs and reports, and a dead-letter queue filling up at once. Whatever
 * happens, nothing is lost (every run ends, with its cause), nothing runs twice (each run counts its
 * own executions in the tenant's extension data, through the real data relay), nothing is stuck.
 * Killing the whole platform and a full disk are in crash-restart.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../functions/core/executions/executions.ts';
import { PythonScriptExecutor } from '../../functions/core/executors/python-script.ts';
import { ExecutorRegistry } from '../../functions/core/executors/registry.ts';
import { MAC_ATTRIBUTE } from '../../functions/core/messages/signing.ts';
import { Queues } from '../../functions/core/queues.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { LOCAL_REGION } from '../../lib/local/services.ts';
import { expectProblem, HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';

const PASSWORD = 'integration-faults-password';
const ACME = HOSTS.acme;

/** Counts its own executions in the `runs` collection, then sleeps as long as it is told. */
const COUNTER = `import time

def main(inputs, ctx):
    runs = ctx.data.collection("runs")
    record = runs.get(ctx.execution_id)
    count = (record.value["count"] if record else 0) + 1
    runs.put(ctx.execution_id, {"count": count}, expected_version=record.version if record else 0)
    print("counted", count, flush=True)
    time.sleep(float(inputs.get("sleep", 0)))
    return {"count": count}
`;

let platform: TestPlatform;
let alice: string;
let bob: string;
let counter: string;
let careful: string;

function api(token: string, method: string, path: string, body?: unknown) {
  return platform.send({ host: ACME, method, path, body, token });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, tries = 400): Promise<T> {
  for (let attempt = 0; attempt < tries; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`never: ${what}`);
}

async function start(skillId: string, input: Record<string, unknown> = {}): Promise<string> {
  const started = await api(bob, 'POST', `/api/skills/${skillId}/executions`, { input });
  expect(started.status, started.text).toBe(202);
  return String(started.body.id);
}

async function runOf(id: string): Promise<Record<string, unknown>> {
  return (await api(alice, 'GET', `/api/executions/${id}`)).body;
}

async function ended(id: string): Promise<Record<string, unknown>> {
  return until(`run ${id} ends`, async () => {
    const run = await runOf(id);
    return ['succeeded', 'failed', 'timed_out', 'cancelled', 'rejected'].includes(String(run.status))
      ? run
      : undefined;
  });
}

/** How often the script of run `id` ran (0 when never). */
async function executionsOf(id: string): Promise<number> {
  const record = await api(alice, 'GET', `/api/data/collections/runs/records/${id}`);
  if (record.status === 404) return 0;
  expect(record.status, record.text).toBe(200);
  return Number(record.body.value.count);
}

async function skill(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const made = await scriptSkill(api, alice, COUNTER, {
    scriptName: `${name}.py`,
    skill: {
      name,
      outputSchema: true,
      collections: ['runs'],
      limits: { timeoutSeconds: 60, memoryMb: 256 },
      ...extra,
    },
  });
  return made.skillId;
}

/** Processes whose parent is this one and whose command line names `marker`. */
function childProcesses(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (parent === process.pid && command.includes(marker)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Processes running as a job uid (the sandbox gives each job its own, far above any user's). */
function jobProcesses(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      if (uid >= 2_000_000_000) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * Dispatches a run's job again through the real queue, as a duplicate delivery or a re-dispatch
 * would, and keeps each message sent (body and MAC) to send it again verbatim.
 */
function redispatcher() {
  const services = platform.platform.services;
  const sent: { body: string; mac: string }[] = [];
  const sqs = new SQSClient({
    endpoint: services.sqsEndpoint,
    region: LOCAL_REGION,
    credentials: services.credentials,
  });
  sqs.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as SendMessageCommand['input'];
      if (input.MessageBody !== undefined) {
        sent.push({
          body: input.MessageBody,
          mac: input.MessageAttributes?.[MAC_ATTRIBUTE]?.StringValue ?? '',
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'captureJobs' },
  );
  const core = platform.core;
  const executor = new PythonScriptExecutor({
    assets: core.scripts,
    queues: new Queues(
      sqs,
      { 'script-executions': services.queues['script-executions'].url },
      platform.platform.signer,
    ),
    resources: core.httpResources,
    signer: platform.platform.signer,
  });
  const registry = new ExecutorRegistry().register(executor);
  return {
    sent,
    async dispatch(domain: TenantContext, execution: Execution): Promise<void> {
      const definition = await core.skills.revision(domain, execution.skillId, execution.skillRevision);
      await registry.get('python-script').dispatch(domain, {
        executionId: execution.id,
        skillId: execution.skillId,
        skillRevision: execution.skillRevision,
        input: execution.input,
        limits: execution.limits,
        asset: execution.asset,
        binding: definition.asset,
        egress: definition.egress ?? [],
        collections: definition.collections ?? [],
        parameters: definition.parameters ?? [],
        requestedAt: execution.createdAt,
      });
    },
    async resend(message: { body: string; mac: string }, group: string): Promise<void> {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: services.queues['script-executions'].url,
          MessageBody: message.body,
          MessageGroupId: group,
          MessageAttributes: { [MAC_ATTRIBUTE]: { DataType: 'String', StringValue: message.mac } },
        }),
      );
    },
    close: () => sqs.destroy(),
  };
}

beforeAll(async () => {
  platform = await startTestPlatform(PASSWORD);
  [alice, bob] = await Promise.all([platform.login(ACME, 'alice'), platform.login(ACME, 'bob')]);
  const collection = await api(alice, 'POST', '/api/data/collections', { name: 'runs', schema: {} });
  expect(collection.status, collection.text).toBe(201);
  counter = await skill('Counter');
  careful = await skill('Careful counter', { risk: 'medium', approval: 'one' });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('the Python host killed mid-job', () => {
  it('fails the run it held, with the cause, leaves no job process behind, and serves the next run', async () => {
    const id = await start(counter, { sleep: 30 });
    await until('the job is running', async () => ((await executionsOf(id)) === 1 ? true : undefined));
    const hosts = childProcesses('python_host.py');
    expect(hosts.length).toBeGreaterThan(0);
    for (const pid of hosts) process.kill(pid, 'SIGKILL');

    const lost = await ended(id);
    expect(lost).toMatchObject({ status: 'failed', error: { type: 'WorkerLost' } });
    // Its job went with its host: no process of a job is left sleeping.
    await until('no job process is left', async () => (jobProcesses().length === 0 ? true : undefined), 100);
    expect(await executionsOf(id)).toBe(1);

    // A new host serves the next run.
    const next = await start(counter);
    expect(await ended(next)).toMatchObject({ status: 'succeeded', output: { count: 1 } });
  });
});

describe('duplicate and reordered deliveries', () => {
  it('runs a job once however often its message arrives, while it runs and after it ended', async () => {
    const tenant = (await platform.core.hosts.resolve(ACME)) as TenantContext;
    const again = redispatcher();
    try {
      const id = await start(counter, { sleep: 2 });
      await until('the job is running', async () => ((await executionsOf(id)) === 1 ? true : undefined));
      const execution = await platform.core.executions.get(tenant, { ...systemReader }, id);
      // A re-dispatch while it runs (a new message), then that same message delivered twice more.
      await again.dispatch(tenant, execution);
      const [message] = again.sent;
      expect(message).toBeDefined();
      await again.resend(message as { body: string; mac: string }, tenant.tenant.id);
      await again.resend(message as { body: string; mac: string }, tenant.tenant.id);
      expect(await ended(id)).toMatchObject({ status: 'succeeded', output: { count: 1 } });
      // And once more after it ended.
      await again.resend(message as { body: string; mac: string }, tenant.tenant.id);
      const probe = await start(counter);
      await ended(probe); // the queue has moved past the duplicates (one tenant's jobs go in order)
      expect(await executionsOf(id)).toBe(1);
      const audit = await api(alice, 'GET', `/api/audit?target=execution:${id}`);
      const actions = audit.body.items.map((entry: { action: string }) => entry.action);
      expect(actions.filter((action: string) => action === 'execution.succeeded')).toHaveLength(1);
      expect(actions.filter((action: string) => action === 'execution.running')).toHaveLength(1);
    } finally {
      again.close();
    }
  });

  it('keeps a result that arrives before its start, and believes a replayed report once', async () => {
    const reports: { body: string; mac: string }[] = [];
    const sqs = platform.platform.services.sqs;
    const capture = 'captureReports';
    sqs.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as SendMessageCommand['input'];
        if (
          input.QueueUrl === platform.platform.services.queues['execution-results'].url &&
          input.MessageBody
        ) {
          reports.push({
            body: input.MessageBody,
            mac: input.MessageAttributes?.[MAC_ATTRIBUTE]?.StringValue ?? '',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: capture },
    );
    let id: string;
    try {
      // Long enough (over a heartbeat interval) for the worker to send `started` at all.
      id = await start(counter, { sleep: 1.5 });
      await ended(id);
    } finally {
      sqs.middlewareStack.remove(capture);
    }
    const own = reports.filter(
      (report) => report.body.includes(`"executionId":"${id}"`) && !report.body.includes('"kind":"log"'),
    );
    expect(own.map((report) => JSON.parse(report.body).kind)).toEqual(['started', 'result']);
    const before = await runOf(id);
    // Both again, the result first: nothing changes, each replay is refused once more.
    for (const report of [...own].reverse()) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: platform.platform.services.queues['execution-results'].url,
          MessageBody: report.body,
          MessageAttributes: { [MAC_ATTRIBUTE]: { DataType: 'String', StringValue: report.mac } },
        }),
      );
    }
    const admin = await platform.login(HOSTS.admin, 'admin');
    await until('the replay is recorded as a security event', async () => {
      const audit = await platform.send({
        host: HOSTS.admin,
        method: 'GET',
        path: '/api/audit?category=security',
        token: admin,
      });
      return JSON.stringify(audit.body).includes(id) ? true : undefined;
    });
    const after = await runOf(id);
    expect(after).toEqual(before);
  });
});

describe('a dead-letter queue that fills at once', () => {
  // Its own platform, with a visibility short enough that 40 poison jobs reach the DLQ in seconds.
  let main: TestPlatform;
  let users: [string, string];
  beforeAll(async () => {
    main = platform;
    users = [alice, bob];
    platform = await startTestPlatform(PASSWORD, { visibilityTimeoutSeconds: 2 });
    [alice, bob] = await Promise.all([platform.login(ACME, 'alice'), platform.login(ACME, 'bob')]);
    await api(alice, 'POST', '/api/data/collections', { name: 'runs', schema: {} });
    careful = await skill('Careful counter', { risk: 'medium', approval: 'one' });
  }, 120_000);
  afterAll(async () => {
    await platform.stop();
    platform = main;
    [alice, bob] = users;
  });

  it('closes every run whose job died, with the cause, and drains the queue', async () => {
    const tenant = (await platform.core.hosts.resolve(ACME)) as TenantContext;
    // Runs waiting for approval have no job in flight; each gets a signed job that the dispatcher
    // cannot read (as a bug would produce), so each goes the whole way: receives, redrive, DLQ.
    const ids: string[] = [];
    for (let n = 0; n < 40; n++) ids.push(await start(careful));
    const services = platform.platform.services;
    const poison = (id: string) =>
      JSON.stringify({
        kind: 'python-script',
        jobId: `acme:${id}`,
        executionId: id,
        tenantId: tenant.tenant.id,
        limits: { timeoutSeconds: 'soon' },
      });
    await Promise.all(
      ids.map((id) =>
        services.sqs.send(
          new SendMessageCommand({
            QueueUrl: services.queues['script-executions'].url,
            MessageBody: poison(id),
            MessageGroupId: tenant.tenant.id,
            MessageAttributes: {
              [MAC_ATTRIBUTE]: {
                DataType: 'String',
                StringValue: platform.platform.signer.sign('job', poison(id)),
              },
            },
          }),
        ),
      ),
    );
    for (const id of ids) {
      expect(await ended(id)).toMatchObject({ status: 'failed', error: { type: 'DeadLettered' } });
    }
    // Nothing of them is still waiting for approval.
    const inbox = await api(alice, 'GET', '/api/approvals');
    expect(inbox.body.items.map((item: { id: string }) => item.id)).not.toEqual(
      expect.arrayContaining([ids[0]]),
    );
    expectProblem(await api(bob, 'POST', `/api/executions/${ids[0]}/cancel`, {}), 409);
    // The recorder consumed every dead letter: none is left behind, visible or in flight.
    await until('the dead-letter queue drains', async () => {
      const attributes = await services.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: services.queues['script-executions'].deadLetterUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const { ApproximateNumberOfMessages: visible, ApproximateNumberOfMessagesNotVisible: hidden } =
        attributes.Attributes ?? {};
      return visible === '0' && hidden === '0' ? true : undefined;
    });
  }, 180_000);
});

const systemReader = {
  username: 'alice',
  roles: ['admin'],
  permissions: new Set(['execution:read', 'skill:manage']),
  superAdmin: false,
  via: 'session' as const,
  credentialId: 'faults',
};
