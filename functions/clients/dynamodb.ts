/**
 * DynamoDB clients of a function: the platform table (a document client and the table's name, as the
 * core takes it) and plain clients, pointed at the local DynamoDB-compatible server when the
 * environment names one. Built once per function instance, from its configuration, and injected into
 * the core.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../core/db.ts';
import { awsClientSettings, ENV, type Environment, requireEnv } from '../core/env.ts';
import { platformClient } from '../core/sdk-clients.ts';
import { observed } from '../core/sdk-requests.ts';

/** A plain client (the claims table's conditional puts), at the configured endpoint or AWS's. */
export function dynamodbClientFromEnv(env: Environment): DynamoDBClient {
  const settings = awsClientSettings(env, ENV.dynamodbEndpoint);
  return observed(platformClient(settings, (config) => new DynamoDBClient(config)));
}

/** A document client: undefined attributes dropped, class instances refused. */
export function documentClient(env: Environment): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(dynamodbClientFromEnv(env), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/** The table a function was wired to, from its environment. */
export function tableFromEnv(env: Environment): Table {
  return { client: documentClient(env), name: requireEnv(ENV.tableName, env) };
}
