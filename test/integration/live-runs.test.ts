/**
 * A run while it runs, on the real local platform (Python worker, sandbox, queues, recorder): its
 * output reaches the log API as it is printed, whole and in order; a cancel stops the job itself
 * within a few seconds and closes the run as cancelled by whoever asked; and none of it can be forged
 * or reached from another tenant.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAC_ATTRIBUTE } from '../../functions/core/messages/signing.ts';
import { expectProblem, HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';

const PASSWORD = 'integration-live-password';
const { acme: ACME, globex: GLOBEX } = HOSTS;

const TICKER = `import sys, time

def main(inputs, ctx):
    for n in range(int(inputs.get("ticks", 8))):
        print(f"tick {n}", flush=True)
        if n % 3 == 0:
            sys.stderr.write(f"note {n}\\n")
            sys.stderr.flush()
        time.sleep(0.4)
    return {"ticks": inputs.get("ticks", 8)}
`;

const SLEEPER = `import time

def main(inputs, ctx):
    print("started", flush=True)
    time.sleep(50)
    print("woke up", flush=True)
    return {"slept": True}
`;

const FLOOD = `import sys, time

def main(inputs, ctx):
    line = "x" * 1000 + "\\n"
    for _ in range(400):
        sys.stdout.write(line)
    sys.stdout.flush()
    time.sleep(1.5)
    return {}
`;

let platform: TestPlatform;
let alice: string;
let bob: string;
let globexAdmin: string;

function api(host: string, token: string, method: string, path: string, body?: unknown) {
  return platform.send({ host, method, path, body, token });
}

async function skillFor(name: string, source: string, timeoutSeconds = 60): Promise<string> {
  const made = await scriptSkill(
    (token, method, path, body) => api(ACME, token, method, path, body),
    alice,
    source,
    {
      scriptName: `${name}.py`,
      skill: { name, outputSchema: true, limits: { timeoutSeconds, memoryMb: 256 } },
    },
  );
  return made.skillId;
}

async function start(skillId: string, input: Record<string, unknown> = {}): Promise<string> {
  const started = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, { input });
  expect(started.status, started.text).toBe(202);
  return String(started.body.id);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, tries = 300): Promise<T> {
  for (let attempt = 0; attempt < tries; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`never: ${what}`);
}

async function runOf(id: string): Promise<Record<string, unknown>> {
  return (await api(ACME, bob, 'GET', `/api/executions/${id}`)).body;
}

interface Chunk {
  readonly seq: number;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/** Every chunk of a run's log, page by page, and whether the last page said the log is complete. */
async function wholeLog(id: string): Promise<{ chunks: Chunk[]; complete: boolean }> {
  const chunks: Chunk[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const answer = await api(
      ACME,
      bob,
      'GET',
      `/api/executions/${id}/logs${cursor === undefined ? '' : `?after=${cursor}`}`,
    );
    expect(answer.status, answer.text).toBe(200);
    chunks.push(...answer.body.chunks);
    if (answer.body.chunks.length === 0 || answer.body.complete) {
      return { chunks, complete: answer.body.complete === true };
    }
    cursor = answer.body.cursor;
  }
  throw new Error('too many log pages');
}

beforeAll(async () => {
  platform = await startTestPlatform(PASSWORD);
  [alice, bob, globexAdmin] = await Promise.all([
    platform.login(ACME, 'alice'),
    platform.login(ACME, 'bob'),
    platform.login(GLOBEX, 'gina'),
  ]);
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('live logs', () => {
  it('shows output while the run is running, then the whole log in order once it ended', async () => {
    const id = await start(await skillFor('Ticker', TICKER), { ticks: 8 });
    // A chunk is readable while the run is still running.
    const early = await until('a chunk while running', async () => {
      const answer = await api(ACME, bob, 'GET', `/api/executions/${id}/logs`);
      return answer.body.chunks.length > 0 && answer.body.status === 'running' ? answer.body : undefined;
    });
    expect(early.complete).toBe(false);
    expect(early.chunks[0]).toMatchObject({ seq: 1, stream: 'stdout' });
    expect(early.chunks[0].text).toContain('tick 0');

    const ended = await until('the run ends', async () => {
      const run = await runOf(id);
      return run.status === 'succeeded' ? run : undefined;
    });
    // The last chunks may trail the result on the queue: read until the stream matches the kept log.
    const kept = ended.logs as { stdout: string; stderr: string };
    const log = await until('the whole stream', async () => {
      const read = await wholeLog(id);
      const stdout = read.chunks.filter((chunk) => chunk.stream === 'stdout').map((chunk) => chunk.text);
      return stdout.join('') === kept.stdout ? read : undefined;
    });
    expect(log.chunks.map((chunk) => chunk.seq)).toEqual(log.chunks.map((_, index) => index + 1));
    expect(
      log.chunks
        .filter((chunk) => chunk.stream === 'stderr')
        .map((chunk) => chunk.text)
        .join(''),
    ).toBe(kept.stderr);
    expect(kept.stdout).toBe(Array.from({ length: 8 }, (_, n) => `tick ${n}\n`).join(''));
  });

  it('streams no more than the log limit keeps', async () => {
    const id = await start(await skillFor('Flood', FLOOD));
    const ended = await until('the flood ends', async () => {
      const run = await runOf(id);
      return run.status === 'succeeded' ? run : undefined;
    });
    expect((ended.logs as { truncated: boolean }).truncated).toBe(true);
    const { chunks } = await wholeLog(id);
    const streamed = chunks.reduce((total, chunk) => total + Buffer.byteLength(chunk.text), 0);
    expect(streamed).toBeGreaterThan(0);
    // The Skill's log limit (the platform default, 64 KiB per stream) bounds what is streamed.
    expect(streamed).toBeLessThanOrEqual(64 * 1024);
  });

  it('another tenant cannot read a run’s log', async () => {
    const id = await start(await skillFor('Private', TICKER), { ticks: 1 });
    const answer = await api(GLOBEX, globexAdmin, 'GET', `/api/executions/${id}/logs`);
    expectProblem(answer, 404);
  });

  it('believes no log report that the worker did not sign', async () => {
    const id = await start(await skillFor('Sleepy', SLEEPER));
    await until('running', async () => ((await runOf(id)).status === 'running' ? true : undefined));
    const services = platform.platform.services;
    const forged = JSON.stringify({
      kind: 'log',
      executionId: id,
      tenantId: 'acme',
      chunks: [{ seq: 1999, stream: 'stdout', text: 'forged line' }],
    });
    for (const mac of [undefined, 'v1.forged', platform.platform.signer.sign('report', `${forged} `)]) {
      await services.sqs.send(
        new SendMessageCommand({
          QueueUrl: services.queues['execution-results'].url,
          MessageBody: forged,
          ...(mac === undefined
            ? {}
            : { MessageAttributes: { [MAC_ATTRIBUTE]: { DataType: 'String', StringValue: mac } } }),
        }),
      );
    }
    // The refusals are recorded as security events; no forged chunk is ever readable.
    await until('the refusals are recorded', async () => {
      const audit = await platform.send({
        host: HOSTS.admin,
        method: 'GET',
        path: '/api/audit?category=security',
        token: await platform.login(HOSTS.admin, 'admin'),
      });
      return JSON.stringify(audit.body).includes('the report MAC does not verify') ? true : undefined;
    });
    const { chunks } = await wholeLog(id);
    expect(chunks.map((chunk) => chunk.text).join('')).not.toContain('forged line');
    await api(ACME, bob, 'POST', `/api/executions/${id}/cancel`, {});
  });
});

describe('a genuine report that cannot be read', () => {
  it('fails its run with the cause instead of leaving it running', async () => {
    const id = await start(await skillFor('Unreadable', SLEEPER));
    await until('running', async () => ((await runOf(id)).status === 'running' ? true : undefined));
    const services = platform.platform.services;
    // Signed as the worker signs (the channel is genuine), but not a result the recorder can read.
    const body = JSON.stringify({ kind: 'result', executionId: id, tenantId: 'acme', status: 'exploded' });
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: services.queues['execution-results'].url,
        MessageBody: body,
        MessageAttributes: {
          [MAC_ATTRIBUTE]: { DataType: 'String', StringValue: platform.platform.signer.sign('report', body) },
        },
      }),
    );
    const failed = await until('the run fails', async () => {
      const run = await runOf(id);
      return run.status === 'failed' ? run : undefined;
    });
    expect(failed.error).toMatchObject({ type: 'UnreadableResult' });
    expect(String((failed.error as { message: string }).message)).toContain('status');
    // The run has ended: there is nothing left to cancel, and the answer says so in words.
    const late = await api(ACME, bob, 'POST', `/api/executions/${id}/cancel`, {});
    expectProblem(late, 409);
    expect(late.body.detail).toBe('The run has already ended (failed); there is nothing to cancel');
  });
});

describe('cancelling a running run', () => {
  it('stops the job within seconds and closes the run as cancelled by whoever asked', async () => {
    const id = await start(await skillFor('Sleeper', SLEEPER));
    await until('the job printed', async () => {
      const answer = await api(ACME, bob, 'GET', `/api/executions/${id}/logs`);
      return answer.body.status === 'running' &&
        answer.body.chunks.some((chunk: Chunk) => chunk.text.includes('started'))
        ? true
        : undefined;
    });
    // Another tenant cannot cancel it, nor even see it.
    expectProblem(await api(GLOBEX, globexAdmin, 'POST', `/api/executions/${id}/cancel`, {}), 404);

    const asked = Date.now();
    const answer = await api(ACME, bob, 'POST', `/api/executions/${id}/cancel`, { reason: 'wrong input' });
    expect(answer.status, answer.text).toBe(202);
    expect(answer.body).toMatchObject({
      status: 'running',
      cancelRequested: true,
      cancelRequestedBy: 'bob',
      cancelReason: 'wrong input',
    });

    const closed = await until('the run is cancelled', async () => {
      const run = await runOf(id);
      return run.status === 'cancelled' ? run : undefined;
    });
    // The job was killed, not left to sleep out its 50 seconds.
    expect(Date.now() - asked).toBeLessThan(30_000);
    expect(closed).toMatchObject({
      status: 'cancelled',
      cancelledBy: 'bob',
      cancelReason: 'wrong input',
      // The reason shows on the run, not only in the audit.
      error: { type: 'Cancelled', message: 'Cancelled by bob while it ran: wrong input' },
    });
    expect(JSON.stringify(closed.logs)).not.toContain('woke up');

    const audit = await api(ACME, alice, 'GET', `/api/audit?target=execution:${id}`);
    const actions = audit.body.items.map((entry: { action: string; actor: { username: string } }) => [
      entry.action,
      entry.actor.username,
    ]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['execution.cancel-requested', 'bob'],
        [expect.stringMatching(/cancelled/), 'bob'],
      ]),
    );
    // A finished run has nothing left to cancel.
    expectProblem(await api(ACME, bob, 'POST', `/api/executions/${id}/cancel`, {}), 409);
  });
});
