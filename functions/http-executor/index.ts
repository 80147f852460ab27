/**
 * The http-executor: reads `http-executions` jobs and runs each through the core's http runtime, and
 * answers the `ctx.http` calls script workers relay to it (a direct invocation, `{ action: 'relay' }`,
 * allowed only to the script worker). Wiring only — the claims table (one conditional put per job),
 * the results queue, the credential store (read-only; Secrets Manager in AWS, the encrypted folder
 * locally) and the message keys (jobs: verify; reports: sign) — all configured once per process. It
 * reads no platform table: a verified job or grant carries what it needs except the credential.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV, requireEnv } from '../core/env.ts';
import type { EgressReply } from '../core/http-resources/jobs.ts';
import { type HttpRuntimePorts, processHttpRecord, relayEgressCall } from '../core/http-resources/runtime.ts';
import { messageSignerFromEnv } from '../core/messages/keys.ts';
import { macOf, queuesFromEnv } from '../core/queues.ts';
import { observed } from '../core/sdk-requests.ts';
import { credentialStoreFromEnv, lazyCredentialStore } from '../core/secrets/from-env.ts';

const logger = new Logger({ serviceName: 'http-executor' });
const endpoint = process.env[ENV.dynamodbEndpoint];
const dynamodb = observed(new DynamoDBClient(endpoint === undefined || endpoint === '' ? {} : { endpoint }));
const claimsTable = requireEnv(ENV.claimsTableName);
const signer = await messageSignerFromEnv(['jobs', 'reports']);
const results = queuesFromEnv(['execution-results'], signer);

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
  signer,
  log: (level, message, fields) => logger[level](message, fields),
};

export async function executeBatch(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const outcomes = await Promise.all(
    event.Records.map(async (record) => ({
      messageId: record.messageId,
      ok: await processHttpRecord(
        { messageId: record.messageId, body: record.body, mac: macOf(record) },
        ports,
        () => context.getRemainingTimeInMillis(),
      ),
    })),
  );
  return {
    batchItemFailures: outcomes
      .filter((outcome) => !outcome.ok)
      .map(({ messageId }) => ({ itemIdentifier: messageId })),
  };
}

type Event = SQSEvent | { readonly action: 'relay' };

function isBatch(event: Event): event is SQSEvent {
  return Array.isArray((event as Partial<SQSEvent>).Records);
}

export const handler = middy<Event, SQSBatchResponse | EgressReply, Error, Context>().handler(
  async (event, context) =>
    isBatch(event)
      ? executeBatch(event, context)
      : relayEgressCall(event, ports, () => context.getRemainingTimeInMillis()),
);
