/**
 * Per-tenant concurrency: the slots a tenant's script jobs hold while they run, kept in the small
 * coordination table beside the job claims (`slots#<tenant>` → a map of execution id → lease expiry),
 * so the dispatcher needs no access to the platform table.
 *
 * A slot is taken with one conditional update (fewer holders than the tenant's cap, or already
 * held by this run); a slot whose lease expired (a dispatcher that died mid-job) is cleared the next
 * time the tenant is full. Release removes the holder. Both are safe to repeat.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

/** The key of a tenant's slots in the coordination (claims) table. */
export function slotsKey(tenantId: string): string {
  return `slots#${tenantId}`;
}

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
      try {
        await this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { jobId: { S: slotsKey(tenantId) } },
            UpdateExpression: 'SET holders.#run = :expires',
            ConditionExpression:
              'attribute_not_exists(holders) OR size(holders) < :cap OR attribute_exists(holders.#run)',
            ExpressionAttributeNames: { '#run': executionId },
            ExpressionAttributeValues: { ':expires': { N: String(expires) }, ':cap': { N: String(cap) } },
          }),
        );
        return true;
      } catch (error) {
        if (isMissingMap(error)) {
          await this.#create(tenantId);
          continue;
        }
        if (!isCondition(error)) throw error;
        if (!(await this.#clearExpired(tenantId))) return false;
      }
    }
    return false;
  }

  async release(tenantId: string, executionId: string): Promise<void> {
    await this.#client
      .send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { jobId: { S: slotsKey(tenantId) } },
          UpdateExpression: 'REMOVE holders.#run',
          ConditionExpression: 'attribute_exists(holders)',
          ExpressionAttributeNames: { '#run': executionId },
        }),
      )
      .catch((error: unknown) => {
        if (!isCondition(error)) throw error; // nothing to release: the tenant holds no slots
      });
  }

  /** The runs holding a tenant's slots now (expired leases left out). */
  async holders(tenantId: string): Promise<string[]> {
    const now = Math.floor(this.#now() / 1000);
    return Object.entries(await this.#read(tenantId))
      .filter(([, expires]) => expires > now)
      .map(([run]) => run);
  }

  async #read(tenantId: string): Promise<Record<string, number>> {
    const { Item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { jobId: { S: slotsKey(tenantId) } },
        ConsistentRead: true,
      }),
    );
    const map = Item?.holders?.M ?? {};
    return Object.fromEntries(Object.entries(map).map(([run, value]) => [run, Number(value.N ?? 0)]));
  }

  async #create(tenantId: string): Promise<void> {
    await this.#client
      .send(
        new PutItemCommand({
          TableName: this.#table,
          Item: { jobId: { S: slotsKey(tenantId) }, holders: { M: {} } },
          ConditionExpression: 'attribute_not_exists(jobId)',
        }),
      )
      .catch((error: unknown) => {
        if (!isCondition(error)) throw error; // made meanwhile by another dispatcher
      });
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
