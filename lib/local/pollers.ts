/**
 * Local SQS event source mappings: long-poll a queue, hand the batch to the consumer as an SQS
 * event, delete what succeeded. `batchItemFailures` leaves the named messages for redelivery after
 * their visibility timeout; a thrown error leaves the whole batch; the queue's redrive policy moves a
 * message to its DLQ after maxReceiveCount receives — the same contract Lambda's mapping keeps.
 *
 * A fair queue (messages grouped by tenant) is served the way SQS fair queues serve one: fauxqs
 * hands messages out in arrival order, so the poller takes what is waiting into a buffer per group
 * (keeping it invisible meanwhile) and gives the consumer one message at a time, round-robin across
 * groups: one tenant's backlog never stands in front of another tenant's message.
 *
 * Handled messages are deleted in batches (`Deletes`): a message's delete is asked for only once its
 * consumer has succeeded, and the deletes asked for while one batch is on its way go together in the
 * next (up to 10), so a busy queue costs fewer requests and a quiet one waits for nothing.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  MessageSystemAttributeName,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { LocalInvoke } from './lambda.ts';
import { LOCAL_REGION } from './services.ts';

export interface PollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly batchSize: number;
  /**
   * The most receive loops at once. A poller starts with one loop and scales with the work, as
   * Lambda's mapping adds pollers for a backlog: a loop that receives more than one message (or a
   * full batch of one) starts another, up to this bound; a loop that receives nothing retires unless
   * it is the last one.
   */
  readonly concurrency: number;
  readonly invoke: LocalInvoke;
  /** Reports a consumer failure (the message stays for redelivery). */
  readonly onError: (error: unknown) => void;
  /**
   * Serve the queue fairly across message groups (see above); `concurrency` is then the number of
   * messages handed to the consumer at once. @default false
   */
  readonly fair?: boolean;
  /** The queue's visibility timeout (a fair poller keeps buffered messages invisible with it). */
  readonly visibilityTimeoutSeconds?: number;
}

/** Messages a fair poller holds at most (received, not yet handed to the consumer). */
export const FAIR_BUFFER_LIMIT = 1000;

export interface Poller {
  /** Receive loops running now (a fair poller: messages handed to the consumer now). */
  active(): number;
  stop(): Promise<void>;
}

/**
 * The group a fair poller serves a message in: its MessageGroupId, else the tenant its job names.
 * fauxqs keeps a MessageGroupId only on FIFO queues, so on the local fair queues (standard queues, as
 * on AWS) every message came back without one: the round-robin saw one group, and one tenant's backlog
 * held every other tenant's job behind it. Only the order of service depends on this: the consumer
 * verifies a job's MAC before it believes whose job it is, and only this process can send to a queue.
 */
export function groupOf(message: Message): string {
  const group = message.Attributes?.MessageGroupId;
  if (group !== undefined) return group;
  try {
    const named = JSON.parse(message.Body ?? '') as { tenantId?: unknown } | null;
    return typeof named?.tenantId === 'string' ? named.tenantId : '';
  } catch {
    return '';
  }
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId === undefined ? {} : { MessageGroupId: attributes.MessageGroupId }),
    },
    // As Lambda's mapping delivers them (the MAC of every internal message travels here).
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: LOCAL_REGION,
  };
}

/** Entries of one DeleteMessageBatch (SQS's limit). */
const DELETE_BATCH = 10;

/**
 * Deletes of handled messages: one DeleteMessageBatch at a time, taking every delete asked for
 * meanwhile (those asked for in the same turn of the event loop go together). Each `delete` resolves
 * once its batch has been answered; an entry the queue refuses, or a request that fails, is reported
 * and its message comes back after its visibility timeout, as an undeleted message does.
 */
class Deletes {
  readonly #options: Pick<PollerOptions, 'sqs' | 'queueUrl' | 'onError'>;
  readonly #asked: { readonly receiptHandle: string; readonly sent: () => void }[] = [];
  #sending: Promise<void> | null = null;

  constructor(options: Pick<PollerOptions, 'sqs' | 'queueUrl' | 'onError'>) {
    this.#options = options;
  }

  /** Deletes a handled message (resolves once its batch is answered, whatever the answer). */
  delete(receiptHandle: string | undefined): Promise<void> {
    if (receiptHandle === undefined) return Promise.resolve();
    return new Promise<void>((sent) => {
      this.#asked.push({ receiptHandle, sent });
      this.#sending ??= new Promise<void>((turn) => setImmediate(turn)).then(() => this.#send());
    });
  }

  /** Resolves once every delete asked for so far has been sent and answered. */
  async settled(): Promise<void> {
    while (this.#sending !== null) await this.#sending;
  }

  async #send(): Promise<void> {
    while (this.#asked.length > 0) {
      const batch = this.#asked.splice(0, DELETE_BATCH);
      try {
        const answer = await this.#options.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.#options.queueUrl,
            Entries: batch.map((entry, index) => ({ Id: String(index), ReceiptHandle: entry.receiptHandle })),
          }),
        );
        for (const failed of answer.Failed ?? []) {
          this.#options.onError(
            new Error(
              `The queue kept a handled message: ${failed.Code ?? ''} ${failed.Message ?? ''}`.trim(),
            ),
          );
        }
      } catch (error) {
        this.#options.onError(error);
      }
      for (const entry of batch) entry.sent();
    }
    this.#sending = null;
  }
}

export function startPoller(options: PollerOptions): Poller {
  if (options.fair === true) return startFairPoller(options);
  let running = true;
  const abort = new AbortController();
  const deletes = new Deletes(options);
  const loops = new Set<Promise<void>>();
  const bound = Math.max(1, options.concurrency);

  const spawnLoop = () => {
    const work = loop().finally(() => loops.delete(work));
    loops.add(work);
  };

  async function loop(): Promise<void> {
    while (running) {
      let messages: Message[];
      try {
        const received = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: [MessageSystemAttributeName.All],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (!running) return;
        options.onError(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (messages.length === 0) {
        // Nothing waiting: an extra loop retires; the last one keeps long-polling.
        if (loops.size > 1) return;
        continue;
      }
      // More than one message (or a full batch of one) means work piled up while this loop was busy:
      // another loop takes what follows while this one hands the batch over.
      if (messages.length >= Math.min(2, options.batchSize) && loops.size < bound && running) spawnLoop();
      const event: SQSEvent = { Records: messages.map((message) => toRecord(message, options.queueArn)) };
      let failed: ReadonlySet<string>;
      try {
        const response = (await options.invoke(event)) as SQSBatchResponse | undefined | null;
        failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      } catch (error) {
        options.onError(error);
        continue;
      }
      // Deleted only once handled; the loop polls again at once, not after the delete's answer (the
      // deletes go in batches of their own, and stop() waits for them).
      for (const message of messages) {
        if (!failed.has(message.MessageId ?? '')) void deletes.delete(message.ReceiptHandle);
      }
    }
  }

  spawnLoop();
  return {
    active: () => loops.size,
    async stop() {
      running = false;
      abort.abort();
      while (loops.size > 0) await Promise.allSettled([...loops]);
      await deletes.settled();
    },
  };
}

/** Round-robin across message groups, one message per consumer call (see the module header). */
function startFairPoller(options: PollerOptions): Poller {
  let running = true;
  const abort = new AbortController();
  const deletes = new Deletes(options);
  const groups = new Map<string, Message[]>();
  const ring: string[] = [];
  let next = 0;
  let buffered = 0;
  let inFlight = 0;
  const active = new Set<Promise<void>>();
  // Both loops wait for a change (a message buffered, a handler free): each change wakes every waiter.
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const wake of [...waiters]) wake();
  };
  const waitForChange = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiters.add(wake);
    });

  const take = (): Message | undefined => {
    while (ring.length > 0) {
      next %= ring.length;
      const group = ring[next] as string;
      const queue = groups.get(group) ?? [];
      const message = queue.shift();
      if (queue.length === 0) {
        groups.delete(group);
        ring.splice(next, 1);
      } else {
        next++;
      }
      if (message !== undefined) {
        buffered--;
        return message;
      }
    }
    return undefined;
  };

  async function handle(message: Message): Promise<void> {
    const event: SQSEvent = { Records: [toRecord(message, options.queueArn)] };
    let ok = false;
    try {
      const response = (await options.invoke(event)) as SQSBatchResponse | undefined | null;
      ok = (response?.batchItemFailures ?? []).length === 0;
    } catch (error) {
      options.onError(error);
    }
    // Deleted only once handled; the handler's place is free at once (the delete goes in a batch).
    if (ok) void deletes.delete(message.ReceiptHandle);
  }

  async function receive(): Promise<void> {
    while (running) {
      if (buffered >= FAIR_BUFFER_LIMIT) {
        await waitForChange(100);
        continue;
      }
      let messages: Message[];
      try {
        const received = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: 10,
            // Long-polled even while jobs are in hand: the queue answers as soon as a job arrives, so
            // a job sent while another runs is taken at once, not after a pause between empty polls.
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: [MessageSystemAttributeName.All],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (!running) return;
        options.onError(error);
        await waitForChange(500);
        continue;
      }
      if (messages.length > 0) {
        // The consumer's first steps go before this loop's next receive is built and signed: the
        // next receive waits one turn of the event loop, the job none.
        buffer(messages);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  /** Buffers received messages in their groups and wakes the dispatch loop. */
  function buffer(messages: readonly Message[]): void {
    for (const message of messages) {
      const group = groupOf(message);
      let queue = groups.get(group);
      if (queue === undefined) {
        queue = [];
        groups.set(group, queue);
        ring.push(group);
      }
      queue.push(message);
      buffered++;
    }
    changed();
  }

  async function dispatch(): Promise<void> {
    while (running) {
      if (inFlight >= options.concurrency || buffered === 0) {
        await waitForChange(100);
        continue;
      }
      const message = take();
      if (message === undefined) continue;
      inFlight++;
      const work = handle(message).finally(() => {
        inFlight--;
        active.delete(work);
        changed();
      });
      active.add(work);
    }
  }

  /** Buffered messages stay invisible until they are handed over. */
  const keepInvisible = setInterval(
    () => {
      const waiting = [...groups.values()].flat();
      for (let start = 0; start < waiting.length; start += 10) {
        void options.sqs
          .send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: waiting.slice(start, start + 10).map((message, index) => ({
                Id: String(index),
                ReceiptHandle: message.ReceiptHandle,
                VisibilityTimeout: options.visibilityTimeoutSeconds ?? 30,
              })),
            }),
          )
          .catch((error: unknown) => options.onError(error));
      }
    },
    Math.max(500, ((options.visibilityTimeoutSeconds ?? 30) * 1000) / 3),
  );
  keepInvisible.unref();

  const loops = [receive(), dispatch()];
  return {
    active: () => inFlight,
    async stop() {
      running = false;
      abort.abort();
      clearInterval(keepInvisible);
      changed();
      await Promise.allSettled(loops);
      await Promise.allSettled([...active]);
      await deletes.settled();
    },
  };
}
