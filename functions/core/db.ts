/**
 * The platform table as the core sees it: a DynamoDB document client plus the table's name.
 * Clients are created once per process by the handler (or the local platform) and injected
 * (functions/clients/dynamodb.ts).
 */
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ServiceUnavailableError, ValidationError } from './errors.ts';

export interface Table {
  readonly client: DynamoDBDocumentClient;
  readonly name: string;
}

/** Whether a write was refused by its condition — the one failure a conditional step expects. */
export function isConditionFailure(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

/** Every item a query matches, page after page (for bounded collections: a tenant's catalogue, an inbox). */
export async function* queryAll(
  table: Table,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
): AsyncGenerator<Record<string, unknown>> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await table.client.send(
      new QueryCommand({
        ...input,
        TableName: table.name,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    for (const item of page.Items ?? []) yield item;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
}

/** Requests a batch read makes for the keys a throttled answer left unprocessed, before giving up. */
export const BATCH_GET_ATTEMPTS = 5;
/** Keys one BatchGetItem request may carry (DynamoDB's limit). */
export const BATCH_GET_KEYS = 100;

/**
 * The items of up to 100 distinct keys, read in one BatchGetItem — and again for the keys a throttled
 * answer leaves in `UnprocessedKeys`, up to BATCH_GET_ATTEMPTS requests in all. Giving up answers
 * 503: an unprocessed key is unknown, never taken for a missing item (a session, a role or a Skill
 * read as absent would wrongly refuse, or wrongly cache the refusal).
 */
export async function batchGetAll(
  table: Table,
  keys: readonly { readonly PK: string; readonly SK: string }[],
  options: {
    readonly consistent?: boolean;
    readonly attempts?: number;
    /** Attributes to read (the key is not added): only these come back, and only these are paid for. */
    readonly projection?: readonly string[];
  } = {},
): Promise<Record<string, unknown>[]> {
  if (keys.length > BATCH_GET_KEYS)
    throw new ValidationError(`At most ${BATCH_GET_KEYS} keys per batch read`);
  const found: Record<string, unknown>[] = [];
  let pending: Record<string, unknown>[] = keys.map((key) => ({ ...key }));
  const attempts = options.attempts ?? BATCH_GET_ATTEMPTS;
  const projection =
    options.projection === undefined
      ? {}
      : {
          ProjectionExpression: options.projection.map((_, index) => `#p${index}`).join(', '),
          ExpressionAttributeNames: Object.fromEntries(
            options.projection.map((name, index) => [`#p${index}`, name]),
          ),
        };
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt === attempts) throw new ServiceUnavailableError('The store is busy; try again');
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
    const result = await table.client.send(
      new BatchGetCommand({
        RequestItems: {
          [table.name]: {
            Keys: pending,
            ...projection,
            ...(options.consistent === true ? { ConsistentRead: true } : {}),
          },
        },
      }),
    );
    found.push(...(result.Responses?.[table.name] ?? []));
    pending = (result.UnprocessedKeys?.[table.name]?.Keys ?? []) as Record<string, unknown>[];
  }
  return found;
}

/**
 * The items of any number of keys: one `batchGetAll` per BATCH_GET_KEYS of them, sent together (the
 * callers bound how many: a page, a plan's schedules).
 */
export async function batchGetMany(
  table: Table,
  keys: readonly { readonly PK: string; readonly SK: string }[],
  options: Parameters<typeof batchGetAll>[2] = {},
): Promise<Record<string, unknown>[]> {
  const batches: (typeof keys)[] = [];
  for (let start = 0; start < keys.length; start += BATCH_GET_KEYS) {
    batches.push(keys.slice(start, start + BATCH_GET_KEYS));
  }
  return (await Promise.all(batches.map((batch) => batchGetAll(table, batch, options)))).flat();
}
