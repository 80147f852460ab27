/**
 * Where the dispatcher's per-tenant slots and wait list are stored, in the coordination (claims)
 * table (./keys.ts): one item per tenant (`slots#<tenant>`: a map of holders, run → lease expiry in
 * epoch seconds, and a map of waiting runs, run → when it started waiting in epoch milliseconds) and
 * one item per waiting job (`waits#<tenant>#<run>`: the queue message's body, MAC and group). Every
 * DynamoDB call of the slots is here, through the low-level client (the dispatcher holds no document
 * client); items are parsed at this boundary, and each conditional update's refusal is an answer
 * (`false`, `undefined`). What a cap, a lease and a hand-off mean stays in slots.ts.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { CLAIMS_KEY_NAME, slotsKey, waitingJobKey } from './keys.ts';

/** A job as it waits for its tenant's slot: the queue message's body, MAC and group, unchanged. */
export interface WaitingJob {
  readonly executionId: string;
  readonly body: string;
  readonly mac: string | undefined;
  readonly group: string | undefined;
}

/** A tenant's slots as stored: each holder's lease expiry (epoch s), each waiting run's start (epoch ms). */
export interface SlotsItem {
  readonly holders: Readonly<Record<string, number>>;
  readonly waiting: Readonly<Record<string, number>>;
}

/** How long an item of the list is kept at most if nobody deletes it (the table's TTL attribute). */
const WAITING_JOB_TTL_SECONDS = 2 * 24 * 3600;

function isCondition(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error | undefined)?.name === 'ConditionalCheckFailedException'
  );
}

/** True when the write was made, false when its condition refused it; any other failure passes through. */
async function made(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (!isCondition(error)) throw error;
    return false;
  }
}

/** The answer DynamoDB gives an update whose document path names a map the item lacks. */
function isMissingMap(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ValidationException';
}

function numbers(map: AttributeValue | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(map?.M ?? {}).map(([run, value]) => [run, Number(value.N ?? 0)]));
}

function slotsFromItem(item: Record<string, AttributeValue>): SlotsItem {
  return { holders: numbers(item.holders), waiting: numbers(item.waiting) };
}

function slotsItemKey(tenantId: string): Record<string, AttributeValue> {
  return { [CLAIMS_KEY_NAME]: { S: slotsKey(tenantId) } };
}

function waitingJobItemKey(tenantId: string, executionId: string): Record<string, AttributeValue> {
  return { [CLAIMS_KEY_NAME]: { S: waitingJobKey(tenantId, executionId) } };
}

const number = (value: number): AttributeValue => ({ N: String(value) });

export interface SlotRepositoryOptions {
  readonly client: DynamoDBClient;
  /** The claims table (partition key `jobId`). */
  readonly table: string;
}

export class SlotRepository {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(options: SlotRepositoryOptions) {
    this.#client = options.client;
    this.#table = options.table;
  }

  /** A tenant's slots (strongly consistent); undefined when it never held one. */
  async slots(tenantId: string): Promise<SlotsItem | undefined> {
    const { Item } = await this.#client.send(
      new GetItemCommand({ TableName: this.#table, Key: slotsItemKey(tenantId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : slotsFromItem(Item);
  }

  /**
   * Makes `executionId` a holder until `expires` (and takes it off the list) if the tenant holds
   * fewer than `cap` slots or the run holds one already; false when it is full.
   */
  take(tenantId: string, executionId: string, cap: number, expires: number): Promise<boolean> {
    // A run that was listed (a restart's re-dispatch, a redelivery) leaves the list as it takes a slot.
    return this.#updateSlots(tenantId, {
      UpdateExpression: 'SET holders.#run = :expires REMOVE waiting.#run',
      ConditionExpression:
        'attribute_not_exists(holders) OR size(holders) < :cap OR attribute_exists(holders.#run)',
      ExpressionAttributeNames: { '#run': executionId },
      ExpressionAttributeValues: { ':expires': number(expires), ':cap': number(cap) },
    });
  }

  /**
   * Removes the run from the holders. With `read`, the tenant's slots as the removal left them;
   * undefined without it, or when the tenant holds no slots at all.
   */
  async release(
    tenantId: string,
    executionId: string,
    options: { readonly read: boolean },
  ): Promise<SlotsItem | undefined> {
    try {
      const answer = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: slotsItemKey(tenantId),
          UpdateExpression: 'REMOVE holders.#run',
          ConditionExpression: 'attribute_exists(holders)',
          ExpressionAttributeNames: { '#run': executionId },
          ...(options.read ? { ReturnValues: 'ALL_NEW' as const } : {}),
        }),
      );
      return answer.Attributes === undefined ? undefined : slotsFromItem(answer.Attributes);
    } catch (error) {
      if (!isCondition(error)) throw error; // nothing to release: the tenant holds no slots
      return undefined;
    }
  }

  /** Moves a run from the wait list to the holders (until `expires`), if it is still listed and fewer than `cap` hold. */
  promote(tenantId: string, executionId: string, cap: number, expires: number): Promise<boolean> {
    return made(
      this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: slotsItemKey(tenantId),
          UpdateExpression: 'REMOVE waiting.#run SET holders.#run = :expires',
          ConditionExpression: 'attribute_exists(waiting.#run) AND size(holders) < :cap',
          ExpressionAttributeNames: { '#run': executionId },
          ExpressionAttributeValues: { ':expires': number(expires), ':cap': number(cap) },
        }),
      ),
    );
  }

  /** Removes a holder whose lease still ends at `expires`; false when it was renewed or released meanwhile. */
  clearLease(tenantId: string, executionId: string, expires: number): Promise<boolean> {
    return made(
      this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: slotsItemKey(tenantId),
          UpdateExpression: 'REMOVE holders.#run',
          ConditionExpression: 'holders.#run = :expires',
          ExpressionAttributeNames: { '#run': executionId },
          ExpressionAttributeValues: { ':expires': number(expires) },
        }),
      ),
    );
  }

  /**
   * Writes the job (kept until `now` plus two days), then lists its run (since `now`, epoch ms) if the
   * tenant holds `cap` slots or more and the run none: false when a slot is free after all.
   */
  async join(tenantId: string, job: WaitingJob, cap: number, now: number): Promise<boolean> {
    await this.#client.send(
      new PutItemCommand({
        TableName: this.#table,
        Item: {
          ...waitingJobItemKey(tenantId, job.executionId),
          body: { S: job.body },
          ...(job.mac === undefined ? {} : { mac: { S: job.mac } }),
          ...(job.group === undefined ? {} : { group: { S: job.group } }),
          expiresAtEpoch: number(Math.floor(now / 1000) + WAITING_JOB_TTL_SECONDS),
        },
      }),
    );
    return this.#updateSlots(tenantId, {
      UpdateExpression: 'SET waiting.#run = if_not_exists(waiting.#run, :since)',
      ConditionExpression:
        'attribute_exists(holders) AND size(holders) >= :cap AND attribute_not_exists(holders.#run)',
      ExpressionAttributeNames: { '#run': job.executionId },
      ExpressionAttributeValues: { ':since': number(now), ':cap': number(cap) },
    });
  }

  /** A listed run's job as it was written, or null when it is not kept (or holds no body). */
  async waitingJob(tenantId: string, executionId: string): Promise<WaitingJob | null> {
    const { Item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: waitingJobItemKey(tenantId, executionId),
        ConsistentRead: true,
      }),
    );
    const body = Item?.body?.S;
    if (body === undefined) return null;
    return { executionId, body, mac: Item?.mac?.S, group: Item?.group?.S };
  }

  /** Whether a listed run's job is kept (strongly consistent; reads its key only). */
  async keepsJob(tenantId: string, executionId: string): Promise<boolean> {
    const { Item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: waitingJobItemKey(tenantId, executionId),
        ProjectionExpression: CLAIMS_KEY_NAME,
        ConsistentRead: true,
      }),
    );
    return Item !== undefined;
  }

  /** Deletes a listed run's job. */
  async forget(tenantId: string, executionId: string): Promise<void> {
    await this.#client.send(
      new DeleteItemCommand({ TableName: this.#table, Key: waitingJobItemKey(tenantId, executionId) }),
    );
  }

  /**
   * One conditional update of the tenant's slots item: true when made, false when its condition
   * refused it. Where the item lacks its maps (the first job ever, or a key written without them),
   * they are made and the update is sent once more; still missing then, it is false.
   */
  async #updateSlots(
    tenantId: string,
    update: Omit<UpdateItemCommandInput, 'TableName' | 'Key' | 'ReturnValues'>,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.#client.send(
          new UpdateItemCommand({ TableName: this.#table, Key: slotsItemKey(tenantId), ...update }),
        );
        return true;
      } catch (error) {
        if (isMissingMap(error)) {
          if (attempt === 0) await this.#createMaps(tenantId);
          continue;
        }
        if (!isCondition(error)) throw error;
        return false;
      }
    }
    return false;
  }

  /**
   * Gives the tenant's item its two maps where they are missing: made by the first job ever, and
   * repaired if anything else wrote that key (a put without the maps would otherwise leave the
   * tenant unable to take a slot until the item expired).
   */
  async #createMaps(tenantId: string): Promise<void> {
    await this.#client.send(
      new UpdateItemCommand({
        TableName: this.#table,
        Key: slotsItemKey(tenantId),
        UpdateExpression:
          'SET holders = if_not_exists(holders, :empty), waiting = if_not_exists(waiting, :empty)',
        ExpressionAttributeValues: { ':empty': { M: {} } },
      }),
    );
  }
}
