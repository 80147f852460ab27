/**
 * The per-tenant wait list on the real DynamoDB- and SQS-compatible servers, through the real SDK
 * clients: a full tenant's job joins the list (with a delayed safety-net copy on the queue), a
 * release hands the freed slot to the longest-waiting run and wakes its job with no delay, a copy
 * finds out where its run stands, and entries nobody genuine wrote (a bad MAC, another tenant's job,
 * another run's job, no job at all) never leave the list as a job.
 */
import { randomBytes } from 'node:crypto';
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantSlots, waitingJobKey } from '../../functions/core/executions/slots.ts';
import {
  DEFERRALS_ATTRIBUTE,
  LISTED_ATTRIBUTE,
  type ListedJob,
  TenantWaitList,
} from '../../functions/core/executions/wait-list.ts';
import { MAC_ATTRIBUTE, MessageSigner } from '../../functions/core/messages/signing.ts';
import { servicePorts } from '../../lib/local/python-function.ts';
import { type LocalServices, startLocalServices } from '../../lib/local/services.ts';

let services: LocalServices;
let clock = 1_800_000_000_000;
let slots: TenantSlots;
const signer = new MessageSigner({ jobs: randomBytes(32).toString('base64url') });
const forger = new MessageSigner({ jobs: randomBytes(32).toString('base64url') });
const warnings: Record<string, unknown>[] = [];
let queueCount = 0;

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  slots = new TenantSlots({ client: services.dynamodb, table: services.claimsTableName, now: () => clock });
});

afterAll(async () => {
  await services?.stop();
});

/** A wait list sending to a queue of its own, nobody polling it, so the test sees every message. */
async function list(): Promise<{ waitList: TenantWaitList; queueUrl: string }> {
  const created = await services.sqs.send(new CreateQueueCommand({ QueueName: `waits-${++queueCount}` }));
  const queueUrl = created.QueueUrl ?? '';
  return {
    queueUrl,
    waitList: new TenantWaitList({
      slots,
      sqs: services.sqs,
      queueUrl,
      signer,
      warn: (_message, fields) => warnings.push(fields),
    }),
  };
}

function job(tenantId: string, executionId: string, cap = 1): ListedJob & { body: string } {
  return {
    tenantId,
    executionId,
    concurrency: cap,
    body: JSON.stringify({
      kind: 'python-script',
      jobId: `${tenantId}:${executionId}`,
      tenantId,
      executionId,
    }),
  };
}

/** The job as the dispatcher receives it: a record with its MAC (and any other attributes). */
function record(
  body: string,
  attributes: Record<string, string> = {},
  mac = signer.sign('job', body),
): SQSRecord {
  return {
    messageId: `m-${randomBytes(4).toString('hex')}`,
    receiptHandle: 'unused',
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(clock),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(clock),
    },
    messageAttributes: Object.fromEntries(
      Object.entries({ [MAC_ATTRIBUTE]: mac, ...attributes }).map(([name, value]) => [
        name,
        { stringValue: value, dataType: 'String' },
      ]),
    ),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:script-executions',
    awsRegion: 'us-east-1',
  };
}

function asRecord(message: Message): SQSRecord {
  const attributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue ?? '']),
  );
  const { [MAC_ATTRIBUTE]: mac, ...rest } = attributes;
  return record(message.Body ?? '', rest, mac);
}

async function visible(queueUrl: string): Promise<Message[]> {
  const answer = await services.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
      WaitTimeSeconds: 0,
    }),
  );
  return answer.Messages ?? [];
}

async function delayed(queueUrl: string): Promise<number> {
  const { Attributes } = await services.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0);
}

describe('the tenant slots’ wait list', () => {
  it('lists a run only while its tenant is full, and a release hands the slot to the longest-waiting run', async () => {
    expect(await slots.acquire('acme', 'ex-a', 1, 60)).toBe(true);
    const b = job('acme', 'ex-b');
    expect(
      await slots.wait('acme', { executionId: 'ex-b', body: b.body, mac: 'v1.x', group: 'acme' }, 1),
    ).toBe(true);
    clock += 1;
    const c = job('acme', 'ex-c');
    expect(
      await slots.wait('acme', { executionId: 'ex-c', body: c.body, mac: undefined, group: undefined }, 1),
    ).toBe(true);
    // A tenant with a free slot lists nobody: the caller takes the slot instead.
    expect(
      await slots.wait('globex', { executionId: 'ex-g', body: '{}', mac: undefined, group: undefined }, 1),
    ).toBe(false);
    expect(await slots.waiting('acme')).toEqual(['ex-b', 'ex-c']);

    const next = await slots.release('acme', 'ex-a', { cap: 1, leaseSeconds: 30 });
    expect(next).toEqual({ executionId: 'ex-b', body: b.body, mac: 'v1.x', group: 'acme' });
    expect(await slots.holders('acme')).toEqual(['ex-b']);
    expect(await slots.waiting('acme')).toEqual(['ex-c']);
    // A release without a hand-off (the platform's recovery) lists nobody out.
    expect(await slots.release('acme', 'ex-b')).toBeNull();
    expect(await slots.waiting('acme')).toEqual(['ex-c']);
    expect(await slots.takeFromList('acme', 'ex-c', 1, 60)).toBe(true);
    expect(await slots.takeFromList('acme', 'ex-c', 1, 60)).toBe(false); // off the list now
  });

  it('hands each waiting run a slot once when slots free at the same time', async () => {
    for (const run of ['h-1', 'h-2', 'h-3']) expect(await slots.acquire('hooli', run, 3, 60)).toBe(true);
    for (const run of ['w-1', 'w-2', 'w-3', 'w-4']) {
      clock += 1;
      expect(
        await slots.wait(
          'hooli',
          { executionId: run, body: job('hooli', run).body, mac: 'v1.x', group: undefined },
          3,
        ),
      ).toBe(true);
    }
    const handed = await Promise.all(
      ['h-1', 'h-2', 'h-3'].map((run) => slots.release('hooli', run, { cap: 3, leaseSeconds: 30 })),
    );
    const runs = handed.map((entry) => entry?.executionId).filter((run) => run !== undefined);
    // Each freed slot goes to a different run, the three longest-waiting, never over the cap.
    expect(runs.sort()).toEqual(['w-1', 'w-2', 'w-3']);
    expect((await slots.holders('hooli')).sort()).toEqual(['w-1', 'w-2', 'w-3']);
    expect(await slots.waiting('hooli')).toEqual(['w-4']);
  });

  it('takes a listed run off the list when it takes a slot on its own (a redelivery, a restart’s re-dispatch)', async () => {
    expect(await slots.acquire('soylent', 'ex-1', 1, 60)).toBe(true);
    expect(
      await slots.wait('soylent', { executionId: 'ex-2', body: '{}', mac: undefined, group: undefined }, 1),
    ).toBe(true);
    await slots.release('soylent', 'ex-1');
    expect(await slots.acquire('soylent', 'ex-2', 1, 60)).toBe(true);
    expect(await slots.waiting('soylent')).toEqual([]);
    expect(await slots.release('soylent', 'ex-2', { cap: 1, leaseSeconds: 30 })).toBeNull();
  });

  it('repairs a tenant item written without its maps, instead of leaving the tenant unable to run', async () => {
    // Anything else that writes the key (the claims table's other writers) leaves a mapless item.
    await services.dynamodb.send(
      new PutItemCommand({
        TableName: services.claimsTableName,
        Item: { jobId: { S: 'slots#initech' }, expiresAtEpoch: { N: '9999999999' } },
      }),
    );
    expect(await slots.acquire('initech', 'ex-1', 1, 60)).toBe(true);
    expect(
      await slots.wait('initech', { executionId: 'ex-2', body: '{}', mac: undefined, group: undefined }, 1),
    ).toBe(true);
  });

  it('reads a run named like an object member as any other run: not listed, not holding, its job stranded', async () => {
    // A job kept for the run, but the run on neither map: only an own entry of a map may count.
    for (const run of ['constructor', '__proto__', 'toString']) {
      await services.dynamodb.send(
        new PutItemCommand({
          TableName: services.claimsTableName,
          Item: { jobId: { S: waitingJobKey('cyberdyne', run) }, body: { S: '{}' } },
        }),
      );
      expect(await slots.acquire('cyberdyne', 'ex-holder', 1, 60)).toBe(true);
      expect(await slots.waitState('cyberdyne', run)).toBe('stranded');
      expect(await slots.waiting('cyberdyne')).toEqual([]);
    }
  });
});

describe('the dispatcher’s wait list', () => {
  it('lists a full tenant’s job with a delayed copy, and wakes it with no delay when a slot frees', async () => {
    const { waitList, queueUrl } = await list();
    const first = job('umbrella', 'ex-1');
    const second = job('umbrella', 'ex-2');
    expect(await waitList.admit(record(first.body), first, 60)).toBe('run');
    const waiting = record(second.body);
    expect(await waitList.admit(waiting, second, 60)).toBe('waiting');
    expect(await slots.waiting('umbrella')).toEqual(['ex-2']);
    // The safety net: a copy on its way back, not yet visible.
    expect(await visible(queueUrl)).toEqual([]);
    expect(await delayed(queueUrl)).toBe(1);

    await waitList.finish(record(first.body), first);
    const [woken, ...others] = await visible(queueUrl);
    expect(others).toEqual([]);
    expect(woken?.Body).toBe(second.body);
    expect(woken?.MessageAttributes?.[MAC_ATTRIBUTE]?.StringValue).toBe(
      waiting.messageAttributes[MAC_ATTRIBUTE]?.stringValue,
    );
    expect(woken?.MessageAttributes?.[LISTED_ATTRIBUTE]?.StringValue).toBe('woken');
    expect(await slots.holders('umbrella')).toEqual(['ex-2']); // kept for it meanwhile

    // Its dispatcher takes the slot that was kept for it; a third job waits behind it.
    const wokenRecord = asRecord(woken as Message);
    expect(await waitList.admit(wokenRecord, second, 60)).toBe('run');
    const third = job('umbrella', 'ex-3');
    expect(await waitList.admit(record(third.body), third, 60)).toBe('waiting');

    // The copy of ex-2 comes back while it runs: it waits again, as a copy.
    const copy = record(second.body, { [LISTED_ATTRIBUTE]: 'copy', [DEFERRALS_ATTRIBUTE]: '1' });
    expect(await waitList.admit(copy, second, 60)).toBe('waiting');
    expect(await slots.holders('umbrella')).toEqual(['ex-2']);

    // ex-2 ends: ex-3 is woken; the copy of ex-2 that comes back after that is dropped.
    await waitList.finish(wokenRecord, second);
    const [thirdWoken] = await visible(queueUrl);
    expect(thirdWoken?.Body).toBe(third.body);
    expect(await waitList.admit(copy, second, 60)).toBe('done');
  });

  it('runs a copy whose run was handed a slot by a dispatcher that never woke it, once that lease ran out', async () => {
    const { waitList } = await list();
    const holder = job('stark', 'ex-h');
    const stranded = job('stark', 'ex-s');
    expect(await waitList.admit(record(holder.body), holder, 60)).toBe('run');
    expect(await waitList.admit(record(stranded.body), stranded, 60)).toBe('waiting');
    // The release hands the slot over, and its dispatcher dies before the wake message is sent.
    expect((await slots.release('stark', 'ex-h', { cap: 1, leaseSeconds: 30 }))?.executionId).toBe('ex-s');
    const copy = record(stranded.body, { [LISTED_ATTRIBUTE]: 'copy', [DEFERRALS_ATTRIBUTE]: '1' });
    expect(await waitList.admit(copy, stranded, 60)).toBe('waiting'); // its lease still runs
    clock += 31_000;
    expect(await waitList.admit(copy, stranded, 60)).toBe('run');
    await waitList.finish(copy, stranded);
    expect(await waitList.admit(copy, stranded, 60)).toBe('done');
  });

  it('keeps a copy going round for a stranded run that finds its tenant full again', async () => {
    const { waitList, queueUrl } = await list();
    const holder = job('initrode', 'ex-h');
    const stranded = job('initrode', 'ex-s');
    expect(await waitList.admit(record(holder.body), holder, 60)).toBe('run');
    expect(await waitList.admit(record(stranded.body), stranded, 60)).toBe('waiting');
    expect(await delayed(queueUrl)).toBe(1);
    expect((await slots.release('initrode', 'ex-h', { cap: 1, leaseSeconds: 30 }))?.executionId).toBe('ex-s');
    clock += 31_000;
    const other = job('initrode', 'ex-o');
    expect(await waitList.admit(record(other.body), other, 600)).toBe('run'); // takes the expired slot
    const copy = record(stranded.body, { [LISTED_ATTRIBUTE]: 'copy', [DEFERRALS_ATTRIBUTE]: '1' });
    expect(await waitList.admit(copy, stranded, 60)).toBe('waiting');
    expect(await slots.waiting('initrode')).toEqual(['ex-s']);
    expect(await delayed(queueUrl)).toBe(2); // the first copy (never received here) and the next one
  });

  it('takes a copy delivered again after its dispatcher failed as a new job, and defers a throttled job as a plain one', async () => {
    const { waitList, queueUrl } = await list();
    const run = job('massive', 'ex-1');
    const copy = record(run.body, { [LISTED_ATTRIBUTE]: 'copy', [DEFERRALS_ATTRIBUTE]: '1' });
    // Its entry is gone (the failed attempt's finish deleted it); the worker must still see it.
    const again = { ...copy, attributes: { ...copy.attributes, ApproximateReceiveCount: '2' } };
    expect(await waitList.admit(copy, run, 60)).toBe('done');
    expect(await waitList.admit(again, run, 60)).toBe('run');
    await waitList.defer(again);
    // Visible after its one-second delay: a plain job, no list attribute, one more deferral.
    const back = await services.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 5 }),
    );
    expect(back.Messages?.[0]?.Body).toBe(run.body);
    expect(back.Messages?.[0]?.MessageAttributes?.[LISTED_ATTRIBUTE]).toBeUndefined();
    expect(back.Messages?.[0]?.MessageAttributes?.[DEFERRALS_ATTRIBUTE]?.StringValue).toBe('2');
  });

  describe('as a channel someone else writes to', () => {
    /** Lists `body` (with `mac`) for `tenant` as run `run` behind one holder, then ends the holder. */
    async function release(tenant: string, run: string, body: string, mac: string | undefined) {
      const { waitList, queueUrl } = await list();
      const holder = job(tenant, 'ex-holder');
      expect(await waitList.admit(record(holder.body), holder, 60)).toBe('run');
      expect(await slots.wait(tenant, { executionId: run, body, mac, group: undefined }, 1)).toBe(true);
      warnings.length = 0;
      await waitList.finish(record(holder.body), holder);
      return { woken: await visible(queueUrl), queueUrl };
    }

    it('is out of reach of the Python hosts, whose claim calls name a job’s claim only', async () => {
      const ports = servicePorts(services, async () => null);
      const now = clock / 1000;
      for (const key of ['slots#acme', 'waits#acme#ex-1']) {
        await expect(ports.claim(key, now + 60, now)).rejects.toThrow(/not a job's claim/);
        await expect(ports.heartbeat(key, now)).rejects.toThrow(/not a job's claim/);
        await expect(ports.lastSignOfLife(key)).rejects.toThrow(/not a job's claim/);
      }
      expect(await ports.claim('acme:ex-1', now + 60, now)).toBe(true);
    });

    it('refuses an entry whose MAC is not the platform’s, gives its slot back and deletes it', async () => {
      const forged = job('wayne', 'ex-forged');
      const { woken } = await release('wayne', 'ex-forged', forged.body, forger.sign('job', forged.body));
      expect(woken).toEqual([]);
      expect(warnings).toEqual([
        expect.objectContaining({ securityEvent: 'message-refused', executionId: 'ex-forged' }),
      ]);
      expect(await slots.holders('wayne')).toEqual([]);
      expect(await slots.waitState('wayne', 'ex-forged')).toBe('gone');
    });

    it('refuses a genuine job of another tenant placed on this tenant’s list', async () => {
      const theirs = job('globex', 'ex-theirs');
      const { woken } = await release('cyberdyne', 'ex-theirs', theirs.body, signer.sign('job', theirs.body));
      expect(woken).toEqual([]);
      expect(warnings).toEqual([expect.objectContaining({ securityEvent: 'message-refused' })]);
      expect(await slots.holders('cyberdyne')).toEqual([]);
    });

    it('refuses a genuine job listed under another run’s name', async () => {
      const other = job('tyrell', 'ex-other');
      const { woken } = await release('tyrell', 'ex-renamed', other.body, signer.sign('job', other.body));
      expect(woken).toEqual([]);
      expect(warnings).toEqual([expect.objectContaining({ securityEvent: 'message-refused' })]);
    });

    it('gives back the slot of a listed run whose job is not kept, and hands it on to the next', async () => {
      const { waitList, queueUrl } = await list();
      const holder = job('oscorp', 'ex-holder');
      const genuine = job('oscorp', 'ex-genuine');
      expect(await waitList.admit(record(holder.body), holder, 60)).toBe('run');
      // A bare name on the list, with no job beside it (written straight into the map).
      await services.dynamodb.send(
        new UpdateItemCommand({
          TableName: services.claimsTableName,
          Key: { jobId: { S: 'slots#oscorp' } },
          UpdateExpression: 'SET waiting.#run = :since',
          ExpressionAttributeNames: { '#run': 'ex-bare' },
          ExpressionAttributeValues: { ':since': { N: '1' } },
        }),
      );
      clock += 1;
      expect(await waitList.admit(record(genuine.body), genuine, 60)).toBe('waiting');
      await waitList.finish(record(holder.body), holder);
      const woken = await visible(queueUrl);
      expect(woken.map((message) => message.Body)).toEqual([genuine.body]);
      expect(await slots.holders('oscorp')).toEqual(['ex-genuine']);
      expect(await slots.waiting('oscorp')).toEqual([]);
      expect(waitingJobKey('oscorp', 'ex-bare')).toBe('waits#oscorp#ex-bare');
    });
  });
});
