/**
 * The local queue pollers scale with the work (issue 13): a plain queue's poller starts with one
 * receive loop, adds loops while a backlog is waiting (up to its bound) and retires them once the
 * queue is empty, delivering every message once; a fair queue's poller deletes a message only once
 * its consumer has succeeded, and deletes the messages handled together in one request. On the real
 * fauxqs server, through the SDK client.
 */
import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observeSdkRequests } from '../../functions/core/sdk-requests.ts';
import { type Poller, startPoller } from '../../lib/local/pollers.ts';
import { type LocalServices, startLocalServices } from '../../lib/local/services.ts';

let services: LocalServices;

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: 30, log: () => undefined });
});

afterAll(async () => {
  await services?.stop();
});

async function send(url: string, bodies: readonly string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    await services.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: bodies
          .slice(start, start + 10)
          .map((body, index) => ({ Id: String(index), MessageBody: body })),
      }),
    );
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A poller of the results queue whose consumer is `consume` (its answer: no batch item failed). */
function pollResults(
  batchSize: number,
  concurrency: number,
  consume: (records: readonly SQSEvent['Records'][number][]) => Promise<void> | void,
): Poller {
  const queue = services.queues['execution-results'];
  return startPoller({
    sqs: services.sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    batchSize,
    concurrency,
    onError: (error) => {
      throw error;
    },
    invoke: async (event) => {
      await consume((event as SQSEvent).Records);
      return { batchItemFailures: [] };
    },
  });
}

describe('a plain queue poller', () => {
  it('starts with one loop, scales to its bound under a backlog, and back to one when idle', async () => {
    const queue = services.queues['execution-results'];
    const delivered: string[] = [];
    let peak = 0;
    let busy = 0;
    let peakBusy = 0;
    const poller = pollResults(2, 3, async (records) => {
      busy++;
      peakBusy = Math.max(peakBusy, busy);
      peak = Math.max(peak, poller.active());
      for (const record of records) delivered.push(record.body);
      // A slow consumer, so that the backlog outgrows one loop.
      await new Promise((resolve) => setTimeout(resolve, 150));
      busy--;
    });
    try {
      expect(poller.active()).toBe(1);
      const bodies = Array.from({ length: 30 }, (_, index) => `message-${index}`);
      await send(queue.url, bodies);
      await until(() => delivered.length >= bodies.length, 20_000);
      // Every message once, and the work was shared by as many loops as the bound allows, no more.
      expect([...delivered].sort()).toEqual([...bodies].sort());
      expect(peak).toBe(3);
      expect(peakBusy).toBe(3);
      // An empty receive (one second of long polling) retires the extra loops.
      await until(() => poller.active() === 1, 5_000);
      // The last loop still serves what comes next.
      await send(queue.url, ['late']);
      await until(() => delivered.includes('late'), 5_000);
      expect(delivered.filter((body) => body === 'late')).toHaveLength(1);
    } finally {
      await poller.stop();
    }
    expect(poller.active()).toBe(0);
  }, 40_000);

  it('never scales past one loop for a trickle of single messages', async () => {
    const queue = services.queues['execution-results'];
    let peak = 0;
    let count = 0;
    const poller = pollResults(10, 4, (records) => {
      peak = Math.max(peak, poller.active());
      count += records.length;
    });
    try {
      for (let index = 0; index < 5; index++) {
        await send(queue.url, [`single-${index}`]);
        await until(() => count === index + 1, 5_000);
      }
      expect(peak).toBe(1);
    } finally {
      await poller.stop();
    }
  }, 30_000);
});

/** Messages of a queue not yet deleted: [waiting, received and not deleted]. */
async function undeleted(url: string): Promise<[number, number]> {
  const { Attributes } = await services.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return [
    Number(Attributes?.ApproximateNumberOfMessages ?? Number.NaN),
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? Number.NaN),
  ];
}

describe('a fair queue poller', () => {
  const queue = () => services.queues['script-executions'];

  /** A fair poller of the script queue whose consumer answers with `consume`; its deletes are counted. */
  function pollFairly(consume: (body: string) => Promise<SQSBatchResponse>) {
    let deleteRequests = 0;
    const stopObserving = observeSdkRequests((request) => {
      if (request.operation === 'DeleteMessageBatch' && request.resource === 'script-executions')
        deleteRequests++;
    });
    const errors: unknown[] = [];
    const poller = startPoller({
      sqs: services.sqs,
      queueUrl: queue().url,
      queueArn: queue().arn,
      batchSize: 1,
      concurrency: 4,
      fair: true,
      visibilityTimeoutSeconds: 30,
      onError: (error) => errors.push(error),
      invoke: (event) => consume((event as SQSEvent).Records[0]?.body ?? ''),
    });
    return {
      poller,
      errors,
      deleteRequests: () => deleteRequests,
      async stop() {
        await poller.stop();
        stopObserving();
        // A receive the stop aborted is still long-polling on the server (1 s): let it end empty,
        // or it would take the next test's messages to nobody.
        await new Promise((resolve) => setTimeout(resolve, 1200));
      },
    };
  }

  async function sendToGroups(bodies: readonly string[]): Promise<void> {
    await services.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue().url,
        Entries: bodies.map((body, index) => ({
          Id: String(index),
          MessageBody: body,
          MessageGroupId: `tenant-${index}`,
        })),
      }),
    );
  }

  it('deletes a message only once its consumer has succeeded, and those handled together in one request', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const handling: string[] = [];
    const fair = pollFairly(async (body) => {
      handling.push(body);
      await gate;
      return { batchItemFailures: [] };
    });
    try {
      await sendToGroups(['a', 'b', 'c', 'd']);
      await until(() => handling.length === 4, 10_000);
      // In hand, not handled yet: nothing is deleted, every message is still the queue's.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(fair.deleteRequests()).toBe(0);
      expect(await undeleted(queue().url)).toEqual([0, 4]);
      open();
      for (let tries = 0; (await undeleted(queue().url)).join() !== '0,0'; tries++) {
        if (tries > 200) throw new Error('the handled messages were not deleted');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect([...handling].sort()).toEqual(['a', 'b', 'c', 'd']);
      // Four handled in the same turn: one request deleted them all.
      expect(fair.deleteRequests()).toBe(1);
      expect(fair.errors).toEqual([]);
    } finally {
      await fair.stop();
    }
  }, 30_000);

  it('keeps a message whose consumer failed it or threw, for redelivery', async () => {
    const handled: string[] = [];
    const fair = pollFairly(async (body) => {
      handled.push(body);
      if (body === 'thrown') throw new Error('consumer failed');
      return { batchItemFailures: body === 'failed' ? [{ itemIdentifier: 'any' }] : [] };
    });
    try {
      await sendToGroups(['good', 'failed', 'thrown']);
      await until(() => handled.length === 3, 10_000);
      await fair.poller.stop();
      // Only the good one is gone; the other two wait (invisible) for their visibility timeout.
      expect(await undeleted(queue().url)).toEqual([0, 2]);
      expect(fair.deleteRequests()).toBe(1);
    } finally {
      await fair.stop();
    }
  }, 30_000);
});
