/**
 * The http-executor: reads `http-executions` jobs and runs each through the core's http runtime.
 * Wiring only — the claims table (one conditional put per job), the results queue, the credential
 * store (read-only; Secrets Manager in AWS, the encrypted folder locally) — all configured once per
 * process. It reads no platform table: a job carries what it needs except the credential.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV, requireEnv } from '../core/env.ts';
import { type HttpRuntimePorts, processHttpRecord } from '../core/http-resources/runtime.ts';
import { queuesFromEnv } from '../core/queues.ts';
import { credentialStoreFromEnv, lazyCredentialStore } from '../core/secrets/from-env.ts';

const logger = new Logger({ serviceName: 'http-executor' });
const endpoint = process.env[ENV.dynamodbEndpoint];
const dynamodb = new DynamoDBClient(endpoint === undefined || endpoint === '' ? {} : { endpoint });
const claimsTable = requireEnv(ENV.claimsTableName);
const results = queuesFromEnv(['execution-results']);

const ports: HttpRuntimePorts = {
  async claim(jobId, expiresAtEpoch) {
    try {
      await dynamodb.send(
        new PutItemCommand({
          TableName: claimsTable,
          Item: { jobId: { S: jobId }, expiresAtEpoch: { N: String(expiresAtEpoch) } },
          ConditionExpression: 'attribute_not_exists(jobId)',
        }),
      );
      return true;
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as Error).name === 'ConditionalCheckFailedException'
      )
        return false;
      throw error;
    }
  },
  report: (message) => results.send('execution-results', message),
  credentials: lazyCredentialStore(() => credentialStoreFromEnv()),
  allowLocalDevelopment: process.env[ENV.allowLocalDevelopment] === 'true',
  log: (level, message, fields) => logger[level](message, fields),
};

export async function executeBatch(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const outcomes = await Promise.all(
    event.Records.map(async (record) => ({
      messageId: record.messageId,
      ok: await processHttpRecord(record, ports, () => context.getRemainingTimeInMillis()),
    })),
  );
  return {
    batchItemFailures: outcomes
      .filter((outcome) => !outcome.ok)
      .map(({ messageId }) => ({ itemIdentifier: messageId })),
  };
}

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>().handler(executeBatch);
