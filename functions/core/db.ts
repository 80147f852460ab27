/**
 * The platform table as the core sees it: a DynamoDB document client plus the table's name.
 * Clients are created once per process by the handler (or the local platform) and injected.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ENV, requireEnv } from './env.ts';
import { observed } from './sdk-requests.ts';

export interface Table {
  readonly client: DynamoDBDocumentClient;
  readonly name: string;
}

export function documentClient(endpoint?: string): DynamoDBDocumentClient {
  const base = observed(new DynamoDBClient(endpoint === undefined ? {} : { endpoint }));
  return DynamoDBDocumentClient.from(base, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/** The table a function was wired to, from its environment. */
export function tableFromEnv(env: NodeJS.ProcessEnv = process.env): Table {
  const endpoint = env[ENV.dynamodbEndpoint];
  return {
    client: documentClient(endpoint === '' ? undefined : endpoint),
    name: requireEnv(ENV.tableName, env),
  };
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
