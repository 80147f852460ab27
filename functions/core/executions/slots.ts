/**
 * Per-tenant concurrency: the slots a tenant's script jobs hold while they run, kept in the small
 * coordination table beside the job claims (`slots#<tenant>` → a map of execution id → lease expiry),
 * so the dispatcher needs no access to the platform table.
 *
 * A slot is taken with one conditional update (fewer holders than the tenant's cap, or already
 * held by this run); a slot whose lease expired (a dispatcher that died mid-job) is cleared the next
 * time the tenant is full. Release removes the holder. Both are safe to repeat.
 *
 * The wait list: a job of a full tenant is written beside the slots (`waits#<tenant>#<run>`: the
 * signed job as it came off the queue) and named in the same item's `waiting` map (run → when it
 * started waiting). Joining the list is conditional on the tenant being full, and a release removes
 * its holder and reads the list in one update, so a job never joins after the last release that
 * could have seen it. The release then hands the oldest waiting run a slot (moved from `waiting` to
 * `holders` in one conditional update) and returns its job, for the caller to verify and start. The
 * list holds what any writer of this table put there: whoever starts a job from it checks its MAC
 * and that it names this tenant and this run (see ./wait-list.ts).
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

/** The key of a tenant's slots in the coordination (claims) table. */
export function slotsKey(tenantId: string): string {
  return `slots#${tenantId}`;
}

/**
 * The coordination table's keys that only the dispatcher writes (`LeadingKeys` patterns): every other
 * writer of the table (job claims) is refused them — in AWS by its role, locally by the Python ports.
 */
export const SLOT_KEY_PATTERNS = ['slots#*', 'waits#*'] as const;

/** True for a key of the slots or the wait list (never a job's claim). */
export function isSlotKey(key: string): boolean {
  return key.startsWith('slots#') || key.startsWith('waits#');
}

/** The key of a waiting job of a tenant in the coordination (claims) table. */
export function waitingJobKey(tenantId: string, executionId: string): string {
  return `waits#${tenantId}#${executionId}`;
}

/** A job as it waits for its tenant's slot: the queue message's body, MAC and group, unchanged. */
export interface WaitingJob {
  readonly executionId: string;
  readonly body: string;
  readonly mac: string | undefined;
  readonly group: string | undefined;
}

/** Where a job that once waited stands now (see `TenantSlots.waitState`). */
export type WaitState =
  /** Still on the list. */
  | 'waiting'
  /** Handed a slot by a release; its lease runs. */
  | 'held'
  /** Handed a slot, but its lease expired (whoever took it died), or on no list while its job is kept. */
  | 'stranded'
  /** Its job is no longer kept: it ran from the list, or never waited. */
  | 'gone';

export interface TenantSlotsOptions {
  readonly client: DynamoDBClient;
  /** The claims table (partition key `jobId`). */
  readonly table: string;
  readonly now?: () => number;
}

function isCondition(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error | undefined)?.name === 'ConditionalCheckFailedException'
  );
}

function isMissingMap(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ValidationException';
}

/** How long an item of the list is kept at most if nobody deletes it (the table's TTL attribute). */
const WAITING_JOB_TTL_SECONDS = 2 * 24 * 3600;

export class TenantSlots {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #now: () => number;

  constructor(options: TenantSlotsOptions) {
    this.#client = options.client;
    this.#table = options.table;
    this.#now = options.now ?? (() => Date.now());
  }

  /** True when `executionId` now holds one of the tenant's `cap` slots until `leaseSeconds` from now. */
  async acquire(tenantId: string, executionId: string, cap: number, leaseSeconds: number): Promise<boolean> {
    const expires = Math.floor(this.#now() / 1000) + leaseSeconds;
    for (let attempt = 0; attempt < 3; attempt++) {
      const taken = await this.#updateSlots(tenantId, {
        // A run that was listed (a restart's re-dispatch, a redelivery) leaves the list as it takes a slot.
        UpdateExpression: 'SET holders.#run = :expires REMOVE waiting.#run',
        ConditionExpression:
          'attribute_not_exists(holders) OR size(holders) < :cap OR attribute_exists(holders.#run)',
        ExpressionAttributeNames: { '#run': executionId },
        ExpressionAttributeValues: { ':expires': { N: String(expires) }, ':cap': { N: String(cap) } },
      });
      if (taken) return true;
      if (!(await this.#clearExpired(tenantId))) return false;
    }
    return false;
  }

  /**
   * Gives the run's slot back. With `handOff`, the oldest run on the tenant's wait list is then given
   * a slot (its lease `handOff.leaseSeconds`, until whoever starts it takes the slot for itself) and
   * its job is returned; null when nobody waits, the tenant is still full, or another release was
   * first. A listed run whose job is not kept has its slot given back and the next one is tried.
   */
  async release(
    tenantId: string,
    executionId: string,
    handOff?: { readonly cap: number; readonly leaseSeconds: number },
  ): Promise<WaitingJob | null> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      const answer = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { jobId: { S: slotsKey(tenantId) } },
          UpdateExpression: 'REMOVE holders.#run',
          ConditionExpression: 'attribute_exists(holders)',
          ExpressionAttributeNames: { '#run': executionId },
          ...(handOff === undefined ? {} : { ReturnValues: 'ALL_NEW' as const }),
        }),
      );
      item = answer.Attributes;
    } catch (error) {
      if (!isCondition(error)) throw error; // nothing to release: the tenant holds no slots
      return null;
    }
    if (handOff === undefined || item === undefined) return null;
    return this.#handOff(tenantId, item, handOff.cap, handOff.leaseSeconds);
  }

  async #handOff(
    tenantId: string,
    released: Record<string, AttributeValue>,
    cap: number,
    leaseSeconds: number,
  ): Promise<WaitingJob | null> {
    let item: Record<string, AttributeValue> | undefined = released;
    // A few tries: another release may take the same run first (then the next one is tried), and a
    // listed run whose job is not kept (nothing a genuine writer leaves) is skipped.
    for (let attempt = 0; attempt < 4 && item !== undefined; attempt++) {
      const now = Math.floor(this.#now() / 1000);
      const live = Object.values(item.holders?.M ?? {}).filter((value) => Number(value.N ?? 0) > now).length;
      const oldest = Object.entries(item.waiting?.M ?? {}).sort(
        ([a, x], [b, y]) => Number(x.N ?? 0) - Number(y.N ?? 0) || (a < b ? -1 : 1),
      )[0]?.[0];
      if (oldest === undefined || live >= cap) return null;
      if (await this.#promote(tenantId, oldest, cap, now + leaseSeconds)) {
        const job = await this.#readWaitingJob(tenantId, oldest);
        if (job !== null) return job;
        await this.release(tenantId, oldest);
      }
      item = await this.#readItem(tenantId);
    }
    return null;
  }

  /** Moves a run from the wait list to the holders, if it is still listed and a slot is free. */
  async #promote(tenantId: string, executionId: string, cap: number, expires: number): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { jobId: { S: slotsKey(tenantId) } },
          UpdateExpression: 'REMOVE waiting.#run SET holders.#run = :expires',
          ConditionExpression: 'attribute_exists(waiting.#run) AND size(holders) < :cap',
          ExpressionAttributeNames: { '#run': executionId },
          ExpressionAttributeValues: { ':expires': { N: String(expires) }, ':cap': { N: String(cap) } },
        }),
      );
      return true;
    } catch (error) {
      if (!isCondition(error)) throw error;
      return false;
    }
  }

  /**
   * Puts a job of a full tenant on its wait list: true when listed, false when a slot is free after
   * all (the caller takes it). Its job is written first, so a release that lists it finds it.
   */
  async wait(tenantId: string, job: WaitingJob, cap: number): Promise<boolean> {
    const now = this.#now();
    await this.#client.send(
      new PutItemCommand({
        TableName: this.#table,
        Item: {
          jobId: { S: waitingJobKey(tenantId, job.executionId) },
          body: { S: job.body },
          ...(job.mac === undefined ? {} : { mac: { S: job.mac } }),
          ...(job.group === undefined ? {} : { group: { S: job.group } }),
          expiresAtEpoch: { N: String(Math.floor(now / 1000) + WAITING_JOB_TTL_SECONDS) },
        },
      }),
    );
    return this.#updateSlots(tenantId, {
      UpdateExpression: 'SET waiting.#run = if_not_exists(waiting.#run, :since)',
      ConditionExpression:
        'attribute_exists(holders) AND size(holders) >= :cap AND attribute_not_exists(holders.#run)',
      ExpressionAttributeNames: { '#run': job.executionId },
      ExpressionAttributeValues: { ':since': { N: String(now) }, ':cap': { N: String(cap) } },
    });
  }

  /**
   * Gives a listed run a free slot (lease `leaseSeconds`), taking it off the list: false when it is
   * not listed or the tenant is still full (expired leases are cleared first).
   */
  async takeFromList(
    tenantId: string,
    executionId: string,
    cap: number,
    leaseSeconds: number,
  ): Promise<boolean> {
    const expires = Math.floor(this.#now() / 1000) + leaseSeconds;
    if (await this.#promote(tenantId, executionId, cap, expires)) return true;
    return (await this.#clearExpired(tenantId)) && this.#promote(tenantId, executionId, cap, expires);
  }

  /** Where a run that was put on the list stands now (read by its safety-net copy). */
  async waitState(tenantId: string, executionId: string): Promise<WaitState> {
    const { Item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { jobId: { S: waitingJobKey(tenantId, executionId) } },
        ProjectionExpression: 'jobId',
        ConsistentRead: true,
      }),
    );
    if (Item === undefined) return 'gone';
    const slots = await this.#readItem(tenantId);
    if (slots?.waiting?.M?.[executionId] !== undefined) return 'waiting';
    const expires = Number(slots?.holders?.M?.[executionId]?.N ?? 0);
    return expires > Math.floor(this.#now() / 1000) ? 'held' : 'stranded';
  }

  /** Deletes a listed run's job once it has run (or was refused for good). */
  async forget(tenantId: string, executionId: string): Promise<void> {
    await this.#client.send(
      new DeleteItemCommand({
        TableName: this.#table,
        Key: { jobId: { S: waitingJobKey(tenantId, executionId) } },
      }),
    );
  }

  /** The runs on a tenant's wait list, longest waiting first. */
  async waiting(tenantId: string): Promise<string[]> {
    return Object.entries((await this.#readItem(tenantId))?.waiting?.M ?? {})
      .sort(([, a], [, b]) => Number(a.N ?? 0) - Number(b.N ?? 0))
      .map(([run]) => run);
  }

  async #readWaitingJob(tenantId: string, executionId: string): Promise<WaitingJob | null> {
    const { Item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { jobId: { S: waitingJobKey(tenantId, executionId) } },
        ConsistentRead: true,
      }),
    );
    const body = Item?.body?.S;
    if (body === undefined) return null;
    return { executionId, body, mac: Item?.mac?.S, group: Item?.group?.S };
  }

  /** The runs holding a tenant's slots now (expired leases left out). */
  async holders(tenantId: string): Promise<string[]> {
    const now = Math.floor(this.#now() / 1000);
    return Object.entries(await this.#read(tenantId))
      .filter(([, expires]) => expires > now)
      .map(([run]) => run);
  }

  async #readItem(tenantId: string): Promise<Record<string, AttributeValue> | undefined> {
    const { Item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { jobId: { S: slotsKey(tenantId) } },
        ConsistentRead: true,
      }),
    );
    return Item;
  }

  async #read(tenantId: string): Promise<Record<string, number>> {
    const map = (await this.#readItem(tenantId))?.holders?.M ?? {};
    return Object.fromEntries(Object.entries(map).map(([run, value]) => [run, Number(value.N ?? 0)]));
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
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { jobId: { S: slotsKey(tenantId) } },
            ...update,
          }),
        );
        return true;
      } catch (error) {
        if (isMissingMap(error)) {
          if (attempt === 0) await this.#create(tenantId);
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
  async #create(tenantId: string): Promise<void> {
    await this.#client.send(
      new UpdateItemCommand({
        TableName: this.#table,
        Key: { jobId: { S: slotsKey(tenantId) } },
        UpdateExpression:
          'SET holders = if_not_exists(holders, :empty), waiting = if_not_exists(waiting, :empty)',
        ExpressionAttributeValues: { ':empty': { M: {} } },
      }),
    );
  }

  /** Removes expired leases; true when any was removed (a slot may be free now). */
  async #clearExpired(tenantId: string): Promise<boolean> {
    const now = Math.floor(this.#now() / 1000);
    const expired = Object.entries(await this.#read(tenantId)).filter(([, expires]) => expires <= now);
    if (expired.length === 0) return false;
    for (const [run, expires] of expired) {
      await this.#client
        .send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { jobId: { S: slotsKey(tenantId) } },
            UpdateExpression: 'REMOVE holders.#run',
            ConditionExpression: 'holders.#run = :expires',
            ExpressionAttributeNames: { '#run': run },
            ExpressionAttributeValues: { ':expires': { N: String(expires) } },
          }),
        )
        .catch((error: unknown) => {
          if (!isCondition(error)) throw error; // renewed or released meanwhile
        });
    }
    return true;
  }
}
