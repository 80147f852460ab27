/**
 * The script dispatcher: reads the script queue and hands each job to the Python worker, which runs in
 * Lambda tenant isolation mode (`PER_TENANT`) and so takes no event source mapping. Each job is
 * invoked synchronously with the job's tenant as the invocation's tenant id, so no execution
 * environment ever serves two tenants. The dispatcher runs no tenant code and reads no table; it
 * believes a job's tenant only once the job's MAC verifies (a forged job is logged and dropped; the
 * worker verifies it again). Partial-batch failures, the queue's fairness, visibility and
 * dead-letter path are kept: a job the worker could not take stays on the queue for redelivery.
 *
 * Fairness: a job runs only while its tenant holds one of its plan's slots (`TenantSlots`, in the
 * claims table). A job of a tenant that is full waits on its tenant's wait list and starts when one
 * of that tenant's jobs ends, the queue's other tenants served meanwhile; a delayed copy of it on the
 * queue is the safety net (`TenantWaitList`, functions/core/executions/wait-list.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamodbClientFromEnv } from '../clients/dynamodb.ts';
import { invokeInTenant, lambdaClientFromEnv } from '../clients/lambda.ts';
import { loggerFromEnv } from '../clients/logger.ts';
import { messageSignerFromEnv } from '../clients/message-keys.ts';
import { sqsClientFromEnv } from '../clients/sqs.ts';
import { ENV, type Environment, functionNameEnv, queueUrlEnv, requireEnv } from '../core/env.ts';
import { TenantSlots } from '../core/executions/slots.ts';
import { TenantWaitList } from '../core/executions/wait-list.ts';
import type { MessageSigner } from '../core/messages/signing.ts';
import { macOf } from '../core/queues.ts';
import { TENANT_ID_PATTERN } from '../core/tenancy/domain.ts';
// zod's functional build: the same checks, ~19 KiB instead of ~88 (docs/decisions/lambda-bundles.md).
import * as z from '../core/zod-mini.ts';

/** What one dispatcher instance holds, built once from its configuration. */
interface Dispatcher {
  readonly logger: Logger;
  readonly signer: MessageSigner;
  /** The deployed name of the script worker. */
  readonly worker: string;
  readonly lambda: LambdaClient;
  readonly sqs: SQSClient;
  /** The script queue's URL (a failed job's visibility is shortened on it). */
  readonly scriptQueue: string;
  readonly waitList: TenantWaitList;
}

/** A slot's lease outlives its job (a lease its dispatcher never released is reclaimed then). */
const LEASE_MARGIN_SECONDS = 120;

export { DEFERRALS_ATTRIBUTE } from '../core/executions/wait-list.ts';

/**
 * A job whose worker invocation failed comes back this soon: after the worker's LOST_AFTER_SECONDS
 * (10 s without a sign of life on its claim), so the worker then reports the attempt lost.
 */
const RETRY_AFTER_CRASH_SECONDS = 12;

/** What the dispatcher reads of a verified job: whose it is, which run, its tenant's cap. */
export const jobOwner = z.object({
  tenantId: z.string().check(z.regex(TENANT_ID_PATTERN)),
  executionId: z.string().check(z.minLength(1), z.maxLength(256)),
  concurrency: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(1000)), 1),
  limits: z.object({ timeoutSeconds: z.number().check(z.positive(), z.maximum(900)) }),
});
const workerAnswer = z.object({
  batchItemFailures: z.array(z.object({ itemIdentifier: z.string() })),
});

/** True when the job was handled (run, or refused for good); false leaves it for redelivery. */
async function dispatch(dispatcher: Dispatcher, record: SQSRecord): Promise<boolean> {
  const { logger, signer, worker, lambda, waitList } = dispatcher;
  if (!signer.verify('job', record.body, macOf(record))) {
    logger.warn('Refused a script job whose MAC does not verify', {
      securityEvent: 'message-refused',
      messageId: record.messageId,
    });
    return true;
  }
  let job: z.output<typeof jobOwner>;
  try {
    job = jobOwner.parse(JSON.parse(record.body));
  } catch {
    logger.error('A signed script job names no tenant', { messageId: record.messageId });
    return false; // poison: redrive moves it to the dead-letter queue, where the recorder fails the run
  }
  const { tenantId } = job;
  const lease = Math.ceil(job.limits.timeoutSeconds) + LEASE_MARGIN_SECONDS;
  if ((await waitList.admit(record, job, lease)) !== 'run') return true;
  try {
    const answer = await invokeInTenant(lambda, {
      functionName: worker,
      tenantId,
      payload: Buffer.from(JSON.stringify({ Records: [record] })),
    });
    const text = Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8');
    if (answer.FunctionError !== undefined) {
      logger.error('The script worker failed', {
        messageId: record.messageId,
        tenantId,
        error: text.slice(0, 500),
      });
      // The invocation has ended (crashed, or timed out): its job, if it was claimed, died with it.
      // Deliver the message again soon, so that the worker reports the run lost now rather than the
      // sweep at the run's deadline (the worker recognises its own earlier claim; see processing.py).
      await redeliverSoon(dispatcher, record);
      return false;
    }
    const failures = workerAnswer.parse(JSON.parse(text)).batchItemFailures;
    return !failures.some((failure) => failure.itemIdentifier === record.messageId);
  } catch (error) {
    if (throttled(error)) {
      // Lambda refused the invocation (concurrency or rate; the SDK's own retries are spent): the
      // job never started. It waits on the queue like a full tenant's job, as a new message, so
      // throttling never counts toward the dead-letter limit.
      logger.warn('The script worker is throttled; the job waits', { messageId: record.messageId, tenantId });
      await waitList.defer(record);
      return true;
    }
    logger.error('The script worker could not be invoked', {
      messageId: record.messageId,
      tenantId,
      error: error as Error,
    });
    return false;
  } finally {
    await waitList.finish(record, job);
  }
}

/** Lambda's answers for "not now": the invocation was refused before anything ran. */
const THROTTLES = new Set(['TooManyRequestsException', 'EC2ThrottledException', 'ResourceNotReadyException']);

function throttled(error: unknown): boolean {
  const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return THROTTLES.has(failure?.name ?? '') || failure?.$metadata?.httpStatusCode === 429;
}

/** Makes a message visible again after RETRY_AFTER_CRASH_SECONDS instead of its full visibility timeout. */
async function redeliverSoon({ logger, sqs, scriptQueue }: Dispatcher, record: SQSRecord): Promise<void> {
  try {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: scriptQueue,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: RETRY_AFTER_CRASH_SECONDS,
      }),
    );
  } catch (error) {
    // The message still comes back after its visibility timeout.
    logger.warn('Could not shorten a failed job’s visibility', {
      messageId: record.messageId,
      error: error as Error,
    });
  }
}

async function dispatchBatch(dispatcher: Dispatcher, event: SQSEvent): Promise<SQSBatchResponse> {
  const outcomes = await Promise.all(
    event.Records.map(async (record) => ({
      messageId: record.messageId,
      ok: await dispatch(dispatcher, record),
    })),
  );
  return {
    batchItemFailures: outcomes
      .filter((outcome) => !outcome.ok)
      .map(({ messageId }) => ({ itemIdentifier: messageId })),
  };
}

/**
 * The dispatcher configured from `env` (the Lambda entry, index.ts, passes its execution environment;
 * the local platform its own).
 */
export async function createHandler(env: Environment) {
  const logger = loggerFromEnv('script-dispatcher', env);
  const signer = await messageSignerFromEnv(['jobs'], { env });
  const sqs = sqsClientFromEnv(env);
  const scriptQueue = requireEnv(queueUrlEnv('script-executions'), env);
  const dispatcher: Dispatcher = {
    logger,
    signer,
    worker: requireEnv(functionNameEnv('script-worker'), env),
    lambda: lambdaClientFromEnv(env),
    sqs,
    scriptQueue,
    waitList: new TenantWaitList({
      slots: new TenantSlots({
        client: dynamodbClientFromEnv(env),
        table: requireEnv(ENV.claimsTableName, env),
      }),
      sqs,
      queueUrl: scriptQueue,
      signer,
      warn: (message, fields) => logger.warn(message, fields),
    }),
  };
  return middy<SQSEvent, SQSBatchResponse, Error, Context>().handler((event) =>
    dispatchBatch(dispatcher, event),
  );
}
