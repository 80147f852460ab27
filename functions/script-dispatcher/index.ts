/**
 * The script dispatcher: reads the script queue and hands each job to the Python worker, which runs in
 * Lambda tenant isolation mode (`PER_TENANT`) and so takes no event source mapping. Each job is
 * invoked synchronously with the job's tenant as the invocation's tenant id, so no execution
 * environment ever serves two tenants. The dispatcher runs no tenant code and reads no table; it
 * believes a job's tenant only once the job's MAC verifies (a forged job is logged and dropped; the
 * worker verifies it again). Partial-batch failures, the queue's fairness, visibility and
 * dead-letter path are kept: a job the worker could not take stays on the queue for redelivery.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { ENV, functionNameEnv, requireEnv } from '../core/env.ts';
import { messageSignerFromEnv } from '../core/messages/keys.ts';
import { macOf } from '../core/queues.ts';
import { TENANT_ID_PATTERN } from '../core/tenancy/domain.ts';

const logger = new Logger({ serviceName: 'script-dispatcher' });
const signer = await messageSignerFromEnv(['jobs']);
const worker = requireEnv(functionNameEnv('script-worker'));
const endpoint = process.env[ENV.lambdaEndpoint];
const lambda = new LambdaClient(endpoint === undefined || endpoint === '' ? {} : { endpoint });

/** What the dispatcher reads of a verified job: whose it is. */
const owner = z.object({ tenantId: z.string().regex(TENANT_ID_PATTERN) });
const workerAnswer = z.object({
  batchItemFailures: z.array(z.object({ itemIdentifier: z.string() })),
});

/** True when the job was handled (run, or refused for good); false leaves it for redelivery. */
async function dispatch(record: SQSRecord): Promise<boolean> {
  if (!signer.verify('job', record.body, macOf(record))) {
    logger.warn('Refused a script job whose MAC does not verify', {
      securityEvent: 'message-refused',
      messageId: record.messageId,
    });
    return true;
  }
  let tenantId: string;
  try {
    tenantId = owner.parse(JSON.parse(record.body)).tenantId;
  } catch {
    logger.error('A signed script job names no tenant', { messageId: record.messageId });
    return false; // poison: redrive moves it to the dead-letter queue, where the recorder fails the run
  }
  try {
    const answer = await lambda.send(
      new InvokeCommand({
        FunctionName: worker,
        InvocationType: 'RequestResponse',
        TenantId: tenantId,
        Payload: Buffer.from(JSON.stringify({ Records: [record] })),
      }),
    );
    const text = Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8');
    if (answer.FunctionError !== undefined) {
      logger.error('The script worker failed', {
        messageId: record.messageId,
        tenantId,
        error: text.slice(0, 500),
      });
      return false;
    }
    const failures = workerAnswer.parse(JSON.parse(text)).batchItemFailures;
    return !failures.some((failure) => failure.itemIdentifier === record.messageId);
  } catch (error) {
    logger.error('The script worker could not be invoked', {
      messageId: record.messageId,
      tenantId,
      error: error as Error,
    });
    return false;
  }
}

export async function dispatchBatch(event: SQSEvent): Promise<SQSBatchResponse> {
  const outcomes = await Promise.all(
    event.Records.map(async (record) => ({ messageId: record.messageId, ok: await dispatch(record) })),
  );
  return {
    batchItemFailures: outcomes
      .filter((outcome) => !outcome.ok)
      .map(({ messageId }) => ({ itemIdentifier: messageId })),
  };
}

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>().handler(dispatchBatch);
