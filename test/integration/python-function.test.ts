/**
 * The Python script worker on the local platform's real servers (dynalite, fauxqs): the loader's
 * host processes and their pipe ports, claims, signed `started`/`result` messages, duplicate, forged
 * and misdirected deliveries, one tenant per host, concurrency and a clean stop; and the Lambda
 * handler's boto3 ports (signed requests, message keys) against the same servers.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, queueUrlEnv } from '../../functions/core/env.ts';
import { messageKeyEnv } from '../../functions/core/messages/keys.ts';
import { MAC_ATTRIBUTE, MessageSigner } from '../../functions/core/messages/signing.ts';
import type { LocalFunction } from '../../lib/local/lambda.ts';
import {
  loadPythonFunction,
  PYTHON_LAYER_DIR,
  resolvePythonInterpreter,
  servicePorts,
} from '../../lib/local/python-function.ts';
import { LOCAL_REGION, type LocalServices, startLocalServices } from '../../lib/local/services.ts';
import { functions } from '../../lib/topology.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const WORKER_DIR = resolve(ROOT, functions['script-worker'].entry);
const python = await resolvePythonInterpreter();
const boto3Available = spawnSync(python, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;

const KEYS = { jobs: 'test-jobs-key-'.padEnd(40, 'j'), reports: 'test-reports-key-'.padEnd(40, 'r') };
const signer = new MessageSigner(KEYS);
const ACME = { tenantId: 'acme' };

const SOURCE = [
  'import os',
  '',
  'def main(inputs, ctx):',
  "    print('adding', inputs['a'], inputs['b'])",
  "    return {'sum': inputs['a'] + inputs['b'], 'env': sorted(os.environ), 'uid': os.getuid()}",
  '',
].join('\n');

function job(executionId: string, source = SOURCE) {
  return {
    kind: 'python-script',
    jobId: `acme:${executionId}`,
    executionId,
    tenantId: 'acme',
    skillId: 'adder',
    asset: {
      id: 'script-1',
      version: 1,
      sha256: createHash('sha256').update(source, 'utf8').digest('hex'),
      source,
    },
    input: { a: 2, b: 40 },
    limits: { timeoutSeconds: 10, memoryMb: 256, outputBytes: 65536, logBytes: 65536 },
    requestedAt: new Date().toISOString(),
    issuedAt: new Date().toISOString(),
  };
}

/** An SQS event of one job, signed with the jobs key unless `mac` says otherwise. */
function sqsEvent(services: LocalServices, messageId: string, body: unknown, mac?: string | null): SQSEvent {
  const queue = services.queues['script-executions'];
  const text = JSON.stringify(body);
  const signature = mac === undefined ? signer.sign('job', text) : mac;
  return {
    Records: [
      {
        messageId,
        receiptHandle: `receipt-${messageId}`,
        body: text,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'test',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes:
          signature === null
            ? {}
            : {
                [MAC_ATTRIBUTE]: {
                  dataType: 'String',
                  stringValue: signature,
                  stringListValues: [],
                  binaryListValues: [],
                },
              },
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: LOCAL_REGION,
      },
    ],
  };
}

interface ResultBody {
  kind: string;
  jobId: string;
  /** Whether the message's MAC verified under the reports key. */
  signed: boolean;
  status?: string;
  output?: { sum: number; env: string[]; uid: number };
  logs?: { stdout: string; stderr: string; truncated: boolean };
}

/** Receives (and deletes) what arrives on execution-results within `waitMs`, stopping early at `expected`. */
async function drainResults(
  services: LocalServices,
  expected: number,
  waitMs: number,
): Promise<ResultBody[]> {
  const url = services.queues['execution-results'].url;
  const bodies: ResultBody[] = [];
  const until = Date.now() + waitMs;
  while (bodies.length < expected && Date.now() < until) {
    const { Messages = [] } = await services.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) continue;
    bodies.push(
      ...Messages.map((message) => ({
        ...(JSON.parse(message.Body ?? '{}') as ResultBody),
        signed: signer.verify(
          'report',
          message.Body ?? '',
          message.MessageAttributes?.[MAC_ATTRIBUTE]?.StringValue,
        ),
      })),
    );
    await services.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
        })),
      }),
    );
  }
  return bodies;
}

async function claimOf(services: LocalServices, jobId: string) {
  const { Item } = await services.dynamodb.send(
    new GetItemCommand({ TableName: services.claimsTableName, Key: { jobId: { S: jobId } } }),
  );
  return Item;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes below this one (pids) whose command line runs the worker's host or zygote. */
function pythonDescendants(): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parents.set(Number(entry), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  const below = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (below.has(parent) && !below.has(pid)) {
        below.add(pid);
        grew = true;
      }
    }
  }
  below.delete(process.pid);
  return [...below].filter((pid) => {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return command.includes('python_host.py') || command.includes('zygote_main.py');
    } catch {
      return false;
    }
  });
}

describe('the script worker through the local loader', () => {
  let services: LocalServices;
  let worker: LocalFunction;
  const logs: string[] = [];

  beforeAll(async () => {
    services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: 2 });
    worker = await loadPythonFunction({
      root: ROOT,
      spec: functions['script-worker'],
      env: {
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: services.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: services.credentials.secretAccessKey,
        [ENV.claimsTableName]: services.claimsTableName,
      },
      ports: servicePorts(services, async () => ({ ok: false, error: { type: 'NoRelay', message: 'none' } })),
      configuration: { keys: KEYS, sandbox: {} },
      log: (line) => logs.push(line),
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await services?.stop();
  });

  it('answers a check invocation', async () => {
    await expect(worker.invoke({ action: 'check', source: SOURCE }, ACME)).resolves.toEqual({ ok: true });
    const failed = (await worker.invoke(
      { action: 'check', source: 'def main(inputs, ctx)\n  pass\n' },
      ACME,
    )) as {
      ok: boolean;
      error: { line: number };
    };
    expect(failed.ok).toBe(false);
    expect(failed.error.line).toBe(1);
  });

  it('claims, runs and reports a job, and skips a second delivery of it', async () => {
    const event = sqsEvent(services, 'message-1', job('exec-1'));
    await expect(worker.invoke(event, ACME)).resolves.toEqual({ batchItemFailures: [] });

    const claim = await claimOf(services, 'acme:exec-1');
    expect(claim?.jobId?.S).toBe('acme:exec-1');
    expect(Number(claim?.expiresAtEpoch?.N)).toBeGreaterThan(Date.now() / 1000);

    // Shorter than a heartbeat interval: the result alone, carrying when the job started.
    const messages = await drainResults(services, 1, 10_000);
    expect(messages.map((message) => message.kind)).toEqual(['result']);
    expect(messages.every((message) => message.signed)).toBe(true);
    const result = messages[0];
    expect(result?.jobId).toBe('acme:exec-1');
    expect(result?.status).toBe('succeeded');
    expect(result?.output?.sum).toBe(42);
    expect(result?.output?.env).toEqual(['HOME', 'LANG', 'PATH', 'TMPDIR']);
    if (process.getuid?.() === 0) expect(result?.output?.uid).not.toBe(0);
    expect(result?.logs).toEqual({ stdout: 'adding 2 40\n', stderr: '', truncated: false });

    await expect(worker.invoke(event, ACME)).resolves.toEqual({ batchItemFailures: [] });
    expect(await drainResults(services, 1, 3_000)).toEqual([]);
  });

  it('refuses a job without a valid MAC, or for another tenant than its invocation, without claiming it', async () => {
    const forged = job('exec-forged');
    const cases = [
      sqsEvent(services, 'message-unsigned', forged, null),
      sqsEvent(services, 'message-bad-mac', forged, signer.sign('job', '{}')),
      sqsEvent(services, 'message-as-report', forged, signer.sign('report', JSON.stringify(forged))),
      sqsEvent(services, 'message-stale', { ...forged, issuedAt: '2020-01-01T00:00:00.000Z' }),
    ];
    for (const event of cases) {
      // Dropped (not left for redrive: it is not the platform's), and never claimed or run.
      await expect(worker.invoke(event, ACME)).resolves.toEqual({ batchItemFailures: [] });
    }
    await expect(
      worker.invoke(sqsEvent(services, 'message-other-tenant', forged), { tenantId: 'globex' }),
    ).resolves.toEqual({ batchItemFailures: [] });
    expect(await claimOf(services, 'acme:exec-forged')).toBeUndefined();
    // Nothing ran: the only reports are the refusals, signed, for the recorder to audit.
    const reports = await drainResults(services, 5, 5_000);
    expect(reports.map((report) => report.kind)).toEqual(Array(5).fill('security'));
    expect(reports.every((report) => report.signed)).toBe(true);
    expect(logs.filter((line) => line.includes('"securityEvent"')).length).toBeGreaterThanOrEqual(5);
  });

  it('refuses an invocation without a tenant (tenant isolation mode)', async () => {
    await expect(worker.invoke({ action: 'check', source: SOURCE })).rejects.toThrow(/tenant/);
  });

  it('fails a poison message for redrive without claiming it', async () => {
    const event = sqsEvent(services, 'message-poison', { kind: 'python-script', jobId: 'acme:exec-9' });
    await expect(worker.invoke(event, ACME)).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: 'message-poison' }],
    });
    expect(await claimOf(services, 'acme:exec-9')).toBeUndefined();
  });

  it('serves concurrent invocations', async () => {
    const slow = job('exec-slow', 'import time\n\ndef main(inputs, ctx):\n    time.sleep(1)\n    return 1\n');
    const started = Date.now();
    const answers = await Promise.all([
      worker.invoke(sqsEvent(services, 'message-slow', slow), ACME),
      worker.invoke({ action: 'check', source: SOURCE }, ACME),
      worker.invoke({ action: 'check', source: SOURCE }, ACME),
    ]);
    expect(answers).toEqual([{ batchItemFailures: [] }, { ok: true }, { ok: true }]);
    expect(Date.now() - started).toBeLessThan(8_000);
    const messages = await drainResults(services, 2, 10_000);
    expect(messages.map((message) => `${message.kind}:${message.status ?? ''}`)).toEqual([
      'started:',
      'result:succeeded',
    ]);
  });

  it('finishes the job in flight when Ctrl-C or a SIGTERM reaches the whole process group', async () => {
    // `npm start` in a terminal: Ctrl-C signals every process of the group, the hosts too. The
    // platform decides when a host stops (it closes the pipe once the runs in flight are recorded).
    const slow = job(
      'exec-signalled',
      'import time\n\ndef main(inputs, ctx):\n    time.sleep(1.5)\n    return 2\n',
    );
    const answer = worker.invoke(sqsEvent(services, 'message-signalled', slow), ACME);
    await new Promise((wait) => setTimeout(wait, 500));
    const hosts = pythonDescendants().filter((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('python_host.py'),
    );
    expect(hosts.length).toBeGreaterThanOrEqual(1);
    for (const pid of hosts) process.kill(pid, 'SIGINT');
    await new Promise((wait) => setTimeout(wait, 100));
    for (const pid of hosts) process.kill(pid, 'SIGTERM');
    await expect(answer).resolves.toEqual({ batchItemFailures: [] });
    const messages = await drainResults(services, 2, 10_000);
    expect(messages.map((message) => `${message.kind}:${message.status ?? ''}`)).toEqual([
      'started:',
      'result:succeeded',
    ]);
    expect(hosts.every(alive)).toBe(true);
  });

  it('keeps credentials out of the host and everything out of the zygote', () => {
    const environments = pythonDescendants().map((pid) => ({
      command: readFileSync(`/proc/${pid}/cmdline`, 'utf8'),
      names: readFileSync(`/proc/${pid}/environ`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((entry) => entry.slice(0, entry.indexOf('='))),
    }));
    const hosts = environments.filter((process) => process.command.includes('python_host.py'));
    // Zygotes and their idle job processes (forked, so with the same command line and environment).
    const zygotes = environments.filter((process) => process.command.includes('zygote_main.py'));
    expect(hosts.length).toBeGreaterThan(0);
    expect(zygotes.length).toBeGreaterThan(hosts.length);
    for (const host of hosts) {
      expect(host.names).toContain(ENV.claimsTableName);
      expect(host.names).not.toContain('AWS_ACCESS_KEY_ID');
      expect(host.names).not.toContain('AWS_SECRET_ACCESS_KEY');
      expect(host.names).not.toContain(messageKeyEnv('jobs').value);
    }
    for (const zygote of zygotes) expect(zygote.names.sort()).toEqual(['LANG', 'PATH']);
  });

  it('stops its hosts and zygotes without leaving processes behind', async () => {
    const running = pythonDescendants();
    const jobProcesses = running.flatMap((pid) => {
      try {
        return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
          .split(' ')
          .filter(Boolean)
          .map(Number);
      } catch {
        return [];
      }
    });
    expect(running.length).toBeGreaterThanOrEqual(2); // at least one host and its zygote
    await worker.stop();
    const everyone = [...running, ...jobProcesses];
    const deadline = Date.now() + 5_000;
    while (everyone.some(alive) && Date.now() < deadline) {
      await new Promise((wait) => setTimeout(wait, 100));
    }
    const left = everyone.filter(alive);
    expect(
      left,
      execFileSync('ps', ['-o', 'pid,ppid,args', '-p', left.join(',') || '1'], { encoding: 'utf8' }),
    ).toEqual([]);
    expect(pythonDescendants()).toEqual([]);
  });
});

describe('the local worker hosts scale with the work', () => {
  let services: LocalServices;
  let worker: LocalFunction;

  beforeAll(async () => {
    services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: 2 });
    worker = await loadPythonFunction({
      root: ROOT,
      spec: functions['script-worker'],
      env: { AWS_REGION: LOCAL_REGION, [ENV.claimsTableName]: services.claimsTableName },
      ports: servicePorts(services, async () => ({ ok: false, error: { type: 'NoRelay', message: 'none' } })),
      configuration: { keys: KEYS, sandbox: {} },
      log: () => undefined,
      idleRetireMs: 400,
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await services?.stop();
  });

  it('starts a host per concurrent invocation, then retires the idle ones but the last', async () => {
    expect(worker.instances?.()).toBe(0);
    const slow = (id: string) =>
      job(id, 'import time\n\ndef main(inputs, ctx):\n    time.sleep(0.5)\n    return 1\n');
    let peak = 0;
    const sample = setInterval(() => {
      peak = Math.max(peak, worker.instances?.() ?? 0);
    }, 10);
    const answers = await Promise.all(
      ['scale-1', 'scale-2', 'scale-3'].map((id) =>
        worker.invoke(sqsEvent(services, `message-${id}`, slow(id)), ACME),
      ),
    );
    clearInterval(sample);
    expect(answers).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    // Three at once need three hosts (each serves one invocation at a time, as a Lambda container).
    expect(peak).toBe(3);
    const deadline = Date.now() + 10_000;
    while ((worker.instances?.() ?? 0) > 1 && Date.now() < deadline) {
      await new Promise((wait) => setTimeout(wait, 50));
    }
    expect(worker.instances?.()).toBe(1);
    // The warm host left still serves, and the retired ones left no process behind.
    await expect(worker.invoke({ action: 'check', source: SOURCE }, ACME)).resolves.toEqual({ ok: true });
    expect(worker.instances?.()).toBe(1);
    const hostsLeft = () =>
      pythonDescendants().filter((pid) =>
        readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('python_host.py'),
      );
    while (hostsLeft().length > 1 && Date.now() < deadline) await new Promise((wait) => setTimeout(wait, 50));
    expect(hostsLeft()).toHaveLength(1);
  }, 60_000);
});

describe.runIf(boto3Available)('the Lambda handler with its boto3 ports (boto3 importable)', () => {
  let services: LocalServices;

  beforeAll(async () => {
    services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: 2 });
  });

  afterAll(async () => {
    await services?.stop();
  });

  /** Runs handler.handler in a fresh interpreter, as Lambda would (site-packages on the path for boto3). */
  async function runHandler(events: unknown[]): Promise<unknown[]> {
    const program = [
      'import json, sys',
      `sys.path[:0] = [${JSON.stringify(resolve(ROOT, PYTHON_LAYER_DIR))}, ${JSON.stringify(WORKER_DIR)}]`,
      'import handler',
      'class Context:',
      '    tenant_id = "acme"',
      '    def get_remaining_time_in_millis(self):',
      '        return 60_000',
      'answers = [handler.handler(event, Context()) for event in json.load(sys.stdin)]',
      'handler.shutdown()',
      'sys.__stdout__.write("ANSWERS " + json.dumps(answers) + "\\n")',
    ].join('\n');
    const child = spawn(python, ['-c', program], {
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: services.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: services.credentials.secretAccessKey,
        [messageKeyEnv('jobs').value]: KEYS.jobs,
        [messageKeyEnv('reports').value]: KEYS.reports,
        [ENV.claimsTableName]: services.claimsTableName,
        [ENV.dynamodbEndpoint]: services.dynamodbEndpoint,
        [ENV.sqsEndpoint]: services.sqsEndpoint,
        [queueUrlEnv('execution-results')]: services.queues['execution-results'].url,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin.end(JSON.stringify(events));
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    const line = stdout.split('\n').find((text) => text.startsWith('ANSWERS '));
    if (code !== 0 || line === undefined) throw new Error(`handler run failed (${code}): ${stderr}`);
    return JSON.parse(line.slice('ANSWERS '.length)) as unknown[];
  }

  it('claims with a conditional PutItem, beats the claim and reports through SendMessage', async () => {
    // Longer than a heartbeat interval: `started` goes out and the claim is beaten with UpdateItem.
    const slow = SOURCE.replace(
      'def main(inputs, ctx):',
      'import time\n\ndef main(inputs, ctx):\n    time.sleep(1.6)',
    );
    const event = sqsEvent(services, 'message-b1', job('exec-boto', slow));
    const before = Date.now() / 1000;
    const answers = await runHandler([event, event, { action: 'check', source: SOURCE }]);
    expect(answers).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }, { ok: true }]);
    const claim = await claimOf(services, 'acme:exec-boto');
    expect(claim?.jobId?.S).toBe('acme:exec-boto');
    // Claimed with a first sign of life, then beaten about a second into the job.
    expect(Number(claim?.aliveAt?.N)).toBeGreaterThan(before + 0.9);
    const messages = await drainResults(services, 2, 10_000);
    expect(messages.map((message) => `${message.kind}:${message.status ?? ''}`)).toEqual([
      'started:',
      'result:succeeded',
    ]);
    expect(messages.every((message) => message.signed)).toBe(true);
    expect(messages[1]?.output?.sum).toBe(42);
    expect(await drainResults(services, 1, 1_500)).toEqual([]); // the duplicate left no second result
  });
});
