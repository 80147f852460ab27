/**
 * DynamoDB clients of a function: the platform table (a document client and the table's name, as the
 * core takes it) and plain clients, pointed at the local DynamoDB-compatible server when the
 * environment names one. Built once per process, at module scope, and injected into the core.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../core/db.ts';
import { ENV, requireEnv } from '../core/env.ts';
import { observed } from '../core/sdk-requests.ts';

/** The configured endpoint, or none (AWS's). */
function endpointOf(env: NodeJS.ProcessEnv): string | undefined {
  const endpoint = env[ENV.dynamodbEndpoint];
  return endpoint === undefined || endpoint === '' ? undefined : endpoint;
}

/** A plain client (the claims table's conditional puts). */
export function dynamodbClientFromEnv(env: NodeJS.ProcessEnv = process.env): DynamoDBClient {
  const endpoint = endpointOf(env);
  return observed(new DynamoDBClient(endpoint === undefined ? {} : { endpoint }));
}

/** A document client: undefined attributes dropped, class instances refused. */
export function documentClient(endpoint?: string): DynamoDBDocumentClient {
  const base = observed(new DynamoDBClient(endpoint === undefined ? {} : { endpoint }));
  return DynamoDBDocumentClient.from(base, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/** The table a function was wired to, from its environment. */
export function tableFromEnv(env: NodeJS.ProcessEnv = process.env): Table {
  return { client: documentClient(endpointOf(env)), name: requireEnv(ENV.tableName, env) };
}
