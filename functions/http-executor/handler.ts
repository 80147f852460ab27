/**
 * The http-executor: reads `http-executions` jobs and runs each through the core's http runtime, and
 * answers the `ctx.http` calls script workers relay to it (a direct invocation, `{ action: 'relay' }`,
 * allowed only to the script worker). Wiring only — the claims table (one conditional put per job),
 * the results queue, the credential store (read-only; Secrets Manager in AWS, the encrypted folder
 * locally) and the message keys (jobs: verify; reports: sign) — all configured once per process. It
 * reads no platform table: a verified job or grant carries what it needs except the credential.
 * The Lambda entry (index.ts) passes its execution environment, the local platform its own.
 */
import { ConditionalCheckFailedException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamodbClientFromEnv } from '../clients/dynamodb.ts';
import { loggerFromEnv } from '../clients/logger.ts';
import { messageSignerFromEnv } from '../clients/message-keys.ts';
import { queuesFromEnv } from '../clients/sqs.ts';
import { ENV, type Environment, requireEnv } from '../core/env.ts';
import type { EgressReply } from '../core/http-resources/jobs.ts';
import { type HttpRuntimePorts, processHttpRecord, relayEgressCall } from '../core/http-resources/runtime.ts';
import { macOf } from '../core/queues.ts';
import { credentialStoreFromEnv } from '../core/secrets/from-env.ts';

async function executeBatch(
  ports: HttpRuntimePorts,
  event: SQSEvent,
  context: Context,
): Promise<SQSBatchResponse> {
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

export async function createHandler(env: Environment) {
  const logger = loggerFromEnv('http-executor', env);
  const dynamodb = dynamodbClientFromEnv(env);
  const claimsTable = requireEnv(ENV.claimsTableName, env);
  const signer = await messageSignerFromEnv(['jobs', 'reports'], { env });
  const results = queuesFromEnv(['execution-results'], signer, env);

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
    credentials: credentialStoreFromEnv(env),
    allowLocalDevelopment: env[ENV.allowLocalDevelopment] === 'true',
    signer,
    log: (level, message, fields) => logger[level](message, fields),
  };

  return middy<Event, SQSBatchResponse | EgressReply, Error, Context>().handler(async (event, context) =>
    isBatch(event)
      ? executeBatch(ports, event, context)
      : relayEgressCall(event, ports, () => context.getRemainingTimeInMillis()),
  );
}
